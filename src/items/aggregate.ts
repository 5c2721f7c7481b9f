/**
 * Aggregation (`POST /items/aggregate`, the SDK's `items.aggregate(..).group(..).sum(..).run()`):
 * the matching items (`initialFilter`) in groups of equal values of the grouping fields, one
 * result per group holding the group's values and each operation's result (`sum`, `average`,
 * `min`, `max`, `itemCount`), then `finalFilter`, `sort` and paging over those results. All of it
 * is one SQL statement per page.
 *
 * The results are read as a derived table shaped like `items`: `id` is the group's key (the JSON
 * text of its values, unique per group) and `data` the result object, so the query language's
 * filter compiler, sort terms, keyset cursors and page reader apply to it unchanged.
 */
import { WixError } from '../errors.js';
import { checkedSegments, compilerFor, PostgresFilterCompiler, SqliteFilterCompiler } from '../query/compile.js';
import { fieldName, systemFieldOf, type FieldPath, type FilterNode, type SortSpec } from '../query/ast.js';
import { describe, parseFieldPath, parseFilter } from '../query/parse.js';
import { join, raw, sql, type Dialect, type Sql } from '../store/sql.js';
import { asObject } from '../validate.js';
import { canonicalise, isPlainObject, type JsonObject, type JsonValue } from '../wire/json.js';
import { planQuery, rootPaging, type QueryPlan } from './query.js';
import type { ItemScope } from './scope.js';

export type AggregateKind = 'sum' | 'average' | 'min' | 'max' | 'itemCount';

export interface AggregateOperation {
  /** The result field that holds it. */
  readonly name: string;
  readonly kind: AggregateKind;
  /** The item field it reads (none for itemCount). */
  readonly field?: FieldPath;
}

export interface AggregatePlan {
  /** Filter (`initialFilter`), sort and paging, planned and carried in cursors as a query's. */
  readonly plan: QueryPlan;
  readonly groups: readonly FieldPath[];
  readonly operations: readonly AggregateOperation[];
  readonly finalFilter: FilterNode;
}

const KINDS: readonly AggregateKind[] = ['sum', 'average', 'min', 'max', 'itemCount'];
export const AGGREGATE_LIMITS = { groupingFields: 10, operations: 100 } as const;

const invalid = (message: string): WixError => new WixError('WDE0080', message);

/**
 * Reads an aggregation request. A cursor carries everything (the SDK's follow-up sends only
 * `cursorPaging`): `initialFilter` and `sort` travel as a query's filter and sort, and the
 * aggregation and `finalFilter` in the cursor's `fields` slot, parsed again on every page.
 */
export function planAggregate(p: JsonObject, scope: ItemScope): AggregatePlan {
  const { query, resumes } = rootPaging(p);
  if (!resumes) {
    if (p.initialFilter !== undefined) query.filter = p.initialFilter;
    if (p.sort !== undefined) query.sort = p.sort;
    query.fields = { aggregation: p.aggregation ?? null, finalFilter: p.finalFilter ?? null };
  }
  const plan = planQuery(query, p.returnTotalCount, scope, 'aggregate');
  const carried = plan.raw.fields;
  if (!isPlainObject(carried)) throw new WixError('WDE0165', 'Invalid cursor');
  const { groups, operations } = parseAggregation(carried.aggregation);
  const finalFilter = parseFilter(carried.finalFilter);
  // finalFilter and sort read the results, which hold only the grouping and result fields.
  const known = new Set([...groups.map((g) => g.segments[0] as string), ...operations.map((o) => o.name)]);
  const check = (path: FieldPath, what: string) => {
    if (!known.has(path.segments[0] as string)) {
      throw invalid(`${what} [${fieldName(path)}] is neither a grouping field nor a result field of the aggregation`);
    }
  };
  for (const f of filterFields(finalFilter)) check(f, 'finalFilter field');
  for (const s of plan.sort) check(s.field, 'sort field');
  return { plan, groups, operations, finalFilter };
}

function parseAggregation(raw: unknown): { groups: FieldPath[]; operations: AggregateOperation[] } {
  const a = raw === undefined || raw === null ? {} : asObject(raw, 'aggregation');
  const rawGroups = a.groupingFields ?? [];
  if (!Array.isArray(rawGroups)) throw invalid(`aggregation.groupingFields must be an array, got ${describe(rawGroups)}`);
  if (rawGroups.length > AGGREGATE_LIMITS.groupingFields) throw invalid(`aggregation.groupingFields holds more than ${AGGREGATE_LIMITS.groupingFields} fields`);
  const groups = rawGroups.map((g) => parseFieldPath(g, 'grouping field'));
  groups.forEach((g, i) => {
    if (systemFieldOf(g)) throw invalid(`Cannot group by the system field [${fieldName(g)}]`);
    for (const other of groups.slice(0, i)) {
      const [shorter, longer] = other.segments.length <= g.segments.length ? [other, g] : [g, other];
      if (shorter.segments.every((s, j) => longer.segments[j] === s)) {
        throw invalid(`Grouping fields [${fieldName(other)}] and [${fieldName(g)}] overlap`);
      }
    }
  });
  const rawOps = a.operations ?? [];
  if (!Array.isArray(rawOps)) throw invalid(`aggregation.operations must be an array, got ${describe(rawOps)}`);
  if (rawOps.length > AGGREGATE_LIMITS.operations) throw invalid(`aggregation.operations holds more than ${AGGREGATE_LIMITS.operations} operations`);
  const taken = new Set(groups.map((g) => g.segments[0] as string));
  const operations = rawOps.map((rawOp, i): AggregateOperation => {
    const op = asObject(rawOp, `aggregation.operations[${i}]`);
    const name = parseFieldPath(op.resultFieldName, 'resultFieldName');
    const n = name.segments[0] as string;
    if (name.segments.length !== 1 || n.startsWith('_')) {
      throw invalid(`resultFieldName [${fieldName(name)}] must be one field name that does not start with "_"`);
    }
    if (taken.has(n)) throw invalid(`resultFieldName [${n}] is used twice, or is a grouping field`);
    taken.add(n);
    const given = KINDS.filter((k) => op[k] !== undefined && op[k] !== null);
    if (given.length !== 1) throw invalid(`aggregation.operations[${i}] must have exactly one of ${KINDS.join(', ')}`);
    const kind = given[0] as AggregateKind;
    const options = asObject(op[kind], `aggregation.operations[${i}].${kind}`);
    if (kind === 'itemCount') return { name: n, kind };
    return { name: n, kind, field: parseFieldPath(options.itemFieldName, `aggregation.operations[${i}].${kind}.itemFieldName`) };
  });
  return { groups, operations };
}

/** Every field a filter names. */
function filterFields(node: FilterNode): FieldPath[] {
  switch (node.kind) {
    case 'true':
    case 'false':
      return [];
    case 'and':
    case 'or':
      return node.children.flatMap(filterFields);
    case 'not':
      return filterFields(node.child);
    case 'search':
      return [];
    default:
      return [node.field];
  }
}

/** A tree of the grouping paths (`a.b`, `a.c`, `d` -> {a: {b, c}, d}), leaves the group's value index. */
type PathTree = Map<string, PathTree | number>;

function pathTree(groups: readonly FieldPath[]): PathTree {
  const root: PathTree = new Map();
  groups.forEach((g, index) => {
    let node = root;
    g.segments.forEach((s, i) => {
      if (i === g.segments.length - 1) node.set(s, index);
      else {
        let next = node.get(s);
        if (!(next instanceof Map)) node.set(s, (next = new Map()));
        node = next;
      }
    });
  });
  return root;
}

/** Dialect pieces of the aggregation statement. */
interface Flavour {
  /** An item field's value as JSON (SQLite: canonical JSON text; PostgreSQL: jsonb); 'null' when missing. */
  groupValue(segments: readonly string[]): Sql;
  /** A JSON object of keys and JSON values. */
  object(entries: readonly (readonly [string, Sql])[]): Sql;
  /** A group value (a column of the inner select) as a JSON value inside `object`. */
  asJson(column: Sql): Sql;
  /** The group's key text, from its values. */
  key(columns: readonly Sql[]): Sql;
  sum(segments: readonly string[]): Sql;
  average(segments: readonly string[]): Sql;
  /** A field's value as JSON for min/max (NULL when missing or null). */
  value(segments: readonly string[]): Sql;
  isMissing(segments: readonly string[]): Sql;
  /** The tie-break among equal sort values (arrays and objects): the value's JSON text. */
  valueText(segments: readonly string[]): Sql;
}

/**
 * Key-value pairs per object-building call: PostgreSQL takes at most 100 arguments a function,
 * SQLite 127 by default; larger objects are built in parts.
 */
const PAIRS_PER_CALL = 40;

function chunks<T>(list: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += PAIRS_PER_CALL) out.push(list.slice(i, i + PAIRS_PER_CALL));
  return out.length ? out : [[]];
}

/**
 * A JSON object of keys and values (SQLite: JSON-subtyped or plain SQL values; PostgreSQL:
 * jsonb), built in parts past PAIRS_PER_CALL pairs. SQLite adds the later parts with json_set,
 * not json_patch: a merge patch would drop null values.
 */
export function jsonObjectSql(dialect: Dialect, entries: readonly (readonly [string, Sql])[]): Sql {
  if (dialect === 'postgres') return join(chunks(entries).map((part) => sql`jsonb_build_object(${join(part.map(([k, v]) => sql`${k}::text, ${v}`), ', ')})`), ' || ');
  return chunks(entries).reduce<Sql | undefined>(
    (acc, part) =>
      acc === undefined
        ? sql`json_object(${join(part.map(([k, v]) => sql`${k}, ${v}`), ', ')})`
        : sql`json_set(${acc}, ${join(part.map(([k, v]) => sql`${`$."${k}"`}, ${v}`), ', ')})`,
    undefined,
  ) as Sql;
}

const SQLITE: Flavour = {
  groupValue: (s) => sql`COALESCE(cairn_canon(data -> ${SqliteFilterCompiler.path(s)}), 'null')`,
  object: (entries) => jsonObjectSql('sqlite', entries),
  asJson: (c) => sql`json(${c})`,
  key: (cols) => sql`json_array(${join(cols.map((c) => sql`json(${c})`), ', ')})`,
  sum: (s) => sql`total(CASE WHEN json_type(data, ${SqliteFilterCompiler.path(s)}) IN ('integer', 'real') THEN json_extract(data, ${SqliteFilterCompiler.path(s)}) END)`,
  average: (s) => sql`avg(CASE WHEN json_type(data, ${SqliteFilterCompiler.path(s)}) IN ('integer', 'real') THEN json_extract(data, ${SqliteFilterCompiler.path(s)}) END)`,
  value: (s) => sql`cairn_canon(data -> ${SqliteFilterCompiler.path(s)})`,
  isMissing: (s) => sql`COALESCE(json_type(data, ${SqliteFilterCompiler.path(s)}), 'null') = 'null'`,
  valueText: (s) => sql`cairn_canon(data -> ${SqliteFilterCompiler.path(s)})`,
};

const POSTGRES: Flavour = {
  groupValue: (s) => sql`COALESCE(${PostgresFilterCompiler.path(s)}, 'null'::jsonb)`,
  object: (entries) => jsonObjectSql('postgres', entries),
  asJson: (c) => c,
  key: (cols) => sql`jsonb_build_array(${join(cols, ', ')})::text COLLATE "C"`,
  sum: (s) => {
    const x = PostgresFilterCompiler.path(s);
    return sql`COALESCE(sum((${x})::numeric) FILTER (WHERE jsonb_typeof(${x}) = 'number'), 0)`;
  },
  average: (s) => {
    const x = PostgresFilterCompiler.path(s);
    return sql`avg((${x})::numeric) FILTER (WHERE jsonb_typeof(${x}) = 'number')`;
  },
  value: (s) => sql`${PostgresFilterCompiler.path(s)}`,
  isMissing: (s) => {
    const x = PostgresFilterCompiler.path(s);
    return sql`(${x} IS NULL OR ${x} = 'null'::jsonb)`;
  },
  valueText: (s) => sql`(${PostgresFilterCompiler.path(s)})::text COLLATE "C"`,
};

/**
 * The derived table of the plan's results among the rows `where` selects (columns `id`, `data`),
 * the WHERE of its finalFilter, and the sort that orders it: the request's sort, then the
 * grouping fields ascending (so groups that tie on the sort keep one order on both stores), then
 * `id`.
 *
 * min and max follow the query language's sort order (docs/query-language.md, Sort), missing and
 * null values left out: each is a window `first_value` over the group's rows in that order
 * (descending for max), read once per group. sum and average take numbers only.
 */
export function aggregateSource(dialect: Dialect, a: AggregatePlan, where: Sql): { source: Sql; finalWhere: Sql | undefined; sort: SortSpec[] } {
  const f = dialect === 'sqlite' ? SQLITE : POSTGRES;
  const compiler = compilerFor(dialect);
  const groupSegments = a.groups.map((g) => checkedSegments(g));
  const groupValue = (i: number) => raw(`g${i}`);
  // Each row's group values are computed once, below the windows that partition by them. The
  // columns a system field's sort terms read (min or max of `_createdDate`, say) come along.
  const rows = sql`SELECT ${join([...groupSegments.map((s, i) => sql`${f.groupValue(s)} AS ${groupValue(i)}`), raw('data, id, created_date, updated_date, owner')], ', ')} FROM items WHERE ${where}`;
  const partition = groupSegments.length ? sql`PARTITION BY ${join(groupSegments.map((_, i) => groupValue(i)), ', ')} ` : sql``;
  const inner: Sql[] = [...groupSegments.map((_, i) => groupValue(i)), raw('data')];
  a.operations.forEach((op, i) => {
    if (op.kind !== 'min' && op.kind !== 'max') return;
    const segments = checkedSegments(op.field as FieldPath);
    // The field's own sort terms (rank, then value), without the `id` tie-break that ends them,
    // unless the field is `_id` itself (its one term is that column).
    const all = compiler.orderTerms([{ field: op.field as FieldPath, order: op.kind === 'min' ? 'ASC' : 'DESC' }]);
    const terms = systemFieldOf(op.field as FieldPath) === '_id' ? all : all.slice(0, -1);
    const order = join([sql`CASE WHEN ${f.isMissing(segments)} THEN 1 ELSE 0 END`, compiler.renderOrder(terms), f.valueText(segments)], ', ');
    inner.push(sql`first_value(${f.value(segments)}) OVER (${partition}ORDER BY ${order}) AS ${raw(`m${i}`)}`);
  });
  const treeSql = (tree: PathTree): Sql =>
    f.object([...tree].map(([k, v]) => [k, v instanceof Map ? treeSql(v) : f.asJson(groupValue(v))] as const));
  const entries: (readonly [string, Sql])[] = [
    ['_id', a.groups.length ? f.object(a.groups.map((path, i) => [fieldName(path), f.asJson(groupValue(i))] as const)) : raw('NULL')],
    ...[...pathTree(a.groups)].map(([k, v]) => [k, v instanceof Map ? treeSql(v) : f.asJson(groupValue(v))] as const),
  ];
  a.operations.forEach((op, i) => {
    const segments = op.field ? checkedSegments(op.field) : [];
    switch (op.kind) {
      case 'itemCount':
        entries.push([op.name, raw('count(*)')]);
        break;
      case 'sum':
        entries.push([op.name, f.sum(segments)]);
        break;
      case 'average':
        entries.push([op.name, f.average(segments)]);
        break;
      default:
        // Every row of the group holds the same first_value; PostgreSQL has no min() of jsonb.
        entries.push([op.name, dialect === 'sqlite' ? sql`json(min(${raw(`m${i}`)}))` : sql`(array_agg(${raw(`m${i}`)}))[1]`]);
    }
  });
  // Without grouping fields the matching items are one group, and with no matching item there is
  // no group: grouping by a constant expression gives no row for no input, as grouping by fields
  // does (an aggregate without GROUP BY would answer one row of empty results).
  const groupBy = a.groups.length ? join(a.groups.map((_, i) => groupValue(i)), ', ') : raw('(1 = 1)');
  const key = a.groups.length ? f.key(a.groups.map((_, i) => groupValue(i))) : sql`'[]'`;
  const grouped = sql`SELECT ${key} AS id, ${f.object(entries)} AS data FROM (SELECT ${join(inner, ', ')} FROM (${rows}) AS it) AS ag GROUP BY ${groupBy}`;
  const finalWhere = a.finalFilter.kind === 'true' ? undefined : compiler.compile(a.finalFilter);
  const sort: SortSpec[] = [...a.plan.sort, ...a.groups.map((field) => ({ field, order: 'ASC' as const }))];
  return { source: grouped, finalWhere, sort };
}

/** A row's result as the reply carries it (object keys in canonical order, as items' are). */
export function aggregateResult(data: string): JsonValue {
  return canonicalise(JSON.parse(data) as JsonValue);
}
