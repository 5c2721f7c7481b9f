/**
 * The aggregation pipeline (`POST /items/aggregate-pipeline`, the SDK's `items.aggregate(id,
 * pipeline)` and `aggregatePipeline`), parsed once (parse.ts) into these nodes, compiled to SQL
 * per dialect (compile.ts) and evaluated in JS (evaluate.ts), the oracle the differential tests
 * hold both stores to. docs/aggregation-pipeline.md gives the semantics.
 *
 * Glossary
 * - document: what flows between stages, a JSON object. The first stage reads the collection's
 *   items in their wire form (system fields included); a group or a projection makes new ones.
 * - value: what an expression yields: a JSON value, or missing (a field that is not there). A
 *   projection leaves out fields whose value is missing.
 */
import type { FieldPath, FilterNode, SortSpec } from '../ast.js';

/** Operations of any number of operands (at least one). `sum` is `add` under another name. */
export type NaryOp = 'add' | 'multiply' | 'concat';
export type BinaryOp = 'subtract' | 'divide' | 'mod';
export type UnaryOp = 'abs' | 'floor' | 'ceil' | 'stringify' | 'toLower' | 'toUpper' | 'length';

export type Expr =
  | { readonly kind: 'field'; readonly path: FieldPath }
  | { readonly kind: 'text'; readonly value: string }
  | { readonly kind: 'numeric'; readonly value: number }
  | { readonly kind: 'nary'; readonly op: NaryOp; readonly args: readonly Expr[] }
  | { readonly kind: 'binary'; readonly op: BinaryOp; readonly left: Expr; readonly right: Expr }
  | { readonly kind: 'unary'; readonly op: UnaryOp; readonly arg: Expr }
  | { readonly kind: 'substring'; readonly arg: Expr; readonly start: Expr; readonly length: Expr };

export type AccumulatorOp = 'sum' | 'avg' | 'min' | 'max' | 'first' | 'last' | 'push';

export interface Accumulator {
  readonly name: string;
  readonly op: AccumulatorOp;
  readonly expr: Expr;
}

/**
 * An inclusion projection as a tree of result paths: a leaf either copies the source field at
 * its path (`include`) or holds an expression's value (`reshape`).
 */
export type ProjectionTree = ReadonlyMap<string, ProjectionNode>;
export type ProjectionNode =
  | { readonly kind: 'include' }
  | { readonly kind: 'reshape'; readonly expr: Expr }
  | { readonly kind: 'nested'; readonly children: ProjectionTree; readonly computed: boolean };

export type Stage =
  | { readonly kind: 'filter'; readonly filter: FilterNode }
  | { readonly kind: 'sort'; readonly sort: readonly SortSpec[] }
  /** Keeps `_id` (unless `keepId` is false) and what the tree says; nothing else. */
  | { readonly kind: 'include'; readonly tree: ProjectionTree; readonly keepId: boolean }
  /** Everything but the paths. */
  | { readonly kind: 'exclude'; readonly paths: readonly FieldPath[] }
  | { readonly kind: 'group'; readonly ids: readonly { readonly key: string; readonly expr: Expr }[]; readonly accumulators: readonly Accumulator[] }
  | { readonly kind: 'unwind'; readonly path: FieldPath }
  | { readonly kind: 'objectToArray'; readonly from: FieldPath; readonly to: FieldPath }
  | { readonly kind: 'skip'; readonly count: number }
  | { readonly kind: 'limit'; readonly count: number };

export type StageOf<K extends Stage['kind']> = Extract<Stage, { kind: K }>;
