/**
 * Batch sizing of the task runner: between batchSize and maxBatchSize, batches grow while they
 * are quick and shrink when they are slow (the time target), and every item is still visited
 * exactly once whatever the sizes.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, call, type TestServer } from './helpers/server.js';
import type { RunnerOptions } from '../src/tasks/runner.js';
import { sql } from '../src/store/sql.js';

const DATA = '/wix-data/v2';

async function withServer(storeName: (typeof STORE_NAMES)[number], runner: RunnerOptions, fn: (s: TestServer, progress: number[]) => Promise<void>) {
  const progress: number[] = [];
  let s!: TestServer;
  s = await startServer(storeName, {
    runner: {
      ...runner,
      afterBatch: async (taskId) => {
        const r = await call(s.url, 'GET', `/cms/v1/tasks/${taskId}`);
        progress.push(r.body.task.itemsSucceeded + r.body.task.itemsFailed);
      },
    },
  });
  try {
    await fn(s, progress);
  } finally {
    await s.close();
  }
}

async function fill(s: TestServer, n: number, plugins?: unknown[]) {
  assert.equal((await call(s.url, 'POST', `${DATA}/collections`, { collection: { id: 'b', ...(plugins ? { plugins } : {}) } })).status, 200);
  for (let i = 0; i < n; i += 1000) {
    const dataItems = Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({ data: { _id: `i${String(i + j).padStart(6, '0')}`, tags: [] } }));
    assert.equal((await call(s.url, 'POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'b', dataItems })).status, 200);
  }
}

async function runEdit(s: TestServer) {
  const created = await call(s.url, 'POST', '/cms/v1/tasks', {
    task: { type: 'EDIT_FIELD_DATA', editFieldDataOptions: { dataCollectionId: 'b', fieldKey: 'tags', operations: { addItems: ['x'] } } },
  });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  await s.cairn.runner!.whenIdle();
  return (await call(s.url, 'GET', `/cms/v1/tasks/${created.body.task.id}`)).body.task;
}

for (const storeName of STORE_NAMES) {
  describe(`task batch sizing (${storeName})`, () => {
    test('quick batches double up to maxBatchSize; every item is edited once', async () => {
      // A target no batch can miss: every batch is "quick", so sizes go 100, 200, 400, 800, 800...
      await withServer(storeName, { batchSize: 100, maxBatchSize: 800, batchTargetMs: 60_000 }, async (s, progress) => {
        await fill(s, 3000);
        const task = await runEdit(s);
        assert.equal(task.status, 'COMPLETED');
        assert.equal(task.itemsSucceeded, 3000);
        const sizes = progress.map((p, i) => p - (progress[i - 1] ?? 0));
        assert.deepEqual(sizes, [100, 200, 400, 800, 800, 700]);
        const r = await call(s.url, 'POST', `${DATA}/items/count`, { dataCollectionId: 'b', filter: { tags: { $hasAll: ['x'] } } });
        assert.equal(r.body.totalCount, 3000);
        const twice = await call(s.url, 'POST', `${DATA}/items/query`, { dataCollectionId: 'b', query: { paging: { limit: 1000 } } });
        assert.ok(twice.body.dataItems.every((i: any) => i.data.tags.length === 1));
      });
    });

    test('slow batches never go below batchSize, and without maxBatchSize the size is fixed', async () => {
      // A target every batch misses: sizes stay at the floor.
      await withServer(storeName, { batchSize: 250, maxBatchSize: 4000, batchTargetMs: 0.001 }, async (s, progress) => {
        await fill(s, 1000);
        const task = await runEdit(s);
        assert.equal(task.itemsSucceeded, 1000);
        assert.deepEqual(progress, [250, 500, 750, 1000, 1000]);
      });
      await withServer(storeName, { batchSize: 300, batchTargetMs: 60_000 }, async (s, progress) => {
        await fill(s, 1000);
        await runEdit(s);
        assert.deepEqual(progress, [300, 600, 900, 1000]);
      });
    });
  });

  if (storeName === 'postgres') {
    const count = async (s: TestServer, extra: object = {}) => (await call(s.url, 'POST', `${DATA}/items/count`, { dataCollectionId: 'b', ...extra })).body.totalCount;
    const kinds = [
      {
        type: 'DELETE_BY_QUERY',
        options: { deleteByQueryOptions: { dataCollectionId: 'b' } },
        statement: 'WITH d AS (DELETE FROM items%',
        check: async (s: TestServer) => assert.equal(await count(s), 0),
      },
      {
        type: 'EDIT_FIELD_DATA',
        options: { editFieldDataOptions: { dataCollectionId: 'b', fieldKey: 'tags', operations: { addItems: ['x'] } } },
        statement: '%UPDATE items SET%',
        check: async (s: TestServer) => {
          assert.equal(await count(s), 299);
          assert.equal(await count(s, { filter: { tags: { $hasAll: ['x'] } } }), 299, 'every item left was edited');
        },
      },
      {
        type: 'UPDATE_PUBLISH_STATUS',
        plugins: [{ type: 'PUBLISH' }],
        options: { updatePublishStatusOptions: { dataCollectionId: 'b', operation: 'SET_DRAFT_STATUS' } },
        statement: '%UPDATE items SET publish_status%',
        check: async (s: TestServer) => {
          assert.equal(await count(s, { publishPluginOptions: { includeDraftItems: true } }), 299);
          assert.equal(await count(s), 0, 'every item left is a draft');
        },
      },
    ];
    for (const kind of kinds) {
      test(`${kind.type}: a batch that another writer takes an item from counts what it did and goes on to the end (postgres)`, async () => {
        // Another session deletes an item of the first batch's range and holds it until the
        // task's change waits on that row; then commits. The batch finds one item fewer than it
        // read the ids of: the task does not count it, and still goes on past the batch.
        await withServer(storeName, { batchSize: 100, batchTargetMs: 60_000 }, async (s) => {
          await fill(s, 300, kind.plugins);
          const other = new pg.Client({ connectionString: s.store.url });
          await other.connect();
          try {
            await other.query('BEGIN');
            assert.equal((await other.query(`DELETE FROM items WHERE collection_id = 'b' AND id = 'i000050'`)).rowCount, 1);
            const created = await call(s.url, 'POST', '/cms/v1/tasks', { task: { type: kind.type, ...kind.options } });
            assert.equal(created.status, 200, JSON.stringify(created.body));
            // Watched from outside the open transaction (inside it pg_stat_activity is one snapshot).
            const deadline = Date.now() + 15_000;
            for (;;) {
              const waiting = await s.store.db.all(sql`SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE ${kind.statement}`);
              if (waiting.length) break;
              assert.ok(Date.now() < deadline, "the task's change never waited on the held row");
              await new Promise((r) => setTimeout(r, 20));
            }
            await other.query('COMMIT');
            await s.cairn.runner!.whenIdle();
            const task = (await call(s.url, 'GET', `/cms/v1/tasks/${created.body.task.id}`)).body.task;
            assert.equal(task.status, 'COMPLETED');
            assert.equal(task.itemsSucceeded, 299, 'the item the other writer removed is not counted');
            assert.equal(task.itemsFailed, 0);
            await kind.check(s);
          } finally {
            await other.end();
          }
        });
      });
    }
  }
}
