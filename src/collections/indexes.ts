/**
 * Item indexes (`/wix-data/v2/indexes`) built as real indexes of the store, on the same
 * expressions the filter compilers emit, so that the database's planner uses them:
 * - SQLite: (collection_id, env, json_type(data, P), json_extract(data, P), ...) for each field.
 * - PostgreSQL: (collection_id, env, (data->'a'->'b'), ...), jsonb ordering.
 * Unique indexes are partial (WHERE collection_id = '<id>') so they bind one collection only, and
 * hold the environment so sandbox and live items never clash with each other.
 * `_id` (the primary key) and `_createdDate` are indexed for every collection.
 */
import { createHash } from 'node:crypto';
import { WixError } from '../errors.js';
import { writePlannerStats } from '../store/sqlite/planner-stats.js';
import { parseFieldPath } from '../query/parse.js';
import { PostgresFilterCompiler, SqliteFilterCompiler } from '../query/compile.js';
import { systemFieldOf } from '../query/ast.js';
import type { Db, Executor } from '../store/db.js';
import { ident, join, raw, sql, type Sql } from '../store/sql.js';
import { asArray, asObject, oneOf, optionalBoolean, requireString } from '../validate.js';
import type { JsonObject } from '../wire/json.js';
import type { Collection } from './model.js';

export interface IndexSpec {
  name: string;
  fields: { path: string; order: 'ASC' | 'DESC' }[];
  unique: boolean;
  caseInsensitive: boolean;
}

export const INDEX_LIMITS = { maxFields: 3, regular: 3, unique: 1 } as const;

const DEFAULT_INDEXES: IndexSpec[] = [
  { name: '_id_', fields: [{ path: '_id', order: 'ASC' }], unique: true, caseInsensitive: false },
  { name: '_createdDate_', fields: [{ path: '_createdDate', order: 'DESC' }], unique: false, caseInsensitive: false },
];

export function validateIndex(raw: unknown): IndexSpec {
  const i = asObject(raw, 'index', 'WDE0075');
  const name = requireString(i.name, 'index.name', 'WDE0075', 128);
  const unique = optionalBoolean(i.unique, 'index.unique') ?? false;
  const caseInsensitive = optionalBoolean(i.caseInsensitive, 'index.caseInsensitive') ?? false;
  const fields = asArray(i.fields, 'index.fields', 'WDE0075').map((f) => {
    const o = asObject(f, 'index field', 'WDE0075');
    const path = requireString(o.path, 'index field path', 'WDE0075', 512);
    const parsed = parseFieldPath(path, 'index field path');
    if (systemFieldOf(parsed)) throw new WixError('WDE0075', `System field ${path} is indexed already`);
    return { path, order: oneOf(o.order, ['ASC', 'DESC'] as const, 'index field order', 'ASC') };
  });
  if (fields.length === 0) throw new WixError('WDE0075', 'An index needs at least one field');
  if (fields.length > (unique ? 1 : INDEX_LIMITS.maxFields)) {
    throw new WixError('WDE0075', unique ? 'A unique index holds exactly one field' : `An index holds at most ${INDEX_LIMITS.maxFields} fields`);
  }
  return { name, fields, unique, caseInsensitive };
}

function sqlName(collectionId: string, name: string): string {
  return `ix_${createHash('sha256').update(`${collectionId}\u0000${name}`).digest('hex').slice(0, 24)}`;
}

/** A SQL string literal with quotes doubled; collection ids are validated before they get here. */
function quoted(s: string): Sql {
  if (s.includes('\u0000')) throw new Error('NUL in SQL literal');
  return raw(`'${s.replaceAll("'", "''")}'`);
}

/**
 * Unique indexes mean the same on both stores: a missing field or a JSON null never clashes,
 * values of different types never clash (5 and "5"), and caseInsensitive folds strings only
 * (equal numbers still clash). The value's type is part of every key for that reason.
 */
function indexDdl(dialect: 'sqlite' | 'postgres', collectionId: string, spec: IndexSpec, name: string): Sql {
  const exprs: Sql[] = [];
  const notNull: Sql[] = [];
  for (const f of spec.fields) {
    const segments = parseFieldPath(f.path).segments;
    if (dialect === 'sqlite') {
      // json_extract gives SQL NULL for a JSON null or a missing field, and NULLs never clash.
      const p = SqliteFilterCompiler.path(segments);
      exprs.push(sql`json_type(data, ${p})`);
      // cairn_lower gives NULL for non-strings: those keep their own value.
      exprs.push(spec.caseInsensitive ? sql`coalesce(cairn_lower(json_extract(data, ${p})), json_extract(data, ${p}))` : sql`json_extract(data, ${p})`);
    } else {
      const x = PostgresFilterCompiler.path(segments);
      if (spec.caseInsensitive) {
        // #>> gives SQL NULL for a JSON null; the type keeps 5 and "5" apart.
        exprs.push(sql`(jsonb_typeof(${x}))`);
        exprs.push(sql`(lower(${x} #>> '{}'))`);
      } else {
        exprs.push(sql`(${x})`);
        // A JSON null is a jsonb value, not SQL NULL: leave such rows out of a unique index.
        notNull.push(sql` AND (${x}) <> 'null'::jsonb`);
      }
    }
  }
  if (spec.unique) {
    return sql`CREATE UNIQUE INDEX ${ident(name)} ON items (env, ${join(exprs, ', ')}) WHERE collection_id = ${quoted(collectionId)}${join(notNull, '')}`;
  }
  // PostgreSQL: the collection's rows only. An index over every collection's rows would compute
  // its expressions for other collections' items too, and a long value there (over the b-tree's
  // ~2.7 KB entry limit) would fail writes to a collection that has no such index. Queries bind
  // the collection id, and PostgreSQL plans Cairn's unnamed statements with the bound values, so
  // it matches the predicate. (SQLite computes every expression of the index on every row too,
  // but its entries have no size limit, and it can use a partial index only for a literal.)
  if (dialect === 'postgres') {
    return sql`CREATE INDEX ${ident(name)} ON items (env, ${join(exprs, ', ')}) WHERE collection_id = ${quoted(collectionId)}`;
  }
  return sql`CREATE INDEX ${ident(name)} ON items (collection_id, env, ${join(exprs, ', ')})`;
}

/** PostgreSQL refused an index entry: the value is larger than a b-tree entry may be. */
export function isIndexEntryTooLarge(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return err?.code === '54000' && /index row/i.test(err.message ?? '');
}

/**
 * Recreates a PostgreSQL collection's regular indexes from their stored definitions (migration
 * 11: they covered every collection's rows before).
 */
export async function rebuildRegularIndexesPostgres(tx: Executor): Promise<void> {
  const rows = await tx.all<{ collection_id: string; doc: IndexSpec | string; sql_names: string }>(
    sql`SELECT collection_id, doc, sql_names FROM item_indexes`,
  );
  for (const r of rows) {
    const spec = (typeof r.doc === 'string' ? JSON.parse(r.doc) : r.doc) as IndexSpec;
    if (spec.unique) continue;
    await tx.run(sql`DROP INDEX IF EXISTS ${ident(r.sql_names)}`);
    await tx.run(indexDdl('postgres', r.collection_id, spec, r.sql_names));
  }
}

export function isUniqueViolation(e: unknown): boolean {
  const err = e as { code?: string };
  return err?.code === 'SQLITE_CONSTRAINT_UNIQUE' || err?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || err?.code === '23505';
}

export function indexToWire(collectionId: string, spec: IndexSpec, status = 'ACTIVE'): JsonObject {
  return {
    name: spec.name,
    fields: spec.fields.map((f) => ({ path: f.path, order: f.order })),
    unique: spec.unique,
    caseInsensitive: spec.caseInsensitive,
    status,
    dataCollectionId: collectionId,
  };
}

export class IndexService {
  constructor(private readonly db: Db) {}

  async list(collection: Collection): Promise<JsonObject[]> {
    const rows = await this.db.all<{ doc: string; status: string }>(
      sql`SELECT doc, status FROM item_indexes WHERE collection_id = ${collection.id} ORDER BY created_date, name`,
    );
    return [
      ...DEFAULT_INDEXES.map((d) => indexToWire(collection.id, d)),
      ...rows.map((r) => indexToWire(collection.id, JSON.parse(r.doc) as IndexSpec, r.status)),
    ];
  }

  /**
   * What indexes the collection may still get (`GET /indexes/available`): regular indexes of up
   * to 3 fields, unique ones, and both together. Cairn has no separate quota of 1-field regular
   * indexes (they come out of the regular ones), so `regular1Field` is 0, as Wix reports a quota
   * that has none of its own.
   */
  async available(collection: Collection): Promise<{ regular1Field: number; regular3Field: number; unique1Field: number; total: number }> {
    const rows = await this.db.all<{ doc: string }>(sql`SELECT doc FROM item_indexes WHERE collection_id = ${collection.id}`);
    const unique = rows.filter((r) => (JSON.parse(r.doc) as IndexSpec).unique).length;
    const regular3Field = Math.max(0, INDEX_LIMITS.regular - (rows.length - unique));
    const unique1Field = Math.max(0, INDEX_LIMITS.unique - unique);
    return { regular1Field: 0, regular3Field, unique1Field, total: regular3Field + unique1Field };
  }

  async create(collection: Collection, raw: unknown, now: string): Promise<JsonObject> {
    const spec = validateIndex(raw);
    if (DEFAULT_INDEXES.some((d) => d.name === spec.name)) throw new WixError('WDE0075', `Index name ${spec.name} is reserved`);
    const name = sqlName(collection.id, spec.name);
    await this.db.transaction(async (tx) => {
      const existing = await tx.all<{ name: string; doc: string }>(sql`SELECT name, doc FROM item_indexes WHERE collection_id = ${collection.id}`);
      if (existing.some((r) => r.name === spec.name)) throw new WixError('WDE0075', `Index ${spec.name} already exists on [${collection.id}]`);
      const specs = existing.map((r) => JSON.parse(r.doc) as IndexSpec);
      const uniqueCount = specs.filter((s) => s.unique).length + (spec.unique ? 1 : 0);
      const regularCount = specs.filter((s) => !s.unique).length + (spec.unique ? 0 : 1);
      if (uniqueCount > INDEX_LIMITS.unique || regularCount > INDEX_LIMITS.regular) {
        throw new WixError('WDE0075', `A collection holds at most ${INDEX_LIMITS.regular} regular and ${INDEX_LIMITS.unique} unique index(es)`);
      }
      try {
        await tx.run(indexDdl(tx.dialect, collection.id, spec, name));
        // SQLite plans by statistics Cairn writes itself (planner-stats.ts): give the new index
        // its entry. In this transaction, so the reader re-plans when it sees the schema change.
        if (tx.dialect === 'sqlite') await writePlannerStats(tx);
      } catch (e) {
        if (isUniqueViolation(e)) throw new WixError('WDE0113', `Index ${spec.name} cannot be built: items share a value of ${spec.fields[0]?.path}`);
        if (isIndexEntryTooLarge(e)) {
          throw new WixError('WDE0114', `Index ${spec.name} cannot be built: an item's value of ${spec.fields.map((f) => f.path).join(', ')} is too large to index`);
        }
        throw e;
      }
      const doc = JSON.stringify(spec);
      await tx.run(sql`INSERT INTO item_indexes (collection_id, name, doc, status, sql_names, created_date)
        VALUES (${collection.id}, ${spec.name}, ${tx.dialect === 'postgres' ? sql`${doc}::jsonb` : sql`${doc}`}, 'ACTIVE', ${name}, ${now})`);
    });
    return indexToWire(collection.id, spec);
  }

  async remove(collection: Collection, rawName: unknown): Promise<void> {
    const name = requireString(rawName, 'indexName', 'WDE0075', 128);
    if (DEFAULT_INDEXES.some((d) => d.name === name)) throw new WixError('WDE0075', `Index ${name} is built in and cannot be dropped`);
    await this.db.transaction(async (tx) => {
      const row = await tx.get<{ sql_names: string }>(sql`SELECT sql_names FROM item_indexes WHERE collection_id = ${collection.id} AND name = ${name}`);
      if (!row) throw new WixError('WDE0075', `Index ${name} does not exist on [${collection.id}]`);
      await tx.run(sql`DROP INDEX IF EXISTS ${ident(row.sql_names)}`);
      if (tx.dialect === 'sqlite') await writePlannerStats(tx);
      await tx.run(sql`DELETE FROM item_indexes WHERE collection_id = ${collection.id} AND name = ${name}`);
    });
  }
}

/** Drops every index of a collection (the collection is being deleted). */
export async function dropAllIndexes(tx: Executor, collectionId: string): Promise<void> {
  const rows = await tx.all<{ sql_names: string }>(sql`SELECT sql_names FROM item_indexes WHERE collection_id = ${collectionId}`);
  for (const r of rows) await tx.run(sql`DROP INDEX IF EXISTS ${ident(r.sql_names)}`);
  await tx.run(sql`DELETE FROM item_indexes WHERE collection_id = ${collectionId}`);
}
