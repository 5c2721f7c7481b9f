/**
 * Crash safety of backups and restorations with real processes: `src/server.ts` is killed with
 * SIGKILL right after a backup (then a restoration) of 60,000 items is requested, while its
 * runner works on it, and started again on the same store, first without a runner to look at
 * what the kill left: a PENDING row with nothing of its work committed, or a finished one with
 * all of it. A server with a runner then finishes the work, once: the backup holds each item
 * exactly once, the restoration gives back exactly the items backed up (docs/backups.md, "How
 * backups and restorations run").
 *
 * SQLite: a temporary CAIRN_DATA_DIR. PostgreSQL: a fresh schema passed as DATABASE_URL.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STORE_NAMES, openTestStore, type TestStore } from './helpers/stores.js';
import { call } from './helpers/server.js';
import { killAll, spawnServer, type ServerChild } from './helpers/process.js';

const DATA = '/wix-data/v2';
const N = 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const storeName of STORE_NAMES) {
  describe(`backups and restorations survive kill -9 (${storeName})`, () => {
    let pg: TestStore | undefined;
    let dir: string | undefined;
    let server: ServerChild | undefined;
    const env = (runTasks: boolean) => ({
      ...(pg ? { DATABASE_URL: pg.url as string } : { CAIRN_DATA_DIR: dir as string }),
      CAIRN_RUN_TASKS: runTasks ? '1' : '0',
    });
    const api = (method: string, path: string, body?: unknown) => call(server!.url, method, path, body);
    const ok = async (method: string, path: string, body?: unknown) => {
      const r = await api(method, path, body);
      assert.equal(r.status, 200, `${method} ${path}: ${JSON.stringify(r.body).slice(0, 300)}`);
      return r.body;
    };
    /** Kills the server, starts one without a runner, and gives the row's status then. */
    async function killAndLook(list: string, id: string): Promise<string> {
      // Long enough for the runner to be inside the work (which takes a few hundred ms here),
      // short enough to land before its end on this machine; either outcome is checked.
      await sleep(60);
      await server!.kill();
      server = await spawnServer(env(false));
      const rows = (await ok('GET', `${DATA}/backups${list}?paging.limit=100`))[list === '' ? 'backups' : 'restorations'];
      return rows.find((r: any) => r.id === id)?.status;
    }
    async function restartAndWait(list: string, id: string, done: string): Promise<void> {
      await server!.stop();
      server = await spawnServer(env(true));
      const deadline = Date.now() + 60_000;
      for (;;) {
        const rows = (await ok('GET', `${DATA}/backups${list}?paging.limit=100`))[list === '' ? 'backups' : 'restorations'];
        const status = rows.find((r: any) => r.id === id)?.status;
        if (status === done) return;
        assert.notEqual(status, 'FAILED');
        assert.ok(Date.now() < deadline, `still ${status}`);
        await sleep(50);
      }
    }

    before(async () => {
      if (storeName === 'postgres') pg = await openTestStore('postgres');
      else dir = await mkdtemp(join(tmpdir(), 'cairn-backup-crash-'));
      server = await spawnServer(env(true));
    });
    after(async () => {
      await killAll();
      if (pg) await pg.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    test(`a backup of ${N} items and its restoration, the server killed while each runs`, async () => {
      await ok('POST', `${DATA}/collections`, { collection: { id: 'kept' } });
      for (let i = 0; i < N; i += 1000) {
        await ok('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'kept', dataItems: Array.from({ length: 1000 }, (_, k) => ({ id: `k${String(i + k).padStart(6, '0')}`, data: { n: i + k } })) });
      }
      const { backup } = await ok('POST', `${DATA}/backups`, {});
      const afterKill = await killAndLook('', backup.id);
      assert.ok(afterKill === 'PENDING' || afterKill === 'READY', afterKill);
      if (afterKill === 'PENDING') {
        // Nothing of the interrupted copy was committed: the backup lists no collection yet.
        const listed = (await ok('GET', `${DATA}/backups?status=PENDING`)).backups.find((b: any) => b.id === backup.id);
        assert.deepEqual(listed.collections, []);
      }
      await restartAndWait('', backup.id, 'READY');
      const ready = (await ok('GET', `${DATA}/backups`)).backups.find((b: any) => b.id === backup.id);
      assert.deepEqual(ready.collections, [{ id: 'kept', displayName: 'kept' }]);

      // Change the collection, restore, kill while the restoration runs.
      await ok('POST', `${DATA}/items/truncate`, { dataCollectionId: 'kept' });
      await ok('POST', `${DATA}/items`, { dataCollectionId: 'kept', dataItem: { id: 'new', data: {} } });
      const { restoration } = await ok('POST', `${DATA}/backups/${backup.id}/restore`, {});
      const restorationAfterKill = await killAndLook('/restorations', restoration.id);
      assert.ok(restorationAfterKill === 'PENDING' || restorationAfterKill === 'COMPLETED', restorationAfterKill);
      if (restorationAfterKill === 'PENDING') {
        // Nothing of the interrupted restoration was committed either.
        assert.equal((await ok('POST', `${DATA}/items/count`, { dataCollectionId: 'kept' })).totalCount, 1);
      }
      await restartAndWait('/restorations', restoration.id, 'COMPLETED');
      assert.equal((await ok('POST', `${DATA}/items/count`, { dataCollectionId: 'kept' })).totalCount, N);
      assert.equal((await ok('POST', `${DATA}/items/count`, { dataCollectionId: 'kept', filter: { _id: 'new' } })).totalCount, 0);
      const sample = await ok('GET', `${DATA}/items/k012345?dataCollectionId=kept`);
      assert.equal(sample.dataItem.data.n, 12_345);
      console.log(`# ${storeName}: the backup was ${afterKill} after its kill, the restoration ${restorationAfterKill}`);
    });
  });
}
