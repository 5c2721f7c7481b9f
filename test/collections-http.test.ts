/**
 * Data Collections over raw HTTP (under both Wix prefixes) and through the published client's
 * `collections` module: create, get, list, update (revision compare-and-swap), delete, field and
 * plugin edits, the response shape field by field, the error codes and their HTTP statuses, and
 * Cairn's sandbox switch.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, call, recordingClientFor, type TestServer } from './helpers/server.js';
import { collections } from '@wix/data';
import { ManualClock } from '../src/clock.js';
import { sql } from '../src/store/sql.js';
import { codeOf } from './helpers/calls.js';

const PREFIXES = ['/wix-data/v2', '/_api/cloud-data/v2'] as const;
const T0 = Date.parse('2024-03-01T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

const SYSTEM_FIELDS = [
  { key: '_id', displayName: 'ID', type: 'TEXT', systemField: true },
  { key: '_createdDate', displayName: 'Created Date', type: 'DATETIME', systemField: true },
  { key: '_updatedDate', displayName: 'Updated Date', type: 'DATETIME', systemField: true },
  { key: '_owner', displayName: 'Owner', type: 'TEXT', systemField: true },
];

const DATA_OPERATIONS = [
  'AGGREGATE', 'BULK_INSERT', 'BULK_REMOVE', 'BULK_SAVE', 'BULK_UPDATE', 'COUNT', 'DISTINCT', 'FIND', 'GET',
  'INSERT', 'INSERT_REFERENCE', 'IS_REFERENCED', 'QUERY_REFERENCED', 'REMOVE', 'REMOVE_REFERENCE',
  'REPLACE_REFERENCES', 'SAVE', 'TRUNCATE', 'UPDATE', 'PATCH', 'BULK_PATCH',
];

/** The whole collection Cairn should answer with, given what differs between collections. */
function expected(c: {
  id: string;
  displayName?: string;
  fields?: Record<string, unknown>[];
  permissions?: Record<string, string>;
  plugins?: Record<string, unknown>[];
  extras?: Record<string, unknown>;
  revision: string;
  sandboxEnabled?: boolean;
  createdDate: string;
  updatedDate: string;
}) {
  return {
    ...(c.extras ?? {}),
    id: c.id,
    collectionType: 'NATIVE',
    displayName: c.displayName ?? c.id,
    fields: [...SYSTEM_FIELDS, ...(c.fields ?? [])],
    permissions: c.permissions ?? { read: 'ANYONE', insert: 'ADMIN', update: 'ADMIN', remove: 'ADMIN' },
    plugins: c.plugins ?? [],
    revision: c.revision,
    capabilities: { dataOperations: DATA_OPERATIONS, collectionOperations: ['UPDATE', 'REMOVE'], indexLimits: { regular: 3, unique: 1, total: 4 } },
    pagingModes: ['OFFSET', 'CURSOR'],
    maxPageSize: 1000,
    sandboxEnabled: c.sandboxEnabled ?? false,
    createdDate: c.createdDate,
    updatedDate: c.updatedDate,
  };
}

/** Asserts a Wix error envelope with the code, the HTTP status of that code, and optional data. */
function assertError(r: { status: number; body: any }, status: number, code: string, data?: Record<string, unknown>) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body?.details?.applicationError?.code, code, JSON.stringify(r.body));
  assert.equal(typeof r.body.message, 'string');
  assert.equal(r.body.details.applicationError.description, r.body.message);
  if (data) assert.deepEqual(r.body.details.applicationError.data, data);
}

for (const storeName of STORE_NAMES) {
  describe(`collections over HTTP (${storeName})`, () => {
    let s: TestServer;
    const clock = new ManualClock(T0);
    before(async () => {
      s = await startServer(storeName, { clock, runner: false });
    });
    after(() => s.close());

    for (const P of PREFIXES) {
      test(`${P}: create, get, list, update, field and plugin edits, delete`, async () => {
        const id = `books${P.length}`;
        clock.set(T0);
        const fields = [
          { key: 'title', displayName: 'Title', type: 'TEXT' },
          { key: 'pages', type: 'NUMBER', description: 'page count' },
          { key: 'author', displayName: 'Author', type: 'REFERENCE', typeMetadata: { reference: { referencedCollectionId: 'authors' } } },
        ];
        const permissions = { read: 'SITE_MEMBER', insert: 'SITE_MEMBER_AUTHOR', update: 'ADMIN', remove: 'ANYONE' };
        const created = await call(s.url, 'POST', `${P}/collections`, {
          collection: {
            id,
            displayName: 'Books',
            displayField: 'title',
            defaultDisplayOrder: { fieldKey: 'title', direction: 'ASC' },
            fields: [{ key: '_id', type: 'TEXT' }, ...fields],
            permissions,
            // server-owned properties a caller may send back are ignored
            revision: '77',
            collectionType: 'WIX_APP',
            createdDate: '2000-01-01T00:00:00.000Z',
          },
        });
        assert.equal(created.status, 200, JSON.stringify(created.body));
        const extras = { displayField: 'title', defaultDisplayOrder: { fieldKey: 'title', direction: 'ASC' } };
        const v1 = expected({ id, displayName: 'Books', fields, permissions, extras, revision: '1', createdDate: iso(T0), updatedDate: iso(T0) });
        assert.deepEqual(created.body, { collection: v1 });

        const got = await call(s.url, 'GET', `${P}/collections/${id}`);
        assert.equal(got.status, 200);
        assert.deepEqual(got.body, { collection: v1 });

        const listed = await call(s.url, 'GET', `${P}/collections`);
        assert.equal(listed.status, 200);
        assert.deepEqual(
          listed.body.collections.find((c: any) => c.id === id),
          v1,
        );
        assert.equal(listed.body.pagingMetadata.count, listed.body.collections.length);
        assert.equal(listed.body.pagingMetadata.total, listed.body.collections.length);
        assert.equal(listed.body.pagingMetadata.offset, 0);
        assert.equal(listed.body.pagingMetadata.hasNext, false);

        // PUT: full replace; the revision must match.
        clock.set(T0 + 1000);
        const newFields = [{ key: 'title', displayName: 'Book title', type: 'TEXT' }, { key: 'year', type: 'NUMBER' }];
        const put = await call(s.url, 'PUT', `${P}/collections`, {
          collection: { id, revision: '1', displayName: 'All books', fields: newFields, permissions: { read: 'ANYONE', insert: 'ANYONE', update: 'ANYONE', remove: 'ADMIN' } },
        });
        assert.equal(put.status, 200, JSON.stringify(put.body));
        const v2 = expected({
          id,
          displayName: 'All books',
          fields: newFields,
          permissions: { read: 'ANYONE', insert: 'ANYONE', update: 'ANYONE', remove: 'ADMIN' },
          revision: '2',
          createdDate: iso(T0),
          updatedDate: iso(T0 + 1000),
        });
        assert.deepEqual(put.body, { collection: v2 }, 'extras not re-sent are dropped by a full replace');

        // A stale revision is rejected and changes nothing.
        const stale = await call(s.url, 'PUT', `${P}/collections`, { collection: { id, revision: '1', displayName: 'Lost', fields: [], permissions } });
        assertError(stale, 409, 'WDE0079', { currentRevision: '2' });
        const future = await call(s.url, 'PUT', `${P}/collections/${id}`, { collection: { revision: '9', fields: [] } });
        assertError(future, 409, 'WDE0079', { currentRevision: '2' });
        assert.deepEqual((await call(s.url, 'GET', `${P}/collections/${id}`)).body, { collection: v2 });

        // PUT /collections/{id}: the id comes from the path when the body has none; revision as a number works too.
        clock.set(T0 + 2000);
        const putPath = await call(s.url, 'PUT', `${P}/collections/${id}`, { collection: { revision: 2, displayName: 'Books again', fields: newFields } });
        assert.equal(putPath.status, 200, JSON.stringify(putPath.body));
        const v3 = expected({ id, displayName: 'Books again', fields: newFields, revision: '3', createdDate: iso(T0), updatedDate: iso(T0 + 2000) });
        assert.deepEqual(putPath.body, { collection: v3 }, 'permissions left out fall back to the defaults');

        // Fields.
        clock.set(T0 + 3000);
        const cf = await call(s.url, 'POST', `${P}/collections/create-field`, { dataCollectionId: id, field: { key: 'isbn', displayName: 'ISBN', type: 'TEXT', systemField: true } });
        assert.equal(cf.status, 200, JSON.stringify(cf.body));
        const withIsbn = [...newFields, { key: 'isbn', displayName: 'ISBN', type: 'TEXT' }];
        assert.deepEqual(cf.body, {
          dataCollection: expected({ id, displayName: 'Books again', fields: withIsbn, revision: '4', createdDate: iso(T0), updatedDate: iso(T0 + 3000) }),
        });
        assertError(await call(s.url, 'POST', `${P}/collections/create-field`, { dataCollectionId: id, field: { key: 'isbn', type: 'TEXT' } }), 400, 'WDE0075');
        assertError(await call(s.url, 'POST', `${P}/collections/create-field`, { dataCollectionId: id, field: { key: '_owner', type: 'TEXT' } }), 400, 'WDE0075');
        assertError(await call(s.url, 'POST', `${P}/collections/create-field`, { dataCollectionId: id, field: { key: 'x', type: 'STRING' } }), 400, 'WDE0075');
        assertError(await call(s.url, 'POST', `${P}/collections/create-field`, { dataCollectionId: id, field: { key: 'a.b', type: 'TEXT' } }), 400, 'WDE0075');
        assertError(await call(s.url, 'POST', `${P}/collections/create-field`, { dataCollectionId: id, field: { type: 'TEXT' } }), 400, 'WDE0075');

        clock.set(T0 + 4000);
        const uf = await call(s.url, 'POST', `${P}/collections/update-field`, { dataCollectionId: id, field: { key: 'isbn', displayName: 'ISBN-13', type: 'NUMBER' } });
        assert.equal(uf.status, 200, JSON.stringify(uf.body));
        const isbn13 = [...newFields, { key: 'isbn', displayName: 'ISBN-13', type: 'NUMBER' }];
        assert.deepEqual(uf.body.dataCollection.fields, [...SYSTEM_FIELDS, ...isbn13]);
        assert.equal(uf.body.dataCollection.revision, '5');
        assert.equal(uf.body.dataCollection.updatedDate, iso(T0 + 4000));
        assertError(await call(s.url, 'POST', `${P}/collections/update-field`, { dataCollectionId: id, field: { key: 'nope', type: 'TEXT' } }), 400, 'WDE0075');

        clock.set(T0 + 5000);
        const df = await call(s.url, 'POST', `${P}/collections/delete-field`, { dataCollectionId: id, fieldKey: 'year' });
        assert.equal(df.status, 200, JSON.stringify(df.body));
        assert.deepEqual(df.body.dataCollection.fields.map((f: any) => f.key), ['_id', '_createdDate', '_updatedDate', '_owner', 'title', 'isbn']);
        assert.equal(df.body.dataCollection.revision, '6');
        assertError(await call(s.url, 'POST', `${P}/collections/delete-field`, { dataCollectionId: id, fieldKey: 'year' }), 400, 'WDE0075');
        assertError(await call(s.url, 'POST', `${P}/collections/delete-field`, { dataCollectionId: id }), 400, 'WDE0075');

        // Plugins.
        clock.set(T0 + 6000);
        const ap = await call(s.url, 'POST', `${P}/collections/add-plugin`, { dataCollectionId: id, plugin: { type: 'PUBLISH', publishOptions: { defaultStatus: 'DRAFT' } } });
        assert.equal(ap.status, 200, JSON.stringify(ap.body));
        assert.deepEqual(ap.body.dataCollection.plugins, [{ type: 'PUBLISH', publishOptions: { defaultStatus: 'DRAFT' } }]);
        assert.equal(ap.body.dataCollection.revision, '7');
        assert.equal(ap.body.dataCollection.updatedDate, iso(T0 + 6000));
        assertError(await call(s.url, 'POST', `${P}/collections/add-plugin`, { dataCollectionId: id, plugin: { type: 'PUBLISH' } }), 400, 'WDE0075');
        assertError(await call(s.url, 'POST', `${P}/collections/add-plugin`, { dataCollectionId: id, plugin: { type: 'NOT_A_PLUGIN' } }), 400, 'WDE0075');
        assertError(
          await call(s.url, 'POST', `${P}/collections/add-plugin`, { dataCollectionId: id, plugin: { type: 'SINGLE_ITEM', publishOptions: { defaultStatus: 'LATER' } } }).then(
            async (r) => {
              // Options of another plugin type are kept as sent; only PUBLISH's own are checked.
              assert.equal(r.status, 200, JSON.stringify(r.body));
              assert.deepEqual(r.body.dataCollection.plugins.map((x: any) => x.type), ['PUBLISH', 'SINGLE_ITEM']);
              const undo = await call(s.url, 'POST', `${P}/collections/delete-plugin`, { dataCollectionId: id, pluginType: 'SINGLE_ITEM' });
              assert.equal(undo.status, 200);
              return call(s.url, 'POST', `${P}/collections/delete-plugin`, { dataCollectionId: id, pluginType: 'SINGLE_ITEM' });
            },
          ),
          400,
          'WDE0075',
        );
        assertError(await call(s.url, 'POST', `${P}/collections/add-plugin`, { dataCollectionId: id }), 400, 'WDE0075');
        assertError(await call(s.url, 'POST', `${P}/collections/delete-plugin`, { dataCollectionId: id, pluginType: 'NOPE' }), 400, 'WDE0075');
        const afterPlugins = await call(s.url, 'GET', `${P}/collections/${id}`);
        assert.deepEqual(afterPlugins.body.collection.plugins, [{ type: 'PUBLISH', publishOptions: { defaultStatus: 'DRAFT' } }]);
        assert.equal(afterPlugins.body.collection.revision, '9');

        clock.set(T0 + 7000);
        const dp = await call(s.url, 'POST', `${P}/collections/delete-plugin`, { dataCollectionId: id, pluginType: 'PUBLISH' });
        assert.equal(dp.status, 200, JSON.stringify(dp.body));
        assert.deepEqual(dp.body.dataCollection.plugins, []);
        assert.equal(dp.body.dataCollection.revision, '10');
        assert.equal(dp.body.dataCollection.updatedDate, iso(T0 + 7000));
        assert.equal(dp.body.dataCollection.createdDate, iso(T0));
        assertError(await call(s.url, 'POST', `${P}/collections/delete-plugin`, { dataCollectionId: id, pluginType: 'PUBLISH' }), 400, 'WDE0075');

        // Delete.
        const del = await call(s.url, 'DELETE', `${P}/collections/${id}`);
        assert.equal(del.status, 200, JSON.stringify(del.body));
        assert.deepEqual(del.body, {});
        assertError(await call(s.url, 'GET', `${P}/collections/${id}`), 404, 'WDE0025', { collectionId: id });
        assertError(await call(s.url, 'DELETE', `${P}/collections/${id}`), 404, 'WDE0025', { collectionId: id });
        const listedAfter = await call(s.url, 'GET', `${P}/collections`);
        assert.equal(listedAfter.body.collections.some((c: any) => c.id === id), false);
      });
    }

    test('a PUBLISH plugin added over HTTP makes new items drafts; removing it publishes by default again', async () => {
      const id = 'pubflow';
      const P = PREFIXES[0];
      assert.equal((await call(s.url, 'POST', `${P}/collections`, { collection: { id } })).status, 200);
      const ap = await call(s.url, 'POST', `${P}/collections/add-plugin`, { dataCollectionId: id, plugin: { type: 'PUBLISH', publishOptions: { defaultStatus: 'DRAFT' } } });
      assert.equal(ap.status, 200, JSON.stringify(ap.body));
      assert.equal((await call(s.url, 'POST', `${P}/items`, { dataCollectionId: id, dataItem: { id: 'd1', data: { n: 1 } } })).status, 200);
      const q1 = await call(s.url, 'POST', `${P}/items/query`, { dataCollectionId: id, query: {} });
      assert.deepEqual(q1.body.dataItems, [], 'a draft is invisible to a plain query');
      const q1d = await call(s.url, 'POST', `${P}/items/query`, { dataCollectionId: id, query: {}, publishPluginOptions: { includeDraftItems: true } });
      assert.deepEqual(q1d.body.dataItems.map((i: any) => i.id), ['d1']);
      assert.equal(q1d.body.dataItems[0].data._publishStatus, 'DRAFT');
      assert.equal((await call(s.url, 'POST', `${P}/collections/delete-plugin`, { dataCollectionId: id, pluginType: 'PUBLISH' })).status, 200);
      assert.equal((await call(s.url, 'POST', `${P}/items`, { dataCollectionId: id, dataItem: { id: 'p1', data: { n: 2 } } })).status, 200);
      const q2 = await call(s.url, 'POST', `${P}/items/query`, { dataCollectionId: id, query: {} });
      assert.ok(q2.body.dataItems.some((i: any) => i.id === 'p1'));
      assert.equal(q2.body.dataItems.find((i: any) => i.id === 'p1').data._publishStatus, undefined);
    });

    test('unknown collections answer WDE0025 (404) on every collection route', async () => {
      for (const P of PREFIXES) {
        const ghost = { collectionId: 'ghost' };
        assertError(await call(s.url, 'GET', `${P}/collections/ghost`), 404, 'WDE0025', ghost);
        assertError(await call(s.url, 'DELETE', `${P}/collections/ghost`), 404, 'WDE0025', ghost);
        assertError(await call(s.url, 'PUT', `${P}/collections`, { collection: { id: 'ghost', revision: '1', fields: [] } }), 404, 'WDE0025', ghost);
        assertError(await call(s.url, 'PUT', `${P}/collections/ghost`, { collection: { revision: '1' } }), 404, 'WDE0025', ghost);
        assertError(await call(s.url, 'POST', `${P}/collections/create-field`, { dataCollectionId: 'ghost', field: { key: 'a', type: 'TEXT' } }), 404, 'WDE0025', ghost);
        assertError(await call(s.url, 'POST', `${P}/collections/update-field`, { dataCollectionId: 'ghost', field: { key: 'a', type: 'TEXT' } }), 404, 'WDE0025', ghost);
        assertError(await call(s.url, 'POST', `${P}/collections/delete-field`, { dataCollectionId: 'ghost', fieldKey: 'a' }), 404, 'WDE0025', ghost);
        assertError(await call(s.url, 'POST', `${P}/collections/add-plugin`, { dataCollectionId: 'ghost', plugin: { type: 'PUBLISH' } }), 404, 'WDE0025', ghost);
        assertError(await call(s.url, 'POST', `${P}/collections/delete-plugin`, { dataCollectionId: 'ghost', pluginType: 'PUBLISH' }), 404, 'WDE0025', ghost);
        assertError(await call(s.url, 'POST', `${P}/items/query`, { dataCollectionId: 'ghost', query: {} }), 404, 'WDE0025', ghost);
      }
      assertError(await call(s.url, 'POST', '/cairn/v1/collections/ghost/sandbox', { enabled: true }), 404, 'WDE0025');
    });

    test('duplicate create answers WDE0104 (409) and leaves the first collection as it was', async () => {
      clock.set(T0);
      const first = await call(s.url, 'POST', `${PREFIXES[0]}/collections`, { collection: { id: 'dup', displayName: 'First', fields: [{ key: 'a', type: 'TEXT' }] } });
      assert.equal(first.status, 200);
      clock.set(T0 + 10_000);
      for (const P of PREFIXES) {
        assertError(await call(s.url, 'POST', `${P}/collections`, { collection: { id: 'dup', displayName: 'Second' } }), 409, 'WDE0104', { collectionId: 'dup' });
      }
      assert.deepEqual((await call(s.url, 'GET', `${PREFIXES[1]}/collections/dup`)).body, first.body);
    });

    test('bad collection ids answer WDE0001 (400); App/Name ids work when the slash is encoded', async () => {
      const P = PREFIXES[0];
      const bad: unknown[] = ['', 'has space', 'semi;colon', "quo'te", 'x'.repeat(257), 42, null, ['a'], { id: 'a' }];
      for (const id of bad) {
        assertError(await call(s.url, 'POST', `${P}/collections`, { collection: { id } }), 400, 'WDE0001');
        assertError(await call(s.url, 'POST', `${P}/collections/create-field`, { dataCollectionId: id, field: { key: 'a', type: 'TEXT' } }), 400, 'WDE0001');
      }
      assertError(await call(s.url, 'POST', `${P}/collections`, { collection: {} }), 400, 'WDE0001');
      assertError(await call(s.url, 'POST', `${P}/collections`, {}), 400, 'WDE0075');
      assertError(await call(s.url, 'POST', `${P}/collections`, { collection: 'x' }), 400, 'WDE0075');
      assertError(await call(s.url, 'GET', `${P}/collections/${encodeURIComponent('has space')}`), 400, 'WDE0001');
      assertError(await call(s.url, 'DELETE', `${P}/collections/${encodeURIComponent("quo'te")}`), 400, 'WDE0001');
      assertError(await call(s.url, 'PUT', `${P}/collections`, { collection: { id: 'x'.repeat(257), revision: '1' } }), 400, 'WDE0001');

      // The longest id allowed, and the app-collection form.
      const longest = 'L'.repeat(256);
      assert.equal((await call(s.url, 'POST', `${P}/collections`, { collection: { id: longest } })).status, 200);
      assert.equal((await call(s.url, 'GET', `${P}/collections/${longest}`)).body.collection.id, longest);
      const appId = 'MyApp/Things-1.v2@x';
      const created = await call(s.url, 'POST', `${P}/collections`, { collection: { id: appId } });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const got = await call(s.url, 'GET', `${P}/collections/${encodeURIComponent(appId)}`);
      assert.equal(got.status, 200, JSON.stringify(got.body));
      assert.equal(got.body.collection.id, appId);
      const del = await call(s.url, 'DELETE', `${P}/collections/${encodeURIComponent(appId)}`);
      assert.equal(del.status, 200, JSON.stringify(del.body));
      assertError(await call(s.url, 'GET', `${P}/collections/${encodeURIComponent(appId)}`), 404, 'WDE0025');
    });

    test('validation of fields, permissions, plugins and revision on create and update', async () => {
      const P = PREFIXES[1];
      const cases: Record<string, unknown>[] = [
        { fields: [{ key: 'a', type: 'TEXT' }, { key: 'a', type: 'NUMBER' }] },
        { fields: [{ key: 'a', type: 'WHATEVER' }] },
        { fields: [{ key: 'a' }] },
        { fields: 'a' },
        { permissions: { read: 'EVERYONE' } },
        { permissions: 'ANYONE' },
        { plugins: [{ type: 'PUBLISH' }, { type: 'PUBLISH' }] },
        { plugins: [{ type: 'NOPE' }] },
        { plugins: [{ type: 'PUBLISH', publishOptions: { defaultStatus: 'LATER' } }] },
        { plugins: [{ type: 'PUBLISH', publishOptions: 'DRAFT' }] },
        { displayName: 5 },
      ];
      for (const extra of cases) {
        const r = await call(s.url, 'POST', `${P}/collections`, { collection: { id: 'invalid', ...extra } });
        assert.ok([400].includes(r.status), `${JSON.stringify(extra)} -> ${r.status} ${JSON.stringify(r.body)}`);
        assert.ok(['WDE0075', 'WDE0080', 'WDE0147'].includes(r.body.details.applicationError.code), JSON.stringify(r.body));
      }
      assertError(await call(s.url, 'GET', `${P}/collections/invalid`), 404, 'WDE0025');

      assert.equal((await call(s.url, 'POST', `${P}/collections`, { collection: { id: 'valid' } })).status, 200);
      assertError(await call(s.url, 'PUT', `${P}/collections`, { collection: { id: 'valid', fields: [] } }), 400, 'WDE0075');
      assertError(await call(s.url, 'PUT', `${P}/collections`, { collection: { id: 'valid', revision: '1', fields: [{ key: 'a', type: 'NOPE' }] } }), 400, 'WDE0075');
      assertError(await call(s.url, 'PUT', `${P}/collections`, {}), 400, 'WDE0075');
      for (const revision of [null, '']) {
        assertError(await call(s.url, 'PUT', `${P}/collections`, { collection: { id: 'valid', revision } }), 400, 'WDE0075');
      }
      // Only the revision itself (as a string or a number) matches: not an array or object holding it.
      for (const revision of [['1'], [1], { r: '1' }, true, '01', '1.0', 0, 2]) {
        assertError(await call(s.url, 'PUT', `${P}/collections`, { collection: { id: 'valid', revision } }), 409, 'WDE0079', { currentRevision: '1' });
      }
      const still = await call(s.url, 'GET', `${P}/collections/valid`);
      assert.equal(still.body.collection.revision, '1', 'failed updates change nothing');
    });

    test('list: sorted by id unless sort says otherwise, offset paging and its metadata', async () => {
      const P = PREFIXES[0];
      const ids = ['pg-c', 'pg-a', 'pg-b'];
      for (const id of ids) assert.equal((await call(s.url, 'POST', `${P}/collections`, { collection: { id } })).status, 200);
      const all = await call(s.url, 'GET', `${P}/collections`);
      const allIds = all.body.collections.map((c: any) => c.id);
      assert.deepEqual(allIds, [...allIds].sort((a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0)));
      const total = allIds.length;
      assert.ok(total >= 3);
      const i = allIds.indexOf('pg-a');
      const page = await call(s.url, 'GET', `${P}/collections?paging.limit=2&paging.offset=${i}`);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      assert.deepEqual(page.body.collections.map((c: any) => c.id), ['pg-a', 'pg-b']);
      assert.deepEqual(page.body.pagingMetadata, { count: 2, offset: i, total, tooManyToCount: false, hasNext: i + 2 < total });
      const last = await call(s.url, 'GET', `${P}/collections?paging.limit=2&paging.offset=${total - 1}`);
      assert.deepEqual(last.body.pagingMetadata, { count: 1, offset: total - 1, total, tooManyToCount: false, hasNext: false });
      assertError(await call(s.url, 'GET', `${P}/collections?paging.limit=1001`), 400, 'WDE0036');
      assertError(await call(s.url, 'GET', `${P}/collections?paging.offset=-1`), 400, 'WDE0034');
      assertError(await call(s.url, 'GET', `${P}/collections?paging.limit=x`), 400, 'WDE0035');
      // sort.fieldName / sort.order: by id either way, by creation date (id breaks ties).
      const desc = await call(s.url, 'GET', `${P}/collections?sort.fieldName=id&sort.order=DESC`);
      assert.deepEqual(desc.body.collections.map((c: any) => c.id), [...allIds].reverse());
      const byCreated = await call(s.url, 'GET', `${P}/collections?sort.fieldName=createdDate&sort.order=DESC`);
      const rows = await s.store.db.all<{ id: string; created_date: string }>(sql`SELECT id, created_date FROM collections`);
      const want = rows
        .sort((a, b) => (a.created_date === b.created_date ? (a.id < b.id ? 1 : -1) : a.created_date < b.created_date ? 1 : -1))
        .map((r) => r.id);
      assert.deepEqual(byCreated.body.collections.map((c: any) => c.id), want);
      assertError(await call(s.url, 'GET', `${P}/collections?sort.fieldName=revision`), 400, 'WDE0065');
      assertError(await call(s.url, 'GET', `${P}/collections?sort.fieldName=id&sort.order=UP`), 400, 'WDE0066');
    });

    test('deleting a collection removes its items (both environments) and its indexes for good once its id is used again', async () => {
      const P = PREFIXES[0];
      const id = 'doomed';
      assert.equal((await call(s.url, 'POST', `${P}/collections`, { collection: { id } })).status, 200);
      assert.equal((await call(s.url, 'POST', `${P}/collections`, { collection: { id: 'bystander' } })).status, 200);
      const ins = await call(s.url, 'POST', `${P}/bulk/items/insert`, { dataCollectionId: id, dataItems: [{ id: 'a', data: { k: 'x' } }, { id: 'b', data: { k: 'y' } }] });
      assert.equal(ins.status, 200, JSON.stringify(ins.body));
      assert.equal((await call(s.url, 'POST', `${P}/items`, { dataCollectionId: 'bystander', dataItem: { id: 'a', data: { k: 'x' } } })).status, 200);
      assert.equal((await call(s.url, 'POST', '/cairn/v1/collections/doomed/sandbox', { enabled: true })).status, 200);
      const ix = await call(s.url, 'POST', `${P}/indexes`, { dataCollectionId: id, index: { name: 'byK', fields: [{ path: 'k' }], unique: true } });
      assert.equal(ix.status, 200, JSON.stringify(ix.body));
      const count = async (c: string) => Number((await s.store.db.get<{ n: number }>(sql`SELECT count(*) AS n FROM items WHERE collection_id = ${c}`))?.n);
      assert.equal(await count(id), 4, 'two live items and their sandbox copies');

      assert.equal((await call(s.url, 'DELETE', `${P}/collections/${id}`)).status, 200);
      // Kept, unreachable, for a restore (collections-restore.test.ts)...
      assert.equal(await count(id), 4);
      assert.equal(await count('bystander'), 1);

      // ...until a collection is created under the same id: it is empty, has no sandbox, and the
      // old unique index is gone.
      const again = await call(s.url, 'POST', `${P}/collections`, { collection: { id } });
      assert.equal(again.status, 200);
      assert.equal(await count(id), 0);
      assert.equal(await count('bystander'), 1);
      const ixRows = await s.store.db.all(sql`SELECT * FROM item_indexes WHERE collection_id = ${id}`);
      assert.deepEqual(ixRows, []);
      assert.equal(again.body.collection.revision, '1');
      assert.equal(again.body.collection.sandboxEnabled, false);
      const q = await call(s.url, 'POST', `${P}/items/query`, { dataCollectionId: id, query: {} });
      assert.deepEqual(q.body.dataItems, []);
      const dupes = await call(s.url, 'POST', `${P}/bulk/items/insert`, { dataCollectionId: id, dataItems: [{ data: { k: 'x' } }, { data: { k: 'x' } }] });
      assert.deepEqual(dupes.body.bulkActionMetadata, { totalSuccesses: 2, totalFailures: 0 });
      const idx = await call(s.url, 'GET', `${P}/indexes?dataCollectionId=${id}`);
      assert.deepEqual(idx.body.indexes.map((i: any) => i.name), ['_id_', '_createdDate_']);
    });

    test('sandbox switch: /cairn/v1/collections/{id}/sandbox copies live items and drops them again', async () => {
      const P = PREFIXES[0];
      const id = 'sbx';
      clock.set(T0);
      assert.equal((await call(s.url, 'POST', `${P}/collections`, { collection: { id } })).status, 200);
      assert.equal((await call(s.url, 'POST', `${P}/items`, { dataCollectionId: id, dataItem: { id: 'live1', data: { v: 1 } } })).status, 200);
      const sandboxQuery = () => call(s.url, 'POST', `${P}/items/query`, { dataCollectionId: id, query: {}, environment: 'SANDBOX' });
      assertError(await sandboxQuery(), 400, 'WDE0119', { collectionId: id });

      clock.set(T0 + 500);
      const on = await call(s.url, 'POST', `/cairn/v1/collections/${id}/sandbox`, { enabled: true });
      assert.equal(on.status, 200, JSON.stringify(on.body));
      assert.deepEqual(on.body, { collection: expected({ id, revision: '2', sandboxEnabled: true, createdDate: iso(T0), updatedDate: iso(T0 + 500) }) });
      assert.equal((await call(s.url, 'GET', `${P}/collections/${id}`)).body.collection.sandboxEnabled, true);
      const sb = await sandboxQuery();
      assert.equal(sb.status, 200, JSON.stringify(sb.body));
      assert.deepEqual(sb.body.dataItems.map((i: any) => [i.id, i.data.v]), [['live1', 1]]);

      // The environments are separate from now on.
      assert.equal((await call(s.url, 'POST', `${P}/items`, { dataCollectionId: id, dataItem: { id: 'sb1', data: { v: 2 } }, environment: 'SANDBOX' })).status, 200);
      const live = await call(s.url, 'POST', `${P}/items/query`, { dataCollectionId: id, query: {} });
      assert.deepEqual(live.body.dataItems.map((i: any) => i.id), ['live1']);

      assertError(await call(s.url, 'POST', `/cairn/v1/collections/${id}/sandbox`, {}), 400, 'WDE0080');
      assertError(await call(s.url, 'POST', `/cairn/v1/collections/${id}/sandbox`, { enabled: 'yes' }), 400, 'WDE0080');
      assertError(await call(s.url, 'POST', `/cairn/v1/collections/${encodeURIComponent('a b')}/sandbox`, { enabled: true }), 400, 'WDE0001');

      const off = await call(s.url, 'POST', `/cairn/v1/collections/${id}/sandbox`, { enabled: false });
      assert.equal(off.status, 200);
      assert.equal(off.body.collection.sandboxEnabled, false);
      assert.equal(off.body.collection.revision, '3');
      assertError(await sandboxQuery(), 400, 'WDE0119');
      const rows = await s.store.db.get<{ n: number }>(sql`SELECT count(*) AS n FROM items WHERE collection_id = ${id} AND env = 'SANDBOX'`);
      assert.equal(Number(rows?.n), 0);

      // A PUT after the switch must carry the switch's revision, and keeps the sandbox flag.
      assertError(await call(s.url, 'PUT', `${P}/collections`, { collection: { id, revision: '2' } }), 409, 'WDE0079', { currentRevision: '3' });
      assert.equal((await call(s.url, 'POST', `/cairn/v1/collections/${id}/sandbox`, { enabled: true })).status, 200);
      const put = await call(s.url, 'PUT', `${P}/collections`, { collection: { id, revision: '4', displayName: 'Sandboxed' } });
      assert.equal(put.status, 200, JSON.stringify(put.body));
      assert.equal(put.body.collection.sandboxEnabled, true);
      assert.equal(put.body.collection.revision, '5');
    });

    test('PATCH changes only the properties given, refuses the others, and checks a revision if sent', async () => {
      const P = '/wix-data/v2';
      const permissions = { read: 'ANYONE', insert: 'ADMIN', update: 'ADMIN', remove: 'ADMIN' };
      const fields = [{ key: 'title', displayName: 'Title', type: 'TEXT' }];
      assert.equal((await call(s.url, 'POST', `${P}/collections`, { collection: { id: 'patchme', displayName: 'Before', fields, permissions } })).status, 200);
      const before = (await call(s.url, 'GET', `${P}/collections/patchme`)).body as { collection: Record<string, unknown> };

      const r = await call(s.url, 'PATCH', `${P}/collections/patchme`, { dataCollection: { id: 'patchme', displayName: 'After', displayField: 'title' } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const after = (r.body as { dataCollection: Record<string, unknown> }).dataCollection;
      assert.equal(after.displayName, 'After');
      assert.equal(after.displayField, 'title');
      assert.equal(after.revision, '2');
      assert.deepEqual(after.fields, before.collection.fields);
      assert.deepEqual(after.permissions, permissions);
      assert.deepEqual(((await call(s.url, 'GET', `${P}/collections/patchme`)).body as { collection: unknown }).collection, after);

      const codeOf = (res: { status: number; body: unknown }) => [res.status, (res.body as { details?: { applicationError?: { code?: string } } }).details?.applicationError?.code];
      // Properties Patch Data Collection cannot change, a path/body id mismatch, bad permissions, a stale revision.
      assert.deepEqual(codeOf(await call(s.url, 'PATCH', `${P}/collections/patchme`, { dataCollection: { fields: [] } })), [400, 'WDE0075']);
      assert.deepEqual(codeOf(await call(s.url, 'PATCH', `${P}/collections/patchme`, { dataCollection: { plugins: [] } })), [400, 'WDE0075']);
      assert.deepEqual(codeOf(await call(s.url, 'PATCH', `${P}/collections/patchme`, { dataCollection: { id: 'other', displayName: 'x' } })), [400, 'WDE0075']);
      assert.deepEqual(codeOf(await call(s.url, 'PATCH', `${P}/collections/patchme`, { dataCollection: { permissions: { read: 'EVERYONE' } } })), [400, 'WDE0075']);
      assert.deepEqual(codeOf(await call(s.url, 'PATCH', `${P}/collections/patchme`, { dataCollection: { displayName: 5 } }))[0], 400);
      assert.deepEqual(codeOf(await call(s.url, 'PATCH', `${P}/collections/patchme`, { dataCollection: { displayName: 'x', revision: '1' } })), [409, 'WDE0079']);
      assert.deepEqual(codeOf(await call(s.url, 'PATCH', `${P}/collections/nope`, { dataCollection: { displayName: 'x' } })), [404, 'WDE0025']);
      assert.deepEqual(((await call(s.url, 'GET', `${P}/collections/patchme`)).body as { collection: unknown }).collection, after, 'nothing written');
      const current = await call(s.url, 'PATCH', `${P}/collections/patchme`, { dataCollection: { displayName: 'Again', revision: '2' } });
      assert.equal(current.status, 200);
      assert.equal((current.body as { dataCollection: { revision: string } }).dataCollection.revision, '3');

      // patch-field: the field keeps what the patch does not set; an unknown field is refused.
      const f = await call(s.url, 'PATCH', `${P}/collections/patchme/patch-field`, { field: { key: 'title', description: 'The title' } });
      assert.equal(f.status, 200, JSON.stringify(f.body));
      assert.deepEqual((f.body as { dataCollection: { fields: unknown[] } }).dataCollection.fields.at(-1), { key: 'title', displayName: 'Title', type: 'TEXT', description: 'The title' });
      assert.deepEqual(codeOf(await call(s.url, 'PATCH', `${P}/collections/patchme/patch-field`, { field: { key: 'nope', description: 'x' } })), [400, 'WDE0075']);
      assert.deepEqual(codeOf(await call(s.url, 'PATCH', `${P}/collections/patchme/patch-field`, { field: { key: 'title', type: 'NOT_A_TYPE' } }))[0], 400);
    });

    test('concurrent PUTs with the same revision: exactly one wins, the others get WDE0079', async () => {
      const P = PREFIXES[0];
      assert.equal((await call(s.url, 'POST', `${P}/collections`, { collection: { id: 'race' } })).status, 200);
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => call(s.url, 'PUT', `${P}/collections`, { collection: { id: 'race', revision: '1', displayName: `v${i}` } })),
      );
      const won = results.filter((r) => r.status === 200);
      assert.equal(won.length, 1, JSON.stringify(results.map((r) => r.status)));
      for (const r of results.filter((r) => r.status !== 200)) assertError(r, 409, 'WDE0079');
      const final = await call(s.url, 'GET', `${P}/collections/race`);
      assert.equal(final.body.collection.revision, '2');
      assert.equal(final.body.collection.displayName, won[0]!.body.collection.displayName);

      // Field edits retry on a fresh read instead: all of them land.
      const adds = await Promise.all(
        Array.from({ length: 4 }, (_, i) => call(s.url, 'POST', `${P}/collections/create-field`, { dataCollectionId: 'race', field: { key: `f${i}`, type: 'TEXT' } })),
      );
      assert.deepEqual(adds.map((r) => r.status), [200, 200, 200, 200], JSON.stringify(adds.map((r) => r.body)));
      const withFields = await call(s.url, 'GET', `${P}/collections/race`);
      assert.deepEqual(withFields.body.collection.fields.map((f: any) => f.key).filter((k: string) => !k.startsWith('_')).sort(), ['f0', 'f1', 'f2', 'f3']);
      assert.equal(withFields.body.collection.revision, '6');
    });
  });

  for (const host of ['www.wixapis.com', 'cairn.local'] as const) {
    describe(`collections through the published client, host ${host} (${storeName})`, () => {
      let s: TestServer;
      let client: ReturnType<typeof clientFor>;
      const seen: string[] = [];
      const prefix = host === 'www.wixapis.com' ? '/wix-data/v2/' : '/_api/cloud-data/v2/';
      // The default host gives the public paths; a custom apiBaseUrl makes the SDK use /_api/cloud-data/v2.
      const clientFor = (url: string) =>
        recordingClientFor(url, { collections }, { seen, ...(host === 'cairn.local' ? { apiBaseUrl: host } : {}) });
      before(async () => {
        s = await startServer(storeName, { runner: false });
        client = clientFor(s.url);
      });
      after(async () => {
        assert.ok(seen.length >= 15, `${seen.length} requests`);
        for (const path of seen) assert.ok(path.startsWith(prefix), `${path} is not under ${prefix}`);
        await s.close();
      });

      test('create, get, list, update, stale update, fields, plugins, delete', async () => {
        const c = client.collections as any;
        const created = await c.createDataCollection({
          _id: 'sdkbooks',
          displayName: 'SDK books',
          fields: [{ key: 'title', displayName: 'Title', type: 'TEXT' }],
          permissions: { read: 'ANYONE', insert: 'SITE_MEMBER', update: 'ADMIN', remove: 'ADMIN' },
        });
        // The SDK renames id -> _id, createdDate -> _createdDate, updatedDate -> _updatedDate.
        assert.equal(created._id, 'sdkbooks');
        assert.equal('id' in created, false);
        assert.equal(created.displayName, 'SDK books');
        assert.equal(created.revision, '1');
        assert.equal(created.collectionType, 'NATIVE');
        assert.deepEqual(created.permissions, { read: 'ANYONE', insert: 'SITE_MEMBER', update: 'ADMIN', remove: 'ADMIN' });
        assert.deepEqual(created.fields.map((f: any) => [f.key, f.type]), [
          ['_id', 'TEXT'], ['_createdDate', 'DATETIME'], ['_updatedDate', 'DATETIME'], ['_owner', 'TEXT'], ['title', 'TEXT'],
        ]);
        assert.ok(created._createdDate instanceof Date || typeof created._createdDate === 'string', JSON.stringify(created));
        assert.equal(new Date(created._createdDate).toISOString(), new Date(created._updatedDate).toISOString());

        const got = await c.getDataCollection('sdkbooks');
        assert.equal(got._id, 'sdkbooks');
        assert.equal(got.revision, '1');
        assert.deepEqual(got.fields, created.fields);

        const listed = await c.listDataCollections();
        assert.ok(listed.collections.some((x: any) => x._id === 'sdkbooks'), JSON.stringify(listed));
        assert.equal(typeof listed.pagingMetadata.total, 'number');
        const paged = await c.listDataCollections({ paging: { limit: 1, offset: 0 } });
        assert.equal(paged.collections.length, 1);
        // The one sort the list call has, through the client (it sends sort.fieldName/sort.order).
        const ids = listed.collections.map((x: any) => x._id as string);
        const desc = await c.listDataCollections({ sort: { fieldName: 'id', order: 'DESC' } });
        assert.deepEqual(desc.collections.map((x: any) => x._id), [...ids].sort().reverse());
        const asc = await c.listDataCollections({ sort: { fieldName: 'id', order: 'ASC' } });
        assert.deepEqual(asc.collections.map((x: any) => x._id), [...ids].sort());

        const updated = await c.updateDataCollection({ ...got, displayName: 'Renamed', revision: '1' });
        assert.equal(updated._id, 'sdkbooks');
        assert.equal(updated.displayName, 'Renamed');
        assert.equal(updated.revision, '2');
        assert.deepEqual(updated.fields, got.fields);
        assert.equal(await codeOf(c.updateDataCollection({ ...got, displayName: 'Stale', revision: '1' })), 'WDE0079');

        const withField = await c.createDataCollectionField('sdkbooks', { field: { key: 'pages', type: 'NUMBER' } });
        assert.equal(withField.dataCollection._id, 'sdkbooks');
        assert.deepEqual(withField.dataCollection.fields.at(-1), { key: 'pages', type: 'NUMBER' });
        assert.equal(withField.dataCollection.revision, '3');
        const changedField = await c.updateDataCollectionField('sdkbooks', { field: { key: 'pages', displayName: 'Pages', type: 'TEXT' } });
        assert.deepEqual(changedField.dataCollection.fields.at(-1), { key: 'pages', displayName: 'Pages', type: 'TEXT' });
        const noField = await c.deleteDataCollectionField('sdkbooks', { fieldKey: 'pages' });
        assert.equal(noField.dataCollection.fields.some((f: any) => f.key === 'pages'), false);
        assert.equal(noField.dataCollection.revision, '5');

        // Patch: only the properties given change; the field patch keeps the rest of the field.
        const patched = await c.patchDataCollection('sdkbooks', { displayName: 'Patched', permissions: { read: 'ADMIN', insert: 'ADMIN', update: 'ADMIN', remove: 'ADMIN' } });
        assert.equal(patched.dataCollection.displayName, 'Patched');
        assert.equal(patched.dataCollection.permissions.read, 'ADMIN');
        assert.deepEqual(patched.dataCollection.fields, noField.dataCollection.fields);
        assert.equal(patched.dataCollection.revision, '6');
        const fieldPatched = await c.patchDataCollectionField('sdkbooks', { key: 'title', description: 'The title' });
        assert.deepEqual(fieldPatched.dataCollection.fields.at(-1), { key: 'title', displayName: 'Title', type: 'TEXT', description: 'The title' });
        assert.equal(fieldPatched.dataCollection.revision, '7');
        assert.equal((await c.getDataCollection('sdkbooks')).displayName, 'Patched');
        // Back to what the rest of this test expects.
        await c.patchDataCollection('sdkbooks', { displayName: 'Renamed', permissions: { read: 'ANYONE', insert: 'SITE_MEMBER', update: 'ADMIN', remove: 'ADMIN' } });

        const withPlugin = await c.addDataCollectionPlugin('sdkbooks', { plugin: { type: 'PUBLISH', publishOptions: { defaultStatus: 'PUBLISHED' } } });
        assert.deepEqual(withPlugin.dataCollection.plugins, [{ type: 'PUBLISH', publishOptions: { defaultStatus: 'PUBLISHED' } }]);
        assert.equal(await codeOf(c.addDataCollectionPlugin('sdkbooks', { plugin: { type: 'PUBLISH' } })), 'WDE0075');
        const noPlugin = await c.deleteDataCollectionPlugin('sdkbooks', { pluginType: 'PUBLISH' });
        assert.deepEqual(noPlugin.dataCollection.plugins, []);
        assert.equal(noPlugin.dataCollection.revision, '10');

        assert.equal(await codeOf(c.createDataCollection({ _id: 'sdkbooks', fields: [], permissions: created.permissions })), 'WDE0104');
        assert.equal(await codeOf(c.getDataCollection('nope')), 'WDE0025');

        await c.deleteDataCollection('sdkbooks');
        assert.equal(await codeOf(c.getDataCollection('sdkbooks')), 'WDE0025');
        assert.equal(await codeOf(c.deleteDataCollection('sdkbooks')), 'WDE0025');
      });
    });
  }
}
