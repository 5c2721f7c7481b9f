import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Db, Executor } from '../db.js';
import { render, type Sql } from '../sql.js';
import { canonicalJson, type JsonValue } from '../../wire/json.js';
import { foldCase } from '../../query/fold.js';
import { applyOperation, finite } from '../../query/pipeline/evaluate.js';
import type { BinaryOp, NaryOp, UnaryOp } from '../../query/pipeline/ast.js';
import { Checkpointer, WRITER_AUTOCHECKPOINT_PAGES } from './checkpointer.js';

type Statement = Database.Statement<unknown[], unknown>;

const STATEMENT_CACHE_SIZE = 1000;

/** better-sqlite3 takes no booleans or undefined; everything else Cairn binds is a string or number. */
function bindable(v: unknown): unknown {
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v === undefined) return null;
  return v;
}

class Connection {
  readonly db: Database.Database;
  private readonly cache = new Map<string, Statement>();

  constructor(file: string, readonly: boolean) {
    this.db = new Database(file, { readonly });
    if (!readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
    }
    this.db.pragma('busy_timeout = 5000');
    this.db.pragma('cache_size = -65536');
    this.db.pragma('temp_store = MEMORY');
    registerFunctions(this.db);
  }

  prepare(text: string): Statement {
    let stmt = this.cache.get(text);
    if (stmt) {
      // keep recently used statements at the end of the Map (LRU order)
      this.cache.delete(text);
      this.cache.set(text, stmt);
      return stmt;
    }
    stmt = this.db.prepare(text);
    this.cache.set(text, stmt);
    if (this.cache.size > STATEMENT_CACHE_SIZE) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    return stmt;
  }

  all<T>(q: Sql): T[] {
    const { text, params } = render(q, 'sqlite');
    return this.prepare(text).all(...params.map(bindable)) as T[];
  }

  get<T>(q: Sql): T | undefined {
    const { text, params } = render(q, 'sqlite');
    return this.prepare(text).get(...params.map(bindable)) as T | undefined;
  }

  each<T>(q: Sql, rows: readonly Record<string, unknown>[]): (T | undefined)[] {
    const { text, params } = render(q, 'sqlite');
    const stmt = this.prepare(text);
    const fixed = params.map(bindable);
    const bindRow = (row: Record<string, unknown>) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(row)) out[k] = bindable(v);
      return out;
    };
    return stmt.reader
      ? rows.map((r) => stmt.get(...fixed, bindRow(r)) as T | undefined)
      : rows.map((r) => {
          stmt.run(...fixed, bindRow(r));
          return undefined;
        });
  }

  run(q: Sql): number {
    const { text, params } = render(q, 'sqlite');
    return this.prepare(text).run(...params.map(bindable)).changes;
  }

  private dataVersionStatement: Statement | undefined;

  /** `PRAGMA data_version`: changes when another connection's commit becomes visible here. */
  dataVersion(): number {
    this.dataVersionStatement ??= this.db.prepare('PRAGMA data_version').pluck();
    return this.dataVersionStatement.get() as number;
  }
}

/**
 * Functions the SQL compiler relies on, identical in meaning to the JS evaluator's:
 * - cairn_lower: Unicode simple lower-casing, src/query/fold.ts (SQLite's lower() folds ASCII only).
 * - cairn_canon: canonical JSON text (keys sorted) so object equality ignores key order,
 *   as PostgreSQL's jsonb equality does.
 * - cairn_px(op, ...operands): an aggregation pipeline operator (src/query/pipeline/evaluate.ts)
 *   on JSON-text operands (NULL for missing), as JSON text.
 * - cairn_finite(x): x, or the pipeline's out-of-range error when x is not a finite number.
 */
function registerFunctions(db: Database.Database): void {
  db.function('cairn_lower', { deterministic: true }, (s: unknown) =>
    typeof s === 'string' ? foldCase(s) : null,
  );
  db.function('cairn_canon', { deterministic: true }, (s: unknown) =>
    typeof s === 'string' ? canonicalJson(JSON.parse(s)) : null,
  );
  const parse = (v: unknown): JsonValue | undefined => (v === null || v === undefined ? undefined : typeof v === 'string' ? (JSON.parse(v) as JsonValue) : (v as JsonValue));
  db.function('cairn_px', { deterministic: true, varargs: true }, (op: unknown, ...operands: unknown[]) =>
    JSON.stringify(applyOperation(op as NaryOp | BinaryOp | UnaryOp | 'substring', operands.map(parse))),
  );
  db.function('cairn_finite', { deterministic: true }, (x: unknown) => (typeof x === 'number' ? finite(x) : (x as null)));
  // Event ids (src/events/outbox.ts), made in the statement that records the events.
  db.function('cairn_uuid', { deterministic: false }, () => randomUUID());
}

/** A FIFO mutex: SQLite has one writer, so write transactions take turns. */
class Mutex {
  private tail: Promise<void> = Promise.resolve();
  locked = false;
  async lock(): Promise<() => void> {
    let release!: () => void;
    const next = new Promise<void>((r) => (release = r));
    const prev = this.tail;
    this.tail = prev.then(() => next);
    await prev;
    this.locked = true;
    return () => {
      this.locked = false;
      release();
    };
  }
  async idle(): Promise<void> {
    while (this.locked) await this.tail;
  }
}

export interface SqliteOptions {
  /** A file path, or ':memory:' for a private in-memory database. */
  readonly file: string;
  /** The WAL file's size once the log starts over (default WAL_FILE_LIMIT_BYTES, 1 GiB). */
  readonly walFileLimitBytes?: number;
}

interface QueuedTransaction {
  readonly fn: (tx: Executor) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * A WAL this long (4 KiB frames: 512 MB) is copied back before background work goes on, so that
 * a long task starts the log over before the writer's own checkpoint (1 GiB, which runs on the
 * event loop) would. Each time costs the task a wait for one checkpoint, about 0.1 s, or the
 * whole 250 ms budget when the batches change pages all over the file. At 64 MB a million-item
 * delete on its own waited about 1 s in all, and ran slower than with no waits in every one of
 * seven A/B pairs (docs/benchmarks.md, third session of 2026-12-04).
 */
const LOG_RESTART_FRAMES = 131_072;

/**
 * Once the log starts over, SQLite cuts the WAL file back to this size (`journal_size_limit`).
 * Not lower: a log that starts over is written from the file's start again, and writing over
 * space the file already has is cheaper than growing it. With the file cut back to 64 MB at every
 * restart, million-item tasks grew it again each time and ran slower (EDIT then DELETE, seven
 * A/B pairs; docs/benchmarks.md, fourth session of 2026-12-04). The log starts over at
 * LOG_RESTART_FRAMES when the checkpoint thread keeps up, and at the writer's own checkpoint
 * (1 GiB, the same size) when it does not, so the limit only gives back the space of a log that a
 * long read kept from starting over.
 */
const WAL_FILE_LIMIT_BYTES = WRITER_AUTOCHECKPOINT_PAGES * 4096;

/** The most transactions one COMMIT ends (group commit, SqliteDb.transaction). */
const MAX_GROUP = 64;

export class SqliteDb implements Db {
  readonly dialect = 'sqlite' as const;
  readonly description: string;
  private readonly writer: Connection;
  private readonly reader: Connection;
  private readonly mutex = new Mutex();

  constructor(options: SqliteOptions) {
    const memory = options.file === ':memory:';
    if (!memory) mkdirSync(dirname(options.file), { recursive: true });
    this.writer = new Connection(options.file, false);
    // A second, read-only connection lets reads proceed (and see only committed data) while a
    // write transaction is open. An in-memory database is private to its connection, so there
    // reads share the writer and wait for an open transaction to finish.
    this.reader = memory ? this.writer : new Connection(options.file, true);
    this.description = memory ? 'sqlite (memory)' : `sqlite ${options.file}`;
    if (!memory) {
      this.writer.db.pragma(`wal_autocheckpoint = ${WRITER_AUTOCHECKPOINT_PAGES}`);
      this.writer.db.pragma(`journal_size_limit = ${options.walFileLimitBytes ?? WAL_FILE_LIMIT_BYTES}`);
      this.checkpointer = new Checkpointer(options.file);
      // Every write, this process's too, is another connection's commit to the reader. In
      // memory the one connection never sees its own commits there, so it offers no version.
      this.changeVersion = this.readChangeVersion;
    }
  }

  readonly changeVersion?: () => number;

  /**
   * The change counter as reads now see it. In the turn's read snapshot it is the snapshot's.
   * Outside one, it is read once per turn of the event loop, like the snapshot: asking takes the
   * log's read lock (system calls that cost more than a cache lookup), and another process's
   * commit is seen from the next turn on, as it is by reads. This process's own commits end the
   * snapshot and drop the remembered counter at once (endReadSnapshot).
   */
  private turnVersion: number | undefined;
  private readonly readChangeVersion = (): number => {
    if (this.readSnapshotOpen) return this.reader.dataVersion();
    if (this.turnVersion === undefined) {
      this.turnVersion = this.reader.dataVersion();
      setImmediate(this.forgetTurnVersion);
    }
    return this.turnVersion;
  };
  private readonly forgetTurnVersion = (): void => {
    this.turnVersion = undefined;
  };

  /** File databases: WAL checkpoints in a worker thread (checkpointer.ts says why). */
  private readonly checkpointer: Checkpointer | undefined;

  /**
   * Reads share one read transaction per turn of the event loop. Outside a transaction every
   * SQLite statement takes and drops the WAL read lock (two fcntl calls and an fstat): under
   * load those system calls cost more than the lookup itself. The shared snapshot ends at the
   * next `setImmediate`, or as soon as this process commits a write, so a read never misses a
   * write this process has acknowledged; another process's commit is seen from the next turn
   * on, which no caller can tell apart from a request that arrived a moment earlier.
   */
  private readSnapshotOpen = false;

  private async readConnection(): Promise<Connection> {
    if (this.reader === this.writer) {
      if (this.mutex.locked) await this.mutex.idle();
      return this.reader;
    }
    if (!this.readSnapshotOpen) {
      this.reader.db.exec('BEGIN');
      this.readSnapshotOpen = true;
      setImmediate(this.endReadSnapshot);
    }
    return this.reader;
  }

  private readonly endReadSnapshot = (): void => {
    this.turnVersion = undefined;
    if (!this.readSnapshotOpen) return;
    this.readSnapshotOpen = false;
    if (this.reader.db.inTransaction) this.reader.db.exec('COMMIT');
  };

  async all<T>(q: Sql): Promise<T[]> {
    return (await this.readConnection()).all<T>(q);
  }
  async get<T>(q: Sql): Promise<T | undefined> {
    return (await this.readConnection()).get<T>(q);
  }
  async run(q: Sql): Promise<number> {
    return this.transaction((tx) => tx.run(q));
  }
  async each<T>(q: Sql, rows: readonly Record<string, unknown>[]): Promise<(T | undefined)[]> {
    return this.transaction((tx) => tx.each<T>(q, rows));
  }

  /**
   * Transactions waiting for the writer. They commit in groups (group commit): the transactions
   * queued when the writer comes free run inside one SQLite transaction, each in a savepoint of
   * its own, and one COMMIT ends them all. A COMMIT writes every page its transaction changed to
   * the log, and writers that follow each other change many of the same pages (the hot pages of
   * the table and its indexes, the outbox's last page): a group writes each once, instead of
   * once per transaction.
   *
   * Transaction bodies run to their end without letting the event loop turn (better-sqlite3 is
   * synchronous), so other requests' transactions only get queued between groups: a group lets
   * the event loop turn once before it starts, so that requests already received join it. It
   * never does while its SQLite transaction is open: the write lock is held no longer than the
   * work takes. Nothing else changes for a caller: its work is all or nothing (a failure rolls
   * back to its savepoint and leaves the others be), it sees the work of those queued before
   * it, and `transaction()` resolves only once the COMMIT holding its work is done, so nothing
   * is acknowledged that is not in the log.
   */
  private readonly queued: QueuedTransaction[] = [];
  private groupScheduled = false;

  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queued.push({ fn: fn as (tx: Executor) => Promise<unknown>, resolve: resolve as (v: unknown) => void, reject });
      if (!this.groupScheduled) {
        this.groupScheduled = true;
        void this.runGroups();
      }
    });
  }

  private async runGroups(): Promise<void> {
    try {
      while (this.queued.length > 0) {
        // Let the event loop turn once before the group starts: requests already received reach
        // their transactions and join it.
        await new Promise<void>((resolve) => setImmediate(resolve));
        const release = await this.mutex.lock();
        try {
          await this.runGroup(this.queued.splice(0, MAX_GROUP));
        } finally {
          release();
        }
      }
    } finally {
      this.groupScheduled = false;
    }
  }

  private async runGroup(group: readonly QueuedTransaction[]): Promise<void> {
    const w = this.writer;
    const tx: Executor = {
      dialect: 'sqlite',
      all: async (q) => w.all(q),
      get: async (q) => w.get(q),
      run: async (q) => w.run(q),
      each: async (q, rows) => w.each(q, rows),
    };
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    /** Fails every member run so far (nothing of theirs is committed); the rest go back to the queue. */
    const abandon = (error: unknown, ran: number) => {
      if (w.db.inTransaction) w.db.exec('ROLLBACK');
      group.slice(0, ran).forEach((t, i) => {
        const o = outcomes[i];
        t.reject(o && !o.ok ? o.error : error);
      });
      this.queued.unshift(...group.slice(ran));
    };
    try {
      w.db.exec('BEGIN IMMEDIATE');
    } catch (e) {
      // The database is locked by another process for longer than busy_timeout.
      for (const t of group) t.reject(e);
      return;
    }
    // A group of one needs no savepoint: its failure rolls the transaction back.
    const alone = group.length === 1;
    for (let j = 0; j < group.length; j++) {
      const t = group[j] as QueuedTransaction;
      try {
        if (!alone) w.db.exec('SAVEPOINT cairn_group');
      } catch (error) {
        abandon(error, j);
        return;
      }
      try {
        const value = await t.fn(tx);
        if (!alone) w.db.exec('RELEASE cairn_group');
        outcomes.push({ ok: true, value });
      } catch (error) {
        // SQLite may have ended the whole transaction itself (a full disk, an I/O error): the
        // work of the others before this one is gone too, and none of it is acknowledged.
        if (!w.db.inTransaction || alone) {
          outcomes.push({ ok: false, error });
          abandon(error, j + 1);
          return;
        }
        outcomes.push({ ok: false, error });
        try {
          w.db.exec('ROLLBACK TO cairn_group');
          w.db.exec('RELEASE cairn_group');
        } catch (rollbackError) {
          abandon(rollbackError, j + 1);
          return;
        }
      }
    }
    try {
      w.db.exec('COMMIT');
    } catch (error) {
      abandon(error, group.length);
      return;
    }
    this.endReadSnapshot();
    this.checkpointer?.written();
    group.forEach((t, i) => {
      const o = outcomes[i] as (typeof outcomes)[number];
      if (o.ok) t.resolve(o.value);
      else t.reject(o.error);
    });
  }

  async exec(script: string): Promise<void> {
    const release = await this.mutex.lock();
    try {
      this.writer.db.exec(script);
      this.endReadSnapshot();
    } finally {
      release();
    }
  }

  /**
   * Between the batches of long background work: once the WAL has grown past 512 MB, waits for
   * the checkpoint thread to copy all of it, so the next batch starts the log over
   * (Checkpointer.catchUp says why). The event loop stays free meanwhile.
   */
  async settleLog(): Promise<void> {
    await this.checkpointer?.catchUp(LOG_RESTART_FRAMES);
  }

  /**
   * Copies the whole log into the database file now (`wal_checkpoint(RESTART)`), so the next
   * write starts the log over; rejects if that has not happened within `timeoutMs`. While the
   * checkpoint thread runs a checkpoint, SQLite answers another one "busy" at once and copies
   * nothing (one checkpoint at a time; the busy handler is not called for that), so this tries
   * again every 50 ms. For benchmarks and tests: the running server leaves this to the thread.
   */
  async checkpointAll(timeoutMs = 30_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const release = await this.mutex.lock();
      let done: boolean;
      try {
        // This process's own read snapshot would hold the checkpoint up (RESTART waits for readers).
        this.endReadSnapshot();
        const [r] = this.writer.db.pragma('wal_checkpoint(RESTART)') as { busy: number; log: number; checkpointed: number }[];
        done = r !== undefined && r.busy === 0 && r.checkpointed === r.log;
      } finally {
        release();
      }
      if (done) return;
      if (performance.now() > deadline) throw new Error(`the SQLite log could not be checkpointed in ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Synchronous access for the rare caller that needs it (benchmarks' raw baselines). */
  get raw(): Database.Database {
    return this.writer.db;
  }

  async close(): Promise<void> {
    await this.mutex.idle();
    await this.checkpointer?.close();
    this.endReadSnapshot();
    if (this.reader !== this.writer) this.reader.db.close();
    this.writer.db.close();
  }
}
