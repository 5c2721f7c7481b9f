/**
 * The filter AST. A Wix filter is parsed once (parse.ts) into these small readonly nodes; the
 * same tree is compiled to SQL for each dialect (compile.ts) and evaluated in JS (evaluate.ts),
 * which is the oracle the property tests hold the stores to.
 *
 * Glossary
 * - field: a dot path into an item. System fields (_id, _createdDate, _updatedDate, _owner) live
 *   in columns as well as in the item JSON; user fields only in the JSON.
 * - scalar: a string, number, boolean or date. Dates are `{$date}` on the wire and their
 *   normalised ISO string here.
 * - element match: a scalar condition holds for a field whose value is that scalar, or an array
 *   with at least one element that is.
 *
 * Every operator of the Wix query language lowers to one of these kinds ($ne -> not(eq),
 * $nin -> not(in), $hasSome -> in, $hasAll -> and(eq...), $exists -> not(isNull), ...).
 */

export type ScalarType = 'string' | 'number' | 'boolean' | 'date';

export type Scalar =
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'number'; readonly value: number }
  | { readonly type: 'boolean'; readonly value: boolean }
  | { readonly type: 'date'; readonly value: string };

/** Scalars that order: booleans have no order in the Wix language. */
export type OrderedScalar = Exclude<Scalar, { type: 'boolean' }>;

export interface FieldPath {
  /** Validated segments; see parse.ts for what a segment may hold. */
  readonly segments: readonly string[];
}

export type CompareOp = 'gt' | 'gte' | 'lt' | 'lte';
export type StringOp = 'startsWith' | 'endsWith' | 'contains';

/**
 * A part of a `$matches` pattern: literal text, or one character of a set. Every part has a
 * fixed length in code points, so a pattern matches a string of one length only and is checked
 * part by part at fixed places, with no backtracking (the same on every store).
 */
export type PatternPart = { readonly literal: string } | { readonly oneOf: string };

export type FilterNode =
  | { readonly kind: 'true' }
  | { readonly kind: 'false' }
  | { readonly kind: 'and'; readonly children: readonly FilterNode[] }
  | { readonly kind: 'or'; readonly children: readonly FilterNode[] }
  | { readonly kind: 'not'; readonly child: FilterNode }
  /** Element match: the value, or an element of the array, equals the scalar (same type). */
  | { readonly kind: 'eq'; readonly field: FieldPath; readonly value: Scalar }
  /** Exact equality with an array or object (object key order does not matter). */
  | { readonly kind: 'eqJson'; readonly field: FieldPath; readonly json: string }
  /** Element match against any of the scalars. Never empty (normalised to false). */
  | { readonly kind: 'in'; readonly field: FieldPath; readonly values: readonly Scalar[] }
  /** Element match of an ordered comparison with a scalar of the same type. */
  | { readonly kind: 'cmp'; readonly field: FieldPath; readonly op: CompareOp; readonly value: OrderedScalar }
  /** Element match of a case-insensitive string test; value is already lower-cased. */
  | { readonly kind: 'str'; readonly field: FieldPath; readonly op: StringOp; readonly value: string }
  /**
   * Element match of a whole string against a pattern (`$matches`, `$urlized`): the parts in
   * order, nothing before or after. With `ignoreCase` the string is lower-cased as for `str`, and
   * the parts are already.
   */
  | { readonly kind: 'pattern'; readonly field: FieldPath; readonly parts: readonly PatternPart[]; readonly ignoreCase: boolean }
  /** The field is missing or null. */
  | { readonly kind: 'isNull'; readonly field: FieldPath }
  /** The field is missing, null, an empty string or an empty array. */
  | { readonly kind: 'isEmpty'; readonly field: FieldPath }
  /**
   * Text search (`POST /items/search`, src/items/search.ts): some string anywhere in the item but
   * its system fields contains a term (case-insensitively; terms already folded), any term (OR)
   * or every term (AND). Never empty. Only the search endpoint makes this node.
   */
  | { readonly kind: 'search'; readonly terms: readonly string[]; readonly mode: 'AND' | 'OR' };

export type FilterKind = FilterNode['kind'];
export type NodeOf<K extends FilterKind> = Extract<FilterNode, { kind: K }>;

export const TRUE: FilterNode = Object.freeze({ kind: 'true' });
export const FALSE: FilterNode = Object.freeze({ kind: 'false' });

export interface SortSpec {
  readonly field: FieldPath;
  readonly order: 'ASC' | 'DESC';
}

export const SYSTEM_FIELDS = ['_id', '_createdDate', '_updatedDate', '_owner'] as const;
export type SystemField = (typeof SYSTEM_FIELDS)[number];

export function systemFieldOf(path: FieldPath): SystemField | undefined {
  if (path.segments.length !== 1) return undefined;
  const s = path.segments[0] as string;
  return (SYSTEM_FIELDS as readonly string[]).includes(s) ? (s as SystemField) : undefined;
}

export const fieldName = (path: FieldPath): string => path.segments.join('.');
