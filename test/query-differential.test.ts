/**
 * Differential property tests of the query compiler: random items and random filters (every
 * operator of the Wix filter language), run by each store's SQL and by the JS evaluator
 * (src/query/evaluate.ts, the reference semantics of docs/query-language.md). The ids the store
 * returns, in order, must be exactly the ids the evaluator selects, sorted by the evaluator's
 * comparator (compareItems: the sort specs, then `_id`).
 *
 * The items the evaluator sees are the stored ones as read back (dates normalised, system fields
 * filled in), so the test holds the compiler to the evaluator, not to the writer.
 */
import { ADMIN_CONTEXT } from '../src/items/service.js';
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, call, type TestServer } from './helpers/server.js';
import { parseFilter, parseSort } from '../src/query/parse.js';
import { compareItems, evaluate } from '../src/query/evaluate.js';
import type { SortSpec } from '../src/query/ast.js';
import type { JsonObject, JsonValue } from '../src/wire/json.js';

const DATA = '/wix-data/v2';

// ---------------------------------------------------------------------------------------------
// Values. Small pools, so that equality and comparisons hit often; mixed case and non-ASCII
// strings for the case-insensitive operators; dates at the edges of the 0..9999 year range.

/** The strings most values come from: few enough that equality hits often. */
const CORE_STRINGS = ['', 'a', 'A', 'ab', 'Ab', 'abc', 'ABC', 'b', 'z', 'Z', 'Straße', 'STRASSE', 'İstanbul', 'istanbul', 'ÄPFEL', 'äpfel', 'ΟΔΟΣ', 'οδοσ', 'Кошка', '日本語', 'x😀Y', 'é', 'É', '5'];
const STRINGS = [
  ...CORE_STRINGS,
  ' ', 'B', 'AB', 'aBc', 'bc', 'a b', '10', 'true', 'null', 'ß', 'SS', 'ss', 'ẞ', 'ISTANBUL', 'ıi', 'Äpfel', 'οδος', 'Σ', 'σς', 'ΣΑΣ',
  'Ωμέγα', 'ωμέγα', 'КОШКА', 'кошка', '日本', '😀', 'X😀y', 'e\u0301', 'K\u212a', 'ǅ', 'ǆ', 'Ǆ', 'ﬀ', 'Ⅻ', 'ⅻ',
  '2024-01-01T00:00:00.000Z', "it's", '%', '_', 'a%b', 'a_b', '\\', '"q"', '\u00a0', 'tab\there',
];
const CORE_NUMBERS = [-2, -1, 0, 1, 2, 2.5, 3, 5, 10];
const NUMBERS = [...CORE_NUMBERS, -2.5, 100, -100, 0.1, 0.2, 0.30000000000000004, 1e20, -1e-7, 123456789012, 9007199254740991, 1.5e300, -1.5e300];
const DATES = [
  '0000-01-01T00:00:00.000Z',
  '0001-01-01T00:00:00.000Z',
  '0099-12-31T23:59:59.999Z',
  '1969-12-31T23:59:59.999Z',
  '1970-01-01T00:00:00.000Z',
  '2024-02-29T12:00:00.000Z',
  '2024-02-29T12:00:00.001Z',
  '9999-12-31T23:59:59.999Z',
];

/**
 * Random characters: ASCII, Latin, Greek, Cyrillic, a little CJK and emoji. Not the whole of
 * Unicode: characters that got case in recent Unicode versions (16.0) fold in Node but not in an
 * older PostgreSQL locale, a documented limit (docs/query-language.md).
 */
const charArb = fc.oneof(
  fc.integer({ min: 0x20, max: 0x7e }),
  fc.integer({ min: 0xa0, max: 0x24f }),
  fc.integer({ min: 0x370, max: 0x3ff }),
  fc.integer({ min: 0x400, max: 0x4ff }),
  fc.integer({ min: 0x1e00, max: 0x1eff }),
  fc.integer({ min: 0x4e00, max: 0x4e20 }),
  fc.integer({ min: 0x1f600, max: 0x1f64f }),
).map((c) => String.fromCodePoint(c));
const stringArb = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...CORE_STRINGS) },
  { weight: 3, arbitrary: fc.constantFrom(...STRINGS) },
  { weight: 1, arbitrary: fc.string({ maxLength: 6, unit: charArb }) },
);
/** A string operand for $startsWith/$endsWith/$contains: a piece of a pool string, case changed. */
const needleArb = fc
  .tuple(fc.constantFrom(...STRINGS), fc.nat(), fc.nat(), fc.constantFrom('same', 'upper', 'lower'))
  .map(([s, i, j, c]) => {
    const cps = [...s];
    const from = cps.length ? i % cps.length : 0;
    const piece = cps.slice(from, from + (cps.length ? j % (cps.length - from + 1) : 0)).join('');
    return c === 'upper' ? piece.toUpperCase() : c === 'lower' ? piece.toLowerCase() : piece;
  });
const numberArb = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...CORE_NUMBERS) },
  { weight: 3, arbitrary: fc.constantFrom(...NUMBERS) },
  { weight: 1, arbitrary: fc.integer({ min: -5, max: 5 }) },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
).map((n) => (n === 0 ? 0 : n)); // -0 is 0 in JSON
const isoArb = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...DATES) },
  { weight: 1, arbitrary: fc.date({ min: new Date('0000-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }).map((d) => d.toISOString()) },
);
/** Dates as sent: mostly the normalised form, sometimes another spelling of the same instant. */
const dateArb = isoArb.map((iso) => ({ $date: iso }));
const dateOperandArb = fc.oneof(
  { weight: 4, arbitrary: dateArb },
  { weight: 1, arbitrary: fc.constantFrom({ $date: '2024-02-29T13:00:00+01:00' }, { $date: '1970-01-01' }, { $date: '9999-12-31T23:59:59.999+00:00' }) },
);
const scalarArb = fc.oneof(stringArb, numberArb, fc.boolean(), dateArb);
const orderedArb = fc.oneof(stringArb, numberArb, dateOperandArb);
const listArb = fc.array(fc.oneof(scalarArb, dateOperandArb), { maxLength: 4 });

/** Any item value: scalars, null, arrays (of scalars, sometimes of arrays or objects), objects. */
const valueArb: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { maxDepth: 2, depthSize: 'small' },
    { weight: 8, arbitrary: scalarArb as fc.Arbitrary<JsonValue> },
    { weight: 1, arbitrary: fc.constant(null) },
    { weight: 3, arbitrary: fc.array(fc.oneof({ weight: 6, arbitrary: scalarArb as fc.Arbitrary<JsonValue> }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: tie('value') }), { maxLength: 4 }) },
    {
      weight: 2,
      arbitrary: fc.record({ x: tie('value'), y: tie('value'), deep: fc.record({ z: tie('value') }, { requiredKeys: [] }) }, { requiredKeys: [] }) as fc.Arbitrary<JsonValue>,
    },
  ),
})).value;

const OWNERS = ['owner-a', 'Owner-B', 'ÄGIR', 'ägir'];
const ID_PREFIXES = ['a', 'A', 'b', 'é', 'É', 'ö', 'Ö', 'İ', 'z-', 'Σ', '日'];

const scalarArrayArb = fc.array(scalarArb as fc.Arbitrary<JsonValue>, { maxLength: 4 });
const smallObjectArb = fc.record(
  { x: fc.oneof(stringArb, numberArb) as fc.Arbitrary<JsonValue>, y: valueArb, deep: fc.record({ z: fc.oneof(stringArb, numberArb, dateArb) as fc.Arbitrary<JsonValue> }, { requiredKeys: [] }) },
  { requiredKeys: [] },
) as fc.Arbitrary<JsonValue>;
/** Each field leans to one kind of value (so typed operators hit) but can hold anything. */
const typed = (lean: fc.Arbitrary<unknown>) =>
  fc.option(fc.oneof({ weight: 3, arbitrary: lean as fc.Arbitrary<JsonValue> }, { weight: 1, arbitrary: valueArb }), { freq: 6, nil: undefined });
const ITEM_FIELDS: Record<string, fc.Arbitrary<JsonValue | undefined>> = {
  a: typed(scalarArb),
  b: typed(valueArb),
  s: typed(stringArb),
  n: typed(numberArb),
  tags: typed(scalarArrayArb),
  d: typed(dateArb),
  obj: typed(smallObjectArb),
  Größe: typed(fc.oneof(stringArb, numberArb)),
  'first-name': typed(stringArb),
  'with space': typed(stringArb),
};

/** One item's user data (+ sometimes `_owner`); ids are given by the caller. */
const itemDataArb: fc.Arbitrary<JsonObject> = fc
  .tuple(fc.record(ITEM_FIELDS), fc.option(fc.constantFrom(...OWNERS), { nil: undefined }))
  .map(([fields, owner]) => {
    const data: JsonObject = {};
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) data[k] = v;
    if (owner !== undefined) data._owner = owner;
    return data;
  });

const itemsArb = (min: number, max: number) =>
  fc.tuple(fc.array(itemDataArb, { minLength: min, maxLength: max }), fc.array(fc.constantFrom(...ID_PREFIXES), { minLength: max, maxLength: max })).map(
    ([list, prefixes]) => list.map((data, i) => ({ ...data, _id: `${prefixes[i]}${i}` })),
  );

// ---------------------------------------------------------------------------------------------
// Filters.

/** Test start: system dates of the inserted items are within minutes of it. */
const NOW = Date.now();
const iso = (ms: number) => new Date(ms).toISOString();
const systemDateArb = fc.oneof(
  fc.constantFrom(-86_400_000, -3_600_000, 3_600_000, 86_400_000).map((d) => ({ $date: iso(NOW + d) })),
  dateOperandArb,
);
const idArb = fc.tuple(fc.constantFrom(...ID_PREFIXES), fc.nat(210)).map(([p, i]) => `${p}${i}`);
const ownerArb = fc.constantFrom(...OWNERS, 'owner-ctx', 'OWNER-A');

/** Each filter path, with the operand kind it leans to (any scalar is still possible). */
const PATHS: Record<string, fc.Arbitrary<unknown>> = {
  a: scalarArb,
  b: scalarArb,
  s: stringArb,
  n: numberArb,
  tags: scalarArb,
  d: dateOperandArb,
  obj: scalarArb,
  'obj.x': fc.oneof(stringArb, numberArb),
  'obj.y': scalarArb,
  'obj.deep': scalarArb,
  'obj.deep.z': fc.oneof(stringArb, numberArb, dateArb),
  Größe: fc.oneof(stringArb, numberArb),
  'first-name': stringArb,
  missing: scalarArb,
  'tags.0': scalarArb,
  's.x': stringArb,
  'obj.x.y': scalarArb,
  'd.x': scalarArb,
  _id: idArb,
  _owner: ownerArb,
  _createdDate: systemDateArb,
  _updatedDate: systemDateArb,
};
const LEAN_STRINGS: Record<string, fc.Arbitrary<string>> = { _id: idArb, _owner: ownerArb };

function conditionFor(path: string): fc.Arbitrary<unknown> {
  const lean = PATHS[path] as fc.Arbitrary<unknown>;
  const operand = fc.oneof({ weight: 3, arbitrary: lean }, { weight: 1, arbitrary: fc.oneof(scalarArb, dateOperandArb) });
  const ordered = operand.filter((v) => typeof v !== 'boolean');
  const leanNeedle = LEAN_STRINGS[path];
  const needle = leanNeedle
    ? fc.oneof(needleArb, fc.tuple(leanNeedle, fc.nat(), fc.nat(), fc.boolean()).map(([s, i, j, up]) => {
        const cps = [...s];
        const piece = cps.slice(i % cps.length, (i % cps.length) + (j % 4)).join('');
        return up ? piece.toUpperCase() : piece.toLowerCase();
      }))
    : needleArb;
  const list = fc.array(fc.oneof({ weight: 3, arbitrary: lean }, { weight: 1, arbitrary: fc.oneof(scalarArb, dateOperandArb) }), { maxLength: 4 });
  const operator: fc.Arbitrary<[string, unknown]> = fc.oneof(
    fc.tuple(fc.constantFrom('$eq', '$ne'), fc.oneof({ weight: 6, arbitrary: operand }, { weight: 2, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: valueArb })),
    fc.tuple(fc.constantFrom('$gt', '$gte', '$lt', '$lte'), ordered),
    fc.tuple(fc.constantFrom('$in', '$nin', '$hasSome', '$hasAll'), list),
    fc.tuple(fc.constantFrom('$exists', '$isEmpty', '$isNotEmpty'), fc.boolean()),
    fc.tuple(fc.constantFrom('$startsWith', '$endsWith', '$contains'), needle),
  );
  return fc.oneof(
    // Bare equality: {f: v}, {f: null}, {f: [..]}, {f: {..}}.
    { weight: 2, arbitrary: fc.oneof({ weight: 4, arbitrary: operand }, { weight: 1, arbitrary: fc.constant(null) }, { weight: 2, arbitrary: valueArb }) },
    // One to three operators on the field, ANDed.
    {
      weight: 5,
      arbitrary: fc
        .oneof(
          { weight: 6, arbitrary: operator.map((o) => [o]) },
          { weight: 2, arbitrary: fc.uniqueArray(operator, { minLength: 2, maxLength: 3, selector: ([op]) => op }) },
        )
        .map((ops) => Object.fromEntries(ops)),
    },
  );
}
const CONDITIONS = Object.fromEntries(Object.keys(PATHS).map((p) => [p, conditionFor(p)]));
/** Paths that never (or rarely) hold a value get picked less often. */
const RARE_PATHS = new Set(['missing', 'tags.0', 's.x', 'obj.x.y', 'd.x', 'obj.deep', 'obj.y']);
const pathConditionArb = fc
  .oneof(
    { weight: 4, arbitrary: fc.constantFrom(...Object.keys(PATHS).filter((p) => !RARE_PATHS.has(p))) },
    { weight: 1, arbitrary: fc.constantFrom(...RARE_PATHS) },
  )
  .chain((p) => (CONDITIONS[p] as fc.Arbitrary<unknown>).map((c) => [p, c] as const));

const fieldFilterArb = fc
  .oneof(
    { weight: 4, arbitrary: pathConditionArb.map((pc) => [pc]) },
    { weight: 1, arbitrary: fc.uniqueArray(pathConditionArb, { minLength: 2, maxLength: 2, selector: ([p]) => p }) },
  )
  .map((pairs) => Object.fromEntries(pairs) as JsonObject);

const filterArb: fc.Arbitrary<JsonObject> = fc.letrec<{ filter: JsonObject }>((tie) => ({
  filter: fc.oneof(
    { maxDepth: 3, depthSize: 'small' },
    { weight: 12, arbitrary: fieldFilterArb },
    { weight: 2, arbitrary: fc.array(tie('filter'), { maxLength: 3 }).map((l) => ({ $and: l })) },
    { weight: 3, arbitrary: fc.array(tie('filter'), { maxLength: 3 }).map((l) => ({ $or: l })) },
    { weight: 2, arbitrary: fc.tuple(tie('filter'), fc.boolean()).map(([f, asArray]) => ({ $not: asArray ? [f] : f })) },
    { weight: 1, arbitrary: fc.tuple(fieldFilterArb, tie('filter')).map(([a, b]) => ({ ...b, ...a })) },
    { weight: 1, arbitrary: fc.constantFrom<JsonObject>({}, { $and: [] }, { $or: [] }, { $and: [{}] }, { $or: [{}] }) },
  ),
})).filter;

const SORT_PATHS = ['a', 'b', 's', 'n', 'tags', 'd', 'obj', 'obj.x', 'obj.deep.z', 'Größe', 'missing', '_id', '_owner', '_createdDate', '_updatedDate'];
const sortArb = fc.uniqueArray(
  fc.record({ fieldName: fc.constantFrom(...SORT_PATHS), order: fc.constantFrom('ASC', 'DESC', 'asc', 'desc', undefined) }, { requiredKeys: ['fieldName'] }),
  { maxLength: 3, selector: (s) => s.fieldName },
);

const DEFAULT_SORT: SortSpec[] = [{ field: { segments: ['_createdDate'] }, order: 'DESC' }];

// ---------------------------------------------------------------------------------------------

/** QUERY_DIFF_SCALE=10 runs ten times as many cases (for a long local hunt; CI runs 1). */
const SCALE = Math.max(1, Number(process.env.QUERY_DIFF_SCALE ?? 1) || 1);
const RUNS = { filters: 2000 * SCALE, sets: 300 * SCALE, pages: 300 * SCALE };

for (const storeName of STORE_NAMES) {
  describe(`query compiler agrees with the JS evaluator (${storeName})`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(storeName, { runner: false });
    });
    after(() => s.close());

    const createCollection = async (id: string) => {
      const r = await call(s.url, 'POST', `${DATA}/collections`, { collection: { id } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    const insert = async (c: string, items: JsonObject[]) => {
      for (let i = 0; i < items.length; i += 1000) {
        const r = await s.cairn.items.bulkInsert({ dataCollectionId: c, dataItems: items.slice(i, i + 1000).map((data) => ({ data })) }, { ...ADMIN_CONTEXT, ownerId: 'owner-ctx' });
        assert.equal(r.bulkActionMetadata.totalFailures, 0, JSON.stringify(r.results.filter((x) => !x.itemMetadata.success)));
      }
    };
    /** Every stored item as the store gives it back: what the evaluator runs on. */
    const readAll = async (c: string): Promise<JsonObject[]> => {
      const r = await s.cairn.items.query({ dataCollectionId: c, query: { paging: { limit: 1000 } } }, ADMIN_CONTEXT);
      return r.dataItems.map((it) => {
        const { _publishStatus, ...data } = it.data;
        return data as JsonObject;
      });
    };
    /** The read-back items are the generated ones (so the oracle sees the data meant). */
    const sameAsInserted = (all: readonly JsonObject[], items: readonly JsonObject[]) => {
      const byId = new Map(all.map((it) => [String(it._id), it]));
      assert.equal(byId.size, items.length);
      for (const item of items) {
        const { _createdDate, _updatedDate, _owner, ...back } = byId.get(String(item._id)) ?? {};
        const { _owner: sentOwner, ...sent } = item;
        assert.deepEqual(back, JSON.parse(JSON.stringify(sent))); // fast-check's records have no prototype
        assert.equal(_owner, sentOwner ?? 'owner-ctx');
      }
    };
    const expectedIds = (all: readonly JsonObject[], filter: unknown, sort: unknown): string[] => {
      const node = parseFilter(filter);
      const specs = parseSort(sort);
      return all
        .filter((it) => evaluate(node, it))
        .sort((a, b) => compareItems(specs.length ? specs : DEFAULT_SORT, a, b))
        .map((it) => String(it._id));
    };
    const check = async (c: string, all: readonly JsonObject[], filter: unknown, sort: unknown) => {
      const expected = expectedIds(all, filter, sort);
      const query: JsonObject = { filter: filter as JsonValue, paging: { limit: 1000 } };
      if (sort !== undefined) query.sort = sort as JsonValue;
      const r = await s.cairn.items.query({ dataCollectionId: c, query }, ADMIN_CONTEXT);
      const got = r.dataItems.map((it) => it.id);
      assert.deepEqual(got, expected, `filter ${JSON.stringify(filter)} sort ${JSON.stringify(sort)}`);
      return expected.length;
    };

    test('documented edge semantics, pinned by examples: case folding and dates at the edges of 0..9999', async () => {
      await createCollection('edges');
      await insert('edges', [
        { _id: 'c1', s: 'İstanbul' },
        { _id: 'c2', s: 'ISTANBUL' },
        { _id: 'c3', s: 'ΟΔΟΣ' },
        { _id: 'c4', s: 'Straße' },
        { _id: 'c5', s: 'ÄPFEL' },
        { _id: 'Ölfass', s: 'barrel' },
        { _id: 'c7', s: 'ǅemal' },
        { _id: 'c8', s: 'x😀Y' },
        { _id: 'd2', d: { $date: '0000-01-01T00:00:00.000Z' } },
        { _id: 'd3', d: { $date: '0001-01-01T00:00:00.000Z' } },
        { _id: 'd4', d: { $date: '9999-12-31T23:59:59.999Z' } },
      ]);
      // Years outside 0..9999 are refused: their ISO strings (six digits and a sign) would not
      // compare chronologically as text.
      for (const $date of ['-000001-06-15T00:00:00.000Z', '+010000-01-01T00:00:00.000Z']) {
        await assert.rejects(insert('edges', [{ _id: 'out', d: { $date } }]), (e: unknown) => (e as { code?: string }).code === 'WDE0075');
        await assert.rejects(
          s.cairn.items.query({ dataCollectionId: 'edges', query: { filter: { d: { $lt: { $date } } } } }, ADMIN_CONTEXT),
          (e: unknown) => (e as { code?: string }).code === 'WDE0058',
        );
      }
      const all = await readAll('edges');
      const cases: [unknown, unknown, string[]][] = [
        // Simple case mapping, one code point at a time: İ -> i, Σ -> σ (never final ς).
        [{ s: { $startsWith: 'i' } }, undefined, ['c1', 'c2']],
        [{ s: { $startsWith: 'İST' } }, undefined, ['c1', 'c2']],
        [{ s: { $contains: 'i̇' } }, undefined, []],
        [{ s: { $endsWith: 'σ' } }, undefined, ['c3']],
        [{ s: { $endsWith: 'ς' } }, undefined, []],
        [{ s: { $contains: 'ΔΟΣ' } }, undefined, ['c3']],
        // No full folding: ß is not ss.
        [{ s: { $contains: 'ss' } }, undefined, []],
        [{ s: { $contains: 'SSE' } }, undefined, []],
        [{ s: { $contains: 'ẞ' } }, undefined, ['c4']],
        [{ s: { $startsWith: 'äp' } }, undefined, ['c5']],
        [{ s: { $startsWith: 'Ǆ' } }, undefined, ['c7']],
        [{ s: { $endsWith: '😀y' } }, undefined, ['c8']],
        // System columns fold like JSON strings (PostgreSQL keeps them COLLATE "C").
        [{ _id: { $startsWith: 'öl' } }, undefined, ['Ölfass']],
        [{ _id: { $contains: 'FASS' } }, undefined, ['Ölfass']],
        [{ _id: { $endsWith: 'L' } }, undefined, []],
        // Dates compare and sort by their ISO strings, chronological for the years 0..9999.
        [{ d: { $exists: true } }, [{ fieldName: 'd' }], ['d2', 'd3', 'd4']],
        [{ d: { $gt: { $date: '9999-01-01T00:00:00.000Z' } } }, undefined, ['d4']],
        [{ d: { $lt: { $date: '0000-06-01T00:00:00.000Z' } } }, [{ fieldName: 'd', order: 'DESC' }], ['d2']],
        [{ d: { $gte: { $date: '0001-01-01T00:00:00Z' }, $lte: { $date: '9999-12-31T23:59:59.999Z' } } }, undefined, ['d3', 'd4']],
      ];
      for (const [filter, sort, want] of cases) {
        assert.deepEqual(expectedIds(all, filter, sort ?? [{ fieldName: '_id' }]), want, `evaluator: ${JSON.stringify(filter)}`);
        const r = await s.cairn.items.query({ dataCollectionId: 'edges', query: { filter: filter as JsonValue, sort: (sort ?? [{ fieldName: '_id' }]) as JsonValue } }, ADMIN_CONTEXT);
        assert.deepEqual(
          r.dataItems.map((i) => i.id),
          want,
          `${storeName}: ${JSON.stringify(filter)}`,
        );
      }
    });

    test(`${RUNS.filters} random filters and sorts against 200 random items`, async () => {
      await createCollection('big');
      const [items] = fc.sample(itemsArb(200, 200), { numRuns: 1, seed: 42 });
      await insert('big', items as JsonObject[]);
      const all = await readAll('big');
      sameAsInserted(all, items as JsonObject[]);
      let nonTrivial = 0;
      await fc.assert(
        fc.asyncProperty(filterArb, fc.option(sortArb, { nil: undefined }), async (filter, sort) => {
          const n = await check('big', all, filter, sort);
          if (n > 0 && n < all.length) nonTrivial++;
        }),
        { numRuns: RUNS.filters, includeErrorInReport: true },
      );
      // The generators must produce filters that actually discriminate between items.
      assert.ok(nonTrivial > RUNS.filters / 4, `only ${nonTrivial} filters selected some but not all items`);
    });

    test(`${RUNS.pages} random filters and sorts paged by cursor (keyset) against 200 random items`, async () => {
      await createCollection('paged');
      const [items] = fc.sample(itemsArb(200, 200), { numRuns: 1, seed: 42 });
      await insert('paged', items as JsonObject[]);
      const all = await readAll('paged');
      await fc.assert(
        fc.asyncProperty(filterArb, fc.option(sortArb, { nil: undefined }), fc.integer({ min: 1, max: 40 }), async (filter, sort, limit) => {
          const expected = expectedIds(all, filter, sort);
          const query: JsonObject = { filter: filter as JsonValue, cursorPaging: { limit } };
          if (sort !== undefined) query.sort = sort as JsonValue;
          const got: string[] = [];
          let r = await s.cairn.items.query({ dataCollectionId: 'paged', query }, ADMIN_CONTEXT);
          for (;;) {
            got.push(...r.dataItems.map((it) => it.id));
            const next = r.pagingMetadata.cursors.next;
            assert.equal(next !== undefined, r.pagingMetadata.hasNext);
            if (next === undefined) break;
            assert.ok(got.length <= expected.length, 'paging ran past the matching items');
            r = await s.cairn.items.query({ dataCollectionId: 'paged', query: { cursorPaging: { cursor: next } } }, ADMIN_CONTEXT);
          }
          assert.deepEqual(got, expected, `filter ${JSON.stringify(filter)} sort ${JSON.stringify(sort)} limit ${limit}`);
        }),
        { numRuns: RUNS.pages, includeErrorInReport: true },
      );
    });

    test(`${RUNS.sets} fresh small item sets with a few filters each`, async () => {
      await createCollection('fresh');
      await fc.assert(
        fc.asyncProperty(itemsArb(0, 8), fc.array(fc.tuple(filterArb, fc.option(sortArb, { nil: undefined })), { minLength: 1, maxLength: 4 }), async (items, cases) => {
          await s.cairn.items.truncate({ dataCollectionId: 'fresh' }, ADMIN_CONTEXT);
          if (items.length) await insert('fresh', items);
          const all = await readAll('fresh');
          sameAsInserted(all, items);
          for (const [filter, sort] of cases) await check('fresh', all, filter, sort);
        }),
        { numRuns: RUNS.sets, includeErrorInReport: true },
      );
    });
  });
}
