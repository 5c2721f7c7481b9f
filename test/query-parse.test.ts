/**
 * The query parser (src/query/parse.ts): what it accepts and how it lowers it, and every way it
 * rejects a filter, sort, projection or paging with the Wix error code of docs/query-language.md
 * and docs/errors.md. Unit calls first, then a selection through HTTP (`items/query`,
 * `items/count`) on each store, checking the status and the error envelope
 * `{message, details: {applicationError: {code, description}}}`.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, call, type TestServer } from './helpers/server.js';
import { LIMITS, parseFields, parseFieldPath, parseFilter, parseSort } from '../src/query/parse.js';
import { WixError } from '../src/errors.js';
import type { FilterNode } from '../src/query/ast.js';

const DATA = '/wix-data/v2';

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof WixError, `expected a WixError, got ${String(e)}`);
    assert.equal(typeof e.message, 'string');
    assert.ok(e.message.length > 0);
    return e.code;
  }
  assert.fail('expected the parser to reject the input');
}

const filterCode = (raw: unknown) => codeOf(() => parseFilter(raw));
const sortCode = (raw: unknown) => codeOf(() => parseSort(raw));
const fieldsCode = (raw: unknown) => codeOf(() => parseFields(raw));

/** Field conditions joined under one object: {k0: c, k1: c, ...}. */
const wide = (n: number): Record<string, unknown> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${i}`, i]));
/** n levels of $not around {a: 1}. */
const nestedNot = (n: number): unknown => (n === 0 ? { a: 1 } : { $not: nestedNot(n - 1) });

// ---------------------------------------------------------------------------------------------

describe('parseFilter rejects malformed filters with the Wix codes', () => {
  const cases: [string, unknown, string][] = [
    // WDE0016: the filter itself.
    ['a string filter', 'a', 'WDE0016'],
    ['a number filter', 5, 'WDE0016'],
    ['an array filter', [{ a: 1 }], 'WDE0016'],
    ['a boolean filter', true, 'WDE0016'],
    // WDE0056: $and/$or elements and $not operands that are not objects.
    ['$and with a string element', { $and: ['a'] }, 'WDE0056'],
    ['$and with a null element', { $and: [{ a: 1 }, null] }, 'WDE0056'],
    ['$or with an array element', { $or: [[{ a: 1 }]] }, 'WDE0056'],
    ['$or with a number element', { $or: [1] }, 'WDE0056'],
    ['$not of a string', { $not: 'a' }, 'WDE0056'],
    ['$not of null', { $not: null }, 'WDE0056'],
    ['$not of [number]', { $not: [1] }, 'WDE0056'],
    ['nested $and with a bad element', { $or: [{ $and: [{ a: 1 }, 7] }] }, 'WDE0056'],
    // WDE0057: operators that want arrays.
    ['$and with an object', { $and: { a: 1 } }, 'WDE0057'],
    ['$or with a string', { $or: 'a' }, 'WDE0057'],
    ['$or with null', { $or: null }, 'WDE0057'],
    ['$in with a scalar', { a: { $in: 1 } }, 'WDE0057'],
    ['$nin with an object', { a: { $nin: { x: 1 } } }, 'WDE0057'],
    ['$hasSome with a string', { a: { $hasSome: 'ab' } }, 'WDE0057'],
    ['$hasAll with null', { a: { $hasAll: null } }, 'WDE0057'],
    ['$not with an empty array', { $not: [] }, 'WDE0057'],
    ['$not with two elements', { $not: [{ a: 1 }, { b: 2 }] }, 'WDE0057'],
    // WDE0058: comparison operands.
    ['$gt with a boolean', { a: { $gt: true } }, 'WDE0058'],
    ['$gte with null', { a: { $gte: null } }, 'WDE0058'],
    ['$lt with an array', { a: { $lt: [1] } }, 'WDE0058'],
    ['$lte with an object', { a: { $lte: { x: 1 } } }, 'WDE0058'],
    ['$gt with an invalid date', { a: { $gt: { $date: 'not a date' } } }, 'WDE0058'],
    ['bare equality with an invalid date', { a: { $date: '2024-13-45' } }, 'WDE0058'],
    ['$eq with an invalid date', { a: { $eq: { $date: 'yesterday-ish' } } }, 'WDE0058'],
    ['$ne with an invalid date', { a: { $ne: { $date: '' } } }, 'WDE0058'],
    ['an invalid date inside an array operand', { a: [{ $date: 'nope' }] }, 'WDE0058'],
    ['an invalid date inside an object operand', { a: { x: { $date: 'nope' } } }, 'WDE0058'],
    ['$exists with a string', { a: { $exists: 'true' } }, 'WDE0058'],
    ['$exists with 1', { a: { $exists: 1 } }, 'WDE0058'],
    ['$isEmpty with null', { a: { $isEmpty: null } }, 'WDE0058'],
    ['$isNotEmpty with a string', { a: { $isNotEmpty: 'yes' } }, 'WDE0058'],
    // WDE0059: string operators.
    ['$startsWith with a number', { a: { $startsWith: 1 } }, 'WDE0059'],
    ['$endsWith with null', { a: { $endsWith: null } }, 'WDE0059'],
    ['$contains with an array', { a: { $contains: ['x'] } }, 'WDE0059'],
    ['$contains with a date', { a: { $contains: { $date: '2024-01-01T00:00:00.000Z' } } }, 'WDE0059'],
    // WDE0060: list elements.
    ['$in with null', { a: { $in: [1, null] } }, 'WDE0060'],
    ['$nin with an array element', { a: { $nin: [[1]] } }, 'WDE0060'],
    ['$hasSome with an object element', { a: { $hasSome: [{ x: 1 }] } }, 'WDE0060'],
    ['$hasAll with an invalid date', { a: { $hasAll: [{ $date: 'never' }] } }, 'WDE0060'],
    // WDE0061: unknown operators and mixed conditions.
    ['an unknown top-level operator', { $foo: [] }, 'WDE0061'],
    ['a field operator at the top level', { $gt: 1 }, 'WDE0061'],
    ['$nor', { $nor: [{ a: 1 }] }, 'WDE0061'],
    ['an unknown field operator', { a: { $foo: 1 } }, 'WDE0061'],
    ['$matches at the top level', { $matches: { spec: [{ type: 'literal', value: 'x' }] } }, 'WDE0061'],
    ['$where', { a: { $where: 'x' } }, 'WDE0061'],
    // WDE0059 also: pattern operands of the wrong shape.
    ['$matches a string', { a: { $matches: 'x' } }, 'WDE0059'],
    ['$urlized a number', { a: { $urlized: 1 } }, 'WDE0059'],
    ['$not inside a field condition', { a: { $not: { $eq: 1 } } }, 'WDE0061'],
    ['$and inside a field condition', { a: { $and: [] } }, 'WDE0061'],
    ['operators mixed with plain keys', { a: { $gt: 1, x: 2 } }, 'WDE0061'],
    ['a plain key mixed with $eq', { a: { x: 2, $eq: 1 } }, 'WDE0061'],
    ['a $date with a non-string value', { a: { $date: 5 } }, 'WDE0061'],
    // WDE0070: $regex anywhere.
    ['$regex on a field', { a: { $regex: '^x' } }, 'WDE0070'],
    ['$regex at the top level', { $regex: 'x' }, 'WDE0070'],
    ['$regex deep inside $or', { $or: [{ b: 1 }, { $and: [{ a: { $regex: '.*' } }] }] }, 'WDE0070'],
    // WDE0134: `$` path segments and `$` keys in object operands.
    ['a field starting with $', { $field: 1, a: 1 }, 'WDE0061'],
    ['a nested segment starting with $', { 'a.$b': 1 }, 'WDE0134'],
    ['a $ key inside an object operand', { a: { $eq: { $x: 1 } } }, 'WDE0134'],
    ['a $ key deep inside an array operand', { a: [{ y: { $x: 1 } }] }, 'WDE0134'],
    // WDE0147: other bad paths.
    ['an empty path', { '': 1 }, 'WDE0147'],
    ['an empty segment', { 'a..b': 1 }, 'WDE0147'],
    ['a trailing dot', { 'a.': 1 }, 'WDE0147'],
    ['a space in a segment', { 'first name': 1 }, 'WDE0147'],
    ['a quote in a segment', { "a'b": 1 }, 'WDE0147'],
    ['a bracket in a segment', { 'a[0]': 1 }, 'WDE0147'],
    [`a segment over ${LIMITS.maxSegmentLength} characters`, { ['x'.repeat(LIMITS.maxSegmentLength + 1)]: 1 }, 'WDE0147'],
    [`more than ${LIMITS.maxSegments} segments`, { [Array(LIMITS.maxSegments + 1).fill('a').join('.')]: 1 }, 'WDE0147'],
    // U+0000 in a filter string (PostgreSQL cannot hold it): the code of the operand's position.
    ['NUL in an equality string', { a: 'x\u0000' }, 'WDE0058'],
    ['NUL in a $gt string', { a: { $gt: '\u0000' } }, 'WDE0058'],
    ['NUL in a string inside an array operand', { a: ['\u0000'] }, 'WDE0058'],
    ['NUL in a key of an object operand', { a: { $eq: { 'k\u0000': 1 } } }, 'WDE0058'],
    ['NUL in a $contains operand', { a: { $contains: 'a\u0000' } }, 'WDE0059'],
    ['NUL in a list element', { a: { $in: ['ok', '\u0000'] } }, 'WDE0060'],
    ['NUL in a path', { 'a\u0000': 1 }, 'WDE0147'],
    // WDE0080: limits.
    [`more than ${LIMITS.maxNodes} conditions`, wide(LIMITS.maxNodes), 'WDE0080'],
    ['nesting far beyond the limit', nestedNot(LIMITS.maxDepth + 8), 'WDE0080'],
    [`a list of more than ${LIMITS.maxListLength} values`, { a: { $in: Array.from({ length: LIMITS.maxListLength + 1 }, (_, i) => i) } }, 'WDE0080'],
    ['an over-long $hasAll list', { a: { $hasAll: Array(LIMITS.maxListLength + 1).fill('x') } }, 'WDE0080'],
  ];
  for (const [name, raw, code] of cases) {
    test(`${name} -> ${code}`, () => assert.equal(filterCode(raw), code));
  }

  test('$matches and $urlized read into pattern parts: folded when case is ignored, empty literals dropped, set characters once', () => {
    const a = { segments: ['a'] };
    assert.deepEqual(parseFilter({ a: { $matches: { spec: [{ type: 'literal', value: 'Ab' }, { type: 'literal', value: '' }, { type: 'anyOf', value: '-- ' }] } } }), {
      kind: 'pattern',
      field: a,
      parts: [{ literal: 'Ab' }, { oneOf: '- ' }],
      ignoreCase: false,
    });
    assert.deepEqual(parseFilter({ a: { $matches: { ignoreCase: true, spec: [{ type: 'literal', value: 'İSTΣ' }, { type: 'anyOf', value: 'Aa' }] } } }), {
      kind: 'pattern',
      field: a,
      parts: [{ literal: 'istσ' }, { oneOf: 'a' }],
      ignoreCase: true,
    });
    const separator = { oneOf: ' \t\n-' };
    assert.deepEqual(parseFilter({ a: { $urlized: 'Hello--World' } }), { kind: 'pattern', field: a, parts: [{ literal: 'hello' }, separator, separator, { literal: 'world' }], ignoreCase: true });
    assert.deepEqual(parseFilter({ a: { $urlized: ['Hello', 'World'] } }), { kind: 'pattern', field: a, parts: [{ literal: 'hello' }, separator, { literal: 'world' }], ignoreCase: true });
  });

  test('the first error found wins inside one filter, whatever the nesting', () => {
    assert.equal(filterCode({ $and: [{ a: { $regex: 'x' } }, 'not an object'] }), 'WDE0070');
    assert.equal(filterCode({ $and: ['not an object', { a: { $regex: 'x' } }] }), 'WDE0056');
  });

  test('non-finite numbers cannot arrive through JSON but are rejected if they do', () => {
    assert.equal(filterCode({ a: Number.NaN }), 'WDE0058');
    assert.equal(filterCode({ a: { $gt: Number.POSITIVE_INFINITY } }), 'WDE0058');
    assert.equal(filterCode({ a: { $in: [1, Number.NEGATIVE_INFINITY] } }), 'WDE0060');
    assert.equal(filterCode({ a: [1, Number.NaN] }), 'WDE0058');
  });
});

describe('parseFilter limits are exact', () => {
  test(`${LIMITS.maxNodes} conditions pass, one more does not`, () => {
    // The root object counts as one condition, each field condition as one more.
    assert.doesNotThrow(() => parseFilter(wide(LIMITS.maxNodes - 1)));
    assert.equal(filterCode(wide(LIMITS.maxNodes)), 'WDE0080');
    // Each operator of a field condition counts on its own.
    const ops = { a: { $gt: 1, $lt: 5 } };
    assert.doesNotThrow(() => parseFilter({ ...wide(LIMITS.maxNodes - 3), ...ops }));
    assert.equal(filterCode({ ...wide(LIMITS.maxNodes - 2), ...ops }), 'WDE0080');
  });

  test('deep nesting within the limit passes', () => {
    assert.doesNotThrow(() => parseFilter(nestedNot(LIMITS.maxDepth - 1)));
    let and: unknown = { a: 1 };
    for (let i = 0; i < LIMITS.maxDepth - 1; i++) and = { $and: [and] };
    assert.doesNotThrow(() => parseFilter(and));
    assert.equal(filterCode({ $or: [and, { $and: [{ $and: [{ $and: [and] }] }] }] }), 'WDE0080');
  });

  test(`lists of ${LIMITS.maxListLength} values pass`, () => {
    for (const op of ['$in', '$nin', '$hasSome', '$hasAll']) {
      assert.doesNotThrow(() => parseFilter({ a: { [op]: Array.from({ length: LIMITS.maxListLength }, (_, i) => i) } }));
    }
  });

  test(`paths of ${LIMITS.maxSegments} segments of ${LIMITS.maxSegmentLength} characters pass`, () => {
    const seg = 'é'.repeat(LIMITS.maxSegmentLength);
    const path = Array(LIMITS.maxSegments).fill(seg).join('.');
    assert.deepEqual(parseFieldPath(path).segments.length, LIMITS.maxSegments);
    assert.doesNotThrow(() => parseFilter({ [path]: 1 }));
  });

  test('paths: letters and digits of any script, "_" and "-"', () => {
    for (const p of ['Größe', '名前', 'a-b_c', '_id', 'x.y.z', '0', 'a.0', 'Ω.ж.9']) {
      assert.deepEqual(parseFieldPath(p).segments, p.split('.'), p);
    }
    for (const p of ['a b', 'a/b', 'a\\b', "a'b", 'a"b', 'a;b', 'a*b', 'a$b', 'a\u0000b', 'a\nb', '\u200b', 'a-😀']) {
      assert.equal(codeOf(() => parseFieldPath(p)), 'WDE0147', JSON.stringify(p));
    }
    assert.equal(codeOf(() => parseFieldPath(5)), 'WDE0147');
    assert.equal(codeOf(() => parseFieldPath(null)), 'WDE0147');
    assert.equal(codeOf(() => parseFieldPath('$a')), 'WDE0134');
    assert.equal(codeOf(() => parseFieldPath('a.$b.c')), 'WDE0134');
  });
});

describe('parseFilter accepts every documented form and lowers it', () => {
  const field = (...segments: string[]) => ({ segments });
  const cases: [string, unknown, FilterNode][] = [
    ['absent', undefined, { kind: 'true' }],
    ['null', null, { kind: 'true' }],
    ['{}', {}, { kind: 'true' }],
    ['bare scalar', { a: 'x' }, { kind: 'eq', field: field('a'), value: { type: 'string', value: 'x' } }],
    ['$eq number', { 'a.b': { $eq: 2.5 } }, { kind: 'eq', field: field('a', 'b'), value: { type: 'number', value: 2.5 } }],
    ['bare boolean', { a: false }, { kind: 'eq', field: field('a'), value: { type: 'boolean', value: false } }],
    ['bare date, normalised', { a: { $date: '2024-02-29T13:00:00+01:00' } }, { kind: 'eq', field: field('a'), value: { type: 'date', value: '2024-02-29T12:00:00.000Z' } }],
    ['date of year 1', { a: { $date: '0001-01-01T00:00:00Z' } }, { kind: 'eq', field: field('a'), value: { type: 'date', value: '0001-01-01T00:00:00.000Z' } }],
    ['null equality', { a: null }, { kind: 'isNull', field: field('a') }],
    ['$eq null', { a: { $eq: null } }, { kind: 'isNull', field: field('a') }],
    ['$ne null', { a: { $ne: null } }, { kind: 'not', child: { kind: 'isNull', field: field('a') } }],
    ['$ne scalar', { a: { $ne: 1 } }, { kind: 'not', child: { kind: 'eq', field: field('a'), value: { type: 'number', value: 1 } } }],
    ['array equality', { a: [1, 'x', { $date: '2024-01-01' }] }, { kind: 'eqJson', field: field('a'), json: '[1,"x",{"$date":"2024-01-01T00:00:00.000Z"}]' }],
    ['object equality, keys sorted', { a: { z: 1, b: [true] } }, { kind: 'eqJson', field: field('a'), json: '{"b":[true],"z":1}' }],
    ['empty object equality', { a: {} }, { kind: 'eqJson', field: field('a'), json: '{}' }],
    ['$gt', { a: { $gt: 'm' } }, { kind: 'cmp', field: field('a'), op: 'gt', value: { type: 'string', value: 'm' } }],
    ['$lte date', { a: { $lte: { $date: '9999-12-31T23:59:59.999Z' } } }, { kind: 'cmp', field: field('a'), op: 'lte', value: { type: 'date', value: '9999-12-31T23:59:59.999Z' } }],
    ['$in', { a: { $in: [1, 'x'] } }, { kind: 'in', field: field('a'), values: [{ type: 'number', value: 1 }, { type: 'string', value: 'x' }] }],
    ['$hasSome is $in', { a: { $hasSome: [true] } }, { kind: 'in', field: field('a'), values: [{ type: 'boolean', value: true }] }],
    ['$in []', { a: { $in: [] } }, { kind: 'false' }],
    ['$hasSome []', { a: { $hasSome: [] } }, { kind: 'false' }],
    ['$nin []', { a: { $nin: [] } }, { kind: 'true' }],
    ['$hasAll []', { a: { $hasAll: [] } }, { kind: 'false' }],
    ['$nin', { a: { $nin: [1] } }, { kind: 'not', child: { kind: 'in', field: field('a'), values: [{ type: 'number', value: 1 }] } }],
    [
      '$hasAll',
      { a: { $hasAll: ['x', 'y'] } },
      { kind: 'and', children: [{ kind: 'eq', field: field('a'), value: { type: 'string', value: 'x' } }, { kind: 'eq', field: field('a'), value: { type: 'string', value: 'y' } }] },
    ],
    ['$exists true', { a: { $exists: true } }, { kind: 'not', child: { kind: 'isNull', field: field('a') } }],
    ['$exists false', { a: { $exists: false } }, { kind: 'isNull', field: field('a') }],
    ['$isEmpty true', { a: { $isEmpty: true } }, { kind: 'isEmpty', field: field('a') }],
    ['$isEmpty false', { a: { $isEmpty: false } }, { kind: 'not', child: { kind: 'isEmpty', field: field('a') } }],
    ['$isNotEmpty true', { a: { $isNotEmpty: true } }, { kind: 'not', child: { kind: 'isEmpty', field: field('a') } }],
    ['$isNotEmpty false', { a: { $isNotEmpty: false } }, { kind: 'isEmpty', field: field('a') }],
    ['$startsWith, lower-cased', { a: { $startsWith: 'ÄB' } }, { kind: 'str', field: field('a'), op: 'startsWith', value: 'äb' }],
    ['$contains, simple case mapping of İ and Σ', { a: { $contains: 'İΣ' } }, { kind: 'str', field: field('a'), op: 'contains', value: 'iσ' }],
    ['$endsWith ""', { a: { $endsWith: '' } }, { kind: 'str', field: field('a'), op: 'endsWith', value: '' }],
    ['$and []', { $and: [] }, { kind: 'true' }],
    ['$or []', { $or: [] }, { kind: 'false' }],
    ['$or [{}]', { $or: [{}, { a: 1 }] }, { kind: 'true' }],
    ['$and [{}]', { $and: [{}] }, { kind: 'true' }],
    ['$not {}', { $not: {} }, { kind: 'false' }],
    ['$not [expr] = $not expr', { $not: [{ a: 1 }] }, { kind: 'not', child: { kind: 'eq', field: field('a'), value: { type: 'number', value: 1 } } }],
    ['double $not', { $not: { $not: { a: 1 } } }, { kind: 'eq', field: field('a'), value: { type: 'number', value: 1 } }],
    [
      'nested $and flattened',
      { $and: [{ a: 1 }, { $and: [{ b: 2 }] }] },
      { kind: 'and', children: [{ kind: 'eq', field: field('a'), value: { type: 'number', value: 1 } }, { kind: 'eq', field: field('b'), value: { type: 'number', value: 2 } }] },
    ],
    [
      'several operators on one field',
      { a: { $gt: 1, $lt: 5 } },
      { kind: 'and', children: [{ kind: 'cmp', field: field('a'), op: 'gt', value: { type: 'number', value: 1 } }, { kind: 'cmp', field: field('a'), op: 'lt', value: { type: 'number', value: 5 } }] },
    ],
  ];
  for (const [name, raw, node] of cases) {
    test(name, () => assert.deepEqual(parseFilter(raw), node));
  }

  test('task filters rename id/createdDate/updatedDate and read ISO strings as dates there only', () => {
    assert.deepEqual(parseFilter({ id: 'x', createdDate: { $gt: '2024-01-01T00:00:00Z' }, n: '2024-01-01T00:00:00Z' }, { taskRenaming: true }), {
      kind: 'and',
      children: [
        { kind: 'eq', field: { segments: ['_id'] }, value: { type: 'string', value: 'x' } },
        { kind: 'cmp', field: { segments: ['_createdDate'] }, op: 'gt', value: { type: 'date', value: '2024-01-01T00:00:00.000Z' } },
        { kind: 'eq', field: { segments: ['n'] }, value: { type: 'string', value: '2024-01-01T00:00:00Z' } },
      ],
    });
    // Without the option nothing is renamed.
    assert.deepEqual(parseFilter({ id: 'x' }), { kind: 'eq', field: { segments: ['id'] }, value: { type: 'string', value: 'x' } });
  });

  test('task filters: a Date sent as its ISO string matches the string or the date on a user field', () => {
    const iso = '2024-05-06T07:08:09.010Z';
    const str = { type: 'string', value: iso };
    const date = { type: 'date', value: iso };
    const f = (...segments: string[]) => ({ segments });
    const task = (raw: unknown) => parseFilter(raw, { taskRenaming: true });
    assert.deepEqual(task({ due: iso }), { kind: 'in', field: f('due'), values: [str, date] });
    assert.deepEqual(task({ 'a.due': { $ne: iso } }), { kind: 'not', child: { kind: 'in', field: f('a', 'due'), values: [str, date] } });
    assert.deepEqual(task({ due: { $lt: iso } }), {
      kind: 'or',
      children: [
        { kind: 'cmp', field: f('due'), op: 'lt', value: str },
        { kind: 'cmp', field: f('due'), op: 'lt', value: date },
      ],
    });
    assert.deepEqual(task({ due: { $in: [iso, 'x', 3] } }), { kind: 'in', field: f('due'), values: [str, date, { type: 'string', value: 'x' }, { type: 'number', value: 3 }] });
    assert.deepEqual(task({ due: { $hasAll: [iso, 'x'] } }), {
      kind: 'and',
      children: [
        { kind: 'in', field: f('due'), values: [str, date] },
        { kind: 'eq', field: f('due'), value: { type: 'string', value: 'x' } },
      ],
    });
    // Only the exact form a Date is sent in: other date-like strings stay strings.
    for (const other of ['2024-05-06', '2024-05-06T07:08:09Z', '2024-05-06T07:08:09.010+00:00']) {
      assert.deepEqual(task({ due: other }), { kind: 'eq', field: f('due'), value: { type: 'string', value: other } });
    }
    // System fields other than the dates, and filters outside tasks, read strings as strings.
    assert.deepEqual(task({ id: iso }), { kind: 'eq', field: f('_id'), value: str });
    assert.deepEqual(task({ _owner: iso }), { kind: 'eq', field: f('_owner'), value: str });
    assert.deepEqual(parseFilter({ due: iso }), { kind: 'eq', field: f('due'), value: str });
    // {$date} is a date everywhere.
    assert.deepEqual(task({ due: { $date: iso } }), { kind: 'eq', field: f('due'), value: date });
  });
});

describe('parseSort and parseFields', () => {
  test('sort: rejects with WDE0065 / WDE0066 / WDE0067 / path codes', () => {
    assert.equal(sortCode({ fieldName: 'a' }), 'WDE0065');
    assert.equal(sortCode('a'), 'WDE0065');
    assert.equal(sortCode(1), 'WDE0065');
    assert.equal(sortCode(['a']), 'WDE0066');
    assert.equal(sortCode([null]), 'WDE0066');
    assert.equal(sortCode([[{ fieldName: 'a' }]]), 'WDE0066');
    assert.equal(sortCode([{ fieldName: 'a', order: 'UP' }]), 'WDE0067');
    assert.equal(sortCode([{ fieldName: 'a', order: 1 }]), 'WDE0067');
    assert.equal(sortCode([{ fieldName: 'a', order: '' }]), 'WDE0067');
    assert.equal(sortCode([{ fieldName: 5 }]), 'WDE0067');
    assert.equal(sortCode([{}]), 'WDE0067');
    assert.equal(sortCode([{ order: 'ASC' }]), 'WDE0067');
    assert.equal(sortCode(Array.from({ length: LIMITS.maxSortFields + 1 }, (_, i) => ({ fieldName: `f${i}` }))), 'WDE0067');
    assert.equal(sortCode([{ fieldName: '$a' }]), 'WDE0134');
    assert.equal(sortCode([{ fieldName: 'a.$b' }]), 'WDE0134');
    assert.equal(sortCode([{ fieldName: '' }]), 'WDE0147');
    assert.equal(sortCode([{ fieldName: 'a b' }]), 'WDE0147');
    assert.equal(sortCode([{ fieldName: 'a;DROP TABLE items' }]), 'WDE0147');
  });

  test('sort: order in any case, ASC by default, up to the field limit', () => {
    assert.deepEqual(parseSort(undefined), []);
    assert.deepEqual(parseSort(null), []);
    assert.deepEqual(parseSort([]), []);
    assert.deepEqual(parseSort([{ fieldName: 'a' }, { fieldName: 'b.c', order: 'desc' }, { fieldName: '_id', order: 'Asc' }, { fieldName: 'd', order: null }]), [
      { field: { segments: ['a'] }, order: 'ASC' },
      { field: { segments: ['b', 'c'] }, order: 'DESC' },
      { field: { segments: ['_id'] }, order: 'ASC' },
      { field: { segments: ['d'] }, order: 'ASC' },
    ]);
    assert.equal(parseSort(Array.from({ length: LIMITS.maxSortFields }, (_, i) => ({ fieldName: `f${i}` }))).length, LIMITS.maxSortFields);
  });

  test('fields: rejects with WDE0147 / WDE0134 / WDE0080', () => {
    assert.equal(fieldsCode('a'), 'WDE0147');
    assert.equal(fieldsCode({ a: 1 }), 'WDE0147');
    assert.equal(fieldsCode([5]), 'WDE0147');
    assert.equal(fieldsCode(['a', null]), 'WDE0147');
    assert.equal(fieldsCode(['']), 'WDE0147');
    assert.equal(fieldsCode(['a..b']), 'WDE0147');
    assert.equal(fieldsCode(['$a']), 'WDE0134');
    assert.equal(fieldsCode(Array.from({ length: 1001 }, (_, i) => `f${i}`)), 'WDE0080');
    assert.equal(parseFields(Array.from({ length: 1000 }, (_, i) => `f${i}`)).length, 1000);
    assert.deepEqual(parseFields(['a.b', '_id']), [{ segments: ['a', 'b'] }, { segments: ['_id'] }]);
    assert.deepEqual(parseFields(undefined), []);
    assert.deepEqual(parseFields(null), []);
  });
});

// ---------------------------------------------------------------------------------------------

for (const storeName of STORE_NAMES) {
  describe(`query validation through HTTP (${storeName})`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(storeName, { runner: false });
      const r = await call(s.url, 'POST', `${DATA}/collections`, { collection: { id: 'pq' } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const ins = await call(s.url, 'POST', `${DATA}/bulk/items/insert`, {
        dataCollectionId: 'pq',
        dataItems: [{ data: { _id: 'x', n: 1 } }, { data: { _id: 'y', n: 2 } }],
      });
      assert.equal(ins.status, 200, JSON.stringify(ins.body));
    });
    after(() => s.close());

    /** Asserts a 400 with exactly the Wix envelope and the code; returns the description. */
    const rejects = async (path: string, body: unknown, code: string, status = 400): Promise<string> => {
      const r = await call(s.url, 'POST', `${DATA}${path}`, body);
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.deepEqual(Object.keys(r.body).sort(), ['details', 'message']);
      assert.deepEqual(Object.keys(r.body.details), ['applicationError']);
      const ae = r.body.details.applicationError;
      assert.deepEqual(Object.keys(ae).sort(), ae.data === undefined ? ['code', 'description'] : ['code', 'data', 'description']);
      assert.equal(ae.code, code, JSON.stringify(r.body));
      assert.equal(typeof ae.description, 'string');
      assert.ok(ae.description.length > 0);
      assert.equal(r.body.message, ae.description);
      return ae.description as string;
    };
    const query = (q: unknown) => ({ dataCollectionId: 'pq', query: q });

    test('filters: each family of rejections answers 400 with its code and the envelope', async () => {
      const cases: [unknown, string][] = [
        ['a', 'WDE0016'],
        [{ $and: ['x'] }, 'WDE0056'],
        [{ $not: [{ a: 1 }, { b: 1 }] }, 'WDE0057'],
        [{ n: { $gt: true } }, 'WDE0058'],
        [{ n: { $contains: 5 } }, 'WDE0059'],
        [{ n: { $in: [null] } }, 'WDE0060'],
        [{ n: { $where: 'x' } }, 'WDE0061'],
        [{ n: { $matches: 'x' } }, 'WDE0059'],
        [{ n: { $regex: '^1' } }, 'WDE0070'],
        [wide(LIMITS.maxNodes), 'WDE0080'],
        [{ 'n.$x': 1 }, 'WDE0134'],
        [{ 'n x': 1 }, 'WDE0147'],
      ];
      for (const [filter, code] of cases) {
        await rejects('/items/query', query({ filter }), code);
        await rejects('/items/count', { dataCollectionId: 'pq', filter }, code);
      }
      const d = await rejects('/items/query', query({ filter: { n: { $regex: 'x' } } }), 'WDE0070');
      assert.match(d, /\$regex/);
    });

    test('sort, fields and paging rejections', async () => {
      await rejects('/items/query', query({ sort: { fieldName: 'n' } }), 'WDE0065');
      await rejects('/items/query', query({ sort: ['n'] }), 'WDE0066');
      await rejects('/items/query', query({ sort: [{ fieldName: 'n', order: 'SIDEWAYS' }] }), 'WDE0067');
      await rejects('/items/query', query({ sort: [{ fieldName: "n'" }] }), 'WDE0147');
      await rejects('/items/query', query({ fields: 'n' }), 'WDE0147');
      await rejects('/items/query', query({ fields: ['$n'] }), 'WDE0134');
      await rejects('/items/query', query({ paging: { limit: -1 } }), 'WDE0034');
      await rejects('/items/query', query({ paging: { limit: 1.5 } }), 'WDE0035');
      await rejects('/items/query', query({ paging: { limit: 1001 } }), 'WDE0036');
      await rejects('/items/query', query({ paging: { offset: -3 } }), 'WDE0034');
      await rejects('/items/query', query({ cursorPaging: { limit: 101 } }), 'WDE0036');
      await rejects('/items/query', query({ paging: { limit: 1 }, cursorPaging: { limit: 1 } }), 'WDE0080');
      await rejects('/items/query', query({ cursorPaging: { cursor: '%%%not-a-cursor' } }), 'WDE0165');
      await rejects('/items/query', { dataCollectionId: 'pq', query: 'all' }, 'WDE0080');
    });

    test('a rejected query leaves the collection as it was, and valid forms still answer 200', async () => {
      const ok = await call(s.url, 'POST', `${DATA}/items/query`, query({ filter: { n: { $gte: 2 } }, sort: [{ fieldName: 'n', order: 'desc' }], fields: ['n'] }));
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.deepEqual(
        ok.body.dataItems.map((i: any) => i.data),
        [{ _id: 'y', n: 2 }],
      );
      const count = await call(s.url, 'POST', `${DATA}/items/count`, { dataCollectionId: 'pq', filter: { $not: [{ n: 1 }] } });
      assert.equal(count.status, 200);
      assert.equal(count.body.totalCount, 1);
      const all = await call(s.url, 'POST', `${DATA}/items/count`, { dataCollectionId: 'pq' });
      assert.equal(all.body.totalCount, 2);
    });

    test('an unknown collection is reported before the filter is looked at by query', async () => {
      await rejects('/items/query', { dataCollectionId: 'nope', query: { filter: { a: { $gt: 1 } } } }, 'WDE0025', 404);
    });
  });
}
