/** The store the CLI works on: the server's own configuration (DATABASE_URL, else SQLite under CAIRN_DATA_DIR). */
import { loadConfig } from '../config.js';
import type { Db } from '../store/db.js';
import { openDb } from '../store/open.js';

export async function openConfiguredDb(): Promise<Db> {
  const config = loadConfig();
  return openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
}

/** Runs `fn` on the configured store and closes it whatever happens. */
export async function withDb<T>(fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openConfiguredDb();
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}
