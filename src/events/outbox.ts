/**
 * The outbox: every change records its event in the `events` table inside the change's own
 * transaction, so there is no change without its event and no event without its change. In the
 * same transaction the events are fanned out to the matching webhooks, as one marker row per
 * webhook (`webhook_fanout`; delivery.ts expands them into deliveries and sends them), so a
 * subscription never misses an event committed after it.
 *
 * Recording is set-based, as the writes are: an event row per item, but a couple of statements
 * per batch. Created and updated events copy the item's document as it is after the write (the
 * SQL paths never bring documents to JS). On PostgreSQL a write that returns its rows (`write`)
 * is one statement with its events and their fan-out (data-modifying CTEs): the events are built
 * from the rows the write returns, not read from `items` again. On SQLite, where the one writer
 * holds the database, the events are read from `items` by id after the write, and the fan-out
 * picks up the rows after the `seq` read before.
 *
 * `seq` (an identity column) is each event's entityEventSequence: it grows with every event, so
 * an entity's events carry increasing numbers. On PostgreSQL an event's number is drawn after the
 * write locked its row (`write` says why that holds inside one statement too), and the row stays
 * locked until commit, so the next write of that row draws a larger number.
 */
import type { Executor } from '../store/db.js';
import { join, raw, sql, type Sql } from '../store/sql.js';
import { documentWithStatus, scopeWhere, type ItemScope } from '../items/scope.js';
import type { Collection } from '../collections/model.js';

export const ITEM_EVENTS = {
  created: 'wix.data.v2.data_item_created',
  updated: 'wix.data.v2.data_item_updated',
  deleted: 'wix.data.v2.data_item_deleted',
} as const;

export const COLLECTION_EVENTS = {
  created: 'wix.data.v2.data_collection_created',
  updated: 'wix.data.v2.data_collection_updated',
  deleted: 'wix.data.v2.data_collection_deleted',
  /** What an update did to the fields, plugins and data permissions (src/collections/changes.ts). */
  changed: 'wix.data.v2.data_collection_data_collection_changed_event',
} as const;

/** Cairn's own: a task changed status, or a batch moved it forward. */
export const TASK_EVENTS = {
  statusChanged: 'cairn.tasks.v1.task_status_changed',
  progress: 'cairn.tasks.v1.task_progress',
} as const;

/** A backup's or a restoration's status changed, PENDING at creation included (the backups client's events). */
export const BACKUP_EVENTS = {
  backupStateChanged: 'wix.data.v2.backup_backup_state_changed',
  restorationStateChanged: 'wix.data.v2.backup_restoration_state_changed',
} as const;

export const EVENT_TYPES: readonly string[] = [
  ...Object.values(ITEM_EVENTS),
  ...Object.values(COLLECTION_EVENTS),
  ...Object.values(TASK_EVENTS),
  ...Object.values(BACKUP_EVENTS),
];

/** An event to record that is not read from `items` (collections, tasks, deletions by id). */
export interface NewEvent {
  type: string;
  collectionId: string | null;
  env: string | null;
  entityId: string;
  /** The entity (JSON text) the payload carries, or null. */
  data: string | null;
}

const EVENT_COLUMNS = raw('id, type, collection_id, env, entity_id, event_time, data');

/**
 * Which event each row of an items write gets: one kind for every row, or created for the ids
 * given and updated for the others (save, whose upsert does both).
 */
export type WriteKind = 'created' | 'updated' | 'deleted' | { created: readonly string[] };

export class EventRecorder {
  /** `enabled: false` (CAIRN_EVENTS=off) records nothing: no events, no webhooks, no stream. */
  constructor(readonly enabled = true) {}

  /**
   * Told, after the transaction commits, of every collection whose items a write here changed
   * (the read cache, src/items/read-cache.ts). Every items write path reaches this class, events
   * on or off, which is why the notice lives here.
   */
  onItemsChanged: ((collectionId: string) => void) | undefined;

  /** Notes that `tx` changes items of `collectionId` (for writes that record no event here). */
  itemsChanged(tx: Executor, collectionId: string): void {
    const listener = this.onItemsChanged;
    if (listener === undefined) return;
    // Item writes always run in a transaction; where the store has no commit hook (SQLite, which
    // has no cache), telling at once is all there is.
    if (tx.afterCommit) tx.afterCommit(() => listener(collectionId));
    else listener(collectionId);
  }

  /**
   * Runs `statement`, an INSERT, UPDATE or DELETE of `items` without its RETURNING clause, and
   * records an event for every row it wrote: created and updated events carry the document as
   * written. Resolves to the written rows: their `id` and the `items` columns named in
   * `columns`, under their own names. Every items write whose rows come back goes through here.
   *
   * PostgreSQL: one statement. The write's RETURNING rows feed the events insert, whose RETURNING
   * rows feed the fan-out, as data-modifying CTEs, so the documents are not read from `items`
   * again (that re-read was half of recording's cost on a 1,000-item update). The sub-statements
   * share one snapshot, but none reads a table another one changes: the events come from the
   * write's returned rows, the fan-out from the events' returned rows. Sequence order holds: the
   * write locks a row (waiting for any earlier writer of it to commit) before it returns the
   * row, and only a returned row reaches the events insert, where its `seq` is drawn; the lock is
   * held until commit, so a later write of that row draws its number later still.
   *
   * SQLite: the write, then the events for the ids it returned, documents read from `items` (the
   * one writer holds the database, so the rows read are the rows written).
   *
   * `events.data` stays jsonb on PostgreSQL although readers only re-serialise it: the documents
   * come from `items` as jsonb and are copied as they are, where a json or text column would
   * print each one to text inside the write (about 3 µs a document, to save about 75 of its
   * 570 bytes).
   */
  async write<R extends { id: string }>(tx: Executor, scope: ItemScope, kind: WriteKind, statement: Sql, columns: readonly (keyof R & string)[], now: string): Promise<R[]> {
    this.itemsChanged(tx, scope.collection.id);
    const names = ['id', ...columns.filter((c) => c !== 'id')];
    const wanted = raw(names.map((c) => `items.${c} AS ${c}`).join(', '));
    if (!this.enabled || tx.dialect !== 'postgres') {
      const rows = await tx.all<R>(sql`${statement} RETURNING ${wanted}`);
      const ids = rows.map((r) => r.id);
      if (kind === 'deleted') await this.itemsDeleted(tx, scope, ids, now);
      else if (typeof kind === 'string') await this.itemsWritten(tx, scope, kind, ids, now);
      else {
        const created = new Set(kind.created);
        await this.itemsWritten(tx, scope, 'created', ids.filter((id) => created.has(id)), now);
        await this.itemsWritten(tx, scope, 'updated', ids.filter((id) => !created.has(id)), now);
      }
      return rows;
    }
    const type =
      typeof kind === 'string'
        ? textParam(ITEM_EVENTS[kind])
        : sql`CASE WHEN w.ev_id = ANY(${[...kind.created]}::text[]) THEN ${ITEM_EVENTS.created}::text ELSE ${ITEM_EVENTS.updated}::text END`;
    // A deleted item's event carries no document.
    const data = kind === 'deleted' ? sql`NULL::jsonb` : documentWithStatus(scope.collection, 'postgres', sql`w.ev_data`, sql`w.ev_status`);
    return tx.all<R>(
      sql`WITH w AS (${statement} RETURNING items.collection_id AS ev_collection_id, items.env AS ev_env, items.id AS ev_id, items.data AS ev_data, items.publish_status AS ev_status, ${wanted}),
          ev AS (INSERT INTO events (${EVENT_COLUMNS})
                 SELECT gen_random_uuid()::text, ${type}, w.ev_collection_id, w.ev_env, w.ev_id, ${now}::text, ${data} FROM w
                 RETURNING seq, type, collection_id, env, entity_id),
          fan AS (${fanOutFrom(sql`ev`, 'postgres')})
          SELECT ${raw(names.join(', '))} FROM w`,
    );
  }

  /** Created or updated events for items this transaction wrote, with their documents now. */
  async itemsWritten(tx: Executor, scope: ItemScope, slug: 'created' | 'updated', ids: Iterable<string>, now: string): Promise<void> {
    const list = [...ids];
    if (list.length > 0) this.itemsChanged(tx, scope.collection.id);
    if (!this.enabled || list.length === 0) return;
    const type = ITEM_EVENTS[slug];
    const where = sql`${scopeWhere({ ...scope, includeDrafts: true })} AND ${idList(tx, list)}`;
    const data = documentWithStatus(scope.collection, tx.dialect, sql`data`, sql`publish_status`);
    await this.insert(tx, sql`SELECT ${newId(tx)}, ${textParam(type)}, collection_id, env, id, ${textParam(now)}, ${data} FROM items WHERE ${where}`);
  }

  /** Created or updated events for the items of `collection` that `where` (a condition on `items`) selects. */
  async itemsWrittenWhere(tx: Executor, collection: Collection, slug: 'created' | 'updated', where: Sql, now: string): Promise<void> {
    this.itemsChanged(tx, collection.id);
    if (!this.enabled) return;
    const data = documentWithStatus(collection, tx.dialect, sql`data`, sql`publish_status`);
    await this.insert(tx, sql`SELECT ${newId(tx)}, ${textParam(ITEM_EVENTS[slug])}, collection_id, env, id, ${textParam(now)}, ${data} FROM items WHERE ${where}`);
  }

  /** Deleted events for items this transaction removed (their ids). */
  async itemsDeleted(tx: Executor, scope: ItemScope, ids: Iterable<string>, now: string): Promise<void> {
    const list = [...ids];
    if (list.length > 0) this.itemsChanged(tx, scope.collection.id);
    if (!this.enabled || list.length === 0) return;
    await this.record(
      tx,
      list.map((id) => ({ type: ITEM_EVENTS.deleted, collectionId: scope.collection.id, env: scope.env, entityId: id, data: null })),
      now,
    );
  }

  /**
   * Deletes the items `where` selects (a condition on `items`), recording a deleted event for
   * each; resolves to how many were deleted. For deletions by range or filter (tasks, truncate),
   * whose ids never come to JS.
   */
  async deleteWhere(tx: Executor, collectionId: string, where: Sql, now: string): Promise<number> {
    this.itemsChanged(tx, collectionId);
    if (!this.enabled) return tx.run(sql`DELETE FROM items WHERE ${where}`);
    if (tx.dialect === 'postgres') {
      const row = await tx.get<{ n: string }>(
        sql`WITH d AS (DELETE FROM items WHERE ${where} RETURNING collection_id, env, id),
            ev AS (INSERT INTO events (${EVENT_COLUMNS})
                   SELECT gen_random_uuid()::text, ${ITEM_EVENTS.deleted}::text, collection_id, env, id, ${now}::text, NULL::jsonb FROM d
                   RETURNING seq, type, collection_id, env, entity_id),
            fan AS (${fanOutFrom(sql`ev`, 'postgres')})
            SELECT count(*) AS n FROM d`,
      );
      return Number(row?.n ?? 0);
    }
    // SQLite: the one writer holds the database, so the SELECT and the DELETE see the same rows.
    await this.insert(tx, sql`SELECT cairn_uuid(), ${ITEM_EVENTS.deleted}, collection_id, env, id, ${now}, NULL FROM items WHERE ${where}`);
    return tx.run(sql`DELETE FROM items WHERE ${where}`);
  }

  /** Records events given in full (collections, tasks, deletions by id). */
  async record(tx: Executor, events: readonly NewEvent[], now: string): Promise<void> {
    if (!this.enabled || events.length === 0) return;
    for (let start = 0; start < events.length; start += 500) {
      const chunk = events.slice(start, start + 500);
      if (tx.dialect === 'postgres') {
        const col = (f: (e: NewEvent) => string | null) => sql`${chunk.map(f)}::text[]`;
        await this.insert(
          tx,
          sql`SELECT gen_random_uuid()::text, t, c, e, i, ${now}::text, d::jsonb
              FROM unnest(${col((e) => e.type)}, ${col((e) => e.collectionId)}, ${col((e) => e.env)}, ${col((e) => e.entityId)}, ${col((e) => e.data)}) AS u(t, c, e, i, d)`);
      } else {
        const rows = chunk.map((e) => sql`(cairn_uuid(), ${e.type}, ${e.collectionId}, ${e.env}, ${e.entityId}, ${now}, ${e.data})`);
        await this.insert(tx, sql`VALUES ${join(rows, ', ')}`);
      }
    }
  }

  /** Inserts the events `source` yields (rows in EVENT_COLUMNS order) and fans them out. */
  private async insert(tx: Executor, source: Sql): Promise<void> {
    if (tx.dialect === 'postgres') {
      await tx.run(
        sql`WITH ev AS (INSERT INTO events (${EVENT_COLUMNS}) ${source} RETURNING seq, type, collection_id, env, entity_id)
            ${fanOutFrom(sql`ev`, 'postgres')}`,
      );
      return;
    }
    const before = await tx.get<{ seq: number }>(sql`SELECT coalesce(max(seq), 0) AS seq FROM events`);
    await tx.run(sql`INSERT INTO events (${EVENT_COLUMNS}) ${source}`);
    await tx.run(fanOutFrom(sql`(SELECT seq, type, collection_id, env, entity_id FROM events WHERE seq > ${before?.seq ?? 0})`, 'sqlite'));
  }
}

/**
 * The fan-out of the events `events` yields: one marker row per matching webhook (event types and
 * collection), naming the events it takes (`seqs`), decided here, in the write's transaction, so
 * a subscription never misses an event committed after it and never gets one from before it. The
 * delivery worker expands markers into one delivery row per (webhook, event) later, off the
 * write's path (delivery.ts, admitDeliveries, says why that keeps each entity's events in order):
 * a thousand-item write adds a row per webhook, not a thousand rows with their index entries.
 */
function fanOutFrom(events: Sql, dialect: 'sqlite' | 'postgres'): Sql {
  const seqs = dialect === 'postgres' ? sql`array_agg(DISTINCT ev.seq ORDER BY ev.seq)` : sql`json_group_array(DISTINCT ev.seq)`;
  return sql`INSERT INTO webhook_fanout (webhook_id, first_seq, seqs)
    SELECT w.id, min(ev.seq), ${seqs}
    FROM ${events} AS ev
    JOIN webhook_event_types t ON t.type IN (ev.type, '*')
    JOIN webhooks w ON w.id = t.webhook_id AND (w.collection_id IS NULL OR w.collection_id = ev.collection_id)
    GROUP BY w.id`;
}

/** A text parameter both stores type alike (PostgreSQL cannot infer a bare parameter in a SELECT list). */
function textParam(v: string): Sql {
  return sql`CAST(${v} AS TEXT)`;
}

function newId(tx: Executor): Sql {
  return tx.dialect === 'postgres' ? sql`gen_random_uuid()::text` : sql`cairn_uuid()`;
}

function idList(tx: Executor, ids: readonly string[]): Sql {
  if (tx.dialect === 'postgres') return sql`id = ANY(${[...ids]}::text[])`;
  // One JSON parameter, whatever the number of ids (SQLite caps bound parameters).
  return sql`id IN (SELECT value FROM json_each(${JSON.stringify(ids)}))`;
}
