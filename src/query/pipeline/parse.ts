/**
 * Raw pipeline JSON (the SDK's `PipelineBuilder().withStages(...).build()`, the REST body's
 * `pipeline.stages`) -> the typed stages of ast.ts. Everything is checked here, with Wix error
 * codes: a pipeline that parses compiles on both stores.
 */
import { WixError } from '../../errors.js';
import { asArray, asObject, optionalInt } from '../../validate.js';
import { isPlainObject, type JsonObject } from '../../wire/json.js';
import type { FieldPath } from '../ast.js';
import { describe, parseFieldPath, parseFilter, parseSort } from '../parse.js';
import type { Accumulator, AccumulatorOp, BinaryOp, Expr, NaryOp, ProjectionNode, ProjectionTree, Stage, UnaryOp } from './ast.js';

export const PIPELINE_LIMITS = {
  stages: 100,
  /** Expression nodes in the whole pipeline: bounds SQL size and compile time. */
  expressionNodes: 2000,
  expressionDepth: 32,
  operands: 100,
  textLength: 1000,
  projectionFields: 100,
  groupIds: 20,
  accumulators: 100,
} as const;

const invalid = (message: string): WixError => new WixError('WDE0080', message);

const NARY: Record<string, NaryOp> = { add: 'add', sum: 'add', multiply: 'multiply', concat: 'concat' };
const BINARY: readonly BinaryOp[] = ['subtract', 'divide', 'mod'];
const UNARY: readonly UnaryOp[] = ['abs', 'floor', 'ceil', 'stringify', 'toLower', 'toUpper', 'length'];
const EXPRESSION_KINDS = ['fieldPath', 'text', 'numeric', ...Object.keys(NARY), ...BINARY, ...UNARY, 'substring'];
const ACCUMULATORS: readonly AccumulatorOp[] = ['sum', 'avg', 'min', 'max', 'first', 'last', 'push'];
const STAGE_KINDS = ['filter', 'sort', 'projection', 'group', 'unwindArray', 'objectToArray', 'skip', 'limit'] as const;

/** The one key of a oneof object that is set (not undefined or null), among `allowed`. */
function theOneOf(o: JsonObject, allowed: readonly string[], what: string): string {
  const given = allowed.filter((k) => o[k] !== undefined && o[k] !== null);
  if (given.length !== 1) throw invalid(`${what} must have exactly one of ${allowed.join(', ')}; got ${given.length ? given.join(', ') : 'none'}`);
  return given[0] as string;
}

/** A single field name: one path segment. */
function fieldKey(raw: unknown, what: string): string {
  const path = parseFieldPath(raw, what);
  if (path.segments.length !== 1) throw invalid(`${what} [${path.segments.join('.')}] must be a single field name, not a path`);
  return path.segments[0] as string;
}

class ExpressionBudget {
  private nodes = 0;
  take(depth: number, where: string): void {
    if (++this.nodes > PIPELINE_LIMITS.expressionNodes) throw invalid(`The pipeline holds more than ${PIPELINE_LIMITS.expressionNodes} expression nodes`);
    if (depth > PIPELINE_LIMITS.expressionDepth) throw invalid(`${where}: expressions nest deeper than ${PIPELINE_LIMITS.expressionDepth} levels`);
  }
}

function parseExpression(raw: unknown, where: string, budget: ExpressionBudget, depth = 1): Expr {
  budget.take(depth, where);
  const o = asObject(raw, where);
  const kind = theOneOf(o, EXPRESSION_KINDS, where);
  const v = o[kind];
  const sub = (x: unknown, name: string) => parseExpression(x, `${where}.${kind}.${name}`, budget, depth + 1);
  if (kind === 'fieldPath') return { kind: 'field', path: parseFieldPath(v, `${where}.fieldPath`) };
  if (kind === 'text') {
    if (typeof v !== 'string') throw invalid(`${where}.text must be a string, got ${describe(v)}`);
    if (v.length > PIPELINE_LIMITS.textLength) throw invalid(`${where}.text is longer than ${PIPELINE_LIMITS.textLength} characters`);
    return { kind: 'text', value: v };
  }
  if (kind === 'numeric') {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(`${where}.numeric must be a finite number, got ${describe(v)}`);
    return { kind: 'numeric', value: v === 0 ? 0 : v };
  }
  const args = asObject(v, `${where}.${kind}`);
  const nary = NARY[kind];
  if (nary) {
    const list = asArray(args.expressions, `${where}.${kind}.expressions`);
    if (list.length === 0) throw invalid(`${where}.${kind}.expressions must not be empty`);
    if (list.length > PIPELINE_LIMITS.operands) throw invalid(`${where}.${kind}.expressions holds more than ${PIPELINE_LIMITS.operands} expressions`);
    return { kind: 'nary', op: nary, args: list.map((x, i) => sub(x, `expressions[${i}]`)) };
  }
  if ((BINARY as readonly string[]).includes(kind)) {
    return { kind: 'binary', op: kind as BinaryOp, left: sub(args.firstExpression, 'firstExpression'), right: sub(args.secondExpression, 'secondExpression') };
  }
  if (kind === 'substring') {
    return { kind: 'substring', arg: sub(args.expression, 'expression'), start: sub(args.startExpression, 'startExpression'), length: sub(args.lengthExpression, 'lengthExpression') };
  }
  return { kind: 'unary', op: kind as UnaryOp, arg: sub(args.expression, 'expression') };
}

// ---------------------------------------------------------------------------------------------
// Projection

interface FlatProjection {
  includes: FieldPath[];
  reshapes: { path: FieldPath; expr: Expr }[];
  excludes: FieldPath[];
}

const joinPath = (prefix: readonly string[], path: FieldPath): FieldPath => Object.freeze({ segments: Object.freeze([...prefix, ...path.segments]) });

/** `projectNested` is a prefix: its fields name paths under its resultFieldName. */
function flattenProjection(raw: unknown, where: string, prefix: readonly string[], out: FlatProjection, budget: ExpressionBudget, count: { n: number }): void {
  const list = asArray(raw, `${where}.fields`);
  for (const [i, rawField] of list.entries()) {
    if (++count.n > PIPELINE_LIMITS.projectionFields) throw invalid(`${where} holds more than ${PIPELINE_LIMITS.projectionFields} fields`);
    const w = `${where}.fields[${i}]`;
    const f = asObject(rawField, w);
    const kind = theOneOf(f, ['include', 'exclude', 'reshape', 'projectNested'], w);
    const body = asObject(f[kind], `${w}.${kind}`);
    switch (kind) {
      case 'include':
        out.includes.push(joinPath(prefix, parseFieldPath(body.fieldName, `${w}.include.fieldName`)));
        break;
      case 'exclude':
        out.excludes.push(joinPath(prefix, parseFieldPath(body.fieldName, `${w}.exclude.fieldName`)));
        break;
      case 'reshape':
        out.reshapes.push({
          path: joinPath(prefix, parseFieldPath(body.resultFieldName, `${w}.reshape.resultFieldName`)),
          expr: parseExpression(body.expression, `${w}.reshape.expression`, budget),
        });
        break;
      default: {
        const name = parseFieldPath(body.resultFieldName, `${w}.projectNested.resultFieldName`);
        flattenProjection(body.fields, `${w}.projectNested`, [...prefix, ...name.segments], out, budget, count);
      }
    }
  }
}

type MutableTree = Map<string, MutableNode>;
type MutableNode = { kind: 'include' } | { kind: 'reshape'; expr: Expr } | { kind: 'nested'; children: MutableTree; computed: boolean };

function insert(tree: MutableTree, path: FieldPath, leaf: MutableNode): void {
  let node = tree;
  const name = path.segments.join('.');
  path.segments.forEach((s, i) => {
    const existing = node.get(s);
    if (i === path.segments.length - 1) {
      if (existing) throw invalid(`Projection path collision at [${name}]: the path is named twice, or with a path inside it`);
      node.set(s, leaf);
      return;
    }
    if (existing && existing.kind !== 'nested') throw invalid(`Projection path collision at [${name}]: a shorter path is named too`);
    const next: MutableNode = existing ?? { kind: 'nested', children: new Map(), computed: false };
    if (leaf.kind === 'reshape') next.computed = true;
    node.set(s, next);
    node = next.children;
  });
}

function parseProjection(raw: unknown, where: string, budget: ExpressionBudget): Stage {
  const o = asObject(raw, where);
  const flat: FlatProjection = { includes: [], reshapes: [], excludes: [] };
  flattenProjection(o.fields, where, [], flat, budget, { n: 0 });
  const isId = (p: FieldPath) => p.segments.length === 1 && p.segments[0] === '_id';
  if (flat.includes.length === 0 && flat.reshapes.length === 0) {
    if (flat.excludes.length === 0) throw invalid(`${where} must name at least one field`);
    const seen = new Set<string>();
    for (const p of flat.excludes) {
      const name = p.segments.join('.');
      if (seen.has(name)) throw invalid(`${where} excludes [${name}] twice`);
      seen.add(name);
    }
    return { kind: 'exclude', paths: flat.excludes };
  }
  // An inclusion keeps only what it names; the one field it may also exclude is `_id`.
  const stray = flat.excludes.find((p) => !isId(p));
  if (stray) throw invalid(`${where} cannot exclude [${stray.segments.join('.')}] while it includes or reshapes fields (only _id can be excluded then)`);
  const tree: MutableTree = new Map();
  for (const p of flat.includes) insert(tree, p, { kind: 'include' });
  for (const r of flat.reshapes) insert(tree, r.path, { kind: 'reshape', expr: r.expr });
  if (flat.excludes.length > 0 && tree.has('_id')) throw invalid(`${where} both keeps and excludes [_id]`);
  return { kind: 'include', tree: tree as ProjectionTree, keepId: flat.excludes.length === 0 };
}

// ---------------------------------------------------------------------------------------------
// Group

function parseGroup(raw: unknown, where: string, budget: ExpressionBudget): Stage {
  const o = asObject(raw, where);
  const rawIds = o.groupIds === undefined || o.groupIds === null ? [] : asArray(o.groupIds, `${where}.groupIds`);
  if (rawIds.length > PIPELINE_LIMITS.groupIds) throw invalid(`${where}.groupIds holds more than ${PIPELINE_LIMITS.groupIds} entries`);
  const keys = new Set<string>();
  const ids = rawIds.map((rawId, i) => {
    const w = `${where}.groupIds[${i}]`;
    const g = asObject(rawId, w);
    const key = fieldKey(g.key, `${w}.key`);
    if (keys.has(key)) throw invalid(`${w}.key [${key}] is used twice`);
    keys.add(key);
    return { key, expr: parseExpression(g.expression, `${w}.expression`, budget) };
  });
  const rawAccs = o.accumulators === undefined || o.accumulators === null ? [] : asArray(o.accumulators, `${where}.accumulators`);
  if (rawAccs.length > PIPELINE_LIMITS.accumulators) throw invalid(`${where}.accumulators holds more than ${PIPELINE_LIMITS.accumulators} entries`);
  const names = new Set<string>(['_id']);
  const accumulators = rawAccs.map((rawAcc, i): Accumulator => {
    const w = `${where}.accumulators[${i}]`;
    const a = asObject(rawAcc, w);
    const name = fieldKey(a.resultFieldName, `${w}.resultFieldName`);
    if (names.has(name)) throw invalid(`${w}.resultFieldName [${name}] is used twice, or is _id`);
    names.add(name);
    const op = theOneOf(a, ACCUMULATORS, w) as AccumulatorOp;
    const body = asObject(a[op], `${w}.${op}`);
    return { name, op, expr: parseExpression(body.expression, `${w}.${op}.expression`, budget) };
  });
  return { kind: 'group', ids, accumulators };
}

// ---------------------------------------------------------------------------------------------

function parseStage(raw: unknown, i: number, budget: ExpressionBudget): Stage {
  const where = `pipeline.stages[${i}]`;
  const o = asObject(raw, where);
  const kind = theOneOf(o, STAGE_KINDS, where);
  const v = o[kind];
  switch (kind) {
    case 'filter':
      if (!isPlainObject(v)) throw new WixError('WDE0016', `${where}.filter must be an object, got ${describe(v)}`);
      return { kind: 'filter', filter: parseFilter(v) };
    case 'sort': {
      const s = asObject(v, `${where}.sort`);
      const sort = parseSort(s.values ?? null);
      if (sort.length === 0) throw invalid(`${where}.sort.values must name at least one field`);
      return { kind: 'sort', sort };
    }
    case 'projection':
      return parseProjection(v, `${where}.projection`, budget);
    case 'group':
      return parseGroup(v, `${where}.group`, budget);
    case 'unwindArray': {
      const u = asObject(v, `${where}.unwindArray`);
      return { kind: 'unwind', path: parseFieldPath(u.arrayFieldName, `${where}.unwindArray.arrayFieldName`) };
    }
    case 'objectToArray': {
      const t = asObject(v, `${where}.objectToArray`);
      return {
        kind: 'objectToArray',
        from: parseFieldPath(t.objectFieldName, `${where}.objectToArray.objectFieldName`),
        to: parseFieldPath(t.destinationFieldName, `${where}.objectToArray.destinationFieldName`),
      };
    }
    default:
      return { kind: kind as 'skip' | 'limit', count: optionalInt(v, `${where}.${kind}`, 0, Number.MAX_SAFE_INTEGER) as number };
  }
}

/** The stages of a raw pipeline (`pipeline.stages`); none means the collection's items as they are. */
export function parseStages(raw: unknown): Stage[] {
  if (raw === undefined || raw === null) return [];
  const list = asArray(raw, 'pipeline.stages');
  if (list.length > PIPELINE_LIMITS.stages) throw invalid(`pipeline.stages holds more than ${PIPELINE_LIMITS.stages} stages`);
  const budget = new ExpressionBudget();
  return list.map((s, i) => parseStage(s, i, budget));
}

export type { ProjectionNode };
