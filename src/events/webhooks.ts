/**
 * Webhook subscriptions: create, list, get, delete, the delivery log, replay, and the webhooks
 * configured in CAIRN_WEBHOOKS. A webhook is a `webhooks` row plus one `webhook_event_types` row
 * per event type it wants ('*' for all); the outbox (outbox.ts) fans every committed event out to
 * one `webhook_deliveries` row per matching webhook, and delivery.ts admits and sends them.
 * docs/webhooks.md is the prose version.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { WixError } from '../errors.js';
import type { Db, Executor } from '../store/db.js';
import { join, sql, type Sql } from '../store/sql.js';
import { asArray, asObject, oneOf, optionalInt, optionalString, requireString } from '../validate.js';
import { isPlainObject, type JsonObject } from '../wire/json.js';
import { admitDeliveries, ENTITY_KEY } from './delivery.js';
import { EVENT_TYPES } from './outbox.js';
import { newSecret, secretKey } from './sign.js';

export type WebhookSource = 'API' | 'CONFIG';

/** A subscription as the API shows it. */
export interface Webhook {
  id: string;
  url: string;
  events: string[];
  dataCollectionId?: string;
  secret: string;
  createdDate: string;
  source: WebhookSource;
}

/** What a caller (or CAIRN_WEBHOOKS) asks for, checked. */
export interface WebhookSpec {
  url: string;
  events: string[];
  dataCollectionId?: string;
  secret: string;
}

export const DELIVERY_STATUSES = ['PENDING', 'DELIVERED', 'DEAD'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface Delivery {
  eventId: string | null;
  eventType: string | null;
  entityId: string | null;
  entityEventSequence: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: string | null;
  createdDate: string;
}

interface WebhookRow {
  id: string;
  url: string;
  collection_id: string | null;
  secret: string;
  source: WebhookSource;
  created_date: string;
}

interface DeliveryRow {
  event_seq: number | string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: string;
  last_status: number | null;
  last_error: string | null;
  delivered_at: string | null;
  created_date: string;
  event_id: string | null;
  event_type: string | null;
  entity_id: string | null;
}

const MAX_URL_LENGTH = 2048;
const MAX_EVENT_TYPES = 64;
const DEFAULT_PAGE = 50;
const MAX_PAGE = 1000;

/** Checks a webhook as given to the API (secret optional: one is generated) or in the config (secret required). */
export function parseWebhookSpec(raw: unknown, what: string, options: { requireSecret: boolean }): WebhookSpec {
  const p = asObject(raw, what);
  const url = requireString(p.url, `${what}.url`, 'WDE0080', MAX_URL_LENGTH);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new WixError('WDE0080', `${what}.url is not a valid URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new WixError('WDE0080', `${what}.url must be an http or https URL, got ${JSON.stringify(url)}`);
  }
  const list = asArray(p.events, `${what}.events`);
  if (list.length === 0) throw new WixError('WDE0080', `${what}.events must name at least one event type (or "*")`);
  if (list.length > MAX_EVENT_TYPES) throw new WixError('WDE0080', `${what}.events cannot name more than ${MAX_EVENT_TYPES} types`);
  const types = new Set<string>();
  list.forEach((t, i) => {
    if (typeof t !== 'string' || (t !== '*' && !EVENT_TYPES.includes(t))) {
      throw new WixError('WDE0080', `${what}.events[${i}] must be "*" or one of ${EVENT_TYPES.join(', ')}, got ${JSON.stringify(t)}`);
    }
    types.add(t);
  });
  // '*' already covers every type: storing others beside it would fan an event out twice.
  const events = types.has('*') ? ['*'] : [...types].sort();
  const dataCollectionId = optionalString(p.dataCollectionId, `${what}.dataCollectionId`, 256);
  let secret = optionalString(p.secret, `${what}.secret`, 256);
  if (secret === undefined) {
    if (options.requireSecret) throw new WixError('WDE0080', `${what}.secret is required (whsec_ followed by base64 key bytes)`);
    secret = newSecret();
  } else if (!secretKey(secret)) {
    throw new WixError('WDE0080', `${what}.secret must be "whsec_" followed by the base64 of 16 to 128 bytes`);
  }
  return { url, events, secret, ...(dataCollectionId !== undefined ? { dataCollectionId } : {}) };
}

/** The webhooks of CAIRN_WEBHOOKS, checked (a bad entry stops the start with its index in the message). */
export function configWebhooks(raw: readonly unknown[]): WebhookSpec[] {
  return raw.map((w, i) => parseWebhookSpec(w, `CAIRN_WEBHOOKS[${i}]`, { requireSecret: true }));
}

/** The id of a webhook from the config: the same url, events and collection give the same id. */
export function configWebhookId(spec: WebhookSpec): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([spec.url, spec.events, spec.dataCollectionId ?? null]))
    .digest('hex');
  return `cfg_${digest.slice(0, 32)}`;
}

function toWebhook(row: WebhookRow, events: string[]): Webhook {
  return {
    id: row.id,
    url: row.url,
    events: [...events].sort(),
    ...(row.collection_id !== null ? { dataCollectionId: row.collection_id } : {}),
    secret: row.secret,
    createdDate: row.created_date,
    source: row.source,
  };
}

function toDelivery(r: DeliveryRow): Delivery {
  return {
    eventId: r.event_id,
    eventType: r.event_type,
    entityId: r.entity_id,
    entityEventSequence: String(r.event_seq),
    status: r.status,
    attempts: Number(r.attempts),
    nextAttemptAt: r.status === 'PENDING' ? r.next_attempt_at : null,
    lastStatus: r.last_status === null ? null : Number(r.last_status),
    lastError: r.last_error,
    deliveredAt: r.delivered_at,
    createdDate: r.created_date,
  };
}

function isoTime(v: unknown, what: string): string {
  const s = requireString(v, what, 'WDE0080', 64);
  const d = new Date(s);
  if (Number.isNaN(d.getTime())) throw new WixError('WDE0080', `${what} must be an ISO 8601 date-time, got ${JSON.stringify(s)}`);
  return d.toISOString();
}

function encodeCursor(seq: string): string {
  return Buffer.from(JSON.stringify({ s: seq })).toString('base64url');
}

function decodeCursor(v: unknown): string {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(requireString(v, 'cursor', 'WDE0165', 256), 'base64url').toString('utf8'));
    if (isPlainObject(parsed) && typeof parsed.s === 'string' && /^\d{1,19}$/.test(parsed.s)) return parsed.s;
  } catch {
    // answered below
  }
  throw new WixError('WDE0165', 'The cursor is not one this server gave out');
}

export class WebhookService {
  /** Called after a replay queued deliveries (the delivery worker looks at once). */
  onQueued: (() => void) | undefined;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  async create(p: JsonObject): Promise<Webhook> {
    const spec = parseWebhookSpec(p, 'webhook', { requireSecret: false });
    const row: WebhookRow = {
      id: randomUUID(),
      url: spec.url,
      collection_id: spec.dataCollectionId ?? null,
      secret: spec.secret,
      source: 'API',
      created_date: this.clock.now().toISOString(),
    };
    await this.db.transaction((tx) => this.insert(tx, row, spec.events));
    return toWebhook(row, spec.events);
  }

  async list(): Promise<Webhook[]> {
    const rows = await this.db.all<WebhookRow>(sql`SELECT id, url, collection_id, secret, source, created_date FROM webhooks ORDER BY created_date, id`);
    const types = await this.db.all<{ webhook_id: string; type: string }>(sql`SELECT webhook_id, type FROM webhook_event_types`);
    const byHook = new Map<string, string[]>();
    for (const t of types) byHook.set(t.webhook_id, [...(byHook.get(t.webhook_id) ?? []), t.type]);
    return rows.map((r) => toWebhook(r, byHook.get(r.id) ?? []));
  }

  async get(id: unknown): Promise<Webhook> {
    const row = await this.find(this.db, id);
    const types = await this.db.all<{ type: string }>(sql`SELECT type FROM webhook_event_types WHERE webhook_id = ${row.id}`);
    return toWebhook(row, types.map((t) => t.type));
  }

  /** Deletes the webhook, its event types and every delivery of it (pending ones are never sent). */
  async remove(id: unknown): Promise<void> {
    await this.db.transaction(async (tx) => {
      const row = await this.find(tx, id);
      if (row.source === 'CONFIG') {
        throw new WixError('WDE0080', `Webhook [${row.id}] comes from CAIRN_WEBHOOKS: remove it from the configuration and restart`, { id: row.id });
      }
      await deleteWebhooks(tx, [row.id]);
    });
  }

  /** The delivery log of one webhook, newest event first, with keyset paging. */
  async deliveries(p: JsonObject): Promise<{ deliveries: Delivery[]; nextCursor?: string }> {
    const row = await this.find(this.db, p.id);
    // Events fanned out but not expanded yet are listed too, as the PENDING deliveries they are.
    if (await this.db.get(sql`SELECT 1 AS x FROM webhook_fanout WHERE webhook_id = ${row.id} LIMIT 1`)) {
      await this.db.transaction((tx) => admitDeliveries(tx, { webhookId: row.id, wait: true }));
    }
    const status = p.status === undefined || p.status === null || p.status === '' ? undefined : oneOf(p.status, DELIVERY_STATUSES, 'status');
    const limit = optionalInt(p.limit, 'limit', 1, MAX_PAGE) ?? DEFAULT_PAGE;
    const before = p.cursor === undefined || p.cursor === null || p.cursor === '' ? undefined : decodeCursor(p.cursor);
    const conditions = [sql`d.webhook_id = ${row.id}`];
    if (status) conditions.push(sql`d.status = ${status}`);
    if (before !== undefined) conditions.push(sql`d.event_seq < ${this.db.dialect === 'postgres' ? sql`${before}::bigint` : sql`${Number(before)}`}`);
    const rows = await this.db.all<DeliveryRow>(sql`
      SELECT d.event_seq, d.status, d.attempts, d.next_attempt_at, d.last_status, d.last_error, d.delivered_at, d.created_date,
             e.id AS event_id, e.type AS event_type, e.entity_id
      FROM webhook_deliveries d LEFT JOIN events e ON e.seq = d.event_seq
      WHERE ${join(conditions, ' AND ')}
      ORDER BY d.event_seq DESC
      LIMIT ${limit + 1}`);
    const page = rows.slice(0, limit);
    const out: { deliveries: Delivery[]; nextCursor?: string } = { deliveries: page.map(toDelivery) };
    if (rows.length > limit) out.nextCursor = encodeCursor(String(page[page.length - 1]?.event_seq));
    return out;
  }

  /**
   * Queues events again for one webhook: `{eventId}` or `{from, to}` (ISO times, inclusive, on
   * the event's time). Events no longer kept (retention) or that do not match the webhook's types
   * and collection are left out. Missing deliveries are created; existing ones (delivered, dead
   * or pending) start over as PENDING with no attempts.
   */
  async replay(p: JsonObject): Promise<{ replayed: number }> {
    const hasId = p.eventId !== undefined && p.eventId !== null;
    const hasRange = p.from !== undefined || p.to !== undefined;
    if (hasId === hasRange) throw new WixError('WDE0080', 'Give either eventId, or from and to (ISO date-times)');
    let which: Sql;
    if (hasId) {
      which = sql`e.id = ${requireString(p.eventId, 'eventId', 'WDE0080', 128)}`;
    } else {
      const from = isoTime(p.from, 'from');
      const to = isoTime(p.to, 'to');
      if (from > to) throw new WixError('WDE0080', `from (${from}) is after to (${to})`);
      which = sql`e.event_time >= ${from} AND e.event_time <= ${to}`;
    }
    const now = this.clock.now().toISOString();
    const replayed = await this.db.transaction(async (tx) => {
      const row = await this.find(tx, p.id);
      // The webhook's fan-out markers expanded first, so a replayed row (which holds back its
      // entity's later events) never overtakes an earlier one still in a marker (delivery.ts).
      await admitDeliveries(tx, { webhookId: row.id, wait: true });
      const collection = row.collection_id === null ? sql`` : sql` AND e.collection_id = ${row.collection_id}`;
      const text = (v: string) => sql`CAST(${v} AS TEXT)`;
      return tx.run(sql`
        INSERT INTO webhook_deliveries (webhook_id, event_seq, entity_key, status, attempts, next_attempt_at, created_date, admitted)
        SELECT ${text(row.id)}, e.seq, ${ENTITY_KEY}, 'PENDING', 0, ${text(now)}, ${text(now)}, 1
        FROM events e
        WHERE ${which}${collection}
          AND EXISTS (SELECT 1 FROM webhook_event_types t WHERE t.webhook_id = ${row.id} AND t.type IN (e.type, '*'))
        ON CONFLICT (webhook_id, event_seq) DO UPDATE SET status = 'PENDING', attempts = 0, next_attempt_at = excluded.next_attempt_at,
          locked_by = NULL, locked_until = NULL, delivered_at = NULL, admitted = 1`);
    });
    if (replayed > 0) this.onQueued?.();
    return { replayed };
  }

  /**
   * Makes the CONFIG webhooks exactly `raw` (CAIRN_WEBHOOKS, checked here: a bad entry throws
   * before anything changes): each is inserted or updated under its deterministic id, and CONFIG
   * webhooks no longer listed are deleted with their deliveries.
   */
  async syncConfig(raw: readonly unknown[]): Promise<void> {
    const specs = configWebhooks(raw);
    const now = this.clock.now().toISOString();
    await this.db.transaction(async (tx) => {
      const wanted = new Map(specs.map((s) => [configWebhookId(s), s]));
      const existing = await tx.all<{ id: string }>(sql`SELECT id FROM webhooks WHERE source = 'CONFIG'`);
      const stale = existing.map((r) => r.id).filter((id) => !wanted.has(id));
      if (stale.length) await deleteWebhooks(tx, stale);
      for (const [id, spec] of wanted) {
        const present = await tx.get<{ id: string }>(sql`SELECT id FROM webhooks WHERE id = ${id}`);
        if (present) {
          await tx.run(sql`UPDATE webhooks SET secret = ${spec.secret}, source = 'CONFIG' WHERE id = ${id}`);
          continue;
        }
        await this.insert(tx, { id, url: spec.url, collection_id: spec.dataCollectionId ?? null, secret: spec.secret, source: 'CONFIG', created_date: now }, spec.events);
      }
    });
  }

  private async insert(tx: Executor, row: WebhookRow, events: readonly string[]): Promise<void> {
    await tx.run(sql`INSERT INTO webhooks (id, url, collection_id, secret, source, created_date)
      VALUES (${row.id}, ${row.url}, ${row.collection_id}, ${row.secret}, ${row.source}, ${row.created_date})`);
    await tx.run(sql`INSERT INTO webhook_event_types (webhook_id, type) VALUES ${join(
      events.map((t) => sql`(${row.id}, ${t})`),
      ', ',
    )}`);
  }

  private async find(ex: Executor, id: unknown): Promise<WebhookRow> {
    const key = requireString(id, 'id', 'WDE0080', 128);
    const row = await ex.get<WebhookRow>(sql`SELECT id, url, collection_id, secret, source, created_date FROM webhooks WHERE id = ${key}`);
    if (!row) throw new WixError('WDE0073', `Webhook [${key}] does not exist`, { id: key });
    return row;
  }
}

async function deleteWebhooks(tx: Executor, ids: readonly string[]): Promise<void> {
  for (const id of ids) {
    await tx.run(sql`DELETE FROM webhook_deliveries WHERE webhook_id = ${id}`);
    await tx.run(sql`DELETE FROM webhook_fanout WHERE webhook_id = ${id}`);
    await tx.run(sql`DELETE FROM webhook_event_types WHERE webhook_id = ${id}`);
    await tx.run(sql`DELETE FROM webhooks WHERE id = ${id}`);
  }
}
