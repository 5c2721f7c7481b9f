/**
 * The checkpoint thread's catch-up (src/store/sqlite/checkpointer.ts): once the WAL has grown
 * past the limit, catchUp waits until a checkpoint has copied all of it, and the next write
 * starts the log over from its beginning instead of appending to it. Without it, writes that
 * follow each other closely (task batches) grow the log for as long as they last.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Checkpointer } from '../src/store/sqlite/checkpointer.js';
import { openDb } from '../src/store/open.js';
import { sql } from '../src/store/sql.js';

describe('SQLite checkpoint catch-up', () => {
  let dir: string;
  let file: string;
  let writer: Database.Database;
  let checkpointer: Checkpointer;
  /**
   * The WAL file's size. A log that starts over is written from the file's beginning again, so
   * the file only grows while the log is appended to. (Asking SQLite for the log's length would
   * run a checkpoint, which is what is under test.)
   */
  const walBytes = () => statSync(`${file}-wal`).size;
  const write = (rows: number) => {
    const insert = writer.prepare('INSERT INTO t (v) VALUES (?)');
    writer.transaction(() => {
      for (let i = 0; i < rows; i++) insert.run('x'.repeat(500));
    })();
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cairn-ckpt-'));
    file = join(dir, 'c.db');
    writer = new Database(file);
    writer.pragma('journal_mode = WAL');
    writer.pragma('wal_autocheckpoint = 0');
    writer.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    checkpointer = new Checkpointer(file, 1_000_000);
  });
  after(async () => {
    await checkpointer.close();
    writer.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('past the limit, the next write starts the log over; without it, writes append', async () => {
    for (let i = 0; i < 20; i++) write(200);
    const grown = walBytes();
    // The thread has not run (its timer is far off, and the writer never checkpoints itself):
    // with a limit of 0, catchUp always asks it for a checkpoint.
    checkpointer.written();
    await checkpointer.catchUp(0);
    for (let i = 0; i < 10; i++) write(200);
    assert.equal(walBytes(), grown, 'half as many writes again fit in the file: the log started over');
    // No catch-up: the same writes again are appended after the ten just made.
    for (let i = 0; i < 20; i++) write(200);
    const appended = walBytes();
    assert.ok(appended > grown, `${appended} > ${grown}`);
  });

  test('below the limit it returns without a checkpoint', async () => {
    const before = walBytes();
    await checkpointer.catchUp(1_000_000_000);
    for (let i = 0; i < 20; i++) write(200);
    assert.ok(walBytes() > before);
  });

  test('a reader holding old frames cannot keep it waiting: it returns, and writes append', { timeout: 30_000 }, async () => {
    const reader = new Database(file, { readonly: true });
    try {
      reader.exec('BEGIN');
      reader.prepare('SELECT count(*) FROM t').get();
      for (let i = 0; i < 10; i++) write(200);
      const before = walBytes();
      checkpointer.written();
      await checkpointer.catchUp(0);
      // The reader still needs the frames after its snapshot: the log cannot start over.
      write(200);
      assert.ok(walBytes() > before);
      reader.exec('COMMIT');
    } finally {
      reader.close();
    }
  });
});

describe('SQLite WAL file after the log starts over', () => {
  test('a log grown past 64 MB is cut back to 64 MB, and the data is all there', { timeout: 60_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-wal-limit-'));
    const file = join(dir, 'w.db');
    const db = await openDb({ sqliteFile: file });
    try {
      await db.exec('CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
      const limit = 64 * 1024 * 1024;
      // About 100 MB of log: more than the limit, less than the runner's catch-up threshold.
      const row = 'x'.repeat(3000);
      for (let t = 0; t < 25; t++) {
        await db.transaction(async (tx) => {
          for (let i = 0; i < 1000; i++) await tx.run(sql`INSERT INTO big (v) VALUES (${row})`);
        });
      }
      const grown = statSync(`${file}-wal`).size;
      assert.ok(grown > limit, `the log grew to ${grown} bytes`);
      // A checkpoint that copies every frame (RESTART waits for the checkpoint thread's own, if
      // one is running), then a write: the write starts the log over, and its commit cuts the
      // file back.
      await db.exec('PRAGMA wal_checkpoint(RESTART)');
      await db.run(sql`INSERT INTO big (v) VALUES ('after')`);
      const after = statSync(`${file}-wal`).size;
      assert.ok(after <= limit, `${after} <= ${limit}`);
      const count = await db.get<{ n: number }>(sql`SELECT count(*) AS n FROM big`);
      assert.equal(count?.n, 25 * 1000 + 1);
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
