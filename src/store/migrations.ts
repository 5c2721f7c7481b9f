/**
 * Forward-only, numbered schema migrations, one script per dialect. Each runs in its own
 * transaction together with the row that records it, so a crash never leaves one half-applied.
 * On PostgreSQL an advisory lock makes concurrent starters (several API processes and workers on
 * one database) take turns; the ones that come second find nothing left to do.
 */
import type { Db } from './db.js';
import { raw, sql } from './sql.js';

interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sqlite: string;
  readonly postgres: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'collections, items, indexes',
    sqlite: `
      CREATE TABLE collections (
        id TEXT PRIMARY KEY,
        doc TEXT NOT NULL,
        revision INTEGER NOT NULL,
        sandbox_enabled INTEGER NOT NULL DEFAULT 0,
        created_date TEXT NOT NULL,
        updated_date TEXT NOT NULL
      );
      CREATE TABLE items (
        collection_id TEXT NOT NULL,
        env TEXT NOT NULL,
        id TEXT NOT NULL,
        data TEXT NOT NULL,
        created_date TEXT NOT NULL,
        updated_date TEXT NOT NULL,
        owner TEXT,
        publish_status TEXT NOT NULL DEFAULT 'PUBLISHED',
        PRIMARY KEY (collection_id, env, id)
      );
      CREATE INDEX items_created ON items (collection_id, env, created_date);
      CREATE TABLE item_indexes (
        collection_id TEXT NOT NULL,
        name TEXT NOT NULL,
        doc TEXT NOT NULL,
        status TEXT NOT NULL,
        sql_names TEXT NOT NULL,
        created_date TEXT NOT NULL,
        PRIMARY KEY (collection_id, name)
      );`,
    postgres: `
      CREATE TABLE collections (
        id TEXT COLLATE "C" PRIMARY KEY,
        doc JSONB NOT NULL,
        revision INTEGER NOT NULL,
        sandbox_enabled BOOLEAN NOT NULL DEFAULT FALSE,
        created_date TEXT COLLATE "C" NOT NULL,
        updated_date TEXT COLLATE "C" NOT NULL
      );
      CREATE TABLE items (
        collection_id TEXT COLLATE "C" NOT NULL,
        env TEXT COLLATE "C" NOT NULL,
        id TEXT COLLATE "C" NOT NULL,
        data JSONB NOT NULL,
        created_date TEXT COLLATE "C" NOT NULL,
        updated_date TEXT COLLATE "C" NOT NULL,
        owner TEXT COLLATE "C",
        publish_status TEXT NOT NULL DEFAULT 'PUBLISHED',
        PRIMARY KEY (collection_id, env, id)
      );
      CREATE INDEX items_created ON items (collection_id, env, created_date);
      CREATE TABLE item_indexes (
        collection_id TEXT COLLATE "C" NOT NULL,
        name TEXT COLLATE "C" NOT NULL,
        doc JSONB NOT NULL,
        status TEXT NOT NULL,
        sql_names TEXT NOT NULL,
        created_date TEXT NOT NULL,
        PRIMARY KEY (collection_id, name)
      );`,
  },
];

const LOCK_KEY = 0x63616972; // "cair": one advisory lock for Cairn's migrations

export async function migrate(db: Db): Promise<number> {
  await db.transaction(async (tx) => {
    // Two processes creating the table at once would clash on PostgreSQL's catalog; the lock
    // makes the second one wait and then find the table there.
    if (tx.dialect === 'postgres') await tx.run(sql`SELECT pg_advisory_xact_lock(${LOCK_KEY})`);
    await tx.run(raw('CREATE TABLE IF NOT EXISTS cairn_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_date TEXT NOT NULL)'));
  });
  let applied = 0;
  for (const m of MIGRATIONS) {
    const done = await db.transaction(async (tx) => {
      if (tx.dialect === 'postgres') await tx.run(sql`SELECT pg_advisory_xact_lock(${LOCK_KEY})`);
      const row = await tx.get(sql`SELECT version FROM cairn_migrations WHERE version = ${m.version}`);
      if (row) return false;
      await tx.run(sql`INSERT INTO cairn_migrations (version, name, applied_date) VALUES (${m.version}, ${m.name}, ${new Date().toISOString()})`);
      for (const statement of splitStatements(tx.dialect === 'sqlite' ? m.sqlite : m.postgres)) {
        await tx.run(raw(statement));
      }
      return true;
    });
    if (done) applied++;
  }
  return applied;
}

/** Migration scripts hold no semicolons inside literals, so splitting on `;` is exact. */
function splitStatements(script: string): string[] {
  return script
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
