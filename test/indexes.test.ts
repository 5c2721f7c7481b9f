/**
 * Indexes: POST/GET/DELETE /wix-data/v2/indexes (and /_api/cloud-data/v2/indexes, and the
 * published client's `indexes` module), built as real database indexes (checked in sqlite_master
 * and pg_indexes), the built-in `_id` and `_createdDate` indexes, the limits and validation, and
 * what a unique index means for item writes, identically on both stores:
 * - two items of one collection and environment may not share a value (WDE0123, per item);
 * - a missing field and a JSON null never clash;
 * - values of different types never clash (5 and "5");
 * - caseInsensitive folds strings only: "Ann" and "ANN" clash, equal numbers still clash.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { indexes } from '@wix/data';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, call, recordingClientFor, type TestServer } from './helpers/server.js';
import { render, sql, type Sql } from '../src/store/sql.js';

const P = '/wix-data/v2';
const PREFIXES = ['/wix-data/v2', '/_api/cloud-data/v2'] as const;

const BUILT_IN = (c: string) => [
  { name: '_id_', fields: [{ path: '_id', order: 'ASC' }], unique: true, caseInsensitive: false, status: 'ACTIVE', dataCollectionId: c },
  { name: '_createdDate_', fields: [{ path: '_createdDate', order: 'DESC' }], unique: false, caseInsensitive: false, status: 'ACTIVE', dataCollectionId: c },
];

function assertError(r: { status: number; body: any }, status: number, code: string | string[], data?: Record<string, unknown>) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  const codes = Array.isArray(code) ? code : [code];
  assert.ok(codes.includes(r.body?.details?.applicationError?.code), JSON.stringify(r.body));
  assert.equal(r.body.details.applicationError.description, r.body.message);
  if (data) assert.deepEqual(r.body.details.applicationError.data, data);
}

for (const storeName of STORE_NAMES) {
  describe(`indexes (${storeName})`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(storeName, { runner: false });
    });
    after(() => s.close());

    /** The real indexes on the items table: name -> definition. */
    const dbIndexes = async (): Promise<Map<string, string>> => {
      const rows =
        storeName === 'sqlite'
          ? await s.store.db.all<{ name: string; def: string | null }>(sql`SELECT name, sql AS def FROM sqlite_master WHERE type = 'index' AND tbl_name = 'items'`)
          : await s.store.db.all<{ name: string; def: string }>(
              sql`SELECT indexname AS name, indexdef AS def FROM pg_indexes WHERE tablename = 'items' AND schemaname = current_schema()`,
            );
      return new Map(rows.map((r) => [r.name, r.def ?? '']));
    };
    /** Runs a query over HTTP and captures the SQL statement it ran on `items` (for EXPLAIN). */
    const queryStatement = async (c: string, filter: Record<string, unknown>) => {
      const db = s.store.db;
      const seen: Sql[] = [];
      const all = db.all.bind(db);
      (db as { all: typeof db.all }).all = ((q: Sql) => {
        seen.push(q);
        return all(q);
      }) as typeof db.all;
      let res;
      try {
        res = await call(s.url, 'POST', `${P}/items/query`, { dataCollectionId: c, query: { filter } });
      } finally {
        (db as { all: typeof db.all }).all = all;
      }
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const statement = seen.find((q) => render(q, db.dialect).text.includes('FROM items'));
      assert.ok(statement, 'the query statement was captured');
      return { res, statement };
    };
    /** The SQL name Cairn gave an API index. */
    const sqlNameOf = async (collection: string, name: string) =>
      (await s.store.db.get<{ sql_names: string }>(sql`SELECT sql_names FROM item_indexes WHERE collection_id = ${collection} AND name = ${name}`))?.sql_names;

    const collection = async (id: string) => {
      const r = await call(s.url, 'POST', `${P}/collections`, { collection: { id } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    const createIndex = (c: string, index: unknown, prefix: string = P) => call(s.url, 'POST', `${prefix}/indexes`, { dataCollectionId: c, index });
    const listIndexes = (c: string, prefix: string = P) => call(s.url, 'GET', `${prefix}/indexes?dataCollectionId=${encodeURIComponent(c)}`);
    const dropIndex = (c: string, name: string, prefix: string = P) =>
      call(s.url, 'DELETE', `${prefix}/indexes?dataCollectionId=${encodeURIComponent(c)}&indexName=${encodeURIComponent(name)}`);
    const insert = (c: string, id: string, data: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
      call(s.url, 'POST', `${P}/items`, { dataCollectionId: c, dataItem: { id, data }, ...extra });
    const ok = async (p: Promise<{ status: number; body: any }>) => {
      const r = await p;
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r;
    };
    const clash = async (p: Promise<{ status: number; body: any }>, itemId: string) => assertError(await p, 409, 'WDE0123', { itemId });

    test('a new collection lists the built-in _id and _createdDate indexes, backed by real indexes', async () => {
      await collection('plain');
      for (const prefix of PREFIXES) {
        const r = await listIndexes('plain', prefix);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.deepEqual(r.body, { indexes: BUILT_IN('plain'), pagingMetadata: { count: 2, offset: 0, total: 2, hasNext: false } });
      }
      const defs = await dbIndexes();
      const flat = (d: string) => d.replace(/\s+/g, ' ');
      if (storeName === 'sqlite') {
        // SQLite: items is a WITHOUT ROWID table, stored in (collection_id, env, id) order.
        const table = await s.store.db.get<{ sql: string }>(sql`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'items'`);
        assert.match(flat(table?.sql ?? ''), /PRIMARY KEY \(collection_id, env, id\) \) WITHOUT ROWID$/, 'the primary key (collection_id, env, id) indexes _id');
      } else {
        assert.ok(
          [...defs.values()].some((d) => /UNIQUE INDEX .*\(collection_id, env, id\)/.test(flat(d))),
          'the primary key (collection_id, env, id) indexes _id',
        );
      }
      assert.match(flat(defs.get('items_created') ?? ''), /\(collection_id, env, created_date\)/);

      // Built-ins cannot be dropped, shadowed or re-indexed.
      assertError(await dropIndex('plain', '_id_'), 400, 'WDE0075');
      assertError(await dropIndex('plain', '_createdDate_'), 400, 'WDE0075');
      assertError(await createIndex('plain', { name: '_id_', fields: [{ path: 'a' }] }), 400, 'WDE0075');
      for (const path of ['_id', '_createdDate', '_updatedDate', '_owner']) {
        assertError(await createIndex('plain', { name: `by${path}`, fields: [{ path }] }), 400, 'WDE0075');
      }
      assert.deepEqual((await listIndexes('plain')).body.indexes, BUILT_IN('plain'));
    });

    for (const prefix of PREFIXES) {
      test(`${prefix}: create, list and drop regular indexes of 1 to 3 fields, each a real index`, async () => {
        const c = `reg${prefix.length}`;
        await collection(c);
        const before = await dbIndexes();
        const specs = [
          { name: 'one', fields: [{ path: 'title' }] },
          { name: 'two', fields: [{ path: 'author.last', order: 'ASC' }, { path: 'year', order: 'DESC' }], caseInsensitive: true },
          { name: 'three', fields: [{ path: 'a' }, { path: 'b-c', order: 'DESC' }, { path: 'd_e.f' }], unique: false },
        ];
        for (const spec of specs) {
          const r = await createIndex(c, spec, prefix);
          assert.equal(r.status, 200, JSON.stringify(r.body));
          assert.deepEqual(r.body, {
            index: {
              name: spec.name,
              fields: spec.fields.map((f: any) => ({ path: f.path, order: f.order ?? 'ASC' })),
              unique: false,
              caseInsensitive: spec.caseInsensitive ?? false,
              status: 'ACTIVE',
              dataCollectionId: c,
            },
          });
        }
        const listed = await listIndexes(c, prefix);
        assert.deepEqual(listed.body.indexes.map((i: any) => i.name), ['_id_', '_createdDate_', 'one', 'two', 'three']);
        assert.deepEqual(listed.body.pagingMetadata, { count: 5, offset: 0, total: 5, hasNext: false });
        const page = await call(s.url, 'GET', `${prefix}/indexes?dataCollectionId=${c}&paging.limit=2&paging.offset=2`);
        assert.deepEqual(page.body.indexes.map((i: any) => i.name), ['one', 'two']);
        assert.deepEqual(page.body.pagingMetadata, { count: 2, offset: 2, total: 5, hasNext: true });

        // Each API index is one real index over the JSON paths it names.
        const after = await dbIndexes();
        assert.equal(after.size, before.size + 3);
        for (const spec of specs) {
          const name = await sqlNameOf(c, spec.name);
          assert.ok(name, `item_indexes row for ${spec.name}`);
          const def = after.get(name);
          assert.ok(def, `${name} exists in the database`);
          assert.doesNotMatch(def, /UNIQUE/);
          for (const f of spec.fields) {
            const segs = f.path.split('.');
            if (storeName === 'sqlite') assert.ok(def.includes(`'$.${segs.map((seg) => `"${seg}"`).join('.')}'`), `${def} covers ${f.path}`);
            else assert.ok(def.includes(`'${segs.at(-1)}'::text`) && segs.every((seg) => def.includes(`-> '${seg}'::text`)), `${def} covers ${f.path}`);
          }
          if (spec.caseInsensitive) assert.match(def, storeName === 'sqlite' ? /cairn_lower/ : /lower\(/);
        }

        // Drop: gone from the API and from the database; a second drop is an error.
        const oneName = await sqlNameOf(c, 'one');
        const dropped = await dropIndex(c, 'one', prefix);
        assert.equal(dropped.status, 200, JSON.stringify(dropped.body));
        assert.deepEqual(dropped.body, {});
        assert.equal((await dbIndexes()).has(oneName!), false);
        assert.equal(await sqlNameOf(c, 'one'), undefined);
        assertError(await dropIndex(c, 'one', prefix), 400, 'WDE0075');
        assert.deepEqual((await listIndexes(c, prefix)).body.indexes.map((i: any) => i.name), ['_id_', '_createdDate_', 'two', 'three']);

        // A freed slot can be used again, under the same name.
        assert.equal((await createIndex(c, { name: 'one', fields: [{ path: 'other' }] }, prefix)).status, 200);
        assert.equal((await dbIndexes()).size, before.size + 3);
      });
    }

    test('validation: fields, names, options, limits and unknown collections answer 4xx envelopes and build nothing', async () => {
      await collection('val');
      const before = await dbIndexes();
      const bad: [unknown, string | string[]][] = [
        [{ name: 'four', fields: [{ path: 'a' }, { path: 'b' }, { path: 'c' }, { path: 'd' }] }, 'WDE0075'],
        [{ name: 'u2', fields: [{ path: 'a' }, { path: 'b' }], unique: true }, 'WDE0075'],
        [{ name: 'none', fields: [] }, 'WDE0075'],
        [{ name: 'nofields' }, 'WDE0075'],
        [{ fields: [{ path: 'a' }] }, 'WDE0075'],
        [{ name: '', fields: [{ path: 'a' }] }, 'WDE0075'],
        [{ name: 'x'.repeat(129), fields: [{ path: 'a' }] }, 'WDE0075'],
        [{ name: 'sp', fields: [{ path: 'a b' }] }, 'WDE0147'],
        [{ name: 'dollar', fields: [{ path: '$where' }] }, 'WDE0134'],
        [{ name: 'quote', fields: [{ path: "a'b" }] }, 'WDE0147'],
        [{ name: 'dq', fields: [{ path: 'a"b' }] }, 'WDE0147'],
        [{ name: 'dots', fields: [{ path: 'a..b' }] }, 'WDE0147'],
        [{ name: 'empty', fields: [{ path: '' }] }, ['WDE0075', 'WDE0147']],
        [{ name: 'num', fields: [{ path: 5 }] }, ['WDE0075', 'WDE0147']],
        [{ name: 'deep', fields: [{ path: Array.from({ length: 17 }, () => 'a').join('.') }] }, 'WDE0147'],
        [{ name: 'order', fields: [{ path: 'a', order: 'UP' }] }, 'WDE0075'],
        [{ name: 'flag', fields: [{ path: 'a' }], unique: 'yes' }, ['WDE0075', 'WDE0080']],
        [{ name: 'flag2', fields: [{ path: 'a' }], caseInsensitive: 1 }, ['WDE0075', 'WDE0080']],
        [{ name: 'fieldobj', fields: ['a'] }, 'WDE0075'],
        ['not an index', 'WDE0075'],
      ];
      for (const [index, code] of bad) assertError(await createIndex('val', index), 400, code);
      assertError(await call(s.url, 'POST', `${P}/indexes`, { dataCollectionId: 'val' }), 400, 'WDE0075');

      // Unknown and malformed collections.
      const spec = { name: 'ok', fields: [{ path: 'a' }] };
      for (const prefix of PREFIXES) {
        assertError(await createIndex('ghost', spec, prefix), 404, 'WDE0025', { collectionId: 'ghost' });
        assertError(await listIndexes('ghost', prefix), 404, 'WDE0025', { collectionId: 'ghost' });
        assertError(await dropIndex('ghost', 'ok', prefix), 404, 'WDE0025', { collectionId: 'ghost' });
      }
      assertError(await createIndex('bad id', spec), 400, 'WDE0001');
      assertError(await call(s.url, 'POST', `${P}/indexes`, { index: spec }), 400, 'WDE0001');
      assertError(await call(s.url, 'GET', `${P}/indexes`), 400, 'WDE0001');
      assertError(await call(s.url, 'DELETE', `${P}/indexes?dataCollectionId=val`), 400, 'WDE0075');
      assertError(await call(s.url, 'GET', `${P}/indexes?dataCollectionId=val&paging.limit=1001`), 400, 'WDE0036');

      // Limits: 3 regular and 1 unique per collection; names are unique per collection. What is
      // left of them is reported by GET /indexes/available, under both prefixes.
      const available = async (prefix: string = P) => (await call(s.url, 'GET', `${prefix}/indexes/available?dataCollectionId=val`)).body;
      assert.deepEqual(await available(), { regular1Field: 0, regular3Field: 3, unique1Field: 1, total: 4 });
      assertError(await call(s.url, 'GET', `${P}/indexes/available?dataCollectionId=ghost`), 404, 'WDE0025', { collectionId: 'ghost' });
      for (const name of ['r1', 'r2', 'r3']) assert.equal((await createIndex('val', { name, fields: [{ path: name }] })).status, 200);
      for (const prefix of PREFIXES) assert.deepEqual(await available(prefix), { regular1Field: 0, regular3Field: 0, unique1Field: 1, total: 1 });
      assertError(await createIndex('val', { name: 'r4', fields: [{ path: 'r4' }] }), 400, 'WDE0075');
      assert.equal((await createIndex('val', { name: 'u1', fields: [{ path: 'u1' }], unique: true })).status, 200);
      assertError(await createIndex('val', { name: 'u2', fields: [{ path: 'u2' }], unique: true }), 400, 'WDE0075');
      assert.deepEqual(await available(), { regular1Field: 0, regular3Field: 0, unique1Field: 0, total: 0 });
      assertError(await createIndex('val', { name: 'r1', fields: [{ path: 'zz' }] }), 400, 'WDE0075');
      await collection('val2');
      assert.equal((await createIndex('val2', { name: 'r1', fields: [{ path: 'r1' }] })).status, 200, 'index names are per collection');

      const after = await dbIndexes();
      assert.equal(after.size, before.size + 5, 'only the five accepted indexes were built');
      assert.deepEqual((await listIndexes('val')).body.indexes.map((i: any) => i.name), ['_id_', '_createdDate_', 'r1', 'r2', 'r3', 'u1']);
    });

    test('unique index: duplicates are rejected per item with WDE0123 on every kind of write', async () => {
      const c = 'uniq';
      await collection(c);
      await collection('uniq-other');
      const r = await createIndex(c, { name: 'byEmail', fields: [{ path: 'email' }], unique: true });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body.index, { name: 'byEmail', fields: [{ path: 'email', order: 'ASC' }], unique: true, caseInsensitive: false, status: 'ACTIVE', dataCollectionId: c });
      const def = (await dbIndexes()).get((await sqlNameOf(c, 'byEmail'))!);
      assert.match(def ?? '', /UNIQUE/);

      await ok(insert(c, 'a', { email: 'ann@x.io' }));
      await clash(insert(c, 'b', { email: 'ann@x.io' }), 'b');
      await ok(insert(c, 'b', { email: 'Ann@x.io' }));
      await ok(insert('uniq-other', 'b', { email: 'ann@x.io' }));

      // update, save and patch into a clash
      await clash(call(s.url, 'PUT', `${P}/items/b`, { dataCollectionId: c, dataItem: { id: 'b', data: { email: 'ann@x.io' } } }), 'b');
      await clash(call(s.url, 'POST', `${P}/items/update`, { dataCollectionId: c, dataItem: { id: 'b', data: { email: 'ann@x.io' } } }), 'b');
      await clash(call(s.url, 'POST', `${P}/items/save`, { dataCollectionId: c, dataItem: { id: 'c', data: { email: 'ann@x.io' } } }), 'c');
      await clash(call(s.url, 'POST', `${P}/items/save`, { dataCollectionId: c, dataItem: { id: 'b', data: { email: 'ann@x.io' } } }), 'b');
      await clash(
        call(s.url, 'POST', `${P}/items/patch`, {
          dataCollectionId: c,
          patch: { dataItemId: 'b', fieldModifications: [{ action: 'SET_FIELD', fieldPath: 'email', setFieldOptions: { value: 'ann@x.io' } }] },
        }),
        'b',
      );
      // Updating an item to its own value is not a clash.
      await ok(call(s.url, 'POST', `${P}/items/update`, { dataCollectionId: c, dataItem: { id: 'a', data: { email: 'ann@x.io', more: 1 } } }));

      // Bulk: only the clashing items fail; the others are written.
      const bulk = await ok(
        call(s.url, 'POST', `${P}/bulk/items/insert`, {
          dataCollectionId: c,
          dataItems: [
            { id: 'd', data: { email: 'dan@x.io' } },
            { id: 'e', data: { email: 'ann@x.io' } },
            { id: 'f', data: { email: 'dan@x.io' } },
            { id: 'g', data: { email: 'gil@x.io' } },
          ],
        }),
      );
      assert.deepEqual(bulk.body.bulkActionMetadata, { totalSuccesses: 2, totalFailures: 2 });
      assert.deepEqual(
        bulk.body.results.map((x: any) => [x.itemMetadata.id, x.itemMetadata.success, x.itemMetadata.error?.code]),
        [['d', true, undefined], ['e', false, 'WDE0123'], ['f', false, 'WDE0123'], ['g', true, undefined]],
      );
      const bulkPatch = await ok(
        call(s.url, 'POST', `${P}/bulk/items/patch`, {
          dataCollectionId: c,
          patches: [
            { dataItemId: 'd', fieldModifications: [{ action: 'SET_FIELD', fieldPath: 'email', setFieldOptions: { value: 'gil@x.io' } }] },
            { dataItemId: 'g', fieldModifications: [{ action: 'SET_FIELD', fieldPath: 'email', setFieldOptions: { value: 'new@x.io' } }] },
          ],
        }),
      );
      assert.deepEqual(bulkPatch.body.results.map((x: any) => [x.itemMetadata.id, x.itemMetadata.success, x.itemMetadata.error?.code]), [
        ['d', false, 'WDE0123'],
        ['g', true, undefined],
      ]);

      const all = await call(s.url, 'POST', `${P}/items/query`, { dataCollectionId: c, query: { sort: [{ fieldName: '_id', order: 'ASC' }] } });
      assert.deepEqual(all.body.dataItems.map((i: any) => [i.id, i.data.email]), [
        ['a', 'ann@x.io'],
        ['b', 'Ann@x.io'],
        ['d', 'dan@x.io'],
        ['g', 'new@x.io'],
      ]);

      // The sandbox is another environment: its copies do not clash with live items.
      await ok(call(s.url, 'POST', `/cairn/v1/collections/${c}/sandbox`, { enabled: true }));
      await ok(insert(c, 'sb', { email: 'sandy@x.io' }, { environment: 'SANDBOX' }));
      await ok(insert(c, 'live-sandy', { email: 'sandy@x.io' }));
      await clash(insert(c, 'sb2', { email: 'ann@x.io' }, { environment: 'SANDBOX' }), 'sb2');

      // Dropping the index lifts the constraint.
      await ok(dropIndex(c, 'byEmail'));
      await ok(insert(c, 'z', { email: 'ann@x.io' }));
    });

    test('unique index: missing fields and nulls never clash; values of different types never clash', async () => {
      const c = 'uniqnull';
      await collection(c);
      await ok(createIndex(c, { name: 'u', fields: [{ path: 'v' }], unique: true }));
      await ok(insert(c, 'm1', {}));
      await ok(insert(c, 'm2', { other: 1 }));
      await ok(insert(c, 'n1', { v: null }));
      await ok(insert(c, 'n2', { v: null }));
      await ok(insert(c, 'n3', { v: null }));
      const bulk = await ok(call(s.url, 'POST', `${P}/bulk/items/insert`, { dataCollectionId: c, dataItems: [{ data: { v: null } }, { data: {} }, { data: { v: null } }] }));
      assert.deepEqual(bulk.body.bulkActionMetadata, { totalSuccesses: 3, totalFailures: 0 });

      // 5, "5", true, "true", 0, false, "" and an empty array are all different values.
      const distinct: [string, unknown][] = [
        ['num5', 5],
        ['str5', '5'],
        ['true', true],
        ['strtrue', 'true'],
        ['zero', 0],
        ['false', false],
        ['emptystr', ''],
        ['float', 5.5],
        ['date', { $date: '2024-01-01T00:00:00.000Z' }],
        ['datestr', '2024-01-01T00:00:00.000Z'],
      ];
      for (const [id, v] of distinct) await ok(insert(c, id, { v }));
      for (const [id, v] of distinct) await clash(insert(c, `${id}-again`, { v }), `${id}-again`);
      // Patching to null frees the value.
      await ok(
        call(s.url, 'POST', `${P}/items/patch`, {
          dataCollectionId: c,
          patch: { dataItemId: 'num5', fieldModifications: [{ action: 'SET_FIELD', fieldPath: 'v', setFieldOptions: { value: null } }] },
        }),
      );
      await ok(insert(c, 'num5-b', { v: 5 }));
      const count = await call(s.url, 'POST', `${P}/items/count`, { dataCollectionId: c, filter: {} });
      assert.equal(count.body.totalCount, 8 + distinct.length + 1);
    });

    test('caseInsensitive unique index: strings differing only in case clash; numbers and other types still work', async () => {
      const c = 'uniqci';
      await collection(c);
      const r = await createIndex(c, { name: 'ci', fields: [{ path: 'handle' }], unique: true, caseInsensitive: true });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.index.caseInsensitive, true);

      await ok(insert(c, 'a', { handle: 'Ann' }));
      await clash(insert(c, 'b', { handle: 'ann' }), 'b');
      await clash(insert(c, 'c', { handle: 'ANN' }), 'c');
      await ok(insert(c, 'd', { handle: 'Ann ' }));
      await ok(insert(c, 'e', { handle: 'Ärger' }));
      await clash(insert(c, 'f', { handle: 'ärger' }), 'f');

      // Numbers: equal numbers clash, different ones do not, and a number never clashes with its text.
      await ok(insert(c, 'n5', { handle: 5 }));
      await ok(insert(c, 'n6', { handle: 6 }));
      await clash(insert(c, 'n5b', { handle: 5 }), 'n5b');
      await ok(insert(c, 's5', { handle: '5' }));
      await clash(insert(c, 's5b', { handle: '5' }), 's5b');
      await ok(insert(c, 'big', { handle: 12345678901 }));
      await ok(insert(c, 'neg', { handle: -1.25 }));
      await clash(insert(c, 'neg2', { handle: -1.25 }), 'neg2');

      // Booleans and their text, nulls and missing fields.
      await ok(insert(c, 't', { handle: true }));
      await ok(insert(c, 'T', { handle: 'TRUE' }));
      await clash(insert(c, 'tt', { handle: 'true' }), 'tt');
      await clash(insert(c, 't2', { handle: true }), 't2');
      await ok(insert(c, 'null1', { handle: null }));
      await ok(insert(c, 'null2', { handle: null }));
      await ok(insert(c, 'missing1', {}));
      await ok(insert(c, 'missing2', {}));

      // Bulk save with a case-only clash inside the batch: the later item fails.
      const bulk = await ok(
        call(s.url, 'POST', `${P}/bulk/items/save`, { dataCollectionId: c, dataItems: [{ id: 'x1', data: { handle: 'Zoe' } }, { id: 'x2', data: { handle: 'zoE' } }] }),
      );
      assert.deepEqual(bulk.body.results.map((x: any) => [x.itemMetadata.id, x.itemMetadata.success, x.itemMetadata.error?.code]), [
        ['x1', true, undefined],
        ['x2', false, 'WDE0123'],
      ]);
      // Changing the case of one's own value is fine.
      await ok(call(s.url, 'POST', `${P}/items/update`, { dataCollectionId: c, dataItem: { id: 'a', data: { handle: 'ANN' } } }));
    });

    test('creating a unique index over existing duplicates fails with WDE0113 and leaves nothing behind', async () => {
      const c = 'uniqlate';
      await collection(c);
      for (const [id, v] of [
        ['a', 'x'],
        ['b', 'X'],
        ['c', 'y'],
        ['d', null],
        ['e', null],
        ['f', 7],
        ['g', '7'],
      ] as const)
        await ok(insert(c, id, { v }));
      await ok(insert(c, 'h', {}));
      await ok(insert(c, 'i', {}));
      const before = await dbIndexes();

      // Case-insensitively, "x" and "X" repeat.
      assertError(await createIndex(c, { name: 'ci', fields: [{ path: 'v' }], unique: true, caseInsensitive: true }), 409, 'WDE0113');
      assert.deepEqual((await listIndexes(c)).body.indexes, BUILT_IN(c));
      assert.equal(await sqlNameOf(c, 'ci'), undefined);
      assert.deepEqual([...(await dbIndexes()).keys()].sort(), [...before.keys()].sort());

      // Case-sensitively nothing repeats (nulls, missing fields and 7 vs "7" are fine).
      const cs = await createIndex(c, { name: 'cs', fields: [{ path: 'v' }], unique: true });
      assert.equal(cs.status, 200, JSON.stringify(cs.body));
      await ok(dropIndex(c, 'cs'));

      // A real duplicate blocks it until it is gone.
      await ok(insert(c, 'dup', { v: 'y' }));
      assertError(await createIndex(c, { name: 'cs', fields: [{ path: 'v' }], unique: true }), 409, 'WDE0113');
      assert.deepEqual([...(await dbIndexes()).keys()].sort(), [...before.keys()].sort());
      await ok(call(s.url, 'POST', `${P}/items/remove`, { dataCollectionId: c, dataItemId: 'dup' }));
      await ok(createIndex(c, { name: 'cs', fields: [{ path: 'v' }], unique: true }));
      // Duplicates in the sandbox only would not block a live rebuild either: environments are separate.
      assert.equal((await dbIndexes()).size, before.size + 1);
    });

    test('deleting a collection drops its real indexes once its id is used again', async () => {
      const c = 'ixdoomed';
      await collection(c);
      const before = await dbIndexes();
      await ok(createIndex(c, { name: 'r', fields: [{ path: 'a' }, { path: 'b' }] }));
      await ok(createIndex(c, { name: 'u', fields: [{ path: 'k' }], unique: true, caseInsensitive: true }));
      assert.equal((await dbIndexes()).size, before.size + 2);
      await ok(call(s.url, 'DELETE', `${P}/collections/${c}`));
      assertError(await listIndexes(c), 404, 'WDE0025');
      // Kept for a restore; a collection created under the same id purges them.
      assert.equal((await dbIndexes()).size, before.size + 2);
      await collection(c);
      assert.deepEqual([...(await dbIndexes()).keys()].sort(), [...before.keys()].sort());
    });

    if (storeName === 'sqlite') {
      // SQLite's planner needs statistics to prefer a field index over items_created. Cairn gives
      // them when an index is built over existing items, and again as the table grows (the
      // Statistics class in src/store/sqlite/db.ts): both orders must end up searching the index.
      for (const indexFirst of [false, true]) test(`SQLite: an equality query on an indexed field searches that index (index built ${indexFirst ? 'before' : 'after'} the items)`, async () => {
        const c = indexFirst ? 'planned-early' : 'planned';
        await collection(c);
        await collection(`${c}-other`);
        if (indexFirst) await ok(createIndex(c, { name: 'byK', fields: [{ path: 'k' }] }));
        for (const col of [c, `${c}-other`]) {
          for (let b = 0; b < 2; b++) {
            const dataItems = Array.from({ length: 500 }, (_, i) => ({ data: { k: `v${b * 500 + i}`, n: i } }));
            await ok(call(s.url, 'POST', `${P}/bulk/items/insert`, { dataCollectionId: col, dataItems }));
          }
        }
        if (!indexFirst) await ok(createIndex(c, { name: 'byK', fields: [{ path: 'k' }] }));
        const ixName = (await sqlNameOf(c, 'byK'))!;
        // Capture the statement the query runs, then ask SQLite how it would run it.
        const db = s.store.db;
        const { res, statement } = await queryStatement(c, { k: 'v7' });
        assert.deepEqual(res.body.dataItems.map((i: any) => i.data.k), ['v7']);
        const plan = (await db.all<{ detail: string }>(sql`EXPLAIN QUERY PLAN ${statement}`)).map((r) => r.detail);
        const searches = plan.filter((d) => d.includes(ixName));
        assert.ok(
          searches.some((d) => /SEARCH items USING INDEX \S+ \(collection_id=\? AND env=\? AND <expr>=\? AND <expr>=\?\)/.test(d)),
          `the value equality should search ${ixName}; plan: ${JSON.stringify(plan)}`,
        );
      });
    }

    if (storeName === 'sqlite') {
      test('SQLite: a count, an aggregation and a sorted query over a field with no index read the collection by its key, not through another index', async () => {
        const c = 'scanned';
        await collection(c);
        await collection(`${c}-other`);
        for (const col of [c, `${c}-other`]) {
          const dataItems = Array.from({ length: 1000 }, (_, i) => ({ data: { k: `v${i}`, cat: `c${i % 5}`, n: i } }));
          await ok(call(s.url, 'POST', `${P}/bulk/items/insert`, { dataCollectionId: col, dataItems }));
        }
        // An index on another field: walking it (or items_created) would look up every row.
        await ok(createIndex(c, { name: 'byK', fields: [{ path: 'k' }] }));
        const db = s.store.db;
        const planOf = async (path: string, body: Record<string, unknown>, check: (b: any) => void) => {
          const seen: Sql[] = [];
          const all = db.all.bind(db);
          const get = db.get.bind(db);
          (db as { all: typeof db.all }).all = ((q: Sql) => (seen.push(q), all(q))) as typeof db.all;
          (db as { get: typeof db.get }).get = ((q: Sql) => (seen.push(q), get(q))) as typeof db.get;
          try {
            const res = await call(s.url, 'POST', `${P}/items/${path}`, { dataCollectionId: c, ...body });
            assert.equal(res.status, 200, JSON.stringify(res.body));
            check(res.body);
          } finally {
            (db as { all: typeof db.all }).all = all;
            (db as { get: typeof db.get }).get = get;
          }
          const statement = seen.find((q) => render(q, db.dialect).text.includes('FROM items'));
          assert.ok(statement, `the ${path} statement was captured`);
          return (await db.all<{ detail: string }>(sql`EXPLAIN QUERY PLAN ${statement}`)).map((r) => r.detail).join(' | ');
        };
        const plans = [
          await planOf('count', { filter: { cat: 'c3' } }, (b) => assert.equal(b.totalCount, 200)),
          await planOf('aggregate', { aggregation: { groupingFields: ['cat'], operations: [{ resultFieldName: 'n', itemCount: {} }] } }, (b) => assert.equal(b.results.length, 5)),
          await planOf('query', { query: { filter: { cat: 'c3' }, sort: [{ fieldName: 'n', order: 'DESC' }], paging: { limit: 5 } } }, (b) =>
            assert.deepEqual(b.dataItems.map((i: any) => i.data.n), [998, 993, 988, 983, 978]),
          ),
        ];
        for (const plan of plans) {
          assert.match(plan, /SEARCH items USING PRIMARY KEY \(collection_id=\? AND env=\?\)/, plan);
          assert.doesNotMatch(plan, /items_created|USING INDEX ix_/, plan);
        }
      });
    }

    if (storeName === 'postgres') {
      test('PostgreSQL: a regular index covers its own collection: a long value elsewhere is no concern, in its own collection it is a 400 WDE0133, and queries use it', async () => {
        const c = 'pgix';
        const other = 'pgix-other';
        await collection(c);
        await collection(other);
        await ok(createIndex(c, { name: 'byF', fields: [{ path: 'f' }] }));
        // Over the b-tree's entry limit once compressed: random text does not compress.
        const long = Array.from({ length: 900 }, () => Math.random().toString(36).slice(2, 12)).join('');
        await ok(insert(other, 'o1', { f: long }));
        await ok(call(s.url, 'POST', `${P}/bulk/items/insert`, { dataCollectionId: other, dataItems: [{ id: 'o2', data: { f: 'x' } }, { id: 'o3', data: { f: long } }] }));
        assertError(await insert(c, 'a', { f: long }), 400, 'WDE0133');
        assert.equal((await call(s.url, 'POST', `${P}/items/count`, { dataCollectionId: c })).body.totalCount, 0);
        await ok(insert(c, 'b', { f: 'short' }));
        assertError(
          await call(s.url, 'POST', `${P}/items/patch`, { dataCollectionId: c, patch: { dataItemId: 'b', fieldModifications: [{ fieldPath: 'f', action: 'SET_FIELD', setFieldOptions: { value: long } }] } }),
          400,
          'WDE0133',
        );
        // An index over a collection that already holds such a value cannot be built.
        assertError(await createIndex(other, { name: 'byF', fields: [{ path: 'f' }] }), 400, 'WDE0114');

        // The query binds the collection id; PostgreSQL plans it with the value and searches the index.
        const items = Array.from({ length: 2000 }, (_, i) => ({ id: `i${i}`, data: { f: `v${i}` } }));
        for (let k = 0; k < items.length; k += 1000) {
          await ok(call(s.url, 'POST', `${P}/bulk/items/insert`, { dataCollectionId: c, dataItems: items.slice(k, k + 1000) }));
        }
        await s.store.db.exec('ANALYZE items');
        const db = s.store.db;
        const { res, statement } = await queryStatement(c, { f: 'v7' });
        assert.deepEqual(res.body.dataItems.map((i: any) => i.id), ['i7']);
        const plan = (await db.all<{ 'QUERY PLAN': string }>(sql`EXPLAIN ${statement}`)).map((r) => r['QUERY PLAN']).join('\n');
        const ixName = (await sqlNameOf(c, 'byF'))!;
        assert.ok(plan.includes(ixName), `the equality should use ${ixName}; plan:\n${plan}`);
      });
    }
  });

  describe(`indexes through the published client (${storeName})`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(storeName, { runner: false });
    });
    after(() => s.close());

    for (const host of ['www.wixapis.com', 'cairn.local'] as const) {
      test(`createIndex, listIndexes, dropIndex (host ${host})`, async () => {
        const seen: string[] = [];
        const client = recordingClientFor(s.url, { indexes }, { seen, ...(host === 'cairn.local' ? { apiBaseUrl: host } : {}) });
        const ix = client.indexes as any;
        const c = `sdk-${host.length}`;
        assert.equal((await call(s.url, 'POST', `${P}/collections`, { collection: { id: c } })).status, 200);

        const created = await ix.createIndex(c, { name: 'byTitle', fields: [{ path: 'title', order: 'DESC' }], unique: true, caseInsensitive: true });
        assert.equal(created.name, 'byTitle');
        assert.deepEqual(created.fields, [{ path: 'title', order: 'DESC' }]);
        assert.equal(created.unique, true);
        assert.equal(created.caseInsensitive, true);
        assert.equal(created.status, 'ACTIVE');
        const listed = await ix.listIndexes(c);
        assert.deepEqual(listed.indexes.map((i: any) => i.name), ['_id_', '_createdDate_', 'byTitle']);
        const dup = await ix.createIndex(c, { name: 'byTitle', fields: [{ path: 'title' }] }).then(
          () => undefined,
          (e: any) => e?.details?.applicationError?.code,
        );
        assert.equal(dup, 'WDE0075');
        const ghost = await ix.listIndexes('ghost').then(
          () => undefined,
          (e: any) => e?.details?.applicationError?.code,
        );
        assert.equal(ghost, 'WDE0025');
        await ix.dropIndex(c, 'byTitle');
        assert.deepEqual((await ix.listIndexes(c)).indexes.map((i: any) => i.name), ['_id_', '_createdDate_']);

        const prefix = host === 'www.wixapis.com' ? '/wix-data/v2/indexes' : '/_api/cloud-data/v2/indexes';
        assert.equal(seen.length, 6);
        for (const p of seen) assert.equal(p, prefix);
      });
    }
  });
}
