/**
 * Wix filter JSON -> FilterNode. Everything a caller can send is checked here, once, with the Wix
 * error codes: nothing downstream (compilers, evaluator) ever sees an unvalidated value or path.
 */
import { WixError } from '../errors.js';
import { canonicalJson, isDateValue, isPlainObject, isSentDateString, normaliseDateString, setOwn, type JsonValue } from '../wire/json.js';
import {
  FALSE,
  TRUE,
  type CompareOp,
  type FieldPath,
  type FilterNode,
  type OrderedScalar,
  type Scalar,
  type SortSpec,
  type StringOp,
  systemFieldOf,
} from './ast.js';
import { foldCase } from './fold.js';
import { parseMatches, parseUrlized } from './pattern.js';
import { normalise } from './normalise.js';

export const LIMITS = {
  /** Nodes in one filter: bounds compile time and SQL size. */
  maxNodes: 500,
  maxDepth: 32,
  maxSegments: 16,
  maxSegmentLength: 128,
  maxListLength: 1000,
  maxSortFields: 10,
} as const;

/**
 * A path segment: letters, digits, `_` and `-` (any script). This is wider than Wix's advice
 * ([a-zA-Z_][a-zA-Z0-9_-]{0,63}) and narrow enough that a path can be inlined in SQL text (which
 * expression indexes need) with no way to end a quoted literal.
 */
const SEGMENT = /^[\p{L}\p{N}_-]+$/u;

/**
 * Parsed paths are frozen, so equal strings can share one: a 1,000-item BulkPatch names the same
 * few paths a thousand times. Bounded: cleared when full.
 */
const pathCache = new Map<string, FieldPath>();
const PATH_CACHE_SIZE = 10_000;

export function parseFieldPath(raw: unknown, what = 'field'): FieldPath {
  const cached = typeof raw === 'string' ? pathCache.get(raw) : undefined;
  if (cached) return cached;
  const path = parseFieldPathUncached(raw, what);
  if (pathCache.size >= PATH_CACHE_SIZE) pathCache.clear();
  pathCache.set(path.segments.join('.'), path);
  return path;
}

function parseFieldPathUncached(raw: unknown, what: string): FieldPath {
  if (typeof raw !== 'string' || raw.length === 0) {
    throw new WixError('WDE0147', `Invalid ${what}: expected a non-empty string, got ${describe(raw)}`);
  }
  const segments = raw.split('.');
  if (segments.length > LIMITS.maxSegments) {
    throw new WixError('WDE0147', `Invalid ${what} [${clip(raw)}]: more than ${LIMITS.maxSegments} path segments`);
  }
  for (const s of segments) {
    if (s.startsWith('$')) throw new WixError('WDE0134', `Invalid ${what} [${clip(raw)}]: field names cannot start with $`);
    if (!SEGMENT.test(s) || s.length > LIMITS.maxSegmentLength) {
      throw new WixError(
        'WDE0147',
        `Invalid ${what} [${clip(raw)}]: path segments may hold only letters, digits, "_" and "-" (at most ${LIMITS.maxSegmentLength} characters each)`,
      );
    }
  }
  return Object.freeze({ segments: Object.freeze(segments) });
}

class Budget {
  nodes = 0;
  take(depth: number): void {
    if (++this.nodes > LIMITS.maxNodes) throw new WixError('WDE0080', `Filter is too complex: more than ${LIMITS.maxNodes} conditions`);
    if (depth > LIMITS.maxDepth) throw new WixError('WDE0080', `Filter is nested too deeply: more than ${LIMITS.maxDepth} levels`);
  }
}

export interface ParseFilterOptions {
  /**
   * Background-task filters come from SDK modules that rename system fields (`id`, `createdDate`,
   * `updatedDate`) and send dates as plain ISO strings; this maps them back.
   */
  readonly taskRenaming?: boolean;
}

/**
 * How a plain string operand is read on one field:
 * - `string`: as the string (every filter outside tasks);
 * - `date`: as a date when it parses as one (task filters, on `_createdDate`/`_updatedDate`);
 * - `either`: a string in the exact form `Date.toISOString()` writes matches that string or that
 *   date (task filters, on user fields). The SDK's tasks module sends a `Date` as that string and
 *   cannot say which it was, and a field holds one kind of value or the other, so matching both
 *   finds what the caller meant: without it `{releaseDate: {$lt: new Date()}}` matches nothing.
 */
type StringMode = 'string' | 'date' | 'either';

function stringModeOf(field: FieldPath, options: ParseFilterOptions): StringMode {
  if (options.taskRenaming !== true) return 'string';
  const system = systemFieldOf(field);
  if (system === '_createdDate' || system === '_updatedDate') return 'date';
  return system === undefined ? 'either' : 'string';
}

/** Parses and normalises a Wix filter. `undefined`, `null` and `{}` match everything. */
export function parseFilter(raw: unknown, options: ParseFilterOptions = {}): FilterNode {
  if (raw === undefined || raw === null) return TRUE;
  const budget = new Budget();
  return normalise(parseObject(raw, 0, budget, options));
}

function parseObject(raw: unknown, depth: number, budget: Budget, options: ParseFilterOptions): FilterNode {
  if (!isPlainObject(raw)) throw new WixError('WDE0016', `Filter must be an object, got ${describe(raw)}`);
  budget.take(depth);
  const parts: FilterNode[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (key.startsWith('$')) parts.push(parseLogical(key, value, depth, budget, options));
    else parts.push(parseFieldCondition(key, value, depth, budget, options));
  }
  return parts.length === 0 ? TRUE : parts.length === 1 ? (parts[0] as FilterNode) : { kind: 'and', children: parts };
}

function parseLogical(key: string, value: unknown, depth: number, budget: Budget, options: ParseFilterOptions): FilterNode {
  switch (key) {
    case '$and':
    case '$or': {
      if (!Array.isArray(value)) throw new WixError('WDE0057', `${key} should be an Array. Got ${describe(value)} instead`);
      const children = value.map((v) => {
        if (!isPlainObject(v)) throw new WixError('WDE0056', `${key} items should be Objects. Got ${describe(v)} instead`);
        return parseObject(v, depth + 1, budget, options);
      });
      return key === '$and' ? { kind: 'and', children } : { kind: 'or', children };
    }
    case '$not': {
      // The SDK sends {$not: [expr]}; the REST docs show {$not: expr}. Both are accepted.
      let inner: unknown = value;
      if (Array.isArray(value)) {
        if (value.length !== 1) throw new WixError('WDE0057', `$not Array should have length 1. Got ${describe(value)} instead`);
        inner = value[0];
      }
      if (!isPlainObject(inner)) throw new WixError('WDE0056', `$not should be an Object. Got ${describe(inner)} instead`);
      return { kind: 'not', child: parseObject(inner, depth + 1, budget, options) };
    }
    case '$regex':
      throw new WixError('WDE0070', '$regex keyword is not allowed.');
    default:
      throw new WixError('WDE0061', `Unknown filter operator ${clip(key)} at the top level of a filter`);
  }
}

function renameTaskField(key: string): string {
  if (key === 'id') return '_id';
  if (key === 'createdDate') return '_createdDate';
  if (key === 'updatedDate') return '_updatedDate';
  return key;
}

function parseFieldCondition(key: string, value: unknown, depth: number, budget: Budget, options: ParseFilterOptions): FilterNode {
  const field = parseFieldPath(options.taskRenaming ? renameTaskField(key) : key);
  const mode = stringModeOf(field, options);
  if (isPlainObject(value) && !isDateValue(value)) {
    const keys = Object.keys(value);
    const operators = keys.filter((k) => k.startsWith('$'));
    if (operators.length > 0 && operators.length !== keys.length) {
      throw new WixError('WDE0061', `Condition on [${clip(key)}] mixes operators and field names`);
    }
    if (operators.length > 0) {
      const parts = operators.map((op) => {
        budget.take(depth + 1);
        return parseOperator(field, op, value[op], mode);
      });
      return parts.length === 1 ? (parts[0] as FilterNode) : { kind: 'and', children: parts };
    }
  }
  budget.take(depth + 1);
  return equality(field, value, '$eq', mode);
}

function parseOperator(field: FieldPath, op: string, operand: unknown, mode: StringMode): FilterNode {
  switch (op) {
    case '$eq':
      return equality(field, operand, op, mode);
    case '$ne':
      return { kind: 'not', child: equality(field, operand, op, mode) };
    case '$gt':
    case '$gte':
    case '$lt':
    case '$lte': {
      const values = scalars(operand, op, mode, 'WDE0058');
      if (values === null || values.some((v) => v.type === 'boolean')) {
        throw new WixError('WDE0058', `${op} should be a Date, Number or String. Got ${describe(operand)} instead`);
      }
      const cmpOp = op.slice(1) as CompareOp;
      const nodes = values.map((value): FilterNode => ({ kind: 'cmp', field, op: cmpOp, value: value as OrderedScalar }));
      return nodes.length === 1 ? (nodes[0] as FilterNode) : { kind: 'or', children: nodes };
    }
    case '$in':
    case '$nin':
    case '$hasSome': {
      const values = scalarList(operand, op, mode).flat();
      const node: FilterNode = values.length === 0 ? FALSE : { kind: 'in', field, values };
      return op === '$nin' ? { kind: 'not', child: node } : node;
    }
    case '$hasAll': {
      const values = scalarList(operand, op, mode);
      if (values.length === 0) return FALSE;
      return { kind: 'and', children: values.map((forms) => elementOf(field, forms)) };
    }
    case '$exists': {
      const b = bool(operand, op);
      const isNull: FilterNode = { kind: 'isNull', field };
      return b ? { kind: 'not', child: isNull } : isNull;
    }
    case '$isEmpty':
    case '$isNotEmpty': {
      const b = bool(operand, op);
      const isEmpty: FilterNode = { kind: 'isEmpty', field };
      return b === (op === '$isEmpty') ? isEmpty : { kind: 'not', child: isEmpty };
    }
    case '$startsWith':
    case '$endsWith':
    case '$contains': {
      if (typeof operand !== 'string') throw new WixError('WDE0059', `${op} should be a String. Got ${describe(operand)} instead`);
      noNul(operand, op, 'WDE0059');
      return { kind: 'str', field, op: op.slice(1) as StringOp, value: foldCase(operand) };
    }
    case '$matches': {
      const { parts, ignoreCase } = parseMatches(operand);
      return { kind: 'pattern', field, parts, ignoreCase };
    }
    case '$urlized':
      return { kind: 'pattern', field, parts: parseUrlized(operand), ignoreCase: true };
    case '$regex':
      throw new WixError('WDE0070', '$regex keyword is not allowed.');
    default:
      throw new WixError('WDE0061', `Unknown or unsupported filter operator ${clip(op)}`);
  }
}

/** `{f: v}` and `{f: {$eq: v}}`: null -> isNull, scalar -> eq, array/object -> exact equality. */
function equality(field: FieldPath, operand: unknown, op: string, mode: StringMode): FilterNode {
  if (operand === null) return { kind: 'isNull', field };
  if (Array.isArray(operand) || (isPlainObject(operand) && !isDateValue(operand))) {
    return { kind: 'eqJson', field, json: canonicalJson(normaliseJson(operand, op)) };
  }
  const forms = scalars(operand, op, mode, 'WDE0058');
  if (forms === null) throw new WixError('WDE0058', `${op} should be a Date, Number, String, or Boolean. Got ${describe(operand)} instead`);
  return elementOf(field, forms);
}

/** Element match of one operand, read in one form or (mode `either`) two. */
function elementOf(field: FieldPath, forms: readonly Scalar[]): FilterNode {
  return forms.length === 1 ? { kind: 'eq', field, value: forms[0] as Scalar } : { kind: 'in', field, values: forms };
}

/**
 * How deep an array or object operand may nest: as deep as an item may (codec.ts), so any stored
 * value can be compared, and no deeper, so an operand cannot exhaust the stack.
 */
const MAX_OPERAND_DEPTH = 64;

/** Normalises dates inside a JSON operand (arrays and objects compared exactly). */
function normaliseJson(v: unknown, op: string, depth = 0): JsonValue {
  if (depth > MAX_OPERAND_DEPTH) throw new WixError('WDE0058', `${op}: the value is nested deeper than ${MAX_OPERAND_DEPTH} levels`);
  if (Array.isArray(v)) return v.map((x) => normaliseJson(x, op, depth + 1));
  if (isDateValue(v)) {
    const iso = normaliseDateString(v.$date);
    if (!iso) throw new WixError('WDE0058', `${op}: invalid date ${clip(v.$date)}`);
    return { $date: iso };
  }
  if (isPlainObject(v)) {
    const out: Record<string, JsonValue> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k.startsWith('$')) throw new WixError('WDE0134', `${op}: field names cannot start with $ (${clip(k)})`);
      noNul(k, op, 'WDE0058');
      setOwn(out, k, normaliseJson(x, op, depth + 1));
    }
    return out;
  }
  if (typeof v === 'number' && !Number.isFinite(v)) throw new WixError('WDE0058', `${op}: numbers must be finite`);
  if (typeof v === 'string') return noNul(v, op, 'WDE0058');
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return v;
  throw new WixError('WDE0058', `${op}: unsupported value ${describe(v)}`);
}

/**
 * A scalar operand, in the forms it is read in (see StringMode): one, or for a date string in
 * mode `either`, the string and the date. Null when the operand is not a scalar.
 */
function scalars(v: unknown, op: string, mode: StringMode, code: 'WDE0058' | 'WDE0060'): Scalar[] | null {
  if (typeof v === 'string') {
    noNul(v, op, code);
    const text: Scalar = { type: 'string', value: v };
    if (mode === 'date') {
      const iso = normaliseDateString(v);
      return [iso === undefined ? text : { type: 'date', value: iso }];
    }
    return mode === 'either' && isSentDateString(v) ? [text, { type: 'date', value: v }] : [text];
  }
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new WixError(code, `${op}: numbers must be finite`);
    return [{ type: 'number', value: v }];
  }
  if (typeof v === 'boolean') return [{ type: 'boolean', value: v }];
  if (isDateValue(v)) {
    const iso = normaliseDateString(v.$date);
    if (!iso) throw new WixError(code, `${op}: invalid date ${clip(v.$date)}`);
    return [{ type: 'date', value: iso }];
  }
  return null;
}

/**
 * U+0000 cannot be held by a PostgreSQL text or jsonb string, so no stored value can contain it
 * there: a filter string holding it is rejected on every store alike.
 */
function noNul(s: string, op: string, code: 'WDE0058' | 'WDE0059' | 'WDE0060'): string {
  if (s.includes('\u0000')) throw new WixError(code, `${op}: strings in filters cannot contain the character U+0000`);
  return s;
}

/** Each operand of a list operator, in the forms it is read in. */
function scalarList(v: unknown, op: string, mode: StringMode): Scalar[][] {
  if (!Array.isArray(v)) throw new WixError('WDE0057', `${op} should be an Array. Got ${describe(v)} instead`);
  if (v.length > LIMITS.maxListLength) throw new WixError('WDE0080', `${op} holds more than ${LIMITS.maxListLength} values`);
  return v.map((x) => {
    const s = scalars(x, op, mode, 'WDE0060');
    if (s === null) {
      throw new WixError('WDE0060', `${op} Array should only contain values of types Date, Number, String, and Boolean. Got ${describe(x)} instead`);
    }
    return s;
  });
}

function bool(v: unknown, op: string): boolean {
  if (typeof v !== 'boolean') throw new WixError('WDE0058', `${op} should be a Boolean. Got ${describe(v)} instead`);
  return v;
}

/** Wix sort: [{fieldName, order}]; order ASC (default) or DESC, either case. */
export function parseSort(raw: unknown): SortSpec[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new WixError('WDE0065', `Sort Model should be an Array. Got ${describe(raw)} instead`);
  if (raw.length > LIMITS.maxSortFields) throw new WixError('WDE0067', `At most ${LIMITS.maxSortFields} sort fields are allowed`);
  return raw.map((item) => {
    if (!isPlainObject(item)) throw new WixError('WDE0066', `Sort Model Array should contain values of type Object only. Got ${describe(item)} instead`);
    const order = item.order === undefined || item.order === null ? 'ASC' : item.order;
    if (typeof order !== 'string' || !['ASC', 'DESC'].includes(order.toUpperCase())) {
      throw new WixError('WDE0067', `Sort order should be "ASC" or "DESC". Got ${describe(item.order)} instead`);
    }
    if (typeof item.fieldName !== 'string') {
      throw new WixError('WDE0067', `Sort Model Array items should have a string fieldName. Got ${describe(item)} instead`);
    }
    return { field: parseFieldPath(item.fieldName, 'sort field'), order: order.toUpperCase() as 'ASC' | 'DESC' };
  });
}

/** The `fields` projection: [] or absent means every field. */
export function parseFields(raw: unknown): FieldPath[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new WixError('WDE0147', `fields should be an array of field paths. Got ${describe(raw)} instead`);
  if (raw.length > 1000) throw new WixError('WDE0080', 'fields holds more than 1000 paths');
  return raw.map((f) => parseFieldPath(f, 'projected field'));
}

export function describe(v: unknown): string {
  let s: string;
  try {
    s = JSON.stringify(v) ?? String(v);
  } catch {
    s = String(v);
  }
  return clip(s);
}

function clip(s: string): string {
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}
