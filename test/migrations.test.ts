/**
 * Schema migrations on an existing SQLite database: a store made by an earlier version (items in
 * a rowid table, with a user's expression index) is brought up to date at open, keeping every
 * item and every index. (PostgreSQL runs the same migrations on every test store.)
 */
import { TEST_ADMIN_KEY } from './helpers/server.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../src/store/migrations.js';
import { openDb } from '../src/store/open.js';
import { sql } from '../src/store/sql.js';
import { buildApp } from '../src/http/app.js';

test('SQLite: a version-2 store moves its items to the clustered table and keeps its indexes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-migrate-'));
  const file = join(dir, 'cairn.db');
  try {
    // The database as migrations 1 and 2 left it, with data and a user's index.
    const old = new Database(file);
    old.exec('CREATE TABLE cairn_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_date TEXT NOT NULL)');
    for (const m of MIGRATIONS.filter((x) => x.version <= 2)) {
      old.exec(m.sqlite);
      old.prepare('INSERT INTO cairn_migrations VALUES (?, ?, ?)').run(m.version, m.name, '2026-01-01T00:00:00.000Z');
    }
    old.prepare(`INSERT INTO collections (id, doc, revision, sandbox_enabled, created_date, updated_date) VALUES ('c', ?, 1, 0, 'x', 'x')`).run(
      JSON.stringify({ displayName: 'c', fields: [], permissions: {}, plugins: [], extras: {} }),
    );
    const insert = old.prepare(`INSERT INTO items (collection_id, env, id, data, created_date, updated_date, owner) VALUES ('c', 'LIVE', ?, ?, ?, ?, 'o')`);
    const d = '2026-01-01T00:00:00.000Z';
    for (let i = 0; i < 50; i++) {
      const id = `id-${(i * 7919) % 50}`;
      insert.run(id, JSON.stringify({ _id: id, k: `v${i % 5}`, _createdDate: { $date: d }, _updatedDate: { $date: d }, _owner: 'o' }), d, d);
    }
    old.exec(`CREATE INDEX ix_user ON items (collection_id, env, json_type(data, '$."k"'), json_extract(data, '$."k"'))`);
    old.close();

    const db = await openDb({ sqliteFile: file });
    try {
      const table = await db.get<{ sql: string }>(sql`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'items'`);
      assert.match(table!.sql, /WITHOUT ROWID/);
      const indexes = (await db.all<{ name: string }>(sql`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'items' AND sql IS NOT NULL ORDER BY name`)).map((r) => r.name);
      assert.deepEqual(indexes, ['items_created', 'ix_user']);
      const versions = (await db.all<{ version: number }>(sql`SELECT version FROM cairn_migrations ORDER BY version`)).map((r) => r.version);
      assert.deepEqual(versions, MIGRATIONS.map((m) => m.version));
      // Every item is there, readable through the API, and the user's index answers queries.
      const cairn = await buildApp({ adminKey: TEST_ADMIN_KEY, db, logLevel: 'silent', runTasks: false });
      const r = await cairn.app.inject({ method: 'POST', url: '/wix-data/v2/items/query', headers: { authorization: TEST_ADMIN_KEY }, payload: { dataCollectionId: 'c', query: { filter: { k: 'v3' }, paging: { limit: 100 } } } });
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(JSON.parse(r.body).dataItems.length, 10);
      const count = await cairn.app.inject({ method: 'POST', url: '/wix-data/v2/items/count', headers: { authorization: TEST_ADMIN_KEY }, payload: { dataCollectionId: 'c' } });
      assert.equal(JSON.parse(count.body).totalCount, 50);
      await cairn.app.close();
    } finally {
      await db.close();
    }
    // A second open finds nothing left to do.
    const again = await openDb({ sqliteFile: file });
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

if (process.env.DATABASE_URL) {
  test('PostgreSQL: migration 11 rebuilds a regular index made over every collection as a partial index of its own', async () => {
    const { openTestStore } = await import('./helpers/stores.js');
    const store = await openTestStore('postgres');
    try {
      const cairn = await buildApp({ adminKey: TEST_ADMIN_KEY, db: store.db, logLevel: 'silent', runTasks: false });
      const inject = (url: string, payload: unknown) => cairn.app.inject({ method: 'POST', url, headers: { authorization: TEST_ADMIN_KEY }, payload: payload as object });
      assert.equal((await inject('/wix-data/v2/collections', { collection: { id: 'm11' } })).statusCode, 200);
      const made = await inject('/wix-data/v2/indexes', { dataCollectionId: 'm11', index: { name: 'byK', fields: [{ path: 'k' }] } });
      assert.equal(made.statusCode, 200, made.body);
      await cairn.app.close();
      const { sql_names: name } = (await store.db.get<{ sql_names: string }>(sql`SELECT sql_names FROM item_indexes WHERE collection_id = 'm11'`))!;
      const def = async () => (await store.db.get<{ indexdef: string }>(sql`SELECT indexdef FROM pg_indexes WHERE indexname = ${name} AND schemaname = current_schema()`))?.indexdef ?? '';
      assert.match(await def(), /WHERE \(collection_id = 'm11'/);
      // As an earlier version built it, and before migration 11 ran.
      await store.db.exec(`DROP INDEX "${name}"; CREATE INDEX "${name}" ON items (collection_id, env, (data -> 'k')); DELETE FROM cairn_migrations WHERE version = 11`);
      assert.doesNotMatch(await def(), /WHERE/);
      const { migrate } = await import('../src/store/migrations.js');
      assert.equal(await migrate(store.db), 1);
      assert.match(await def(), /WHERE \(collection_id = 'm11'/);
    } finally {
      await store.close();
    }
  });
}
