/**
 * The stores every backend test runs on: SQLite always, PostgreSQL when DATABASE_URL is set.
 * Under CI=true a missing DATABASE_URL is a failure, not a skip (DEVELOPERS.md).
 * Each PostgreSQL test database is a fresh schema of its own, dropped on close, so test files
 * never see each other's rows.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Db } from '../../src/store/db.js';
import { openDb } from '../../src/store/open.js';

export type StoreName = 'sqlite' | 'postgres';

const DATABASE_URL = process.env.DATABASE_URL;
if (process.env.CI === 'true' && !DATABASE_URL) {
  throw new Error('CI=true but DATABASE_URL is not set: PostgreSQL tests must run in CI');
}

export const STORE_NAMES: StoreName[] = DATABASE_URL ? ['sqlite', 'postgres'] : ['sqlite'];

export interface TestStore {
  readonly name: StoreName;
  readonly db: Db;
  /** For PostgreSQL: a connection string whose search_path is this store's schema. */
  readonly url?: string;
  /** For SQLite on disk: the database file, for a second connection or process. */
  readonly file?: string;
  close(): Promise<void>;
}

/**
 * Opens an empty, migrated store of the given kind. SQLite is in memory unless `onDisk`: a file
 * database has the separate read connection (and its per-turn read snapshot) that `npm start` has.
 */
export async function openTestStore(name: StoreName, options: { onDisk?: boolean } = {}): Promise<TestStore> {
  if (name === 'sqlite') {
    // CAIRN_TEST_SQLITE_ON_DISK=1: every SQLite test store on disk (server.ts says why).
    if (options.onDisk ?? process.env.CAIRN_TEST_SQLITE_ON_DISK === '1') {
      const dir = mkdtempSync(join(tmpdir(), 'cairn-test-'));
      const file = join(dir, 'cairn.db');
      const db = await openDb({ sqliteFile: file });
      return {
        name,
        db,
        file,
        close: async () => {
          await db.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    const db = await openDb({ sqliteFile: ':memory:' });
    return { name, db, close: () => db.close() };
  }
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = withSearchPath(DATABASE_URL as string, schema);
  const db = await openDb({ databaseUrl: url });
  return {
    name,
    db,
    url,
    close: async () => {
      await db.close();
      const c = new pg.Client({ connectionString: DATABASE_URL });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    },
  };
}

export function withSearchPath(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}
