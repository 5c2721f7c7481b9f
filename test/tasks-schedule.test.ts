/**
 * Scheduled publish status changes (UPDATE_PUBLISH_STATUS with SCHEDULE_PUBLISHED_STATUS,
 * SCHEDULE_DRAFT_STATUS and CANCEL_SCHEDULING) under a clock the test controls: nothing happens
 * before the date, the change happens once when the clock passes it, pending schedules survive
 * a restart, and CANCEL_SCHEDULING removes them. Semantics: docs/tasks.md.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { STORE_NAMES, openTestStore } from './helpers/stores.js';
import { startServer, call, type TestServer, TEST_ADMIN_KEY } from './helpers/server.js';
import { ManualClock } from '../src/clock.js';
import { buildApp } from '../src/http/app.js';
import { openDb } from '../src/store/open.js';
import { sql } from '../src/store/sql.js';
import type { Db } from '../src/store/db.js';
import { allItemData, type Api } from './helpers/calls.js';

const TASKS = '/cms/v1/tasks';
const DATA = '/wix-data/v2';
const T0 = Date.parse('2030-06-01T12:00:00.000Z');
const HOUR = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();


function helpers(api: Api) {
  return {
    /** A collection whose new items are drafts. */
    async draftCollection(id: string) {
      const r = await api('POST', `${DATA}/collections`, { collection: { id, plugins: [{ type: 'PUBLISH', publishOptions: { defaultStatus: 'DRAFT' } }] } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    },
    async insert(collectionId: string, ids: string[]) {
      const r = await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: collectionId, dataItems: ids.map((id) => ({ id, data: { _id: id } })) });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.bulkActionMetadata.totalSuccesses, ids.length);
    },
    /** id -> publish status, drafts included. */
    async statuses(collectionId: string, environment = 'LIVE'): Promise<Record<string, string>> {
      return Object.fromEntries((await allItemData(api, collectionId, environment)).map((d) => [d._id, d._publishStatus]));
    },
    async task(options: Record<string, unknown>) {
      const r = await api('POST', TASKS, { task: { type: 'UPDATE_PUBLISH_STATUS', updatePublishStatusOptions: options } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.task.id as string;
    },
  };
}

async function pendingSchedules(db: Db, collectionId: string): Promise<{ item_id: string; target_status: string; run_at: string }[]> {
  return db.all(sql`SELECT item_id, target_status, run_at FROM item_schedules WHERE collection_id = ${collectionId} ORDER BY item_id, target_status`);
}

for (const storeName of STORE_NAMES) {
  describe(`publish schedules (${storeName})`, () => {
    let s: TestServer;
    let api: Api;
    let h: ReturnType<typeof helpers>;
    const clock = new ManualClock(T0);
    before(async () => {
      s = await startServer(storeName, { clock });
      api = (method, path, body) => call(s.url, method, path, body);
      h = helpers(api);
    });
    after(() => s.close());
    const idle = () => s.cairn.runner!.whenIdle();

    test('SCHEDULE_PUBLISHED_STATUS does nothing until the clock reaches the date, then fires once', async () => {
      clock.set(T0);
      await h.draftCollection('sp');
      await h.insert('sp', ['a', 'b', 'c', 'd']);
      const id = await h.task({
        dataCollectionId: 'sp',
        operation: 'SCHEDULE_PUBLISHED_STATUS',
        filter: { id: { $in: ['a', 'b', 'c'] } },
        schedulePublishedStatusOptions: { date: iso(T0 + HOUR) },
      });
      await idle();
      const t = (await api('GET', `${TASKS}/${id}`)).body.task;
      assert.equal(t.status, 'COMPLETED');
      assert.equal(t.estimatedItemCount, 3);
      assert.equal(t.itemsSucceeded, 3);
      assert.equal(t.startedAt, iso(T0));
      assert.equal(t.finishedAt, iso(T0));
      assert.deepEqual(t.updatePublishStatusOptions.schedulePublishedStatusOptions, { date: iso(T0 + HOUR) });
      const drafts = { a: 'DRAFT', b: 'DRAFT', c: 'DRAFT', d: 'DRAFT' };
      assert.deepEqual(await h.statuses('sp'), drafts);
      assert.deepEqual(
        (await pendingSchedules(s.store.db, 'sp')).map((r) => [r.item_id, r.target_status, r.run_at]),
        ['a', 'b', 'c'].map((i) => [i, 'PUBLISHED', iso(T0 + HOUR)]),
      );

      clock.set(T0 + HOUR - 1);
      await idle();
      assert.deepEqual(await h.statuses('sp'), drafts);

      clock.set(T0 + HOUR);
      await idle();
      assert.deepEqual(await h.statuses('sp'), { a: 'PUBLISHED', b: 'PUBLISHED', c: 'PUBLISHED', d: 'DRAFT' });
      assert.deepEqual(await pendingSchedules(s.store.db, 'sp'), []);

      // Once: an item made a draft again after the schedule fired stays a draft.
      await h.task({ dataCollectionId: 'sp', operation: 'SET_DRAFT_STATUS', filter: { id: 'a' } });
      await idle();
      clock.advance(24 * HOUR);
      await idle();
      assert.deepEqual(await h.statuses('sp'), { a: 'DRAFT', b: 'PUBLISHED', c: 'PUBLISHED', d: 'DRAFT' });
    });

    test('SCHEDULE_DRAFT_STATUS through the published client (Date values), rescheduling replaces the date', async () => {
      clock.set(T0);
      await h.draftCollection('sd');
      await h.insert('sd', ['a', 'b']);
      await h.task({ dataCollectionId: 'sd', operation: 'SET_PUBLISHED_STATUS' });
      await idle();
      assert.deepEqual(await h.statuses('sd'), { a: 'PUBLISHED', b: 'PUBLISHED' });
      const schedule = (date: Date, filter: Record<string, unknown>) =>
        s.client.tasks.createTask({
          type: 'UPDATE_PUBLISH_STATUS',
          updatePublishStatusOptions: { dataCollectionId: 'sd', operation: 'SCHEDULE_DRAFT_STATUS', filter, scheduleDraftStatusOptions: { date } },
        } as any);
      const first = await schedule(new Date(T0 + HOUR), {});
      assert.equal(first.status, 'NEW');
      await idle();
      // `_id` in the client is `id` on the wire: only b is moved to the later date.
      await schedule(new Date(T0 + 3 * HOUR), { _id: 'b' });
      await idle();
      assert.deepEqual(
        (await pendingSchedules(s.store.db, 'sd')).map((r) => [r.item_id, r.target_status, r.run_at]),
        [['a', 'DRAFT', iso(T0 + HOUR)], ['b', 'DRAFT', iso(T0 + 3 * HOUR)]],
      );
      clock.set(T0 + 2 * HOUR);
      await idle();
      assert.deepEqual(await h.statuses('sd'), { a: 'DRAFT', b: 'PUBLISHED' });
      clock.set(T0 + 3 * HOUR);
      await idle();
      assert.deepEqual(await h.statuses('sd'), { a: 'DRAFT', b: 'DRAFT' });
      const done = await s.client.tasks.getTask(first._id as string);
      assert.equal(done.status, 'COMPLETED');
      assert.equal(done.itemsSucceeded, 2);
    });

    test('CANCEL_SCHEDULING removes the pending schedules of the matching items, of both kinds', async () => {
      clock.set(T0);
      await h.draftCollection('cs');
      await h.insert('cs', ['a', 'b', 'c', 'd']);
      await h.task({ dataCollectionId: 'cs', operation: 'SCHEDULE_PUBLISHED_STATUS', schedulePublishedStatusOptions: { date: iso(T0 + HOUR) } });
      await h.task({ dataCollectionId: 'cs', operation: 'SCHEDULE_DRAFT_STATUS', filter: { id: 'c' }, scheduleDraftStatusOptions: { date: iso(T0 + 2 * HOUR) } });
      await idle();
      assert.equal((await pendingSchedules(s.store.db, 'cs')).length, 5);
      const cancel = await h.task({ dataCollectionId: 'cs', operation: 'CANCEL_SCHEDULING', filter: { id: { $in: ['a', 'b'] } } });
      await idle();
      const t = (await api('GET', `${TASKS}/${cancel}`)).body.task;
      assert.equal(t.status, 'COMPLETED');
      assert.equal(t.itemsSucceeded, 2);
      assert.deepEqual(
        (await pendingSchedules(s.store.db, 'cs')).map((r) => [r.item_id, r.target_status]),
        [['c', 'DRAFT'], ['c', 'PUBLISHED'], ['d', 'PUBLISHED']],
      );
      clock.set(T0 + HOUR);
      await idle();
      assert.deepEqual(await h.statuses('cs'), { a: 'DRAFT', b: 'DRAFT', c: 'PUBLISHED', d: 'PUBLISHED' });
      // Without a filter, every remaining schedule of the collection goes.
      await h.task({ dataCollectionId: 'cs', operation: 'CANCEL_SCHEDULING' });
      await idle();
      assert.deepEqual(await pendingSchedules(s.store.db, 'cs'), []);
      clock.set(T0 + 5 * HOUR);
      await idle();
      assert.deepEqual(await h.statuses('cs'), { a: 'DRAFT', b: 'DRAFT', c: 'PUBLISHED', d: 'PUBLISHED' });
    });

    test('schedules are per environment', async () => {
      clock.set(T0);
      await h.draftCollection('se');
      await h.insert('se', ['a', 'b']);
      assert.equal((await api('POST', '/cairn/v1/collections/se/sandbox', { enabled: true })).status, 200);
      await h.task({ dataCollectionId: 'se', environment: 'SANDBOX', operation: 'SCHEDULE_PUBLISHED_STATUS', schedulePublishedStatusOptions: { date: iso(T0 + HOUR) } });
      await idle();
      clock.set(T0 + HOUR);
      await idle();
      assert.deepEqual(await h.statuses('se', 'SANDBOX'), { a: 'PUBLISHED', b: 'PUBLISHED' });
      assert.deepEqual(await h.statuses('se', 'LIVE'), { a: 'DRAFT', b: 'DRAFT' });
      // Cancelling on LIVE does not touch the sandbox's schedules.
      await h.task({ dataCollectionId: 'se', environment: 'SANDBOX', operation: 'SCHEDULE_DRAFT_STATUS', scheduleDraftStatusOptions: { date: iso(T0 + 2 * HOUR) } });
      await h.task({ dataCollectionId: 'se', operation: 'CANCEL_SCHEDULING' });
      await idle();
      clock.set(T0 + 2 * HOUR);
      await idle();
      assert.deepEqual(await h.statuses('se', 'SANDBOX'), { a: 'DRAFT', b: 'DRAFT' });
    });

    test('a date already passed fires on the runner\'s next pass', async () => {
      clock.set(T0);
      await h.draftCollection('past');
      await h.insert('past', ['a']);
      await h.task({ dataCollectionId: 'past', operation: 'SCHEDULE_PUBLISHED_STATUS', schedulePublishedStatusOptions: { date: iso(T0 - HOUR) } });
      await idle();
      assert.deepEqual(await h.statuses('past'), { a: 'PUBLISHED' });
      assert.deepEqual(await pendingSchedules(s.store.db, 'past'), []);
    });
  });

  describe(`publish schedules across a restart (${storeName})`, () => {
    const tmpDir = fileURLToPath(new URL('../.tmp/', import.meta.url));
    const sqliteFile = `${tmpDir}tasks-schedule-${randomBytes(4).toString('hex')}.db`;

    after(() => {
      for (const suffix of ['', '-wal', '-shm']) rmSync(sqliteFile + suffix, { force: true });
    });

    test('a pending schedule is kept by the store and fires after the server is restarted', async () => {
      mkdirSync(tmpDir, { recursive: true });
      // PostgreSQL: a private schema, opened anew by each "process". SQLite: a file in .tmp.
      const pg = storeName === 'postgres' ? await openTestStore('postgres') : undefined;
      const open = () => (pg ? openDb({ databaseUrl: pg.url }) : openDb({ sqliteFile }));
      const clock = new ManualClock(T0);
      const start = async () => {
        const db = await open();
        const cairn = await buildApp({ adminKey: TEST_ADMIN_KEY, db, logLevel: 'silent', clock });
        await cairn.app.listen({ port: 0, host: '127.0.0.1' });
        const address = cairn.app.server.address();
        const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
        const api: Api = (method, path, body) => call(url, method, path, body);
        return {
          db,
          cairn,
          api,
          h: helpers(api),
          stop: async () => {
            await cairn.app.close();
            await db.close();
          },
        };
      };
      try {
        const first = await start();
        await first.h.draftCollection('rs');
        await first.h.insert('rs', ['a', 'b', 'c']);
        const taskId = await first.h.task({
          dataCollectionId: 'rs',
          operation: 'SCHEDULE_PUBLISHED_STATUS',
          filter: { id: { $ne: 'b' } },
          schedulePublishedStatusOptions: { date: iso(T0 + HOUR) },
        });
        await first.cairn.runner!.whenIdle();
        assert.deepEqual(await first.h.statuses('rs'), { a: 'DRAFT', b: 'DRAFT', c: 'DRAFT' });
        await first.stop();

        clock.set(T0 + 2 * HOUR);
        const second = await start();
        try {
          await second.cairn.runner!.whenIdle();
          assert.deepEqual(await second.h.statuses('rs'), { a: 'PUBLISHED', b: 'DRAFT', c: 'PUBLISHED' });
          assert.deepEqual(await pendingSchedules(second.db, 'rs'), []);
          const t = (await second.api('GET', `${TASKS}/${taskId}`)).body.task;
          assert.equal(t.status, 'COMPLETED');
          assert.equal(t.itemsSucceeded, 2);
        } finally {
          await second.stop();
        }
      } finally {
        await pg?.close();
      }
    });
  });
}
