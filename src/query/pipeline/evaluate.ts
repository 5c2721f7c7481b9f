/**
 * The JS evaluator of the aggregation pipeline: the reference semantics both stores' SQL must
 * agree with (test/pipeline.test.ts holds them to it on random collections and pipelines). It is
 * never used to answer a request. SQLite's `cairn_px` function calls `applyOperation` below, so
 * expression operators mean the same thing there by construction; PostgreSQL's SQL is checked.
 */
import { WixError } from '../../errors.js';
import { canonicalJson, isDateValue, isPlainObject, setOwn, type JsonObject, type JsonValue } from '../../wire/json.js';
import type { FieldPath, SortSpec } from '../ast.js';
import { compareSortValues, compareStrings, evaluate, getPath } from '../evaluate.js';
import { foldCase } from '../fold.js';
import type { BinaryOp, Expr, NaryOp, ProjectionTree, Stage, UnaryOp } from './ast.js';

/** An expression's value: a JSON value, or undefined for missing. */
export type Value = JsonValue | undefined;

/** The order the first stage reads items in: newest first, then `_id` (as a query's default). */
export const INITIAL_ORDER: readonly SortSpec[] = [
  { field: { segments: ['_createdDate'] }, order: 'DESC' },
  { field: { segments: ['_id'] }, order: 'ASC' },
];

const num = (v: Value): number | undefined => (typeof v === 'number' ? v : undefined);
const str = (v: Value): string | undefined => (typeof v === 'string' ? v : undefined);

/** An arithmetic result; one past the range of a double is the request's error, on every store. */
export function finite(n: number): number {
  if (!Number.isFinite(n)) throw new WixError('WDE0080', 'A number computed by the pipeline is out of range');
  return n === 0 ? 0 : n;
}

/**
 * Upper-casing one code point at a time, a code point whose upper case is several (ß -> SS) left
 * as it is: the simple mapping, which is what PostgreSQL's upper() does.
 */
export function simpleUpper(s: string): string {
  let out = '';
  for (const c of s) {
    const u = c.toUpperCase();
    out += [...u].length === 1 ? u : c;
  }
  return out;
}

/** How `stringify` writes a value: text as it is, numbers and booleans as JavaScript does, dates as their ISO text. */
function stringify(v: Value): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (isDateValue(v)) return v.$date;
  return undefined;
}

const isWhole = (n: number | undefined): n is number => n !== undefined && Number.isInteger(n) && n >= 0;

/**
 * One operator on its operands' values. Operators never yield missing: an operand of the wrong
 * type (or missing) gives null, as does a division or remainder by zero.
 */
export function applyOperation(op: NaryOp | BinaryOp | UnaryOp | 'substring', args: readonly Value[]): JsonValue {
  switch (op) {
    case 'add':
    case 'multiply': {
      const ns = args.map(num);
      if (ns.some((n) => n === undefined)) return null;
      return finite((ns as number[]).reduce((a, b) => (op === 'add' ? a + b : a * b)));
    }
    case 'concat': {
      const ss = args.map(str);
      return ss.some((s) => s === undefined) ? null : ss.join('');
    }
    case 'subtract':
    case 'divide':
    case 'mod': {
      const a = num(args[0]);
      const b = num(args[1]);
      if (a === undefined || b === undefined) return null;
      if (op === 'subtract') return finite(a - b);
      if (b === 0) return null;
      // The remainder as a - b * trunc(a / b), each step a double: the dividend's sign, exact for
      // whole numbers below 2^52, and the same on PostgreSQL, whose float8 does these same steps
      // (JavaScript's % is exact where a decimal-based numeric mod is not: neither store has both).
      return finite(op === 'divide' ? a / b : a - b * Math.trunc(finite(a / b)));
    }
    case 'abs':
    case 'floor':
    case 'ceil': {
      const a = num(args[0]);
      return a === undefined ? null : finite(Math[op](a));
    }
    case 'stringify':
      return stringify(args[0]) ?? null;
    case 'toLower': {
      const s = str(args[0]);
      return s === undefined ? null : foldCase(s);
    }
    case 'toUpper': {
      const s = str(args[0]);
      return s === undefined ? null : simpleUpper(s);
    }
    case 'length': {
      const s = str(args[0]);
      return s === undefined ? null : [...s].length;
    }
    case 'substring': {
      const s = str(args[0]);
      const start = num(args[1]);
      const length = num(args[2]);
      if (s === undefined || !isWhole(start) || !isWhole(length)) return null;
      return [...s].slice(start, start + length).join('');
    }
  }
}

export function evaluateExpression(e: Expr, doc: JsonObject): Value {
  switch (e.kind) {
    case 'field':
      return valueAt(doc, e.path.segments);
    case 'text':
    case 'numeric':
      return e.value;
    case 'nary':
      return applyOperation(e.op, e.args.map((a) => evaluateExpression(a, doc)));
    case 'binary':
      return applyOperation(e.op, [evaluateExpression(e.left, doc), evaluateExpression(e.right, doc)]);
    case 'unary':
      return applyOperation(e.op, [evaluateExpression(e.arg, doc)]);
    case 'substring':
      return applyOperation('substring', [evaluateExpression(e.arg, doc), evaluateExpression(e.start, doc), evaluateExpression(e.length, doc)]);
  }
}

/** The value at a path through objects (an array or a scalar on the way means missing). */
function valueAt(doc: JsonObject, segments: readonly string[]): Value {
  let v: Value = doc;
  for (const s of segments) {
    if (!isPlainObject(v)) return undefined;
    v = Object.hasOwn(v, s) ? v[s] : undefined;
  }
  return v;
}

const clone = (doc: JsonObject): JsonObject => structuredClone(doc);

/** An object that is not a date: `{$date}` stands for a scalar. */
const isObjectValue = (v: Value): v is JsonObject => isPlainObject(v) && !isDateValue(v);

/** Sets a path, making each level on the way an object (a value that is not one, or a date, is replaced). */
function setPath(doc: JsonObject, segments: readonly string[], value: JsonValue): void {
  let node = doc;
  segments.forEach((s, i) => {
    if (i === segments.length - 1) setOwn(node, s, value);
    else {
      if (!Object.hasOwn(node, s) || !isObjectValue(node[s])) setOwn(node, s, {});
      node = node[s] as JsonObject;
    }
  });
}

function project(tree: ProjectionTree, doc: JsonObject, prefix: readonly string[]): JsonObject {
  const out: JsonObject = {};
  for (const [k, node] of tree) {
    const path = [...prefix, k];
    let v: Value;
    if (node.kind === 'include') v = valueAt(doc, path);
    else if (node.kind === 'reshape') v = evaluateExpression(node.expr, doc);
    // A nested part is an object when the source has one there, or when it computes a field.
    else v = node.computed || isObjectValue(valueAt(doc, path)) ? project(node.children, doc, path) : undefined;
    if (v !== undefined) setOwn(out, k, v);
  }
  return out;
}

function removePath(doc: JsonObject, segments: readonly string[]): void {
  let node: JsonObject = doc;
  for (const s of segments.slice(0, -1)) {
    const next = Object.hasOwn(node, s) ? node[s] : undefined;
    if (!isPlainObject(next)) return;
    node = next;
  }
  delete node[segments[segments.length - 1] as string];
}

/** Stable sort by the query language's order (docs/query-language.md, Sort). */
function sortDocs(docs: JsonObject[], sort: readonly SortSpec[]): JsonObject[] {
  return docs
    .map((d, i) => ({ d, i }))
    .sort((a, b) => {
      for (const s of sort) {
        const c = compareSortValues(getPath(a.d, s.field), getPath(b.d, s.field));
        if (c !== 0) return s.order === 'ASC' ? c : -c;
      }
      return a.i - b.i;
    })
    .map((x) => x.d);
}

/** The first value in order that is least (or greatest) in the sort order; missing and null left out. */
function extreme(values: readonly Value[], dir: 1 | -1): JsonValue {
  let best: Value;
  for (const v of values) {
    if (v === undefined || v === null) continue;
    if (best === undefined || dir * compareSortValues(v, best) < 0) best = v;
  }
  return best ?? null;
}

function group(stage: Extract<Stage, { kind: 'group' }>, docs: readonly JsonObject[]): JsonObject[] {
  // Groups come out in the order of their first document.
  const groups = new Map<string, { ids: JsonValue[]; docs: JsonObject[] }>();
  for (const d of docs) {
    const ids = stage.ids.map((g) => evaluateExpression(g.expr, d) ?? null);
    const key = canonicalJson(ids);
    const found = groups.get(key);
    if (found) found.docs.push(d);
    else groups.set(key, { ids, docs: [d] });
  }
  return [...groups.values()].map(({ ids, docs: members }) => {
    const out: JsonObject = {};
    if (stage.ids.length) {
      const id: JsonObject = {};
      stage.ids.forEach((g, i) => setOwn(id, g.key, ids[i] as JsonValue));
      out._id = id;
    } else out._id = null;
    for (const a of stage.accumulators) {
      const values = members.map((m) => evaluateExpression(a.expr, m));
      const numbers = values.filter((v): v is number => typeof v === 'number');
      let r: JsonValue;
      switch (a.op) {
        case 'sum':
          r = finite(numbers.reduce((x, y) => x + y, 0));
          break;
        case 'avg':
          r = numbers.length ? finite(numbers.reduce((x, y) => x + y, 0) / numbers.length) : null;
          break;
        case 'min':
          r = extreme(values, 1);
          break;
        case 'max':
          r = extreme(values, -1);
          break;
        case 'first':
          r = values[0] ?? null;
          break;
        case 'last':
          r = values[values.length - 1] ?? null;
          break;
        case 'push':
          r = values.filter((v): v is JsonValue => v !== undefined);
          break;
      }
      setOwn(out, a.name, r);
    }
    return out;
  });
}

function unwind(path: FieldPath, docs: readonly JsonObject[]): JsonObject[] {
  return docs.flatMap((d) => {
    const v = valueAt(d, path.segments);
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) return [d];
    return v.map((element) => {
      const c = clone(d);
      setPath(c, path.segments, element);
      return c;
    });
  });
}

function objectToArray(from: FieldPath, to: FieldPath, d: JsonObject): JsonObject {
  const v = valueAt(d, from.segments);
  const entries =
    isObjectValue(v)
      ? Object.keys(v)
          .sort(compareStrings)
          .map((k): JsonValue => ({ k, v: v[k] as JsonValue }))
      : null;
  const c = clone(d);
  setPath(c, to.segments, entries);
  return c;
}

/** Runs the stages over the collection's items (wire form, any order). */
export function runPipeline(stages: readonly Stage[], items: readonly JsonObject[]): JsonObject[] {
  let docs = sortDocs([...items], INITIAL_ORDER);
  for (const s of stages) {
    switch (s.kind) {
      case 'filter':
        docs = docs.filter((d) => evaluate(s.filter, d));
        break;
      case 'sort':
        docs = sortDocs(docs, s.sort);
        break;
      case 'include':
        docs = docs.map((d) => {
          const body = project(s.tree, d, []);
          return s.keepId && !s.tree.has('_id') && d._id !== undefined ? { _id: d._id, ...body } : body;
        });
        break;
      case 'exclude':
        docs = docs.map((d) => {
          const c = clone(d);
          for (const p of s.paths) removePath(c, p.segments);
          return c;
        });
        break;
      case 'group':
        docs = group(s, docs);
        break;
      case 'unwind':
        docs = unwind(s.path, docs);
        break;
      case 'objectToArray':
        docs = docs.map((d) => objectToArray(s.from, s.to, d));
        break;
      case 'skip':
        docs = docs.slice(s.count);
        break;
      case 'limit':
        docs = docs.slice(0, s.count);
        break;
    }
  }
  return docs;
}

