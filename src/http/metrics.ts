/**
 * `GET /metrics` in the Prometheus text format (version 0.0.4), written by hand: one histogram
 * and a few gauges do not need a client library, and the per-request part stays a handful of
 * array writes.
 *
 * - Request latency: `http_request_duration_seconds{method, route, status_class}`, a histogram
 *   per route *pattern* (`/wix-data/v2/items/:dataItemId`, never the raw URL, so ids do not make
 *   new series). Each route gets its own onResponse hook at registration (onRoute), closed over
 *   its own series: no lookup, no string building and no allocation per request. Requests that
 *   match no route (404s) are not counted.
 * - Store state, read at scrape time so that every process (API or worker) reports the same
 *   shared truth: tasks by status and the backlog, items processed by tasks, pending webhook
 *   deliveries and the age of the oldest, the outbox's last event, PostgreSQL pool use (or the
 *   SQLite WAL size).
 * - The process: memory, CPU, event-loop delay.
 *
 * The page shows operational data: it needs the admin key unless CAIRN_METRICS_PUBLIC=1.
 */
import type { ItemReadCache } from '../items/read-cache.js';
import { statSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { FastifyInstance, FastifyReply, FastifyRequest, onResponseHookHandler, RouteOptions } from 'fastify';
import { unauthenticated } from '../auth/authenticate.js';
import type { Clock } from '../clock.js';
import { WixError } from '../errors.js';
import type { Db } from '../store/db.js';
import { PostgresDb } from '../store/postgres/db.js';
import { SqliteDb } from '../store/sqlite/db.js';
import { sql } from '../store/sql.js';
import { cairnSchemas } from './schemas/cairn.js';

/** Upper bounds in seconds: sub-millisecond reads up to slow bulk writes. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

const TASK_STATUSES = ['NEW', 'RUNNING', 'COMPLETED', 'FAILED'] as const;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** One histogram series: counts per bucket (not cumulative until written out), sum and count. */
class Series {
  readonly counts = new Float64Array(LATENCY_BUCKETS.length + 1);
  sum = 0;
  count = 0;
  constructor(readonly labels: string) {}

  observe(seconds: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS.length && seconds > (LATENCY_BUCKETS[i] as number)) i++;
    (this.counts[i] as number)++;
    this.sum += seconds;
    this.count++;
  }
}

/** The request-latency histogram, one Series per (route, status class), made on first use. */
export class HttpHistogram {
  private readonly series: Series[] = [];

  /** The onResponse hook of one route. */
  hookFor(method: string, route: string): onResponseHookHandler {
    const byClass: (Series | undefined)[] = [];
    const base = `method="${escapeLabel(method)}",route="${escapeLabel(route)}"`;
    return (_req: FastifyRequest, reply: FastifyReply, done: () => void) => {
      const cls = (reply.statusCode / 100) | 0;
      let s = byClass[cls];
      if (s === undefined) {
        s = new Series(`${base},status_class="${cls}xx"`);
        byClass[cls] = s;
        this.series.push(s);
      }
      s.observe(reply.elapsedTime / 1000);
      done();
    };
  }

  write(out: string[]): void {
    const name = 'http_request_duration_seconds';
    out.push(`# HELP ${name} HTTP request latency by method, route pattern and status class.`, `# TYPE ${name} histogram`);
    for (const s of this.series) {
      let cumulative = 0;
      LATENCY_BUCKETS.forEach((le, i) => {
        cumulative += s.counts[i] as number;
        out.push(`${name}_bucket{${s.labels},le="${le}"} ${cumulative}`);
      });
      cumulative += s.counts[LATENCY_BUCKETS.length] as number;
      out.push(`${name}_bucket{${s.labels},le="+Inf"} ${cumulative}`, `${name}_sum{${s.labels}} ${s.sum}`, `${name}_count{${s.labels}} ${s.count}`);
    }
  }
}

function gauge(out: string[], name: string, help: string, type: 'gauge' | 'counter', samples: [labels: string, value: number][]): void {
  out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  for (const [labels, value] of samples) out.push(`${name}${labels ? `{${labels}}` : ''} ${Number.isFinite(value) ? value : 0}`);
}

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));

/** Metrics read from the store: the same for every process sharing it. */
async function storeMetrics(db: Db, clock: Clock, out: string[]): Promise<void> {
  const tasks = await db.all<{ status: string; n: unknown; ok: unknown; failed: unknown }>(
    sql`SELECT status, count(*) AS n, sum(items_succeeded) AS ok, sum(items_failed) AS failed FROM tasks GROUP BY status`,
  );
  const byStatus = new Map(tasks.map((r) => [r.status, num(r.n)]));
  gauge(out, 'cairn_tasks', 'Background tasks and async jobs in the store, by status.', 'gauge', TASK_STATUSES.map((s) => [`status="${s}"`, byStatus.get(s) ?? 0]));
  gauge(out, 'cairn_tasks_backlog', 'Tasks and async jobs not finished yet (NEW or RUNNING).', 'gauge', [['', (byStatus.get('NEW') ?? 0) + (byStatus.get('RUNNING') ?? 0)]]);
  let ok = 0;
  let failed = 0;
  for (const r of tasks) {
    ok += num(r.ok);
    failed += num(r.failed);
  }
  gauge(out, 'cairn_task_items_total', 'Items processed by background tasks and async jobs (all tasks in the store), by result.', 'counter', [
    ['result="succeeded"', ok],
    ['result="failed"', failed],
  ]);

  // Counted over the (status, next_attempt_at) index: delivered rows are never scanned. Events
  // fanned out but not yet expanded into deliveries (webhook_fanout markers) are pending too;
  // their age is their oldest event's.
  const rows = await db.get<{ n: unknown; oldest: string | null; seq: unknown }>(
    sql`SELECT count(*) AS n, min(created_date) AS oldest, min(event_seq) AS seq FROM webhook_deliveries WHERE status = 'PENDING' AND admitted = 1`,
  );
  const markers = await db.get<{ n: unknown; oldest: string | null; seq: unknown }>(
    db.dialect === 'postgres'
      ? sql`SELECT x.n, x.seq, (SELECT event_time FROM events WHERE seq = x.seq) AS oldest FROM (SELECT coalesce(sum(cardinality(seqs)), 0) AS n, min(first_seq) AS seq FROM webhook_fanout) x`
      : sql`SELECT x.n, x.seq, (SELECT event_time FROM events WHERE seq = x.seq) AS oldest FROM (SELECT coalesce(sum(json_array_length(seqs)), 0) AS n, min(first_seq) AS seq FROM webhook_fanout) x`,
  );
  const least = (a: unknown, b: unknown) => (a === null || a === undefined ? b : b === null || b === undefined ? a : Number(a) <= Number(b) ? a : b);
  const earliest = [rows?.oldest, markers?.oldest].filter((d): d is string => typeof d === 'string').sort()[0] ?? null;
  const pending = { n: Number(rows?.n ?? 0) + Number(markers?.n ?? 0), oldest: earliest, seq: least(rows?.seq, markers?.seq) };
  const dead = await db.get<{ n: unknown }>(sql`SELECT count(*) AS n FROM webhook_deliveries WHERE status = 'DEAD'`);
  const last = await db.get<{ seq: unknown }>(sql`SELECT max(seq) AS seq FROM events`);
  const oldest = pending?.oldest ? Date.parse(pending.oldest) : NaN;
  gauge(out, 'cairn_webhook_deliveries_pending', 'Webhook deliveries not delivered yet (waiting, in flight or backing off).', 'gauge', [['', num(pending?.n)]]);
  gauge(out, 'cairn_webhook_deliveries_dead', 'Webhook deliveries that ran out of attempts (kept until the outbox is cleaned).', 'gauge', [['', num(dead?.n)]]);
  gauge(out, 'cairn_webhook_oldest_pending_age_seconds', 'Age of the oldest pending webhook delivery (0 when none): the outbox lag.', 'gauge', [
    ['', Number.isNaN(oldest) ? 0 : Math.max(0, (clock.now().getTime() - oldest) / 1000)],
  ]);
  gauge(out, 'cairn_webhook_oldest_pending_event_seq', 'Event sequence number of the oldest pending webhook delivery (0 when none).', 'gauge', [['', num(pending?.seq)]]);
  gauge(out, 'cairn_outbox_last_event_seq', 'Sequence number of the last event recorded in the outbox (events behind = this - oldest pending + 1).', 'gauge', [['', num(last?.seq)]]);

  if (db instanceof PostgresDb) {
    const pool = db.pool;
    gauge(out, 'cairn_store_pool_connections', 'PostgreSQL pool connections, by state (total = idle + in use).', 'gauge', [
      ['state="total"', pool.totalCount],
      ['state="idle"', pool.idleCount],
      ['state="in_use"', pool.totalCount - pool.idleCount],
    ]);
    gauge(out, 'cairn_store_pool_max', 'Largest number of PostgreSQL connections the pool opens.', 'gauge', [['', pool.options.max ?? 10]]);
    gauge(out, 'cairn_store_pool_waiting', 'Queries waiting for a free PostgreSQL connection.', 'gauge', [['', pool.waitingCount]]);
  } else if (db instanceof SqliteDb) {
    // SQLite has no pool (one writer, one reader). The WAL file's size: the file keeps up to
    // 1 GiB after the log starts over (db.ts, WAL_FILE_LIMIT_BYTES), so only a file past that
    // says the log could not start over.
    // description is `sqlite <file>` for a file database (`sqlite (memory)` otherwise).
    const file = db.description.startsWith('sqlite ') && !db.description.endsWith('(memory)') ? db.description.slice('sqlite '.length) : undefined;
    let wal = 0;
    if (file !== undefined) {
      try {
        wal = statSync(`${file}-wal`).size;
      } catch {
        wal = 0;
      }
    }
    gauge(out, 'cairn_sqlite_wal_bytes', 'Size of the SQLite write-ahead log file (0 in memory). The file keeps up to 1 GiB of space after the log starts over; more means the log could not start over (a long read, or one very large transaction).', 'gauge', [['', wal]]);
  }
}

export interface MetricsOptions {
  db: Db;
  clock: Clock;
  /** CAIRN_METRICS_PUBLIC: serve /metrics to anyone (default: the admin key only). */
  public?: boolean;
  /** PostgreSQL's read cache, when on. */
  readCache?: ItemReadCache | undefined;
}

/**
 * Installs the per-route latency hooks (call before any route is registered) and `GET /metrics`.
 */
export function installMetrics(app: FastifyInstance, options: MetricsOptions): HttpHistogram {
  const histogram = new HttpHistogram();
  app.addHook('onRoute', (route: RouteOptions) => {
    const method = Array.isArray(route.method) ? route.method.join(',') : route.method;
    const hook = histogram.hookFor(method, route.url);
    const existing = route.onResponse;
    route.onResponse = existing === undefined ? [hook] : Array.isArray(existing) ? [...existing, hook] : [existing, hook];
  });

  const loopDelay = monitorEventLoopDelay({ resolution: 20 });
  loopDelay.enable();
  app.addHook('onClose', async () => loopDelay.disable());

  const guard = async (req: FastifyRequest, reply: FastifyReply) => {
    if (options.public) return;
    if (req.identity.kind === 'anonymous') return unauthenticated(reply, 'Metrics need the admin key (or CAIRN_METRICS_PUBLIC=1): send Authorization: <key>');
    if (req.identity.kind !== 'admin') return reply.status(403).send(new WixError('WDE0027', 'Permission denied: metrics need the admin key').toEnvelope());
  };

  app.get(
    '/metrics',
    { onRequest: guard, schema: cairnSchemas.metrics },
    async (_req, reply) => {
      const out: string[] = [];
      histogram.write(out);
      let up = 1;
      try {
        await storeMetrics(options.db, options.clock, out);
      } catch (e) {
        app.log.error({ err: e }, 'metrics: reading the store failed');
        up = 0;
      }
      gauge(out, 'cairn_store_up', 'Whether the last scrape could read the store.', 'gauge', [['', up]]);
      const cache = options.readCache;
      if (cache) {
        gauge(out, 'cairn_read_cache_lookups_total', 'Reads by id looked up in the read cache, by result.', 'counter', [
          ['result="hit"', cache.hits],
          ['result="miss"', cache.misses],
        ]);
        gauge(out, 'cairn_read_cache_entries', 'Replies held in the read cache.', 'gauge', [['', cache.size]]);
        gauge(out, 'cairn_read_cache_bytes', 'Reply text held in the read cache (UTF-16 code units).', 'gauge', [['', cache.heldBytes]]);
        gauge(out, 'cairn_read_cache_live', 'Whether the read cache serves (1), or serves nothing until it hears changes made elsewhere again (0, PostgreSQL).', 'gauge', [['', cache.isLive ? 1 : 0]]);
      }
      const mem = process.memoryUsage();
      const cpu = process.cpuUsage();
      gauge(out, 'process_resident_memory_bytes', 'Resident memory size in bytes.', 'gauge', [['', mem.rss]]);
      gauge(out, 'nodejs_heap_used_bytes', 'V8 heap in use, in bytes.', 'gauge', [['', mem.heapUsed]]);
      gauge(out, 'process_cpu_seconds_total', 'User and system CPU time spent, in seconds.', 'counter', [['', (cpu.user + cpu.system) / 1e6]]);
      gauge(out, 'process_start_time_seconds', 'Start time of the process since the Unix epoch, in seconds.', 'gauge', [['', Math.round((Date.now() - performance.now()) / 1000)]]);
      // Event-loop delay since the process started, as prom-client names it: on SQLite, batches
      // and statements run on the loop, so this is where a slow one shows.
      const lag = (p: number) => (loopDelay.count > 0 ? loopDelay.percentile(p) / 1e9 : 0);
      gauge(out, 'nodejs_eventloop_lag_p50_seconds', 'Median event-loop delay since the start (sampled every 20 ms).', 'gauge', [['', lag(50)]]);
      gauge(out, 'nodejs_eventloop_lag_p99_seconds', '99th percentile event-loop delay since the start.', 'gauge', [['', lag(99)]]);
      gauge(out, 'nodejs_eventloop_lag_max_seconds', 'Largest event-loop delay since the start.', 'gauge', [['', loopDelay.count > 0 ? loopDelay.max / 1e9 : 0]]);
      return reply.type('text/plain; version=0.0.4; charset=utf-8').send(`${out.join('\n')}\n`);
    },
  );
  return histogram;
}
