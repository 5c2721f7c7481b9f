/**
 * Patch and BulkPatch over raw HTTP (seeds/bulk-patch-data-items.md): every action, nested paths,
 * the order of modifications, conditions, missing items, type clashes, returnEntity, the response
 * shape field by field, drafts, environments, both prefixes, the REST `PATCH /items/{id}` form,
 * system fields, requests that are invalid as a whole (400, nothing changed) and injection
 * attempts. Every state check reads the stored rows directly, so "nothing changed" is exact.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, call, type TestServer } from './helpers/server.js';
import { ManualClock } from '../src/clock.js';
import { sql } from '../src/store/sql.js';

const DATA = '/wix-data/v2';
const CLOUD = '/_api/cloud-data/v2';
const T0 = Date.parse('2024-03-01T10:00:00.000Z');

type Obj = Record<string, any>;

const SET = (fieldPath: string, value: unknown) => ({ fieldPath, action: 'SET_FIELD', setFieldOptions: { value } });
const REMOVE = (fieldPath: string) => ({ fieldPath, action: 'REMOVE_FIELD' });
const INC = (fieldPath: string, value: unknown) => ({ fieldPath, action: 'INCREMENT_FIELD', incrementFieldOptions: { value } });
const APPEND = (fieldPath: string, value: unknown) => ({ fieldPath, action: 'APPEND_TO_ARRAY', appendToArrayOptions: { value } });
const PULL = (fieldPath: string, value: unknown) => ({ fieldPath, action: 'REMOVE_FROM_ARRAY', removeFromArrayOptions: { value } });
/** A no-op on an existing array whose presence moves a request off the SQL fast path. */
const JS_ONLY = PULL('tags', '__never_there__');

const SYSTEM = new Set(['_id', '_createdDate', '_updatedDate', '_owner', '_publishStatus']);
function user(data: Obj): Obj {
  return Object.fromEntries(Object.entries(data).filter(([k]) => !SYSTEM.has(k)));
}

function expectEnvelope(r: { status: number; body: any }, status: number, code: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body?.details?.applicationError?.code, code, JSON.stringify(r.body));
  assert.equal(typeof r.body.message, 'string');
}

for (const storeName of STORE_NAMES) {
  describe(`patch over HTTP (${storeName})`, () => {
    let s: TestServer;
    const clock = new ManualClock(T0);
    before(async () => {
      s = await startServer(storeName, { clock, runner: false });
    });
    after(() => s.close());

    const api = (method: string, path: string, body?: unknown) => call(s.url, method, path, body);
    const collection = async (id: string, extra: Obj = {}) => {
      const r = await api('POST', `${DATA}/collections`, { collection: { id, ...extra } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    const insert = async (c: string, items: Obj[]) => {
      const r = await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: c, dataItems: items.map((data) => ({ data })) });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.bulkActionMetadata.totalSuccesses, items.length, JSON.stringify(r.body));
    };
    const bulkPatch = (body: Obj, prefix = DATA) => api('POST', `${prefix}/bulk/items/patch`, body);
    /** Every stored row (all collections, environments and statuses), for exact before/after checks. */
    const snapshot = async () => {
      const rows = await s.store.db.all<Obj>(
        sql`SELECT collection_id, env, id, data, created_date, updated_date, owner, publish_status FROM items ORDER BY collection_id, env, id`,
      );
      return rows.map((r): Obj => ({ ...r, data: typeof r.data === 'string' ? JSON.parse(r.data) : r.data }));
    };
    /** One stored row: its data (system fields included), status and mirrored columns. */
    const row = async (c: string, id: string, env = 'LIVE'): Promise<Obj | undefined> => {
      const r = await s.store.db.get<Obj>(
        sql`SELECT data, created_date, updated_date, publish_status FROM items WHERE collection_id = ${c} AND env = ${env} AND id = ${id}`,
      );
      if (!r) return undefined;
      return { ...r, data: typeof r.data === 'string' ? JSON.parse(r.data) : r.data };
    };
    const fields = async (c: string, id: string, env = 'LIVE') => {
      const r = await row(c, id, env);
      return r ? user(r.data) : undefined;
    };
    const now = () => clock.now().toISOString();

    test('every action in one patch, applied in order; the whole response field by field', async () => {
      clock.set(T0);
      await collection('every');
      await insert('every', [{ _id: 'a', title: 'old', n: 5, tags: ['x', 'y', 'x'], gone: 1, keep: true }]);
      const inserted = await row('every', 'a');
      const owner = inserted!.data._owner;
      assert.equal(typeof owner, 'string');
      clock.advance(60_000);
      const r = await bulkPatch({
        dataCollectionId: 'every',
        returnEntity: true,
        patches: [
          {
            dataItemId: 'a',
            fieldModifications: [
              SET('title', 'new'),
              INC('n', -2),
              INC('n', 0.5),
              APPEND('tags', 'z'),
              PULL('tags', 'x'),
              REMOVE('gone'),
              SET('addr.city', 'Oslo'),
            ],
          },
        ],
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const data = {
        _id: 'a',
        _createdDate: { $date: new Date(T0).toISOString() },
        _updatedDate: { $date: new Date(T0 + 60_000).toISOString() },
        _owner: owner,
        title: 'new',
        n: 3.5,
        tags: ['y', 'x', 'z'],
        keep: true,
        addr: { city: 'Oslo' },
      };
      assert.deepEqual(r.body, {
        results: [{ action: 'PATCH', itemMetadata: { id: 'a', originalIndex: 0, success: true }, dataItem: { id: 'a', dataCollectionId: 'every', data } }],
        bulkActionMetadata: { totalSuccesses: 1, totalFailures: 0 },
      });
      const stored = await row('every', 'a');
      assert.deepEqual(stored!.data, data);
      assert.equal(stored!.updated_date, new Date(T0 + 60_000).toISOString(), 'the updated_date column mirrors _updatedDate');
      assert.equal(stored!.created_date, new Date(T0).toISOString());
      // The column is what filters on _updatedDate read.
      const count = await api('POST', `${DATA}/items/count`, { dataCollectionId: 'every', filter: { _updatedDate: { $gt: { $date: new Date(T0).toISOString() } } } });
      assert.deepEqual(count.body, { totalCount: 1 });
    });

    test('the SQL path (same-shape batch) and the JS path give identical items', async () => {
      clock.set(T0);
      await collection('paths');
      const base = (id: string) => ({
        _id: id,
        n: 5,
        f: 1.25,
        tags: ['a', 'b'],
        nested: { keep: 1, inner: {} },
        gone: 'x',
        nil: null,
        other: 'untouched',
      });
      const ids = ['p1', 'p2', 'p3'];
      await insert('paths', [...ids.map((i) => base(`fast-${i}`)), ...ids.map((i) => base(`js-${i}`))]);
      const mods = (i: number) => [
        INC('n', i),
        INC('missingCount', 3),
        INC('nil', -2),
        APPEND('tags', { k: i }),
        APPEND('newList', 'first'),
        SET('nested.inner.v', [i, 'two', null]),
        SET('title', `t${i}`),
        SET('when', { $date: '2024-01-02T03:04:05.678Z' }),
        SET('flag', false),
        SET('obj', { b: 1, a: { c: null } }),
        REMOVE('gone'),
        REMOVE('neverThere'),
      ];
      clock.advance(1000);
      const fast = await bulkPatch({ dataCollectionId: 'paths', patches: ids.map((id, i) => ({ dataItemId: `fast-${id}`, fieldModifications: mods(i) })) });
      const slow = await bulkPatch({
        dataCollectionId: 'paths',
        patches: ids.map((id, i) => ({ dataItemId: `js-${id}`, fieldModifications: [...mods(i), JS_ONLY] })),
      });
      assert.equal(fast.status, 200, JSON.stringify(fast.body));
      assert.equal(slow.status, 200, JSON.stringify(slow.body));
      assert.deepEqual(fast.body.bulkActionMetadata, { totalSuccesses: 3, totalFailures: 0 });
      assert.deepEqual(slow.body.bulkActionMetadata, { totalSuccesses: 3, totalFailures: 0 });
      for (let i = 0; i < ids.length; i++) {
        const a = await row('paths', `fast-${ids[i]}`);
        const b = await row('paths', `js-${ids[i]}`);
        assert.deepEqual(user(a!.data), user(b!.data));
        assert.deepEqual(user(a!.data), {
          n: 5 + i,
          f: 1.25,
          missingCount: 3,
          nil: -2,
          tags: ['a', 'b', { k: i }],
          newList: ['first'],
          nested: { keep: 1, inner: { v: [i, 'two', null] } },
          other: 'untouched',
          title: `t${i}`,
          when: { $date: '2024-01-02T03:04:05.678Z' },
          flag: false,
          obj: { b: 1, a: { c: null } },
        });
        assert.deepEqual(a!.data._updatedDate, { $date: now() });
        assert.deepEqual(b!.data._updatedDate, { $date: now() });
        assert.equal(a!.updated_date, now());
        assert.equal(b!.updated_date, now());
        assert.ok(Number.isInteger(a!.data.n));
      }
    });

    test('setting a nested path creates the missing objects; removing under a missing parent creates nothing', async () => {
      await collection('nest');
      await insert('nest', [{ _id: 'has', a: { x: 1 } }, { _id: 'none' }, { _id: 'nul', a: null }, { _id: 'deep', a: { b: { c: { old: true } } } }]);
      const mods = [SET('a.b.c.d', 1), INC('a.cnt', 2), APPEND('a.list', 'v'), REMOVE('q.r.s'), PULL('p.q', 1)];
      const r = await bulkPatch({ dataCollectionId: 'nest', patches: ['has', 'none', 'nul', 'deep'].map((dataItemId) => ({ dataItemId, fieldModifications: mods })) });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body.bulkActionMetadata, { totalSuccesses: 4, totalFailures: 0 });
      assert.deepEqual(await fields('nest', 'has'), { a: { x: 1, b: { c: { d: 1 } }, cnt: 2, list: ['v'] } });
      assert.deepEqual(await fields('nest', 'none'), { a: { b: { c: { d: 1 } }, cnt: 2, list: ['v'] } });
      assert.deepEqual(await fields('nest', 'nul'), { a: { b: { c: { d: 1 } }, cnt: 2, list: ['v'] } });
      assert.deepEqual(await fields('nest', 'deep'), { a: { b: { c: { old: true, d: 1 } }, cnt: 2, list: ['v'] } });
    });

    test('modifications apply in order, each seeing the one before; the same item twice in a request', async () => {
      await collection('order');
      await insert('order', [{ _id: 'o', k: 10, s: 'str', c: 0 }]);
      const r = await bulkPatch({
        dataCollectionId: 'order',
        returnEntity: true,
        patches: [
          {
            dataItemId: 'o',
            fieldModifications: [
              SET('n', 1),
              INC('n', 5),
              INC('m', 5),
              SET('m', 1),
              APPEND('t', 'x'),
              PULL('t', 'x'),
              REMOVE('k'),
              INC('k', 3),
              SET('o', { p: 1 }),
              SET('o.q', 2),
              SET('s2', 'x'),
              REMOVE('s2'),
              SET('arr', []),
              APPEND('arr', 1),
              APPEND('arr', [2]),
            ],
          },
          { dataItemId: 'o', fieldModifications: [INC('c', 1)] },
          { dataItemId: 'o', fieldModifications: [INC('c', 10), SET('s', 'second')] },
        ],
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(
        r.body.results.map((x: Obj) => [x.itemMetadata.originalIndex, x.itemMetadata.success, x.dataItem.data.c, x.dataItem.data.s]),
        [
          [0, true, 0, 'str'],
          [1, true, 1, 'str'],
          [2, true, 11, 'second'],
        ],
      );
      assert.deepEqual(await fields('order', 'o'), { n: 6, m: 1, t: [], k: 3, o: { p: 1, q: 2 }, arr: [1, [2]], s: 'second', c: 11 });
    });

    test('REMOVE_FROM_ARRAY removes the first equal element only (deep equality, key order ignored)', async () => {
      await collection('pull');
      const arr = [{ a: 1, b: 2 }, { b: 2, a: 1 }, 3, '3', [1, 2], 3, { $date: '2024-01-01T00:00:00.000Z' }, null, true];
      await insert('pull', [{ _id: 'p', arr, nil: null, str: 'abc' }]);
      const r = await bulkPatch({
        dataCollectionId: 'pull',
        patches: [
          {
            dataItemId: 'p',
            fieldModifications: [
              PULL('arr', { b: 2, a: 1 }),
              PULL('arr', 3),
              PULL('arr', [1, 2]),
              PULL('arr', { $date: '2024-01-01T00:00:00.000Z' }),
              PULL('arr', null),
              PULL('arr', 'absent'),
              PULL('arr', [2, 1]),
              PULL('missing', 1),
              PULL('nil', 1),
            ],
          },
        ],
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body.bulkActionMetadata, { totalSuccesses: 1, totalFailures: 0 });
      assert.deepEqual(await fields('pull', 'p'), { arr: [{ b: 2, a: 1 }, '3', 3, true], nil: null, str: 'abc' });
    });

    test('INCREMENT_FIELD: negative decrements, fractions, missing and null fields count as 0', async () => {
      await collection('inc');
      await insert('inc', [
        { _id: 'i1', n: 10, big: 2 ** 50 },
        { _id: 'i2', n: null },
        { _id: 'i3' },
        { _id: 'i4', n: -1.5 },
      ]);
      const fast = await bulkPatch({
        dataCollectionId: 'inc',
        patches: ['i1', 'i2', 'i3'].map((dataItemId) => ({ dataItemId, fieldModifications: [INC('n', -3)] })),
      });
      assert.deepEqual(fast.body.bulkActionMetadata, { totalSuccesses: 3, totalFailures: 0 });
      const mixed = await bulkPatch({
        dataCollectionId: 'inc',
        patches: [
          { dataItemId: 'i1', fieldModifications: [INC('big', 2 ** 50), INC('n', 0.25)] },
          { dataItemId: 'i4', fieldModifications: [INC('n', -0.5)] },
        ],
      });
      assert.deepEqual(mixed.body.bulkActionMetadata, { totalSuccesses: 2, totalFailures: 0 });
      assert.deepEqual(await fields('inc', 'i1'), { n: 7.25, big: 2 ** 51 });
      assert.deepEqual(await fields('inc', 'i2'), { n: -3 });
      assert.deepEqual(await fields('inc', 'i3'), { n: -3 });
      assert.deepEqual(await fields('inc', 'i4'), { n: -2 });
    });

    test('condition.filter: each item is patched only if it matches; others fail WDE0073 and stay unchanged', async () => {
      clock.set(T0);
      await collection('cond');
      await insert('cond', [
        { _id: 's1', count: 2, title: 'x', tags: [] },
        { _id: 's2', count: 0, title: 'x', tags: [] },
        { _id: 's3', count: 1, title: 'y', tags: [] },
      ]);
      clock.advance(1000);
      const decrement = (ids: string[], extra: unknown[] = []) =>
        bulkPatch({
          dataCollectionId: 'cond',
          returnEntity: true,
          condition: { filter: { count: { $gt: 0 } } },
          patches: ids.map((dataItemId) => ({ dataItemId, fieldModifications: [INC('count', -1), ...extra] })),
        });
      for (const extra of [[], [JS_ONLY]]) {
        // Both the SQL path and the JS path check the condition on the row they write.
        await s.store.db.run(sql`UPDATE items SET data = ${storeName === 'postgres' ? sql`jsonb_set(data, '{count}', '2')` : sql`json_set(data, '$.count', 2)`} WHERE collection_id = 'cond' AND id = 's1'`);
        await s.store.db.run(sql`UPDATE items SET data = ${storeName === 'postgres' ? sql`jsonb_set(data, '{count}', '1')` : sql`json_set(data, '$.count', 1)`} WHERE collection_id = 'cond' AND id = 's3'`);
        const before = await row('cond', 's2');
        const r = await decrement(['s1', 's2', 's3', 'nope'], extra);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        const [r1, r2, r3, r4] = r.body.results;
        assert.deepEqual([r1.itemMetadata, r1.dataItem.data.count], [{ id: 's1', originalIndex: 0, success: true }, 1]);
        assert.equal(r2.itemMetadata.success, false);
        assert.equal(r2.itemMetadata.id, 's2');
        assert.equal(r2.itemMetadata.originalIndex, 1);
        assert.equal(r2.itemMetadata.error.code, 'WDE0073');
        assert.equal(typeof r2.itemMetadata.error.description, 'string');
        assert.equal(r2.itemMetadata.error.data.itemId, 's2');
        assert.equal('dataItem' in r2, false);
        assert.deepEqual([r3.itemMetadata, r3.dataItem.data.count], [{ id: 's3', originalIndex: 2, success: true }, 0]);
        assert.equal(r4.itemMetadata.error.code, 'WDE0073');
        assert.equal(r4.itemMetadata.id, 'nope');
        assert.deepEqual(r.body.bulkActionMetadata, { totalSuccesses: 2, totalFailures: 2 });
        assert.deepEqual(await row('cond', 's2'), before, 's2 is untouched, _updatedDate included');
        // Again: now only s1 (count 1) still matches.
        const again = await decrement(['s1', 's2', 's3'], extra);
        assert.deepEqual(
          again.body.results.map((x: Obj) => x.itemMetadata.success),
          [true, false, false],
        );
        assert.deepEqual([await fields('cond', 's1'), await fields('cond', 's3')].map((f) => f!.count), [0, 0]);
      }
      // The condition is checked against the item before the patch, and can use system fields.
      const bySystem = await bulkPatch({
        dataCollectionId: 'cond',
        condition: { filter: { $and: [{ _id: { $in: ['s1', 's2'] } }, { title: 'x' }] } },
        patches: ['s1', 's2', 's3'].map((dataItemId) => ({ dataItemId, fieldModifications: [SET('title', 'changed')] })),
      });
      assert.deepEqual(
        bySystem.body.results.map((x: Obj) => [x.itemMetadata.success, x.itemMetadata.error?.code]),
        [
          [true, undefined],
          [true, undefined],
          [false, 'WDE0073'],
        ],
      );
      assert.deepEqual(await fields('cond', 's3').then((f) => f!.title), 'y');
    });

    test('missing ids fail per item with WDE0073; the other patches apply', async () => {
      await collection('miss');
      await insert('miss', [{ _id: 'a', n: 1 }, { _id: 'b', n: 1 }]);
      for (const extra of [[], [JS_ONLY]]) {
        const r = await bulkPatch({
          dataCollectionId: 'miss',
          patches: ['ghost1', 'a', 'ghost2', 'b'].map((dataItemId) => ({ dataItemId, fieldModifications: [INC('n', 1), ...extra] })),
        });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.deepEqual(
          r.body.results.map((x: Obj) => [x.action, x.itemMetadata.id, x.itemMetadata.originalIndex, x.itemMetadata.success, x.itemMetadata.error?.code]),
          [
            ['PATCH', 'ghost1', 0, false, 'WDE0073'],
            ['PATCH', 'a', 1, true, undefined],
            ['PATCH', 'ghost2', 2, false, 'WDE0073'],
            ['PATCH', 'b', 3, true, undefined],
          ],
        );
        assert.deepEqual(r.body.results[0].itemMetadata.error.data, { itemId: 'ghost1', collectionId: 'miss' });
        assert.deepEqual(r.body.bulkActionMetadata, { totalSuccesses: 2, totalFailures: 2 });
      }
      assert.deepEqual([await fields('miss', 'a'), await fields('miss', 'b')], [{ n: 3 }, { n: 3 }]);
      assert.equal(await row('miss', 'ghost1'), undefined, 'a patch never creates an item');
    });

    test('type clashes fail per item with WDE0075 and leave the item exactly as it was', async () => {
      clock.set(T0);
      await collection('clash');
      const base = { str: 'abc', num: 5, huge: 1e308, obj: { k: 1 }, arr: [1], d: { $date: '2024-01-01T00:00:00.000Z' }, bool: true, title: 'orig' };
      const cases: [string, Obj][] = [
        ['incString', INC('str', 1)],
        ['incBool', INC('bool', 1)],
        ['incDate', INC('d', 1)],
        ['incObject', INC('obj', 1)],
        ['incArray', INC('arr', 1)],
        ['appendNumber', APPEND('num', 1)],
        ['appendString', APPEND('str', 1)],
        ['appendObject', APPEND('obj', 1)],
        ['pullString', PULL('str', 'a')],
        ['pullObject', PULL('obj', 1)],
        ['throughScalar', SET('num.x', 1)],
        ['throughString', INC('str.len', 1)],
        ['throughArray', SET('arr.0', 2)],
        ['throughDate', SET('d.x', 1)],
        ['throughBool', APPEND('bool.x.y', 1)],
        ['removeThroughScalar', REMOVE('num.x')],
        ['pullThroughString', PULL('str.x', 1)],
        ['incrementToInfinity', INC('huge', 1e308)],
      ];
      await insert('clash', [...cases.map(([id]) => ({ _id: id, ...base })), { _id: 'fine', ...base }]);
      const before = await snapshot();
      clock.advance(5000);
      // An earlier, valid modification in the same patch is not applied either: an item gets all or nothing.
      const r = await bulkPatch({
        dataCollectionId: 'clash',
        returnEntity: true,
        patches: [
          ...cases.map(([id, m]) => ({ dataItemId: id, fieldModifications: [SET('title', 'changed'), m, SET('after', 1)] })),
          { dataItemId: 'fine', fieldModifications: [SET('title', 'changed')] },
        ],
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      cases.forEach(([id, m], i) => {
        const res = r.body.results[i];
        assert.equal(res.action, 'PATCH');
        assert.deepEqual(Object.keys(res).sort(), ['action', 'itemMetadata'], `${id}: no dataItem for a failure`);
        assert.equal(res.itemMetadata.id, id);
        assert.equal(res.itemMetadata.originalIndex, i);
        assert.equal(res.itemMetadata.success, false, id);
        assert.equal(res.itemMetadata.error.code, 'WDE0075', `${id}: ${JSON.stringify(res.itemMetadata.error)}`);
        assert.equal(typeof res.itemMetadata.error.description, 'string');
        assert.deepEqual(res.itemMetadata.error.data, { fieldPath: m.fieldPath, action: m.action }, id);
      });
      const last = r.body.results[cases.length];
      assert.equal(last.itemMetadata.success, true);
      assert.equal(last.dataItem.data.title, 'changed');
      assert.deepEqual(r.body.bulkActionMetadata, { totalSuccesses: 1, totalFailures: cases.length });
      const after = await snapshot();
      assert.deepEqual(
        after.filter((x) => x.id !== 'fine'),
        before.filter((x) => x.id !== 'fine'),
        'failed items are unchanged, _updatedDate included',
      );
    });

    test('an item that would exceed the size limit fails per item with WDE0009', async () => {
      await collection('big');
      await insert('big', [{ _id: 'a', n: 1 }, { _id: 'b', n: 1 }]);
      const r = await bulkPatch({
        dataCollectionId: 'big',
        patches: [
          { dataItemId: 'a', fieldModifications: [SET('blob', 'x'.repeat(600 * 1024))] },
          { dataItemId: 'b', fieldModifications: [INC('n', 1)] },
        ],
      });
      assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 500));
      assert.equal(r.body.results[0].itemMetadata.error.code, 'WDE0009');
      assert.equal(r.body.results[1].itemMetadata.success, true);
      assert.deepEqual(await fields('big', 'a'), { n: 1 });
    });

    test('returnEntity: absent or false returns no items; true returns each patched item', async () => {
      await collection('ret');
      await insert('ret', [{ _id: 'a', n: 1 }, { _id: 'b', n: 1 }]);
      const patches = ['a', 'missing', 'b'].map((dataItemId) => ({ dataItemId, fieldModifications: [INC('n', 1)] }));
      for (const returnEntity of [undefined, false, 'false']) {
        const r = await bulkPatch({ dataCollectionId: 'ret', patches, ...(returnEntity === undefined ? {} : { returnEntity }) });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.deepEqual(Object.keys(r.body).sort(), ['bulkActionMetadata', 'results']);
        for (const x of r.body.results) assert.deepEqual(Object.keys(x).sort(), ['action', 'itemMetadata']);
        assert.deepEqual(r.body.results[0].itemMetadata, { id: 'a', originalIndex: 0, success: true });
        assert.deepEqual(Object.keys(r.body.results[1].itemMetadata).sort(), ['error', 'id', 'originalIndex', 'success']);
        assert.deepEqual(Object.keys(r.body.results[1].itemMetadata.error).sort(), ['code', 'data', 'description']);
      }
      const r = await bulkPatch({ dataCollectionId: 'ret', patches, returnEntity: true });
      assert.deepEqual(
        r.body.results.map((x: Obj) => x.dataItem && [x.dataItem.id, x.dataItem.dataCollectionId, x.dataItem.data._id, x.dataItem.data.n]),
        [['a', 'ret', 'a', 5], undefined, ['b', 'ret', 'b', 5]],
      );
      assert.deepEqual(r.body.results[0].dataItem.data, (await row('ret', 'a'))!.data);
    });

    test('drafts: patched only with publishPluginOptions.includeDraftItems, and they stay drafts', async () => {
      await collection('drafts', { plugins: [{ type: 'PUBLISH' }] });
      await insert('drafts', [{ _id: 'pub', n: 1 }, { _id: 'dra', n: 1 }]);
      await s.store.db.run(sql`UPDATE items SET publish_status = 'DRAFT' WHERE collection_id = 'drafts' AND id = 'dra'`);
      const patches = ['pub', 'dra'].map((dataItemId) => ({ dataItemId, fieldModifications: [INC('n', 1)] }));
      for (const extra of [{}, { publishPluginOptions: { includeDraftItems: false } }]) {
        const hidden = await bulkPatch({ dataCollectionId: 'drafts', returnEntity: true, patches, ...extra });
        assert.deepEqual(
          hidden.body.results.map((x: Obj) => [x.itemMetadata.success, x.itemMetadata.error?.code, x.dataItem?.data._publishStatus]),
          [
            [true, undefined, 'PUBLISHED'],
            [false, 'WDE0073', undefined],
          ],
        );
      }
      assert.deepEqual(await fields('drafts', 'dra'), { n: 1 });
      const shown = await bulkPatch({ dataCollectionId: 'drafts', returnEntity: true, patches, publishPluginOptions: { includeDraftItems: true } });
      assert.deepEqual(
        shown.body.results.map((x: Obj) => [x.itemMetadata.success, x.dataItem?.data._publishStatus, x.dataItem?.data.n]),
        [
          [true, 'PUBLISHED', 4],
          [true, 'DRAFT', 2],
        ],
      );
      assert.equal((await row('drafts', 'dra'))!.publish_status, 'DRAFT');
      assert.equal('_publishStatus' in (await row('drafts', 'dra'))!.data, false, '_publishStatus is a column, not stored data');
      // The single-item call reads the same option.
      const single = await api('POST', `${DATA}/items/patch`, {
        dataCollectionId: 'drafts',
        patch: { dataItemId: 'dra', fieldModifications: [INC('n', 1)] },
        publishPluginOptions: { includeDraftItems: true },
      });
      assert.equal(single.status, 200, JSON.stringify(single.body));
      assert.equal(single.body.dataItem.data.n, 3);
      expectEnvelope(await api('POST', `${DATA}/items/patch`, { dataCollectionId: 'drafts', patch: { dataItemId: 'dra', fieldModifications: [INC('n', 1)] } }), 404, 'WDE0073');
    });

    test('environment: SANDBOX patches only the sandbox copy; SANDBOX_PREFERRED falls back to LIVE', async () => {
      await collection('envs');
      await insert('envs', [{ _id: 'e', n: 0 }]);
      const patch = (environment?: string) =>
        bulkPatch({ dataCollectionId: 'envs', ...(environment ? { environment } : {}), patches: [{ dataItemId: 'e', fieldModifications: [INC('n', 1)] }] });
      expectEnvelope(await patch('SANDBOX'), 400, 'WDE0119');
      assert.equal((await patch('SANDBOX_PREFERRED')).status, 200);
      assert.deepEqual(await fields('envs', 'e'), { n: 1 });
      assert.equal((await api('POST', '/cairn/v1/collections/envs/sandbox', { enabled: true })).status, 200);
      assert.equal((await patch('SANDBOX')).status, 200);
      assert.equal((await patch('SANDBOX_PREFERRED')).status, 200);
      assert.deepEqual(await fields('envs', 'e', 'SANDBOX'), { n: 3 });
      assert.deepEqual(await fields('envs', 'e', 'LIVE'), { n: 1 });
      assert.equal((await patch('LIVE')).status, 200);
      assert.equal((await patch()).status, 200);
      assert.deepEqual(await fields('envs', 'e', 'LIVE'), { n: 3 });
      assert.deepEqual(await fields('envs', 'e', 'SANDBOX'), { n: 3 });
      const single = await api('PATCH', `${DATA}/items/e`, { dataCollectionId: 'envs', environment: 'SANDBOX', patch: { fieldModifications: [SET('where', 'sb')] } });
      assert.equal(single.status, 200, JSON.stringify(single.body));
      assert.deepEqual(await fields('envs', 'e', 'SANDBOX'), { n: 3, where: 'sb' });
      assert.deepEqual(await fields('envs', 'e', 'LIVE'), { n: 3 });
      expectEnvelope(await patch('PRODUCTION'), 400, 'WDE0075');
    });

    test('single Patch: POST /items/patch and PATCH /items/{id}, under both prefixes', async () => {
      clock.set(T0);
      await collection('single');
      await insert('single', [{ _id: 'one', n: 1, tags: ['a'] }]);
      let expected = 1;
      for (const prefix of [DATA, CLOUD]) {
        clock.advance(1000);
        const post = await api('POST', `${prefix}/items/patch`, {
          dataCollectionId: 'single',
          patch: { dataItemId: 'one', fieldModifications: [INC('n', 1), APPEND('tags', prefix)] },
        });
        expected++;
        assert.equal(post.status, 200, JSON.stringify(post.body));
        assert.deepEqual(Object.keys(post.body), ['dataItem']);
        assert.equal(post.body.dataItem.id, 'one');
        assert.equal(post.body.dataItem.dataCollectionId, 'single');
        assert.deepEqual(post.body.dataItem.data, (await row('single', 'one'))!.data);
        assert.equal(post.body.dataItem.data.n, expected);
        assert.deepEqual(post.body.dataItem.data._updatedDate, { $date: now() });
        assert.deepEqual(post.body.dataItem.data._createdDate, { $date: new Date(T0).toISOString() });
        // The REST reference's form: the id in the path, dataCollectionId in the body or the query string.
        const rest = await api('PATCH', `${prefix}/items/one`, { dataCollectionId: 'single', patch: { fieldModifications: [INC('n', 1)] } });
        expected++;
        assert.equal(rest.status, 200, JSON.stringify(rest.body));
        assert.equal(rest.body.dataItem.data.n, expected);
        const query = await api('PATCH', `${prefix}/items/one?dataCollectionId=single`, { patch: { dataItemId: 'one', fieldModifications: [INC('n', 1)] } });
        expected++;
        assert.equal(query.status, 200, JSON.stringify(query.body));
        assert.equal(query.body.dataItem.data.n, expected);
      }
      assert.deepEqual(await fields('single', 'one'), { n: expected, tags: ['a', DATA, CLOUD] });
      // Errors of a single call are thrown, with the item left unchanged.
      const before = await snapshot();
      expectEnvelope(await api('POST', `${DATA}/items/patch`, { dataCollectionId: 'single', patch: { dataItemId: 'ghost', fieldModifications: [INC('n', 1)] } }), 404, 'WDE0073');
      expectEnvelope(await api('PATCH', `${CLOUD}/items/ghost`, { dataCollectionId: 'single', patch: { fieldModifications: [INC('n', 1)] } }), 404, 'WDE0073');
      // The path names the item: a body naming another one is refused, and neither changes.
      expectEnvelope(await api('PATCH', `${DATA}/items/one`, { dataCollectionId: 'single', patch: { dataItemId: 'ghost', fieldModifications: [INC('n', 1)] } }), 400, 'WDE0075');
      expectEnvelope(
        await api('POST', `${DATA}/items/patch`, { dataCollectionId: 'single', patch: { dataItemId: 'one', fieldModifications: [SET('x', 1), INC('tags', 1)] } }),
        400,
        'WDE0075',
      );
      expectEnvelope(
        await api('POST', `${DATA}/items/patch`, {
          dataCollectionId: 'single',
          condition: { filter: { n: { $lt: 0 } } },
          patch: { dataItemId: 'one', fieldModifications: [INC('n', 1)] },
        }),
        404,
        'WDE0073',
      );
      expectEnvelope(await api('POST', `${DATA}/items/patch`, { dataCollectionId: 'single' }), 400, 'WDE0002');
      expectEnvelope(await api('POST', `${DATA}/items/patch`, { dataCollectionId: 'single', patch: { dataItemId: 'one' } }), 400, 'WDE0080');
      expectEnvelope(await api('POST', `${DATA}/items/patch`, { dataCollectionId: 'single', patch: { dataItemId: 'one', fieldModifications: [] } }), 400, 'WDE0080');
      expectEnvelope(await api('POST', `${DATA}/items/patch`, { dataCollectionId: 'nope', patch: { dataItemId: 'one', fieldModifications: [INC('n', 1)] } }), 404, 'WDE0025');
      assert.deepEqual(await snapshot(), before);
      // A passing condition patches.
      const ok = await api('PATCH', `${DATA}/items/one`, { dataCollectionId: 'single', condition: { filter: { n: expected } }, patch: { fieldModifications: [INC('n', 1)] } });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(ok.body.dataItem.data.n, expected + 1);
    });

    test('bulk patch under both prefixes; suppressHooks is accepted', async () => {
      await collection('prefix');
      await insert('prefix', [{ _id: 'a', n: 0 }]);
      for (const prefix of [DATA, CLOUD]) {
        for (const suppressHooks of [undefined, true, false]) {
          const r = await bulkPatch(
            { dataCollectionId: 'prefix', ...(suppressHooks === undefined ? {} : { suppressHooks }), patches: [{ dataItemId: 'a', fieldModifications: [INC('n', 1)] }] },
            prefix,
          );
          assert.equal(r.status, 200, JSON.stringify(r.body));
          assert.deepEqual(r.body, { results: [{ action: 'PATCH', itemMetadata: { id: 'a', originalIndex: 0, success: true } }], bulkActionMetadata: { totalSuccesses: 1, totalFailures: 0 } });
        }
      }
      assert.deepEqual(await fields('prefix', 'a'), { n: 6 });
    });

    test('system fields cannot be patched: the request is rejected with 400 and nothing changes', async () => {
      await collection('sys');
      await insert('sys', [{ _id: 'a', n: 1 }]);
      const before = await snapshot();
      for (const m of [
        SET('_id', 'b'),
        SET('_createdDate', { $date: '2020-01-01T00:00:00.000Z' }),
        SET('_updatedDate', { $date: '2020-01-01T00:00:00.000Z' }),
        SET('_owner', 'someone'),
        SET('_publishStatus', 'DRAFT'),
        REMOVE('_id'),
        REMOVE('_owner'),
        INC('_updatedDate', 1),
        SET('_id.x', 1),
        SET('_createdDate.x', 1),
      ]) {
        const bulk = await bulkPatch({
          dataCollectionId: 'sys',
          patches: [
            { dataItemId: 'a', fieldModifications: [INC('n', 1)] },
            { dataItemId: 'a', fieldModifications: [m] },
          ],
        });
        expectEnvelope(bulk, 400, 'WDE0080');
        expectEnvelope(await api('PATCH', `${DATA}/items/a`, { dataCollectionId: 'sys', patch: { fieldModifications: [INC('n', 1), m] } }), 400, 'WDE0080');
      }
      assert.deepEqual(await snapshot(), before);
    });

    test('requests invalid as a whole answer 400 (or 404 for a missing collection) and change nothing', async () => {
      await collection('whole');
      await insert('whole', [{ _id: 'keep', n: 1, tags: [] }]);
      const good = { dataItemId: 'keep', fieldModifications: [INC('n', 1)] };
      const withMods = (...m: unknown[]) => ({ dataCollectionId: 'whole', patches: [good, { dataItemId: 'keep', fieldModifications: m }] });
      const cases: [string, Obj, number, string][] = [
        ['no patches', { dataCollectionId: 'whole' }, 400, 'WDE0080'],
        ['patches empty', { dataCollectionId: 'whole', patches: [] }, 400, 'WDE0080'],
        ['patches not an array', { dataCollectionId: 'whole', patches: good }, 400, 'WDE0080'],
        ['1001 patches', { dataCollectionId: 'whole', patches: Array.from({ length: 1001 }, () => good) }, 400, 'WDE0080'],
        ['patch not an object', { dataCollectionId: 'whole', patches: [good, 'keep'] }, 400, 'WDE0080'],
        ['no dataItemId', { dataCollectionId: 'whole', patches: [good, { fieldModifications: [INC('n', 1)] }] }, 400, 'WDE0002'],
        ['empty dataItemId', { dataCollectionId: 'whole', patches: [good, { dataItemId: '', fieldModifications: [INC('n', 1)] }] }, 400, 'WDE0002'],
        ['numeric dataItemId', { dataCollectionId: 'whole', patches: [good, { dataItemId: 7, fieldModifications: [INC('n', 1)] }] }, 400, 'WDE0002'],
        ['no fieldModifications', { dataCollectionId: 'whole', patches: [good, { dataItemId: 'keep' }] }, 400, 'WDE0080'],
        ['empty fieldModifications', withMods(), 400, 'WDE0080'],
        ['101 modifications', withMods(...Array.from({ length: 101 }, () => INC('n', 1))), 400, 'WDE0080'],
        ['modification not an object', withMods('SET_FIELD'), 400, 'WDE0080'],
        ['unknown action', withMods({ fieldPath: 'n', action: 'MULTIPLY_FIELD', incrementFieldOptions: { value: 2 } }), 400, 'WDE0075'],
        ['lower-case action', withMods({ fieldPath: 'n', action: 'set_field', setFieldOptions: { value: 2 } }), 400, 'WDE0075'],
        ['no action', withMods({ fieldPath: 'n', setFieldOptions: { value: 2 } }), 400, 'WDE0075'],
        ['UNKNOWN_ACTION', withMods({ fieldPath: 'n', action: 'UNKNOWN_ACTION' }), 400, 'WDE0075'],
        ['SET_FIELD with incrementFieldOptions', withMods({ fieldPath: 'n', action: 'SET_FIELD', setFieldOptions: { value: 1 }, incrementFieldOptions: { value: 1 } }), 400, 'WDE0080'],
        ['SET_FIELD with only incrementFieldOptions', withMods({ fieldPath: 'n', action: 'SET_FIELD', incrementFieldOptions: { value: 1 } }), 400, 'WDE0080'],
        ['REMOVE_FIELD with setFieldOptions', withMods({ fieldPath: 'n', action: 'REMOVE_FIELD', setFieldOptions: { value: 1 } }), 400, 'WDE0080'],
        ['INCREMENT_FIELD with appendToArrayOptions', withMods({ fieldPath: 'n', action: 'INCREMENT_FIELD', appendToArrayOptions: { value: 1 } }), 400, 'WDE0080'],
        ['APPEND_TO_ARRAY with removeFromArrayOptions', withMods({ fieldPath: 'tags', action: 'APPEND_TO_ARRAY', removeFromArrayOptions: { value: 1 } }), 400, 'WDE0080'],
        ['SET_FIELD without options', withMods({ fieldPath: 'n', action: 'SET_FIELD' }), 400, 'WDE0080'],
        ['APPEND_TO_ARRAY without value', withMods({ fieldPath: 'tags', action: 'APPEND_TO_ARRAY', appendToArrayOptions: {} }), 400, 'WDE0080'],
        ['REMOVE_FROM_ARRAY options not an object', withMods({ fieldPath: 'tags', action: 'REMOVE_FROM_ARRAY', removeFromArrayOptions: 1 }), 400, 'WDE0080'],
        ['INCREMENT_FIELD by a string', withMods(INC('n', '1')), 400, 'WDE0080'],
        ['INCREMENT_FIELD by null', withMods(INC('n', null)), 400, 'WDE0080'],
        ['INCREMENT_FIELD by a boolean', withMods(INC('n', true)), 400, 'WDE0080'],
        ['no fieldPath', withMods({ action: 'REMOVE_FIELD' }), 400, 'WDE0147'],
        ['empty fieldPath', withMods(SET('', 1)), 400, 'WDE0147'],
        ['fieldPath with an empty segment', withMods(SET('a..b', 1)), 400, 'WDE0147'],
        ['fieldPath with a leading dot', withMods(SET('.a', 1)), 400, 'WDE0147'],
        ['fieldPath with a space', withMods(SET('a b', 1)), 400, 'WDE0147'],
        ['fieldPath not a string', withMods(SET(['a'] as unknown as string, 1)), 400, 'WDE0147'],
        ['fieldPath starting with $', withMods(SET('$set', 1)), 400, 'WDE0134'],
        ['value with a $ key', withMods(SET('o', { $inc: 1 })), 400, 'WDE0134'],
        ['value with an invalid date', withMods(SET('d', { $date: 'not a date' })), 400, 'WDE0075'],
        ['condition not an object', { ...withMods(INC('n', 1)), condition: 'n > 0' }, 400, 'WDE0080'],
        ['condition with an unknown operator', { ...withMods(INC('n', 1)), condition: { filter: { n: { $near: 1 } } } }, 400, 'WDE0061'],
        ['condition with $regex', { ...withMods(INC('n', 1)), condition: { filter: { n: { $regex: '.*' } } } }, 400, 'WDE0070'],
        ['returnEntity not a boolean', { ...withMods(INC('n', 1)), returnEntity: 'yes' }, 400, 'WDE0080'],
        ['suppressHooks not a boolean', { ...withMods(INC('n', 1)), suppressHooks: 1 }, 400, 'WDE0080'],
        ['includeDraftItems not a boolean', { ...withMods(INC('n', 1)), publishPluginOptions: { includeDraftItems: 'all' } }, 400, 'WDE0080'],
        ['unknown environment', { ...withMods(INC('n', 1)), environment: 'STAGING' }, 400, 'WDE0075'],
        ['no dataCollectionId', { patches: [good] }, 400, 'WDE0001'],
        ['unknown collection', { dataCollectionId: 'nowhere', patches: [good] }, 404, 'WDE0025'],
      ];
      const before = await snapshot();
      for (const [name, body, status, code] of cases) {
        const r = await bulkPatch(body);
        assert.equal(r.status, status, `${name}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body?.details?.applicationError?.code, code, `${name}: ${JSON.stringify(r.body)}`);
      }
      // Not JSON, or not an object.
      expectEnvelope(await api('POST', `${DATA}/bulk/items/patch`, '{"dataCollectionId": "whole", "patches": ['), 400, 'WDE0080');
      expectEnvelope(await api('POST', `${DATA}/bulk/items/patch`, [good]), 400, 'WDE0080');
      assert.deepEqual(await snapshot(), before);
    });

    test('1000 patches in one request, on the SQL path and on the JS path', async () => {
      await collection('thousand');
      const ids = Array.from({ length: 1000 }, (_, i) => `k${String(i).padStart(4, '0')}`);
      await insert('thousand', ids.map((_id) => ({ _id, n: 0, tags: [] })));
      const fast = await bulkPatch({ dataCollectionId: 'thousand', patches: ids.map((dataItemId) => ({ dataItemId, fieldModifications: [INC('n', 1), APPEND('tags', 'f')] })) });
      assert.deepEqual(fast.body.bulkActionMetadata, { totalSuccesses: 1000, totalFailures: 0 });
      const slow = await bulkPatch({ dataCollectionId: 'thousand', patches: ids.map((dataItemId) => ({ dataItemId, fieldModifications: [INC('n', 1), APPEND('tags', 's'), JS_ONLY] })) });
      assert.deepEqual(slow.body.bulkActionMetadata, { totalSuccesses: 1000, totalFailures: 0 });
      assert.deepEqual(
        slow.body.results.map((x: Obj) => x.itemMetadata.originalIndex),
        ids.map((_, i) => i),
      );
      const count = await api('POST', `${DATA}/items/count`, { dataCollectionId: 'thousand', filter: { n: 2, tags: { $hasAll: ['f', 's'] } } });
      assert.deepEqual(count.body, { totalCount: 1000 });
    });

    test('injection attempts: field paths are rejected, values and conditions are data', async () => {
      await collection('inj');
      await collection('inj_other');
      await insert('inj', [{ _id: 'a', title: 'x', n: 1, tags: [] }, { _id: 'b', title: 'x', n: 1, tags: [] }]);
      await insert('inj_other', [{ _id: 'a', title: 'x' }]);
      const before = await snapshot();
      for (const fieldPath of [
        `a'); DROP TABLE items; --`,
        `title' || '`,
        'a"]',
        'a}',
        '{a}',
        'a,b',
        'a\\b',
        'tags[0]',
        'a;b',
        "a'",
        'a\u0000b',
        '$."x"',
        'a/*',
      ]) {
        const r = await bulkPatch({ dataCollectionId: 'inj', patches: ['a', 'b'].map((dataItemId) => ({ dataItemId, fieldModifications: [SET(fieldPath, 1)] })) });
        assert.equal(r.status, 400, `${JSON.stringify(fieldPath)}: ${JSON.stringify(r.body)}`);
        // A NUL anywhere in a body is refused before parsing (WDE0080); other bad paths by the path parser.
        const codes = fieldPath.includes('\u0000') ? ['WDE0080', 'WDE0147'] : ['WDE0147', 'WDE0134'];
        assert.ok(codes.includes(r.body.details.applicationError.code), JSON.stringify(r.body));
      }
      // Condition keys are paths too; condition values are bound.
      expectEnvelope(await bulkPatch({ dataCollectionId: 'inj', condition: { filter: { "title') OR 1=1 --": 'x' } }, patches: [{ dataItemId: 'a', fieldModifications: [INC('n', 1)] }] }), 400, 'WDE0147');
      assert.deepEqual(await snapshot(), before);
      for (const extra of [[], [JS_ONLY]]) {
        const r = await bulkPatch({
          dataCollectionId: 'inj',
          condition: { filter: { title: "x' OR '1'='1" } },
          patches: ['a', 'b'].map((dataItemId) => ({ dataItemId, fieldModifications: [INC('n', 1), ...extra] })),
        });
        assert.deepEqual(r.body.bulkActionMetadata, { totalSuccesses: 0, totalFailures: 2 });
        const ids = await bulkPatch({ dataCollectionId: 'inj', patches: [{ dataItemId: "a' OR '1'='1", fieldModifications: [INC('n', 1), ...extra] }] });
        assert.equal(ids.body.results[0].itemMetadata.error.code, 'WDE0073');
      }
      assert.deepEqual(await snapshot(), before);
      // Hostile values and unusual (but valid) segment names are stored exactly, on both paths.
      const values = ["'); DROP TABLE items; --", '"}]', '\\', "O'Brien", '{"$date":"2024-01-01T00:00:00.000Z"}', '🦀 ünïcødé', '$1', '?', '@vid'];
      for (const extra of [[], [JS_ONLY]]) {
        const r = await bulkPatch({
          dataCollectionId: 'inj',
          patches: ['a', 'b'].map((dataItemId, i) => ({
            dataItemId,
            fieldModifications: [
              SET('title', values[i]),
              ...values.map((v, j) => SET(`v${j}`, v)),
              APPEND('tags', values[0]),
              SET('null', 'n'),
              SET('NULL', 'N'),
              SET('true', 't'),
              SET('0', 'zero'),
              SET('ключ', 'ru'),
              SET('数据', 'zh'),
              SET('with-dash', 'd'),
              ...extra,
            ],
          })),
        });
        assert.deepEqual(r.body.bulkActionMetadata, { totalSuccesses: 2, totalFailures: 0 }, JSON.stringify(r.body));
      }
      for (const [i, id] of ['a', 'b'].entries()) {
        const f = await fields('inj', id);
        assert.deepEqual(f, {
          title: values[i],
          n: 1,
          tags: [values[0], values[0]],
          ...Object.fromEntries(values.map((v, j) => [`v${j}`, v])),
          null: 'n',
          NULL: 'N',
          true: 't',
          0: 'zero',
          ключ: 'ru',
          数据: 'zh',
          'with-dash': 'd',
        });
      }
      // Nothing leaked into the other collection, and the table is still there.
      assert.deepEqual(await fields('inj_other', 'a'), { title: 'x' });
      const cond = await bulkPatch({ dataCollectionId: 'inj', condition: { filter: { title: values[0] } }, patches: ['a', 'b'].map((dataItemId) => ({ dataItemId, fieldModifications: [INC('n', 1)] })) });
      assert.deepEqual(cond.body.results.map((x: Obj) => x.itemMetadata.success), [true, false]);
    });
  });
}
