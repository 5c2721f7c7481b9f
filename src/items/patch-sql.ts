/**
 * The SQL fast path of Patch / BulkPatch: the common modification shapes compiled into one
 * UPDATE per batch, with JSON functions of the store, so a thousand-item BulkPatch costs about
 * what the equivalent hand-written statement does.
 *
 * A request takes this path when every patch has the same (action, path) sequence, the paths do
 * not overlap (none is a prefix of another), every action is SET_FIELD, REMOVE_FIELD,
 * APPEND_TO_ARRAY or INCREMENT_FIELD by an integer, and no item is patched twice.
 *
 * Each item must also pass guards, checked on the row the UPDATE locks: every parent on a path is
 * an existing object; an incremented field is an integer of safe size, null or missing; an
 * appended field is an array, null or missing; and the request's condition holds. An item that
 * fails a guard is simply not updated here: the writer then runs the JS path for it in the same
 * transaction, which applies the exact semantics (creating parents, float increments) or reports
 * the item's error. Both paths produce byte-identical items (the patch tests compare them).
 */
import type { Dialect } from '../store/sql.js';
import { join, named, raw, sql, type Sql } from '../store/sql.js';
import { canonicalJson } from '../wire/json.js';
import { MAX_ITEM_BYTES } from './codec.js';
import type { FieldModification, ItemPatch } from './patch.js';

/** Integers whose sums stay exact in a double: |n| < 2^52 for operands keeps results < 2^53. */
const SAFE = 2 ** 52;

function samePaths(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((s, i) => s === b[i]);
}

function isPrefix(a: readonly string[], b: readonly string[]): boolean {
  return a.length <= b.length && a.every((s, i) => s === b[i]);
}

function shapeKey(m: FieldModification): string {
  return `${m.action}:${m.path.segments.join('.')}`;
}

/** The modifications every patch shares, when the request fits the fast path. */
export function fastPathShape(patches: readonly ItemPatch[]): readonly FieldModification[] | undefined {
  const first = patches[0];
  if (!first) return undefined;
  const shape = first.modifications;
  const key = shape.map(shapeKey).join('|');
  for (const m of shape) {
    if (m.action === 'REMOVE_FROM_ARRAY') return undefined;
    if (m.action === 'INCREMENT_FIELD' && (!Number.isInteger(m.by) || Math.abs(m.by) >= SAFE)) return undefined;
  }
  for (let i = 0; i < shape.length; i++) {
    for (let j = 0; j < shape.length; j++) {
      if (i !== j && isPrefix((shape[i] as FieldModification).path.segments, (shape[j] as FieldModification).path.segments)) return undefined;
    }
  }
  const seen = new Set<string>();
  for (const p of patches) {
    if (seen.has(p.id)) return undefined;
    seen.add(p.id);
    if (p.modifications.map(shapeKey).join('|') !== key) return undefined;
    for (const m of p.modifications) {
      if (m.action === 'INCREMENT_FIELD' && (!Number.isInteger(m.by) || Math.abs(m.by) >= SAFE)) return undefined;
    }
  }
  return shape;
}

/** One VALUES row per patch: the item id, then one cell per modification that carries a value. */
export function patchRow(p: ItemPatch): unknown[] {
  const row: unknown[] = [p.id];
  for (const m of p.modifications) {
    if (m.action === 'SET_FIELD' || m.action === 'APPEND_TO_ARRAY') row.push(canonicalJson(m.value));
    else if (m.action === 'INCREMENT_FIELD') row.push(m.by);
  }
  return row;
}

/** Column names of the VALUES list: vid, then p0, p1... for the value-carrying modifications. */
export function patchColumns(shape: readonly FieldModification[]): string[] {
  const cols = ['vid'];
  let k = 0;
  for (const m of shape) if (m.action !== 'REMOVE_FIELD') cols.push(`p${k++}`);
  return cols;
}

interface Compiled {
  /** The new `data` expression. */
  data: Sql;
  /** Conditions the row must meet for this path to apply. */
  guard: Sql;
}

/**
 * Builds the SET expression and the guards for a shape. `now` is bound once for `_updatedDate`.
 * Paths are inlined (segments validated by parseFieldPath: letters, digits, `_`, `-`).
 */
export function compilePatchShape(
  dialect: Dialect,
  shape: readonly FieldModification[],
  now: string,
  patches: readonly ItemPatch[],
  uniformValues?: readonly unknown[],
): Compiled {
  const compiled =
    dialect === 'postgres'
      ? compilePostgres(shape, now)
      : compileSqlite(shape, now, uniformValues ? (k) => sql`${uniformValues[k]}` : (k) => named(`p${k}`));
  // The new values must leave the item under the size limit. Items that may not (the largest
  // values of the batch counted in full) go to the JS path, which checks exactly. PostgreSQL's
  // jsonb text has spaces after ':' and ',', so it overstates the size: safe.
  let added = 0;
  for (const p of patches) {
    let n = 0;
    for (const cell of patchRow(p).slice(1)) n += String(cell).length * 3 + 64;
    added = Math.max(added, n);
  }
  const size = dialect === 'postgres' ? sql`octet_length(data::text)` : sql`octet_length(data)`;
  return { data: compiled.data, guard: sql`${compiled.guard} AND ${size} <= ${MAX_ITEM_BYTES - added - 256}` };
}

/**
 * The value cells every patch shares (SET values, increments, appended elements), when all the
 * patches carry the same ones: then one statement over the id list does the whole batch.
 */
export function uniformValues(patches: readonly ItemPatch[]): unknown[] | undefined {
  const first = patches[0];
  if (!first) return undefined;
  const cells = patchRow(first).slice(1);
  for (let i = 1; i < patches.length; i++) {
    const row = patchRow(patches[i] as ItemPatch);
    for (let c = 0; c < cells.length; c++) if (row[c + 1] !== cells[c]) return undefined;
  }
  return cells;
}

/**
 * SQLite reads each row's values as named parameters (@vid, @p0, ...): the statement runs once
 * per item through Executor.each. (Its planner orders an UPDATE ... FROM (VALUES ...) join badly
 * once the guards read `data`, scanning the collection for every VALUES row; a prepared
 * statement per row inside the one transaction is SQLite's fastest bulk form, with no round trips.)
 */
export function patchParams(p: ItemPatch): Record<string, unknown> {
  const row = patchRow(p);
  const out: Record<string, unknown> = { vid: row[0] };
  for (let i = 1; i < row.length; i++) out[`p${i - 1}`] = row[i];
  return out;
}

/**
 * SQLite: one json_set with a (path, value) pair per SET / INCREMENT / APPEND, around one
 * json_remove for the REMOVEs. The paths never overlap (fastPathShape), so the order of the pairs
 * does not matter, and values read from `data` see the row as it was. One call parses and writes
 * the document once; nesting a call per modification would do it once per modification.
 *
 * `valueOf(k)` is how the k-th value-carrying modification gets its value: a named parameter
 * per row (`@p0`), or one bound parameter when every patch carries the same values.
 */
function compileSqlite(shape: readonly FieldModification[], now: string, valueOf: (k: number) => Sql): Compiled {
  const path = (segments: readonly string[], suffix = '') => raw(`'$${segments.map((s) => `."${s}"`).join('')}${suffix}'`);
  const removed: Sql[] = [];
  const pairs: Sql[] = [];
  const guards: Sql[] = [];
  let k = 0;
  for (const m of shape) {
    const segs = m.path.segments;
    for (let i = 1; i < segs.length; i++) {
      const parent = segs.slice(0, i);
      guards.push(sql`json_type(data, ${path(parent)}) = 'object' AND json_type(data, ${path(parent, '."$date"')}) IS NULL`);
    }
    const p = path(segs);
    const col = m.action === 'REMOVE_FIELD' ? undefined : valueOf(k++);
    switch (m.action) {
      case 'SET_FIELD':
        pairs.push(sql`${p}, json(${col})`);
        break;
      case 'REMOVE_FIELD':
        removed.push(p);
        break;
      case 'INCREMENT_FIELD':
        guards.push(
          sql`(COALESCE(json_type(data, ${p}), 'null') = 'null' OR (json_type(data, ${p}) = 'integer' AND abs(json_extract(data, ${p})) < ${SAFE}))`,
        );
        // better-sqlite3 binds JS numbers as REAL: the cast keeps integer + integer an integer (6, not 6.0).
        pairs.push(sql`${p}, COALESCE(json_extract(data, ${p}), 0) + CAST(${col} AS INTEGER)`);
        break;
      case 'APPEND_TO_ARRAY':
        guards.push(sql`COALESCE(json_type(data, ${p}), 'null') IN ('null', 'array')`);
        // json() marks the CASE's text as JSON, so json_set stores an array, not a string.
        pairs.push(
          sql`${p}, json(CASE WHEN json_type(data, ${p}) = 'array' THEN json_insert(json_extract(data, ${p}), '$[#]', json(${col})) ELSE json_array(json(${col})) END)`,
        );
        break;
      case 'REMOVE_FROM_ARRAY':
        throw new Error('REMOVE_FROM_ARRAY has no fast path');
    }
  }
  const base = removed.length ? sql`json_remove(data, ${join(removed, ', ')})` : raw('data');
  pairs.push(sql`'$._updatedDate', json_object('$date', ${now})`);
  return { data: sql`json_set(${base}, ${join(pairs, ', ')})`, guard: guards.length ? sql`(${joinAnd(guards)})` : raw('TRUE') };
}

function compilePostgres(shape: readonly FieldModification[], now: string): Compiled {
  // Each element double-quoted: an unquoted NULL (any case) in an array literal is a null element.
  const path = (segments: readonly string[]) => raw(`'{${segments.map((s) => `"${s}"`).join(',')}}'`);
  const at = (segments: readonly string[]) => sql`(data #> ${path(segments)})`;
  let x: Sql = raw('data');
  const guards: Sql[] = [];
  let k = 0;
  for (const m of shape) {
    const segs = m.path.segments;
    for (let i = 1; i < segs.length; i++) {
      const parent = at(segs.slice(0, i));
      guards.push(sql`jsonb_typeof(${parent}) = 'object' AND ${parent}->'$date' IS NULL`);
    }
    const p = path(segs);
    const cur = at(segs);
    const col = m.action === 'REMOVE_FIELD' ? undefined : raw(`v.p${k++}`);
    switch (m.action) {
      case 'SET_FIELD':
        x = sql`jsonb_set(${x}, ${p}, ${col}::jsonb, true)`;
        break;
      case 'REMOVE_FIELD':
        x = sql`(${x} #- ${p})`;
        break;
      case 'INCREMENT_FIELD':
        // CASE keeps the numeric cast away from values that are not numbers.
        guards.push(
          sql`(CASE WHEN ${cur} IS NULL OR jsonb_typeof(${cur}) = 'null' THEN TRUE WHEN jsonb_typeof(${cur}) = 'number' THEN (${cur})::numeric % 1 = 0 AND abs((${cur})::numeric) < ${SAFE} ELSE FALSE END)`,
        );
        x = sql`jsonb_set(${x}, ${p}, to_jsonb((CASE WHEN jsonb_typeof(${cur}) = 'number' THEN (${cur})::numeric ELSE 0 END) + (${col})::numeric), true)`;
        break;
      case 'APPEND_TO_ARRAY':
        guards.push(sql`(${cur} IS NULL OR jsonb_typeof(${cur}) IN ('null', 'array'))`);
        x = sql`jsonb_set(${x}, ${p}, (CASE WHEN jsonb_typeof(${cur}) = 'array' THEN ${cur} ELSE '[]'::jsonb END) || jsonb_build_array((${col})::jsonb), true)`;
        break;
      case 'REMOVE_FROM_ARRAY':
        throw new Error('REMOVE_FROM_ARRAY has no fast path');
    }
  }
  x = sql`jsonb_set(${x}, '{_updatedDate}', jsonb_build_object('$date', ${now}::text), true)`;
  return { data: x, guard: guards.length ? sql`(${joinAnd(guards)})` : raw('TRUE') };
}

/**
 * The parts joined by AND as a balanced tree of parenthesised halves. SQLite parses a flat chain
 * `a AND b AND c ...` as a tree as deep as the chain is long, and refuses one deeper than 1000: a
 * patch of 100 modifications on nested paths has more guards than that. Balanced, the depth is
 * the logarithm of their number.
 */
function joinAnd(parts: readonly Sql[]): Sql {
  if (parts.length <= 4) return parts.reduce((acc, p, i) => (i === 0 ? p : sql`${acc} AND ${p}`));
  const half = Math.ceil(parts.length / 2);
  return sql`(${joinAnd(parts.slice(0, half))}) AND (${joinAnd(parts.slice(half))})`;
}

export { samePaths };

/**
 * Appending `values` to the array at `segments` (EDIT_FIELD_DATA's addItems), as SQL: a missing
 * or null field becomes an array of the values. Guards: the parents are objects, the field is an
 * array, null or missing, and the item stays well under the size limit after the append (the
 * exact check, for items close to it, is the JS path's). Rows that fail a guard are left for the
 * JS edit, which gives them the exact semantics or reports their failure.
 */
export function compileArrayAppend(dialect: Dialect, segments: readonly string[], values: readonly unknown[], now: string): Compiled {
  const texts = values.map((v) => canonicalJson(v as Parameters<typeof canonicalJson>[0]));
  const budget = MAX_ITEM_BYTES - texts.reduce((n, t) => n + Buffer.byteLength(t) + 2, 0) - 256;
  const guards: Sql[] = [];
  if (dialect === 'sqlite') {
    const path = (segs: readonly string[], suffix = '') => raw(`'$${segs.map((s) => `."${s}"`).join('')}${suffix}'`);
    for (let i = 1; i < segments.length; i++) {
      const parent = segments.slice(0, i);
      guards.push(sql`json_type(data, ${path(parent)}) = 'object' AND json_type(data, ${path(parent, '."$date"')}) IS NULL`);
    }
    const p = path(segments);
    guards.push(sql`COALESCE(json_type(data, ${p}), 'null') IN ('null', 'array')`, sql`octet_length(data) <= ${budget}`);
    // An array grows in place (`[#]` is one past its end): one json_set, one parse of the document.
    const appended = join(texts.map((t) => sql`${path(segments, '[#]')}, json(${t})`), ', ');
    const fresh = join(texts.map((t) => sql`json(${t})`), ', ');
    const stamp = sql`'$._updatedDate', json_object('$date', ${now})`;
    const data = sql`(CASE WHEN json_type(data, ${p}) = 'array' THEN json_set(data, ${appended}, ${stamp}) ELSE json_set(data, ${p}, json_array(${fresh}), ${stamp}) END)`;
    return { data, guard: joinAnd(guards) };
  }
  // Quoted elements, as in compilePostgres: an unquoted NULL in an array literal is a null element.
  const path = (segs: readonly string[]) => raw(`'{${segs.map((s) => `"${s}"`).join(',')}}'`);
  const at = (segs: readonly string[]) => sql`(data #> ${path(segs)})`;
  for (let i = 1; i < segments.length; i++) {
    const parent = at(segments.slice(0, i));
    guards.push(sql`jsonb_typeof(${parent}) = 'object' AND ${parent}->'$date' IS NULL`);
  }
  const cur = at(segments);
  // jsonb's text has a space after each ':' and ',', so it overstates the stored JSON's size.
  guards.push(sql`(${cur} IS NULL OR jsonb_typeof(${cur}) IN ('null', 'array'))`, sql`octet_length(data::text) <= ${budget}`);
  const data = sql`jsonb_set(jsonb_set(data, ${path(segments)}, (CASE WHEN jsonb_typeof(${cur}) = 'array' THEN ${cur} ELSE '[]'::jsonb END) || ${`[${texts.join(',')}]`}::jsonb, true), '{_updatedDate}', jsonb_build_object('$date', ${now}::text), true)`;
  return { data, guard: joinAnd(guards) };
}
