/**
 * Shared pieces of `npm run bench`: stores, servers, fast data loading, timing, the load
 * generator child process, and the result table.
 *
 * Every figure is printed beside a baseline measured in the same run on the same machine, so
 * the ratios mean something on any machine; the absolute numbers do not.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { buildApp, type AppOptions, type Cairn } from '../src/http/app.js';
import { BENCH_ADMIN_KEY } from './key.js';

export { BENCH_ADMIN_KEY };
import { loadConfig } from '../src/config.js';
import { uuidV7 } from '../src/ids.js';
import { buildStored } from '../src/items/codec.js';
import type { Db } from '../src/store/db.js';
import { openDb } from '../src/store/open.js';
import type { SqliteDb } from '../src/store/sqlite/db.js';
import { sql, valuesList, type Sql } from '../src/store/sql.js';
import type { RunnerOptions } from '../src/tasks/runner.js';
import type { JsonObject } from '../src/wire/json.js';
import { openTestStore } from '../test/helpers/stores.js';

export type StoreName = 'sqlite' | 'postgres';

export interface BenchOptions {
  quick: boolean;
  stores: StoreName[];
}

// ---------------------------------------------------------------------------------------------
// Stores and servers

export interface BenchStore {
  readonly name: StoreName;
  readonly db: Db;
  /** PostgreSQL: a connection string whose search_path is this store's fresh schema. */
  readonly url?: string;
  close(): Promise<void>;
}

/**
 * A fresh, migrated store. SQLite is a file in a temporary directory (WAL, a writer and a reader
 * connection: what `npm start` runs), not `:memory:`, where reads would wait for writes.
 * PostgreSQL is a fresh schema (test/helpers/stores.ts), dropped on close.
 */
export async function openBenchStore(name: StoreName): Promise<BenchStore> {
  if (name === 'postgres') {
    const s = await openTestStore('postgres');
    return { name, db: s.db, url: s.url as string, close: () => s.close() };
  }
  const dir = mkdtempSync(joinPath(tmpdir(), 'cairn-bench-'));
  const db = await openDb({ sqliteFile: joinPath(dir, 'bench.db') });
  return {
    name,
    db,
    close: async () => {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface BenchServer {
  readonly cairn: Cairn;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Cairn over the store, listening on a loopback port, as `npm start` builds it: the runner
 * settings come from the environment with their defaults (src/config.ts), no request logs.
 */
export async function startCairn(store: BenchStore, runner?: RunnerOptions | false, extra: Partial<AppOptions> = {}): Promise<BenchServer> {
  const config = loadConfig();
  const defaults: RunnerOptions = {
    batchSize: config.taskBatchSize,
    maxBatchSize: config.taskMaxBatchSize,
    ...(config.taskBatchTargetMs ? { batchTargetMs: config.taskBatchTargetMs } : {}),
  };
  const cairn = await buildApp({
    db: store.db,
    logLevel: 'silent',
    adminKey: BENCH_ADMIN_KEY,
    ...(runner === false ? { runTasks: false } : { runner: { ...defaults, ...runner } }),
    ...extra,
  });
  await cairn.app.listen({ port: 0, host: '127.0.0.1' });
  const address = cairn.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return { cairn, url: `http://127.0.0.1:${port}`, close: () => cairn.app.close() };
}

// ---------------------------------------------------------------------------------------------
// Data

export const OWNER = '00000000-0000-0000-0000-000000000001';

/** Distinct values of `sku`: each value is held by n / SKUS items. */
export const SKUS = 10_000;

/** A product-like item of about 330 bytes of JSON. */
export function itemFields(i: number): JsonObject {
  return {
    title: `Item number ${i}`,
    sku: `sku-${i % SKUS}`,
    category: `cat-${i % 50}`,
    price: (i * 7919) % 1000,
    qty: i % 100,
    count: 0,
    active: i % 2 === 0,
    tags: ['alpha', `t${i % 7}`],
    description: `A moderately long description of item ${i}, so rows have a realistic size.`,
    dims: { w: i % 30, h: i % 40, unit: 'cm' },
  };
}

export async function createCollection(cairn: Cairn, id: string): Promise<void> {
  await cairn.collections.create({
    id,
    displayName: id,
    fields: [
      { key: 'title', type: 'TEXT' },
      { key: 'sku', type: 'TEXT' },
      { key: 'price', type: 'NUMBER' },
      { key: 'tags', type: 'ARRAY' },
    ],
  });
}

const SQLITE_ROWS_PER_STATEMENT = 500;
const SQLITE_ROWS_PER_TX = 50_000;
const PG_ROWS_PER_STATEMENT = 5_000;
const PG_ROWS_PER_TX = 50_000;

/**
 * How loaded items get their ids: `random` (version 4 UUIDs, as a caller that brings its own ids
 * sends them, for example items imported from Wix) or `time-ordered` (the version 7 UUIDs Cairn
 * gives an item inserted without `_id`, taken at the item's creation time, so id order is
 * creation order).
 */
export type LoadedIds = 'random' | 'time-ordered';

/**
 * Inserts n items straight into the items table, in the row format ItemWriter writes
 * (buildStored). Setup only: multi-row INSERTs in big transactions. Returns the ids in insertion
 * order.
 */
export async function loadItems(store: BenchStore, collectionId: string, n: number, first = 0, idKind: LoadedIds = 'random'): Promise<string[]> {
  const ids: string[] = [];
  // Creation dates one millisecond apart, so the default sort (_createdDate DESC) has an order.
  const base = Date.now() - (first + n);
  const rowAt = (i: number) => {
    const id = idKind === 'random' ? randomUUID() : uuidV7(base + i, 0);
    ids.push(id);
    const date = new Date(base + i).toISOString();
    const s = buildStored(id, itemFields(i), date, date, OWNER);
    return [collectionId, 'LIVE', id, s.json, date, date, OWNER, 'PUBLISHED', 1];
  };
  if (store.name === 'sqlite') {
    for (let start = first; start < first + n; start += SQLITE_ROWS_PER_TX) {
      const end = Math.min(first + n, start + SQLITE_ROWS_PER_TX);
      await store.db.transaction(async (tx) => {
        for (let s = start; s < end; s += SQLITE_ROWS_PER_STATEMENT) {
          const rows: unknown[][] = [];
          for (let i = s; i < Math.min(end, s + SQLITE_ROWS_PER_STATEMENT); i++) rows.push(rowAt(i));
          // canon = 1: the text is buildStored's, as Cairn's own inserts write it.
          await tx.run(sql`INSERT INTO items (collection_id, env, id, data, created_date, updated_date, owner, publish_status, canon) VALUES ${valuesList(rows)}`);
        }
      });
    }
    return ids;
  }
  // PostgreSQL: unnest() of one array per column, many thousand rows per statement.
  const client = new pg.Client({ connectionString: store.url });
  await client.connect();
  try {
    for (let start = first; start < first + n; start += PG_ROWS_PER_TX) {
      const end = Math.min(first + n, start + PG_ROWS_PER_TX);
      await client.query('BEGIN');
      for (let s = start; s < end; s += PG_ROWS_PER_STATEMENT) {
        const cols: unknown[][] = [[], [], [], [], [], [], [], []];
        for (let i = s; i < Math.min(end, s + PG_ROWS_PER_STATEMENT); i++) rowAt(i).slice(0, 8).forEach((v, k) => (cols[k] as unknown[]).push(v));
        await client.query(
          `INSERT INTO items (collection_id, env, id, data, created_date, updated_date, owner, publish_status, canon)
           SELECT c, e, i, d::jsonb, cd, ud, o, p, 1 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
             AS t(c, e, i, d, cd, ud, o, p)`,
          cols,
        );
      }
      await client.query('COMMIT');
    }
  } finally {
    await client.end();
  }
  return ids;
}

/** Copies every item of one collection into another (same ids, same documents). */
export async function copyItems(store: BenchStore, from: string, to: string): Promise<void> {
  await store.db.transaction((tx) =>
    tx.run(sql`INSERT INTO items (collection_id, env, id, data, created_date, updated_date, owner, publish_status, canon)
      SELECT ${to}, env, id, data, created_date, updated_date, owner, publish_status, canon FROM items WHERE collection_id = ${from}`),
  );
}

/**
 * After a bulk load, PostgreSQL's autovacuum would gather statistics within a minute; the bench
 * does it at once so the planner sees the table as a running server would. (Cairn does not run
 * ANALYZE on SQLite, so neither does the bench.)
 */
export async function analyze(store: BenchStore): Promise<void> {
  if (store.name === 'postgres') await store.db.exec('ANALYZE items');
}

/**
 * Starts a timed phase from a quiet store, so one phase's background work never lands in the
 * next phase's time. SQLite: the WAL left by the setup (or by the phase before) is copied into
 * the database file first (Cairn checkpoints in a background thread; without this, loading a few
 * hundred thousand items leaves it busy for seconds into whatever is measured next). RESTART, not
 * TRUNCATE: the next write starts the log over in the file's space, as on a server that has been
 * writing for a while; a file cut to nothing made each phase pay for growing it again
 * (SqliteDb.checkpointAll).
 * PostgreSQL: the items are vacuumed (loading a million rows, or changing them, sets off
 * autovacuum, which would otherwise scan the whole table, every copy of the items, in the middle
 * of the next measurement), and a checkpoint writes out what the phase before left dirty.
 */
export async function settle(store: BenchStore): Promise<void> {
  if (store.name === 'sqlite') {
    await (store.db as SqliteDb).checkpointAll();
    return;
  }
  await store.db.exec('VACUUM (ANALYZE) items');
  await store.db.exec('VACUUM events');
  // CHECKPOINT needs a superuser or pg_checkpoint; without either, the phase starts as it is.
  await store.db.exec('CHECKPOINT').catch(() => {});
}

/**
 * The hand-written equivalent of the events Cairn records for a change (an event per item, in
 * the change's transaction, since issue 5): one INSERT ... SELECT of the rows `where` selects,
 * with `data` as each event's document (`NULL` for deletions).
 */
export function rawEventsInsert(dialect: 'sqlite' | 'postgres', type: string, where: Sql, data: Sql, now: string): Sql {
  const uuid = dialect === 'postgres' ? sql`gen_random_uuid()::text` : sql`cairn_uuid()`;
  return sql`INSERT INTO events (id, type, collection_id, env, entity_id, event_time, data)
    SELECT ${uuid}, CAST(${type} AS TEXT), collection_id, env, id, CAST(${now} AS TEXT), ${data} FROM items WHERE ${where}`;
}

export async function countItems(store: BenchStore, collectionId: string): Promise<number> {
  const row = await store.db.get<{ n: number | string }>(sql`SELECT count(*) AS n FROM items WHERE collection_id = ${collectionId}`);
  return Number(row?.n ?? 0);
}

// ---------------------------------------------------------------------------------------------
// Timing

export function median(xs: readonly number[]): number {
  return percentile(xs, 50);
}

export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const k = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[k] as number;
}

/** Runs fn `warmup` times untimed, then `runs` times; returns each run's milliseconds. */
export async function timeRuns(fn: () => Promise<unknown>, runs: number, warmup = Math.min(5, runs)): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------------------------
// Load generator: autocannon in a child process (bench/load.ts), so that it never shares the
// server's event loop.

export interface LoadRequest {
  url: string;
  method?: 'GET' | 'POST';
  /** Paths used in turn, one per request (e.g. GET by id over many ids). */
  paths?: string[];
  path?: string;
  body?: string;
  connections: number;
  /** Seconds; or `amount` requests; or run until stop(). */
  duration?: number;
  amount?: number;
  /** Requests per second over all connections (open-loop-ish pacing); no limit if absent. */
  overallRate?: number;
}

export interface LoadResult {
  requests: number;
  /** Wall seconds from first request to end. */
  seconds: number;
  rps: number;
  /** Milliseconds, from every response's own time (not corrected for coordinated omission). */
  p50: number;
  p99: number;
  max: number;
  errors: number;
  non2xx: number;
  bytesPerResponse: number;
}

const LOAD_SCRIPT = fileURLToPath(new URL('./load.ts', import.meta.url));

export class LoadGenerator {
  private readonly child: ChildProcess;
  private readonly ready: Promise<void>;
  private pending: ((m: any) => void)[] = [];

  constructor() {
    this.child = fork(LOAD_SCRIPT, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: any) => this.pending.shift()?.(m));
    // A crashed child must not leave the bench waiting forever.
    this.child.on('exit', (code) => {
      for (const p of this.pending.splice(0)) p({ type: 'fatal', message: `load generator exited (${code})` });
    });
    this.ready = this.next().then((m) => {
      if (m?.type !== 'ready') throw new Error(`load generator: ${JSON.stringify(m)}`);
    });
  }

  private next(): Promise<any> {
    return new Promise((resolve) => this.pending.push(resolve));
  }

  /** Runs a load to its end (duration or amount). */
  async run(req: LoadRequest): Promise<LoadResult> {
    const started = await this.start(req);
    return started.done;
  }

  /** Starts a load that runs until stop() (or its own duration); resolves once it is under way. */
  async start(req: LoadRequest): Promise<{ done: Promise<LoadResult>; stop: () => void }> {
    await this.ready;
    const startedMsg = this.next();
    const doneMsg = this.next();
    this.child.send({ type: 'run', req });
    const m = await startedMsg;
    if (m?.type !== 'started') throw new Error(`load generator: ${JSON.stringify(m)}`);
    const done = doneMsg.then((m) => {
      if (m.type !== 'result') throw new Error(`load generator: ${JSON.stringify(m)}`);
      return m.result as LoadResult;
    });
    return { done, stop: () => this.child.send({ type: 'stop' }) };
  }

  close(): void {
    this.child.kill();
  }
}

// ---------------------------------------------------------------------------------------------
// Results

export interface Row {
  section: string;
  store: StoreName | '-';
  metric: string;
  measured: string;
  baseline: string;
  /** Measured relative to the baseline, in the direction the target is written. */
  ratio: number | undefined;
  target: string;
  /** undefined: informational row without a target. */
  pass: boolean | undefined;
}

export function fmt(n: number, digits = 2): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  if (a >= 1000) return Math.round(n).toLocaleString('en-US');
  if (a >= 100) return n.toFixed(Math.max(0, digits - 2));
  if (a >= 10) return n.toFixed(Math.max(1, digits - 1));
  return n.toFixed(digits);
}

export function verdict(pass: boolean | undefined): string {
  return pass === undefined ? 'info' : pass ? 'PASS' : 'FAIL';
}

export function formatTable(rows: readonly Row[]): string {
  const header = ['section', 'store', 'metric', 'measured', 'baseline', 'ratio', 'target', 'result'];
  const body = rows.map((r) => [
    r.section,
    r.store,
    r.metric,
    r.measured,
    r.baseline,
    r.ratio === undefined ? '—' : fmt(r.ratio),
    r.target,
    verdict(r.pass),
  ]);
  const lines = [header, header.map(() => '---'), ...body].map((cells) => `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`);
  return lines.join('\n');
}

export function log(...args: unknown[]): void {
  process.stderr.write(`${args.map(String).join(' ')}\n`);
}
