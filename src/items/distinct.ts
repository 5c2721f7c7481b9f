/**
 * Distinct values of one field (`POST /items/query-distinct-values`, the SDK's `distinct()`): each
 * value the matching items hold at `fieldName`, once, in the query language's sort order (nulls
 * and missing values left out). Deduplication, ordering and paging all happen in SQL.
 *
 * The values are read as a derived table shaped like `items`: `id` is the value's canonical JSON
 * text (unique per value, and the final tie-break), `data` the object `{"v": value}`. Sorting on
 * the field `v` then gives the same sort terms, keyset cursors and paging as a query, through
 * ItemReader's one page reader.
 */
import { WixError } from '../errors.js';
import { checkedSegments, PostgresFilterCompiler, SqliteFilterCompiler } from '../query/compile.js';
import { fieldName, type SortSpec } from '../query/ast.js';
import { parseFieldPath } from '../query/parse.js';
import type { Dialect, Sql } from '../store/sql.js';
import { sql } from '../store/sql.js';
import { canonicalise, type JsonObject, type JsonValue } from '../wire/json.js';
import { planQuery, rootPaging, type QueryPlan } from './query.js';
import type { ItemScope } from './scope.js';

/** The field of the derived table's `data` that holds the value. */
const VALUE_FIELD = { segments: ['v'] } as const;

/**
 * Reads a distinct-values request. Its paging sits at the root beside `fieldName`, `filter` and
 * `order`; a cursor carries all of them (the SDK's follow-up sends only `cursorPaging`), so the
 * request is recast as a query (`fields` the one field, `sort` the one order) and planned, and its
 * cursors checked, as queries are.
 */
export function planDistinct(p: JsonObject, scope: ItemScope): QueryPlan {
  const { query, resumes } = rootPaging(p);
  if (!resumes) {
    const field = parseFieldPath(p.fieldName, 'fieldName');
    query.fields = [fieldName(field)];
    query.sort = [{ fieldName: fieldName(field), order: p.order === undefined || p.order === null ? 'ASC' : p.order }] as JsonValue;
    if (p.filter !== undefined) query.filter = p.filter;
  }
  const plan = planQuery(query, p.returnTotalCount, scope, 'distinct');
  const [field] = plan.fields;
  const [order] = plan.sort;
  if (plan.fields.length !== 1 || plan.sort.length !== 1 || !field || !order || fieldName(order.field) !== fieldName(field)) {
    throw new WixError('WDE0165', 'Invalid cursor');
  }
  return plan;
}

/**
 * The derived table of the plan's distinct values among the rows `where` selects, and the sort
 * that orders it. Values of one type order by value; objects and arrays (one rank, as in a
 * query's sort) by their JSON text, which differs between the stores (docs/query-language.md).
 */
export function distinctSource(dialect: Dialect, plan: QueryPlan, where: Sql): { source: Sql; sort: SortSpec[] } {
  const segments = checkedSegments(plan.fields[0] as QueryPlan['fields'][number]);
  const sort: SortSpec[] = [{ field: VALUE_FIELD, order: (plan.sort[0] as SortSpec).order }];
  if (dialect === 'sqlite') {
    const path = SqliteFilterCompiler.path(segments);
    // cairn_canon gives one text per value whatever its spelling in the stored JSON (escapes,
    // number forms, key order), so DISTINCT compares values, not spellings.
    return {
      source: sql`SELECT id, json_object('v', json(id)) AS data FROM (SELECT DISTINCT cairn_canon(data -> ${path}) AS id FROM items WHERE ${where} AND json_type(data, ${path}) <> 'null') AS dv`,
      sort,
    };
  }
  const value = PostgresFilterCompiler.path(segments);
  // jsonb equality compares values (numbers numerically, objects whatever their key order).
  return {
    source: sql`SELECT v::text COLLATE "C" AS id, jsonb_build_object('v', v) AS data FROM (SELECT DISTINCT ${value} AS v FROM items WHERE ${where} AND jsonb_typeof(${value}) <> 'null') AS dv`,
    sort,
  };
}

/** A row's value as the reply carries it (object keys in canonical order, as items' are). */
export function distinctValue(text: string): JsonValue {
  return canonicalise(JSON.parse(text) as JsonValue);
}
