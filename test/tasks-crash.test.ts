/**
 * Crash safety of the task runner with real processes: `src/server.ts` (with its in-process
 * runner) runs a long task over 20,000 items in small batches and is killed with SIGKILL in the
 * middle of it several times, at different points, and started again on the same store. The task
 * must end COMPLETED with every item changed exactly once and counters that add up to the item
 * count (docs/tasks.md, "Execution model": a batch is one transaction holding the item changes,
 * the counters and the cursor).
 *
 * SQLite: a temporary CAIRN_DATA_DIR. PostgreSQL: a fresh schema passed as DATABASE_URL.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STORE_NAMES, openTestStore, type StoreName, type TestStore } from './helpers/stores.js';
import { call } from './helpers/server.js';
import { spawnServer, killAll, type ServerChild } from './helpers/process.js';
import { openDb } from '../src/store/open.js';
import { sql } from '../src/store/sql.js';
import type { Db } from '../src/store/db.js';

const DATA = '/wix-data/v2';
const TASKS = '/cms/v1/tasks';
const N = 20_000;
const N_DELETE = 10_000;
const BATCH = 200;
const LEASE_MS = 1000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The array each item starts with: missing, empty, or two values (one shared by many items). */
function initialTags(n: number): string[] | undefined {
  if (n % 10 === 0) return undefined;
  if (n % 10 === 1) return [];
  return ['a', `t${n % 7}`];
}

function itemId(n: number): string {
  return `i${String(n).padStart(6, '0')}`;
}

/** One store shared by successive server processes. */
class Session {
  server: ServerChild | undefined;
  private pg: TestStore | undefined;
  private dir: string | undefined;
  constructor(readonly storeName: StoreName) {}

  async open(): Promise<void> {
    if (this.storeName === 'postgres') this.pg = await openTestStore('postgres');
    else this.dir = await mkdtemp(join(tmpdir(), 'cairn-crash-'));
  }

  private env(): Record<string, string> {
    return {
      ...(this.pg ? { DATABASE_URL: this.pg.url as string } : { CAIRN_DATA_DIR: this.dir as string }),
      CAIRN_TASK_BATCH_SIZE: String(BATCH),
      CAIRN_TASK_MAX_BATCH_SIZE: String(BATCH),
      CAIRN_TASK_LEASE_MS: String(LEASE_MS),
    };
  }

  async start(): Promise<ServerChild> {
    this.server = await spawnServer(this.env());
    return this.server;
  }

  api(method: string, path: string, body?: unknown) {
    assert.ok(this.server, 'no server running');
    return call(this.server.url, method, path, body);
  }

  /** Reads the store directly (with no server running on SQLite). */
  private async read<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    if (this.pg) return fn(this.pg.db);
    const db = await openDb({ dataDir: this.dir as string });
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  }

  /** Every item of a collection, by id. */
  items(collectionId: string): Promise<Map<string, Record<string, unknown>>> {
    return this.read(async (db) => {
      const rows = await db.all<{ id: string; data: unknown }>(
        sql`SELECT id, data FROM items WHERE collection_id = ${collectionId} AND env = 'LIVE'`,
      );
      return new Map(rows.map((r) => [r.id, (typeof r.data === 'string' ? JSON.parse(r.data) : r.data) as Record<string, unknown>]));
    });
  }

  /** How many times runners claimed the task (the tasks row's `attempts`). */
  attempts(taskId: string): Promise<number> {
    return this.read(async (db) => Number((await db.get<{ attempts: unknown }>(sql`SELECT attempts FROM tasks WHERE id = ${taskId}`))?.attempts));
  }

  async close(): Promise<void> {
    await killAll();
    if (this.pg) await this.pg.close();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}

for (const storeName of STORE_NAMES) {
  describe(`tasks survive kill -9 of the server process (${storeName})`, () => {
    const s = new Session(storeName);
    before(async () => {
      await s.open();
      await s.start();
    });
    after(() => s.close());

    async function collectionWithItems(id: string, count: number, make: (n: number) => Record<string, unknown>) {
      const c = await s.api('POST', `${DATA}/collections`, { collection: { id } });
      assert.equal(c.status, 200, JSON.stringify(c.body));
      for (let i = 0; i < count; i += 1000) {
        const dataItems = Array.from({ length: 1000 }, (_, k) => ({ id: itemId(i + k), data: make(i + k) }));
        const r = await s.api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: id, dataItems });
        assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 500));
        assert.equal(r.body.bulkActionMetadata.totalSuccesses, 1000);
      }
    }

    async function getTask(id: string) {
      const r = await s.api('GET', `${TASKS}/${id}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.task;
    }

    /**
     * Creates the task, then for each kill point: polls until the task has gone past it, kills
     * the server with SIGKILL, checks that nothing committed was lost, and starts a new server.
     * Returns the finished task and the progress seen at each kill.
     */
    async function runWithKills(task: unknown, killPoints: number[], total: number) {
      const created = await s.api('POST', TASKS, { task });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const id: string = created.body.task.id;
      const seenAtKill: number[] = [];
      for (const point of killPoints) {
        let t = await getTask(id);
        while (t.itemsSucceeded + t.itemsFailed < point) {
          assert.notEqual(t.status, 'COMPLETED', `the task finished before kill point ${point}`);
          assert.notEqual(t.status, 'FAILED', JSON.stringify(t.failures));
          await sleep(5);
          t = await getTask(id);
        }
        assert.equal(t.status, 'RUNNING', `the task is still running at kill point ${point}`);
        assert.ok(t.itemsSucceeded + t.itemsFailed < total, 'killed before the end');
        const seen = t.itemsSucceeded + t.itemsFailed;
        seenAtKill.push(seen);
        await s.server!.kill();
        await s.start();
        // Committed batches survive the kill: the counters never go back.
        const after = await getTask(id);
        assert.ok(after.itemsSucceeded + after.itemsFailed >= seen, `progress went back from ${seen}: ${JSON.stringify(after)}`);
      }
      // Let the last server finish it (after the dead runner's lease runs out).
      const deadline = Date.now() + 60_000;
      let t = await getTask(id);
      while (t.status !== 'COMPLETED' && t.status !== 'FAILED') {
        assert.ok(Date.now() < deadline, `task not finished: ${JSON.stringify(t)}`);
        await sleep(50);
        t = await getTask(id);
      }
      return { task: t, seenAtKill };
    }

    test(`EDIT_FIELD_DATA addItems over ${N} items, server killed 4 times mid-task: every item gets the value exactly once`, async () => {
      await collectionWithItems('crash_edit', N, (n) => {
        const tags = initialTags(n);
        return tags === undefined ? { n } : { n, tags };
      });
      const { task, seenAtKill } = await runWithKills(
        { type: 'EDIT_FIELD_DATA', editFieldDataOptions: { dataCollectionId: 'crash_edit', fieldKey: 'tags', operations: { addItems: ['x'] } } },
        [1500, 6000, 11_000, 16_500],
        N,
      );
      assert.equal(seenAtKill.length, 4);
      assert.equal(task.status, 'COMPLETED', JSON.stringify(task.failures));
      assert.equal(task.itemsSucceeded + task.itemsFailed, N);
      assert.equal(task.itemsFailed, 0);
      assert.deepEqual(task.failures, []);
      assert.equal(task.estimatedItemCount, N);

      // Through the API: every item has the value.
      const count = await s.api('POST', `${DATA}/items/count`, { dataCollectionId: 'crash_edit', filter: { tags: { $hasSome: ['x'] } } });
      assert.equal(count.status, 200, JSON.stringify(count.body));
      assert.equal(count.body.totalCount, N);

      // In the store: every item's array is exactly its initial array plus one 'x'.
      await s.server!.stop();
      // Each of the 5 servers claimed the task once and resumed it where the last one stopped.
      assert.equal(await s.attempts(task.id), 5);
      const items = await s.items('crash_edit');
      assert.equal(items.size, N);
      let wrong = 0;
      const examples: string[] = [];
      for (let n = 0; n < N; n++) {
        const data = items.get(itemId(n));
        const expected = [...(initialTags(n) ?? []), 'x'];
        if (JSON.stringify(data?.tags) !== JSON.stringify(expected)) {
          wrong++;
          if (examples.length < 5) examples.push(`${itemId(n)}: ${JSON.stringify(data?.tags)} (expected ${JSON.stringify(expected)})`);
        }
      }
      assert.equal(wrong, 0, `items not edited exactly once:\n${examples.join('\n')}`);
      await s.start();
    });

    test(`DELETE_BY_QUERY over ${N_DELETE} items, server killed 3 times mid-task: exactly the matching items are gone, counted once`, async () => {
      await collectionWithItems('crash_del', N_DELETE, (n) => ({ n, keep: n % 4 === 0 }));
      const removed = N_DELETE - N_DELETE / 4;
      const { task, seenAtKill } = await runWithKills(
        { type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'crash_del', filter: { keep: { $ne: true } } } },
        [800, 3000, 5500],
        removed,
      );
      assert.equal(seenAtKill.length, 3);
      assert.equal(task.status, 'COMPLETED', JSON.stringify(task.failures));
      assert.equal(task.itemsSucceeded, removed);
      assert.equal(task.itemsFailed, 0);
      assert.equal(task.estimatedItemCount, removed);

      await s.server!.stop();
      assert.equal(await s.attempts(task.id), 4);
      const items = await s.items('crash_del');
      const left = [...items.keys()].sort();
      const expected = Array.from({ length: N_DELETE / 4 }, (_, k) => itemId(k * 4));
      assert.deepEqual(left, expected);
      for (const id of left) assert.equal(items.get(id)?.keep, true);
      await s.start();
    });
  });
}
