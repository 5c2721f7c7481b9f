/**
 * Aggregation (`POST /items/aggregate`): through the published client (`items.aggregate()` with
 * group, sum, avg, min, max, count, filter, having, sorts, limit and `next()`), over raw HTTP (the
 * reply field by field, cursor paging, both path prefixes, environments, drafts, bad input), and
 * as a differential property test: random items and random aggregations, each store's results
 * against a JS model built on the query evaluator (src/query/evaluate.ts).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, call, type TestServer } from './helpers/server.js';
import { createCollection, insertItems, readAllData } from './helpers/store-items.js';
import { ADMIN_CONTEXT } from '../src/items/service.js';
import { parseFieldPath, parseFilter, parseSort } from '../src/query/parse.js';
import { compareItems, evaluate, getPath, sortRank } from '../src/query/evaluate.js';
import type { SortSpec } from '../src/query/ast.js';
import { canonicalise, canonicalJson, isPlainObject, type JsonObject, type JsonValue } from '../src/wire/json.js';
import { filterArb, itemsArb } from './helpers/query-arbitraries.js';

const DATA = '/wix-data/v2';
const AGGREGATE = `${DATA}/items/aggregate`;
type Item = Record<string, any>;

/** AGGREGATE_DIFF_SCALE=10 runs ten times as many cases (for a long local hunt; CI runs 1). */
const SCALE = Math.max(1, Number(process.env.AGGREGATE_DIFF_SCALE ?? 1) || 1);
const RUNS = { offset: 400 * SCALE, cursor: 150 * SCALE };

// ---------------------------------------------------------------------------------------------
// The model: the aggregation computed in JS from the items the store holds.

interface Request {
  initialFilter?: JsonObject;
  aggregation: { groupingFields: string[]; operations: JsonObject[] };
  finalFilter?: JsonObject;
  sort?: { fieldName: string; order: 'ASC' | 'DESC' }[];
}

const KINDS = ['sum', 'average', 'min', 'max', 'itemCount'] as const;

/** Min or max in the query language's sort order; objects and arrays tie, broken by canonical text. */
function extreme(values: JsonValue[], kind: 'min' | 'max'): JsonValue {
  const present = values.filter((v) => v !== null && v !== undefined);
  if (present.length === 0) return null;
  const order = kind === 'min' ? 'ASC' : 'DESC';
  const wrapped = present.map((v) => ({ _id: canonicalJson(v), v }));
  wrapped.sort((a, b) => compareItems([{ field: { segments: ['v'] }, order }], a, b));
  // compareItems breaks ties by _id ascending, which is what both stores do for min and max.
  return canonicalise(wrapped[0]!.v);
}

function setPath(out: JsonObject, segments: readonly string[], value: JsonValue): void {
  let node = out;
  segments.forEach((s, i) => {
    if (i === segments.length - 1) node[s] = value;
    else {
      if (!isPlainObject(node[s])) node[s] = {};
      node = node[s] as JsonObject;
    }
  });
}

/** The results in order, each with its group key text (the tie-break) beside it. */
interface Expected {
  key: string;
  result: JsonObject;
  /** Per sum or average: the sum of the magnitudes added (the scale of its rounding error). */
  scale: Record<string, number>;
}

function expectedResults(all: readonly JsonObject[], req: Request): Expected[] {
  const filter = parseFilter(req.initialFilter);
  const groups = req.aggregation.groupingFields.map((g) => parseFieldPath(g));
  const byKey = new Map<string, { values: JsonValue[]; items: JsonObject[] }>();
  for (const item of all) {
    if (!evaluate(filter, item)) continue;
    const values = groups.map((g) => canonicalise(getPath(item, g) ?? null));
    const key = JSON.stringify(values);
    const group = byKey.get(key) ?? { values, items: [] };
    group.items.push(item);
    byKey.set(key, group);
  }
  const out: Expected[] = [];
  for (const [key, { values, items }] of byKey) {
    const scale: Record<string, number> = {};
    const result: JsonObject = { _id: groups.length ? Object.fromEntries(groups.map((g, i) => [g.segments.join('.'), values[i] as JsonValue])) : null };
    groups.forEach((g, i) => setPath(result, g.segments, values[i] as JsonValue));
    for (const op of req.aggregation.operations) {
      const kind = KINDS.find((k) => op[k] !== undefined) as (typeof KINDS)[number];
      const name = op.resultFieldName as string;
      if (kind === 'itemCount') {
        result[name] = items.length;
        continue;
      }
      const path = parseFieldPath((op[kind] as JsonObject).itemFieldName);
      const vals = items.map((it) => getPath(it, path)).filter((v): v is JsonValue => v !== undefined);
      const numbers = vals.filter((v): v is number => typeof v === 'number');
      const total = numbers.reduce((a, b) => a + b, 0);
      const magnitude = numbers.reduce((a, b) => a + Math.abs(b), 0);
      if (kind === 'sum') scale[name] = magnitude;
      if (kind === 'average') scale[name] = numbers.length ? magnitude / numbers.length : 0;
      const finite = (x: number) => (Number.isFinite(x) ? x : null);
      if (kind === 'sum') result[name] = finite(total);
      else if (kind === 'average') result[name] = numbers.length ? finite(total / numbers.length) : null;
      else result[name] = extreme(vals, kind);
    }
    out.push({ key, result: canonicalise(result) as JsonObject, scale });
  }
  const final = parseFilter(req.finalFilter);
  const specs = resultSort(req);
  return out
    .filter((r) => evaluate(final, r.result))
    .sort((a, b) => compareItems(specs, { ...a.result, _id: a.key }, { ...b.result, _id: b.key }));
}

/** The request's sort, then the grouping fields ascending (then the key: compareItems' _id). */
function resultSort(req: Request): SortSpec[] {
  return [...parseSort(req.sort), ...req.aggregation.groupingFields.map((g) => ({ field: parseFieldPath(g), order: 'ASC' as const }))];
}

/** The results' sum and average fields: the stores add in other orders and precisions. */
const inexactFields = (req: Request): string[] =>
  req.aggregation.operations.filter((op) => op.sum !== undefined || op.average !== undefined).map((op) => op.resultFieldName as string);

/**
 * Results in a comparable form, sums and averages left out (sumsAgree checks them). On
 * PostgreSQL, runs of results that tie on every sort term (arrays or objects as group values)
 * are put in canonical order, and an array or object as a min or max is only checked to be one:
 * each store breaks ties between arrays and objects by its own JSON text.
 */
function comparable(list: readonly JsonObject[], req: Request, storeName: string): string[] {
  const inexact = inexactFields(req);
  // On PostgreSQL, which array or object is the min or max is the store's choice too (they tie).
  const extremes = req.aggregation.operations.filter((op) => op.min !== undefined || op.max !== undefined).map((op) => op.resultFieldName as string);
  const masked = (r: JsonObject): JsonObject => {
    const out: JsonObject = { ...r, ...Object.fromEntries(inexact.map((k) => [k, '~'])) };
    if (storeName !== 'sqlite') for (const k of extremes) if (sortRank(out[k]) === 5) out[k] = 'an array or object';
    return out;
  };
  const texts = list.map((r) => canonicalJson(masked(r)));
  if (storeName === 'sqlite') return texts;
  const specs = resultSort(req);
  const tie = (a: JsonObject, b: JsonObject) => compareItems(specs, { ...a, _id: '' }, { ...b, _id: '' }) === 0;
  const out: string[] = [];
  for (let i = 0; i < list.length; ) {
    let j = i + 1;
    while (j < list.length && tie(list[i] as JsonObject, list[j] as JsonObject)) j++;
    out.push(...texts.slice(i, j).sort());
    i = j;
  }
  return out;
}

/**
 * Each sum and average within rounding of the model's: PostgreSQL adds exactly, SQLite with
 * compensated doubles, the model in order, so they differ by up to a few ulps of the magnitudes
 * added. Past the double range a sum is no JSON number (null) on any of them.
 */
function sumsAgree(got: readonly JsonObject[], want: readonly Expected[], req: Request, why: string): void {
  const byGroup = new Map(want.map((w) => [canonicalJson(w.result._id as JsonValue), w]));
  for (const r of got) {
    const w = byGroup.get(canonicalJson(r._id as JsonValue));
    assert.ok(w, `${why}: no such group in the model: ${canonicalJson(r)}`);
    for (const k of inexactFields(req)) {
      const a: JsonValue | undefined = r[k];
      const b: JsonValue | undefined = w.result[k];
      const scale = w.scale[k] ?? 0;
      if (scale > 1e290) continue;
      if (a === null || b === null) {
        assert.equal(a, b, `${why}: ${k} of ${canonicalJson(r._id as JsonValue)}`);
        continue;
      }
      assert.ok(Math.abs((a as number) - (b as number)) <= scale * 1e-12 + 1e-300, `${why}: ${k} of ${canonicalJson(r._id as JsonValue)}: ${a} against ${b}`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Random aggregations over the fields of the item generator.

const GROUPABLE = ['a', 'b', 's', 'n', 'tags', 'd', 'obj.x', 'obj.deep.z', 'Größe', 'first-name'];
const MEASURED = ['a', 'b', 's', 'n', 'tags', 'd', 'obj', 'obj.x', 'Größe', '_id', '_createdDate', '_owner', 'missing'];

const operationArb: fc.Arbitrary<{ kind: (typeof KINDS)[number]; field: string }> = fc.record({ kind: fc.constantFrom(...KINDS), field: fc.constantFrom(...MEASURED) });

const requestArb: fc.Arbitrary<Request> = fc
  .record({
    initialFilter: fc.option(filterArb, { freq: 2, nil: undefined }),
    groups: fc.uniqueArray(fc.constantFrom(...GROUPABLE), { maxLength: 2 }).filter((g) => !(g.includes('obj.x') && g.includes('obj.deep.z'))),
    operations: fc.array(operationArb, { minLength: 1, maxLength: 4 }),
    having: fc.option(fc.tuple(fc.integer({ min: 1, max: 4 }), fc.constantFrom('$gte', '$lt', '$eq')), { nil: undefined }),
    sortByCount: fc.option(fc.constantFrom('ASC' as const, 'DESC' as const), { nil: undefined }),
  })
  .map(({ initialFilter, groups, operations, having, sortByCount }) => {
    const ops: JsonObject[] = operations.map((op, i) => (op.kind === 'itemCount' ? { resultFieldName: `r${i}`, itemCount: {} } : { resultFieldName: `r${i}`, [op.kind]: { itemFieldName: op.field } }));
    // finalFilter and sort use the count (exact on both stores), never a sum or an average.
    ops.push({ resultFieldName: 'cnt', itemCount: {} });
    const req: Request = { aggregation: { groupingFields: groups, operations: ops } };
    if (initialFilter) req.initialFilter = initialFilter;
    if (having) req.finalFilter = { cnt: { [having[1]]: having[0] } };
    if (sortByCount) req.sort = [{ fieldName: 'cnt', order: sortByCount }];
    return req;
  });

for (const storeName of STORE_NAMES) {
  describe(`aggregation (${storeName})`, () => {
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

    // The sample data of Wix's aggregation guide.
    const CITIES: [string, number, string, number][] = [
      ['Buffalo', 292000, 'NY', 2000],
      ['Buffalo', 261000, 'NY', 2010],
      ['Los Angeles', 3703000, 'CA', 2000],
      ['Los Angeles', 3796000, 'CA', 2010],
      ['Miami', 362000, 'FL', 2000],
      ['Miami', 401000, 'FL', 2010],
      ['New York', 8015000, 'NY', 2000],
      ['New York', 8192000, 'NY', 2010],
      ['Orlando', 195000, 'FL', 2000],
      ['Orlando', 240000, 'FL', 2010],
      ['San Diego', 1228000, 'CA', 2010],
    ];

    test('the published client: group, sum, avg, min, max, count, filter, having, sorts, limit and next()', async () => {
      await collection('pop');
      await items.bulkInsert('pop', CITIES.map(([city, population, state, year]) => ({ city, population, state, year, counted: new Date(`${year}-04-01T00:00:00.000Z`) })));
      const byState = await items.aggregate('pop').group('state').max('population').run();
      // One grouping field: the client unwraps _id to the value.
      assert.deepEqual(byState.items, [
        { _id: 'CA', state: 'CA', populationMax: 3796000 },
        { _id: 'FL', state: 'FL', populationMax: 401000 },
        { _id: 'NY', state: 'NY', populationMax: 8192000 },
      ]);
      const two = await items.aggregate('pop').group('state', 'year').sum('population', 'total').descending('total').limit(2).run();
      assert.deepEqual(two.items, [
        { _id: { state: 'NY', year: 2010 }, state: 'NY', year: 2010, total: 8453000 },
        { _id: { state: 'NY', year: 2000 }, state: 'NY', year: 2000, total: 8307000 },
      ]);
      assert.equal(two.hasNext(), true);
      const next = await two.next();
      assert.deepEqual(next.items.map((r: Item) => [r.state, r.year]), [
        ['CA', 2010],
        ['CA', 2000],
      ]);
      // No grouping: one result for the whole collection; dates come back as Dates.
      const whole = await items.aggregate('pop').count().avg('population').min('city').max('counted').run();
      assert.equal(whole.items.length, 1);
      const [w] = whole.items;
      assert.equal(w._id, null);
      assert.equal(w.count, 11);
      assert.ok(Math.abs(w.populationAvg - 26685000 / 11) < 1e-6);
      assert.equal(w.cityMin, 'Buffalo');
      assert.ok(w.countedMax instanceof Date);
      assert.equal(w.countedMax.toISOString(), '2010-04-01T00:00:00.000Z');
      // filter (before grouping) and having (after).
      const big = await items
        .aggregate('pop')
        .filter(items.filter().gt('population', 1000000))
        .group('state')
        .count()
        .having(items.filter().ge('count', 2))
        .run();
      assert.deepEqual(big.items, [
        { _id: 'CA', state: 'CA', count: 3 },
        { _id: 'NY', state: 'NY', count: 2 },
      ]);
      assert.deepEqual((await items.aggregate('pop').filter(items.filter().eq('year', 1900)).count().run()).items, []);
    });

    test('raw HTTP: the reply field by field; both prefixes; cursor paging; returnTotalCount', async () => {
      const body = {
        dataCollectionId: 'pop',
        initialFilter: { year: 2010 },
        aggregation: { groupingFields: ['state'], operations: [{ resultFieldName: 'n', itemCount: {} }, { resultFieldName: 'top', max: { itemFieldName: 'city' } }] },
        sort: [{ fieldName: 'n', order: 'DESC' }],
        returnTotalCount: true,
      };
      const r = await api('POST', AGGREGATE, body);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(r.body, {
        results: [
          { _id: { state: 'CA' }, n: 2, state: 'CA', top: 'San Diego' },
          { _id: { state: 'FL' }, n: 2, state: 'FL', top: 'Orlando' },
          { _id: { state: 'NY' }, n: 2, state: 'NY', top: 'New York' },
        ],
        pagingMetadata: { count: 3, hasNext: false, cursors: {}, offset: 0, total: 3, tooManyToCount: false },
      });
      const other = await api('POST', '/_api/cloud-data/v2/items/aggregate', body);
      assert.deepEqual(other.body, r.body);

      const seen: unknown[] = [];
      const { returnTotalCount: _, ...rest } = body;
      let page = await api('POST', AGGREGATE, { ...rest, initialFilter: {}, cursorPaging: { limit: 2 } });
      for (;;) {
        assert.equal(page.status, 200, JSON.stringify(page.body));
        seen.push(...page.body.results.map((x: Item) => x.state));
        const next = page.body.pagingMetadata.cursors.next;
        assert.equal(page.body.pagingMetadata.hasNext, next !== undefined);
        if (!next) break;
        page = await api('POST', AGGREGATE, { dataCollectionId: 'pop', cursorPaging: { cursor: next } });
      }
      assert.deepEqual(seen, ['FL', 'NY', 'CA']);
    });

    test('the largest aggregation: 10 grouping fields and 100 operations', async () => {
      const groupingFields = Array.from({ length: 10 }, (_, i) => `g${i}`);
      const operations = Array.from({ length: 100 }, (_, i) => ({ resultFieldName: `r${i}`, [['sum', 'average', 'min', 'max', 'itemCount'][i % 5] as string]: i % 5 === 4 ? {} : { itemFieldName: 'population' } }));
      const r = await api('POST', AGGREGATE, { dataCollectionId: 'pop', aggregation: { groupingFields, operations } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.results.length, 1);
      const [only] = r.body.results;
      assert.deepEqual(only._id, Object.fromEntries(groupingFields.map((g) => [g, null])));
      assert.equal(Object.keys(only).length, 1 + 10 + 100);
      assert.equal(only.r0, 26685000);
      assert.ok(Math.abs(only.r1 - 26685000 / 11) < 1e-6);
      assert.ok(Math.abs(only.r96 - 26685000 / 11) < 1e-6);
      assert.equal(only.r2, 195000);
      assert.equal(only.r3, 8192000);
      assert.equal(only.r4, 11);
      assert.equal(only.r99, 11);
    });

    test('environments and drafts: each environment aggregates its own items; drafts only with includeDraftItems', async () => {
      await collection('agg_env');
      await insert('agg_env', [{ k: 'a' }]);
      assert.equal((await api('POST', '/cairn/v1/collections/agg_env/sandbox', { enabled: true })).status, 200);
      assert.equal((await api('POST', `${DATA}/items`, { dataCollectionId: 'agg_env', environment: 'SANDBOX', dataItem: { data: { k: 'a' } } })).status, 200);
      const count = { aggregation: { groupingFields: ['k'], operations: [{ resultFieldName: 'n', itemCount: {} }] } };
      assert.equal((await api('POST', AGGREGATE, { dataCollectionId: 'agg_env', ...count })).body.results[0].n, 1);
      assert.equal((await api('POST', AGGREGATE, { dataCollectionId: 'agg_env', environment: 'SANDBOX', ...count })).body.results[0].n, 2);

      await collection('agg_drafts', { plugins: [{ type: 'PUBLISH', publishOptions: { defaultStatus: 'DRAFT' } }] });
      await insert('agg_drafts', [{ k: 'a' }, { k: 'a' }]);
      assert.deepEqual((await api('POST', AGGREGATE, { dataCollectionId: 'agg_drafts', ...count })).body.results, []);
      assert.equal((await items.aggregate('agg_drafts').group('k').count().run({ showDrafts: true })).items[0].count, 2);
    });

    test('bad input: a clear 400 in the Wix envelope', async () => {
      const queryCursor = (await api('POST', `${DATA}/items/query`, { dataCollectionId: 'pop', query: { cursorPaging: { limit: 1 } } })).body.pagingMetadata.cursors.next;
      const op = (o: JsonObject) => ({ dataCollectionId: 'pop', aggregation: { groupingFields: ['state'], operations: [o] } });
      const cases: [JsonObject, string][] = [
        [{ dataCollectionId: 'pop', aggregation: 'x' }, 'WDE0080'],
        [{ dataCollectionId: 'pop', aggregation: { groupingFields: 'state' } }, 'WDE0080'],
        [{ dataCollectionId: 'pop', aggregation: { groupingFields: ['a..b'] } }, 'WDE0147'],
        [{ dataCollectionId: 'pop', aggregation: { groupingFields: ["x'); DROP TABLE items; --"] } }, 'WDE0147'],
        [{ dataCollectionId: 'pop', aggregation: { groupingFields: ['_owner'] } }, 'WDE0080'],
        [{ dataCollectionId: 'pop', aggregation: { groupingFields: ['a', 'a.b'] } }, 'WDE0080'],
        [{ dataCollectionId: 'pop', aggregation: { groupingFields: Array.from({ length: 11 }, (_, i) => `f${i}`) } }, 'WDE0080'],
        [{ dataCollectionId: 'pop', aggregation: { operations: {} } }, 'WDE0080'],
        [op({ resultFieldName: 'n' }), 'WDE0080'],
        [op({ resultFieldName: 'n', itemCount: {}, sum: { itemFieldName: 'population' } }), 'WDE0080'],
        [op({ resultFieldName: 'n', sum: {} }), 'WDE0147'],
        [op({ resultFieldName: 'n', sum: { itemFieldName: '$where' } }), 'WDE0134'],
        [op({ resultFieldName: '', itemCount: {} }), 'WDE0147'],
        [op({ resultFieldName: 'a.b', itemCount: {} }), 'WDE0080'],
        [op({ resultFieldName: '_id', itemCount: {} }), 'WDE0080'],
        [op({ resultFieldName: 'state', itemCount: {} }), 'WDE0080'],
        [op({ resultFieldName: 'n', itemCount: 'yes' }), 'WDE0080'],
        [{ ...op({ resultFieldName: 'n', itemCount: {} }), finalFilter: { population: { $gt: 1 } } }, 'WDE0080'],
        [{ ...op({ resultFieldName: 'n', itemCount: {} }), finalFilter: { n: { $bogus: 1 } } }, 'WDE0061'],
        [{ ...op({ resultFieldName: 'n', itemCount: {} }), sort: [{ fieldName: 'city' }] }, 'WDE0080'],
        [{ ...op({ resultFieldName: 'n', itemCount: {} }), sort: [{ fieldName: 'n', order: 'UP' }] }, 'WDE0067'],
        [{ ...op({ resultFieldName: 'n', itemCount: {} }), initialFilter: 'x' }, 'WDE0016'],
        [{ ...op({ resultFieldName: 'n', itemCount: {} }), paging: { limit: 1001 } }, 'WDE0036'],
        [{ ...op({ resultFieldName: 'n', itemCount: {} }), paging: { limit: 1 }, cursorPaging: { limit: 1 } }, 'WDE0080'],
        [{ dataCollectionId: 'pop', cursorPaging: { cursor: queryCursor } }, 'WDE0165'],
        [{ dataCollectionId: 'pop', cursorPaging: { cursor: 'garbage' } }, 'WDE0165'],
      ];
      for (const [body, code] of cases) {
        const r = await api('POST', AGGREGATE, body);
        assert.equal(r.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.details.applicationError.code, code, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
      }
      const missing = await api('POST', AGGREGATE, { dataCollectionId: 'nope' });
      assert.equal(missing.status, 404);
      assert.equal(missing.body.details.applicationError.code, 'WDE0025');
    });

    test(`${RUNS.offset} random aggregations over 200 random items: the model's results`, async () => {
      await collection('agg_big');
      const [list] = fc.sample(itemsArb(200, 200), { numRuns: 1, seed: 11 });
      await insert('agg_big', list as JsonObject[]);
      const all = await readAll('agg_big');
      let grouped = 0;
      await fc.assert(
        fc.asyncProperty(requestArb, async (req) => {
          const want = expectedResults(all, req);
          const r = await s.cairn.items.aggregate({ dataCollectionId: 'agg_big', ...(req as unknown as JsonObject), paging: { limit: 1000 }, returnTotalCount: true }, ADMIN_CONTEXT);
          const why = JSON.stringify(req);
          assert.deepEqual(
            comparable(r.results as JsonObject[], req, storeName),
            comparable(want.map((w) => w.result), req, storeName),
            why,
          );
          sumsAgree(r.results as JsonObject[], want, req, why);
          assert.equal(r.pagingMetadata.total, want.length, why);
          if (want.length > 1) grouped++;
        }),
        { numRuns: RUNS.offset, includeErrorInReport: true },
      );
      assert.ok(grouped > RUNS.offset / 4, `only ${grouped} cases had more than one result`);
    });

    test(`${RUNS.cursor} random aggregations paged by cursor: the same results as one offset page`, async () => {
      await fc.assert(
        fc.asyncProperty(requestArb, fc.integer({ min: 1, max: 20 }), async (req, limit) => {
          const whole = await s.cairn.items.aggregate({ dataCollectionId: 'agg_big', ...(req as unknown as JsonObject), paging: { limit: 1000 } }, ADMIN_CONTEXT);
          const got: JsonValue[] = [];
          let r = await s.cairn.items.aggregate({ dataCollectionId: 'agg_big', ...(req as unknown as JsonObject), cursorPaging: { limit } }, ADMIN_CONTEXT);
          for (;;) {
            got.push(...r.results);
            const next = r.pagingMetadata.cursors.next;
            if (next === undefined) break;
            assert.ok(got.length <= whole.results.length, 'paging ran past the results');
            r = await s.cairn.items.aggregate({ dataCollectionId: 'agg_big', cursorPaging: { cursor: next } }, ADMIN_CONTEXT);
          }
          assert.deepEqual(got, whole.results, `${JSON.stringify(req)} limit ${limit}`);
        }),
        { numRuns: RUNS.cursor, includeErrorInReport: true },
      );
    });
  });
}

