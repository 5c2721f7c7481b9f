/**
 * A task's estimatedItemCount (ItemReader.estimateCount): on SQLite it is counted in slices of
 * ESTIMATE_SLICE ids with the event loop turning between them, so creating a task over a large
 * collection does not hold other requests for the whole count. The slices must add up to the
 * plain count, with and without a filter, at slice boundaries and across drafts and
 * environments; and the event loop must really turn while it counts. On both stores, through
 * CreateTask and the reader itself.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, call, type TestServer } from './helpers/server.js';
import { ESTIMATE_SLICE, ItemReader } from '../src/items/query.js';
import { makeScope } from '../src/items/scope.js';
import { parseFilter } from '../src/query/parse.js';
import fc from 'fast-check';
import { ADMIN_CONTEXT } from '../src/items/service.js';
import { filterArb, itemsArb } from './helpers/query-arbitraries.js';

const DATA = '/wix-data/v2';
/** Two and a half slices: a last, partial one, and ids on both sides of each boundary. */
const ITEMS = ESTIMATE_SLICE * 2 + ESTIMATE_SLICE / 2;

for (const storeName of STORE_NAMES) {
  describe(`a task's estimatedItemCount (${storeName})`, () => {
    let s: TestServer;
    const api = (method: string, path: string, body?: unknown) => call(s.url, method, path, body);

    before(async () => {
      // No runner: the tasks stay NEW, their counts as created.
      s = await startServer(storeName, { runner: false, onDisk: true });
      assert.equal((await api('POST', `${DATA}/collections`, { collection: { id: 'many' } })).status, 200);
      for (let first = 0; first < ITEMS; first += 1000) {
        const dataItems = Array.from({ length: 1000 }, (_, j) => {
          const i = first + j;
          return { id: `item-${String(i).padStart(6, '0')}`, data: { n: i % 7, i } };
        });
        assert.equal((await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'many', dataItems })).status, 200);
      }
    });
    after(() => s.close());

    const created = async (deleteByQueryOptions: Record<string, unknown>) => {
      const r = await api('POST', '/cms/v1/tasks', { task: { type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'many', ...deleteByQueryOptions } } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return (r.body as { task: { estimatedItemCount: number } }).task.estimatedItemCount;
    };
    const expected = (keep: (i: number) => boolean) => Array.from({ length: ITEMS }, (_, i) => i).filter(keep).length;

    test('CreateTask counts every matching item across the slices', async () => {
      assert.equal(await created({}), ITEMS);
      assert.equal(await created({ filter: { n: 3 } }), expected((i) => i % 7 === 3));
      // Matches only at the slice boundaries, on either side of them.
      const edges = [ESTIMATE_SLICE - 1, ESTIMATE_SLICE, 2 * ESTIMATE_SLICE - 1, 2 * ESTIMATE_SLICE, ITEMS - 1];
      assert.equal(await created({ filter: { i: { $in: edges } } }), edges.length);
      assert.equal(await created({ filter: { i: { $gte: ITEMS } } }), 0);
    });

    test('an empty collection counts 0', async () => {
      assert.equal((await api('POST', `${DATA}/collections`, { collection: { id: 'none' } })).status, 200);
      const r = await api('POST', '/cms/v1/tasks', { task: { type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'none' } } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal((r.body as { task: { estimatedItemCount: number } }).task.estimatedItemCount, 0);
    });

    test('the reader agrees with a plain count, and lets the event loop turn while it counts on SQLite', async () => {
      const reader = new ItemReader(s.store.db);
      const scope = makeScope(await s.cairn.collections.get('many'), undefined, true);
      for (const filter of [undefined, { n: { $lt: 2 } }, { i: { $gt: ESTIMATE_SLICE - 3, $lt: ESTIMATE_SLICE + 3 } }]) {
        const f = parseFilter(filter);
        let turns = 0;
        let counting = true;
        const tick = () => {
          if (!counting) return;
          turns++;
          setImmediate(tick);
        };
        setImmediate(tick);
        const estimate = await reader.estimateCount(scope, f);
        counting = false;
        assert.equal(estimate, await reader.count(scope, f), JSON.stringify(filter));
        // One turn at least between each two of the three slices; PostgreSQL counts in one go off the loop.
        if (storeName === 'sqlite') assert.ok(turns >= 2, `${turns} turns of the event loop while counting`);
      }
    });

    // The slices must add up to the plain count for every operator of the filter language, not
    // just the simple ones above. The plain count is held to the JS evaluator by
    // query-differential.test.ts.
    test('the estimate equals the plain count for random filters of every operator', async () => {
      assert.equal((await api('POST', `${DATA}/collections`, { collection: { id: 'mixed' } })).status, 200);
      const [items = []] = fc.sample(itemsArb(150, 150), { numRuns: 1, seed: 7 });
      assert.equal(items.length, 150);
      const r = await s.cairn.items.bulkInsert({ dataCollectionId: 'mixed', dataItems: items.map((data) => ({ data })) }, ADMIN_CONTEXT);
      assert.equal(r.bulkActionMetadata.totalFailures, 0);
      const reader = new ItemReader(s.store.db);
      const scope = makeScope(await s.cairn.collections.get('mixed'), undefined, false);
      let matched = 0;
      await fc.assert(
        fc.asyncProperty(filterArb, async (filter) => {
          const f = parseFilter(filter);
          const count = await reader.count(scope, f);
          if (count > 0) matched++;
          assert.equal(await reader.estimateCount(scope, f), count, JSON.stringify(filter));
        }),
        { numRuns: 300, seed: 11 },
      );
      // The filters are not all empty-handed: the comparison says something.
      assert.ok(matched > 30, `${matched} of 300 filters matched an item`);
    });
  });
}
