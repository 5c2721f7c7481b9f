/**
 * The database seam: one small async interface over SQLite (better-sqlite3) and PostgreSQL (pg).
 * Repositories build SQL with `sql` fragments and run them through an Executor; only the
 * dialect-specific bits (JSON access, placeholders, DDL) differ between the two stores.
 */
import type { Dialect, Sql } from './sql.js';

export type Row = Record<string, unknown>;

export interface Executor {
  readonly dialect: Dialect;
  all<T = Row>(query: Sql): Promise<T[]>;
  get<T = Row>(query: Sql): Promise<T | undefined>;
  /** Runs a statement that returns no rows; resolves to the number of rows it changed. */
  run(query: Sql): Promise<number>;
  /**
   * Runs one statement once per row of named parameters (`@name` in the text, see sql.ts
   * `named`), returning each execution's first row. SQLite only: it prepares the statement once
   * and runs it in process, with no round trips. On PostgreSQL it throws: build one set-based
   * statement there instead.
   */
  each<T = Row>(query: Sql, rows: readonly Record<string, unknown>[]): Promise<(T | undefined)[]>;
  /**
   * Inside a transaction (PostgreSQL): runs `fn` once the transaction has committed, before
   * `transaction()` resolves. Absent outside transactions and on SQLite.
   */
  afterCommit?(fn: () => void): void;
}

export interface Db extends Executor {
  /**
   * Runs fn in one transaction: everything it does commits together or not at all.
   * On SQLite, transactions are serialised (one writer); reads outside transactions never see
   * uncommitted work.
   */
  transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T>;
  /** Runs a multi-statement script (migrations, DDL). */
  exec(script: string): Promise<void>;
  close(): Promise<void>;
  /**
   * PostgreSQL only: LISTEN on `channel` over a connection of its own, reconnecting until the
   * returned function (or close) stops it. `onLive(false)` whenever notifications may be missed.
   */
  listen?(channel: string, onNotification: (payload: string) => void, onLive: (live: boolean) => void): () => Promise<void>;
  /**
   * SQLite files only: called by long background work between its transactions, waits until a
   * write-ahead log that has grown long is copied back, so that it starts over.
   */
  settleLog?(): Promise<void>;
  /**
   * SQLite files only: a number that changes whenever a commit by any connection, this process's
   * or another's, becomes visible to reads here (`PRAGMA data_version` on the read connection).
   * Read outside a transaction, or in the read snapshot this turn of the event loop shares, so
   * it names exactly what a read made now sees: the SQLite read cache is valid while it stays.
   */
  changeVersion?(): number;
  /** A short description for logs: the file or the server, never the password. */
  readonly description: string;
}
