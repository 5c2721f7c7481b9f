/**
 * The live event stream (Server-Sent Events, `GET /cairn/v1/events/stream`, docs/events.md).
 *
 * One shared poller per process reads the `events` outbox (`seq > last`, 1000 rows at a time,
 * every `pollMs` while at least one client is connected) and fans each row out to the clients
 * whose filter matches; each message is built once, however many clients take it. A client that
 * resumes from an older `seq` (Last-Event-ID) first catches up with its own reads, paced by its
 * socket, up to where the poller is, then joins the poller's fan-out.
 *
 * PostgreSQL hands out `seq` from an identity column when a row is inserted, not when its
 * transaction commits, so a transaction can commit a lower `seq` after a higher one became
 * visible. The poller remembers every gap below `last` it has seen (a range per gap, with the
 * time it first saw it; when it starts, the gaps among the last `batchSize` numbers) and reads
 * those ranges again on every tick for `lateWindowMs`; a row that turns up in a gap is sent then. So no event is lost whose transaction commits within
 * `lateWindowMs` of a later event becoming visible; in particular none from a transaction shorter
 * than that. Gaps also come from rolled-back transactions (their numbers are never used): those
 * simply expire. On SQLite one writer at a time assigns and commits `seq`, so there are no
 * late commits and no gap tracking.
 *
 * Delivery is at most once per connection and in `seq` order, except that an event that commits
 * late (above) arrives after events with higher ids. After a reconnect with Last-Event-ID the
 * replay starts above that id, so an event that committed late after the client had already
 * received a higher id (and that it missed when the connection dropped) is not replayed; one
 * that commits after the client rejoined is a gap fill (`fanOut(…, false)`), which reaches every
 * client whatever its resume point: while the poller still sees a gap there, its fan-out has
 * sent that event to no one (a catch-up read that sent it marks it in `sentGaps`, so one
 * connection never gets it twice).
 *
 * Slow clients. The poller never waits for a client. A live client that still has more than
 * `maxBufferedBytes` waiting in its socket buffers when the next batch is fanned out leaves the
 * fan-out and catches up with its own reads again, each read waiting until its socket drains,
 * so it holds at most that bound plus one batch. If its socket does not drain within
 * `stallTimeoutMs`, the client is dropped: its connection is destroyed rather than buffering
 * without limit (an EventSource reconnects with Last-Event-ID and resumes where it was).
 */
import type { Writable } from 'node:stream';
import type { Db } from '../store/db.js';
import { join, raw, sql, type Sql } from '../store/sql.js';
import { EVENT_COLUMNS_SELECT, eventEnvelope, type EventRow } from './payload.js';

export interface StreamOptions {
  /** How often the shared poller reads new events while a client is connected (ms). */
  pollMs?: number;
  /** Comment heartbeat interval (ms). */
  heartbeatMs?: number;
  /** Rows per read. */
  batchSize?: number;
  /** A live client with more than this many bytes unsent leaves the fan-out and catches up on its own. */
  maxBufferedBytes?: number;
  /** A client whose socket has not drained after this long is dropped (ms). */
  stallTimeoutMs?: number;
  /** PostgreSQL: how long a gap in `seq` is read again for a late-committing transaction (ms). */
  lateWindowMs?: number;
  /** PostgreSQL: most gaps remembered at once (the oldest go first). */
  maxGaps?: number;
  /** Sent as the stream's `retry:` field (the reconnect delay EventSource uses, ms). */
  retryMs?: number;
  onError?: (e: unknown) => void;
  onDrop?: (reason: string) => void;
}

export interface StreamFilter {
  /** Only events of this collection. */
  collectionId?: string | undefined;
  /** Only events of these types (all when absent). */
  types?: ReadonlySet<string> | undefined;
}

/** What a client writes to: an http.ServerResponse in the server. */
export type StreamSink = Pick<Writable, 'write' | 'end' | 'destroy' | 'once' | 'on' | 'off' | 'writableLength' | 'destroyed' | 'writableEnded' | 'writableFinished'>;

interface Gap {
  lo: number;
  hi: number;
  /** When the poller first saw it (Date.now()). */
  seen: number;
}

/** An event as read, and its message, built on first use (a row no client wants costs no JSON). */
class Frame {
  readonly seq: number;
  private message: string | undefined;
  constructor(readonly row: EventRow) {
    this.seq = Number(row.seq);
  }
  get text(): string {
    this.message ??= `id: ${this.seq}\nevent: ${this.row.type}\ndata: ${JSON.stringify(eventEnvelope(this.row))}\n\n`;
    return this.message;
  }
}

const SELECT = raw(EVENT_COLUMNS_SELECT);
const SELECT_E = raw(EVENT_COLUMNS_SELECT.split(', ').map((c) => `e.${c}`).join(', '));

class Client {
  state: 'catchup' | 'live' | 'closed' = 'catchup';
  /** Every event with seq <= cursor has been read (by this client's catch-up or the poller). */
  cursor: number;
  /** Live: forward rows at or below this were already covered when the client joined. */
  skipForwardUpTo = 0;
  /** A catch-up read is in flight. */
  reading = false;
  /** Rows the poller fanned out while a catch-up read was in flight. */
  pending: Frame[] = [];
  /** Seqs sent by catch-up that were gaps of the poller then (the poller may send them again). */
  readonly sentGaps = new Set<number>();

  constructor(
    readonly sink: StreamSink,
    readonly filter: StreamFilter,
    cursor: number,
  ) {
    this.cursor = cursor;
  }

  matches(row: EventRow): boolean {
    if (this.filter.collectionId !== undefined && row.collection_id !== this.filter.collectionId) return false;
    if (this.filter.types !== undefined && !this.filter.types.has(row.type)) return false;
    return true;
  }

  /** Writes whole frames only (the poller checks the backlog before each fan-out). */
  write(text: string): void {
    if (this.state === 'closed' || this.sink.destroyed || this.sink.writableEnded) return;
    this.sink.write(text);
  }

  /** Sends a frame unless this client already sent it as a gap fill. */
  deliver(f: Frame): void {
    if (this.sentGaps.delete(f.seq)) return;
    this.write(f.text);
  }
}

export class EventStream {
  readonly pollMs: number;
  readonly heartbeatMs: number;
  readonly batchSize: number;
  readonly maxBufferedBytes: number;
  readonly stallTimeoutMs: number;
  readonly lateWindowMs: number;
  readonly maxGaps: number;
  readonly retryMs: number;

  private readonly clients = new Set<Client>();
  /** Requests between arrival and registration: the poller keeps running for them. */
  private opening = 0;
  /** The poller's position: every event up to here was read, except the gaps. */
  private last = 0;
  private gaps: Gap[] = [];
  private running = false;
  private starting: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly inflight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly options: StreamOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 150;
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
    this.batchSize = options.batchSize ?? 1000;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 4 * 1024 * 1024;
    this.stallTimeoutMs = options.stallTimeoutMs ?? 30_000;
    this.lateWindowMs = options.lateWindowMs ?? 30_000;
    this.maxGaps = options.maxGaps ?? 10_000;
    this.retryMs = options.retryMs ?? 2000;
  }

  /** Connected clients (catching up or live). */
  get size(): number {
    return this.clients.size;
  }

  /**
   * Streams to `sink` the events matching `filter`: those after `after` that are still in the
   * outbox, then new ones; without `after`, only events committed from now on. `begin` writes
   * the response head: it is called once the starting point is fixed, so a client that has the
   * head will be sent every event committed after it. Resolves once the client is registered
   * (false if the stream was closed first); the stream runs until the sink closes, the client is
   * dropped, or close() is called.
   */
  async open(sink: StreamSink, filter: StreamFilter, after: number | undefined, begin: () => void): Promise<boolean> {
    if (this.closed) return false;
    let cursor = after;
    this.opening++;
    try {
      await this.track(this.ensureStarted());
      if (cursor === undefined) {
        // The current end: the newest committed event, whatever the poller has reached.
        const row = await this.track(this.db.get<{ seq: number | string | null }>(sql`SELECT max(seq) AS seq FROM events`));
        cursor = Number(row?.seq ?? 0);
      }
    } finally {
      this.opening--;
    }
    if (this.closed) return false;
    if (sink.destroyed) return true;
    const client = new Client(sink, filter, cursor);
    this.clients.add(client);
    sink.on('close', () => this.remove(client));
    begin();
    client.write(`retry: ${this.retryMs}\n\n`);
    this.startHeartbeat();
    this.startCatchUp(client);
    return true;
  }

  private startCatchUp(client: Client): void {
    void this.track(this.catchUp(client)).catch((e) => {
      this.options.onError?.(e);
      this.drop(client, 'catch-up read failed');
    });
  }

  /** Ends every stream and stops the poller; resolves when no read is in flight. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.stopHeartbeat();
    for (const c of [...this.clients]) this.end(c);
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** Drops a client: its connection is destroyed (a slow client's buffer is not flushed). */
  drop(client: Client, reason: string): void {
    if (client.state === 'closed') return;
    this.options.onDrop?.(reason);
    this.remove(client);
    client.sink.destroy();
  }

  private end(client: Client): void {
    this.remove(client);
    if (!client.sink.writableEnded) client.sink.end();
    // A client that stopped reading would hold the server's close open: give it a moment.
    if (!client.sink.writableFinished) {
      setTimeout(() => {
        if (!client.sink.writableFinished) client.sink.destroy();
      }, 1000).unref();
    }
  }

  private remove(client: Client): void {
    if (client.state === 'closed') return;
    client.state = 'closed';
    client.pending = [];
    this.clients.delete(client);
    if (this.clients.size === 0) this.stopHeartbeat();
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    const done = () => this.inflight.delete(p);
    p.then(done, done);
    return p;
  }

  // ---- catch-up -------------------------------------------------------------------------

  /** Reads (cursor, poller position] itself, paced by the socket, then joins the fan-out. */
  private async catchUp(c: Client): Promise<void> {
    while (c.state === 'catchup' && !this.closed) {
      if (c.sink.writableLength > this.maxBufferedBytes) {
        if (!(await this.drained(c))) return this.drop(c, 'slow client');
        continue;
      }
      if (c.cursor >= this.last) {
        // Joins synchronously: everything the poller fans out from now on reaches it.
        c.state = 'live';
        c.skipForwardUpTo = c.cursor;
        for (const f of c.pending) c.deliver(f);
        c.pending = [];
        return;
      }
      const high = this.last;
      c.reading = true;
      let rows: EventRow[];
      try {
        rows = await this.db.all<EventRow>(
          sql`SELECT ${SELECT} FROM events WHERE seq > ${c.cursor} AND seq <= ${high}${filterSql(c.filter)} ORDER BY seq LIMIT ${this.batchSize}`,
        );
      } finally {
        c.reading = false;
      }
      if (c.state !== 'catchup') return;
      const read = new Set<number>();
      for (const row of rows) {
        const f = new Frame(row);
        read.add(f.seq);
        if (c.sentGaps.delete(f.seq)) continue;
        c.write(f.text);
        if (this.inGap(f.seq)) c.sentGaps.add(f.seq);
      }
      c.cursor = rows.length < this.batchSize ? high : Number((rows[rows.length - 1] as EventRow).seq);
      // Rows the poller fanned out during the read: those at or below the cursor the read may
      // not have seen; those above it the next read will.
      const pending = c.pending;
      c.pending = [];
      for (const f of pending) if (f.seq <= c.cursor && !read.has(f.seq)) c.deliver(f);
    }
  }

  /** Resolves true once the client's socket drains (or it closed), false after stallTimeoutMs. */
  private drained(c: Client): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        c.sink.off('drain', onDrain);
        c.sink.off('close', onDrain);
        resolve(ok);
      };
      const onDrain = () => done(true);
      const timer = setTimeout(() => done(c.state === 'closed' || this.closed), this.stallTimeoutMs);
      timer.unref();
      c.sink.once('drain', onDrain);
      c.sink.once('close', onDrain);
      if (c.state === 'closed' || c.sink.destroyed || c.sink.writableLength === 0) done(true);
    });
  }

  /** A live client that has not sent the last batches yet leaves the fan-out and catches up itself. */
  private demoteSlowClients(): void {
    for (const c of this.clients) {
      if (c.state !== 'live' || c.sink.writableLength <= this.maxBufferedBytes) continue;
      c.state = 'catchup';
      // It has every event the fan-out sent so far (and none of those it skipped as before its start).
      c.cursor = Math.max(this.last, c.skipForwardUpTo);
      c.pending = [];
      this.startCatchUp(c);
    }
  }

  // ---- the shared poller ----------------------------------------------------------------

  private ensureStarted(): Promise<void> {
    if (this.running) return Promise.resolve();
    if (!this.starting) {
      this.starting = (async () => {
        try {
          const row = await this.db.get<{ seq: number | string | null }>(sql`SELECT max(seq) AS seq FROM events`);
          this.last = Number(row?.seq ?? 0);
          this.gaps = [];
          if (this.db.dialect === 'postgres' && this.last > 0) {
            // Transactions still open now may commit numbers below the end: the gaps of the last
            // batch's worth of numbers are watched like any other.
            const from = Math.max(0, this.last - this.batchSize);
            const seen = await this.db.all<{ seq: number | string }>(sql`SELECT seq FROM events WHERE seq > ${from} AND seq <= ${this.last} ORDER BY seq`);
            let prev = from;
            const now = Date.now();
            for (const r of seen) {
              const seq = Number(r.seq);
              if (seq > prev + 1) this.gaps.push({ lo: prev + 1, hi: seq - 1, seen: now });
              prev = seq;
            }
          }
          this.running = !this.closed;
          if (this.running) this.schedule(this.pollMs);
        } finally {
          this.starting = undefined;
        }
      })();
    }
    return this.starting;
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => void this.track(this.tick()), ms);
  }

  private async tick(): Promise<void> {
    this.timer = undefined;
    if (this.closed) return;
    if (this.clients.size + this.opening === 0) {
      // Nobody listening: stop; the next client starts again from the end.
      this.running = false;
      return;
    }
    let full = false;
    try {
      full = await this.poll();
    } catch (e) {
      this.options.onError?.(e);
    }
    if (this.clients.size + this.opening === 0 && !this.closed) {
      this.running = false;
      return;
    }
    this.schedule(full ? 0 : this.pollMs);
  }

  /** One read of new events (and of the gaps, on PostgreSQL); true when more may be waiting. */
  private async poll(): Promise<boolean> {
    const from = this.last;
    const rows = await this.db.all<EventRow>(sql`SELECT ${SELECT} FROM events WHERE seq > ${from} ORDER BY seq LIMIT ${this.batchSize}`);
    let fills: EventRow[] = [];
    const gapCheckStarted = Date.now();
    const checked = this.gaps.length;
    if (this.db.dialect === 'postgres' && checked > 0) {
      const lo = this.gaps.map((g) => g.lo);
      const hi = this.gaps.map((g) => g.hi);
      fills = await this.db.all<EventRow>(
        sql`SELECT ${SELECT_E}
            FROM unnest(${lo}::bigint[], ${hi}::bigint[]) AS g(lo, hi) JOIN events e ON e.seq BETWEEN g.lo AND g.hi
            ORDER BY e.seq`,
      );
    }
    if (this.closed || this.last !== from) return false;
    if (fills.length > 0 || rows.length > 0) this.demoteSlowClients();
    // Gap fills first (they are older), then new rows.
    for (const row of fills) {
      const f = new Frame(row);
      if (!this.fillGap(f.seq)) continue;
      this.fanOut(f, false);
    }
    // Gaps that were checked after their window ran out are given up (rolled back, or too late).
    if (checked > 0) this.gaps = this.gaps.filter((g) => g.seen + this.lateWindowMs > gapCheckStarted);
    const now = Date.now();
    for (const row of rows) {
      const f = new Frame(row);
      if (f.seq <= this.last) continue;
      if (this.db.dialect === 'postgres' && f.seq > this.last + 1) this.gaps.push({ lo: this.last + 1, hi: f.seq - 1, seen: now });
      this.last = f.seq;
      this.fanOut(f, true);
    }
    if (this.gaps.length > this.maxGaps) this.gaps.splice(0, this.gaps.length - this.maxGaps);
    // A client's record of gap rows it sent matters only while they are gaps.
    for (const c of this.clients) {
      if (c.sentGaps.size === 0) continue;
      for (const s of c.sentGaps) if (!this.inGap(s)) c.sentGaps.delete(s);
    }
    return rows.length === this.batchSize;
  }

  private fanOut(f: Frame, forward: boolean): void {
    for (const c of this.clients) {
      if (!c.matches(f.row)) continue;
      if (forward && f.seq <= c.skipForwardUpTo) continue;
      if (c.state === 'live') {
        c.deliver(f);
      } else if (c.state === 'catchup') {
        if (f.seq <= c.cursor) c.deliver(f);
        else if (c.reading) c.pending.push(f);
        // else: committed, so the client's next read sees it
      }
    }
  }

  private inGap(seq: number): boolean {
    for (const g of this.gaps) if (seq >= g.lo && seq <= g.hi) return true;
    return false;
  }

  /** Takes `seq` out of the gaps; false when it was in none (already sent). */
  private fillGap(seq: number): boolean {
    for (let i = 0; i < this.gaps.length; i++) {
      const g = this.gaps[i] as Gap;
      if (seq < g.lo || seq > g.hi) continue;
      const parts: Gap[] = [];
      if (seq > g.lo) parts.push({ lo: g.lo, hi: seq - 1, seen: g.seen });
      if (seq < g.hi) parts.push({ lo: seq + 1, hi: g.hi, seen: g.seen });
      this.gaps.splice(i, 1, ...parts);
      return true;
    }
    return false;
  }

  // ---- heartbeat --------------------------------------------------------------------------

  private startHeartbeat(): void {
    if (this.heartbeat || this.closed) return;
    this.heartbeat = setInterval(() => {
      for (const c of [...this.clients]) c.write(': ping\n\n');
    }, this.heartbeatMs);
    this.heartbeat.unref();
  }

  private stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }
}

function filterSql(filter: StreamFilter): Sql {
  const parts: Sql[] = [];
  if (filter.collectionId !== undefined) parts.push(sql` AND collection_id = ${filter.collectionId}`);
  if (filter.types !== undefined) parts.push(sql` AND type IN (${join([...filter.types].map((t) => sql`${t}`), ', ')})`);
  return join(parts, '');
}
