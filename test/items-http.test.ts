/**
 * Data items over raw HTTP, for what the published client never sends or never shows: both path
 * prefixes, the REST reference's PUT/DELETE forms, GET/DELETE parameters in the query string or as
 * one `.r`, the reply shapes field by field, error envelopes and statuses, environments, drafts,
 * cursor paging over a whole collection, paging limits, and the per-item size limit.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, call, type TestServer } from './helpers/server.js';

const PREFIXES = ['/wix-data/v2', '/_api/cloud-data/v2'] as const;
const DATA = PREFIXES[0];
type Obj = Record<string, any>;

const dotR = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Asserts a Wix error envelope with this status and code; returns the application error. */
function assertError(r: { status: number; body: any }, status: number, code: string): Obj {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.deepEqual(Object.keys(r.body).sort(), ['details', 'message']);
  assert.deepEqual(Object.keys(r.body.details), ['applicationError']);
  const e = r.body.details.applicationError;
  assert.equal(e.code, code, JSON.stringify(r.body));
  assert.equal(typeof e.description, 'string');
  assert.ok(e.description.length > 0);
  assert.equal(r.body.message, e.description);
  return e;
}

/** Checks a wire DataItem: exactly {id, dataCollectionId, data} with the system fields in data. */
function assertDataItem(d: Obj, collectionId: string, id?: string): void {
  assert.deepEqual(Object.keys(d).sort(), ['data', 'dataCollectionId', 'id']);
  assert.equal(d.dataCollectionId, collectionId);
  if (id !== undefined) assert.equal(d.id, id);
  assert.equal(d.data._id, d.id);
  assert.deepEqual(Object.keys(d.data._createdDate), ['$date']);
  assert.match(d.data._createdDate.$date, ISO);
  assert.deepEqual(Object.keys(d.data._updatedDate), ['$date']);
  assert.match(d.data._updatedDate.$date, ISO);
  assert.equal(typeof d.data._owner, 'string');
}

function user(d: Obj): Obj {
  const { _createdDate, _updatedDate, _owner, ...rest } = d;
  return rest;
}

for (const storeName of STORE_NAMES) {
  describe(`items over HTTP (${storeName})`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(storeName);
    });
    after(() => s.close());

    const api = (method: string, path: string, body?: unknown) => call(s.url, method, path, body);
    const collection = async (id: string, extra: Obj = {}) => {
      const r = await api('POST', `${DATA}/collections`, { collection: { id, ...extra } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    const insertMany = async (c: string, list: Obj[], extra: Obj = {}) => {
      const r = await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: c, dataItems: list.map((data) => ({ data })), ...extra });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.bulkActionMetadata.totalSuccesses, list.length, JSON.stringify(r.body));
    };
    const query = (body: Obj, prefix: string = DATA) => api('POST', `${prefix}/items/query`, body);
    const count = async (c: string, extra: Obj = {}) => {
      const r = await api('POST', `${DATA}/items/count`, { dataCollectionId: c, ...extra });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.totalCount as number;
    };

    for (const prefix of PREFIXES) {
      test(`every item route under ${prefix}, with the reply shapes`, async () => {
        const c = `routes${prefix === DATA ? 'a' : 'b'}`;
        await collection(c);
        const base = `${prefix}/items`;

        // Insert: 200 (never 201), {dataItem} only.
        const ins = await api('POST', base, { dataCollectionId: c, dataItem: { id: 'i1', data: { _id: 'i1', title: 'one', n: 1 } } });
        assert.equal(ins.status, 200, JSON.stringify(ins.body));
        assert.deepEqual(Object.keys(ins.body), ['dataItem']);
        assertDataItem(ins.body.dataItem, c, 'i1');
        assert.deepEqual(user(ins.body.dataItem.data), { _id: 'i1', title: 'one', n: 1 });
        assert.equal(ins.body.dataItem.data._createdDate.$date, ins.body.dataItem.data._updatedDate.$date);
        // The id may come only as dataItem.id, only as data._id, or not at all.
        const outer = await api('POST', base, { dataCollectionId: c, dataItem: { id: 'i2', data: { title: 'two', n: 2 } } });
        assert.equal(outer.body.dataItem.data._id, 'i2');
        const inner = await api('POST', base, { dataCollectionId: c, dataItem: { data: { _id: 'i3', title: 'three', n: 3 } } });
        assert.equal(inner.body.dataItem.id, 'i3');
        const gen = await api('POST', base, { dataCollectionId: c, dataItem: { data: { title: 'generated', n: 4 } } });
        assert.equal(gen.status, 200);
        assert.match(gen.body.dataItem.id, GUID);
        assertDataItem(gen.body.dataItem, c);

        // Get: path id, collection in the query string; also the POST form and the `.r` form.
        const got = await api('GET', `${base}/i1?dataCollectionId=${c}&dataItemId=i1`);
        assert.equal(got.status, 200, JSON.stringify(got.body));
        assert.deepEqual(got.body, ins.body);
        const gotR = await api('GET', `${base}/i1?.r=${dotR({ dataCollectionId: c, dataItemId: 'i1' })}`);
        assert.deepEqual(gotR.body, ins.body);
        const gotPost = await api('POST', `${base}/get`, { dataCollectionId: c, dataItemId: 'i1' });
        assert.deepEqual(gotPost.body, ins.body);
        // The path id wins over one repeated in the query string.
        const pathWins = await api('GET', `${base}/i2?dataCollectionId=${c}&dataItemId=i1`);
        assert.equal(pathWins.body.dataItem.id, 'i2');
        // Projection on get.
        const projected = await api('GET', `${base}/i1?.r=${dotR({ dataCollectionId: c, dataItemId: 'i1', fields: ['title'] })}`);
        assert.deepEqual(projected.body.dataItem.data, { _id: 'i1', title: 'one' });

        // Update: PUT /items/{id} and POST /items/update, full replace.
        const put = await api('PUT', `${base}/i1`, { dataCollectionId: c, dataItem: { id: 'i1', data: { title: 'one (put)' } } });
        assert.equal(put.status, 200, JSON.stringify(put.body));
        assert.deepEqual(Object.keys(put.body), ['dataItem']);
        assertDataItem(put.body.dataItem, c, 'i1');
        assert.deepEqual(user(put.body.dataItem.data), { _id: 'i1', title: 'one (put)' });
        assert.equal(put.body.dataItem.data._createdDate.$date, ins.body.dataItem.data._createdDate.$date);
        assert.ok(put.body.dataItem.data._updatedDate.$date >= ins.body.dataItem.data._updatedDate.$date);
        // PUT with the id only in the path.
        const putPathOnly = await api('PUT', `${base}/i2`, { dataCollectionId: c, dataItem: { data: { title: 'two (put)' } } });
        assert.equal(putPathOnly.status, 200, JSON.stringify(putPathOnly.body));
        assert.deepEqual(user(putPathOnly.body.dataItem.data), { _id: 'i2', title: 'two (put)' });
        // A body naming another item than the path is refused; neither item changes.
        assertError(await api('PUT', `${base}/i1`, { dataCollectionId: c, dataItem: { id: 'i2', data: { title: 'wrong' } } }), 400, 'WDE0075');
        assertError(await api('PUT', `${base}/i1`, { dataCollectionId: c, dataItem: { data: { _id: 'i2', title: 'wrong' } } }), 400, 'WDE0075');
        const unchanged = await api('POST', `${base}/query`, { dataCollectionId: c, query: { filter: { title: 'wrong' } } });
        assert.deepEqual(unchanged.body.dataItems, []);
        const upd = await api('POST', `${base}/update`, { dataCollectionId: c, dataItem: { id: 'i3', data: { _id: 'i3', title: 'three (post)' } } });
        assert.equal(upd.status, 200, JSON.stringify(upd.body));
        assert.deepEqual(user(upd.body.dataItem.data), { _id: 'i3', title: 'three (post)' });

        // Save: {action, dataItem}.
        const saveNew = await api('POST', `${base}/save`, { dataCollectionId: c, dataItem: { data: { _id: 'i5', v: 1 } } });
        assert.equal(saveNew.status, 200);
        assert.deepEqual(Object.keys(saveNew.body).sort(), ['action', 'dataItem']);
        assert.equal(saveNew.body.action, 'INSERTED');
        assertDataItem(saveNew.body.dataItem, c, 'i5');
        const saveOld = await api('POST', `${base}/save`, { dataCollectionId: c, dataItem: { data: { _id: 'i5', v: 2 } } });
        assert.equal(saveOld.body.action, 'UPDATED');
        assert.deepEqual(user(saveOld.body.dataItem.data), { _id: 'i5', v: 2 });
        assert.equal(saveOld.body.dataItem.data._createdDate.$date, saveNew.body.dataItem.data._createdDate.$date);

        // Query: POST body and GET `.r` give the same reply.
        const qBody = {
          dataCollectionId: c,
          query: { filter: { _id: { $in: ['i1', 'i2', 'i3'] } }, sort: [{ fieldName: 'title', order: 'DESC' }], paging: { limit: 2, offset: 0 }, fields: [] },
          returnTotalCount: true,
        };
        const qPost = await query(qBody, prefix);
        assert.equal(qPost.status, 200, JSON.stringify(qPost.body));
        assert.deepEqual(Object.keys(qPost.body).sort(), ['dataItems', 'pagingMetadata']);
        assert.deepEqual(qPost.body.dataItems.map((d: Obj) => d.id), ['i2', 'i3']);
        qPost.body.dataItems.forEach((d: Obj) => assertDataItem(d, c));
        assert.deepEqual(qPost.body.pagingMetadata, { count: 2, offset: 0, total: 3, tooManyToCount: false, hasNext: true, cursors: {} });
        const qGet = await api('GET', `${base}/query?.r=${dotR(qBody)}`);
        assert.equal(qGet.status, 200, JSON.stringify(qGet.body));
        assert.deepEqual(qGet.body, qPost.body);
        // Query-string form of a GET query (dotted keys).
        const qDotted = await api('GET', `${base}/query?dataCollectionId=${c}&query.paging.limit=1&query.paging.offset=2&returnTotalCount=true`);
        assert.equal(qDotted.status, 200, JSON.stringify(qDotted.body));
        assert.equal(qDotted.body.dataItems.length, 1);
        assert.deepEqual(qDotted.body.pagingMetadata, { count: 1, offset: 2, total: 5, tooManyToCount: false, hasNext: true, cursors: {} });

        // Count.
        const cnt = await api('POST', `${base}/count`, { dataCollectionId: c, filter: { n: { $gte: 2 } } });
        assert.equal(cnt.status, 200);
        assert.deepEqual(cnt.body, { totalCount: 1 });

        // Remove: DELETE with query string, DELETE with `.r`, POST /items/remove. Replies hold the removed item.
        const del = await api('DELETE', `${base}/i1?dataCollectionId=${c}`);
        assert.equal(del.status, 200, JSON.stringify(del.body));
        assert.deepEqual(Object.keys(del.body), ['dataItem']);
        assertDataItem(del.body.dataItem, c, 'i1');
        assert.equal(del.body.dataItem.data.title, 'one (put)');
        const delR = await api('DELETE', `${base}/i2?.r=${dotR({ dataCollectionId: c, dataItemId: 'i2' })}`);
        assert.equal(delR.status, 200, JSON.stringify(delR.body));
        assert.equal(delR.body.dataItem.id, 'i2');
        const rem = await api('POST', `${base}/remove`, { dataCollectionId: c, dataItemId: 'i3' });
        assert.equal(rem.status, 200);
        assert.equal(rem.body.dataItem.id, 'i3');
        assertError(await api('GET', `${base}/i1?dataCollectionId=${c}`), 404, 'WDE0073');

        // Truncate: {}.
        const tr = await api('POST', `${base}/truncate`, { dataCollectionId: c });
        assert.equal(tr.status, 200);
        assert.deepEqual(tr.body, {});
        const empty = await query({ dataCollectionId: c }, prefix);
        assert.deepEqual(empty.body, { dataItems: [], pagingMetadata: { count: 0, offset: 0, hasNext: false, cursors: {} } });
      });
    }

    test('ids with spaces, slashes and non-ASCII characters go through the path', async () => {
      await collection('oddids');
      const odd = ['a b', 'ä/ö?x=1', 'id#hash', '💾'];
      for (const id of odd) {
        const r = await api('POST', `${DATA}/items`, { dataCollectionId: 'oddids', dataItem: { data: { _id: id, v: id } } });
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
      for (const id of odd) {
        const g = await api('GET', `${DATA}/items/${encodeURIComponent(id)}?dataCollectionId=oddids`);
        assert.equal(g.status, 200, `${id}: ${JSON.stringify(g.body)}`);
        assert.equal(g.body.dataItem.data.v, id);
        const d = await api('DELETE', `${DATA}/items/${encodeURIComponent(id)}?.r=${dotR({ dataCollectionId: 'oddids' })}`);
        assert.equal(d.status, 200);
        assert.equal(d.body.dataItem.id, id);
      }
      assert.equal(await count('oddids'), 0);
    });

    test('dates travel as {"$date": ISO} both ways, at any depth, normalised', async () => {
      await collection('wiredates');
      const r = await api('POST', `${DATA}/items`, {
        dataCollectionId: 'wiredates',
        dataItem: {
          data: {
            _id: 'd',
            at: { $date: '2020-01-02T03:04:05Z' },
            deep: { list: [{ when: { $date: '2020-01-02T03:04:05.6+01:00' } }, [{ $date: '1970-01-01T00:00:00.000Z' }]] },
            // Creation and update dates are the server's, whatever the caller sends.
            _createdDate: { $date: '2000-01-01T00:00:00.000Z' },
            _updatedDate: { $date: '2000-01-01T00:00:00.000Z' },
          },
        },
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const data = r.body.dataItem.data;
      assert.deepEqual(data.at, { $date: '2020-01-02T03:04:05.000Z' });
      assert.deepEqual(data.deep, { list: [{ when: { $date: '2020-01-02T02:04:05.600Z' } }, [{ $date: '1970-01-01T00:00:00.000Z' }]] });
      assert.notEqual(data._createdDate.$date, '2000-01-01T00:00:00.000Z');
      assert.notEqual(data._updatedDate.$date, '2000-01-01T00:00:00.000Z');
      const g = await api('GET', `${DATA}/items/d?dataCollectionId=wiredates`);
      assert.deepEqual(g.body.dataItem.data, data);
      // Filters on a nested date compare as dates.
      const q = await query({ dataCollectionId: 'wiredates', query: { filter: { at: { $gt: { $date: '2020-01-02T03:04:04.999Z' } } } } });
      assert.deepEqual(q.body.dataItems.map((d: Obj) => d.id), ['d']);
      const q2 = await query({ dataCollectionId: 'wiredates', query: { filter: { at: { $gt: { $date: '2020-01-02T03:04:05.000Z' } } } } });
      assert.deepEqual(q2.body.dataItems, []);
      // An unparsable date is refused, nothing written.
      assertError(await api('POST', `${DATA}/items`, { dataCollectionId: 'wiredates', dataItem: { data: { _id: 'bad', at: { $date: 'yesterday' } } } }), 400, 'WDE0075');
      assertError(await api('GET', `${DATA}/items/bad?dataCollectionId=wiredates`), 404, 'WDE0073');
    });

    test('errors: envelopes and statuses for unknown collection, missing and duplicate items', async () => {
      await collection('errs');
      await api('POST', `${DATA}/items`, { dataCollectionId: 'errs', dataItem: { data: { _id: 'x' } } });

      for (const [method, path, body] of [
        ['POST', '/items', { dataCollectionId: 'ghost', dataItem: { data: {} } }],
        ['GET', '/items/x?dataCollectionId=ghost', undefined],
        ['PUT', '/items/x', { dataCollectionId: 'ghost', dataItem: { data: {} } }],
        ['POST', '/items/update', { dataCollectionId: 'ghost', dataItem: { id: 'x', data: {} } }],
        ['POST', '/items/save', { dataCollectionId: 'ghost', dataItem: { data: {} } }],
        ['DELETE', '/items/x?dataCollectionId=ghost', undefined],
        ['POST', '/items/remove', { dataCollectionId: 'ghost', dataItemId: 'x' }],
        ['POST', '/items/truncate', { dataCollectionId: 'ghost' }],
        ['POST', '/items/query', { dataCollectionId: 'ghost' }],
        ['GET', `/items/query?.r=${dotR({ dataCollectionId: 'ghost' })}`, undefined],
        ['POST', '/items/count', { dataCollectionId: 'ghost' }],
      ] as const) {
        const e = assertError(await api(method, `${PREFIXES[1]}${path}`, body), 404, 'WDE0025');
        assert.deepEqual(e.data, { collectionId: 'ghost' }, `${method} ${path}`);
      }

      const dup = assertError(await api('POST', `${DATA}/items`, { dataCollectionId: 'errs', dataItem: { data: { _id: 'x', v: 2 } } }), 409, 'WDE0074');
      assert.deepEqual(dup.data, { itemId: 'x', collectionId: 'errs' });
      const g = await api('GET', `${DATA}/items/x?dataCollectionId=errs`);
      assert.equal(g.body.dataItem.data.v, undefined);

      for (const [method, path, body] of [
        ['GET', '/items/nope?dataCollectionId=errs', undefined],
        ['POST', '/items/get', { dataCollectionId: 'errs', dataItemId: 'nope' }],
        ['PUT', '/items/nope', { dataCollectionId: 'errs', dataItem: { data: { v: 1 } } }],
        ['POST', '/items/update', { dataCollectionId: 'errs', dataItem: { id: 'nope', data: { v: 1 } } }],
        ['DELETE', '/items/nope?dataCollectionId=errs', undefined],
        ['POST', '/items/remove', { dataCollectionId: 'errs', dataItemId: 'nope' }],
      ] as const) {
        const e = assertError(await api(method, `${DATA}${path}`, body), 404, 'WDE0073');
        assert.deepEqual(e.data, { itemId: 'nope', collectionId: 'errs' }, `${method} ${path}`);
      }
      assert.equal(await count('errs'), 1);

      // Request-shape errors.
      assertError(await api('POST', `${DATA}/items`, { dataItem: { data: {} } }), 400, 'WDE0001');
      assertError(await api('POST', `${DATA}/items`, { dataCollectionId: 'errs', dataItem: 'nope' }), 400, 'WDE0004');
      assertError(await api('POST', `${DATA}/items`, { dataCollectionId: 'errs', dataItem: { id: 'a', data: { _id: 'b' } } }), 400, 'WDE0075');
      assertError(await api('POST', `${DATA}/items`, { dataCollectionId: 'errs', dataItem: { data: { _id: 7 } } }), 400, 'WDE0002');
      assertError(await api('POST', `${DATA}/items/update`, { dataCollectionId: 'errs', dataItem: { data: { v: 1 } } }), 400, 'WDE0007');
      assertError(await api('POST', `${DATA}/items`, { dataCollectionId: 'errs', dataItem: { data: { $bad: 1 } } }), 400, 'WDE0134');
      assertError(await api('GET', `${DATA}/items/query?.r=not-base64-json`), 400, 'WDE0080');
      assertError(await api('POST', `${DATA}/items`, '{"dataCollectionId": '), 400, 'WDE0080');
      assert.equal(await count('errs'), 1);
    });

    test('environments: SANDBOX off until enabled, separate once on; SANDBOX_PREFERRED falls back to LIVE', async () => {
      await collection('sbx');
      await insertMany('sbx', [{ _id: 'l1', v: 'live' }, { _id: 'l2', v: 'live' }]);
      const inEnv = (environment: string | undefined, extra: Obj = {}) => ({ dataCollectionId: 'sbx', environment, ...extra });
      const idsIn = async (environment: string | undefined) =>
        (await query(inEnv(environment, { query: { sort: [{ fieldName: '_id' }] } }))).body.dataItems.map((d: Obj) => d.id);

      // Off: SANDBOX is refused for reads and writes, and nothing is written.
      for (const [method, path, body] of [
        ['POST', '/items', inEnv('SANDBOX', { dataItem: { data: { _id: 's1' } } })],
        ['POST', '/items/query', inEnv('SANDBOX')],
        ['POST', '/items/count', inEnv('SANDBOX')],
        ['GET', `/items/l1?.r=${dotR(inEnv('SANDBOX'))}`, undefined],
        ['DELETE', `/items/l1?dataCollectionId=sbx&environment=SANDBOX`, undefined],
        ['POST', '/items/truncate', inEnv('SANDBOX')],
      ] as const) {
        const e = assertError(await api(method, `${DATA}${path}`, body), 400, 'WDE0119');
        assert.deepEqual(e.data, { collectionId: 'sbx' });
      }
      assert.deepEqual(await idsIn('LIVE'), ['l1', 'l2']);
      // SANDBOX_PREFERRED without a sandbox reads and writes LIVE.
      assert.deepEqual(await idsIn('SANDBOX_PREFERRED'), ['l1', 'l2']);
      const pref = await api('POST', `${DATA}/items`, inEnv('SANDBOX_PREFERRED', { dataItem: { data: { _id: 'l3', v: 'live' } } }));
      assert.equal(pref.status, 200);
      assert.deepEqual(await idsIn('LIVE'), ['l1', 'l2', 'l3']);
      assertError(await api('POST', `${DATA}/items/query`, inEnv('STAGING')), 400, 'WDE0075');

      // Enabling copies LIVE into the sandbox.
      const on = await api('POST', '/cairn/v1/collections/sbx/sandbox', { enabled: true });
      assert.equal(on.status, 200, JSON.stringify(on.body));
      assert.deepEqual(await idsIn('SANDBOX'), ['l1', 'l2', 'l3']);
      const s1 = await api('POST', `${PREFIXES[1]}/items`, inEnv('SANDBOX', { dataItem: { data: { _id: 's1', v: 'sandbox' } } }));
      assert.equal(s1.status, 200);
      assert.equal(s1.body.dataItem.dataCollectionId, 'sbx');
      const put = await api('PUT', `${DATA}/items/l1`, inEnv('SANDBOX', { dataItem: { data: { v: 'sandbox edit' } } }));
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const del = await api('DELETE', `${DATA}/items/l2?.r=${dotR(inEnv('SANDBOX'))}`);
      assert.equal(del.status, 200, JSON.stringify(del.body));
      assert.deepEqual(await idsIn('SANDBOX'), ['l1', 'l3', 's1']);
      assert.deepEqual(await idsIn('SANDBOX_PREFERRED'), ['l1', 'l3', 's1']);
      assert.deepEqual(await idsIn('LIVE'), ['l1', 'l2', 'l3']);
      assert.deepEqual(await idsIn(undefined), ['l1', 'l2', 'l3']);
      const liveL1 = await api('GET', `${DATA}/items/l1?dataCollectionId=sbx`);
      assert.equal(liveL1.body.dataItem.data.v, 'live');
      const sbL1 = await api('GET', `${DATA}/items/l1?dataCollectionId=sbx&environment=SANDBOX`);
      assert.equal(sbL1.body.dataItem.data.v, 'sandbox edit');
      assertError(await api('GET', `${DATA}/items/s1?dataCollectionId=sbx`), 404, 'WDE0073');
      assert.equal(await count('sbx', { environment: 'SANDBOX' }), 3);
      assert.equal(await count('sbx'), 3);

      // A cursor from one environment is refused in the other.
      const page = await query(inEnv('SANDBOX', { query: { cursorPaging: { limit: 1 } } }));
      const cursor = page.body.pagingMetadata.cursors.next;
      assert.equal(typeof cursor, 'string');
      assertError(await query(inEnv('LIVE', { query: { cursorPaging: { cursor } } })), 400, 'WDE0165');
      const follow = await query(inEnv('SANDBOX', { query: { cursorPaging: { cursor } } }));
      assert.equal(follow.status, 200);

      // Truncating the sandbox leaves LIVE alone; disabling drops the sandbox.
      const tr = await api('POST', `${DATA}/items/truncate`, inEnv('SANDBOX'));
      assert.equal(tr.status, 200);
      assert.equal(await count('sbx', { environment: 'SANDBOX' }), 0);
      assert.equal(await count('sbx'), 3);
      await api('POST', `${DATA}/items`, inEnv('SANDBOX', { dataItem: { data: { _id: 's2' } } }));
      const off = await api('POST', '/cairn/v1/collections/sbx/sandbox', { enabled: false });
      assert.equal(off.status, 200);
      assertError(await query(inEnv('SANDBOX')), 400, 'WDE0119');
      assert.deepEqual(await idsIn('SANDBOX_PREFERRED'), ['l1', 'l2', 'l3']);
      // Re-enabling starts again from LIVE: s2 is gone.
      await api('POST', '/cairn/v1/collections/sbx/sandbox', { enabled: true });
      assert.deepEqual(await idsIn('SANDBOX'), ['l1', 'l2', 'l3']);
      assertError(await api('POST', '/cairn/v1/collections/ghost/sandbox', { enabled: true }), 404, 'WDE0025');
    });

    test('publish plugin: drafts hidden unless publishPluginOptions.includeDraftItems', async () => {
      await collection('drafts', { plugins: [{ type: 'PUBLISH', publishOptions: { defaultStatus: 'DRAFT' } }] });
      await collection('nodrafts');
      // New items are drafts; the reply shows the status.
      const ins = await api('POST', `${DATA}/items`, { dataCollectionId: 'drafts', dataItem: { data: { _id: 'd1', n: 1, _publishStatus: 'PUBLISHED' } } });
      assert.equal(ins.status, 200);
      assert.equal(ins.body.dataItem.data._publishStatus, 'DRAFT');
      await insertMany('drafts', [{ _id: 'd2', n: 2 }, { _id: 'd3', n: 3 }]);
      const task = await api('POST', '/cms/v1/tasks', {
        task: { type: 'UPDATE_PUBLISH_STATUS', updatePublishStatusOptions: { dataCollectionId: 'drafts', operation: 'SET_PUBLISHED_STATUS', filter: { _id: 'd1' } } },
      });
      assert.equal(task.status, 200, JSON.stringify(task.body));
      await s.cairn.runner!.whenIdle();

      const incl = { publishPluginOptions: { includeDraftItems: true } };
      const ids = async (extra: Obj = {}) =>
        (await query({ dataCollectionId: 'drafts', query: { sort: [{ fieldName: '_id' }] }, ...extra })).body.dataItems.map((d: Obj) => [d.id, d.data._publishStatus]);
      assert.deepEqual(await ids(), [['d1', 'PUBLISHED']]);
      assert.deepEqual(await ids(incl), [['d1', 'PUBLISHED'], ['d2', 'DRAFT'], ['d3', 'DRAFT']]);
      assert.deepEqual(await ids({ publishPluginOptions: { includeDraftItems: false } }), [['d1', 'PUBLISHED']]);
      // The older option name.
      assert.deepEqual((await ids({ options: { publishPluginOptions: { showDraftItems: true } } })).length, 3);
      // GET `.r` and query string carry the option too.
      const getR = await api('GET', `${DATA}/items/query?.r=${dotR({ dataCollectionId: 'drafts', ...incl })}`);
      assert.equal(getR.body.dataItems.length, 3);
      assertError(await api('GET', `${DATA}/items/d2?dataCollectionId=drafts`), 404, 'WDE0073');
      const g2 = await api('GET', `${DATA}/items/d2?dataCollectionId=drafts&publishPluginOptions.includeDraftItems=true`);
      assert.equal(g2.status, 200, JSON.stringify(g2.body));
      assert.equal(g2.body.dataItem.data._publishStatus, 'DRAFT');
      const g2r = await api('GET', `${DATA}/items/d2?.r=${dotR({ dataCollectionId: 'drafts', ...incl })}`);
      assert.equal(g2r.status, 200);
      assert.equal(await count('drafts'), 1);
      assert.equal(await count('drafts', incl), 3);
      // Cursor pages use each request's own draft option.
      const first = await query({ dataCollectionId: 'drafts', query: { cursorPaging: { limit: 1 }, sort: [{ fieldName: '_id' }] }, ...incl });
      assert.equal(first.body.pagingMetadata.hasNext, true);
      const next = await query({ dataCollectionId: 'drafts', query: { cursorPaging: { cursor: first.body.pagingMetadata.cursors.next } }, ...incl });
      assert.deepEqual(next.body.dataItems.map((d: Obj) => d.id), ['d2']);
      // Writes to drafts need the option too.
      assertError(await api('PUT', `${DATA}/items/d2`, { dataCollectionId: 'drafts', dataItem: { data: { n: 20 } } }), 404, 'WDE0073');
      const put = await api('PUT', `${DATA}/items/d2`, { dataCollectionId: 'drafts', dataItem: { data: { n: 20 } }, ...incl });
      assert.equal(put.status, 200);
      assert.equal(put.body.dataItem.data._publishStatus, 'DRAFT');
      assertError(await api('DELETE', `${DATA}/items/d3?dataCollectionId=drafts`), 404, 'WDE0073');
      const del = await api('DELETE', `${DATA}/items/d3?.r=${dotR({ dataCollectionId: 'drafts', ...incl })}`);
      assert.equal(del.status, 200, JSON.stringify(del.body));
      assert.equal(await count('drafts', incl), 2);
      // Without the plugin there are no drafts and no _publishStatus.
      await api('POST', `${DATA}/items`, { dataCollectionId: 'nodrafts', dataItem: { data: { _id: 'n1' } } });
      const plain = await query({ dataCollectionId: 'nodrafts' });
      assert.equal(plain.body.dataItems.length, 1);
      assert.equal('_publishStatus' in plain.body.dataItems[0].data, false);
      assertError(await query({ dataCollectionId: 'drafts', publishPluginOptions: { includeDraftItems: 'yes' } }), 400, 'WDE0080');
    });

    describe('paging', () => {
      const N = 257;
      before(async () => {
        await collection('pages');
        await insertMany(
          'pages',
          Array.from({ length: N }, (_, i) => ({ _id: `k${String(i).padStart(3, '0')}`, g: i % 5, n: (i * 37) % 101, nested: { d: { $date: new Date(Date.UTC(2020, 0, 1) + i * 3_600_000).toISOString() } } })),
        );
      });

      const walkCursor = async (first: Obj, via: 'POST' | 'GET' = 'POST') => {
        const seen: string[] = [];
        const r0 = await query({ dataCollectionId: 'pages', ...first });
        assert.equal(r0.status, 200, JSON.stringify(r0.body));
        let page = r0.body;
        let pages = 1;
        for (;;) {
          const meta = page.pagingMetadata;
          assert.equal(typeof meta.hasNext, 'boolean');
          assert.equal(meta.count, page.dataItems.length);
          assert.equal('total' in meta, false);
          assert.equal('offset' in meta, false);
          seen.push(...page.dataItems.map((d: Obj) => d.id));
          assert.equal(meta.hasNext, typeof meta.cursors.next === 'string');
          if (!meta.hasNext) break;
          if (pages > 1) assert.equal(typeof meta.cursors.prev, 'string');
          // The follow-up sends only the cursor (and the limit), as the SDK does.
          const body = { dataCollectionId: 'pages', query: { cursorPaging: { cursor: meta.cursors.next } } };
          const r = via === 'POST' ? await query(body) : await api('GET', `${DATA}/items/query?.r=${dotR(body)}`);
          assert.equal(r.status, 200, JSON.stringify(r.body));
          page = r.body;
          pages++;
          assert.ok(pages < 400, 'cursor paging does not end');
        }
        return { seen, pages };
      };

      test('cursor paging over the whole collection returns every item exactly once', async () => {
        const all = await walkCursor({ query: { cursorPaging: { limit: 100 } } });
        assert.equal(all.pages, 3);
        assert.equal(all.seen.length, N);
        assert.equal(new Set(all.seen).size, N);

        // Filter, sort and projection are carried by the cursor.
        const filtered = await walkCursor(
          {
            query: {
              filter: { g: { $in: [1, 3] } },
              sort: [{ fieldName: 'n', order: 'DESC' }, { fieldName: 'g', order: 'ASC' }],
              fields: ['n'],
              cursorPaging: { limit: 7 },
            },
          },
          'GET',
        );
        const expected = Array.from({ length: N }, (_, i) => i)
          .filter((i) => i % 5 === 1 || i % 5 === 3)
          .sort((a, b) => ((b * 37) % 101) - ((a * 37) % 101) || (a % 5) - (b % 5) || a - b)
          .map((i) => `k${String(i).padStart(3, '0')}`);
        assert.deepEqual(filtered.seen, expected);
        assert.equal(filtered.pages, Math.ceil(expected.length / 7));

        // A follow-up's own filter and sort are ignored; its limit changes the page size.
        const r0 = await query({ dataCollectionId: 'pages', query: { filter: { g: 0 }, sort: [{ fieldName: '_id', order: 'DESC' }], fields: ['g'], cursorPaging: { limit: 2 } } });
        assert.deepEqual(r0.body.dataItems.map((d: Obj) => d.data), [{ _id: 'k255', g: 0 }, { _id: 'k250', g: 0 }]);
        const r1 = await query({ dataCollectionId: 'pages', query: { filter: { g: 4 }, sort: [], cursorPaging: { limit: 3, cursor: r0.body.pagingMetadata.cursors.next } } });
        assert.deepEqual(r1.body.dataItems.map((d: Obj) => d.data), [{ _id: 'k245', g: 0 }, { _id: 'k240', g: 0 }, { _id: 'k235', g: 0 }]);
        // prev goes back.
        const back = await query({ dataCollectionId: 'pages', query: { cursorPaging: { cursor: r1.body.pagingMetadata.cursors.prev } } });
        assert.deepEqual(back.body.dataItems.map((d: Obj) => d.id), ['k255', 'k250', 'k245']);
        // Bad cursors.
        assertError(await query({ dataCollectionId: 'pages', query: { cursorPaging: { cursor: 'garbage!' } } }), 400, 'WDE0165');
        await collection('pages2');
        assertError(await query({ dataCollectionId: 'pages2', query: { cursorPaging: { cursor: r0.body.pagingMetadata.cursors.next } } }), 400, 'WDE0165');
      });

      test('offset paging: default 50, hasNext always set, total only when asked', async () => {
        const d = await query({ dataCollectionId: 'pages' });
        assert.equal(d.body.dataItems.length, 50);
        assert.deepEqual(d.body.pagingMetadata, { count: 50, offset: 0, hasNext: true, cursors: {} });
        // Default order: newest first; bulk insert gives one _createdDate, so _id breaks the tie.
        assert.equal(d.body.dataItems[0].id, 'k000');
        const last = await query({ dataCollectionId: 'pages', query: { paging: { limit: 1000, offset: 200 } }, returnTotalCount: true });
        assert.deepEqual(last.body.pagingMetadata, { count: N - 200, offset: 200, total: N, tooManyToCount: false, hasNext: false, cursors: {} });
        const exact = await query({ dataCollectionId: 'pages', query: { paging: { limit: 57, offset: 200 } } });
        assert.equal(exact.body.pagingMetadata.hasNext, false);
        assert.equal(exact.body.pagingMetadata.count, 57);
        const beyond = await query({ dataCollectionId: 'pages', query: { paging: { limit: 10, offset: 10_000 } }, returnTotalCount: true });
        assert.deepEqual(beyond.body, { dataItems: [], pagingMetadata: { count: 0, offset: 10_000, total: N, tooManyToCount: false, hasNext: false, cursors: {} } });
        // Walking offset pages sees each item once.
        const seen = new Set<string>();
        for (let offset = 0, more = true; more; offset += 60) {
          const r = await query({ dataCollectionId: 'pages', query: { sort: [{ fieldName: 'n' }], paging: { limit: 60, offset } } });
          r.body.dataItems.forEach((x: Obj) => seen.add(x.id));
          more = r.body.pagingMetadata.hasNext;
        }
        assert.equal(seen.size, N);
      });

      test('limits: 1000 offset / 100 cursor; above is 400 WDE0036; negative and fractional refused', async () => {
        const ok1000 = await query({ dataCollectionId: 'pages', query: { paging: { limit: 1000 } } });
        assert.equal(ok1000.status, 200);
        assert.equal(ok1000.body.dataItems.length, N);
        const ok100 = await query({ dataCollectionId: 'pages', query: { cursorPaging: { limit: 100 } } });
        assert.equal(ok100.status, 200);
        assert.equal(ok100.body.dataItems.length, 100);
        assertError(await query({ dataCollectionId: 'pages', query: { paging: { limit: 1001 } } }), 400, 'WDE0036');
        assertError(await query({ dataCollectionId: 'pages', query: { cursorPaging: { limit: 101 } } }), 400, 'WDE0036');
        assertError(await query({ dataCollectionId: 'pages', query: { cursorPaging: { limit: 101, cursor: ok100.body.pagingMetadata.cursors.next } } }), 400, 'WDE0036');
        assertError(await api('GET', `${DATA}/items/query?dataCollectionId=pages&query.paging.limit=1001`), 400, 'WDE0036');
        assertError(await api('GET', `${DATA}/items/query?.r=${dotR({ dataCollectionId: 'pages', query: { cursorPaging: { limit: 101 } } })}`), 400, 'WDE0036');
        assertError(await query({ dataCollectionId: 'pages', query: { paging: { limit: -1 } } }), 400, 'WDE0034');
        assertError(await query({ dataCollectionId: 'pages', query: { paging: { offset: -5 } } }), 400, 'WDE0034');
        assertError(await query({ dataCollectionId: 'pages', query: { paging: { limit: 2.5 } } }), 400, 'WDE0035');
        assertError(await query({ dataCollectionId: 'pages', query: { paging: { limit: 5 }, cursorPaging: { limit: 5 } } }), 400, 'WDE0080');
      });

      test('limit 0 answers an empty page with no next page, so a pager cannot loop', async () => {
        const off = await query({ dataCollectionId: 'pages', query: { paging: { limit: 0, offset: 3 } }, returnTotalCount: true });
        assert.equal(off.status, 200, JSON.stringify(off.body));
        assert.deepEqual(off.body, { dataItems: [], pagingMetadata: { count: 0, offset: 3, total: N, tooManyToCount: false, hasNext: false, cursors: {} } });
        const cur = await query({ dataCollectionId: 'pages', query: { cursorPaging: { limit: 0 } } });
        assert.equal(cur.status, 200, JSON.stringify(cur.body));
        assert.deepEqual(cur.body, { dataItems: [], pagingMetadata: { count: 0, hasNext: false, cursors: {} } });
        // A cursor followed with limit 0 stops there too (no next, no prev that repeats it).
        const p1 = await query({ dataCollectionId: 'pages', query: { cursorPaging: { limit: 10 } } });
        const zero = await query({ dataCollectionId: 'pages', query: { cursorPaging: { limit: 0, cursor: p1.body.pagingMetadata.cursors.next } } });
        assert.equal(zero.status, 200);
        assert.deepEqual(zero.body, { dataItems: [], pagingMetadata: { count: 0, hasNext: false, cursors: {} } });
      });
    });

    test('items over 512 KB are refused with WDE0009 and nothing is written', async () => {
      await collection('big');
      const limit = 512 * 1024;
      // Just under: fits with the system fields.
      const fits = await api('POST', `${DATA}/items`, { dataCollectionId: 'big', dataItem: { data: { _id: 'ok', s: 'x'.repeat(limit - 400) } } });
      assert.equal(fits.status, 200, JSON.stringify(fits.body).slice(0, 300));
      // Over by a little (multi-byte characters count as their UTF-8 bytes).
      const tooBig = { _id: 'big', s: 'é'.repeat(limit / 2) };
      const e = assertError(await api('POST', `${DATA}/items`, { dataCollectionId: 'big', dataItem: { data: tooBig } }), 400, 'WDE0009');
      assert.equal(e.data.itemId, 'big');
      assertError(await api('GET', `${DATA}/items/big?dataCollectionId=big`), 404, 'WDE0073');
      assertError(await api('POST', `${DATA}/items/save`, { dataCollectionId: 'big', dataItem: { data: tooBig } }), 400, 'WDE0009');
      assertError(await api('GET', `${DATA}/items/big?dataCollectionId=big`), 404, 'WDE0073');
      // Update or save of an existing item past the limit leaves it as it was.
      const small = await api('POST', `${DATA}/items`, { dataCollectionId: 'big', dataItem: { data: { _id: 'small', v: 1 } } });
      assert.equal(small.status, 200);
      assertError(await api('PUT', `${DATA}/items/small`, { dataCollectionId: 'big', dataItem: { data: { v: 2, s: 'y'.repeat(limit) } } }), 400, 'WDE0009');
      assertError(await api('POST', `${DATA}/items/save`, { dataCollectionId: 'big', dataItem: { data: { _id: 'small', v: 3, s: 'y'.repeat(limit) } } }), 400, 'WDE0009');
      const still = await api('GET', `${DATA}/items/small?dataCollectionId=big`);
      assert.deepEqual(still.body, small.body);
      assert.equal(await count('big'), 2);
    });
  });
}
