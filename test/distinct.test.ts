/**
 * Distinct values (`POST /items/query-distinct-values`): through the published client (the query
 * builder's `distinct()` with `next()`, and `items.distinct()`), over raw HTTP (the reply field by
 * field, cursor paging, both path prefixes, environments, drafts, bad input), and as a
 * differential property test: random items, filters, fields and orders, each store's answer
 * against the JS evaluator's (src/query/evaluate.ts), by offset and by cursor.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, call, type TestServer } from './helpers/server.js';
import { createCollection, insertItems, readAllData } from './helpers/store-items.js';
import { ADMIN_CONTEXT } from '../src/items/service.js';
import { parseFieldPath, parseFilter } from '../src/query/parse.js';
import { compareItems, evaluate, getPath, sortRank } from '../src/query/evaluate.js';
import { canonicalise, canonicalJson, type JsonObject, type JsonValue } from '../src/wire/json.js';
import { filterArb, itemsArb } from './helpers/query-arbitraries.js';

const DATA = '/wix-data/v2';
const DISTINCT = `${DATA}/items/query-distinct-values`;
type Item = Record<string, any>;

/** DISTINCT_DIFF_SCALE=10 runs ten times as many cases (for a long local hunt; CI runs 1). */
const SCALE = Math.max(1, Number(process.env.DISTINCT_DIFF_SCALE ?? 1) || 1);
const RUNS = { offset: 600 * SCALE, cursor: 200 * SCALE };

/** Fields the differential test asks for: every kind the item generator makes, nested and system ones too. */
const FIELDS = ['a', 'b', 's', 'n', 'tags', 'd', 'obj', 'obj.x', 'obj.y', 'obj.deep.z', 'Größe', 'first-name', '_id', '_owner', '_createdDate', 'missing'];

/**
 * The evaluator's answer: the values the matching items hold at `field` (none for missing or
 * null), each once, ordered as a query sorts (compareItems on `{_id: canonical text, v: value}`,
 * so values of one rank order by value and objects/arrays by their canonical text).
 */
function expectedValues(all: readonly JsonObject[], filter: unknown, field: string, order: 'ASC' | 'DESC'): JsonValue[] {
  const node = parseFilter(filter);
  const path = parseFieldPath(field);
  const byText = new Map<string, JsonValue>();
  for (const item of all) {
    if (!evaluate(node, item)) continue;
    const v = getPath(item, path);
    if (v === undefined || v === null) continue;
    byText.set(canonicalJson(v), canonicalise(v));
  }
  const wrapped = [...byText].map(([text, v]) => ({ _id: text, v }));
  wrapped.sort((x, y) => compareItems([{ field: { segments: ['v'] }, order }], x, y));
  return wrapped.map((w) => w.v);
}

/**
 * Objects and arrays share the last sort rank, and each store breaks their ties by its own JSON
 * text (docs/query-language.md): PostgreSQL's differs from the canonical text the evaluator
 * uses. There the test compares that run of values as a set.
 */
function comparable(values: readonly JsonValue[], storeName: string): JsonValue[] {
  if (storeName === 'sqlite') return [...values];
  const text = (v: JsonValue) => canonicalJson(v);
  const last = values.filter((v) => sortRank(v) === 5).sort((x, y) => (text(x) < text(y) ? -1 : text(x) > text(y) ? 1 : 0));
  let i = 0;
  return values.map((v) => (sortRank(v) === 5 ? (last[i++] as JsonValue) : v));
}

for (const storeName of STORE_NAMES) {
  describe(`distinct values (${storeName})`, () => {
    let s: TestServer;
    /** The SDK's typings want its generics; tests call it as users' JavaScript does. */
    let items: any;
    before(async () => {
      s = await startServer(storeName);
      items = s.client.items;
    });
    after(() => s.close());

    const api = (method: string, path: string, body?: unknown) => call(s.url, method, path, body);
    const collection = (id: string, extra: Record<string, unknown> = {}) => createCollection(s, id, extra);
    const insert = (c: string, list: JsonObject[]) => insertItems(s, c, list);
    const readAll = (c: string) => readAllData(s, c);

    const PEOPLE: Item[] = [
      { _id: 'p1', city: 'Oslo', age: 30, tags: ['x'], address: { zip: '0150', street: 'A' }, born: new Date('1990-05-01T00:00:00.000Z'), member: true },
      { _id: 'p2', city: 'Bergen', age: 25, tags: ['x'], address: { street: 'A', zip: '0150' }, born: new Date('1995-01-01T00:00:00.000Z'), member: false },
      { _id: 'p3', city: 'Oslo', age: 41.5, tags: ['y', 'z'], born: new Date('1990-05-01T00:00:00.000Z') },
      { _id: 'p4', city: 'Ålesund', age: 25, tags: [], member: true },
      { _id: 'p5', city: null, age: '25' },
      { _id: 'p6', age: 7 },
    ];

    test('the query builder: distinct() with a filter, an order, a limit and next(); values of every type', async () => {
      await collection('people');
      await items.bulkInsert('people', PEOPLE);
      assert.deepEqual((await items.query('people').distinct('city')).items, ['Bergen', 'Oslo', 'Ålesund']);
      // Numbers before strings (the query language's sort ranks); '25' is not 25.
      assert.deepEqual((await items.query('people').distinct('age')).items, [7, 25, 30, 41.5, '25']);
      assert.deepEqual((await items.query('people').descending('age').distinct('age')).items, ['25', 41.5, 30, 25, 7]);
      assert.deepEqual((await items.query('people').eq('city', 'Oslo').distinct('age')).items, [30, 41.5]);
      assert.deepEqual((await items.query('people').distinct('member')).items, [false, true]);
      // Whole values are compared: arrays and objects (whatever their key order) count once each.
      // They share one sort rank; among themselves they order by their JSON text.
      assert.deepEqual((await items.query('people').distinct('tags')).items, [['x'], ['y', 'z'], []]);
      assert.deepEqual((await items.query('people').distinct('address')).items, [{ street: 'A', zip: '0150' }]);
      assert.deepEqual((await items.query('people').distinct('address.zip')).items, ['0150']);
      assert.deepEqual((await items.query('people').hasSome('tags', ['x']).distinct('_id')).items, ['p1', 'p2']);
      // Dates come back as Dates.
      const born = (await items.query('people').distinct('born')).items;
      assert.ok(born.every((d: unknown) => d instanceof Date));
      assert.deepEqual(born.map((d: Date) => d.toISOString()), ['1990-05-01T00:00:00.000Z', '1995-01-01T00:00:00.000Z']);
      assert.deepEqual((await items.query('people').distinct('nowhere')).items, []);

      // Offset paging with next(), and the total.
      const first = await items.query('people').ascending('age').limit(2).distinct('age', { returnTotalCount: true });
      assert.deepEqual(first.items, [7, 25]);
      assert.equal(first.totalCount, 5);
      assert.equal(first.hasNext(), true);
      const second = await first.next();
      assert.deepEqual(second.items, [30, 41.5]);
      const third = await second.next();
      assert.deepEqual(third.items, ['25']);
      assert.equal(third.hasNext(), false);
      // The skip of the query builder is the offset.
      assert.deepEqual((await items.query('people').skip(1).limit(2).distinct('city')).items, ['Oslo', 'Ålesund']);
    });

    test('items.distinct(collection, field, options)', async () => {
      const r = await items.distinct('people', 'city', { filter: { age: { $gte: 25 } }, order: 'DESC' });
      assert.deepEqual(r.values, ['Ålesund', 'Oslo', 'Bergen']);
      const paged = await items.distinct('people', 'age', { paging: { limit: 2, offset: 1 }, returnTotalCount: true });
      assert.deepEqual(paged.values, [25, 30]);
      assert.equal(paged.pagingMetadata.total, 5);
      assert.equal(paged.pagingMetadata.offset, 1);
    });

    test('raw HTTP: the reply field by field; both path prefixes; cursor paging from start to end', async () => {
      const r = await api('POST', DISTINCT, { dataCollectionId: 'people', fieldName: 'city', returnTotalCount: true });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body, {
        distinctValues: ['Bergen', 'Oslo', 'Ålesund'],
        pagingMetadata: { count: 3, hasNext: false, cursors: {}, offset: 0, total: 3, tooManyToCount: false },
      });
      const other = await api('POST', '/_api/cloud-data/v2/items/query-distinct-values', { dataCollectionId: 'people', fieldName: 'born', order: 'DESC' });
      assert.deepEqual(other.body.distinctValues, [{ $date: '1995-01-01T00:00:00.000Z' }, { $date: '1990-05-01T00:00:00.000Z' }]);

      const seen: unknown[] = [];
      let page = await api('POST', DISTINCT, { dataCollectionId: 'people', fieldName: 'age', order: 'DESC', filter: { _id: { $ne: 'p6' } }, cursorPaging: { limit: 2 } });
      for (;;) {
        assert.equal(page.status, 200, JSON.stringify(page.body));
        assert.equal(page.body.pagingMetadata.count, page.body.distinctValues.length);
        assert.equal(page.body.pagingMetadata.offset, undefined);
        seen.push(...page.body.distinctValues);
        const next = page.body.pagingMetadata.cursors.next;
        assert.equal(page.body.pagingMetadata.hasNext, next !== undefined);
        if (!next) break;
        // The follow-up carries only the cursor, as the SDK's does: field, filter and order travel in it.
        page = await api('POST', DISTINCT, { dataCollectionId: 'people', cursorPaging: { cursor: next } });
      }
      assert.deepEqual(seen, ['25', 41.5, 30, 25]);
    });

    test('environments and drafts: the sandbox has its own values; drafts count only with includeDraftItems', async () => {
      await collection('sb');
      await insert('sb', [{ k: 'live' }]);
      assert.equal((await api('POST', '/cairn/v1/collections/sb/sandbox', { enabled: true })).status, 200);
      assert.equal((await api('POST', `${DATA}/items`, { dataCollectionId: 'sb', environment: 'SANDBOX', dataItem: { data: { k: 'sandbox' } } })).status, 200);
      const live = await api('POST', DISTINCT, { dataCollectionId: 'sb', fieldName: 'k' });
      const sandbox = await api('POST', DISTINCT, { dataCollectionId: 'sb', fieldName: 'k', environment: 'SANDBOX' });
      assert.deepEqual(live.body.distinctValues, ['live']);
      assert.deepEqual(sandbox.body.distinctValues, ['live', 'sandbox']);
      // A cursor is bound to its environment.
      const first = await api('POST', DISTINCT, { dataCollectionId: 'sb', fieldName: 'k', environment: 'SANDBOX', cursorPaging: { limit: 1 } });
      const wrongEnv = await api('POST', DISTINCT, { dataCollectionId: 'sb', cursorPaging: { cursor: first.body.pagingMetadata.cursors.next } });
      assert.equal(wrongEnv.status, 400);
      assert.equal(wrongEnv.body.details.applicationError.code, 'WDE0165');

      await collection('drafts', { plugins: [{ type: 'PUBLISH', publishOptions: { defaultStatus: 'DRAFT' } }] });
      await insert('drafts', [{ k: 'draft' }]);
      assert.deepEqual((await api('POST', DISTINCT, { dataCollectionId: 'drafts', fieldName: 'k' })).body.distinctValues, []);
      assert.deepEqual((await items.query('drafts').distinct('k', { showDrafts: true })).items, ['draft']);
    });

    test('bad input: a clear 400 in the Wix envelope', async () => {
      const queryCursor = (await api('POST', `${DATA}/items/query`, { dataCollectionId: 'people', query: { cursorPaging: { limit: 1 } } })).body.pagingMetadata.cursors.next;
      const cases: [JsonObject, string][] = [
        [{ dataCollectionId: 'people' }, 'WDE0147'],
        [{ dataCollectionId: 'people', fieldName: '' }, 'WDE0147'],
        [{ dataCollectionId: 'people', fieldName: 7 }, 'WDE0147'],
        [{ dataCollectionId: 'people', fieldName: "a'); DROP TABLE items; --" }, 'WDE0147'],
        [{ dataCollectionId: 'people', fieldName: '$where' }, 'WDE0134'],
        [{ dataCollectionId: 'people', fieldName: 'city', order: 'UP' }, 'WDE0067'],
        [{ dataCollectionId: 'people', fieldName: 'city', filter: { city: { $bogus: 1 } } }, 'WDE0061'],
        [{ dataCollectionId: 'people', fieldName: 'city', filter: '1=1' }, 'WDE0016'],
        [{ dataCollectionId: 'people', fieldName: 'city', paging: { limit: 1001 } }, 'WDE0036'],
        [{ dataCollectionId: 'people', fieldName: 'city', paging: { limit: 1 }, cursorPaging: { limit: 1 } }, 'WDE0080'],
        [{ dataCollectionId: 'people', fieldName: 'city', returnTotalCount: 'yes' }, 'WDE0080'],
        [{ dataCollectionId: 'people', cursorPaging: { cursor: 'not-a-cursor' } }, 'WDE0165'],
        [{ dataCollectionId: 'people', cursorPaging: { cursor: queryCursor } }, 'WDE0165'],
      ];
      for (const [body, code] of cases) {
        const r = await api('POST', DISTINCT, body);
        assert.equal(r.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.details.applicationError.code, code, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
        assert.equal(typeof r.body.message, 'string');
      }
      // A distinct cursor is no query cursor either.
      const distinctCursor = (await api('POST', DISTINCT, { dataCollectionId: 'people', fieldName: 'city', cursorPaging: { limit: 1 } })).body.pagingMetadata.cursors.next;
      const asQuery = await api('POST', `${DATA}/items/query`, { dataCollectionId: 'people', query: { cursorPaging: { cursor: distinctCursor } } });
      assert.equal(asQuery.status, 400);
      assert.equal(asQuery.body.details.applicationError.code, 'WDE0165');
      const missing = await api('POST', DISTINCT, { dataCollectionId: 'nope', fieldName: 'city' });
      assert.equal(missing.status, 404);
      assert.equal(missing.body.details.applicationError.code, 'WDE0025');
    });

    test(`${RUNS.offset} random filters, fields and orders against 200 random items: the evaluator's values`, async () => {
      await collection('big');
      const [list] = fc.sample(itemsArb(200, 200), { numRuns: 1, seed: 7 });
      await insert('big', list as JsonObject[]);
      const all = await readAll('big');
      let nonTrivial = 0;
      await fc.assert(
        fc.asyncProperty(filterArb, fc.constantFrom(...FIELDS), fc.constantFrom('ASC' as const, 'DESC' as const), async (filter, field, order) => {
          const want = expectedValues(all, filter, field, order);
          const r = await s.cairn.items.distinct({ dataCollectionId: 'big', fieldName: field, filter, order, paging: { limit: 1000 }, returnTotalCount: true }, ADMIN_CONTEXT);
          const why = `filter ${JSON.stringify(filter)} field ${field} ${order}`;
          assert.deepEqual(comparable(r.distinctValues, storeName), comparable(want, storeName), why);
          assert.equal(r.pagingMetadata.total, want.length, why);
          if (want.length > 1) nonTrivial++;
        }),
        { numRuns: RUNS.offset, includeErrorInReport: true },
      );
      assert.ok(nonTrivial > RUNS.offset / 4, `only ${nonTrivial} cases had more than one value`);
    });

    test(`${RUNS.cursor} random cases paged by cursor: the same values as one offset page`, async () => {
      const all = await readAll('big');
      await fc.assert(
        fc.asyncProperty(filterArb, fc.constantFrom(...FIELDS), fc.constantFrom('ASC' as const, 'DESC' as const), fc.integer({ min: 1, max: 30 }), async (filter, field, order, limit) => {
          const whole = await s.cairn.items.distinct({ dataCollectionId: 'big', fieldName: field, filter, order, paging: { limit: 1000 } }, ADMIN_CONTEXT);
          const got: JsonValue[] = [];
          let r = await s.cairn.items.distinct({ dataCollectionId: 'big', fieldName: field, filter, order, cursorPaging: { limit } }, ADMIN_CONTEXT);
          for (;;) {
            got.push(...r.distinctValues);
            const next = r.pagingMetadata.cursors.next;
            if (next === undefined) break;
            assert.ok(got.length <= whole.distinctValues.length, 'paging ran past the values');
            r = await s.cairn.items.distinct({ dataCollectionId: 'big', cursorPaging: { cursor: next } }, ADMIN_CONTEXT);
          }
          const why = `filter ${JSON.stringify(filter)} field ${field} ${order} limit ${limit}`;
          assert.deepEqual(got, whole.distinctValues, why);
          assert.deepEqual(comparable(got, storeName), comparable(expectedValues(all, filter, field, order), storeName), why);
        }),
        { numRuns: RUNS.cursor, includeErrorInReport: true },
      );
    });
  });
}
