/**
 * Background tasks over raw HTTP (/cms/v1/tasks and /_api/autocms/v1/tasks): the four task
 * types and their effect on items, the task's fields, failures (on the task and paged at
 * /cairn/v1/tasks/{id}/failures), environments, validation, listing, and cancellation before
 * and in the middle of a run (made deterministic with the runner's afterBatch hook).
 * Semantics: docs/tasks.md.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_NAMES, openTestStore, type StoreName } from './helpers/stores.js';
import { startServer, call, type TestServer, TEST_ADMIN_KEY } from './helpers/server.js';
import { buildApp, type AppOptions } from '../src/http/app.js';
import { sql } from '../src/store/sql.js';
import { ManualClock } from '../src/clock.js';
import type { Db } from '../src/store/db.js';
import { allItemData, withoutServerFields, type Api } from './helpers/calls.js';

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const TASKS = '/cms/v1/tasks';
const TASKS_ALT = '/_api/autocms/v1/tasks';
const DATA = '/wix-data/v2';


/** Item helpers over one server's URL (and its Db, for setting up drafts). */
function itemHelpers(api: Api, db: () => Db) {
  return {
    async collection(id: string, extra: Record<string, unknown> = {}) {
      const r = await api('POST', `${DATA}/collections`, { collection: { id, ...extra } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    },
    async insert(collectionId: string, items: Record<string, unknown>[], environment = 'LIVE') {
      for (let i = 0; i < items.length; i += 1000) {
        const chunk = items.slice(i, i + 1000);
        const r = await api('POST', `${DATA}/bulk/items/insert`, {
          dataCollectionId: collectionId,
          environment,
          dataItems: chunk.map((d) => ({ id: d._id, data: d })),
        });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.bulkActionMetadata.totalSuccesses, chunk.length);
      }
    },
    /** Every item (drafts included), sorted by id, user fields plus _id and _publishStatus. */
    async all(collectionId: string, environment = 'LIVE'): Promise<Record<string, any>[]> {
      return (await allItemData(api, collectionId, environment)).map(withoutServerFields);
    },
    /** Test setup only: the items API has no call that makes an item a draft. */
    async markDrafts(collectionId: string, ids: string[], env = 'LIVE') {
      for (const id of ids) {
        await db().run(sql`UPDATE items SET publish_status = 'DRAFT' WHERE collection_id = ${collectionId} AND env = ${env} AND id = ${id}`);
      }
    },
  };
}

function ids(n: number, prefix = 'i', width = 3): string[] {
  return Array.from({ length: n }, (_, i) => prefix + String(i).padStart(width, '0'));
}

/** An app of our own over a fresh store, for runner options startServer does not take. */
async function startCustom(storeName: StoreName, options: Omit<AppOptions, 'db'>) {
  const store = await openTestStore(storeName);
  const cairn = await buildApp({ adminKey: TEST_ADMIN_KEY, db: store.db, logLevel: 'silent', ...options });
  await cairn.app.listen({ port: 0, host: '127.0.0.1' });
  const address = cairn.app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    url,
    store,
    cairn,
    api: ((method, path, body) => call(url, method, path, body)) as Api,
    close: async () => {
      await cairn.app.close();
      await store.close();
    },
  };
}

function assertEnvelope(r: { status: number; body: any }, status: number, code: string) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(typeof r.body.message, 'string');
  assert.equal(r.body.details.applicationError.code, code, JSON.stringify(r.body));
  assert.equal(r.body.details.applicationError.description, r.body.message);
}

for (const storeName of STORE_NAMES) {
  describe(`tasks over HTTP (${storeName})`, () => {
    let s: TestServer;
    let api: Api;
    let h: ReturnType<typeof itemHelpers>;
    before(async () => {
      s = await startServer(storeName);
      api = (method, path, body) => call(s.url, method, path, body);
      h = itemHelpers(api, () => s.store.db);
    });
    after(() => s.close());

    /** Creates a task, checks the NEW reply, waits for the runner, and returns both views. */
    async function runTask(task: unknown, prefix = TASKS) {
      const created = await api('POST', prefix, { task });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      assert.equal(created.body.task.status, 'NEW');
      assert.equal('startedAt' in created.body.task, false);
      assert.equal('finishedAt' in created.body.task, false);
      await s.cairn.runner!.whenIdle();
      const done = await api('GET', `${prefix === TASKS ? TASKS_ALT : TASKS}/${created.body.task.id}`);
      assert.equal(done.status, 200, JSON.stringify(done.body));
      return { created: created.body.task, done: done.body.task };
    }

    test('DELETE_BY_QUERY with a filter removes the matching items; the task shows every field', async () => {
      await h.collection('del');
      await h.insert('del', ids(10).map((id, n) => ({ _id: id, n })));
      const options = { dataCollectionId: 'del', filter: { n: { $gte: 6 } } };
      const { created, done } = await runTask({ type: 'DELETE_BY_QUERY', deleteByQueryOptions: options }, TASKS_ALT);
      assert.match(created.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.deepEqual(
        { ...created, id: undefined, createdDate: undefined, updatedDate: undefined },
        {
          id: undefined,
          type: 'DELETE_BY_QUERY',
          status: 'NEW',
          deleteByQueryOptions: options,
          estimatedItemCount: 4,
          itemsSucceeded: 0,
          itemsFailed: 0,
          failures: [],
          createdDate: undefined,
          updatedDate: undefined,
        },
      );
      assert.match(created.createdDate, ISO);
      assert.equal(done.id, created.id);
      assert.equal(done.status, 'COMPLETED');
      assert.equal(done.estimatedItemCount, 4);
      assert.equal(done.itemsSucceeded, 4);
      assert.equal(done.itemsFailed, 0);
      assert.deepEqual(done.failures, []);
      assert.deepEqual(done.deleteByQueryOptions, options);
      assert.match(done.startedAt, ISO);
      assert.match(done.finishedAt, ISO);
      assert.ok(done.startedAt <= done.finishedAt);
      assert.deepEqual((await h.all('del')).map((i) => i._id), ids(6));
    });

    test('DELETE_BY_QUERY without a filter removes every item', async () => {
      await h.collection('delall');
      await h.insert('delall', ids(7).map((id) => ({ _id: id })));
      await h.collection('delother');
      await h.insert('delother', [{ _id: 'keep' }]);
      const { done } = await runTask({ type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'delall' } });
      assert.equal(done.status, 'COMPLETED');
      assert.equal(done.estimatedItemCount, 7);
      assert.equal(done.itemsSucceeded, 7);
      assert.deepEqual(await h.all('delall'), []);
      assert.deepEqual((await h.all('delother')).map((i) => i._id), ['keep']);
    });

    test('DELETE_BY_QUERY leaves drafts alone unless includeDraftItems is true', async () => {
      await h.collection('deldraft', { plugins: [{ type: 'PUBLISH' }] });
      await h.insert('deldraft', ids(6).map((id, n) => ({ _id: id, n })));
      await h.markDrafts('deldraft', ['i001', 'i003', 'i005']);
      const first = await runTask({ type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'deldraft', filter: { n: { $gte: 1 } } } });
      assert.equal(first.done.estimatedItemCount, 2);
      assert.equal(first.done.itemsSucceeded, 2);
      assert.deepEqual(
        (await h.all('deldraft')).map((i) => [i._id, i._publishStatus]),
        [['i000', 'PUBLISHED'], ['i001', 'DRAFT'], ['i003', 'DRAFT'], ['i005', 'DRAFT']],
      );
      const second = await runTask({
        type: 'DELETE_BY_QUERY',
        deleteByQueryOptions: { dataCollectionId: 'deldraft', filter: { n: { $gte: 1 } }, publishPluginOptions: { includeDraftItems: true } },
      });
      assert.equal(second.done.estimatedItemCount, 3);
      assert.equal(second.done.itemsSucceeded, 3);
      assert.deepEqual((await h.all('deldraft')).map((i) => i._id), ['i000']);
    });

    test('task filters: id, createdDate and updatedDate mean the system fields, dates may be plain ISO strings', async () => {
      await h.collection('ren');
      await h.insert('ren', [{ _id: 'a', id: 'b' }, { _id: 'b', id: 'a' }, { _id: 'c' }]);
      const byId = await runTask({ type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'ren', filter: { id: 'a' } } });
      assert.equal(byId.done.itemsSucceeded, 1);
      assert.deepEqual((await h.all('ren')).map((i) => i._id), ['b', 'c']);

      const future = new Date(Date.now() + 86_400_000).toISOString();
      const past = '2000-01-01T00:00:00.000Z';
      const none = await runTask({ type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'ren', filter: { createdDate: { $lt: past } } } });
      assert.equal(none.done.estimatedItemCount, 0);
      assert.equal(none.done.itemsSucceeded, 0);
      const edited = await runTask({
        type: 'EDIT_FIELD_DATA',
        editFieldDataOptions: { dataCollectionId: 'ren', fieldKey: 'tags', filter: { updatedDate: { $lt: future }, id: { $in: ['c'] } }, operations: { addItems: ['t'] } },
      });
      assert.equal(edited.done.itemsSucceeded, 1);
      assert.deepEqual(await h.all('ren'), [{ _id: 'b', id: 'a' }, { _id: 'c', tags: ['t'] }]);
      // The underscored names and {$date} work too.
      const sys = await runTask({
        type: 'DELETE_BY_QUERY',
        deleteByQueryOptions: { dataCollectionId: 'ren', filter: { _id: 'b', _createdDate: { $lt: { $date: future } } } },
      });
      assert.equal(sys.done.itemsSucceeded, 1);
      assert.deepEqual((await h.all('ren')).map((i) => i._id), ['c']);
    });

    test('COPY_FIELD_DATA copies the source field into the target on every item, drafts included', async () => {
      await h.collection('copy', { plugins: [{ type: 'PUBLISH' }] });
      await h.insert('copy', [
        { _id: 'a', src: 'one', dst: 'old' },
        { _id: 'b', src: { deep: [1, 2] } },
        { _id: 'c', dst: 'kept' },
        { _id: 'd', src: null, dst: 'x' },
        { _id: 'e', src: 5, nested: { k: 1 } },
      ]);
      await h.markDrafts('copy', ['b']);
      const { done } = await runTask({ type: 'COPY_FIELD_DATA', copyFieldDataOptions: { dataCollectionId: 'copy', sourceFieldKey: 'src', targetFieldKey: 'dst' } });
      assert.equal(done.status, 'COMPLETED');
      assert.equal(done.estimatedItemCount, 5);
      assert.equal(done.itemsSucceeded, 5);
      assert.equal(done.itemsFailed, 0);
      assert.deepEqual(await h.all('copy'), [
        { _id: 'a', _publishStatus: 'PUBLISHED', src: 'one', dst: 'one' },
        { _id: 'b', _publishStatus: 'DRAFT', src: { deep: [1, 2] }, dst: { deep: [1, 2] } },
        { _id: 'c', _publishStatus: 'PUBLISHED', dst: 'kept' },
        { _id: 'd', _publishStatus: 'PUBLISHED', src: null, dst: null },
        { _id: 'e', _publishStatus: 'PUBLISHED', src: 5, dst: 5, nested: { k: 1 } },
      ]);
      const nested = await runTask({ type: 'COPY_FIELD_DATA', copyFieldDataOptions: { dataCollectionId: 'copy', sourceFieldKey: 'nested.k', targetFieldKey: 'flat' } });
      assert.equal(nested.done.status, 'COMPLETED');
      assert.deepEqual((await h.all('copy')).map((i) => i.flat), [undefined, undefined, undefined, undefined, 1]);
    });

    test('EDIT_FIELD_DATA on arrays: replace, then remove, then add, then remove duplicates', async () => {
      await h.collection('edit');
      await h.insert('edit', [
        { _id: 'a', tags: ['a', 'b', 'a', 'c'] },
        { _id: 'b', tags: ['b'] },
        { _id: 'c', tags: [] },
        { _id: 'd', tags: [{ k: 1, j: 2 }, 'a'] },
        { _id: 'e', other: 1 },
      ]);
      const { done } = await runTask({
        type: 'EDIT_FIELD_DATA',
        editFieldDataOptions: {
          dataCollectionId: 'edit',
          fieldKey: 'tags',
          operations: {
            replaceItems: [{ from: 'a', to: 'x' }, { from: { j: 2, k: 1 }, to: 'obj' }],
            removeItems: ['b'],
            addItems: ['x', 'd'],
            removeDuplicates: true,
          },
        },
      });
      assert.equal(done.status, 'COMPLETED');
      assert.equal(done.itemsSucceeded, 5);
      assert.equal(done.itemsFailed, 0);
      assert.deepEqual(await h.all('edit'), [
        // [a,b,a,c] -replace-> [x,b,x,c] -remove-> [x,x,c] -add-> [x,x,c,x,d] -dedupe-> [x,c,d]
        { _id: 'a', tags: ['x', 'c', 'd'] },
        { _id: 'b', tags: ['x', 'd'] },
        { _id: 'c', tags: ['x', 'd'] },
        { _id: 'd', tags: ['obj', 'x', 'd'] },
        // A missing field becomes the added values.
        { _id: 'e', other: 1, tags: ['x', 'd'] },
      ]);
    });

    test('EDIT_FIELD_DATA order is observable: a replaced value can be removed, an added one is not', async () => {
      await h.collection('order');
      await h.insert('order', [{ _id: 'a', v: ['a', 'b', 'r'] }, { _id: 'b', v: ['a', 'a'] }]);
      // replace a->r happens before remove r: both become removed. remove runs before add: the
      // added r stays. add runs before dedupe: the added a duplicates nothing left.
      const { done } = await runTask({
        type: 'EDIT_FIELD_DATA',
        editFieldDataOptions: { dataCollectionId: 'order', fieldKey: 'v', operations: { replaceItems: [{ from: 'a', to: 'r' }], removeItems: ['r'], addItems: ['r'] } },
      });
      assert.equal(done.status, 'COMPLETED');
      assert.deepEqual(await h.all('order'), [{ _id: 'a', v: ['b', 'r'] }, { _id: 'b', v: ['r'] }]);
      const dedupe = await runTask({
        type: 'EDIT_FIELD_DATA',
        editFieldDataOptions: { dataCollectionId: 'order', fieldKey: 'v', operations: { addItems: ['b', 'b'], removeDuplicates: true } },
      });
      assert.equal(dedupe.done.status, 'COMPLETED');
      assert.deepEqual(await h.all('order'), [{ _id: 'a', v: ['b', 'r'] }, { _id: 'b', v: ['r', 'b'] }]);
      const onlyDedupe = await runTask({
        type: 'EDIT_FIELD_DATA',
        editFieldDataOptions: { dataCollectionId: 'order', fieldKey: 'v', filter: { _id: 'a' }, operations: { addItems: ['b', 'r', 'b'] } },
      });
      assert.equal(onlyDedupe.done.itemsSucceeded, 1);
      assert.deepEqual(await h.all('order'), [{ _id: 'a', v: ['b', 'r', 'b', 'r', 'b'] }, { _id: 'b', v: ['r', 'b'] }]);
    });

    test('EDIT_FIELD_DATA on non-array values: replaceItems replaces matching values; add/remove are per-item failures', async () => {
      await h.collection('scalar');
      await h.insert('scalar', [
        { _id: 'a', f: 'old' },
        { _id: 'b', f: 'other' },
        { _id: 'c', f: 5 },
        { _id: 'd', f: null },
        { _id: 'e', f: { x: 1, y: [2] } },
        { _id: 'f' },
      ]);
      const replaced = await runTask({
        type: 'EDIT_FIELD_DATA',
        editFieldDataOptions: {
          dataCollectionId: 'scalar',
          fieldKey: 'f',
          operations: { replaceItems: [{ from: 'old', to: 'new' }, { from: 5, to: 6 }, { from: null, to: 'was null' }, { from: { y: [2], x: 1 }, to: true }] },
        },
      });
      assert.equal(replaced.done.status, 'COMPLETED');
      assert.equal(replaced.done.itemsSucceeded, 6);
      assert.deepEqual(await h.all('scalar'), [
        { _id: 'a', f: 'new' },
        { _id: 'b', f: 'other' },
        { _id: 'c', f: 6 },
        { _id: 'd', f: 'was null' },
        { _id: 'e', f: true },
        { _id: 'f' },
      ]);
      const clash = await runTask({
        type: 'EDIT_FIELD_DATA',
        editFieldDataOptions: { dataCollectionId: 'scalar', fieldKey: 'f', filter: { _id: { $in: ['a', 'c', 'f'] } }, operations: { addItems: ['z'] } },
      });
      // COMPLETED with partial failures: the two scalar items fail, the missing field is created.
      assert.equal(clash.done.status, 'COMPLETED');
      assert.equal(clash.done.estimatedItemCount, 3);
      assert.equal(clash.done.itemsSucceeded, 1);
      assert.equal(clash.done.itemsFailed, 2);
      assert.deepEqual(
        clash.done.failures.map((f: any) => [f.code, f.data.itemId, f.data.fieldKey, typeof f.description]),
        [['WDE0075', 'a', 'f', 'string'], ['WDE0075', 'c', 'f', 'string']],
      );
      assert.deepEqual((await h.all('scalar')).filter((i) => ['a', 'c', 'f'].includes(i._id)), [
        { _id: 'a', f: 'new' },
        { _id: 'c', f: 6 },
        { _id: 'f', f: ['z'] },
      ]);
    });

    test('UPDATE_PUBLISH_STATUS sets items published or draft by filter', async () => {
      await h.collection('pub', { plugins: [{ type: 'PUBLISH' }] });
      await h.insert('pub', ids(6).map((id, n) => ({ _id: id, n })));
      const updatedDates = async () => {
        const r = await api('POST', `${DATA}/items/query`, {
          dataCollectionId: 'pub',
          publishPluginOptions: { includeDraftItems: true },
          query: { sort: [{ fieldName: '_id', order: 'ASC' }] },
        });
        return r.body.dataItems.map((i: any) => i.data._updatedDate.$date as string);
      };
      const before = await updatedDates();
      await new Promise((r) => setTimeout(r, 5));
      const draft = await runTask({
        type: 'UPDATE_PUBLISH_STATUS',
        updatePublishStatusOptions: { dataCollectionId: 'pub', operation: 'SET_DRAFT_STATUS', filter: { n: { $lt: 4 } } },
      });
      assert.equal(draft.done.status, 'COMPLETED');
      assert.equal(draft.done.estimatedItemCount, 4);
      assert.equal(draft.done.itemsSucceeded, 4);
      const statuses = async () => (await h.all('pub')).map((i) => i._publishStatus);
      assert.deepEqual(await statuses(), ['DRAFT', 'DRAFT', 'DRAFT', 'DRAFT', 'PUBLISHED', 'PUBLISHED']);
      // A status change is a change: the items' _updatedDate moves on, the others' stays.
      const after = await updatedDates();
      assert.deepEqual(after.map((d: string, i: number) => d > (before[i] as string)), [true, true, true, true, false, false]);
      // Visitors' reads (no includeDraftItems) no longer see the drafts.
      const visible = await api('POST', `${DATA}/items/count`, { dataCollectionId: 'pub' });
      assert.equal(visible.body.totalCount, 2);
      const published = await runTask(
        { type: 'UPDATE_PUBLISH_STATUS', updatePublishStatusOptions: { dataCollectionId: 'pub', operation: 'SET_PUBLISHED_STATUS', filter: { n: { $in: [0, 3] } } } },
        TASKS_ALT,
      );
      assert.equal(published.done.itemsSucceeded, 2);
      assert.deepEqual(await statuses(), ['PUBLISHED', 'DRAFT', 'DRAFT', 'PUBLISHED', 'PUBLISHED', 'PUBLISHED']);
      // Without a filter every item (drafts included) is affected.
      const all = await runTask({ type: 'UPDATE_PUBLISH_STATUS', updatePublishStatusOptions: { dataCollectionId: 'pub', operation: 'SET_DRAFT_STATUS' } });
      assert.equal(all.done.estimatedItemCount, 6);
      assert.equal(all.done.itemsSucceeded, 6);
      assert.deepEqual(await statuses(), Array(6).fill('DRAFT'));
    });

    test('more than 100 failures: the task shows the first 100, /cairn/v1/tasks/{id}/failures pages through all', async () => {
      await h.collection('many');
      const clashing = ids(130, 'c');
      await h.insert('many', [...clashing.map((id) => ({ _id: id, tags: 'scalar' })), ...ids(20, 'o').map((id) => ({ _id: id, tags: [] }))]);
      const { done } = await runTask({
        type: 'EDIT_FIELD_DATA',
        editFieldDataOptions: { dataCollectionId: 'many', fieldKey: 'tags', operations: { addItems: ['t'] } },
      });
      assert.equal(done.status, 'COMPLETED');
      assert.equal(done.estimatedItemCount, 150);
      assert.equal(done.itemsSucceeded, 20);
      assert.equal(done.itemsFailed, 130);
      assert.equal(done.failures.length, 100);
      assert.deepEqual(done.failures.map((f: any) => f.data.itemId), clashing.slice(0, 100));
      for (const f of done.failures) {
        assert.equal(f.code, 'WDE0075');
        assert.deepEqual(Object.keys(f).sort(), ['code', 'data', 'description']);
      }
      const seen: string[] = [];
      let offset = 0;
      for (;;) {
        const page = await api('GET', `/cairn/v1/tasks/${done.id}/failures?paging.limit=40&paging.offset=${offset}`);
        assert.equal(page.status, 200, JSON.stringify(page.body));
        const expectedCount = Math.min(40, 130 - offset);
        assert.deepEqual(page.body.pagingMetadata, { count: expectedCount, offset, total: 130, hasNext: offset + expectedCount < 130 });
        for (const f of page.body.failures) {
          assert.equal(f.code, 'WDE0075');
          assert.equal(f.itemId, f.data.itemId);
          seen.push(f.itemId);
        }
        if (!page.body.pagingMetadata.hasNext) break;
        offset += 40;
      }
      assert.deepEqual(seen, clashing);
      const byDefault = await api('GET', `/cairn/v1/tasks/${done.id}/failures`);
      assert.equal(byDefault.body.failures.length, 100);
      assert.equal(byDefault.body.pagingMetadata.hasNext, true);
      assert.deepEqual((await h.all('many')).filter((i) => i._id.startsWith('o')).map((i) => i.tags), Array(20).fill(['t']));
      assert.deepEqual((await h.all('many')).filter((i) => i._id.startsWith('c')).map((i) => i.tags), Array(130).fill('scalar'));
      assertEnvelope(await api('GET', '/cairn/v1/tasks/nope/failures'), 404, 'WDE0073');
    });

    for (const environment of ['SANDBOX', 'SANDBOX_PREFERRED', 'LIVE'] as const) {
      test(`environment ${environment} with a sandbox enabled: every type works on that environment only`, async () => {
        const c = `env_${environment.toLowerCase()}`;
        await h.collection(c, { plugins: [{ type: 'PUBLISH' }] });
        await h.insert(c, ids(3).map((id, n) => ({ _id: id, n, tags: [] })));
        const on = await api('POST', `/cairn/v1/collections/${c}/sandbox`, { enabled: true });
        assert.equal(on.status, 200, JSON.stringify(on.body));
        const target = environment === 'LIVE' ? 'LIVE' : 'SANDBOX';
        const other = environment === 'LIVE' ? 'SANDBOX' : 'LIVE';
        const untouched = await h.all(c, other);
        assert.deepEqual(await h.all(c, target), untouched);
        const tasks = [
          { type: 'EDIT_FIELD_DATA', editFieldDataOptions: { dataCollectionId: c, environment, fieldKey: 'tags', operations: { addItems: ['e'] } } },
          { type: 'COPY_FIELD_DATA', copyFieldDataOptions: { dataCollectionId: c, environment, sourceFieldKey: 'n', targetFieldKey: 'm' } },
          { type: 'UPDATE_PUBLISH_STATUS', updatePublishStatusOptions: { dataCollectionId: c, environment, operation: 'SET_DRAFT_STATUS', filter: { n: 0 } } },
          { type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: c, environment, filter: { n: 2 } } },
        ];
        for (const task of tasks) {
          const { done } = await runTask(task);
          assert.equal(done.status, 'COMPLETED', JSON.stringify(done));
          assert.equal(done[Object.keys(task)[1] as string].environment, environment);
          assert.equal(done.itemsSucceeded, task.type === 'EDIT_FIELD_DATA' || task.type === 'COPY_FIELD_DATA' ? 3 : 1);
        }
        assert.deepEqual(await h.all(c, target), [
          { _id: 'i000', _publishStatus: 'DRAFT', n: 0, m: 0, tags: ['e'] },
          { _id: 'i001', _publishStatus: 'PUBLISHED', n: 1, m: 1, tags: ['e'] },
        ]);
        assert.deepEqual(await h.all(c, other), untouched);
      });
    }

    test('environment without a sandbox: SANDBOX is rejected for every type, SANDBOX_PREFERRED runs on LIVE', async () => {
      await h.collection('nosb', { plugins: [{ type: 'PUBLISH' }] });
      await h.insert('nosb', ids(2).map((id, n) => ({ _id: id, n, tags: [] })));
      const all: Record<string, Record<string, unknown>> = {
        DELETE_BY_QUERY: { filter: { n: 1 } },
        COPY_FIELD_DATA: { sourceFieldKey: 'n', targetFieldKey: 'm' },
        EDIT_FIELD_DATA: { fieldKey: 'tags', operations: { addItems: ['p'] } },
        UPDATE_PUBLISH_STATUS: { operation: 'SET_DRAFT_STATUS', filter: { n: 0 } },
      };
      const key = (t: string) => ({ DELETE_BY_QUERY: 'deleteByQueryOptions', COPY_FIELD_DATA: 'copyFieldDataOptions', EDIT_FIELD_DATA: 'editFieldDataOptions', UPDATE_PUBLISH_STATUS: 'updatePublishStatusOptions' })[t] as string;
      const before = (await api('GET', TASKS)).body.metadata.total;
      for (const [type, options] of Object.entries(all)) {
        assertEnvelope(await api('POST', TASKS, { task: { type, [key(type)]: { dataCollectionId: 'nosb', environment: 'SANDBOX', ...options } } }), 400, 'WDE0119');
      }
      assert.equal((await api('GET', TASKS)).body.metadata.total, before);
      for (const type of ['EDIT_FIELD_DATA', 'COPY_FIELD_DATA', 'UPDATE_PUBLISH_STATUS', 'DELETE_BY_QUERY']) {
        const { done } = await runTask({ type, [key(type)]: { dataCollectionId: 'nosb', environment: 'SANDBOX_PREFERRED', ...all[type] } });
        assert.equal(done.status, 'COMPLETED');
      }
      assert.deepEqual(await h.all('nosb'), [{ _id: 'i000', _publishStatus: 'DRAFT', n: 0, m: 0, tags: ['p'] }]);
    });

    test('invalid tasks answer 400 with the error envelope and queue nothing', async () => {
      await h.collection('val');
      await h.collection('valpub', { plugins: [{ type: 'PUBLISH' }] });
      await h.insert('val', [{ _id: 'a', n: 1 }]);
      const before = (await api('GET', TASKS)).body.metadata.total;
      const cases: [unknown, string][] = [
        [undefined, 'WDE0075'],
        ['text', 'WDE0075'],
        [{}, 'WDE0075'],
        [{ type: 'NOPE', deleteByQueryOptions: { dataCollectionId: 'val' } }, 'WDE0075'],
        [{ type: 'DELETE_BY_QUERY' }, 'WDE0075'],
        [{ type: 'DELETE_BY_QUERY', deleteByQueryOptions: {} }, 'WDE0001'],
        [{ type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'val' }, copyFieldDataOptions: { dataCollectionId: 'val' } }, 'WDE0075'],
        [{ type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'val', filter: 'x' } }, 'WDE0016'],
        [{ type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'val', filter: { n: { $regex: 'a' } } } }, 'WDE0070'],
        [{ type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'val', filter: { n: { $bogus: 1 } } } }, 'WDE0061'],
        [{ type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'val', environment: 'MOON' } }, 'WDE0075'],
        [{ type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'val', publishPluginOptions: { includeDraftItems: 'yes' } } }, 'WDE0080'],
        [{ type: 'COPY_FIELD_DATA', copyFieldDataOptions: { dataCollectionId: 'val', targetFieldKey: 'b' } }, 'WDE0075'],
        [{ type: 'COPY_FIELD_DATA', copyFieldDataOptions: { dataCollectionId: 'val', sourceFieldKey: 'a', targetFieldKey: '_id' } }, 'WDE0075'],
        [{ type: 'COPY_FIELD_DATA', copyFieldDataOptions: { dataCollectionId: 'val', sourceFieldKey: '_id', targetFieldKey: 'copyOfId' } }, 'WDE0075'],
        [{ type: 'COPY_FIELD_DATA', copyFieldDataOptions: { dataCollectionId: 'val', sourceFieldKey: '_createdDate', targetFieldKey: 'created' } }, 'WDE0075'],
        [{ type: 'EDIT_FIELD_DATA', editFieldDataOptions: { dataCollectionId: 'val', fieldKey: 'f' } }, 'WDE0075'],
        [{ type: 'EDIT_FIELD_DATA', editFieldDataOptions: { dataCollectionId: 'val', fieldKey: 'f', operations: {} } }, 'WDE0075'],
        [{ type: 'EDIT_FIELD_DATA', editFieldDataOptions: { dataCollectionId: 'val', fieldKey: '_owner', operations: { addItems: [1] } } }, 'WDE0075'],
        [{ type: 'EDIT_FIELD_DATA', editFieldDataOptions: { dataCollectionId: 'val', fieldKey: 'f', operations: { addItems: Array(65).fill(1) } } }, 'WDE0075'],
        [{ type: 'EDIT_FIELD_DATA', editFieldDataOptions: { dataCollectionId: 'val', fieldKey: 'f', operations: { removeItems: 'x' } } }, 'WDE0075'],
        [{ type: 'EDIT_FIELD_DATA', editFieldDataOptions: { dataCollectionId: 'val', fieldKey: 'f', operations: { replaceItems: ['x'] } } }, 'WDE0075'],
        [{ type: 'UPDATE_PUBLISH_STATUS', updatePublishStatusOptions: { dataCollectionId: 'val', operation: 'SET_DRAFT_STATUS' } }, 'WDE0119'],
        [{ type: 'UPDATE_PUBLISH_STATUS', updatePublishStatusOptions: { dataCollectionId: 'valpub', operation: 'PUBLISH_ALL' } }, 'WDE0075'],
        [{ type: 'UPDATE_PUBLISH_STATUS', updatePublishStatusOptions: { dataCollectionId: 'valpub', operation: 'SCHEDULE_PUBLISHED_STATUS' } }, 'WDE0075'],
        [{ type: 'UPDATE_PUBLISH_STATUS', updatePublishStatusOptions: { dataCollectionId: 'valpub', operation: 'SCHEDULE_DRAFT_STATUS', scheduleDraftStatusOptions: { date: 'soon' } } }, 'WDE0075'],
        [
          { type: 'UPDATE_PUBLISH_STATUS', updatePublishStatusOptions: { dataCollectionId: 'valpub', operation: 'SCHEDULE_DRAFT_STATUS', schedulePublishedStatusOptions: { date: '2030-01-01T00:00:00Z' } } },
          'WDE0075',
        ],
      ];
      for (const [task, code] of cases) {
        const r = await api('POST', TASKS, task === undefined ? {} : { task });
        assertEnvelope(r, 400, code);
      }
      assertEnvelope(await api('POST', TASKS, { task: { type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'missing' } } }), 404, 'WDE0025');
      assertEnvelope(await api('POST', TASKS_ALT, '{not json'), 400, 'WDE0080');
      assert.equal((await api('GET', TASKS)).body.metadata.total, before);
      assert.deepEqual(await h.all('val'), [{ _id: 'a', n: 1 }]);
      assertEnvelope(await api('GET', `${TASKS}/no-such-task`), 404, 'WDE0073');
      assertEnvelope(await api('DELETE', `${TASKS_ALT}/no-such-task`), 404, 'WDE0073');
      assertEnvelope(await api('GET', `${TASKS}?paging.limit=abc`), 400, 'WDE0035');
      assertEnvelope(await api('GET', `${TASKS}?paging.limit=1001`), 400, 'WDE0036');
    });

    test('cancelling a finished task changes nothing', async () => {
      await h.collection('fin');
      await h.insert('fin', [{ _id: 'a' }]);
      const { done } = await runTask({ type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'fin' } });
      const cancelled = await api('DELETE', `${TASKS}/${done.id}`);
      assert.equal(cancelled.status, 200);
      assert.deepEqual(cancelled.body.task, done);
      await s.cairn.runner!.whenIdle();
      assert.deepEqual((await api('GET', `${TASKS}/${done.id}`)).body.task, done);
    });
  });

  describe(`task listing (${storeName})`, () => {
    let s: TestServer;
    before(async () => {
      // A clock that stands still: every task has the same createdDate, so newest-first must
      // not depend on timestamps alone.
      s = await startServer(storeName, { clock: new ManualClock(Date.parse('2030-01-01T00:00:00.000Z')) });
    });
    after(() => s.close());

    test('GET /cms/v1/tasks pages newest first with metadata, async jobs not listed', async () => {
      const api: Api = (method, path, body) => call(s.url, method, path, body);
      const h = itemHelpers(api, () => s.store.db);
      await h.collection('lst');
      const created: string[] = [];
      for (let i = 0; i < 5; i++) {
        const r = await api('POST', i % 2 ? TASKS : TASKS_ALT, { task: { type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'lst', filter: { n: i } } } });
        assert.equal(r.status, 200);
        created.push(r.body.task.id);
      }
      const job = await api('POST', `${DATA}/bulk/items/async-remove-by-filter`, { dataCollectionId: 'lst' });
      assert.equal(job.status, 200);
      await s.cairn.runner!.whenIdle();
      const newest = [...created].reverse();
      const first = await api('GET', `${TASKS}?paging.limit=2`);
      assert.equal(first.status, 200);
      assert.deepEqual(first.body.tasks.map((t: any) => t.id), newest.slice(0, 2));
      assert.deepEqual(first.body.metadata, { count: 2, offset: 0, total: 5, tooManyToCount: false, hasNext: true });
      const last = await api('GET', `${TASKS_ALT}?paging.limit=2&paging.offset=4`);
      assert.deepEqual(last.body.tasks.map((t: any) => t.id), newest.slice(4));
      assert.deepEqual(last.body.metadata, { count: 1, offset: 4, total: 5, tooManyToCount: false, hasNext: false });
      const all = await api('GET', TASKS);
      assert.deepEqual(all.body.tasks.map((t: any) => t.id), newest);
      assert.deepEqual(all.body.tasks.map((t: any) => t.deleteByQueryOptions.filter.n), [4, 3, 2, 1, 0]);
      for (const t of all.body.tasks) {
        assert.equal(t.status, 'COMPLETED');
        assert.equal(t.createdDate, '2030-01-01T00:00:00.000Z');
      }
      assertEnvelope(await api('GET', `${TASKS}/${job.body.jobId}`), 404, 'WDE0073');
    });
  });

  describe(`task cancellation (${storeName})`, () => {
    test('cancelling a NEW task ends it at once as FAILED/CANCELLED; a runner never starts it', async () => {
      const srv = await startCustom(storeName, { runTasks: false });
      try {
        const h = itemHelpers(srv.api, () => srv.store.db);
        await h.collection('cn');
        await h.insert('cn', ids(4).map((id) => ({ _id: id })));
        const created = await srv.api('POST', TASKS, { task: { type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'cn' } } });
        assert.equal(created.body.task.status, 'NEW');
        const cancelled = await srv.api('DELETE', `${TASKS_ALT}/${created.body.task.id}`);
        assert.equal(cancelled.status, 200);
        const t = cancelled.body.task;
        assert.equal(t.status, 'FAILED');
        assert.deepEqual(t.failures, [{ code: 'CANCELLED', description: t.failures[0].description }]);
        assert.equal(typeof t.failures[0].description, 'string');
        assert.equal('startedAt' in t, false);
        assert.match(t.finishedAt, ISO);
        assert.equal(t.estimatedItemCount, 4);
        assert.equal(t.itemsSucceeded, 0);
        assert.equal(t.itemsFailed, 0);
        // Cancelling again is harmless: still one CANCELLED failure.
        const again = await srv.api('DELETE', `${TASKS}/${t.id}`);
        assert.deepEqual(again.body.task, t);
        // A runner over the same store finds nothing to do.
        const worker = await buildApp({ adminKey: TEST_ADMIN_KEY, db: srv.store.db, logLevel: 'silent' });
        await worker.app.ready();
        await worker.runner!.whenIdle();
        await worker.app.close();
        assert.deepEqual((await srv.api('GET', `${TASKS}/${t.id}`)).body.task, t);
        assert.equal((await h.all('cn')).length, 4);
      } finally {
        await srv.close();
      }
    });

    /** A server whose runner works in batches of `batchSize` and calls `onBatch` after each. */
    async function withHook(batchSize: number, onBatch: (taskId: string, outcome: string) => Promise<void>) {
      let hook = onBatch;
      const srv = await startCustom(storeName, { runner: { batchSize, afterBatch: (id, outcome) => hook(id, outcome) } });
      return { srv, setHook: (f: typeof onBatch) => (hook = f) };
    }

    test('DELETE_BY_QUERY cancelled while running: FAILED/CANCELLED, the committed batches stay done and counted', async () => {
      const outcomes: string[] = [];
      let snapshot: any;
      let cancelReply: any;
      const { srv, setHook } = await withHook(3, async () => {});
      try {
        const h = itemHelpers(srv.api, () => srv.store.db);
        await h.collection('cm');
        await h.insert('cm', ids(11).map((id) => ({ _id: id })));
        setHook(async (taskId, outcome) => {
          outcomes.push(outcome);
          if (outcomes.length !== 1) return;
          snapshot = (await srv.api('GET', `${TASKS}/${taskId}`)).body.task;
          cancelReply = await srv.api('DELETE', `${TASKS}/${taskId}`);
        });
        const created = await srv.api('POST', TASKS, { task: { type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'cm' } } });
        assert.equal(created.status, 200);
        await srv.cairn.runner!.whenIdle();
        assert.deepEqual(outcomes, ['more', 'done']);
        // Between batches: running, one batch counted.
        assert.equal(snapshot.status, 'RUNNING');
        assert.match(snapshot.startedAt, ISO);
        assert.equal('finishedAt' in snapshot, false);
        assert.equal(snapshot.itemsSucceeded, 3);
        assert.equal(snapshot.estimatedItemCount, 11);
        // The cancel call answers with the task as it is; it stops at its next batch.
        assert.equal(cancelReply.status, 200);
        assert.equal(cancelReply.body.task.status, 'RUNNING');
        const t = (await srv.api('GET', `${TASKS}/${created.body.task.id}`)).body.task;
        assert.equal(t.status, 'FAILED');
        assert.equal(t.itemsSucceeded, 3);
        assert.equal(t.itemsFailed, 0);
        assert.equal(t.failures.length, 1);
        assert.equal(t.failures[0].code, 'CANCELLED');
        assert.equal('data' in t.failures[0], false);
        assert.match(t.finishedAt, ISO);
        assert.deepEqual((await h.all('cm')).map((i) => i._id), ids(11).slice(3));
      } finally {
        await srv.close();
      }
    });

    test('EDIT_FIELD_DATA cancelled after two batches: exactly the items of those batches changed', async () => {
      const outcomes: string[] = [];
      const { srv, setHook } = await withHook(4, async () => {});
      try {
        const h = itemHelpers(srv.api, () => srv.store.db);
        await h.collection('ce');
        await h.insert('ce', ids(20).map((id, n) => ({ _id: id, n, tags: [] })));
        setHook(async (taskId, outcome) => {
          outcomes.push(outcome);
          if (outcomes.length === 2) assert.equal((await srv.api('DELETE', `${TASKS}/${taskId}`)).status, 200);
        });
        // Every other item matches, so two batches of four matching items touch i000..i014.
        const created = await srv.api('POST', TASKS, {
          task: { type: 'EDIT_FIELD_DATA', editFieldDataOptions: { dataCollectionId: 'ce', fieldKey: 'tags', filter: { n: { $in: ids(10).map((_, i) => i * 2) } }, operations: { addItems: ['x'] } } },
        });
        await srv.cairn.runner!.whenIdle();
        assert.deepEqual(outcomes, ['more', 'more', 'done']);
        const t = (await srv.api('GET', `${TASKS}/${created.body.task.id}`)).body.task;
        assert.equal(t.status, 'FAILED');
        assert.equal(t.estimatedItemCount, 10);
        assert.deepEqual(t.failures.map((f: any) => f.code), ['CANCELLED']);
        const changed = (await h.all('ce')).filter((i) => i.tags.length > 0).map((i) => i._id);
        assert.deepEqual(changed, ['i000', 'i002', 'i004', 'i006', 'i008', 'i010', 'i012', 'i014']);
        assert.equal(t.itemsSucceeded, changed.length);
      } finally {
        await srv.close();
      }
    });
  });
}

