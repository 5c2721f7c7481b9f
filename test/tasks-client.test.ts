/**
 * Background tasks through the published client (@wix/sdk + @wix/data `tasks` module):
 * createTask, getTask, listTasks and cancelTask for the four task types, with the SDK's own
 * renaming (`_id` <-> `id`, `_createdDate` <-> `createdDate`, Dates sent as ISO strings, even
 * inside filters) and the items checked afterwards with the same client.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_NAMES, openTestStore, type StoreName } from './helpers/stores.js';
import { startServer, call, wixClientFor, type TestServer, TEST_ADMIN_KEY } from './helpers/server.js';
import { buildApp } from '../src/http/app.js';
import { codeOf } from './helpers/calls.js';

type Client = TestServer['client'];
type Task = Record<string, any>;

const DATA = '/wix-data/v2';

/** The SDK's typings want its enums; the tests pass plain strings as users' JavaScript does. */
function tasksOf(client: Client) {
  const t = client.tasks as any;
  return {
    create: (task: Task): Promise<Task> => t.createTask(task),
    get: (id: string): Promise<Task> => t.getTask(id),
    list: (options?: Task): Promise<{ tasks: Task[]; metadata: Task }> => t.listTasks(options ?? {}),
    cancel: (id: string): Promise<{ task: Task }> => t.cancelTask(id),
  };
}

for (const storeName of STORE_NAMES) {
  describe(`tasks through the published client (${storeName})`, () => {
    let s: TestServer;
    let tasks: ReturnType<typeof tasksOf>;
    before(async () => {
      s = await startServer(storeName);
      tasks = tasksOf(s.client);
    });
    after(() => s.close());

    const collection = async (id: string, extra: Record<string, unknown> = {}) => {
      const r = await call(s.url, 'POST', `${DATA}/collections`, { collection: { id, ...extra } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    const insert = async (c: string, items: Record<string, unknown>[]) => {
      const r = await s.client.items.bulkInsert(c, items as any);
      assert.equal(r.inserted, items.length);
    };
    /** Visible items (no drafts), sorted by id, without the system dates and owner. */
    const items = async (c: string) => {
      const r = await s.client.items.query(c).ascending('_id').limit(1000).find();
      return r.items.map(({ _createdDate, _updatedDate, _owner, ...rest }: any) => rest);
    };
    /** Creates, checks the client's view of a NEW task, waits for the runner, gets it again. */
    const run = async (task: Task) => {
      const created = await tasks.create(task);
      assert.equal(typeof created._id, 'string');
      assert.equal('id' in created, false);
      assert.equal(created.status, 'NEW');
      assert.equal(created.type, task.type);
      assert.equal(created.startedAt, undefined);
      assert.equal(created.finishedAt, undefined);
      await s.cairn.runner!.whenIdle();
      return { created, done: await tasks.get(created._id) };
    };

    test('DELETE_BY_QUERY: `_id` and Date filters are renamed by the client and mean the system fields', async () => {
      await collection('cdel');
      await insert('cdel', [
        { _id: 'a', n: 1 },
        { _id: 'b', n: 2, id: 'a' },
        { _id: 'c', n: 3 },
        { _id: 'd', n: 4 },
      ]);
      const filter = { _id: { $in: ['a', 'c', 'd'] }, _createdDate: { $lt: new Date(Date.now() + 86_400_000) }, n: { $lt: 4 } };
      const { created, done } = await run({ type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'cdel', filter } });
      assert.equal(created.estimatedItemCount, 2);
      assert.equal(typeof created._createdDate, 'string');
      // The options come back as the client sent them, with its names.
      assert.deepEqual(Object.keys(created.deleteByQueryOptions.filter).sort(), ['_createdDate', '_id', 'n']);
      assert.deepEqual(created.deleteByQueryOptions.filter._id, { $in: ['a', 'c', 'd'] });
      assert.equal(done._id, created._id);
      assert.equal(done.status, 'COMPLETED');
      assert.equal(done.itemsSucceeded, 2);
      assert.equal(done.itemsFailed, 0);
      assert.deepEqual(done.failures, []);
      assert.ok(done.startedAt instanceof Date && !Number.isNaN(done.startedAt.getTime()));
      assert.ok(done.finishedAt instanceof Date && done.finishedAt >= done.startedAt);
      assert.deepEqual(await items('cdel'), [
        { _id: 'b', n: 2, id: 'a' },
        { _id: 'd', n: 4 },
      ]);
      const past = await run({ type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'cdel', filter: { _createdDate: { $lt: new Date('2000-01-01') } } } });
      assert.equal(past.done.itemsSucceeded, 0);
      const all = await run({ type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'cdel' } });
      assert.equal(all.done.itemsSucceeded, 2);
      assert.deepEqual(await items('cdel'), []);
    });

    test('COPY_FIELD_DATA copies a field on every item', async () => {
      await collection('ccopy');
      await insert('ccopy', [
        { _id: 'a', from: 'x', to: 'old' },
        { _id: 'b', from: [1, { k: true }] },
        { _id: 'c', to: 'untouched' },
      ]);
      const { done } = await run({ type: 'COPY_FIELD_DATA', copyFieldDataOptions: { dataCollectionId: 'ccopy', sourceFieldKey: 'from', targetFieldKey: 'to' } });
      assert.equal(done.status, 'COMPLETED');
      assert.equal(done.estimatedItemCount, 3);
      assert.equal(done.itemsSucceeded, 3);
      assert.deepEqual(done.copyFieldDataOptions, { dataCollectionId: 'ccopy', sourceFieldKey: 'from', targetFieldKey: 'to' });
      assert.deepEqual(await items('ccopy'), [
        { _id: 'a', from: 'x', to: 'x' },
        { _id: 'b', from: [1, { k: true }], to: [1, { k: true }] },
        { _id: 'c', to: 'untouched' },
      ]);
    });

    test('EDIT_FIELD_DATA: replace -> remove -> add -> dedupe; Dates in values arrive as ISO strings', async () => {
      await collection('cedit');
      await insert('cedit', [
        { _id: 'a', tags: ['old', 'drop', 'keep', 'old'] },
        { _id: 'b', tags: 'old' },
        { _id: 'c', tags: 'other' },
        { _id: 'd' },
      ]);
      const when = new Date('2031-02-03T04:05:06.007Z');
      const { done } = await run({
        type: 'EDIT_FIELD_DATA',
        editFieldDataOptions: {
          dataCollectionId: 'cedit',
          fieldKey: 'tags',
          filter: { _id: { $ne: 'd' } },
          operations: { replaceItems: [{ from: 'old', to: 'new' }], removeItems: ['drop'], removeDuplicates: true },
        },
      });
      // removeItems needs an array: on b and c the whole edit is a per-item failure (nothing
      // of it is applied, not even the replacement).
      assert.equal(done.status, 'COMPLETED');
      assert.equal(done.estimatedItemCount, 3);
      assert.equal(done.itemsSucceeded, 1);
      assert.equal(done.itemsFailed, 2);
      assert.deepEqual(await items('cedit'), [
        { _id: 'a', tags: ['new', 'keep'] },
        { _id: 'b', tags: 'old' },
        { _id: 'c', tags: 'other' },
        { _id: 'd' },
      ]);
      const replaceOnly = await run({
        type: 'EDIT_FIELD_DATA',
        editFieldDataOptions: { dataCollectionId: 'cedit', fieldKey: 'tags', filter: { _id: 'b' }, operations: { replaceItems: [{ from: 'old', to: 'new' }] } },
      });
      assert.equal(replaceOnly.done.itemsSucceeded, 1);
      const add = await run({
        type: 'EDIT_FIELD_DATA',
        editFieldDataOptions: { dataCollectionId: 'cedit', fieldKey: 'tags', operations: { addItems: [when, 7, { o: 1 }] } },
      });
      // b and c hold strings: adding to them is a per-item failure; the task still completes.
      assert.equal(add.done.status, 'COMPLETED');
      assert.equal(add.done.itemsSucceeded, 2);
      assert.equal(add.done.itemsFailed, 2);
      assert.deepEqual(
        add.done.failures.map((f: Task) => [f.code, f.data.itemId]),
        [['WDE0075', 'b'], ['WDE0075', 'c']],
      );
      assert.deepEqual(await items('cedit'), [
        { _id: 'a', tags: ['new', 'keep', when.toISOString(), 7, { o: 1 }] },
        { _id: 'b', tags: 'new' },
        { _id: 'c', tags: 'other' },
        { _id: 'd', tags: [when.toISOString(), 7, { o: 1 }] },
      ]);
    });

    test('a Date on a user field in a task (sent as its ISO string) matches stored dates, and ISO text', async () => {
      await collection('cdates');
      const d = (day: number) => new Date(Date.UTC(2024, 0, day, 12, 30, 0, 250));
      await insert('cdates', [
        { _id: 'a', due: d(1), when: [d(1), d(2), 'x'] },
        { _id: 'b', due: d(2), when: [d(2), d(3)] },
        { _id: 'c', due: d(3), when: d(1) },
        { _id: 'd', due: d(2).toISOString() }, // the same instant, held as text
        { _id: 'e', due: 5 },
        { _id: 'f' },
      ]);
      // The client sends every Date below as `d(n).toISOString()`.
      const edit = await run({
        type: 'EDIT_FIELD_DATA',
        editFieldDataOptions: {
          dataCollectionId: 'cdates',
          fieldKey: 'when',
          filter: { due: { $gte: d(2) } },
          operations: { removeItems: [d(3)], replaceItems: [{ from: d(2), to: d(9) }] },
        },
      });
      // b, c and d match: a date after, a date after, the same instant as text (e and f do not);
      // c's `when` is not an array, so removeItems fails it; d has no `when`, nothing to do.
      assert.equal(edit.done.estimatedItemCount, 3);
      assert.equal(edit.done.itemsSucceeded, 2);
      assert.equal(edit.done.itemsFailed, 1);
      const replaceScalar = await run({
        type: 'EDIT_FIELD_DATA',
        editFieldDataOptions: { dataCollectionId: 'cdates', fieldKey: 'when', filter: { _id: 'c' }, operations: { replaceItems: [{ from: d(1), to: d(8) }] } },
      });
      assert.equal(replaceScalar.done.itemsSucceeded, 1);
      const byId = Object.fromEntries((await items('cdates')).map((i: any) => [i._id, i]));
      // Stored dates stay dates: the client reads them back as Date objects.
      assert.deepEqual(byId.a.when, [d(1), d(2), 'x']);
      assert.deepEqual(byId.b.when, [d(9)]);
      assert.ok(byId.b.when[0] instanceof Date);
      assert.deepEqual(byId.c.when, d(8));
      assert.ok(byId.c.when instanceof Date);
      assert.equal(byId.d.when, undefined);

      const ne = await run({ type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'cdates', filter: { due: { $ne: d(2) }, _id: { $ne: 'f' } } } });
      assert.equal(ne.done.itemsSucceeded, 3); // a, c and e; b (date) and d (text) equal d(2)
      assert.deepEqual((await items('cdates')).map((i: any) => i._id), ['b', 'd', 'f']);
      const before = await run({ type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'cdates', filter: { due: { $in: [d(2)] } } } });
      assert.equal(before.done.itemsSucceeded, 2);
      assert.deepEqual((await items('cdates')).map((i: any) => i._id), ['f']);
    });

    test('UPDATE_PUBLISH_STATUS: drafts disappear from visitors\' reads and come back when published', async () => {
      await collection('cpub', { plugins: [{ type: 'PUBLISH' }] });
      await insert('cpub', ['a', 'b', 'c'].map((id, n) => ({ _id: id, n })));
      const draft = await run({
        type: 'UPDATE_PUBLISH_STATUS',
        updatePublishStatusOptions: { dataCollectionId: 'cpub', operation: 'SET_DRAFT_STATUS', filter: { n: { $gte: 1 } } },
      });
      assert.equal(draft.done.status, 'COMPLETED');
      assert.equal(draft.done.itemsSucceeded, 2);
      assert.deepEqual(await items('cpub'), [{ _id: 'a', n: 0, _publishStatus: 'PUBLISHED' }]);
      const withDrafts = await call(s.url, 'POST', `${DATA}/items/count`, { dataCollectionId: 'cpub', publishPluginOptions: { includeDraftItems: true } });
      assert.equal(withDrafts.body.totalCount, 3);
      const publish = await run({ type: 'UPDATE_PUBLISH_STATUS', updatePublishStatusOptions: { dataCollectionId: 'cpub', operation: 'SET_PUBLISHED_STATUS', filter: { _id: 'c' } } });
      assert.equal(publish.done.itemsSucceeded, 1);
      assert.deepEqual((await items('cpub')).map((i: any) => i._id), ['a', 'c']);
      assert.equal(
        await codeOf(tasks.create({ type: 'UPDATE_PUBLISH_STATUS', updatePublishStatusOptions: { dataCollectionId: 'ccopy', operation: 'SET_DRAFT_STATUS' } })),
        'WDE0119',
      );
    });

    test('environment in the options is honoured: SANDBOX, SANDBOX_PREFERRED, LIVE', async () => {
      await collection('cenv');
      await insert('cenv', [{ _id: 'a', tags: [] }]);
      assert.equal(await codeOf(tasks.create({ type: 'EDIT_FIELD_DATA', editFieldDataOptions: { dataCollectionId: 'cenv', environment: 'SANDBOX', fieldKey: 'tags', operations: { addItems: ['s'] } } })), 'WDE0119');
      const preferredLive = await run({ type: 'EDIT_FIELD_DATA', editFieldDataOptions: { dataCollectionId: 'cenv', environment: 'SANDBOX_PREFERRED', fieldKey: 'tags', operations: { addItems: ['p'] } } });
      assert.equal(preferredLive.done.itemsSucceeded, 1);
      assert.equal((await call(s.url, 'POST', '/cairn/v1/collections/cenv/sandbox', { enabled: true })).status, 200);
      await run({ type: 'EDIT_FIELD_DATA', editFieldDataOptions: { dataCollectionId: 'cenv', environment: 'SANDBOX', fieldKey: 'tags', operations: { addItems: ['s'] } } });
      await run({ type: 'COPY_FIELD_DATA', copyFieldDataOptions: { dataCollectionId: 'cenv', environment: 'SANDBOX_PREFERRED', sourceFieldKey: 'tags', targetFieldKey: 'copy' } });
      await run({ type: 'EDIT_FIELD_DATA', editFieldDataOptions: { dataCollectionId: 'cenv', environment: 'LIVE', fieldKey: 'tags', operations: { addItems: ['l'] } } });
      assert.deepEqual(await items('cenv'), [{ _id: 'a', tags: ['p', 'l'] }]);
      const sandbox = await call(s.url, 'POST', `${DATA}/items/query`, { dataCollectionId: 'cenv', environment: 'SANDBOX', query: {} });
      assert.deepEqual(sandbox.body.dataItems.map((i: any) => [i.data.tags, i.data.copy]), [[['p', 's'], ['p', 's']]]);
      const del = await run({ type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'cenv', environment: 'SANDBOX' } });
      assert.equal(del.done.itemsSucceeded, 1);
      assert.equal((await items('cenv')).length, 1);
    });

    test('listTasks pages newest first; getTask and cancelTask of unknown ids fail with WDE0073', async () => {
      await collection('clist');
      const mine: string[] = [];
      for (let i = 0; i < 4; i++) mine.push((await tasks.create({ type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'clist', filter: { n: i } } }))._id);
      await s.cairn.runner!.whenIdle();
      const first = await tasks.list({ paging: { limit: 3, offset: 0 } });
      assert.deepEqual(first.tasks.map((t) => t._id), [...mine].reverse().slice(0, 3));
      assert.equal(first.metadata.count, 3);
      assert.equal(first.metadata.offset, 0);
      const total = first.metadata.total;
      assert.ok(total >= 4);
      const second = await tasks.list({ paging: { limit: 3, offset: 3 } });
      assert.equal(second.tasks[0]?._id, mine[0]);
      assert.equal(second.metadata.offset, 3);
      assert.equal(second.metadata.total, total);
      const everything = await tasks.list();
      assert.equal(everything.tasks.length, Math.min(total, 30));
      const created = everything.tasks.map((t) => t._createdDate as string);
      assert.deepEqual([...created].sort().reverse(), created);
      for (const t of first.tasks) {
        assert.equal(t.status, 'COMPLETED');
        assert.ok(t.startedAt instanceof Date || typeof t.startedAt === 'string');
      }
      assert.equal(await codeOf(tasks.get('no-such-task')), 'WDE0073');
      assert.equal(await codeOf(tasks.cancel('no-such-task')), 'WDE0073');
    });

    test('invalid tasks are rejected with the Wix error and nothing is queued', async () => {
      await collection('cval');
      const before = (await tasks.list({ paging: { limit: 1 } })).metadata.total;
      assert.equal(await codeOf(tasks.create({ type: 'DELETE_BY_QUERY' })), 'WDE0075');
      assert.equal(await codeOf(tasks.create({ type: 'EDIT_FIELD_DATA', editFieldDataOptions: { dataCollectionId: 'cval', fieldKey: 'f', operations: {} } })), 'WDE0075');
      assert.equal(await codeOf(tasks.create({ type: 'COPY_FIELD_DATA', copyFieldDataOptions: { dataCollectionId: 'cval', sourceFieldKey: 'a' } })), 'WDE0075');
      assert.equal(await codeOf(tasks.create({ type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'cval', filter: { a: { $regex: 'x' } } } })), 'WDE0070');
      assert.equal(await codeOf(tasks.create({ type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'nope' } })), 'WDE0025');
      assert.equal((await tasks.list({ paging: { limit: 1 } })).metadata.total, before);
    });

    test('cancelTask on a finished task returns it unchanged', async () => {
      await collection('cfin');
      const { done } = await run({ type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'cfin' } });
      const { task } = await tasks.cancel(done._id);
      assert.equal(task._id, done._id);
      assert.equal(task.status, 'COMPLETED');
      assert.deepEqual(task.failures, []);
    });
  });

  describe(`cancelTask through the published client (${storeName})`, () => {
    test('a running task cancelled between batches ends FAILED/CANCELLED with the done work counted', async () => {
      const store = await openTestStore(storeName as StoreName);
      let onBatch: (id: string) => Promise<void> = async () => {};
      const cairn = await buildApp({ adminKey: TEST_ADMIN_KEY, db: store.db, logLevel: 'silent', runner: { batchSize: 5, afterBatch: (id) => onBatch(id) } });
      await cairn.app.listen({ port: 0, host: '127.0.0.1' });
      const address = cairn.app.server.address();
      const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      const client = wixClientFor(url);
      const t = tasksOf(client);
      try {
        assert.equal((await call(url, 'POST', `${DATA}/collections`, { collection: { id: 'cc' } })).status, 200);
        const ids = Array.from({ length: 23 }, (_, i) => `i${String(i).padStart(2, '0')}`);
        await client.items.bulkInsert('cc', ids.map((_id) => ({ _id, v: 'a' })) as any);
        let batches = 0;
        let running: Task | undefined;
        onBatch = async (id) => {
          if (++batches !== 3) return;
          running = (await t.cancel(id)).task;
        };
        const created = await t.create({
          type: 'EDIT_FIELD_DATA',
          editFieldDataOptions: { dataCollectionId: 'cc', fieldKey: 'v', operations: { replaceItems: [{ from: 'a', to: 'b' }] } },
        });
        await cairn.runner!.whenIdle();
        assert.equal(running?.status, 'RUNNING');
        assert.equal(running?.itemsSucceeded, 15);
        const done = await t.get(created._id as string);
        assert.equal(done.status, 'FAILED');
        assert.equal(done.estimatedItemCount, 23);
        assert.equal(done.itemsSucceeded, 15);
        assert.equal(done.itemsFailed, 0);
        assert.deepEqual(done.failures.map((f: Task) => f.code), ['CANCELLED']);
        assert.equal(done.failures[0].data, undefined);
        assert.ok(done.finishedAt instanceof Date);
        const after = await client.items.query('cc').ascending('_id').limit(100).find();
        const changed = after.items.filter((i: any) => i.v === 'b').map((i: any) => i._id);
        assert.deepEqual(changed, ids.slice(0, 15));
      } finally {
        await cairn.app.close();
        await store.close();
      }
    });
  });
}
