/**
 * Search (`POST /items/search`, the client's `search()`): a query whose filter also asks for
 * text. The expression's terms (split at white space) are looked for, case-insensitively, in
 * every string anywhere in the item but its system fields; `mode` OR (the default) wants any
 * term, AND every term. It compiles to one more filter node (`search`, src/query/ast.ts), so
 * filter, sort, projection, paging, cursors and included references are the query's own.
 *
 * There is no relevance ranking and no typo tolerance: results come in the request's sort (else
 * the query's default), and `fuzzy` is accepted and changes nothing (docs/query-language.md).
 */
import { WixError } from '../errors.js';
import type { FilterNode } from '../query/ast.js';
import { foldCase } from '../query/fold.js';
import { describe, parseFilter } from '../query/parse.js';
import { asObject, oneOf, optionalBoolean, optionalObject } from '../validate.js';
import type { JsonObject } from '../wire/json.js';
import { planQuery, type QueryPlan } from './query.js';
import type { ItemScope } from './scope.js';

/** Wix's limit on a search expression. */
export const MAX_EXPRESSION = 100;

/**
 * The filter of a search: the request's `filter` and its `search` details, as one node. This is
 * what a search cursor's filter slot holds, so a follow-up page searches for the same text.
 */
export function searchFilter(raw: unknown): FilterNode {
  const slot = raw === undefined || raw === null ? {} : asObject(raw, 'search');
  const filter = parseFilter(slot.filter);
  const details = optionalObject(slot.search, 'search.search');
  const expression = details?.expression ?? null;
  if (expression !== null && typeof expression !== 'string') throw new WixError('WDE0080', `search.search.expression must be a string, got ${describe(expression)}`);
  if (expression !== null && [...expression].length > MAX_EXPRESSION) throw new WixError('WDE0080', `search.search.expression may hold at most ${MAX_EXPRESSION} characters`);
  const mode = oneOf(details?.mode, ['OR', 'AND'] as const, 'search.search.mode', 'OR');
  optionalBoolean(details?.fuzzy, 'search.search.fuzzy');
  const terms = [...new Set((expression ?? '').split(/\s+/u).filter((t) => t.length > 0).map(foldCase))];
  if (terms.length === 0) return filter;
  const text: FilterNode = { kind: 'search', terms, mode };
  return filter.kind === 'true' ? text : { kind: 'and', children: [filter, text] };
}

/**
 * Reads a search request (`{search: {filter, sort, fields, search: {expression, mode, fuzzy},
 * paging | cursorPaging}}`) as a query of kind `search` whose filter slot carries the filter and
 * the search details together.
 */
export function planSearch(p: JsonObject, scope: ItemScope): QueryPlan {
  const s = p.search === undefined || p.search === null ? {} : asObject(p.search, 'search');
  const query: JsonObject = { filter: { filter: s.filter ?? null, search: s.search ?? null } };
  for (const key of ['sort', 'fields', 'paging', 'cursorPaging'] as const) if (s[key] !== undefined) query[key] = s[key];
  return planQuery(query, p.returnTotalCount, scope, 'search');
}
