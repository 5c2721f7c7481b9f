/**
 * Bulk insert / update / save / remove over raw HTTP: the response shape field by field, with and
 * without returnEntity; per-item errors (WDE0074 on insert, WDE0073 on update and remove, WDE0075
 * for an id twice in one request, WDE0123 on a unique index) that answer 200 while the other items
 * are written; requests invalid as a whole (1001 items, empty lists, missing ids) that answer 400
 * and write nothing; drafts, environments, and both prefixes.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, call, type TestServer } from './helpers/server.js';
import { ManualClock } from '../src/clock.js';
import { sql } from '../src/store/sql.js';

const DATA = '/wix-data/v2';
const CLOUD = '/_api/cloud-data/v2';
const PREFIXES = [DATA, CLOUD];
const T0 = Date.parse('2024-06-01T12:00:00.000Z');

type Obj = Record<string, any>;

function expectEnvelope(r: { status: number; body: any }, status: number, code: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body?.details?.applicationError?.code, code, JSON.stringify(r.body));
}

const SYSTEM = new Set(['_id', '_createdDate', '_updatedDate', '_owner', '_publishStatus']);
const user = (data: Obj) => Object.fromEntries(Object.entries(data).filter(([k]) => !SYSTEM.has(k)));

for (const storeName of STORE_NAMES) {
  describe(`bulk writes over HTTP (${storeName})`, () => {
    let s: TestServer;
    const clock = new ManualClock(T0);
    let owner: string;
    before(async () => {
      s = await startServer(storeName, { clock, runner: false });
      // The identity this server writes as: the _owner of every new item.
      await call(s.url, 'POST', `${DATA}/collections`, { collection: { id: 'whoami' } });
      const r = await call(s.url, 'POST', `${DATA}/items`, { dataCollectionId: 'whoami', dataItem: { data: {} } });
      owner = r.body.dataItem.data._owner;
      assert.equal(typeof owner, 'string');
    });
    after(() => s.close());

    const api = (method: string, path: string, body?: unknown) => call(s.url, method, path, body);
    const collection = async (id: string, extra: Obj = {}) => {
      const r = await api('POST', `${DATA}/collections`, { collection: { id, ...extra } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    const snapshot = async () => {
      const rows = await s.store.db.all<Obj>(sql`SELECT collection_id, env, id, data, created_date, updated_date, owner, publish_status FROM items ORDER BY collection_id, env, id`);
      return rows.map((r): Obj => ({ ...r, data: typeof r.data === 'string' ? JSON.parse(r.data) : r.data }));
    };
    /** User fields of every item of a collection (drafts included), by id. */
    const contents = async (c: string, env = 'LIVE') => {
      const rows = await s.store.db.all<Obj>(sql`SELECT id, data FROM items WHERE collection_id = ${c} AND env = ${env} ORDER BY id`);
      return Object.fromEntries(rows.map((r) => [r.id, user(typeof r.data === 'string' ? JSON.parse(r.data) : r.data)]));
    };
    const stored = async (c: string, id: string): Promise<Obj> => {
      const r = await s.store.db.get<Obj>(sql`SELECT data FROM items WHERE collection_id = ${c} AND env = 'LIVE' AND id = ${id}`);
      assert.ok(r, `${c}/${id} exists`);
      return typeof r.data === 'string' ? JSON.parse(r.data) : r.data;
    };
    const iso = (t: number) => new Date(t).toISOString();

    test('bulk insert: the response field by field, with and without returnEntity, under both prefixes', async () => {
      clock.set(T0);
      await collection('ins');
      for (const [n, prefix] of PREFIXES.entries()) {
        // returnEntity absent: results carry no items.
        const plain = await api('POST', `${prefix}/bulk/items/insert`, {
          dataCollectionId: 'ins',
          dataItems: [{ data: { _id: `p${n}`, title: 'A' } }, { id: `q${n}`, data: { title: 'B' } }],
        });
        assert.equal(plain.status, 200, JSON.stringify(plain.body));
        assert.deepEqual(plain.body, {
          results: [
            { action: 'INSERT', itemMetadata: { id: `p${n}`, originalIndex: 0, success: true } },
            { action: 'INSERT', itemMetadata: { id: `q${n}`, originalIndex: 1, success: true } },
          ],
          bulkActionMetadata: { totalSuccesses: 2, totalFailures: 0 },
        });
        const full = await api('POST', `${prefix}/bulk/items/insert`, {
          dataCollectionId: 'ins',
          returnEntity: true,
          dataItems: [{ data: { _id: `r${n}`, n: 1, when: { $date: '2024-01-01T00:00:00Z' } } }, { data: { title: 'generated' } }],
        });
        assert.equal(full.status, 200, JSON.stringify(full.body));
        const [r0, r1] = full.body.results;
        assert.deepEqual(r0, {
          action: 'INSERT',
          itemMetadata: { id: `r${n}`, originalIndex: 0, success: true },
          dataItem: {
            id: `r${n}`,
            dataCollectionId: 'ins',
            data: { _id: `r${n}`, _createdDate: { $date: iso(T0) }, _updatedDate: { $date: iso(T0) }, _owner: owner, n: 1, when: { $date: '2024-01-01T00:00:00.000Z' } },
          },
        });
        const generated = r1.itemMetadata.id;
        assert.equal(typeof generated, 'string');
        assert.ok(generated.length > 0);
        assert.equal(r1.dataItem.id, generated);
        assert.equal(r1.dataItem.data._id, generated);
        assert.deepEqual(full.body.bulkActionMetadata, { totalSuccesses: 2, totalFailures: 0 });
        assert.deepEqual(await stored('ins', `r${n}`), r0.dataItem.data);
        assert.deepEqual(await stored('ins', generated), r1.dataItem.data);
      }
    });

    test('bulk insert: existing ids and ids repeated in the request fail per item with WDE0074', async () => {
      await collection('dup');
      await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'dup', dataItems: [{ data: { _id: 'old', v: 'original' } }] });
      const r = await api('POST', `${DATA}/bulk/items/insert`, {
        dataCollectionId: 'dup',
        returnEntity: true,
        dataItems: [{ data: { _id: 'old', v: 'replaced?' } }, { data: { _id: 'new', v: 1 } }, { data: { _id: 'new', v: 2 } }, { data: { _id: 'other', v: 3 } }],
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const [a, b, c, d] = r.body.results;
      assert.deepEqual(a, {
        action: 'INSERT',
        itemMetadata: {
          id: 'old',
          originalIndex: 0,
          success: false,
          error: { code: 'WDE0074', description: a.itemMetadata.error.description, data: { itemId: 'old', collectionId: 'dup' } },
        },
      });
      assert.equal(typeof a.itemMetadata.error.description, 'string');
      assert.equal(b.itemMetadata.success, true);
      assert.equal(b.dataItem.data.v, 1);
      assert.deepEqual([c.itemMetadata.id, c.itemMetadata.originalIndex, c.itemMetadata.success, c.itemMetadata.error.code], ['new', 2, false, 'WDE0074']);
      assert.equal('dataItem' in c, false);
      assert.equal(d.itemMetadata.success, true);
      assert.deepEqual(r.body.bulkActionMetadata, { totalSuccesses: 2, totalFailures: 2 });
      assert.deepEqual(await contents('dup'), { old: { v: 'original' }, new: { v: 1 }, other: { v: 3 } });
    });

    test('bulk update: full replacement, _createdDate kept; missing ids WDE0073, repeated ids WDE0075', async () => {
      clock.set(T0);
      await collection('upd');
      await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'upd', dataItems: [{ data: { _id: 'a', n: 1, extra: true } }, { data: { _id: 'b', n: 2 } }] });
      for (const [n, prefix] of PREFIXES.entries()) {
        clock.advance(1000);
        const r = await api('POST', `${prefix}/bulk/items/update`, {
          dataCollectionId: 'upd',
          returnEntity: true,
          dataItems: [{ data: { _id: 'a', n: 10 + n } }, { data: { _id: 'ghost', n: 0 } }, { id: 'b', data: { title: `B${n}` } }, { data: { _id: 'a', n: 99 } }],
        });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        const [a, ghost, b, again] = r.body.results;
        assert.deepEqual(a, {
          action: 'UPDATE',
          itemMetadata: { id: 'a', originalIndex: 0, success: true },
          dataItem: {
            id: 'a',
            dataCollectionId: 'upd',
            data: { _id: 'a', _createdDate: { $date: iso(T0) }, _updatedDate: { $date: clock.now().toISOString() }, _owner: owner, n: 10 + n },
          },
        });
        assert.deepEqual(ghost, {
          action: 'UPDATE',
          itemMetadata: { id: 'ghost', originalIndex: 1, success: false, error: { code: 'WDE0073', description: ghost.itemMetadata.error.description, data: { itemId: 'ghost', collectionId: 'upd' } } },
        });
        assert.equal(b.dataItem.data.title, `B${n}`);
        assert.deepEqual([again.itemMetadata.success, again.itemMetadata.error.code, again.itemMetadata.originalIndex], [false, 'WDE0075', 3]);
        assert.deepEqual(r.body.bulkActionMetadata, { totalSuccesses: 2, totalFailures: 2 });
        assert.deepEqual(await contents('upd'), { a: { n: 10 + n }, b: { title: `B${n}` } });
      }
      // Without returnEntity: no items in the results.
      const plain = await api('POST', `${DATA}/bulk/items/update`, { dataCollectionId: 'upd', dataItems: [{ data: { _id: 'a', n: 5 } }] });
      assert.deepEqual(plain.body, { results: [{ action: 'UPDATE', itemMetadata: { id: 'a', originalIndex: 0, success: true } }], bulkActionMetadata: { totalSuccesses: 1, totalFailures: 0 } });
      // A condition is checked per item.
      const cond = await api('POST', `${DATA}/bulk/items/update`, {
        dataCollectionId: 'upd',
        condition: { filter: { n: { $gt: 1 } } },
        dataItems: [{ data: { _id: 'a', n: 6 } }, { data: { _id: 'b', n: 7 } }],
      });
      assert.deepEqual(
        cond.body.results.map((x: Obj) => [x.itemMetadata.id, x.itemMetadata.success, x.itemMetadata.error?.code]),
        [
          ['a', true, undefined],
          ['b', false, 'WDE0073'],
        ],
      );
      assert.deepEqual(await contents('upd'), { a: { n: 6 }, b: { title: 'B1' } });
    });

    test('bulk save: INSERT or UPDATE per item, generated ids, returnEntity, under both prefixes', async () => {
      clock.set(T0);
      await collection('sav');
      await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'sav', dataItems: [{ data: { _id: 'a', n: 1, extra: true } }] });
      for (const [n, prefix] of PREFIXES.entries()) {
        clock.advance(1000);
        const r = await api('POST', `${prefix}/bulk/items/save`, {
          dataCollectionId: 'sav',
          returnEntity: true,
          dataItems: [{ data: { _id: 'a', n: 2 + n } }, { data: { _id: `b${n}`, n: 3 } }, { data: { n: 4 } }, { data: { _id: `b${n}`, n: 5 } }],
        });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        const [a, b, gen, rep] = r.body.results;
        assert.deepEqual(a, {
          action: 'UPDATE',
          itemMetadata: { id: 'a', originalIndex: 0, success: true },
          dataItem: {
            id: 'a',
            dataCollectionId: 'sav',
            data: { _id: 'a', _createdDate: { $date: iso(T0) }, _updatedDate: { $date: clock.now().toISOString() }, _owner: owner, n: 2 + n },
          },
        });
        assert.deepEqual([b.action, b.itemMetadata, b.dataItem.data._createdDate], ['INSERT', { id: `b${n}`, originalIndex: 1, success: true }, { $date: clock.now().toISOString() }]);
        assert.equal(gen.action, 'INSERT');
        assert.equal(gen.dataItem.id, gen.itemMetadata.id);
        assert.deepEqual([rep.itemMetadata.success, rep.itemMetadata.error.code, rep.itemMetadata.id], [false, 'WDE0075', `b${n}`]);
        assert.deepEqual(r.body.bulkActionMetadata, { totalSuccesses: 3, totalFailures: 1 });
        assert.deepEqual(await stored('sav', gen.itemMetadata.id), gen.dataItem.data);
        assert.deepEqual(user(await stored('sav', `b${n}`)), { n: 3 });
      }
      assert.deepEqual(user(await stored('sav', 'a')), { n: 3 });
      const plain = await api('POST', `${DATA}/bulk/items/save`, { dataCollectionId: 'sav', dataItems: [{ data: { _id: 'a', n: 0 } }, { data: { _id: 'fresh' } }] });
      assert.deepEqual(plain.body, {
        results: [
          { action: 'UPDATE', itemMetadata: { id: 'a', originalIndex: 0, success: true } },
          { action: 'INSERT', itemMetadata: { id: 'fresh', originalIndex: 1, success: true } },
        ],
        bulkActionMetadata: { totalSuccesses: 2, totalFailures: 0 },
      });
    });

    test('bulk remove: DELETE per id, removed items with returnEntity, missing and repeated ids WDE0073', async () => {
      clock.set(T0);
      await collection('rem');
      const seed = ['a', 'b', 'c', 'd', 'e', 'f'].map((id, i) => ({ data: { _id: id, n: i } }));
      await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'rem', dataItems: seed });
      const r = await api('POST', `${DATA}/bulk/items/remove`, { dataCollectionId: 'rem', returnEntity: true, dataItemIds: ['a', 'ghost', 'b', 'a'] });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const [a, ghost, b, again] = r.body.results;
      assert.deepEqual(a, {
        action: 'DELETE',
        itemMetadata: { id: 'a', originalIndex: 0, success: true },
        dataItem: { id: 'a', dataCollectionId: 'rem', data: { _id: 'a', _createdDate: { $date: iso(T0) }, _updatedDate: { $date: iso(T0) }, _owner: owner, n: 0 } },
      });
      assert.deepEqual(ghost, {
        action: 'DELETE',
        itemMetadata: { id: 'ghost', originalIndex: 1, success: false, error: { code: 'WDE0073', description: ghost.itemMetadata.error.description, data: { itemId: 'ghost', collectionId: 'rem' } } },
      });
      assert.equal(b.dataItem.data.n, 1);
      assert.deepEqual([again.itemMetadata.success, again.itemMetadata.error.code, again.itemMetadata.originalIndex], [false, 'WDE0073', 3]);
      assert.deepEqual(r.body.bulkActionMetadata, { totalSuccesses: 2, totalFailures: 2 });
      const other = await api('POST', `${CLOUD}/bulk/items/remove`, { dataCollectionId: 'rem', dataItemIds: ['c'] });
      assert.deepEqual(other.body, { results: [{ action: 'DELETE', itemMetadata: { id: 'c', originalIndex: 0, success: true } }], bulkActionMetadata: { totalSuccesses: 1, totalFailures: 0 } });
      const cond = await api('POST', `${DATA}/bulk/items/remove`, { dataCollectionId: 'rem', condition: { filter: { n: { $gte: 4 } } }, dataItemIds: ['d', 'e', 'f'] });
      assert.deepEqual(
        cond.body.results.map((x: Obj) => [x.itemMetadata.id, x.itemMetadata.success]),
        [
          ['d', false],
          ['e', true],
          ['f', true],
        ],
      );
      assert.deepEqual(await contents('rem'), { d: { n: 3 } });
    });

    test('a unique index: clashing items fail per item with WDE0123, the others are written', async () => {
      await collection('uniq');
      const idx = await api('POST', `${DATA}/indexes`, { dataCollectionId: 'uniq', index: { name: 'slug', unique: true, fields: [{ path: 'slug' }] } });
      assert.equal(idx.status, 200, JSON.stringify(idx.body));
      const ins = await api('POST', `${DATA}/bulk/items/insert`, {
        dataCollectionId: 'uniq',
        dataItems: [{ data: { _id: 'a', slug: 'x' } }, { data: { _id: 'b', slug: 'x' } }, { data: { _id: 'c', slug: 'y' } }],
      });
      assert.deepEqual(
        ins.body.results.map((x: Obj) => [x.itemMetadata.id, x.itemMetadata.success, x.itemMetadata.error?.code]),
        [
          ['a', true, undefined],
          ['b', false, 'WDE0123'],
          ['c', true, undefined],
        ],
      );
      const upd = await api('POST', `${DATA}/bulk/items/update`, { dataCollectionId: 'uniq', dataItems: [{ data: { _id: 'c', slug: 'x' } }, { data: { _id: 'a', slug: 'x', n: 1 } }] });
      assert.deepEqual(
        upd.body.results.map((x: Obj) => [x.itemMetadata.success, x.itemMetadata.error?.code]),
        [
          [false, 'WDE0123'],
          [true, undefined],
        ],
      );
      const sav = await api('POST', `${DATA}/bulk/items/save`, { dataCollectionId: 'uniq', dataItems: [{ data: { _id: 'd', slug: 'y' } }, { data: { _id: 'e', slug: 'w' } }] });
      assert.deepEqual(
        sav.body.results.map((x: Obj) => [x.itemMetadata.success, x.itemMetadata.error?.code]),
        [
          [false, 'WDE0123'],
          [true, undefined],
        ],
      );
      const pat = await api('POST', `${DATA}/bulk/items/patch`, {
        dataCollectionId: 'uniq',
        patches: [
          { dataItemId: 'e', fieldModifications: [{ fieldPath: 'slug', action: 'SET_FIELD', setFieldOptions: { value: 'y' } }] },
          { dataItemId: 'c', fieldModifications: [{ fieldPath: 'n', action: 'SET_FIELD', setFieldOptions: { value: 1 } }] },
        ],
      });
      assert.deepEqual(
        pat.body.results.map((x: Obj) => [x.itemMetadata.success, x.itemMetadata.error?.code]),
        [
          [false, 'WDE0123'],
          [true, undefined],
        ],
      );
      assert.deepEqual(await contents('uniq'), { a: { slug: 'x', n: 1 }, c: { slug: 'y', n: 1 }, e: { slug: 'w' } });
    });

    test('drafts: update and remove reach drafts only with includeDraftItems', async () => {
      await collection('bdr', { plugins: [{ type: 'PUBLISH' }] });
      await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'bdr', dataItems: [{ data: { _id: 'pub', n: 0 } }, { data: { _id: 'dra', n: 0 } }] });
      await s.store.db.run(sql`UPDATE items SET publish_status = 'DRAFT' WHERE collection_id = 'bdr' AND id = 'dra'`);
      const items = [{ data: { _id: 'pub', n: 1 } }, { data: { _id: 'dra', n: 1 } }];
      const hidden = await api('POST', `${DATA}/bulk/items/update`, { dataCollectionId: 'bdr', dataItems: items, returnEntity: true });
      assert.deepEqual(
        hidden.body.results.map((x: Obj) => [x.itemMetadata.success, x.itemMetadata.error?.code, x.dataItem?.data._publishStatus]),
        [
          [true, undefined, 'PUBLISHED'],
          [false, 'WDE0073', undefined],
        ],
      );
      const shown = await api('POST', `${DATA}/bulk/items/update`, { dataCollectionId: 'bdr', dataItems: items, returnEntity: true, publishPluginOptions: { includeDraftItems: true } });
      assert.deepEqual(
        shown.body.results.map((x: Obj) => [x.itemMetadata.success, x.dataItem?.data._publishStatus]),
        [
          [true, 'PUBLISHED'],
          [true, 'DRAFT'],
        ],
      );
      const remHidden = await api('POST', `${DATA}/bulk/items/remove`, { dataCollectionId: 'bdr', dataItemIds: ['dra'] });
      assert.equal(remHidden.body.results[0].itemMetadata.error.code, 'WDE0073');
      assert.deepEqual(await contents('bdr'), { pub: { n: 1 }, dra: { n: 1 } });
      const rem = await api('POST', `${DATA}/bulk/items/remove`, { dataCollectionId: 'bdr', dataItemIds: ['dra'], publishPluginOptions: { includeDraftItems: true } });
      assert.equal(rem.body.results[0].itemMetadata.success, true);
      assert.deepEqual(await contents('bdr'), { pub: { n: 1 } });
    });

    test('environment: bulk writes to SANDBOX touch only the sandbox copy', async () => {
      await collection('benv');
      await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'benv', dataItems: [{ data: { _id: 'a', n: 0 } }] });
      expectEnvelope(await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'benv', environment: 'SANDBOX', dataItems: [{ data: { _id: 'x' } }] }), 400, 'WDE0119');
      assert.equal((await api('POST', '/cairn/v1/collections/benv/sandbox', { enabled: true })).status, 200);
      const env = { dataCollectionId: 'benv', environment: 'SANDBOX' };
      assert.equal((await api('POST', `${DATA}/bulk/items/insert`, { ...env, dataItems: [{ data: { _id: 's', n: 1 } }] })).body.bulkActionMetadata.totalSuccesses, 1);
      assert.equal((await api('POST', `${DATA}/bulk/items/update`, { ...env, dataItems: [{ data: { _id: 'a', n: 2 } }] })).body.bulkActionMetadata.totalSuccesses, 1);
      assert.equal((await api('POST', `${DATA}/bulk/items/save`, { ...env, dataItems: [{ data: { _id: 't', n: 3 } }] })).body.bulkActionMetadata.totalSuccesses, 1);
      assert.equal((await api('POST', `${DATA}/bulk/items/remove`, { ...env, dataItemIds: ['s'] })).body.bulkActionMetadata.totalSuccesses, 1);
      assert.deepEqual(await contents('benv', 'SANDBOX'), { a: { n: 2 }, t: { n: 3 } });
      assert.deepEqual(await contents('benv', 'LIVE'), { a: { n: 0 } });
    });

    test('1000 items per request are accepted; 1001 and other invalid requests answer 400 and write nothing', async () => {
      await collection('lim');
      const thousand = Array.from({ length: 1000 }, (_, i) => ({ data: { _id: `i${String(i).padStart(4, '0')}`, n: i } }));
      const ins = await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'lim', dataItems: thousand });
      assert.deepEqual(ins.body.bulkActionMetadata, { totalSuccesses: 1000, totalFailures: 0 });
      const upd = await api('POST', `${CLOUD}/bulk/items/update`, { dataCollectionId: 'lim', dataItems: thousand.map((x) => ({ data: { ...x.data, n: -1 } })) });
      assert.deepEqual(upd.body.bulkActionMetadata, { totalSuccesses: 1000, totalFailures: 0 });
      const sav = await api('POST', `${DATA}/bulk/items/save`, { dataCollectionId: 'lim', dataItems: thousand });
      assert.deepEqual(sav.body.bulkActionMetadata, { totalSuccesses: 1000, totalFailures: 0 });
      assert.ok(sav.body.results.every((x: Obj) => x.action === 'UPDATE'));
      const before = await snapshot();
      const more = [...thousand, { data: { _id: 'extra', n: 0 } }];
      const good = [{ data: { _id: 'i0000', n: 'changed?' } }];
      const cases: [string, string, Obj, string][] = [
        ['insert', '1001 items', { dataItems: more.map((x) => ({ data: { ...x.data, _id: `new-${x.data._id}` } })) }, 'WDE0006'],
        ['update', '1001 items', { dataItems: more }, 'WDE0006'],
        ['save', '1001 items', { dataItems: more }, 'WDE0006'],
        ['remove', '1001 ids', { dataItemIds: more.map((x) => x.data._id) }, 'WDE0069'],
        ['insert', 'empty', { dataItems: [] }, 'WDE0005'],
        ['update', 'empty', { dataItems: [] }, 'WDE0005'],
        ['save', 'empty', { dataItems: [] }, 'WDE0005'],
        ['remove', 'empty', { dataItemIds: [] }, 'WDE0068'],
        ['insert', 'missing list', {}, 'WDE0005'],
        ['remove', 'missing list', {}, 'WDE0068'],
        ['save', 'not a list', { dataItems: good[0] }, 'WDE0005'],
        ['insert', 'an item that is not an object', { dataItems: [{ data: { _id: 'new-z' } }, 'x'] }, 'WDE0004'],
        ['save', 'data that is not an object', { dataItems: [...good, { data: [1] }] }, 'WDE0004'],
        ['update', 'an item without an id', { dataItems: [...good, { data: { n: 1 } }] }, 'WDE0007'],
        ['insert', 'ids that disagree', { dataItems: [{ id: 'new-p', data: { _id: 'new-q' } }] }, 'WDE0075'],
        ['save', 'a $ field name', { dataItems: [...good, { data: { _id: 'i0001', $set: 1 } }] }, 'WDE0134'],
        ['remove', 'a non-string id', { dataItemIds: ['i0000', 7] }, 'WDE0068'],
        ['update', 'a bad condition', { dataItems: good, condition: { filter: { n: { $bad: 1 } } } }, 'WDE0061'],
        ['remove', 'a bad returnEntity', { dataItemIds: ['i0000'], returnEntity: 'yes' }, 'WDE0080'],
      ];
      for (const [op, name, body, code] of cases) {
        for (const prefix of PREFIXES) {
          const r = await api('POST', `${prefix}/bulk/items/${op}`, { dataCollectionId: 'lim', ...body });
          assert.equal(r.status, 400, `${op} ${name}: ${JSON.stringify(r.body).slice(0, 300)}`);
          assert.equal(r.body.details.applicationError.code, code, `${op} ${name}: ${JSON.stringify(r.body).slice(0, 300)}`);
        }
      }
      for (const op of ['insert', 'update', 'save']) {
        expectEnvelope(await api('POST', `${DATA}/bulk/items/${op}`, { dataCollectionId: 'nowhere', dataItems: good }), 404, 'WDE0025');
      }
      expectEnvelope(await api('POST', `${DATA}/bulk/items/remove`, { dataCollectionId: 'nowhere', dataItemIds: ['a'] }), 404, 'WDE0025');
      assert.deepEqual(await snapshot(), before);
      const rem = await api('POST', `${DATA}/bulk/items/remove`, { dataCollectionId: 'lim', dataItemIds: thousand.map((x) => x.data._id) });
      assert.deepEqual(rem.body.bulkActionMetadata, { totalSuccesses: 1000, totalFailures: 0 });
      assert.deepEqual(await contents('lim'), {});
    });
  });
}
