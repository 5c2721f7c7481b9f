/**
 * The webhook delivery worker: sends the `webhook_deliveries` rows the outbox queued, as signed
 * HTTP POSTs (Standard Webhooks), with retries, a dead letter and retention of old rows.
 *
 * - Admit: the outbox writes delivery rows not yet admitted (`admitted = 0`), so the write only
 *   appends to indexes in `seq` order. Before claiming, a worker admits them (admitDeliveries):
 *   they enter the per-entity ordering index and become claimable. That index is keyed by entity,
 *   so inserting into it dirties about one page per row; this way that cost is the worker's, not
 *   the write's.
 * - Claim: one statement (PostgreSQL, `FOR UPDATE SKIP LOCKED`, so any number of processes
 *   deliver together and never hold the same row at once) or one transaction of two (SQLite,
 *   whose BEGIN IMMEDIATE admits one writer). A claimable row is PENDING, due, not leased, and
 *   the earliest PENDING delivery of its (webhook, entity): one entity's events go out one at a
 *   time in entityEventSequence order, while different entities go out in parallel. A claim
 *   leases the row (`locked_by`, `locked_until`) and moves `next_attempt_at` to the lease's end,
 *   so rows in flight leave the due range, and a row whose worker died is due again when its
 *   lease runs out: delivery is at least once.
 * - Send: node:http(s) with keep-alive agents (global fetch costs several times more CPU per
 *   request on Node 20), at most `concurrency` requests at once, each with a timeout.
 *   A 2xx reply delivers; anything else (another status, a redirect, a network error, the
 *   timeout) is a failed attempt, retried after an exponential backoff with full jitter, until
 *   `maxAttempts` make it DEAD (dead letter; the replay route brings it back).
 * - Mark: results are written in set-based statements (one UPDATE for every success of a flush,
 *   one for every failure), while sends go on: claiming, sending and marking overlap.
 * - Retention: every `retentionEveryMs`, DELIVERED and DEAD rows older than the retention are
 *   deleted, then events older than the retention that no remaining delivery can need.
 *
 * docs/webhooks.md is the prose version.
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { hostname } from 'node:os';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { systemClock } from '../clock.js';
import type { Db, Executor } from '../store/db.js';
import { join, sql, type Sql } from '../store/sql.js';
import { eventEnvelope, type EventRow } from './payload.js';
import { secretKey, sign } from './sign.js';

export interface DeliveryOptions {
  workerId?: string;
  /** Rows per claim (default 500). */
  batchSize?: number;
  /** Requests in flight at once (default 32). */
  concurrency?: number;
  /** Per-request timeout, ms (default 10 s). */
  timeoutMs?: number;
  /** How long a claim lasts (default: timeoutMs + 20 s). A row whose worker died is sent again after it. */
  leaseMs?: number;
  /** Attempts before a delivery is DEAD (default 10). */
  maxAttempts?: number;
  /** Backoff base, ms: attempt n waits a random time in [0, min(cap, base * 2^(n-1))) (default 1000). */
  retryBaseMs?: number;
  /** Backoff cap, ms (default 1 h). */
  retryCapMs?: number;
  /** How often an idle worker looks for due rows, ms (default 200). */
  pollMs?: number;
  /** Delivered and dead rows, and events, are kept this long (default 72 h). */
  retentionHours?: number;
  /** How often the retention sweep runs, ms (default 60 s). */
  retentionEveryMs?: number;
  /** On stop, how long requests in flight may take to finish before they are abandoned (default 2 s). */
  stopGraceMs?: number;
  onError?: (e: unknown) => void;
}

/** The worker's settings from the environment (CAIRN_WEBHOOK_*, CAIRN_EVENT_RETENTION_HOURS). */
export function deliveryOptionsFrom(config: Config): DeliveryOptions {
  return {
    maxAttempts: config.webhookMaxAttempts,
    retryBaseMs: config.webhookRetryBaseMs,
    retryCapMs: config.webhookRetryCapMs,
    timeoutMs: config.webhookTimeoutMs,
    concurrency: config.webhookConcurrency,
    retentionHours: config.eventRetentionHours,
    ...(config.webhookLeaseMs !== undefined ? { leaseMs: config.webhookLeaseMs } : {}),
    ...(config.workerId ? { workerId: `${config.workerId}:webhooks` } : {}),
  };
}

interface ClaimRow {
  webhook_id: string;
  event_seq: number | string;
  attempts: number;
  url: string;
  secret: string;
  e_seq: number | string | null;
  e_id: string | null;
  e_type: string | null;
  e_collection_id: string | null;
  e_env: string | null;
  e_entity_id: string | null;
  e_event_time: string | null;
  e_data: string | null;
}

interface Job {
  webhookId: string;
  seq: number;
  attempts: number;
  url: string;
  secret: string;
  event: EventRow | null;
}

type Outcome =
  | { job: Job; ok: true; status: number }
  | { job: Job; ok: false; status: number | null; error: string; permanent?: boolean }
  /** Abandoned on stop: nothing is recorded, the row is handed back. */
  | { job: Job; abandoned: true };

/** Fan-out markers expanded per admission (each names the events of one write, up to 1000 or so): small
 * admissions keep claims flowing between them; 20 at a time halved delivery throughput on PostgreSQL. */
export const ADMIT_BATCH = 4;
/** PostgreSQL: the advisory lock one admitter holds at a time ("caid"). */
const ADMIT_LOCK = 0x63616964;

/** The entity a delivery is ordered by, from an `events` row aliased `e`. */
export const ENTITY_KEY = sql`coalesce(e.collection_id, '') || '/' || coalesce(e.env, '') || '/' || e.entity_id`;

/**
 * Admits what the outbox fanned out: expands fan-out markers (`webhook_fanout`, one per write and
 * webhook) into delivery rows, the `limit` markers with the lowest ids (all of one webhook's when
 * `webhookId` is given, then with no limit), and deletes them, in one transaction. Resolves to
 * how many markers, or to null when another PostgreSQL process is admitting (`wait` false) and
 * nothing was done.
 *
 * Why each entity's events stay in order. A claim checks for an earlier PENDING delivery of the
 * same (webhook, entity) among delivery rows. That is enough because admission keeps this
 * invariant: when an event's delivery row is made, the rows of every earlier event of the same
 * (webhook, entity) exist too (or existed, and are no longer pending). An entity's events commit
 * in order: a write locks the item's row (or holds the one SQLite writer) before its events and
 * their marker are inserted, and keeps it until commit; so the earlier event's marker committed
 * first, and drew the lower id (identity values are drawn at insert). An admission whose
 * snapshot sees the later marker therefore sees the earlier one, and takes it as well, since it
 * takes the lowest ids it sees (or all of the webhook's). The snapshot must be taken after the
 * previous admission committed: on SQLite the one writer ensures it; on PostgreSQL admitters take
 * an advisory lock and read in the next statement (READ COMMITTED: a new snapshot). Markers still
 * invisible (their transactions in flight) hold events of other entities only.
 */
export async function admitDeliveries(tx: Executor, opts: { limit?: number; webhookId?: string; wait?: boolean } = {}): Promise<number | null> {
  const limit = opts.webhookId === undefined ? sql` LIMIT ${opts.limit ?? ADMIT_BATCH}` : sql``;
  const which = opts.webhookId === undefined ? sql`` : sql` WHERE webhook_id = ${opts.webhookId}`;
  // A webhook deleted since its markers were written takes nothing (deleteWebhooks drops its
  // markers too; the join covers a deletion racing an admission on PostgreSQL). A delivery is
  // due from its event's time, as if made by the write: claims go oldest first, so an entity's
  // earliest pending event comes before the later ones it holds back.
  const expand = (markers: Sql, seqs: Sql) => sql`
    INSERT INTO webhook_deliveries (webhook_id, event_seq, entity_key, status, attempts, next_attempt_at, created_date, admitted)
    SELECT m.webhook_id, e.seq, ${ENTITY_KEY}, 'PENDING', 0, e.event_time, e.event_time, 1
    FROM ${markers} JOIN events e ON e.seq = ${seqs} JOIN webhooks w ON w.id = m.webhook_id
    ORDER BY e.seq
    ON CONFLICT (webhook_id, event_seq) DO NOTHING`;
  if (tx.dialect === 'postgres') {
    if (opts.wait) {
      await tx.run(sql`SELECT pg_advisory_xact_lock(${ADMIT_LOCK})`);
    } else {
      const got = await tx.get<{ ok: boolean }>(sql`SELECT pg_try_advisory_xact_lock(${ADMIT_LOCK}) AS ok`);
      if (!got?.ok) return null;
    }
    const rows = await tx.all<{ n: string | number }>(sql`
      WITH m AS (DELETE FROM webhook_fanout WHERE id IN (SELECT id FROM webhook_fanout${which} ORDER BY id${limit}) RETURNING webhook_id, seqs),
      d AS (${expand(sql`m CROSS JOIN LATERAL unnest(m.seqs) AS s(seq)`, sql`s.seq`)})
      SELECT count(*) AS n FROM m`);
    return Number(rows[0]?.n ?? 0);
  }
  const ids = (await tx.all<{ id: number }>(sql`SELECT id FROM webhook_fanout${which} ORDER BY id${limit}`)).map((r) => r.id);
  if (ids.length === 0) return 0;
  const chosen = sql`(${join(
    ids.map((id) => sql`${id}`),
    ', ',
  )})`;
  await tx.run(expand(sql`(SELECT webhook_id, seqs FROM webhook_fanout WHERE id IN ${chosen}) AS m, json_each(m.seqs) AS j`, sql`j.value`));
  await tx.run(sql`DELETE FROM webhook_fanout WHERE id IN ${chosen}`);
  return ids.length;
}

const ERROR_TEXT_MAX = 500;
/** PostgreSQL: the least time between two ANALYZEs of webhook_deliveries by one worker. */
const ANALYZE_EVERY_MS = 30_000;
const RESPONSE_READ_MAX = 64 * 1024;
const SWEEP_CHUNK = 5000;
/**
 * `status = 'PENDING'` for SQLite's UPDATE … FROM json_each: the unary `+` keeps the planner
 * off the (status, next_attempt_at) index, which would scan every pending row and the JSON list
 * for each; without it, it walks the list and finds each row by primary key.
 */
const SQLITE_PENDING = sql`+webhook_deliveries.status = 'PENDING'`;

export class DeliveryWorker {
  readonly workerId: string;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly timeoutMs: number;
  private readonly leaseMs: number;
  private readonly maxAttempts: number;
  private readonly retryBaseMs: number;
  private readonly retryCapMs: number;
  private readonly pollMs: number;
  private readonly retentionMs: number;
  private readonly retentionEveryMs: number;
  private readonly stopGraceMs: number;

  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private poked = false;
  private nextSweep = 0;
  private nextAnalyze = 0;

  /** Claimed rows waiting for a free request slot. */
  private readonly queue: Job[] = [];
  /** Requests in flight. */
  private active = 0;
  /** Claimed rows not yet marked (queued, in flight, or waiting in `done`). */
  private outstanding = 0;
  private readonly done: Outcome[] = [];
  private flushing: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly keys = new Map<string, Buffer | null>();
  private readonly urls = new Map<string, URL | null>();
  private readonly agents: { http: HttpAgent; https: HttpsAgent };

  constructor(
    private readonly db: Db,
    private readonly clock: Clock = systemClock,
    private readonly options: DeliveryOptions = {},
  ) {
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}:webhooks`;
    this.batchSize = Math.max(1, options.batchSize ?? 500);
    this.concurrency = Math.max(1, options.concurrency ?? 32);
    this.timeoutMs = Math.max(1, options.timeoutMs ?? 10_000);
    this.leaseMs = Math.max(1, options.leaseMs ?? this.timeoutMs + 20_000);
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 10);
    this.retryBaseMs = Math.max(0, options.retryBaseMs ?? 1000);
    this.retryCapMs = Math.max(0, options.retryCapMs ?? 3_600_000);
    this.pollMs = Math.max(1, options.pollMs ?? 200);
    this.retentionMs = Math.max(0, options.retentionHours ?? 72) * 3_600_000;
    this.retentionEveryMs = Math.max(1, options.retentionEveryMs ?? 60_000);
    this.stopGraceMs = Math.max(0, options.stopGraceMs ?? 2000);
    // Every request in flight listens to the stop signal.
    setMaxListeners(this.concurrency + 16, this.abort.signal);
    this.agents = {
      http: new HttpAgent({ keepAlive: true, maxSockets: this.concurrency }),
      https: new HttpsAgent({ keepAlive: true, maxSockets: this.concurrency }),
    };
  }

  start(): void {
    if (!this.loop) this.loop = this.run();
  }

  /** Looks for due deliveries now rather than at the next poll (events were just written). */
  notify(): void {
    this.poked = true;
    this.wake?.();
  }

  /**
   * Stops claiming, hands back rows claimed but not sent, lets requests in flight finish for up
   * to `stopGraceMs` (then abandons them and hands their rows back too), records the results and
   * resolves. Call it before the store closes.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    const unsent = this.queue.splice(0);
    this.outstanding -= unsent.length;
    if (this.inFlight.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.all([...this.inFlight]), new Promise((r) => (timer = setTimeout(r, this.stopGraceMs)))]);
      clearTimeout(timer);
      this.abort.abort();
      await Promise.all([...this.inFlight]);
    }
    await this.flush();
    try {
      await this.release(unsent);
    } catch (e) {
      this.options.onError?.(e);
    }
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      this.poked = false;
      let claimed = 0;
      let full = false;
      try {
        if (Date.now() >= this.nextSweep) {
          this.nextSweep = Date.now() + this.retentionEveryMs;
          await this.sweep();
        }
        const room = 2 * this.batchSize - this.outstanding;
        if (room >= this.batchSize && (await this.admit()) === ADMIT_BATCH) this.poked = true;
        if (room >= this.batchSize) {
          const jobs = await this.claim(this.batchSize);
          claimed = jobs.length;
          full = claimed === this.batchSize;
          if (claimed > 0) {
            this.outstanding += claimed;
            this.queue.push(...jobs);
            this.pump();
          }
        }
      } catch (e) {
        this.options.onError?.(e);
      }
      if (this.stopping) break;
      // A full claim: there may be more due at once. Otherwise wait for a poll, a notify(), or
      // a flush (marking a row delivered makes its entity's next event claimable).
      if (full && 2 * this.batchSize - this.outstanding >= this.batchSize) continue;
      if (this.poked) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.pollMs);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
  }

  /** Admits the rows the outbox wrote since the last time; how many (0 if another process is at it). */
  private async admit(): Promise<number> {
    const fresh = await this.db.get(sql`SELECT 1 AS x FROM webhook_fanout LIMIT 1`);
    if (!fresh) return 0;
    const admitted = (await this.db.transaction((tx) => admitDeliveries(tx))) ?? 0;
    if (admitted > 0) await this.refreshStatistics();
    return admitted;
  }

  /**
   * PostgreSQL: statistics for webhook_deliveries once this process has admitted rows, then at
   * most every ANALYZE_EVERY_MS while it keeps admitting. The table fills in bursts faster than
   * autovacuum analyses it, and without statistics the planner probed the per-entity check of a
   * claim through the due index (scanning every pending row for each candidate): 1.4 s a claim
   * at 10,000 pending rows, 24 ms after ANALYZE (.tmp/claimexplain.ts). ANALYZE blocks no reads
   * or writes.
   */
  private async refreshStatistics(): Promise<void> {
    if (this.db.dialect !== 'postgres' || Date.now() < this.nextAnalyze) return;
    this.nextAnalyze = Date.now() + ANALYZE_EVERY_MS;
    await this.db.run(sql`ANALYZE webhook_deliveries`);
  }

  /** Leases up to n claimable rows, with their events and webhooks. */
  private async claim(n: number): Promise<Job[]> {
    const now = this.clock.now().toISOString();
    const lease = new Date(this.clock.now().getTime() + this.leaseMs).toISOString();
    // Admitted rows only, and earlier admitted rows only: admitDeliveries says why that keeps order.
    // PostgreSQL: `OFFSET 0` keeps the NOT EXISTS a per-candidate index probe. Without it the planner
    // may turn it into an anti join, and on a table it has no statistics for yet it picked a nested
    // loop that compared every pending row with every other: 1.5 s per claim at 3,000 pending rows
    // (6.5 ms with the probe; .tmp/claimcheck.ts).
    const probeOnly = this.db.dialect === 'postgres' ? sql` OFFSET 0` : sql``;
    const claimable = sql`d.status = 'PENDING' AND d.admitted = 1 AND d.next_attempt_at <= ${now} AND (d.locked_until IS NULL OR d.locked_until <= ${now})
      AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p
                      WHERE p.webhook_id = d.webhook_id AND p.entity_key = d.entity_key AND p.event_seq < d.event_seq AND p.status = 'PENDING' AND p.admitted = 1${probeOnly})`;
    const eventColumns = sql`e.seq AS e_seq, e.id AS e_id, e.type AS e_type, e.collection_id AS e_collection_id, e.env AS e_env,
      e.entity_id AS e_entity_id, e.event_time AS e_event_time, e.data AS e_data`;
    let rows: ClaimRow[];
    if (this.db.dialect === 'postgres') {
      rows = await this.db.all<ClaimRow>(sql`
        WITH claimed AS (
          UPDATE webhook_deliveries d SET locked_by = ${this.workerId}, locked_until = ${lease}, next_attempt_at = ${lease}
          -- By ctid: the rows are locked by this statement, and a TID scan finds them directly.
          WHERE d.ctid = ANY(ARRAY(
            SELECT d.ctid FROM webhook_deliveries d
            WHERE ${claimable}
            ORDER BY d.next_attempt_at
            LIMIT ${n}
            FOR UPDATE OF d SKIP LOCKED))
          RETURNING d.webhook_id, d.event_seq, d.attempts
        )
        SELECT c.webhook_id, c.event_seq, c.attempts, w.url, w.secret, ${eventColumns}
        FROM claimed c JOIN webhooks w ON w.id = c.webhook_id LEFT JOIN events e ON e.seq = c.event_seq
        ORDER BY c.event_seq`);
    } else {
      rows = await this.db.transaction(async (tx) => {
        const found = await tx.all<ClaimRow>(sql`
          SELECT d.webhook_id, d.event_seq, d.attempts, w.url, w.secret, ${eventColumns}
          FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id LEFT JOIN events e ON e.seq = d.event_seq
          WHERE ${claimable}
          ORDER BY d.next_attempt_at
          LIMIT ${n}`);
        if (found.length > 0) {
          await tx.run(sql`UPDATE webhook_deliveries SET locked_by = ${this.workerId}, locked_until = ${lease}, next_attempt_at = ${lease}
            WHERE (webhook_id, event_seq) IN (SELECT value ->> 0, value ->> 1 FROM json_each(${JSON.stringify(found.map((r) => [r.webhook_id, r.event_seq]))}))`);
        }
        return found;
      });
    }
    return rows.map((r) => ({
      webhookId: r.webhook_id,
      seq: Number(r.event_seq),
      attempts: Number(r.attempts),
      url: r.url,
      secret: r.secret,
      event:
        r.e_id === null
          ? null
          : {
              seq: r.e_seq as number,
              id: r.e_id,
              type: r.e_type as string,
              collection_id: r.e_collection_id,
              env: r.e_env,
              entity_id: r.e_entity_id as string,
              event_time: r.e_event_time as string,
              data: r.e_data,
            },
    }));
  }

  /** Starts sends while there are free slots. */
  private pump(): void {
    while (this.active < this.concurrency && this.queue.length > 0 && !this.stopping) {
      const job = this.queue.shift() as Job;
      this.active++;
      const p: Promise<void> = this.send(job).then((outcome) => {
        this.active--;
        this.inFlight.delete(p);
        this.done.push(outcome);
        this.pump();
        this.scheduleFlush();
      });
      this.inFlight.add(p);
    }
  }

  private key(secret: string): Buffer | null {
    let key = this.keys.get(secret);
    if (key === undefined) {
      key = secretKey(secret) ?? null;
      this.keys.set(secret, key);
    }
    return key;
  }

  /** One attempt. Never throws. */
  private async send(job: Job): Promise<Outcome> {
    if (!job.event) return { job, ok: false, status: null, error: 'The event is no longer stored', permanent: true };
    const key = this.key(job.secret);
    if (!key) return { job, ok: false, status: null, error: 'The webhook secret is not a valid whsec_ secret', permanent: true };
    let url = this.urls.get(job.url);
    if (url === undefined) {
      try {
        url = new URL(job.url);
      } catch {
        url = null;
      }
      this.urls.set(job.url, url);
    }
    if (!url) return { job, ok: false, status: null, error: 'The webhook URL is not valid', permanent: true };
    const body = JSON.stringify(eventEnvelope(job.event));
    const timestamp = Math.floor(Date.now() / 1000);
    const headers: OutgoingHttpHeaders = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'user-agent': 'Cairn-Webhooks/1',
      'webhook-id': job.event.id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': sign(key, job.event.id, timestamp, body),
    };
    try {
      const reply = await this.post(url, headers, body);
      if (reply.status >= 200 && reply.status < 300) return { job, ok: true, status: reply.status };
      return { job, ok: false, status: reply.status, error: clip(`HTTP ${reply.status}${reply.text ? `: ${reply.text}` : ''}`) };
    } catch (e) {
      if (this.abort.signal.aborted) return { job, abandoned: true };
      return { job, ok: false, status: null, error: clip(describeError(e, this.timeoutMs)) };
    }
  }

  /**
   * One POST; resolves with the status and the start of the reply body (64 KiB at most are
   * read: a longer reply closes the connection). Rejects on a network error, the timeout
   * (which covers connecting, sending and the whole reply) or stop().
   */
  private post(url: URL, headers: OutgoingHttpHeaders, body: string): Promise<{ status: number; text: string }> {
    return new Promise((resolve, reject) => {
      const https = url.protocol === 'https:';
      const req = (https ? httpsRequest : httpRequest)(url, {
        method: 'POST',
        headers,
        agent: https ? this.agents.https : this.agents.http,
        signal: this.abort.signal,
      });
      let settled = false;
      const timer = setTimeout(() => {
        const e = new Error(`Timed out after ${this.timeoutMs} ms`);
        e.name = 'TimeoutError';
        req.destroy(e);
      }, this.timeoutMs);
      const settle = (f: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        f();
      };
      req.on('error', (e) => settle(() => reject(e)));
      req.on('response', (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => settle(() => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8', 0, Math.min(size, ERROR_TEXT_MAX)).trim() }));
        res.on('data', (c: Buffer) => {
          if (size < RESPONSE_READ_MAX) chunks.push(c);
          size += c.length;
          if (size >= RESPONSE_READ_MAX) {
            done();
            res.destroy();
          }
        });
        res.on('end', done);
        res.on('error', (e) => settle(() => reject(e)));
        res.on('close', () => settle(() => reject(new Error('The connection closed before the reply ended'))));
      });
      req.end(body);
    });
  }

  private scheduleFlush(): void {
    if (this.flushing) return;
    this.flushing = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      while (this.done.length > 0) {
        try {
          await this.mark(this.done.splice(0));
        } catch (e) {
          // Those rows stay leased and are sent again when the lease runs out.
          this.options.onError?.(e);
        }
        // Room to claim again, and delivered rows may have unblocked their entities' next events.
        this.notify();
      }
      this.flushing = undefined;
    });
  }

  /** Waits for results to be recorded (stop). */
  private async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.done.length > 0) {
      try {
        await this.mark(this.done.splice(0));
      } catch (e) {
        this.options.onError?.(e);
      }
    }
  }

  /** Records a set of outcomes: one UPDATE for the successes, one for the failures. */
  private async mark(outcomes: Outcome[]): Promise<void> {
    const now = this.clock.now();
    const nowIso = now.toISOString();
    const ok: [string, number, number][] = [];
    const failed: [string, number, number | null, string, string, number][] = [];
    const abandoned: Job[] = [];
    for (const o of outcomes) {
      if ('abandoned' in o) abandoned.push(o.job);
      else if (o.ok) ok.push([o.job.webhookId, o.job.seq, o.status]);
      else {
        const next = new Date(now.getTime() + this.backoff(o.job.attempts + 1)).toISOString();
        failed.push([o.job.webhookId, o.job.seq, o.status, o.error, next, o.permanent ? 1 : 0]);
      }
    }
    try {
      if (ok.length > 0) {
        const set = sql`status = 'DELIVERED', attempts = attempts + 1, last_status = f.st, last_error = NULL, delivered_at = ${nowIso},
          next_attempt_at = ${nowIso}, locked_by = NULL, locked_until = NULL`;
        // Only rows this worker still holds: a replay (or another worker, after the lease ran
        // out) has since asked for another send, which must still happen.
        const held = sql`webhook_deliveries.locked_by = ${this.workerId}`;
        await this.db.run(
          this.db.dialect === 'postgres'
            ? sql`UPDATE webhook_deliveries SET ${set}
                FROM unnest(${ok.map((r) => r[0])}::text[], ${ok.map((r) => r[1])}::bigint[], ${ok.map((r) => r[2])}::int[]) AS f(w, s, st)
                WHERE webhook_deliveries.webhook_id = f.w AND webhook_deliveries.event_seq = f.s AND webhook_deliveries.status = 'PENDING' AND ${held}`
            : sql`UPDATE webhook_deliveries SET ${set}
                FROM (SELECT value ->> 0 AS w, value ->> 1 AS s, value ->> 2 AS st FROM json_each(${JSON.stringify(ok)})) AS f
                WHERE webhook_deliveries.webhook_id = f.w AND webhook_deliveries.event_seq = f.s AND ${SQLITE_PENDING} AND ${held}`,
        );
      }
      if (failed.length > 0) {
        const dead = sql`(f.perm = 1 OR webhook_deliveries.attempts + 1 >= ${this.maxAttempts})`;
        const set = sql`attempts = attempts + 1, last_status = f.st, last_error = f.err,
          status = CASE WHEN ${dead} THEN 'DEAD' ELSE 'PENDING' END,
          next_attempt_at = CASE WHEN ${dead} THEN ${nowIso} ELSE f.nxt END, locked_by = NULL, locked_until = NULL`;
        // Only this worker's own claims: a row whose lease ran out may be another's by now.
        const mine = sql`webhook_deliveries.webhook_id = f.w AND webhook_deliveries.event_seq = f.s
          AND ${this.db.dialect === 'postgres' ? sql`webhook_deliveries.status = 'PENDING'` : SQLITE_PENDING} AND webhook_deliveries.locked_by = ${this.workerId}`;
        const col = <T>(i: number) => failed.map((r) => r[i] as T);
        await this.db.run(
          this.db.dialect === 'postgres'
            ? sql`UPDATE webhook_deliveries SET ${set}
                FROM unnest(${col(0)}::text[], ${col(1)}::bigint[], ${col(2)}::int[], ${col(3)}::text[], ${col(4)}::text[], ${col(5)}::int[])
                  AS f(w, s, st, err, nxt, perm)
                WHERE ${mine}`
            : sql`UPDATE webhook_deliveries SET ${set}
                FROM (SELECT value ->> 0 AS w, value ->> 1 AS s, value ->> 2 AS st, value ->> 3 AS err, value ->> 4 AS nxt, value ->> 5 AS perm
                      FROM json_each(${JSON.stringify(failed)})) AS f
                WHERE ${mine}`,
        );
      }
      if (abandoned.length > 0) await this.release(abandoned);
    } finally {
      this.outstanding -= outcomes.length;
    }
  }

  /** Hands claimed rows back, due now (stop). */
  private async release(jobs: readonly Job[]): Promise<void> {
    if (jobs.length === 0) return;
    const now = this.clock.now().toISOString();
    const keys = jobs.map((j) => [j.webhookId, j.seq] as const);
    const set = sql`locked_by = NULL, locked_until = NULL, next_attempt_at = ${now}`;
    await this.db.run(
      this.db.dialect === 'postgres'
        ? sql`UPDATE webhook_deliveries SET ${set}
            WHERE (webhook_id, event_seq) IN (SELECT * FROM unnest(${keys.map((k) => k[0])}::text[], ${keys.map((k) => k[1])}::bigint[]))
              AND status = 'PENDING' AND locked_by = ${this.workerId}`
        : sql`UPDATE webhook_deliveries SET ${set}
            WHERE (webhook_id, event_seq) IN (SELECT value ->> 0, value ->> 1 FROM json_each(${JSON.stringify(keys)}))
              AND status = 'PENDING' AND locked_by = ${this.workerId}`,
    );
  }

  /** Full jitter: a random wait in [0, min(cap, base * 2^(attempt-1))). */
  private backoff(attempt: number): number {
    const ceiling = Math.min(this.retryCapMs, this.retryBaseMs * 2 ** Math.min(attempt - 1, 40));
    return Math.floor(Math.random() * ceiling);
  }

  /**
   * Retention: deletes DELIVERED and DEAD rows that finished before the cutoff, then the events
   * older than the cutoff that come before every remaining delivery (so no delivery, pending or
   * kept for the log and replay, loses its event). In chunks, so no transaction runs long.
   * Resolves to how many rows it deleted.
   */
  async sweep(): Promise<{ deliveries: number; events: number }> {
    const cutoff = new Date(this.clock.now().getTime() - this.retentionMs).toISOString();
    let deliveries = 0;
    for (const status of ['DELIVERED', 'DEAD']) {
      for (;;) {
        const n = await this.db.run(sql`DELETE FROM webhook_deliveries WHERE (webhook_id, event_seq) IN (
          SELECT webhook_id, event_seq FROM webhook_deliveries WHERE status = ${status} AND admitted = 1 AND next_attempt_at < ${cutoff} LIMIT ${SWEEP_CHUNK})`);
        deliveries += n;
        if (n < SWEEP_CHUNK || this.stopping) break;
      }
    }
    // The oldest event any delivery still refers to, found through the primary key per webhook.
    const pins = await this.db.all<{ m: number | string | null }>(
      sql`SELECT (SELECT min(d.event_seq) FROM webhook_deliveries d WHERE d.webhook_id = w.id) AS m FROM webhooks w`,
    );
    // Events that fan-out markers still name, waiting for a delivery worker to expand them.
    const marked = await this.db.get<{ m: number | string | null }>(sql`SELECT min(first_seq) AS m FROM webhook_fanout`);
    if (marked?.m !== null && marked?.m !== undefined) pins.push(marked);
    const pinned = pins.map((p) => p.m).filter((m): m is number | string => m !== null).map(Number);
    const below: Sql = pinned.length > 0 ? sql` AND seq < ${Math.min(...pinned)}` : sql``;
    let events = 0;
    for (;;) {
      const n = await this.db.run(sql`DELETE FROM events WHERE seq IN (${oldEvents(cutoff, below)})`);
      events += n;
      if (n < SWEEP_CHUNK || this.stopping) break;
    }
    return { deliveries, events };
  }
}

/**
 * The next chunk of events the sweep may delete: older than the cutoff and below every pin.
 * Read in `event_time` order, through the `events_time` index: in `seq` order SQLite scanned
 * the whole table for the old ones (the primary key gives the order, the filter is on the time),
 * even when none was old: about 0.4 s per million events, every sweep, holding the writer and the
 * event loop (docs/benchmarks.md). Which old events go first does not matter.
 */
export function oldEvents(cutoff: string, below: Sql = sql``): Sql {
  return sql`SELECT seq FROM events WHERE event_time < ${cutoff}${below} ORDER BY event_time LIMIT ${SWEEP_CHUNK}`;
}

function clip(s: string): string {
  return s.length > ERROR_TEXT_MAX ? s.slice(0, ERROR_TEXT_MAX) : s;
}

function describeError(e: unknown, timeoutMs: number): string {
  if (e instanceof Error) {
    if (e.name === 'TimeoutError') return `Timed out after ${timeoutMs} ms`;
    const code = (e as Error & { code?: string }).code;
    return code && !e.message.includes(code) ? `${code}: ${e.message}` : e.message;
  }
  return String(e);
}
