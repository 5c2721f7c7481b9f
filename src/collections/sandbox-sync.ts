/**
 * Sandbox to live (Cairn's POST /cairn/v1/collections/{id}/sandbox/sync; README, "Environments
 * and drafts"): the collection's sandbox items are copied into its live environment, a live item
 * of the same id overwritten, as the CMS's sync does on Wix. With `replace`, live items the
 * sandbox does not have are removed too, so live becomes what the sandbox is. A few set-based
 * statements in the caller's transaction, each recording its item events (LIVE) through the
 * outbox, so webhooks and the event stream see the sync as the item changes it is.
 */
import type { EventRecorder } from '../events/outbox.js';
import { clearReferencesWhere } from '../items/references.js';
import { makeScope } from '../items/scope.js';
import type { Executor } from '../store/db.js';
import { raw, sql, type Sql } from '../store/sql.js';
import type { Collection } from './model.js';

export interface SyncCounts {
  /** Sandbox items live did not have. */
  inserted: number;
  /** Live items the sandbox's version of replaced (identical ones are left alone). */
  updated: number;
  /** Live items the sandbox did not have, removed (`replace` only). */
  removed: number;
}

export async function syncSandboxToLive(tx: Executor, events: EventRecorder, c: Collection, replace: boolean, now: string, options: ReplaceOptions = {}): Promise<SyncCounts> {
  const sandbox = sql`SELECT ${raw(ITEM_SOURCE_COLUMNS)} FROM items WHERE collection_id = ${c.id} AND env = 'SANDBOX'`;
  const counts = await replaceLiveItems(tx, events, c, sandbox, replace, now, options);
  // The synced items' own references become the sandbox's, in their order.
  await tx.run(sql`DELETE FROM item_references WHERE collection_id = ${c.id} AND env = 'LIVE' AND referring_id IN (SELECT s.id FROM items AS s WHERE s.collection_id = ${c.id} AND s.env = 'SANDBOX')`);
  await tx.run(sql`INSERT INTO item_references (collection_id, env, field, referring_id, referenced_collection_id, referenced_id)
    SELECT collection_id, 'LIVE', field, referring_id, referenced_collection_id, referenced_id FROM item_references
    WHERE collection_id = ${c.id} AND env = 'SANDBOX' ORDER BY seq`);
  return counts;
}

/** The columns a source of replaceLiveItems selects, by these names. */
export const ITEM_SOURCE_COLUMNS = 'id, data, canon, owner, publish_status, created_date, updated_date';

/** Ids a batch of replaceLiveItems works on, when it pauses between batches. */
export const REPLACE_BATCH = 5000;

export interface ReplaceOptions {
  /**
   * Work REPLACE_BATCH ids at a time (in id order), calling this between batches, all still in
   * the caller's transaction. On SQLite, whose statements run on the event loop, the process then
   * answers reads while a large collection is replaced (writes wait for the transaction).
   */
  pause?: () => Promise<void>;
}

/**
 * Makes the collection's live items those of `source` (a SELECT of ITEM_SOURCE_COLUMNS): its
 * items overwrite the live items of the same id (identical ones are left alone), the others are
 * inserted, and with `replace` the live items it does not have are removed, their references
 * with them. Each change records its item events (LIVE). The sandbox sync and a backup's
 * restoration (src/backups/) both go through here; references are the caller's.
 */
export async function replaceLiveItems(tx: Executor, events: EventRecorder, c: Collection, source: Sql, replace: boolean, now: string, options: ReplaceOptions = {}): Promise<SyncCounts> {
  const live = { ...makeScope(c, 'LIVE', true), collection: c };
  const counts: SyncCounts = { inserted: 0, updated: 0, removed: 0 };
  if (replace) {
    for await (const range of idRanges(tx, sql`SELECT id FROM items WHERE collection_id = ${c.id} AND env = 'LIVE'`, options.pause)) {
      // NOT EXISTS, an anti join: NOT IN would read the whole source again for every batch on
      // SQLite, and on PostgreSQL stops being hashed once the source outgrows work_mem.
      const liveOnly = sql`collection_id = ${c.id} AND env = 'LIVE' AND ${range(sql`id`)} AND NOT EXISTS (SELECT 1 FROM (${source}) AS s WHERE s.id = items.id)`;
      await clearReferencesWhere(tx, c.id, liveOnly);
      counts.removed += await events.deleteWhere(tx, c.id, liveOnly, now);
    }
  }
  for await (const range of idRanges(tx, sql`SELECT s.id FROM (${source}) AS s`, options.pause)) {
    const part = sql`SELECT * FROM (${source}) AS r WHERE ${range(sql`r.id`)}`;
    const updated = await events.write(
      tx,
      live,
      'updated',
      sql`UPDATE items SET data = s.data, canon = s.canon, owner = s.owner, publish_status = s.publish_status, created_date = s.created_date, updated_date = s.updated_date
          FROM (${part}) AS s
          WHERE items.collection_id = ${c.id} AND items.env = 'LIVE' AND s.id = items.id
            AND (items.data IS DISTINCT FROM s.data OR items.owner IS DISTINCT FROM s.owner OR items.publish_status IS DISTINCT FROM s.publish_status)`,
      [],
      now,
    );
    const inserted = await events.write(
      tx,
      live,
      'created',
      // ON CONFLICT on the key, not NOT EXISTS: one primary-key probe per row whatever the
      // planner believes (PostgreSQL, with few live rows estimated, probed a NOT EXISTS through
      // the _createdDate index, reading every removed row's entry for each item: 43 s for
      // 40,000). A unique index of the user's still fails the statement. (`WHERE true`: SQLite
      // needs a WHERE before an upsert's ON to tell it from a join's.)
      sql`INSERT INTO items (collection_id, env, id, data, created_date, updated_date, owner, publish_status, canon)
          SELECT ${c.id}, 'LIVE', s.id, s.data, s.created_date, s.updated_date, s.owner, s.publish_status, s.canon FROM (${part}) AS s WHERE true
          ON CONFLICT (collection_id, env, id) DO NOTHING`,
      [],
      now,
    );
    counts.updated += updated.length;
    counts.inserted += inserted.length;
  }
  return counts;
}

/**
 * The id ranges of `ids` (a SELECT of one column `id`), REPLACE_BATCH ids each, as conditions
 * on a column, with `pause` between them; without `pause`, one range that holds every id. Each
 * bound is read when its range starts, so rows the previous range removed are not counted.
 */
async function* idRanges(tx: Executor, ids: Sql, pause: (() => Promise<void>) | undefined): AsyncGenerator<(column: Sql) => Sql> {
  if (!pause) {
    yield () => sql`1 = 1`;
    return;
  }
  let after: string | undefined;
  for (;;) {
    const from = after;
    const bound = (await tx.get<{ id: string }>(sql`SELECT q.id FROM (${ids}) AS q WHERE ${from === undefined ? sql`1 = 1` : sql`q.id > ${from}`} ORDER BY q.id LIMIT 1 OFFSET ${REPLACE_BATCH - 1}`))?.id;
    yield (column) => sql`${from === undefined ? sql`1 = 1` : sql`${column} > ${from}`}${bound === undefined ? sql`` : sql` AND ${column} <= ${bound}`}`;
    if (bound === undefined) return;
    after = bound;
    await pause();
  }
}
