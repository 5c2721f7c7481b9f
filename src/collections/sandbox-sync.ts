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

export async function syncSandboxToLive(tx: Executor, events: EventRecorder, c: Collection, replace: boolean, now: string): Promise<SyncCounts> {
  const sandbox = sql`SELECT ${raw(ITEM_SOURCE_COLUMNS)} FROM items WHERE collection_id = ${c.id} AND env = 'SANDBOX'`;
  const counts = await replaceLiveItems(tx, events, c, sandbox, replace, now);
  // The synced items' own references become the sandbox's, in their order.
  await tx.run(sql`DELETE FROM item_references WHERE collection_id = ${c.id} AND env = 'LIVE' AND referring_id IN (SELECT s.id FROM items AS s WHERE s.collection_id = ${c.id} AND s.env = 'SANDBOX')`);
  await tx.run(sql`INSERT INTO item_references (collection_id, env, field, referring_id, referenced_collection_id, referenced_id)
    SELECT collection_id, 'LIVE', field, referring_id, referenced_collection_id, referenced_id FROM item_references
    WHERE collection_id = ${c.id} AND env = 'SANDBOX' ORDER BY seq`);
  return counts;
}

/** The columns a source of replaceLiveItems selects, by these names. */
export const ITEM_SOURCE_COLUMNS = 'id, data, canon, owner, publish_status, created_date, updated_date';

/**
 * Makes the collection's live items those of `source` (a SELECT of ITEM_SOURCE_COLUMNS): its
 * items overwrite the live items of the same id (identical ones are left alone), the others are
 * inserted, and with `replace` the live items it does not have are removed, their references
 * with them. Each change records its item events (LIVE). The sandbox sync and a backup's
 * restoration (src/backups/) both go through here; references are the caller's.
 */
export async function replaceLiveItems(tx: Executor, events: EventRecorder, c: Collection, source: Sql, replace: boolean, now: string): Promise<SyncCounts> {
  const live = { ...makeScope(c, 'LIVE', true), collection: c };
  let removed = 0;
  if (replace) {
    const liveOnly = sql`collection_id = ${c.id} AND env = 'LIVE' AND id NOT IN (SELECT s.id FROM (${source}) AS s)`;
    await clearReferencesWhere(tx, c.id, liveOnly);
    removed = await events.deleteWhere(tx, c.id, liveOnly, now);
  }
  const updated = await events.write(
    tx,
    live,
    'updated',
    sql`UPDATE items SET data = s.data, canon = s.canon, owner = s.owner, publish_status = s.publish_status, created_date = s.created_date, updated_date = s.updated_date
        FROM (${source}) AS s
        WHERE items.collection_id = ${c.id} AND items.env = 'LIVE' AND s.id = items.id
          AND (items.data IS DISTINCT FROM s.data OR items.owner IS DISTINCT FROM s.owner OR items.publish_status IS DISTINCT FROM s.publish_status)`,
    [],
    now,
  );
  const inserted = await events.write(
    tx,
    live,
    'created',
    sql`INSERT INTO items (collection_id, env, id, data, created_date, updated_date, owner, publish_status, canon)
        SELECT ${c.id}, 'LIVE', s.id, s.data, s.created_date, s.updated_date, s.owner, s.publish_status, s.canon FROM (${source}) AS s
        WHERE NOT EXISTS (SELECT 1 FROM items AS x WHERE x.collection_id = ${c.id} AND x.env = 'LIVE' AND x.id = s.id)`,
    [],
    now,
  );
  return { inserted: inserted.length, updated: updated.length, removed };
}
