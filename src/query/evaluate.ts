/**
 * The JS evaluator of the filter AST: the reference semantics that both SQL compilers must agree
 * with (the property tests check it). It is never used to filter a collection; the stores do that.
 */
import { matchesPattern } from './pattern.js';
import { canonicalJson, isDateValue, isPlainObject, type JsonObject, type JsonValue } from '../wire/json.js';
import type { FieldPath, FilterNode, NodeOf, Scalar, SortSpec } from './ast.js';
import { foldCase } from './fold.js';

export function getPath(item: JsonObject, path: FieldPath): JsonValue | undefined {
  let v: JsonValue | undefined = item;
  for (const s of path.segments) {
    if (!isPlainObject(v) || isDateValue(v)) return undefined;
    // Own fields only: `constructor` is a missing field unless the item has one.
    v = Object.hasOwn(v, s) ? v[s] : undefined;
  }
  return v;
}

/** UTF-8 byte order = code point order: what SQLite's BINARY and PostgreSQL's "C" collation use. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i) as number;
    const y = b.codePointAt(i) as number;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length - b.length < 0 ? -1 : a.length === b.length ? 0 : 1;
}

type ElementType = 'string' | 'number' | 'boolean' | 'date' | 'null' | 'array' | 'object';

export function typeOf(v: JsonValue): ElementType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (isDateValue(v)) return 'date';
  if (typeof v === 'object') return 'object';
  return typeof v as 'string' | 'number' | 'boolean';
}

function scalarEquals(e: JsonValue, s: Scalar): boolean {
  if (typeOf(e) !== s.type) return false;
  return s.type === 'date' ? (e as { $date: string }).$date === s.value : e === s.value;
}

/** True when the value, or an element of the array value, satisfies pred. */
function elementMatch(v: JsonValue | undefined, pred: (e: JsonValue) => boolean): boolean {
  if (v === undefined) return false;
  if (Array.isArray(v)) return v.some((e) => !Array.isArray(e) && pred(e));
  return pred(v);
}

/** What text search leaves out: the system fields (`_publishStatus` is not stored, only shown). */
const SEARCH_SKIPS = new Set(['_id', '_owner', '_createdDate', '_updatedDate', '_publishStatus']);

const handlers: { [K in FilterNode['kind']]: (node: NodeOf<K>, item: JsonObject) => boolean } = {
  true: () => true,
  false: () => false,
  and: (n, item) => n.children.every((c) => evaluate(c, item)),
  or: (n, item) => n.children.some((c) => evaluate(c, item)),
  not: (n, item) => !evaluate(n.child, item),
  eq: (n, item) => elementMatch(getPath(item, n.field), (e) => scalarEquals(e, n.value)),
  eqJson: (n, item) => {
    const v = getPath(item, n.field);
    return v !== undefined && v !== null && typeof v === 'object' && !isDateValue(v) && canonicalJson(v) === n.json;
  },
  in: (n, item) => elementMatch(getPath(item, n.field), (e) => n.values.some((s) => scalarEquals(e, s))),
  cmp: (n, item) =>
    elementMatch(getPath(item, n.field), (e) => {
      if (typeOf(e) !== n.value.type) return false;
      const c =
        n.value.type === 'number'
          ? (e as number) - n.value.value
          : compareStrings(n.value.type === 'date' ? (e as { $date: string }).$date : (e as string), n.value.value);
      switch (n.op) {
        case 'gt':
          return c > 0;
        case 'gte':
          return c >= 0;
        case 'lt':
          return c < 0;
        case 'lte':
          return c <= 0;
      }
    }),
  str: (n, item) =>
    elementMatch(getPath(item, n.field), (e) => {
      if (typeof e !== 'string') return false;
      const s = foldCase(e);
      return n.op === 'startsWith' ? s.startsWith(n.value) : n.op === 'endsWith' ? s.endsWith(n.value) : s.includes(n.value);
    }),
  pattern: (n, item) => elementMatch(getPath(item, n.field), (e) => typeof e === 'string' && matchesPattern(n.ignoreCase ? foldCase(e) : e, n.parts)),
  isNull: (n, item) => {
    const v = getPath(item, n.field);
    return v === undefined || v === null;
  },
  search: (n, item) => {
    const strings: string[] = [];
    const walk = (v: JsonValue | undefined): void => {
      if (typeof v === 'string') strings.push(foldCase(v));
      else if (Array.isArray(v)) v.forEach(walk);
      else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) walk(v[k]);
    };
    for (const k of Object.keys(item)) if (!SEARCH_SKIPS.has(k)) walk(item[k]);
    const has = (t: string) => strings.some((s) => s.includes(t));
    return n.mode === 'OR' ? n.terms.some(has) : n.terms.every(has);
  },
  isEmpty: (n, item) => {
    const v = getPath(item, n.field);
    return v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);
  },
};

export function evaluate(node: FilterNode, item: JsonObject): boolean {
  return (handlers[node.kind] as (n: FilterNode, i: JsonObject) => boolean)(node, item);
}

/**
 * Sort ranks, shared with the compilers: missing/null < booleans < numbers < strings < dates <
 * arrays and objects (which tie with each other). Within a rank values compare naturally
 * (false < true; strings by code point).
 */
export function sortRank(v: JsonValue | undefined): number {
  if (v === undefined || v === null) return 0;
  switch (typeOf(v)) {
    case 'boolean':
      return 1;
    case 'number':
      return 2;
    case 'string':
      return 3;
    case 'date':
      return 4;
    default:
      return 5;
  }
}

export function compareSortValues(a: JsonValue | undefined, b: JsonValue | undefined): number {
  const ra = sortRank(a);
  const rb = sortRank(b);
  if (ra !== rb) return ra - rb;
  switch (ra) {
    case 1:
      return Number(a) - Number(b);
    case 2:
      return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
    case 3:
      return compareStrings(a as string, b as string);
    case 4:
      return compareStrings((a as { $date: string }).$date, (b as { $date: string }).$date);
    default:
      return 0;
  }
}

/** Orders items as the stores do: the sort specs in turn, then _id ascending. */
export function compareItems(sort: readonly SortSpec[], a: JsonObject, b: JsonObject): number {
  for (const s of sort) {
    const c = compareSortValues(getPath(a, s.field), getPath(b, s.field));
    if (c !== 0) return s.order === 'ASC' ? c : -c;
  }
  return compareStrings(String(a._id), String(b._id));
}
