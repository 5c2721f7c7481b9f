/**
 * SQL and JSON-path metacharacters in every part of a query that reaches SQL: filter values and
 * object operands (bound parameters: exact results), field paths in filters, sort and `fields`
 * (inlined into SQL text, so only validated segments may pass: 4xx with the Wix envelope),
 * operator names, collection ids, item ids, and forged cursors. Afterwards the collection and
 * every item are exactly as inserted, and a second collection is untouched.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, call, type TestServer } from './helpers/server.js';
import { parseFilter } from '../src/query/parse.js';
import { evaluate } from '../src/query/evaluate.js';
import type { JsonObject } from '../src/wire/json.js';

const DATA = '/wix-data/v2';

/** Strings that would break a query built by concatenation, or a JSON path, or LIKE. */
const NASTY = [
  "'",
  "''",
  '"',
  ';',
  '--',
  '/*',
  '*/',
  '\\',
  "\\'",
  "') OR 1=1 --",
  "' OR '1'='1",
  '" OR "1"="1',
  "1; DROP TABLE items; --",
  "'); DELETE FROM items; --",
  "x' UNION SELECT id, doc, 'PUBLISHED' FROM collections --",
  '$',
  '$.s',
  '$[0]',
  '$."s"',
  '[',
  ']',
  '*',
  '%',
  '_',
  '%a%',
  '\\%',
  '{}',
  '[]',
  'null',
  'true',
  '0',
  '`',
  '$$',
  '$1',
  '?',
  ':name',
  '@p',
  '\n',
  '\r\n',
  '\t',
  "é'ö",
  "日本'--",
  "O'Brien",
  'a"b\'c\\d',
];

/**
 * NUL anywhere in a request body is refused by the HTTP layer (WDE0080) before the parser sees
 * it; the parser refuses it too (filters carried by cursors never pass the HTTP check).
 */
const NUL_CODES = ['WDE0080', 'WDE0147', 'WDE0058', 'WDE0059', 'WDE0060'];

/** Paths that must never reach SQL: [path, code]. */
const BAD_PATHS: [string, string | string[]][] = [
  ["a'b", 'WDE0147'],
  ['a"b', 'WDE0147'],
  ['a;b', 'WDE0147'],
  ["s'); DROP TABLE items; --", 'WDE0147'],
  ["s' OR '1'='1", 'WDE0147'],
  ["s') OR 1=1 --", 'WDE0147'],
  ['s\\', 'WDE0147'],
  ['s[0]', 'WDE0147'],
  ['s.*', 'WDE0147'],
  ['*', 'WDE0147'],
  ['s\u0000', NUL_CODES],
  ['s\u0000x', NUL_CODES],
  ["'", 'WDE0147'],
  ['"', 'WDE0147'],
  ['s"', 'WDE0147'],
  ["json_extract(data,'$')", 'WDE0147'],
  ['s/*', 'WDE0147'],
  [' s', 'WDE0147'],
  ['s ', 'WDE0147'],
  ['s\n', 'WDE0147'],
  ['s%', 'WDE0147'],
  ['s`', 'WDE0147'],
  ['s.', 'WDE0147'],
  ['.s', 'WDE0147'],
  ['$', 'WDE0134'],
  ['$.s', 'WDE0134'],
  ['$s', 'WDE0134'],
  ['s.$x', 'WDE0134'],
  ["s.$' OR 1=1", 'WDE0134'],
];

/** Keys that item data may hold (anything not starting with $), though they cannot be queried. */
const ODD_KEYS = ["a'b", 'x"y', 'c;d', 'e--', 'f\\g', 'sp ace', '[0]', '*', "') OR 1=1 --"];

const items: JsonObject[] = [
  ...NASTY.map((v, k) => ({ _id: `i${k}`, s: v, tags: [v, 'x'], obj: { x: v }, k })),
  // Metacharacters in ids and in keys.
  ...NASTY.map((v, k) => ({ _id: `${v}#${k}`, n: k, kind: 'odd-id' })),
  { _id: 'keys', ...Object.fromEntries(ODD_KEYS.map((key, i) => [key, i])), obj: { "a'b": 'q', 'c"d': ['r'] } },
];

for (const storeName of STORE_NAMES) {
  describe(`SQL metacharacters in queries (${storeName})`, () => {
    let s: TestServer;
    let stored: JsonObject[];
    before(async () => {
      s = await startServer(storeName, { runner: false });
      for (const id of ['inj', 'other']) {
        const r = await call(s.url, 'POST', `${DATA}/collections`, { collection: { id } });
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
      const ins = await call(s.url, 'POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'inj', dataItems: items.map((data) => ({ data })) });
      assert.equal(ins.status, 200, JSON.stringify(ins.body));
      assert.equal(ins.body.bulkActionMetadata.totalSuccesses, items.length, JSON.stringify(ins.body));
      const other = await call(s.url, 'POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'other', dataItems: [{ data: { _id: 'o1', s: "'" } }] });
      assert.equal(other.status, 200);
      stored = await readAll('inj');
      assert.equal(stored.length, items.length);
    });
    after(() => s.close());

    const readAll = async (c: string): Promise<JsonObject[]> => {
      const r = await call(s.url, 'POST', `${DATA}/items/query`, { dataCollectionId: c, query: { paging: { limit: 1000 }, sort: [{ fieldName: '_id' }] } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.dataItems.map((i: any) => i.data);
    };
    const ids = async (body: Record<string, unknown>, c = 'inj') => {
      const r = await call(s.url, 'POST', `${DATA}/items/query`, { dataCollectionId: c, ...body, query: { paging: { limit: 1000 }, ...(body.query as object) } });
      assert.equal(r.status, 200, `${JSON.stringify(body)} -> ${JSON.stringify(r.body)}`);
      return r.body.dataItems.map((i: any) => i.id as string).sort();
    };
    /** The ids the reference evaluator selects from the stored items. */
    const expected = (filter: unknown) =>
      stored
        .filter((it) => evaluate(parseFilter(filter), it))
        .map((it) => String(it._id))
        .sort();
    /** Query (and, with `want`, count) agree with the evaluator and with `want`. */
    const exact = async (filter: unknown, want?: string[]) => {
      const got = await ids({ query: { filter } });
      const oracle = expected(filter);
      assert.deepEqual(got, oracle, `filter ${JSON.stringify(filter)}`);
      if (want) {
        assert.deepEqual(got, [...want].sort(), `filter ${JSON.stringify(filter)}`);
        const count = await call(s.url, 'POST', `${DATA}/items/count`, { dataCollectionId: 'inj', filter });
        assert.equal(count.status, 200);
        assert.equal(count.body.totalCount, want.length, `count ${JSON.stringify(filter)}`);
      }
      return got;
    };
    /** 4xx with exactly the Wix envelope; the code (or one of the codes) when given. */
    const rejected = async (path: string, body: unknown, code?: string | string[]) => {
      const r = await call(s.url, 'POST', `${DATA}${path}`, body);
      assert.ok(r.status >= 400 && r.status < 500, `${JSON.stringify(body)} -> ${r.status} ${JSON.stringify(r.body)}`);
      assert.deepEqual(Object.keys(r.body).sort(), ['details', 'message']);
      const ae = r.body.details.applicationError;
      assert.equal(typeof ae.code, 'string');
      assert.equal(typeof ae.description, 'string');
      assert.equal(r.body.message, ae.description);
      if (typeof code === 'string') assert.equal(ae.code, code, `${JSON.stringify(body)} -> ${JSON.stringify(r.body)}`);
      if (Array.isArray(code)) assert.ok(code.includes(ae.code), `${JSON.stringify(body)} -> ${JSON.stringify(r.body)}`);
    };

    test('values are bound, never spliced: equality finds exactly the item holding the string', async () => {
      for (const [k, v] of NASTY.entries()) {
        await exact({ s: v }, [`i${k}`]);
        await exact({ s: { $eq: v } }, [`i${k}`]);
        await exact({ tags: v }, [`i${k}`]);
        await exact({ 'obj.x': v }, [`i${k}`]);
        await exact({ s: { $in: [v, 'not there'] } }, [`i${k}`]);
        await exact({ s: { $hasAll: [v] } }, [`i${k}`]);
        await exact({ tags: { $hasAll: [v, 'x'] } }, [`i${k}`]);
        await exact({ _id: `${v}#${k}` }, [`${v}#${k}`]);
        await exact({ _id: { $in: [`${v}#${k}`] } }, [`${v}#${k}`]);
        // Whole-array and whole-object operands go in as JSON text parameters.
        await exact({ tags: [v, 'x'] }, [`i${k}`]);
        await exact({ obj: { x: v } }, [`i${k}`]);
        // The negations select every other item (including those without the field).
        const ne = await exact({ s: { $ne: v } });
        assert.equal(ne.length, stored.length - 1);
        await exact({ s: { $nin: [v] } });
      }
    });

    test('string operators and comparisons treat the operand literally (no LIKE wildcards, no escapes)', async () => {
      for (const v of NASTY) {
        for (const op of ['$contains', '$startsWith', '$endsWith', '$gt', '$gte', '$lt', '$lte']) {
          const got = await exact({ s: { [op]: v } });
          if (op === '$contains' || op === '$startsWith' || op === '$endsWith' || op === '$gte' || op === '$lte') {
            assert.ok(got.includes(`i${NASTY.indexOf(v)}`), `${op} ${JSON.stringify(v)} finds its own item`);
          }
        }
        await exact({ _id: { $startsWith: v } });
        await exact({ _id: { $contains: v } });
      }
      // Spot checks that do not lean on the evaluator.
      assert.deepEqual(await exact({ s: { $contains: '%' } }), ['i22', 'i24', 'i25'].sort());
      assert.deepEqual(await exact({ s: { $startsWith: '_' } }), ['i23']);
      assert.deepEqual(await exact({ s: { $contains: "' OR '" } }), ['i10']);
      assert.deepEqual(await exact({ s: { $endsWith: ' --' } }), ['i9', 'i12', 'i13', 'i14'].sort());
      assert.deepEqual(await exact({ s: { $startsWith: '$' } }), ['i15', 'i16', 'i17', 'i18', 'i32', 'i33'].sort());
      assert.deepEqual(await exact({ s: { $gte: '$', $lt: '%' } }), ['i15', 'i16', 'i17', 'i18', 'i32', 'i33'].sort());
    });

    test('hyphens are valid in paths: "--" inside a path is just part of a quoted name', async () => {
      await exact({ 's--': 1 }, []);
      await exact({ 's--': { $exists: false } }, stored.map((i) => String(i._id)));
      const r = await call(s.url, 'POST', `${DATA}/items/query`, { dataCollectionId: 'inj', query: { filter: { k: 0 }, sort: [{ fieldName: 'a--b' }], fields: ['s', 'x--'] } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body.dataItems.map((i: any) => i.data), [{ _id: 'i0', s: "'" }]);
    });

    test('object operands with odd keys, and odd keys in the data, are matched exactly', async () => {
      await exact({ obj: { "a'b": 'q', 'c"d': ['r'] } }, ['keys']);
      await exact({ obj: { 'c"d': ['r'], "a'b": 'q' } }, ['keys']);
      await exact({ obj: { "a'b": 'q' } }, []);
      await exact({ obj: { "a' OR '1'='1": 'q', 'c"d': ['r'] } }, []);
      await exact({ obj: { $eq: { "') OR 1=1 --": 1 } } }, []);
    });

    test('field paths with metacharacters are rejected in filters, sort and fields', async () => {
      for (const [p, code] of BAD_PATHS) {
        // A filter key starting with `$` is read as an operator: WDE0061 (unknown operator).
        const inFilter = p.startsWith('$') ? 'WDE0061' : code;
        await rejected('/items/query', { dataCollectionId: 'inj', query: { filter: { [p]: 1 } } }, inFilter);
        await rejected('/items/query', { dataCollectionId: 'inj', query: { filter: { $or: [{ s: 'x' }, { [p]: { $gt: 0 } }] } } }, inFilter);
        await rejected('/items/query', { dataCollectionId: 'inj', query: { sort: [{ fieldName: p, order: 'ASC' }] } }, code);
        await rejected('/items/query', { dataCollectionId: 'inj', query: { fields: ['s', p] } }, code);
        await rejected('/items/count', { dataCollectionId: 'inj', filter: { [p]: { $exists: true } } }, inFilter);
        await rejected('/items/get', { dataCollectionId: 'inj', dataItemId: 'i0', fields: [p] }, code);
      }
      // Odd keys the data may hold still cannot be named in a query.
      for (const key of ODD_KEYS.filter((k) => k !== 'e--')) {
        await rejected('/items/query', { dataCollectionId: 'inj', query: { filter: { [key]: ODD_KEYS.indexOf(key) } } }, 'WDE0147');
      }
      // ... but "e--" is a valid path.
      await exact({ 'e--': ODD_KEYS.indexOf('e--') }, ['keys']);
    });

    test('metacharacters in operator names and sort order are rejected', async () => {
      for (const op of ["$eq'; DROP TABLE items; --", '$gt OR 1=1', '$in)', '$', '$$', "$contains'"]) {
        await rejected('/items/query', { dataCollectionId: 'inj', query: { filter: { s: { [op]: 'x' } } } }, 'WDE0061');
        await rejected('/items/query', { dataCollectionId: 'inj', query: { filter: { [op]: [{ s: 'x' }] } } }, 'WDE0061');
      }
      for (const order of ["ASC; DROP TABLE items", 'DESC --', "ASC'", 'ASC NULLS FIRST']) {
        await rejected('/items/query', { dataCollectionId: 'inj', query: { sort: [{ fieldName: 's', order }] } }, 'WDE0067');
      }
    });

    test('NUL in filter strings is a 400 on every store', async () => {
      const q = (filter: unknown) => ({ dataCollectionId: 'inj', query: { filter } });
      await rejected('/items/query', q({ s: "'\u0000" }), NUL_CODES);
      await rejected('/items/query', q({ s: { $ne: '\u0000' } }), NUL_CODES);
      await rejected('/items/query', q({ s: { $gt: 'a\u0000' } }), NUL_CODES);
      await rejected('/items/query', q({ s: { $contains: '\u0000' } }), NUL_CODES);
      await rejected('/items/query', q({ s: { $in: ['x', '\u0000--'] } }), NUL_CODES);
      await rejected('/items/query', q({ obj: { x: '\u0000' } }), NUL_CODES);
      await rejected('/items/query', q({ obj: { 'x\u0000': 1 } }), NUL_CODES);
      await rejected('/items/query', q({ _id: 'i0\u0000' }), NUL_CODES);
      await rejected('/items/count', { dataCollectionId: 'inj', filter: { tags: ['\u0000'] } }, NUL_CODES);
      // A cursor carries its filter as base64url, past the HTTP check: the parser refuses it.
      const cursor = (f: unknown) => Buffer.from(JSON.stringify({ v: 1, c: 'inj', e: 'LIVE', f, s: null, p: null, o: 0, l: 50 })).toString('base64url');
      const viaCursor = (f: unknown) => ({ dataCollectionId: 'inj', query: { cursorPaging: { cursor: cursor(f) } } });
      await rejected('/items/query', viaCursor({ s: "'\u0000" }), 'WDE0058');
      await rejected('/items/query', viaCursor({ s: { $startsWith: '\u0000' } }), 'WDE0059');
      await rejected('/items/query', viaCursor({ s: { $nin: ['\u0000'] } }), 'WDE0060');
      await rejected('/items/query', viaCursor({ obj: { 'k\u0000': 1 } }), 'WDE0058');
      await rejected('/items/query', viaCursor({ 's\u0000': 1 }), 'WDE0147');
    });

    test('collection ids and item ids with metacharacters reach no other rows', async () => {
      for (const c of ["inj' OR '1'='1", "inj'; DROP TABLE items; --", 'inj"', 'inj\\', '%', 'inj%', '_nj', '*']) {
        await rejected('/items/query', { dataCollectionId: c, query: {} });
        await rejected('/items/count', { dataCollectionId: c });
      }
      for (const [k, v] of NASTY.entries()) {
        const r = await call(s.url, 'POST', `${DATA}/items/get`, { dataCollectionId: 'inj', dataItemId: `${v}#${k}` });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.dataItem.data.n, k);
        await rejected('/items/get', { dataCollectionId: 'inj', dataItemId: `${v}` }, 'WDE0073');
      }
      // A condition with metacharacters that does not hold removes nothing.
      await rejected('/items/remove', { dataCollectionId: 'inj', dataItemId: 'i0', condition: { filter: { s: "' OR '1'='1" } } }, 'WDE0073');
    });

    test('forged cursors are parsed and validated again', async () => {
      const cursor = (state: Record<string, unknown>) =>
        Buffer.from(JSON.stringify({ v: 1, c: 'inj', e: 'LIVE', f: null, s: null, p: null, o: 0, l: 50, ...state })).toString('base64url');
      const page = (c: string, collection = 'inj') => call(s.url, 'POST', `${DATA}/items/query`, { dataCollectionId: collection, query: { cursorPaging: { cursor: c } } });
      const ok = await page(cursor({ f: { s: "') OR 1=1 --" } }));
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.deepEqual(ok.body.dataItems.map((i: any) => i.id), ['i9']);
      await rejected('/items/query', { dataCollectionId: 'inj', query: { cursorPaging: { cursor: cursor({ f: { "a'b": 1 } }) } } }, 'WDE0147');
      await rejected('/items/query', { dataCollectionId: 'inj', query: { cursorPaging: { cursor: cursor({ s: [{ fieldName: "s'--" }] }) } } }, 'WDE0147');
      await rejected('/items/query', { dataCollectionId: 'inj', query: { cursorPaging: { cursor: cursor({ p: ['s;'] }) } } }, 'WDE0147');
      await rejected('/items/query', { dataCollectionId: 'inj', query: { cursorPaging: { cursor: cursor({ o: '0; DROP TABLE items' }) } } }, 'WDE0165');
      await rejected('/items/query', { dataCollectionId: 'inj', query: { cursorPaging: { cursor: cursor({ o: 1.5 }) } } }, 'WDE0035');
      await rejected('/items/query', { dataCollectionId: 'inj', query: { cursorPaging: { cursor: cursor({ l: '1 OR 1=1' }) } } }, 'WDE0165');
      await rejected('/items/query', { dataCollectionId: 'inj', query: { cursorPaging: { cursor: cursor({ c: "inj' OR '1'='1" }) } } }, 'WDE0165');
      await rejected('/items/query', { dataCollectionId: 'inj', query: { cursorPaging: { cursor: cursor({ c: 'other' }) } } }, 'WDE0165');
      await rejected('/items/query', { dataCollectionId: 'inj', query: { cursorPaging: { cursor: cursor({ e: "LIVE' OR '1'='1" }) } } }, 'WDE0165');
    });

    test('projection with valid paths returns exactly the stored values', async () => {
      const r = await call(s.url, 'POST', `${DATA}/items/query`, {
        dataCollectionId: 'inj',
        query: { filter: { k: { $gte: 0 } }, fields: ['s', 'obj.x'], sort: [{ fieldName: 'k' }], paging: { limit: 1000 } },
      });
      assert.equal(r.status, 200);
      assert.deepEqual(
        r.body.dataItems.map((i: any) => i.data),
        NASTY.map((v, k) => ({ _id: `i${k}`, s: v, obj: { x: v } })),
      );
    });

    test('afterwards the collections and every item are intact', async () => {
      const strip = ({ _createdDate, _updatedDate, _owner, ...rest }: JsonObject) => rest;
      const now = await readAll('inj');
      assert.deepEqual(now, stored);
      assert.deepEqual(
        now.map(strip),
        [...items].sort((a, b) => (String(a._id) < String(b._id) ? -1 : String(a._id) > String(b._id) ? 1 : 0)),
      );
      assert.deepEqual((await readAll('other')).map(strip), [{ _id: 'o1', s: "'" }]);
      const list = await call(s.url, 'GET', `${DATA}/collections`);
      assert.equal(list.status, 200);
      const listed = JSON.stringify(list.body);
      assert.ok(listed.includes('"inj"') && listed.includes('"other"'), listed.slice(0, 300));
    });
  });
}
