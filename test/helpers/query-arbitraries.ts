/**
 * fast-check arbitraries for the Wix filter language and for items to run it on: small value
 * pools (so equality and comparisons hit often), mixed case and non-ASCII strings, dates at the
 * edges of 0..9999, every operator, nested $and/$or/$not. Shared by the query compiler's
 * differential tests and the background tasks' (test/query-differential.test.ts,
 * test/tasks-differential.test.ts).
 */
import fc from 'fast-check';
import type { JsonObject, JsonValue } from '../../src/wire/json.js';

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
export const stringArb = fc.oneof(
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
/**
 * A `$matches` operand made from a pool string, so that it often matches: runs of its code points
 * as literals (case changed at times), some single ones as a set holding them or not.
 */
const matchesArb = fc
  .tuple(fc.constantFrom(...STRINGS), fc.array(fc.nat(9), { minLength: 12, maxLength: 12 }), fc.boolean(), fc.constantFrom('same', 'upper', 'lower'))
  .map(([s, dice, ignoreCase, c]) => {
    const cased = c === 'upper' ? s.toUpperCase() : c === 'lower' ? s.toLowerCase() : s;
    const spec: { type: string; value: string }[] = [];
    [...cased].forEach((ch, i) => {
      const d = dice[i % dice.length] as number;
      const last = spec[spec.length - 1];
      if (d === 0) spec.push({ type: 'anyOf', value: `${ch} -` });
      else if (d === 1) spec.push({ type: 'anyOf', value: 'q\t' });
      else if (last?.type === 'literal' && d !== 2) last.value += ch;
      else spec.push({ type: 'literal', value: ch });
    });
    if (spec.length === 0 || dice[11] === 0) spec.push({ type: 'literal', value: '' });
    return { ignoreCase, spec };
  });
/** A `$urlized` operand: a pool string's words joined by `-`, or as an array. */
const urlizedArb = fc.tuple(fc.constantFrom(...STRINGS), fc.boolean()).map(([s, asArray]) => {
  const words = s.split(/[ \t\n-]/);
  return asArray ? words.filter((w) => w !== '').concat(words.every((w) => w === '') ? ['x'] : []) : words.join('-') || 'x';
});
export const numberArb = fc.oneof(
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
export const dateOperandArb = fc.oneof(
  { weight: 4, arbitrary: dateArb },
  { weight: 1, arbitrary: fc.constantFrom({ $date: '2024-02-29T13:00:00+01:00' }, { $date: '1970-01-01' }, { $date: '9999-12-31T23:59:59.999+00:00' }) },
);
export const scalarArb = fc.oneof(stringArb, numberArb, fc.boolean(), dateArb);
const orderedArb = fc.oneof(stringArb, numberArb, dateOperandArb);
const listArb = fc.array(fc.oneof(scalarArb, dateOperandArb), { maxLength: 4 });

/** Any item value: scalars, null, arrays (of scalars, sometimes of arrays or objects), objects. */
export const valueArb: fc.Arbitrary<JsonValue> = fc.letrec<{ value: JsonValue }>((tie) => ({
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
export const itemDataArb: fc.Arbitrary<JsonObject> = fc
  .tuple(fc.record(ITEM_FIELDS), fc.option(fc.constantFrom(...OWNERS), { nil: undefined }))
  .map(([fields, owner]) => {
    const data: JsonObject = {};
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) data[k] = v;
    if (owner !== undefined) data._owner = owner;
    return data;
  });

export const itemsArb = (min: number, max: number) =>
  fc.tuple(fc.array(itemDataArb, { minLength: min, maxLength: max }), fc.array(fc.constantFrom(...ID_PREFIXES), { minLength: max, maxLength: max })).map(
    ([list, prefixes]) => list.map((data, i) => ({ ...data, _id: `${prefixes[i]}${i}` })),
  );

// ---------------------------------------------------------------------------------------------
// Filters.

/** Test start: system dates of the inserted items are within minutes of it. */
export const NOW = Date.now();
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
    fc.tuple(fc.constant('$matches'), matchesArb),
    fc.tuple(fc.constant('$urlized'), urlizedArb),
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

export const filterArb: fc.Arbitrary<JsonObject> = fc.letrec<{ filter: JsonObject }>((tie) => ({
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
export const sortArb = fc.uniqueArray(
  fc.record({ fieldName: fc.constantFrom(...SORT_PATHS), order: fc.constantFrom('ASC', 'DESC', 'asc', 'desc', undefined) }, { requiredKeys: ['fieldName'] }),
  { maxLength: 3, selector: (s) => s.fieldName },
);
