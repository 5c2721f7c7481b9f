/**
 * FilterNode -> SQL WHERE fragment, per dialect. The shared part (logic nodes, system-field
 * columns) lives in FilterCompiler; SqliteFilterCompiler and PostgresFilterCompiler say how to
 * read a JSON path. Handler tables are typed Record<kind, ...> so a new node kind does not compile
 * until every dialect handles it.
 *
 * Two rules every leaf obeys:
 * - values are bound parameters; JSON paths are inlined (expression indexes need the literal
 *   text) and built only from segments parse.ts validated;
 * - a leaf may yield NULL only where NULL means "no match": `not` wraps its child in
 *   COALESCE(..., FALSE) so SQL's three-valued logic cannot leak.
 */
import { WixError } from '../errors.js';
import { join, raw, sql, type Dialect, type Sql } from '../store/sql.js';
import { isDateValue } from '../wire/json.js';
import {
  systemFieldOf,
  type FieldPath,
  type FilterNode,
  type NodeOf,
  type PatternPart,
  type Scalar,
  type ScalarType,
  type SortSpec,
  type SystemField,
} from './ast.js';
import { patternLength } from './pattern.js';

const SEGMENT = /^[\p{L}\p{N}_-]+$/u;

export function checkedSegments(path: FieldPath): readonly string[] {
  for (const s of path.segments) {
    // parse.ts already enforces this; checked again because a path becomes SQL text.
    if (!SEGMENT.test(s)) throw new WixError('WDE0147', 'Invalid field path');
  }
  return path.segments;
}

const OPS = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;

export const SYSTEM_COLUMNS: Record<SystemField, { column: string; type: ScalarType; nullable: boolean }> = {
  _id: { column: 'id', type: 'string', nullable: false },
  _createdDate: { column: 'created_date', type: 'date', nullable: false },
  _updatedDate: { column: 'updated_date', type: 'date', nullable: false },
  _owner: { column: 'owner', type: 'string', nullable: true },
};

/** Accessors of one JSON value (a field, or an array element) in dialect SQL. */
interface ValueAccess {
  /** SQL that is true when the value has the scalar type. */
  isType(t: ScalarType): Sql;
  /** Equality with a scalar of the value's own type (type check included). */
  equals(s: Scalar): Sql;
  /** Membership in a list of scalars, all of one type (type check included). */
  oneOf(t: ScalarType, values: readonly Scalar[]): Sql;
  compare(op: keyof typeof OPS, s: Scalar): Sql;
  /** The value as lower-cased text; only meaningful when isType('string'). */
  lowerText(): Sql;
  /** The value as text; only meaningful when isType('string'). */
  text(): Sql;
}

export interface CompilerOptions {
  /**
   * Compile against the documents of an aggregation pipeline's stages (src/query/pipeline/) in a
   * `data` column: system fields are JSON fields like any other (a group's `_id` is an object),
   * and the `ord` column, each document's place in the stage's order, ends the sort.
   */
  readonly documents?: boolean;
}

export abstract class FilterCompiler {
  abstract readonly dialect: Dialect;

  constructor(protected readonly options: CompilerOptions = {}) {}

  compile(node: FilterNode): Sql {
    return (this.handlers[node.kind] as (n: FilterNode) => Sql)(node);
  }

  private readonly handlers: { [K in FilterNode['kind']]: (n: NodeOf<K>) => Sql } = {
    true: () => raw('TRUE'),
    false: () => raw('FALSE'),
    and: (n) => sql`(${join(n.children.map((c) => this.compile(c)), ' AND ')})`,
    or: (n) => sql`(${join(n.children.map((c) => this.compile(c)), ' OR ')})`,
    not: (n) => sql`NOT COALESCE(${this.compile(n.child)}, FALSE)`,
    eq: (n) => this.onField(n.field, (c) => this.columnIn(c, [n.value]), (p) => this.elementMatch(p, (v) => v.equals(n.value))),
    in: (n) => this.onField(n.field, (c) => this.columnIn(c, n.values), (p) => this.elementMatch(p, (v) => this.oneOfAny(v, n.values))),
    cmp: (n) =>
      this.onField(
        n.field,
        (c) => (c.type === n.value.type ? sql`${this.column(c)} ${raw(OPS[n.op])} ${this.scalarParam(n.value)}` : raw('FALSE')),
        (p) => this.elementMatch(p, (v) => v.compare(n.op, n.value)),
      ),
    str: (n) =>
      this.onField(
        n.field,
        (c) => (c.type === 'string' ? this.stringTest(this.lowerColumn(c), n.op, n.value) : raw('FALSE')),
        (p) => this.elementMatch(p, (v) => sql`(${v.isType('string')} AND ${this.stringTest(v.lowerText(), n.op, n.value)})`),
      ),
    pattern: (n) =>
      this.onField(
        n.field,
        (c) => (c.type === 'string' ? this.patternTest(n.ignoreCase ? this.lowerColumn(c) : this.column(c), n.parts) : raw('FALSE')),
        (p) => this.elementMatch(p, (v) => sql`(${v.isType('string')} AND ${this.patternTest(n.ignoreCase ? v.lowerText() : v.text(), n.parts)})`),
      ),
    isNull: (n) =>
      this.onField(
        n.field,
        (c) => (c.nullable ? sql`${this.column(c)} IS NULL` : raw('FALSE')),
        (p) => this.isNullJson(p),
      ),
    isEmpty: (n) =>
      this.onField(
        n.field,
        (c) => (c.nullable ? sql`(${this.column(c)} IS NULL OR ${this.column(c)} = '')` : raw('FALSE')),
        (p) => this.isEmptyJson(p),
      ),
    eqJson: (n) => this.onField(n.field, () => raw('FALSE'), (p) => this.eqJson(p, n.json)),
    // One scan of the item's strings per term under AND (each term may match another string);
    // one scan for all of them under OR.
    search: (n) =>
      n.mode === 'OR'
        ? this.anyString((s) => sql`(${join(n.terms.map((t) => sql`${this.position(s, t)} > 0`), ' OR ')})`)
        : sql`(${join(n.terms.map((t) => this.anyString((s) => sql`${this.position(s, t)} > 0`)), ' AND ')})`,
  };

  /** Whether some string value anywhere in the row's data but the top-level system fields, lower-cased, passes `test`. */
  protected abstract anyString(test: (lowered: Sql) => Sql): Sql;

  private onField(
    field: FieldPath,
    onColumn: (c: (typeof SYSTEM_COLUMNS)[SystemField]) => Sql,
    onJson: (segments: readonly string[]) => Sql,
  ): Sql {
    const system = this.options.documents ? undefined : systemFieldOf(field);
    return system ? onColumn(SYSTEM_COLUMNS[system]) : onJson(checkedSegments(field));
  }

  protected column(c: { column: string }): Sql {
    return raw(c.column);
  }

  private columnIn(c: (typeof SYSTEM_COLUMNS)[SystemField], values: readonly Scalar[]): Sql {
    const same = values.filter((v) => v.type === c.type);
    if (same.length === 0) return raw('FALSE');
    if (same.length === 1) return sql`${this.column(c)} = ${(same[0] as Scalar).value}`;
    return sql`${this.column(c)} IN (${join(
      same.map((v) => sql`${v.value}`),
      ', ',
    )})`;
  }

  private oneOfAny(v: ValueAccess, values: readonly Scalar[]): Sql {
    const byType = new Map<ScalarType, Scalar[]>();
    for (const s of values) byType.set(s.type, [...(byType.get(s.type) ?? []), s]);
    const parts = [...byType].map(([t, list]) => (list.length === 1 ? v.equals(list[0] as Scalar) : v.oneOf(t, list)));
    return parts.length === 1 ? (parts[0] as Sql) : sql`(${join(parts, ' OR ')})`;
  }

  protected scalarParam(s: Scalar): Sql {
    return sql`${s.value}`;
  }

  private stringTest(lowered: Sql, op: 'startsWith' | 'endsWith' | 'contains', value: string): Sql {
    if (value === '') return raw('TRUE');
    switch (op) {
      case 'startsWith':
        return sql`${this.position(lowered, value)} = 1`;
      case 'contains':
        return sql`${this.position(lowered, value)} > 0`;
      case 'endsWith':
        return this.endsWith(lowered, value);
    }
  }

  /**
   * A whole string against pattern parts (pattern.ts): its length, then each part at its fixed
   * place, a literal as a substring, a set's character by its position in the set.
   */
  private patternTest(s: Sql, parts: readonly PatternPart[]): Sql {
    const tests = [sql`${this.charLength(s)} = ${patternLength(parts)}`];
    let at = 1;
    for (const p of parts) {
      if ('literal' in p) {
        const n = [...p.literal].length;
        tests.push(sql`substr(${s}, ${at}, ${n}) = ${p.literal}`);
        at += n;
      } else {
        tests.push(sql`${this.position(sql`${p.oneOf}`, sql`substr(${s}, ${at}, 1)`)} > 0`);
        at += 1;
      }
    }
    return sql`(${join(tests, ' AND ')})`;
  }

  protected abstract lowerColumn(c: { column: string }): Sql;
  protected abstract charLength(s: Sql): Sql;
  protected abstract position(haystack: Sql, needle: string | Sql): Sql;
  protected abstract endsWith(haystack: Sql, needle: string): Sql;
  /** The value matches, or (when it is an array) one of its elements does. */
  protected abstract elementMatch(segments: readonly string[], pred: (v: ValueAccess) => Sql): Sql;
  protected abstract isNullJson(segments: readonly string[]): Sql;
  protected abstract isEmptyJson(segments: readonly string[]): Sql;
  protected abstract eqJson(segments: readonly string[], canonical: string): Sql;

  /** The ORDER BY list of `orderTerms`' terms (the sort specs, then `id` ascending as the final tie-break). */
  renderOrder(terms: readonly OrderTerm[]): Sql {
    return join(
      terms.map((t) => (t.explicitNulls ? sql`${t.expr} ${raw(t.dir)} ${raw(t.nullsFirst ? 'NULLS FIRST' : 'NULLS LAST')}` : sql`${t.expr} ${raw(t.dir)}`)),
      ', ',
    );
  }

  /**
   * The ORDER BY terms (`renderOrder` writes them out), with what a keyset cursor needs to know
   * of each: its direction, where NULLs fall in the output, and on PostgreSQL the type a value
   * bound against it takes.
   * NULLS FIRST/LAST is written out only for `_owner`, the one nullable column; the other system
   * columns are NOT NULL, and leaving the clause out lets PostgreSQL read them in index order
   * (an index gives DESC with NULLs first, the default). JSON sort keys keep their default too.
   * `_id` is unique: terms after it could never decide, so the list ends there.
   */
  orderTerms(sort: readonly SortSpec[]): OrderTerm[] {
    const terms: OrderTerm[] = [];
    for (const s of sort) {
      const system = this.options.documents ? undefined : systemFieldOf(s.field);
      if (system) {
        const column = SYSTEM_COLUMNS[system];
        terms.push(
          column.nullable
            ? { expr: this.column(column), dir: s.order, nullsFirst: s.order === 'ASC', explicitNulls: true, notNull: false }
            : { expr: this.column(column), dir: s.order, nullsFirst: this.nullsFirstByDefault(s.order), explicitNulls: false, notNull: true },
        );
        if (system === '_id') return terms;
      } else {
        for (const key of this.sortKeys(checkedSegments(s.field))) {
          terms.push({ expr: key.expr, dir: s.order, nullsFirst: this.nullsFirstByDefault(s.order), explicitNulls: false, notNull: false, ...(key.cast ? { cast: key.cast } : {}), ...(key.rank ? { rank: true as const } : {}) });
        }
      }
    }
    terms.push({ expr: raw(this.options.documents ? 'ord' : 'id'), dir: 'ASC', nullsFirst: true, explicitNulls: false, notNull: true });
    return terms;
  }

  /**
   * Rows strictly after the row whose term values are `values` (one per `orderTerms` term), in
   * the order those terms give: the WHERE clause of a keyset page. Each value is bound as a
   * parameter; NULLs are placed where the ORDER BY places them. When the first term is a NOT NULL
   * column, its bound (`>=` or `<=` the value) is also written on its own, which the planner can
   * turn into an index range; the alternatives alone are an OR it cannot.
   */
  keysetAfter(terms: readonly OrderTerm[], values: readonly KeyValue[]): Sql {
    const bound = (t: OrderTerm, v: string | number) => {
      // A cursor is the client's to send back: a value of the wrong type (a forged or damaged
      // cursor) is the client's error, not the database's.
      if ((t.rank && !Number.isSafeInteger(v)) || (t.cast === 'numeric' && !isNumericValue(v))) {
        throw new WixError('WDE0165', 'Invalid cursor');
      }
      return t.cast ? sql`CAST(${v} AS ${raw(t.cast)})` : sql`${v}`;
    };
    const equal = (t: OrderTerm, v: KeyValue) => (v === null ? sql`${t.expr} IS NULL` : sql`${t.expr} = ${bound(t, v)}`);
    const after = (t: OrderTerm, v: KeyValue): Sql => {
      if (v === null) return t.nullsFirst ? sql`${t.expr} IS NOT NULL` : raw('FALSE');
      const beyond = sql`${t.expr} ${raw(t.dir === 'ASC' ? '>' : '<')} ${bound(t, v)}`;
      return t.nullsFirst || t.notNull ? beyond : sql`(${beyond} OR ${t.expr} IS NULL)`;
    };
    const alternatives = terms.map((t, i) => {
      const parts = terms.slice(0, i).map((earlier, j) => equal(earlier, values[j] as KeyValue));
      parts.push(after(t, values[i] as KeyValue));
      return sql`(${join(parts, ' AND ')})`;
    });
    const keyset = alternatives.length === 1 ? (alternatives[0] as Sql) : sql`(${join(alternatives, ' OR ')})`;
    const first = terms[0] as OrderTerm;
    const v0 = values[0] as KeyValue;
    if (terms.length > 1 && first.notNull && v0 !== null) {
      return sql`${first.expr} ${raw(first.dir === 'ASC' ? '>=' : '<=')} ${bound(first, v0)} AND ${keyset}`;
    }
    return keyset;
  }

  /** Where the dialect puts NULLs when the ORDER BY does not say (SQLite: lowest; PostgreSQL: highest). */
  protected abstract nullsFirstByDefault(dir: 'ASC' | 'DESC'): boolean;

  /** Sort keys of a JSON field: a rank (see evaluate.ts sortRank), then the value(s). */
  protected abstract sortKeys(segments: readonly string[]): SortKey[];
  /** The same sort keys for a JSON value (SQLite: JSON text; PostgreSQL: jsonb; NULL when missing). */
  protected abstract valueSortKeys(value: Sql): SortKey[];

  /** ORDER BY terms that order JSON values as the query language sorts a field (no tie-break). */
  valueOrderTerms(value: Sql, dir: 'ASC' | 'DESC'): OrderTerm[] {
    return this.valueSortKeys(value).map((key) => ({ expr: key.expr, dir, nullsFirst: this.nullsFirstByDefault(dir), explicitNulls: false, notNull: false }));
  }
}

/** A number, or a numeric's text (pg returns numeric columns as text, and cursors keep it). */
function isNumericValue(v: string | number): boolean {
  return typeof v === 'number' ? Number.isFinite(v) : /^-?\d+(?:\.\d+)?(?:e[+-]?\d+)?$/i.test(v);
}

/** One ORDER BY term (FilterCompiler.orderTerms). */
export interface OrderTerm {
  readonly expr: Sql;
  readonly dir: 'ASC' | 'DESC';
  /** Whether NULLs come first in the output (before every value, whatever the direction). */
  readonly nullsFirst: boolean;
  /** Whether the ORDER BY text says NULLS FIRST/LAST (`_owner`) or leaves the default. */
  readonly explicitNulls: boolean;
  /** A NOT NULL column (`_id`, the dates). */
  readonly notNull: boolean;
  /** PostgreSQL: the type a value compared with this term is cast to. */
  readonly cast?: string;
  /** A JSON field's type rank (evaluate.ts sortRank): an integer. */
  readonly rank?: true;
}

/** A term's value as read back from a row and carried in a cursor. */
export type KeyValue = string | number | null;

interface SortKey {
  readonly expr: Sql;
  readonly cast?: string;
  /** The rank term: a cursor's value for it must be an integer. */
  readonly rank?: true;
}

// ---------------------------------------------------------------------------------------------
// SQLite: JSON kept as text; json_type/json_extract with an inlined path; json_each for arrays.

export class SqliteFilterCompiler extends FilterCompiler {
  readonly dialect = 'sqlite' as const;

  /** `'$."a"."b"'`: each segment quoted, so any validated segment is a valid path step. */
  static path(segments: readonly string[], suffix = ''): Sql {
    return raw(`'$${segments.map((s) => `."${s}"`).join('')}${suffix}'`);
  }

  private access(type: Sql, value: Sql, date: Sql): ValueAccess {
    const typeCheck = (t: ScalarType): Sql => {
      switch (t) {
        case 'string':
          return sql`${type} = 'text'`;
        case 'number':
          return sql`${type} IN ('integer', 'real')`;
        case 'boolean':
          return sql`${type} IN ('true', 'false')`;
        case 'date':
          return sql`(${type} = 'object' AND ${date} IS NOT NULL)`;
      }
    };
    const target = (t: ScalarType): Sql => (t === 'date' ? date : value);
    const bind = (s: Scalar): unknown => (s.type === 'boolean' ? (s.value ? 1 : 0) : s.value);
    return {
      isType: typeCheck,
      equals: (s) =>
        s.type === 'boolean'
          ? sql`${type} = ${s.value ? 'true' : 'false'}`
          : sql`(${typeCheck(s.type)} AND ${target(s.type)} = ${bind(s)})`,
      oneOf: (t, list) =>
        sql`(${typeCheck(t)} AND ${target(t)} IN (${join(
          list.map((s) => sql`${bind(s)}`),
          ', ',
        )}))`,
      compare: (op, s) => sql`(${typeCheck(s.type)} AND ${target(s.type)} ${raw(OPS[op])} ${bind(s)})`,
      lowerText: () => sql`cairn_lower(${value})`,
      text: () => value,
    };
  }

  protected elementMatch(segments: readonly string[], pred: (v: ValueAccess) => Sql): Sql {
    const p = SqliteFilterCompiler.path(segments);
    const type = sql`json_type(data, ${p})`;
    const whole = this.access(type, sql`json_extract(data, ${p})`, sql`json_extract(data, ${SqliteFilterCompiler.path(segments, '."$date"')})`);
    const element = this.access(
      raw('je.type'),
      raw('je.value'),
      raw(`(CASE WHEN je.type = 'object' THEN json_extract(je.value, '$."$date"') END)`),
    );
    return sql`(${pred(whole)} OR (${type} = 'array' AND EXISTS (SELECT 1 FROM json_each(data, ${p}) AS je WHERE ${pred(element)})))`;
  }

  protected isNullJson(segments: readonly string[]): Sql {
    return sql`COALESCE(json_type(data, ${SqliteFilterCompiler.path(segments)}), 'null') = 'null'`;
  }

  protected isEmptyJson(segments: readonly string[]): Sql {
    const p = SqliteFilterCompiler.path(segments);
    return sql`(COALESCE(json_type(data, ${p}), 'null') = 'null' OR (json_type(data, ${p}) = 'text' AND json_extract(data, ${p}) = '') OR (json_type(data, ${p}) = 'array' AND json_array_length(data, ${p}) = 0))`;
  }

  protected eqJson(segments: readonly string[], canonical: string): Sql {
    const p = SqliteFilterCompiler.path(segments);
    // Dates are objects too but never equal an eqJson operand: parse.ts makes date operands scalars.
    // CASE, not AND: SQLite may evaluate AND operands in any order, and cairn_canon must only
    // ever see JSON text (json_extract of a string yields the bare string).
    return sql`(CASE WHEN json_type(data, ${p}) IN ('array', 'object') AND json_extract(data, ${SqliteFilterCompiler.path(segments, '."$date"')}) IS NULL THEN cairn_canon(json_extract(data, ${p})) = ${canonical} ELSE FALSE END)`;
  }

  protected lowerColumn(c: { column: string }): Sql {
    return sql`cairn_lower(${raw(c.column)})`;
  }
  protected anyString(test: (lowered: Sql) => Sql): Sql {
    return sql`EXISTS (SELECT 1 FROM json_tree(json_remove(data, '$._id', '$._owner', '$._createdDate', '$._updatedDate')) AS jt WHERE jt.type = 'text' AND ${test(sql`cairn_lower(jt.value)`)})`;
  }
  protected position(haystack: Sql, needle: string | Sql): Sql {
    return sql`instr(${haystack}, ${needle})`;
  }
  protected charLength(s: Sql): Sql {
    return sql`length(${s})`;
  }
  protected endsWith(haystack: Sql, needle: string): Sql {
    return sql`substr(${haystack}, ${-[...needle].length}) = ${needle}`;
  }

  protected nullsFirstByDefault(dir: 'ASC' | 'DESC'): boolean {
    return dir === 'ASC';
  }

  protected sortKeys(segments: readonly string[]): SortKey[] {
    return this.keysOf(raw('data'), SqliteFilterCompiler.path(segments), SqliteFilterCompiler.path(segments, '."$date"'));
  }

  protected valueSortKeys(value: Sql): SortKey[] {
    return this.keysOf(value, raw(`'$'`), raw(`'$."$date"'`));
  }

  /** The rank and value keys of the JSON at path `p` of `json` (`d`: that path's `$date`). */
  private keysOf(json: Sql, p: Sql, d: Sql): SortKey[] {
    const rank = sql`(CASE json_type(${json}, ${p}) WHEN 'true' THEN 1 WHEN 'false' THEN 1 WHEN 'integer' THEN 2 WHEN 'real' THEN 2 WHEN 'text' THEN 3 WHEN 'object' THEN (CASE WHEN json_type(${json}, ${d}) = 'text' THEN 4 ELSE 5 END) WHEN 'array' THEN 5 ELSE 0 END)`;
    const value = sql`(CASE json_type(${json}, ${p}) WHEN 'object' THEN json_extract(${json}, ${d}) WHEN 'array' THEN NULL ELSE json_extract(${json}, ${p}) END)`;
    return [{ expr: rank, rank: true }, { expr: value }];
  }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: JSONB; data->'a'->'b' with inlined keys; jsonb equality and containment, which
// compare numbers numerically and never equal values of different types.

export class PostgresFilterCompiler extends FilterCompiler {
  readonly dialect = 'postgres' as const;

  static path(segments: readonly string[]): Sql {
    return raw(`data${segments.map((s) => `->'${s}'`).join('')}`);
  }

  private access(x: Sql): ValueAccess {
    const typeCheck = (t: ScalarType): Sql => {
      switch (t) {
        case 'string':
          return sql`jsonb_typeof(${x}) = 'string'`;
        case 'number':
          return sql`jsonb_typeof(${x}) = 'number'`;
        case 'boolean':
          return sql`jsonb_typeof(${x}) = 'boolean'`;
        case 'date':
          return sql`jsonb_typeof(${x}->'$date') = 'string'`;
      }
    };
    const asJsonb = (s: Scalar): Sql => sql`${JSON.stringify(s.type === 'date' ? { $date: s.value } : s.value)}::jsonb`;
    // Ordered comparisons: strings and dates as text in byte order ("C"), numbers as jsonb
    // (numeric order). The type check comes first inside CASE so no cast ever sees a wrong type.
    const compare = (op: keyof typeof OPS, s: Scalar): Sql => {
      switch (s.type) {
        case 'string':
          return sql`(CASE WHEN jsonb_typeof(${x}) = 'string' THEN (${x} #>> '{}') COLLATE "C" ${raw(OPS[op])} ${s.value} ELSE FALSE END)`;
        case 'date':
          return sql`(CASE WHEN jsonb_typeof(${x}->'$date') = 'string' THEN (${x}->>'$date') COLLATE "C" ${raw(OPS[op])} ${s.value} ELSE FALSE END)`;
        default:
          return sql`(jsonb_typeof(${x}) = 'number' AND ${x} ${raw(OPS[op])} ${asJsonb(s)})`;
      }
    };
    return {
      isType: typeCheck,
      equals: (s) => sql`${x} = ${asJsonb(s)}`,
      oneOf: (_t, list) =>
        sql`${x} IN (${join(
          list.map(asJsonb),
          ', ',
        )})`,
      compare,
      lowerText: () => sql`lower(${x} #>> '{}')`,
      text: () => sql`(${x} #>> '{}')`,
    };
  }

  protected elementMatch(segments: readonly string[], pred: (v: ValueAccess) => Sql): Sql {
    const x = PostgresFilterCompiler.path(segments);
    // The range is redundant for the result (non-empty arrays sort between `true` and `{}` in
    // jsonb order; an empty one matches nothing) but lets both sides of the OR use an index on
    // the field: PostgreSQL then combines two index scans instead of scanning the collection.
    return sql`(${pred(this.access(x))} OR (${x} > 'true'::jsonb AND ${x} < '{}'::jsonb AND jsonb_typeof(${x}) = 'array' AND EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(${x}) = 'array' THEN ${x} ELSE '[]'::jsonb END) AS je(v) WHERE ${pred(this.access(raw('je.v')))})))`;
  }

  protected isNullJson(segments: readonly string[]): Sql {
    const x = PostgresFilterCompiler.path(segments);
    return sql`(${x} IS NULL OR ${x} = 'null'::jsonb)`;
  }

  protected isEmptyJson(segments: readonly string[]): Sql {
    const x = PostgresFilterCompiler.path(segments);
    return sql`(${x} IS NULL OR ${x} IN ('null'::jsonb, '""'::jsonb, '[]'::jsonb))`;
  }

  protected eqJson(segments: readonly string[], canonical: string): Sql {
    return sql`${PostgresFilterCompiler.path(segments)} = ${canonical}::jsonb`;
  }

  protected anyString(test: (lowered: Sql) => Sql): Sql {
    return sql`EXISTS (SELECT 1 FROM jsonb_path_query(data - '{_id,_owner,_createdDate,_updatedDate}'::text[], 'strict $.**') AS jt(v) WHERE jsonb_typeof(jt.v) = 'string' AND ${test(sql`lower(jt.v #>> '{}')`)})`;
  }
  protected lowerColumn(c: { column: string }): Sql {
    // The system columns are COLLATE "C", under which lower() folds ASCII only: fold them with
    // the database's own locale, as JSON strings (which carry the default collation) are.
    return sql`lower(${raw(c.column)} COLLATE "default")`;
  }
  protected position(haystack: Sql, needle: string | Sql): Sql {
    return sql`strpos(${haystack}, ${needle})`;
  }
  protected charLength(s: Sql): Sql {
    return sql`char_length(${s})`;
  }
  protected endsWith(haystack: Sql, needle: string): Sql {
    return sql`right(${haystack}, ${[...needle].length}::int) = ${needle}`;
  }

  protected nullsFirstByDefault(dir: 'ASC' | 'DESC'): boolean {
    return dir === 'DESC';
  }

  protected sortKeys(segments: readonly string[]): SortKey[] {
    return this.valueSortKeys(PostgresFilterCompiler.path(segments));
  }

  protected valueSortKeys(x: Sql): SortKey[] {
    const rank = sql`(CASE jsonb_typeof(${x}) WHEN 'boolean' THEN 1 WHEN 'number' THEN 2 WHEN 'string' THEN 3 WHEN 'object' THEN (CASE WHEN jsonb_typeof(${x}->'$date') = 'string' THEN 4 ELSE 5 END) WHEN 'array' THEN 5 ELSE 0 END)`;
    const numeric = sql`(CASE jsonb_typeof(${x}) WHEN 'number' THEN (${x})::numeric WHEN 'boolean' THEN (CASE WHEN ${x} = 'true'::jsonb THEN 1 ELSE 0 END) END)`;
    const text = sql`(CASE jsonb_typeof(${x}) WHEN 'string' THEN ${x} #>> '{}' WHEN 'object' THEN ${x}->>'$date' END) COLLATE "C"`;
    return [
      { expr: rank, cast: 'integer', rank: true },
      { expr: numeric, cast: 'numeric' },
      { expr: text, cast: 'text' },
    ];
  }
}

export function compilerFor(dialect: Dialect, options: CompilerOptions = {}): FilterCompiler {
  return dialect === 'sqlite' ? new SqliteFilterCompiler(options) : new PostgresFilterCompiler(options);
}

export { isDateValue };
