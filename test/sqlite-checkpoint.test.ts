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
import { SqliteDb } from '../src/store/sqlite/db.js';
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
  /**
   * Grows the log to about 100 MB (more than 64 MB, less than the runner's catch-up threshold),
   * then copies all of it back and writes once more, until that write starts the log over (its
   * commit applies `journal_size_limit`). Resolves to the WAL file's size before and after.
   */
  async function growAndRestart(db: SqliteDb, file: string): Promise<{ grown: number; after: number }> {
    const walSize = () => statSync(`${file}-wal`).size;
    await db.exec('CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    const row = 'x'.repeat(3000);
    for (let t = 0; t < 25; t++) {
      await db.transaction(async (tx) => {
        for (let i = 0; i < 1000; i++) await tx.run(sql`INSERT INTO big (v) VALUES (${row})`);
      });
    }
    const grown = walSize();
    // A write starts the log over only if no other connection (the checkpoint thread's, say)
    // reads it at that moment; otherwise the write is appended (the file grows): round again.
    let after = grown;
    for (let round = 0; round < 10; round++) {
      await db.checkpointAll(5_000);
      const before = walSize();
      await db.run(sql`INSERT INTO big (v) VALUES (${`after ${round}`})`);
      after = walSize();
      if (after <= before) break; // the write went to the log's start: it started over
    }
    const count = await db.get<{ n: number }>(sql`SELECT count(*) AS n FROM big WHERE v <> ${row}`);
    assert.ok((count?.n ?? 0) >= 1, 'the writes after the restart are there');
    const all = await db.get<{ n: number }>(sql`SELECT count(*) AS n FROM big WHERE v = ${row}`);
    assert.equal(all?.n, 25 * 1000, 'every row written before is there');
    return { grown, after };
  }

  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cairn-wal-limit-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a file grown past the limit is cut back to it', { timeout: 60_000 }, async () => {
    const file = join(dir, 'limited.db');
    const limit = 64 * 1024 * 1024;
    const db = new SqliteDb({ file, walFileLimitBytes: limit });
    try {
      const { grown, after } = await growAndRestart(db, file);
      assert.ok(grown > limit, `the log grew to ${grown} bytes`);
      assert.ok(after <= limit, `${after} <= ${limit}`);
    } finally {
      await db.close();
    }
  });

  test('by default the file keeps the space a 100 MB log took (1 GiB limit)', { timeout: 60_000 }, async () => {
    // Writing over the file's own space is cheaper than growing it again (db.ts says why).
    const file = join(dir, 'default.db');
    const db = (await openDb({ sqliteFile: file })) as SqliteDb;
    try {
      const { grown, after } = await growAndRestart(db, file);
      assert.ok(grown > 64 * 1024 * 1024, `the log grew to ${grown} bytes`);
      assert.ok(after <= grown && after > 64 * 1024 * 1024, `${after} bytes: the log started over in the space it had`);
    } finally {
      await db.close();
    }
  });
});
