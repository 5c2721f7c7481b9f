/**
 * The items API's async jobs: POST /bulk/items/async-patch-by-filter and
 * /bulk/items/async-remove-by-filter answer {jobId}; GET /async-jobs/{jobId}/status answers
 * {status: INITIALIZED|PROCESSING|SUCCEEDED|FAILED, successCount}. Their filters are items-API
 * filters (`_id`, `_createdDate` with {$date}); the task module's renaming does not apply.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_NAMES, openTestStore, type StoreName } from './helpers/stores.js';
import { startServer, call, type TestServer, TEST_ADMIN_KEY } from './helpers/server.js';
import { buildApp } from '../src/http/app.js';
import { sql } from '../src/store/sql.js';
import { allItemData, withoutServerFields, type Api } from './helpers/calls.js';

const PREFIXES = ['/wix-data/v2', '/_api/cloud-data/v2'] as const;
const DATA = PREFIXES[0];


function assertEnvelope(r: { status: number; body: any }, status: number, code: string) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body.details.applicationError.code, code, JSON.stringify(r.body));
  assert.equal(r.body.details.applicationError.description, r.body.message);
}

function helpers(api: Api) {
  return {
    async collection(id: string, extra: Record<string, unknown> = {}) {
      const r = await api('POST', `${DATA}/collections`, { collection: { id, ...extra } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    },
    async insert(collectionId: string, items: Record<string, unknown>[]) {
      const r = await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: collectionId, dataItems: items.map((d) => ({ id: d._id, data: d })) });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.bulkActionMetadata.totalSuccesses, items.length);
    },
    async all(collectionId: string, environment = 'LIVE'): Promise<Record<string, any>[]> {
      return (await allItemData(api, collectionId, environment)).map(withoutServerFields);
    },
  };
}

for (const storeName of STORE_NAMES) {
  describe(`async jobs (${storeName})`, () => {
    let s: TestServer;
    let api: Api;
    let h: ReturnType<typeof helpers>;
    before(async () => {
      s = await startServer(storeName);
      api = (method, path, body) => call(s.url, method, path, body);
      h = helpers(api);
    });
    after(() => s.close());

    async function job(prefix: string, kind: 'patch' | 'remove', body: unknown) {
      const r = await api('POST', `${prefix}/bulk/items/async-${kind}-by-filter`, body);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(Object.keys(r.body), ['jobId']);
      assert.equal(typeof r.body.jobId, 'string');
      await s.cairn.runner!.whenIdle();
      const status = await api('GET', `${prefix}/async-jobs/${r.body.jobId}/status`);
      assert.equal(status.status, 200, JSON.stringify(status.body));
      return { jobId: r.body.jobId as string, status: status.body };
    }

    for (const prefix of PREFIXES) {
      test(`async-patch-by-filter applies the modifications to matching items (${prefix})`, async () => {
        const c = `patch${prefix.length}`;
        await h.collection(c);
        await h.insert(c, [
          { _id: 'a', n: 1, tags: ['x'] },
          { _id: 'b', n: 2, tags: [] },
          { _id: 'c', n: 3 },
          { _id: 'd', n: 4 },
        ]);
        const { status } = await job(prefix, 'patch', {
          dataCollectionId: c,
          filter: { n: { $gte: 2 } },
          fieldModifications: [
            { action: 'INCREMENT_FIELD', fieldPath: 'n', incrementFieldOptions: { value: 10 } },
            { action: 'SET_FIELD', fieldPath: 'seen.by', setFieldOptions: { value: 'job' } },
          ],
        });
        assert.deepEqual(status, { status: 'SUCCEEDED', successCount: 3 });
        assert.deepEqual(await h.all(c), [
          { _id: 'a', n: 1, tags: ['x'] },
          { _id: 'b', n: 12, tags: [], seen: { by: 'job' } },
          { _id: 'c', n: 13, seen: { by: 'job' } },
          { _id: 'd', n: 14, seen: { by: 'job' } },
        ]);
      });

      test(`async-remove-by-filter removes matching items; an empty filter removes all (${prefix})`, async () => {
        const c = `remove${prefix.length}`;
        await h.collection(c);
        await h.insert(c, Array.from({ length: 6 }, (_, n) => ({ _id: `i${n}`, n })));
        const some = await job(prefix, 'remove', { dataCollectionId: c, filter: { n: { $in: [1, 4] } } });
        assert.deepEqual(some.status, { status: 'SUCCEEDED', successCount: 2 });
        assert.deepEqual((await h.all(c)).map((i) => i._id), ['i0', 'i2', 'i3', 'i5']);
        const rest = await job(prefix, 'remove', { dataCollectionId: c, filter: {} });
        assert.deepEqual(rest.status, { status: 'SUCCEEDED', successCount: 4 });
        assert.deepEqual(await h.all(c), []);
      });
    }

    test('job filters are items-API filters: `_id` and `_createdDate` with {$date}; `id` is a user field', async () => {
      await h.collection('names');
      // The user field `id` and `createdDate` hold values that would match if they were renamed.
      await h.insert('names', [
        { _id: 'a', id: 'b', createdDate: '2000-01-01T00:00:00.000Z' },
        { _id: 'b', id: 'a' },
        { _id: 'c', id: 'c' },
      ]);
      const byUserId = await job(DATA, 'remove', { dataCollectionId: 'names', filter: { id: 'a' } });
      assert.deepEqual(byUserId.status, { status: 'SUCCEEDED', successCount: 1 });
      assert.deepEqual((await h.all('names')).map((i) => i._id), ['a', 'c']);

      const byUserDate = await job(DATA, 'patch', {
        dataCollectionId: 'names',
        filter: { createdDate: { $lt: '2001-01-01' } },
        fieldModifications: [{ action: 'SET_FIELD', fieldPath: 'hit', setFieldOptions: { value: 'createdDate' } }],
      });
      assert.deepEqual(byUserDate.status, { status: 'SUCCEEDED', successCount: 1 });

      const future = new Date(Date.now() + 86_400_000).toISOString();
      const bySystem = await job(DATA, 'patch', {
        dataCollectionId: 'names',
        filter: { _id: { $in: ['c'] }, _createdDate: { $lt: { $date: future } } },
        fieldModifications: [{ action: 'SET_FIELD', fieldPath: 'hit', setFieldOptions: { value: '_id' } }],
      });
      assert.deepEqual(bySystem.status, { status: 'SUCCEEDED', successCount: 1 });
      // A plain string is a string on a system date field too: it matches no date.
      const plainString = await job(DATA, 'remove', { dataCollectionId: 'names', filter: { _createdDate: { $lt: future } } });
      assert.deepEqual(plainString.status, { status: 'SUCCEEDED', successCount: 0 });
      assert.deepEqual(await h.all('names'), [
        { _id: 'a', id: 'b', createdDate: '2000-01-01T00:00:00.000Z', hit: 'createdDate' },
        { _id: 'c', id: 'c', hit: '_id' },
      ]);
    });

    test('per-item failures of a patch job are not counted as successes', async () => {
      await h.collection('pfail');
      await h.insert('pfail', [
        { _id: 'a', n: 1 },
        { _id: 'b', n: 'text' },
        { _id: 'c', n: 2 },
      ]);
      const { status } = await job(DATA, 'patch', {
        dataCollectionId: 'pfail',
        fieldModifications: [{ action: 'INCREMENT_FIELD', fieldPath: 'n', incrementFieldOptions: { value: 1 } }],
      });
      assert.deepEqual(status, { status: 'SUCCEEDED', successCount: 2 });
      assert.deepEqual((await h.all('pfail')).map((i) => i.n), [2, 'text', 3]);
    });

    test('drafts and environment: remove-by-filter honours publishPluginOptions and environment', async () => {
      await h.collection('jenv', { plugins: [{ type: 'PUBLISH' }] });
      await h.insert('jenv', [{ _id: 'a' }, { _id: 'b' }]);
      await api('POST', '/cairn/v1/collections/jenv/sandbox', { enabled: true });
      // Test setup only: the items API has no call that makes an item a draft.
      await s.store.db.run(sql`UPDATE items SET publish_status = 'DRAFT' WHERE collection_id = 'jenv' AND id = 'b'`);
      const sandbox = await job(DATA, 'remove', { dataCollectionId: 'jenv', environment: 'SANDBOX' });
      assert.deepEqual(sandbox.status, { status: 'SUCCEEDED', successCount: 1 });
      assert.deepEqual((await h.all('jenv', 'SANDBOX')).map((i) => i._id), ['b']);
      assert.deepEqual((await h.all('jenv', 'LIVE')).map((i) => i._id), ['a', 'b']);
      const withDrafts = await job(DATA, 'remove', { dataCollectionId: 'jenv', publishPluginOptions: { includeDraftItems: true } });
      assert.deepEqual(withDrafts.status, { status: 'SUCCEEDED', successCount: 2 });
      assert.deepEqual(await h.all('jenv', 'LIVE'), []);
      assert.deepEqual((await h.all('jenv', 'SANDBOX')).map((i) => i._id), ['b']);
    });

    test('invalid job requests answer 400 (or 404) and queue nothing; unknown job ids are 404', async () => {
      await h.collection('jval');
      await h.insert('jval', [{ _id: 'a', n: 1 }]);
      const mods = [{ action: 'SET_FIELD', fieldPath: 'x', setFieldOptions: { value: 1 } }];
      const countJobs = async () => {
        return Number((await s.store.db.get<{ n: number }>(sql`SELECT count(*) AS n FROM tasks WHERE kind = 'job'`))?.n);
      };
      const before = await countJobs();
      assertEnvelope(await api('POST', `${DATA}/bulk/items/async-patch-by-filter`, { dataCollectionId: 'jval', filter: {} }), 400, 'WDE0080');
      assertEnvelope(await api('POST', `${DATA}/bulk/items/async-patch-by-filter`, { dataCollectionId: 'jval', fieldModifications: [] }), 400, 'WDE0080');
      assertEnvelope(
        await api('POST', `${DATA}/bulk/items/async-patch-by-filter`, { dataCollectionId: 'jval', filter: { n: { $regex: '.' } }, fieldModifications: mods }),
        400,
        'WDE0070',
      );
      assertEnvelope(await api('POST', `${DATA}/bulk/items/async-remove-by-filter`, { dataCollectionId: 'jval', filter: 7 }), 400, 'WDE0016');
      assertEnvelope(await api('POST', `${DATA}/bulk/items/async-remove-by-filter`, { dataCollectionId: 'jval', filter: { n: { $gt: [1] } } }), 400, 'WDE0058');
      assertEnvelope(await api('POST', `${DATA}/bulk/items/async-remove-by-filter`, {}), 400, 'WDE0001');
      assertEnvelope(await api('POST', `${DATA}/bulk/items/async-remove-by-filter`, { dataCollectionId: 'jval', environment: 'SANDBOX' }), 400, 'WDE0119');
      assertEnvelope(await api('POST', `${DATA}/bulk/items/async-remove-by-filter`, { dataCollectionId: 'nope' }), 404, 'WDE0025');
      assert.equal(await countJobs(), before);
      assert.deepEqual(await h.all('jval'), [{ _id: 'a', n: 1 }]);
      assertEnvelope(await api('GET', `${DATA}/async-jobs/not-a-job/status`), 404, 'WDE0073');
      // A task is not a job.
      const task = await api('POST', '/cms/v1/tasks', { task: { type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'jval', filter: { n: 2 } } } });
      assertEnvelope(await api('GET', `${DATA}/async-jobs/${task.body.task.id}/status`), 404, 'WDE0073');
      await s.cairn.runner!.whenIdle();
    });
  });

  describe(`async job status lifecycle (${storeName})`, () => {
    test('INITIALIZED before a runner takes it, SUCCEEDED after; FAILED when it cannot run', async () => {
      const store = await openTestStore(storeName as StoreName);
      const queued = await buildApp({ adminKey: TEST_ADMIN_KEY, db: store.db, logLevel: 'silent', runTasks: false });
      await queued.app.listen({ port: 0, host: '127.0.0.1' });
      const address = queued.app.server.address();
      const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      const api: Api = (method, path, body) => call(url, method, path, body);
      const h = helpers(api);
      try {
        await h.collection('life');
        await h.collection('gone');
        await h.insert('life', [{ _id: 'a' }, { _id: 'b' }]);
        await h.insert('gone', [{ _id: 'a' }]);
        const ok = (await api('POST', `${DATA}/bulk/items/async-remove-by-filter`, { dataCollectionId: 'life' })).body.jobId;
        const doomed = (await api('POST', `${DATA}/bulk/items/async-remove-by-filter`, { dataCollectionId: 'gone' })).body.jobId;
        assert.deepEqual((await api('GET', `${DATA}/async-jobs/${ok}/status`)).body, { status: 'INITIALIZED', successCount: 0 });
        assert.equal((await api('DELETE', `${DATA}/collections/gone`)).status, 200);
        const worker = await buildApp({ adminKey: TEST_ADMIN_KEY, db: store.db, logLevel: 'silent' });
        await worker.app.ready();
        await worker.runner!.whenIdle();
        await worker.app.close();
        assert.deepEqual((await api('GET', `${DATA}/async-jobs/${ok}/status`)).body, { status: 'SUCCEEDED', successCount: 2 });
        assert.deepEqual((await api('GET', `/_api/cloud-data/v2/async-jobs/${doomed}/status`)).body, { status: 'FAILED', successCount: 0 });
        assert.deepEqual(await h.all('life'), []);
      } finally {
        await queued.app.close();
        await store.close();
      }
    });
  });
}
