import { join } from 'node:path';
import type { Db } from './db.js';
import { migrate } from './migrations.js';
import { PostgresDb } from './postgres/db.js';
import { SqliteDb } from './sqlite/db.js';
import { writePlannerStats } from './sqlite/planner-stats.js';

export interface StoreConfig {
  /** A postgres:// URL selects PostgreSQL. */
  readonly databaseUrl?: string | undefined;
  /** Otherwise SQLite: ':memory:' or a file; default <dataDir>/cairn.db. */
  readonly sqliteFile?: string | undefined;
  readonly dataDir?: string | undefined;
}

/** Opens the configured store and brings its schema up to date; `applied` is how many migrations that took. */
export async function openStore(config: StoreConfig): Promise<{ db: Db; applied: number }> {
  const url = config.databaseUrl;
  const db: Db =
    url && /^postgres(ql)?:\/\//.test(url)
      ? new PostgresDb({ connectionString: url })
      : new SqliteDb({ file: config.sqliteFile ?? join(config.dataDir ?? './data', 'cairn.db') });
  try {
    const applied = await migrate(db);
    if (db.dialect === 'sqlite') await db.transaction((tx) => writePlannerStats(tx));
    return { db, applied };
  } catch (e) {
    await db.close().catch(() => {});
    throw e;
  }
}

/** Opens the configured store and brings its schema up to date. */
export async function openDb(config: StoreConfig): Promise<Db> {
  return (await openStore(config)).db;
}
