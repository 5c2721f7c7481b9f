/**
 * Pipeline stages -> one SQL statement per dialect. Each stage is a derived table over the one
 * before with two columns: `data`, the document (JSON text on SQLite, jsonb on PostgreSQL), and
 * `ord`, its place in the stage's order (unique). The first reads the collection's items in the
 * default order; the page is read from the last in `ord` order.
 *
 * An expression compiles to the same kind of JSON value, or to SQL NULL for missing. Each SQL
 * fragment names the previous stage's `data` column at most once per operand, so SQL grows
 * linearly with the pipeline: where a value would be needed twice, a stage is split in two.
 *
 * SQLite: operators are a function registered in JS (`cairn_px`, src/store/sqlite/db.ts) that
 * calls the evaluator's own code.
 * PostgreSQL: plain SQL and the small SQL functions of migrations 14 and 15 (`cairn_num`, `cairn_str`,
 * `cairn_stringify`, `cairn_substr`, `cairn_mod`).
 */
import { jsonObjectSql } from '../../items/aggregate.js';
import { join, raw, sql, type Dialect, type Sql } from '../../store/sql.js';
import type { FieldPath } from '../ast.js';
import { checkedSegments, compilerFor, PostgresFilterCompiler, SqliteFilterCompiler } from '../compile.js';
import type { Accumulator, Expr, ProjectionTree, Stage, StageOf } from './ast.js';

/** Paths per json_remove call (SQLite passes at most 127 arguments to a function by default). */
const PATHS_PER_CALL = 100;

/** An entry of a built object: its key, its value, and when it may be missing, the SQL that says it is. */
type Entry = readonly [key: string, value: Sql, missing?: Sql];

interface Flavour {
  /** The value at a path of the current `data` (NULL when missing or when the path crosses a non-object). */
  valueAt(segments: readonly string[]): Sql;
  /** Whether the value at a path is an object, and not a date (`{$date}` stands for a scalar). */
  isObjectAt(segments: readonly string[]): Sql;
  /** A value as an element of JSON built by the dialect's JSON functions. */
  embed(value: Sql): Sql;
  /** Whether the value at a path is missing (NULL), for `Entry`'s third part. */
  isMissingAt(segments: readonly string[]): Sql;
  /** An object of the entries, those whose `missing` holds left out. */
  object(entries: readonly Entry[]): Sql;
  expression(e: Expr, self: Flavour): Sql;
  /** `data` with the value set at a path, each level on the way made an object. */
  setPath(segments: readonly string[], value: Sql): Sql;
  /** The array of `{k, v}` of an object value at a path (keys in code point order), else JSON null. */
  entriesAt(segments: readonly string[]): Sql;
  /** A value's group key: equal for equal JSON values; missing groups with null. */
  groupKey(value: Sql): Sql;
  /** Whether a value is missing or JSON null. */
  isNullValue(value: Sql): Sql;
  sum(value: Sql): Sql;
  avg(value: Sql): Sql;
  push(value: Sql): Sql;
  /** The value of a window column read back in the grouped select (every row of a group holds the same). */
  windowed(column: Sql): Sql;
  /** A JSON null. */
  readonly nullValue: Sql;
}

const sqlitePath = (segments: readonly string[]): Sql => SqliteFilterCompiler.path(segments);
const pgPath = (segments: readonly string[]): Sql => raw(`'{${segments.join(',')}}'`);

/** SQLite's json_each value column holds SQL values; this gives the element back as JSON. */
const EACH_VALUE = raw(`(CASE je.type WHEN 'object' THEN json(je.value) WHEN 'array' THEN json(je.value) WHEN 'true' THEN json('true') WHEN 'false' THEN json('false') WHEN 'null' THEN json('null') ELSE json_quote(je.value) END)`);

const SQLITE: Flavour = {
  valueAt: (s) => (s.length ? sql`(data -> ${sqlitePath(s)})` : raw('data')),
  isObjectAt: (s) => sql`(json_type(data, ${sqlitePath(s)}) = 'object' AND json_type(data, ${SqliteFilterCompiler.path(s, '."$date"')}) IS NOT 'text')`,
  embed: (v) => sql`json(${v})`,
  isMissingAt: (s) => sql`json_type(data, ${sqlitePath(s)}) IS NULL`,
  // json_object writes a missing value as null; json_remove then takes those keys out (a path
  // that matches nothing, an array index on an object, stands for the entries that stay).
  object: (entries) => {
    let out = jsonObjectSql('sqlite', entries.map(([k, v]) => [k, sql`json(${v})`] as const));
    const removals = entries.filter((e) => e[2] !== undefined).map(([k, , missing]) => sql`CASE WHEN ${missing as Sql} THEN ${`$."${k}"`} ELSE '$[0]' END`);
    for (let i = 0; i < removals.length; i += PATHS_PER_CALL) out = sql`json_remove(${join([out, ...removals.slice(i, i + PATHS_PER_CALL)], ', ')})`;
    return out;
  },
  expression: (e, f) => {
    const op = (name: string, args: readonly Expr[]) => sql`cairn_px(${join([sql`${name}`, ...args.map((a) => f.expression(a, f))], ', ')})`;
    switch (e.kind) {
      case 'field':
        return f.valueAt(checkedSegments(e.path));
      case 'text':
      case 'numeric':
        // Bound as JSON text, the form every value takes here.
        return sql`${JSON.stringify(e.value)}`;
      case 'nary':
        return op(e.op, e.args);
      case 'binary':
        return op(e.op, [e.left, e.right]);
      case 'unary':
        return op(e.op, [e.arg]);
      case 'substring':
        return op('substring', [e.arg, e.start, e.length]);
    }
  },
  setPath: (segments, value) => {
    const at = (prefix: readonly string[]): Sql =>
      prefix.length ? sql`(CASE WHEN ${SQLITE.isObjectAt(prefix)} THEN data -> ${sqlitePath(prefix)} ELSE '{}' END)` : raw('data');
    const set = (prefix: readonly string[], rest: readonly string[]): Sql => {
      const [s, ...more] = rest as [string, ...string[]];
      const v = more.length ? set([...prefix, s], more) : value;
      return sql`json_set(${at(prefix)}, ${sqlitePath([s])}, json(${v}))`;
    };
    return set([], segments);
  },
  entriesAt: (s) => {
    const p = sqlitePath(s);
    return sql`(CASE WHEN ${SQLITE.isObjectAt(s)} THEN (SELECT json_group_array(json_object('k', je.key, 'v', ${EACH_VALUE}) ORDER BY je.key) FROM json_each(data, ${p}) AS je) ELSE 'null' END)`;
  },
  // Strings and integers, the usual group values, have one JSON text each without a call to JS.
  groupKey: (v) =>
    sql`COALESCE(CASE json_type(${v}) WHEN 'text' THEN json_quote(${v} ->> '$') WHEN 'integer' THEN json_quote(${v} ->> '$') WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE cairn_canon(${v}) END, 'null')`,
  isNullValue: (v) => sql`COALESCE(json_type(${v}), 'null') = 'null'`,
  sum: (v) => sql`json_quote(cairn_finite(total(CASE WHEN json_type(${v}) IN ('integer', 'real') THEN ${v} ->> '$' END)))`,
  avg: (v) => sql`json_quote(cairn_finite(avg(CASE WHEN json_type(${v}) IN ('integer', 'real') THEN ${v} ->> '$' END)))`,
  push: (v) => sql`json_group_array(json(${v}) ORDER BY ord) FILTER (WHERE ${v} IS NOT NULL)`,
  windowed: (c) => sql`json(min(${c}))`,
  nullValue: sql`json('null')`,
};

const POSTGRES: Flavour = {
  valueAt: (s) => (s.length ? sql`(${PostgresFilterCompiler.path(s)})` : raw('data')),
  isObjectAt: (s) => sql`(jsonb_typeof(${PostgresFilterCompiler.path(s)}) = 'object' AND jsonb_typeof(${PostgresFilterCompiler.path(s)} -> '$date') IS DISTINCT FROM 'string')`,
  embed: (v) => v,
  isMissingAt: (s) => sql`(${PostgresFilterCompiler.path(s)}) IS NULL`,
  object: (entries) => {
    const built = entries.length ? jsonObjectSql('postgres', entries.map(([k, v]) => [k, v] as const)) : sql`'{}'::jsonb`;
    const missing = entries.filter((e) => e[2] !== undefined).map(([k, , m]) => sql`CASE WHEN ${m as Sql} THEN ${k}::text END`);
    return missing.length ? sql`((${built}) - array_remove(ARRAY[${join(missing, ', ')}], NULL))` : built;
  },
  expression: (e, f) => {
    const x = (a: Expr) => f.expression(a, f);
    const n = (a: Expr) => sql`cairn_num(${x(a)})`;
    const s = (a: Expr) => sql`cairn_str(${x(a)})`;
    const json = (value: Sql) => sql`COALESCE(to_jsonb(${value}), 'null'::jsonb)`;
    switch (e.kind) {
      case 'field':
        return f.valueAt(checkedSegments(e.path));
      case 'text':
        return sql`to_jsonb(${e.value}::text)`;
      case 'numeric':
        return sql`to_jsonb(${e.value}::float8)`;
      case 'nary':
        return e.op === 'concat' ? json(join(e.args.map(s), ' || ')) : json(join(e.args.map(n), e.op === 'add' ? ' + ' : ' * '));
      case 'binary':
        switch (e.op) {
          case 'subtract':
            return json(sql`${n(e.left)} - ${n(e.right)}`);
          case 'divide':
            return json(sql`${n(e.left)} / NULLIF(${n(e.right)}, 0)`);
          case 'mod':
            return json(sql`cairn_mod(${n(e.left)}, ${n(e.right)})`);
        }
        break;
      case 'unary':
        switch (e.op) {
          case 'abs':
          case 'floor':
          case 'ceil':
            return json(sql`${raw(e.op)}(${n(e.arg)})`);
          case 'stringify':
            return json(sql`cairn_stringify(${x(e.arg)})`);
          case 'toLower':
            return json(sql`lower(${s(e.arg)})`);
          case 'toUpper':
            return json(sql`upper(${s(e.arg)})`);
          case 'length':
            return json(sql`char_length(${s(e.arg)})`);
        }
        break;
      case 'substring':
        return json(sql`cairn_substr(${s(e.arg)}, ${n(e.start)}, ${n(e.length)})`);
    }
    throw new Error('unreachable');
  },
  setPath: (segments, value) => {
    const at = (prefix: readonly string[]): Sql =>
      prefix.length ? sql`(CASE WHEN ${POSTGRES.isObjectAt(prefix)} THEN data #> ${pgPath(prefix)} ELSE '{}'::jsonb END)` : raw('data');
    const set = (prefix: readonly string[], rest: readonly string[]): Sql => {
      const [s, ...more] = rest as [string, ...string[]];
      const v = more.length ? set([...prefix, s], more) : value;
      return sql`(${at(prefix)} || jsonb_build_object(${s}::text, ${v}))`;
    };
    return set([], segments);
  },
  entriesAt: (s) => {
    const x = sql`(data #> ${pgPath(s)})`;
    return sql`(CASE WHEN ${POSTGRES.isObjectAt(s)} THEN (SELECT COALESCE(jsonb_agg(jsonb_build_object('k', e.key, 'v', e.value) ORDER BY e.key COLLATE "C"), '[]'::jsonb) FROM jsonb_each(${x}) AS e) ELSE 'null'::jsonb END)`;
  },
  groupKey: (v) => sql`COALESCE(${v}, 'null'::jsonb)`,
  isNullValue: (v) => sql`(${v} IS NULL OR ${v} = 'null'::jsonb)`,
  sum: (v) => sql`to_jsonb(COALESCE(sum((${v})::float8) FILTER (WHERE jsonb_typeof(${v}) = 'number'), 0))`,
  // Not avg(float8): it also sums the squares (for variances), which overflow for numbers past
  // 1e154 whose mean is fine.
  avg: (v) =>
    sql`COALESCE(to_jsonb(sum((${v})::float8) FILTER (WHERE jsonb_typeof(${v}) = 'number') / NULLIF(count(*) FILTER (WHERE jsonb_typeof(${v}) = 'number'), 0)), 'null'::jsonb)`,
  push: (v) => sql`COALESCE(jsonb_agg(${v} ORDER BY ord) FILTER (WHERE ${v} IS NOT NULL), '[]'::jsonb)`,
  windowed: (c) => sql`COALESCE((array_agg(${c}))[1], 'null'::jsonb)`,
  nullValue: sql`'null'::jsonb`,
};

const flavourOf = (dialect: Dialect): Flavour => (dialect === 'sqlite' ? SQLITE : POSTGRES);

/** A stage over the previous one: `select` reads the previous stage's `data` and `ord` as bare names. */
const over = (prev: Sql, select: Sql, rest: Sql = sql``): Sql => sql`SELECT ${select} FROM (${prev}) AS p${rest}`;

function includeSql(f: Flavour, tree: ProjectionTree, keepId: boolean): Sql {
  const build = (t: ProjectionTree, prefix: readonly string[]): Sql =>
    f.object(
      [...t].map(([k, node]): Entry => {
        const path = [...prefix, k];
        if (node.kind === 'include') return [k, f.valueAt(path), f.isMissingAt(path)];
        if (node.kind === 'reshape') {
          // Operators always give a value; only a field can be missing.
          const e = node.expr;
          return e.kind === 'field' ? [k, f.expression(e, f), f.isMissingAt(checkedSegments(e.path))] : [k, f.expression(e, f)];
        }
        const inner = build(node.children, path);
        // A nested part is an object when the source has one there, or when it computes a field.
        return node.computed ? [k, inner] : [k, sql`(CASE WHEN ${f.isObjectAt(path)} THEN ${inner} END)`, sql`NOT COALESCE(${f.isObjectAt(path)}, FALSE)`];
      }),
    );
  const withId = keepId && !tree.has('_id') ? new Map([['_id', { kind: 'include' as const }], ...tree]) : tree;
  return build(withId, []);
}

function excludeSql(dialect: Dialect, prev: Sql, paths: readonly FieldPath[]): Sql {
  const segs = paths.map((p) => checkedSegments(p));
  if (dialect === 'sqlite') return over(prev, sql`json_remove(data, ${join(segs.map(sqlitePath), ', ')}) AS data, ord`);
  // PostgreSQL's #- fails on a path that crosses an array: a nested path is removed only under an
  // object, each in a stage of its own (the check names `data` once more).
  const top = segs.filter((s) => s.length === 1).map((s) => s[0] as string);
  let out = top.length ? over(prev, sql`data - ${raw(`'{${top.join(',')}}'`)}::text[] AS data, ord`) : prev;
  for (const s of segs.filter((x) => x.length > 1)) {
    out = over(out, sql`(CASE WHEN jsonb_typeof(data #> ${pgPath(s.slice(0, -1))}) = 'object' THEN data #- ${pgPath(s)} ELSE data END) AS data, ord`);
  }
  return out;
}

function groupSql(dialect: Dialect, prev: Sql, stage: StageOf<'group'>): Sql {
  const f = flavourOf(dialect);
  const docs = compilerFor(dialect, { documents: true });
  const g = (i: number) => raw(`g${i}`);
  const a = (i: number) => raw(`a${i}`);
  // 1. Each document's group values and accumulator operands as columns, computed once (SQL
  // NULL for missing).
  const operands = over(
    prev,
    join([raw('ord'), ...stage.ids.map((x, i) => sql`${f.expression(x.expr, f)} AS ${g(i)}`), ...stage.accumulators.map((x, i) => sql`${f.expression(x.expr, f)} AS ${a(i)}`)], ', '),
  );
  const keys = stage.ids.map((_, i) => f.groupKey(g(i)));
  const partition = keys.length ? sql`PARTITION BY ${join(keys, ', ')} ` : sql``;
  // 2. min, max, first and last as windows over each group: the first value in their order.
  const windows = stage.accumulators.flatMap((x, i): Sql[] => {
    let order: Sql;
    if (x.op === 'first') order = raw('ord ASC');
    else if (x.op === 'last') order = raw('ord DESC');
    else if (x.op === 'min' || x.op === 'max') {
      // Missing and null last; then the query language's sort order; then `ord`.
      const terms = docs.valueOrderTerms(a(i), x.op === 'min' ? 'ASC' : 'DESC');
      order = sql`CASE WHEN ${f.isNullValue(a(i))} THEN 1 ELSE 0 END, ${docs.renderOrder(terms)}, ord`;
    } else return [];
    return [sql`first_value(${a(i)}) OVER (${partition}ORDER BY ${order}) AS ${raw(`w${i}`)}`];
  });
  const columns = [raw('ord'), ...keys.map((k, i) => sql`${k} AS ${raw(`k${i}`)}`), ...stage.accumulators.map((_, i) => a(i)), ...windows];
  const windowed = over(operands, join(columns, ', '));
  // 3. One document per group, in the order of each group's first document.
  const result = (x: Accumulator, i: number): Sql => {
    switch (x.op) {
      case 'sum':
        return f.sum(a(i));
      case 'avg':
        return f.avg(a(i));
      case 'push':
        return f.push(a(i));
      default:
        return f.windowed(raw(`w${i}`));
    }
  };
  const id = stage.ids.length ? jsonObjectSql(dialect, stage.ids.map((x, i) => [x.key, f.embed(raw(`k${i}`))] as const)) : f.nullValue;
  const body = jsonObjectSql(dialect, [['_id', id] as const, ...stage.accumulators.map((x, i) => [x.name, f.embed(result(x, i))] as const)]);
  const groupBy = keys.length ? join(keys.map((_, i) => raw(`k${i}`)), ', ') : raw('(1 = 1)');
  return over(windowed, sql`${body} AS data, row_number() OVER (ORDER BY min(ord)) AS ord`, sql` GROUP BY ${groupBy}`);
}

function unwindSql(dialect: Dialect, prev: Sql, path: FieldPath): Sql {
  const s = checkedSegments(path);
  if (dialect === 'sqlite') {
    const p = sqlitePath(s);
    // json_each of NULL gives no row: the LEFT JOIN keeps documents whose field is not an array.
    return sql`SELECT (CASE WHEN je.key IS NULL THEN p.data ELSE json_set(p.data, ${p}, ${EACH_VALUE}) END) AS data, row_number() OVER (ORDER BY p.ord, je.key) AS ord FROM (${prev}) AS p LEFT JOIN json_each(CASE WHEN json_type(p.data, ${p}) = 'array' THEN p.data -> ${p} END) AS je WHERE je.key IS NOT NULL OR json_type(p.data, ${p}) NOT IN ('array', 'null')`;
  }
  const p = pgPath(s);
  return sql`SELECT (CASE WHEN je.i IS NULL THEN p.data ELSE jsonb_set(p.data, ${p}, je.v) END) AS data, row_number() OVER (ORDER BY p.ord, je.i) AS ord FROM (${prev}) AS p LEFT JOIN LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(p.data #> ${p}) = 'array' THEN p.data #> ${p} END) WITH ORDINALITY AS je(v, i) ON TRUE WHERE je.i IS NOT NULL OR jsonb_typeof(p.data #> ${p}) NOT IN ('array', 'null')`;
}

function stageSql(dialect: Dialect, prev: Sql, stage: Stage): Sql {
  const f = flavourOf(dialect);
  switch (stage.kind) {
    case 'filter':
      return over(prev, raw('data, ord'), sql` WHERE ${compilerFor(dialect, { documents: true }).compile(stage.filter)}`);
    case 'sort': {
      const docs = compilerFor(dialect, { documents: true });
      return over(prev, sql`data, row_number() OVER (ORDER BY ${docs.renderOrder(docs.orderTerms(stage.sort))}) AS ord`);
    }
    case 'include':
      return over(prev, sql`${includeSql(f, stage.tree, stage.keepId)} AS data, ord`);
    case 'exclude':
      return excludeSql(dialect, prev, stage.paths);
    case 'group':
      return groupSql(dialect, prev, stage);
    case 'unwind':
      return unwindSql(dialect, prev, stage.path);
    case 'objectToArray': {
      // Two stages: the entries, then the set (which names `data` again at each level).
      const withEntries = over(prev, sql`data, ord, ${f.entriesAt(checkedSegments(stage.from))} AS entries`);
      return over(withEntries, sql`${f.setPath(checkedSegments(stage.to), raw('entries'))} AS data, ord`);
    }
    case 'skip':
      return over(prev, raw('data, ord'), dialect === 'sqlite' ? sql` ORDER BY ord LIMIT -1 OFFSET ${stage.count}` : sql` ORDER BY ord OFFSET ${stage.count}`);
    case 'limit':
      return over(prev, raw('data, ord'), sql` ORDER BY ord LIMIT ${stage.count}`);
  }
}

/** Stages that change each document on its own and keep its place: they can run after paging. */
const ROW_WISE: ReadonlySet<Stage['kind']> = new Set(['include', 'exclude', 'objectToArray']);

export interface PipelineSql {
  /** The derived table (columns `data`, `ord`) of the stages up to the trailing row-wise ones. */
  readonly source: Sql;
  /** The trailing row-wise stages over a page of `source` (so a projection runs on one page, not the whole collection). */
  readonly mapPage?: (page: Sql) => Sql;
}

/** Whether every stage changes documents one by one in place: the pipeline is then the items' own order, paged as a query. */
export function onlyRowWise(stages: readonly Stage[]): boolean {
  return stages.every((s) => ROW_WISE.has(s.kind));
}

/**
 * The row-wise stages over a page of items rows (`page`: item columns, in the default order),
 * keeping each row's `created_date` and `id` for the page's order and cursor. The page is
 * numbered on its own rows only, and the stages' documents joined back to their rows by it.
 */
export function rowWisePage(dialect: Dialect, stages: readonly Stage[], document: Sql, page: Sql): Sql {
  const rows = sql`SELECT created_date, id, ${document} AS data, row_number() OVER (ORDER BY created_date DESC, id) AS ord FROM (${page}) AS x`;
  const mapped = stages.reduce((prev, stage) => stageSql(dialect, prev, stage), sql`SELECT data, ord FROM p`);
  return sql`WITH p AS (${rows}) SELECT m.data AS data, p.created_date AS created_date, p.id AS id FROM (${mapped}) AS m JOIN p ON p.ord = m.ord`;
}

/**
 * The stages run over the items `where` selects, each read as `document` (an expression over
 * the `items` row). `where` already holds the leading filter stages (compiled against the items
 * table, where indexes serve them), so `stages` starts after them.
 */
export function pipelineSql(dialect: Dialect, where: Sql, stages: readonly Stage[], document: Sql = raw('data')): PipelineSql {
  let cut = stages.length;
  while (cut > 0 && ROW_WISE.has((stages[cut - 1] as Stage).kind)) cut--;
  let source = sql`SELECT ${document} AS data, row_number() OVER (ORDER BY created_date DESC, id) AS ord FROM items WHERE ${where}`;
  for (const stage of stages.slice(0, cut)) source = stageSql(dialect, source, stage);
  const tail = stages.slice(cut);
  if (tail.length === 0) return { source };
  return { source, mapPage: (page) => tail.reduce((prev, stage) => stageSql(dialect, prev, stage), page) };
}
