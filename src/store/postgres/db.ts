import { createHash } from 'node:crypto';
import pg from 'pg';
import type { Db, Executor } from '../db.js';
import { render, type Sql } from '../sql.js';

/**
 * Cairn reads JSON as text and bigints as numbers on every store, so the repositories see the
 * same row shapes from SQLite and PostgreSQL. A private type table keeps this from leaking into
 * other pg users in the same process.
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 114 || oid === 3802) return (v: string) => v; // json, jsonb: keep the text
    if (oid === 20) return (v: string) => Number(v); // int8 (count(*)): Cairn's counts fit
    return pg.types.getTypeParser(oid, format);
  },
};

/** Names of prepared statements by text: the same text gets the same name on every connection. */
const statementNames = new Map<string, string>();

function statementName(text: string): string {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `cairn_${createHash('sha1').update(text).digest('hex').slice(0, 16)}`;
    statementNames.set(text, name);
  }
  return name;
}

function executorFor(client: pg.Pool | pg.PoolClient, afterCommit?: (fn: () => void) => void): Executor {
  const query = async (q: Sql) => {
    const { text, params } = render(q, 'postgres');
    // pg prepares a named statement on each connection the first time it runs there.
    return client.query(q.reusable ? { name: statementName(text), text, values: params, types } : { text, values: params, types });
  };
  return {
    dialect: 'postgres',
    all: async <T>(q: Sql) => (await query(q)).rows as T[],
    get: async <T>(q: Sql) => (await query(q)).rows[0] as T | undefined,
    run: async (q: Sql) => (await query(q)).rowCount ?? 0,
    each: async () => {
      throw new Error('Executor.each is SQLite-only: build one set-based statement on PostgreSQL');
    },
    ...(afterCommit ? { afterCommit } : {}),
  };
}

const noop = (): void => {};

/**
 * Whether Cairn turns JIT off on its connections: yes, unless the connection string's `options`
 * set `jit` themselves. Cairn's statements are short, and PostgreSQL compiles one with JIT
 * whenever its estimate passes jit_above_cost, which the outbox's fan-out join does on the
 * webhook tables' default estimates: the compile cost a task about 16 ms per batch
 * (docs/benchmarks.md). It is a `SET` on each new connection rather than a startup option, which
 * connection poolers such as PgBouncer refuse.
 */
export function turnsJitOff(connectionString: string): boolean {
  try {
    return !/\bjit\b/.test(new URL(connectionString).searchParams.get('options') ?? '');
  } catch {
    return true;
  }
}

export interface PostgresOptions {
  readonly connectionString: string;
  readonly poolSize?: number;
}

export class PostgresDb implements Db {
  readonly dialect = 'postgres' as const;
  readonly description: string;
  readonly pool: pg.Pool;
  private readonly direct: Executor;
  private readonly connectionString: string;
  private readonly listeners = new Set<Listener>();

  constructor(options: PostgresOptions) {
    this.connectionString = options.connectionString;
    const jitOff = turnsJitOff(options.connectionString);
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.poolSize ?? 10,
      // Awaited before the new connection serves anything. A server that refuses it (no such
      // setting) still serves Cairn, with JIT as configured there.
      ...(jitOff ? { onConnect: (client: pg.ClientBase) => client.query('SET jit = off').then(noop, noop) } : {}),
    });
    // An idle client that errors (server restart) must not crash the process; the pool drops it.
    this.pool.on('error', () => {});
    this.direct = executorFor(this.pool);
    const url = new URL(options.connectionString);
    this.description = `postgres ${url.hostname}:${url.port || 5432}${url.pathname}`;
  }

  all<T>(q: Sql): Promise<T[]> {
    return this.direct.all<T>(q);
  }
  get<T>(q: Sql): Promise<T | undefined> {
    return this.direct.get<T>(q);
  }
  run(q: Sql): Promise<number> {
    return this.direct.run(q);
  }
  each<T>(q: Sql, rows: readonly Record<string, unknown>[]): Promise<(T | undefined)[]> {
    return this.direct.each<T>(q, rows);
  }

  async transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    const committed: (() => void)[] = [];
    try {
      await client.query('BEGIN');
      try {
        const result = await fn(executorFor(client, (f) => committed.push(f)));
        await client.query('COMMIT');
        // The work is committed: a failing notice must not make the caller believe otherwise.
        for (const f of committed) {
          try {
            f();
          } catch {
            // nothing to undo
          }
        }
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => {});
        throw e;
      }
    } finally {
      client.release();
    }
  }

  async exec(script: string): Promise<void> {
    await this.pool.query(script);
  }

  /**
   * Listens on `channel` over a connection of its own (LISTEN holds a session; a pooled one
   * would be handed to other work). `onLive(false)` whenever the connection is lost, when
   * notifications may be missed; `onLive(true)` once listening again. Reconnects until closed.
   */
  listen(channel: string, onNotification: (payload: string) => void, onLive: (live: boolean) => void): () => Promise<void> {
    const listener = new Listener(this.connectionString, channel, onNotification, onLive);
    this.listeners.add(listener);
    listener.start();
    return async () => {
      this.listeners.delete(listener);
      await listener.stop();
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.listeners].map((l) => l.stop()));
    this.listeners.clear();
    await this.pool.end();
  }
}

/** One LISTEN connection, reconnected with backoff until stopped. */
class Listener {
  private client: pg.Client | undefined;
  private stopped = false;
  private retryMs = 100;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly connectionString: string,
    private readonly channel: string,
    private readonly onNotification: (payload: string) => void,
    private readonly onLive: (live: boolean) => void,
  ) {}

  start(): void {
    void this.connect();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const client = new pg.Client({ connectionString: this.connectionString });
    this.client = client;
    let lost = false;
    const lose = (): void => {
      if (lost) return;
      lost = true;
      this.onLive(false);
      client.end().catch(noop);
      if (this.client === client) this.client = undefined;
      if (!this.stopped) {
        this.timer = setTimeout(() => void this.connect(), this.retryMs);
        this.timer.unref();
      }
      this.retryMs = Math.min(this.retryMs * 2, 5000);
    };
    client.on('error', lose);
    client.on('end', lose);
    client.on('notification', (n) => {
      if (n.channel === this.channel) this.onNotification(n.payload ?? '');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${pg.escapeIdentifier(this.channel)}`);
      if (this.stopped || lost) return;
      this.retryMs = 100;
      this.onLive(true);
    } catch {
      lose();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    this.onLive(false);
    if (client) await client.end().catch(noop);
  }
}
