/**
 * Group commit on SQLite (src/store/sqlite/db.ts, SqliteDb.transaction): transactions queued
 * while one is open share its COMMIT, each in a savepoint of its own. For the callers nothing
 * may change: each one's work is all or nothing, later ones see earlier ones' work, and a
 * transaction resolves only once its work is committed (another connection sees it).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteDb } from '../src/store/sqlite/db.js';
import { raw, sql } from '../src/store/sql.js';

describe('SQLite group commit', () => {
  let dir: string;
  let db: SqliteDb;
  let other: Database.Database;
  const committedRows = () => (other.prepare('SELECT k, v FROM kv ORDER BY k').all() as { k: string; v: number }[]).map((r) => `${r.k}=${r.v}`);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cairn-group-'));
    const file = join(dir, 'g.db');
    db = new SqliteDb({ file });
    await db.exec('CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL)');
    // Another connection to the file, as another process would have: it sees only committed data.
    other = new Database(file, { readonly: true });
  });
  after(async () => {
    other.close();
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('transactions queued together commit together; a failing one leaves no trace and the others stand', async () => {
    await db.run(sql`DELETE FROM kv`);
    const seenAtResolve: string[][] = [];
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        db
          .transaction(async (tx) => {
            await tx.run(sql`INSERT INTO kv (k, v) VALUES (${`a${i}`}, ${i})`);
            await tx.run(sql`INSERT INTO kv (k, v) VALUES (${`b${i}`}, ${i})`);
            if (i === 4) throw new Error('the fifth one fails after writing');
            if (i === 7) await tx.run(sql`INSERT INTO kv (k, v) VALUES ('a0', 0)`); // a duplicate key
            return i;
          })
          .then((v) => {
            seenAtResolve.push(committedRows());
            return v;
          }),
      ),
    );
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
    );
    const want = [0, 1, 2, 3, 5, 6, 8, 9].flatMap((i) => [`a${i}=${i}`, `b${i}=${i}`]).sort();
    assert.deepEqual(committedRows(), want);
    // Each resolved only once its work was visible to another connection.
    for (const rows of seenAtResolve) assert.ok(rows.length >= 2, JSON.stringify(rows));
  });

  test('a later transaction sees the work of those queued before it, in queue order', async () => {
    await db.run(sql`DELETE FROM kv`);
    await db.run(sql`INSERT INTO kv (k, v) VALUES ('n', 0)`);
    const reads = await Promise.all(
      Array.from({ length: 20 }, () =>
        db.transaction(async (tx) => {
          const row = await tx.get<{ v: number }>(sql`SELECT v FROM kv WHERE k = 'n'`);
          await tx.run(sql`UPDATE kv SET v = v + 1 WHERE k = 'n'`);
          return row?.v;
        }),
      ),
    );
    assert.deepEqual(reads, Array.from({ length: 20 }, (_, i) => i));
    assert.deepEqual(committedRows(), ['n=20']);
  });

  test('when SQLite ends the whole transaction, no member of the group is acknowledged', async () => {
    await db.run(sql`DELETE FROM kv`);
    const results = await Promise.allSettled(
      Array.from({ length: 4 }, (_, i) =>
        db.transaction(async (tx) => {
          await tx.run(sql`INSERT INTO kv (k, v) VALUES (${`x${i}`}, ${i})`);
          // Stands for a full disk or an I/O error, after which SQLite has rolled back itself.
          if (i === 2) {
            await tx.run(raw('ROLLBACK'));
            throw new Error('the transaction is gone');
          }
          return i;
        }),
      ),
    );
    // Those before the failure were in the same transaction: none may be reported as written.
    const fulfilled = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
    for (const i of fulfilled) assert.ok(committedRows().includes(`x${i}=${i}`), `x${i} acknowledged but not committed`);
    assert.equal(results[2]?.status, 'rejected');
    // The store still works afterwards.
    await db.run(sql`INSERT INTO kv (k, v) VALUES ('after', 1)`);
    assert.ok(committedRows().includes('after=1'));
  });

  test('a lone transaction commits at once, and its failure rolls it back', async () => {
    await db.run(sql`DELETE FROM kv`);
    await assert.rejects(
      db.transaction(async (tx) => {
        await tx.run(sql`INSERT INTO kv (k, v) VALUES ('lone', 1)`);
        throw new Error('no');
      }),
    );
    assert.deepEqual(committedRows(), []);
    assert.equal(await db.transaction(async (tx) => tx.run(sql`INSERT INTO kv (k, v) VALUES ('lone', 2)`)), 1);
    assert.deepEqual(committedRows(), ['lone=2']);
  });
});
