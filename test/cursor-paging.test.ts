/**
 * Cursor paging over HTTP: a next cursor carries the last row's sort values (a keyset), so the
 * next page starts right after that row whatever happened before it meanwhile. Pages followed to
 * the end give every item once, in order; items removed from pages already read shift nothing;
 * a forged or mangled cursor is a 400; cursors written before keysets (offset only) still work.
 * query-differential.test.ts holds keyset pages to the evaluator's order for random filters and
 * sorts; this file pins the behaviour a client sees.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, call, type TestServer } from './helpers/server.js';

const DATA = '/wix-data/v2';

const decode = (cursor: string) => JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>;
const encode = (state: unknown) => Buffer.from(JSON.stringify(state)).toString('base64url');

for (const storeName of STORE_NAMES) {
  describe(`cursor paging (${storeName})`, () => {
    let s: TestServer;
    const api = (method: string, path: string, body?: unknown) => call(s.url, method, path, body);
    const query = (body: unknown) => api('POST', `${DATA}/items/query`, body);

    before(async () => {
      s = await startServer(storeName, { runner: false });
      assert.equal((await api('POST', `${DATA}/collections`, { collection: { id: 'pages' } })).status, 200);
      // Values of every kind on the sort field, with ties, so the keyset crosses types and ties.
      const values: unknown[] = [3, 1, 2, 2, 2.5, -1, 'b', 'a', 'a', 'B', true, false, null, { $date: '2024-01-01T00:00:00.000Z' }, ['x'], { o: 1 }];
      const dataItems = Array.from({ length: 48 }, (_, i) => {
        const data: Record<string, unknown> = { _id: `i${String(i).padStart(2, '0')}`, n: i };
        if (i % 17 !== 16) data.v = values[i % values.length];
        return { data };
      });
      const r = await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'pages', dataItems });
      assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
    });
    after(() => s.close());

    /** Every id, following next cursors from the first request until there is none. */
    async function followAll(first: Record<string, unknown>): Promise<string[]> {
      const ids: string[] = [];
      let r = await query(first);
      for (;;) {
        assert.equal(r.status, 200, JSON.stringify(r.body));
        ids.push(...r.body.dataItems.map((d: { id: string }) => d.id));
        const next = r.body.pagingMetadata.cursors.next;
        if (!next) return ids;
        assert.ok(ids.length < 48, 'paging ran past the items: a cursor did not move forward');
        r = await query({ dataCollectionId: 'pages', query: { cursorPaging: { cursor: next } } });
      }
    }

    for (const sort of [undefined, [{ fieldName: 'v', order: 'ASC' }], [{ fieldName: 'v', order: 'DESC' }, { fieldName: 'n', order: 'DESC' }], [{ fieldName: '_owner' }, { fieldName: 'v', order: 'DESC' }]]) {
      test(`pages followed to the end give the offset order, sort ${JSON.stringify(sort)}`, async () => {
        const all = await query({ dataCollectionId: 'pages', query: { ...(sort ? { sort } : {}), paging: { limit: 1000 } } });
        const expected = all.body.dataItems.map((d: { id: string }) => d.id);
        assert.equal(expected.length, 48);
        for (const limit of [1, 5, 7, 48, 100]) {
          assert.deepEqual(await followAll({ dataCollectionId: 'pages', query: { ...(sort ? { sort } : {}), cursorPaging: { limit } } }), expected, `limit ${limit}`);
        }
      });
    }

    test('a nullable sort column (_owner: items inserted by anonymous visitors have none)', async () => {
      const collection = { id: 'open', permissions: { read: 'ANYONE', insert: 'ANYONE', update: 'ADMIN', remove: 'ADMIN' } };
      assert.equal((await api('POST', `${DATA}/collections`, { collection })).status, 200);
      for (let i = 0; i < 12; i++) {
        const anonymous: Record<string, string> = i % 3 === 0 ? { authorization: '' } : {};
        const r = await call(s.url, 'POST', `${DATA}/items`, { dataCollectionId: 'open', dataItem: { data: { _id: `o${String(i).padStart(2, '0')}` } } }, anonymous);
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
      for (const order of ['ASC', 'DESC']) {
        const sort = [{ fieldName: '_owner', order }];
        const all = await query({ dataCollectionId: 'open', query: { sort, paging: { limit: 1000 } } });
        const expected = all.body.dataItems.map((d: { id: string }) => d.id);
        assert.equal(all.body.dataItems.filter((d: { data: { _owner?: string } }) => d.data._owner === undefined).length, 4, 'four items have no owner');
        for (const limit of [1, 2, 3, 5]) {
          const ids: string[] = [];
          let r = await query({ dataCollectionId: 'open', query: { sort, cursorPaging: { limit } } });
          for (;;) {
            ids.push(...r.body.dataItems.map((d: { id: string }) => d.id));
            const next = r.body.pagingMetadata.cursors.next;
            if (!next) break;
            assert.ok(ids.length < 12, 'paging ran past the items');
            r = await query({ dataCollectionId: 'open', query: { cursorPaging: { cursor: next } } });
          }
          assert.deepEqual(ids, expected, `${order} limit ${limit}`);
        }
      }
    });

    test('removing items already read does not skip any of the rest', async () => {
      assert.equal((await api('POST', `${DATA}/collections`, { collection: { id: 'shrinking' } })).status, 200);
      const dataItems = Array.from({ length: 20 }, (_, i) => ({ data: { _id: `s${String(i).padStart(2, '0')}`, rank: i } }));
      assert.equal((await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'shrinking', dataItems })).status, 200);
      const seen: string[] = [];
      let r = await query({ dataCollectionId: 'shrinking', query: { sort: [{ fieldName: 'rank' }], cursorPaging: { limit: 5 } } });
      for (;;) {
        const ids = r.body.dataItems.map((d: { id: string }) => d.id);
        seen.push(...ids);
        // An export that deletes what it has written: with offset paging the next page would
        // skip as many items as were removed.
        if (ids.length) assert.equal((await api('POST', `${DATA}/bulk/items/remove`, { dataCollectionId: 'shrinking', dataItemIds: ids })).status, 200);
        const next = r.body.pagingMetadata.cursors.next;
        if (!next) break;
        assert.ok(seen.length < 20, 'paging ran past the items: a cursor did not move forward');
        r = await query({ dataCollectionId: 'shrinking', query: { cursorPaging: { cursor: next } } });
      }
      assert.deepEqual(seen, dataItems.map((d) => d.data._id));
    });

    test('prev cursors go back a page (by offset); cursors without sort values page by offset', async () => {
      const p1 = await query({ dataCollectionId: 'pages', query: { sort: [{ fieldName: 'n' }], cursorPaging: { limit: 4 } } });
      const p2 = await query({ dataCollectionId: 'pages', query: { cursorPaging: { cursor: p1.body.pagingMetadata.cursors.next } } });
      assert.deepEqual(p2.body.dataItems.map((d: { data: { n: number } }) => d.data.n), [4, 5, 6, 7]);
      assert.ok(Array.isArray(decode(p1.body.pagingMetadata.cursors.next).k), 'a next cursor carries the sort values');
      const back = await query({ dataCollectionId: 'pages', query: { cursorPaging: { cursor: p2.body.pagingMetadata.cursors.prev } } });
      assert.deepEqual(back.body.dataItems.map((d: { data: { n: number } }) => d.data.n), [0, 1, 2, 3]);
      // A cursor as Cairn wrote them before keysets: offset 8, no sort values.
      const { k: _k, ...old } = decode(p2.body.pagingMetadata.cursors.next);
      const p3 = await query({ dataCollectionId: 'pages', query: { cursorPaging: { cursor: encode({ ...old, o: 8 }) } } });
      assert.equal(p3.status, 200, JSON.stringify(p3.body));
      assert.deepEqual(p3.body.dataItems.map((d: { data: { n: number } }) => d.data.n), [8, 9, 10, 11]);
    });

    test('mangled sort values in a cursor are a 400 WDE0165, and change nothing', async () => {
      const p1 = await query({ dataCollectionId: 'pages', query: { sort: [{ fieldName: 'v' }], cursorPaging: { limit: 3 } } });
      const state = decode(p1.body.pagingMetadata.cursors.next);
      const k = state.k as unknown[];
      // Too few or too many values, objects, booleans, not a list, an integer past 2^53.
      // A string where the type rank (an integer) goes, and every value a string: PostgreSQL
      // casts them, and answered 500 before.
      const wrongTypes = [['x', ...k.slice(1)], k.map(() => 'x'), [1.5, ...k.slice(1)]];
      for (const bad of [[], k.slice(1), [...k, 'extra'], k.map(() => ({ $gt: 1 })), k.map(() => true), 'k', [2 ** 60, ...k.slice(1)], ...wrongTypes]) {
        const r = await query({ dataCollectionId: 'pages', query: { cursorPaging: { cursor: encode({ ...state, k: bad }) } } });
        assert.equal(r.status, 400, `${JSON.stringify(bad)}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.details.applicationError.code, 'WDE0165');
      }
      // SQL in a sort value is a value like any other: bound, never run.
      const sly = await query({ dataCollectionId: 'pages', query: { cursorPaging: { cursor: encode({ ...state, k: k.map((v) => (typeof v === 'string' ? "a' OR 1=1 --" : v)) }) } } });
      assert.equal(sly.status, 200, JSON.stringify(sly.body));
      const count = await api('POST', `${DATA}/items/count`, { dataCollectionId: 'pages' });
      assert.equal(count.body.totalCount, 48);
    });
  });
}
