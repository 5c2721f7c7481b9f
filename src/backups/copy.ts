/**
 * The statements that take a backup and restore one. Each runs in the caller's transaction: a
 * backup is one consistent copy of the live data (PostgreSQL: one REPEATABLE READ snapshot;
 * SQLite: one writer), and a restoration changes every collection it names or none.
 */
import { CollectionService } from '../collections/service.js';
import { ITEM_SOURCE_COLUMNS, replaceLiveItems } from '../collections/sandbox-sync.js';
import { lockCollectionLifecycle } from '../collections/deletion.js';
import type { Collection } from '../collections/model.js';
import type { EventRecorder } from '../events/outbox.js';
import type { Executor } from '../store/db.js';
import { join, raw, sql, type Sql } from '../store/sql.js';
import { WixError } from '../errors.js';
import type { RestorationTarget } from './model.js';

/** Items a batch of a backup copies between two pauses (takeBackup). */
export const BACKUP_BATCH = 5000;

/**
 * Copies every collection's (or the `only` ones') definition, live items and the references its
 * items make into the backup's rows. Collections that are deleted (restorable or not) are not in
 * it. Returns the backup's size:
 * the bytes of its items' JSON.
 *
 * With `pause`, items are copied BACKUP_BATCH at a time (in id order, per collection), calling
 * it between batches, all still in the caller's transaction: on SQLite, whose statements run
 * on the event loop, a large backup then lets reads be answered while it runs, where one
 * statement would hold every request for its whole length (writes wait for the transaction).
 */
export async function takeBackup(tx: Executor, backupId: string, only: readonly string[] | undefined, pause?: () => Promise<void>): Promise<number> {
  const chosen = only === undefined ? sql`` : sql` WHERE c.id IN (${join(only.map((id) => sql`${id}`), ', ')})`;
  await tx.run(sql`INSERT INTO backup_collections (backup_id, collection_id, doc) SELECT ${backupId}, c.id, c.doc FROM collections AS c${chosen}`);
  const inBackup = sql`SELECT collection_id FROM backup_collections WHERE backup_id = ${backupId}`;
  const copy = (where: Sql) =>
    tx.run(sql`INSERT INTO backup_items (backup_id, collection_id, id, data, created_date, updated_date, owner, publish_status, canon)
      SELECT ${backupId}, i.collection_id, i.id, i.data, i.created_date, i.updated_date, i.owner, i.publish_status, i.canon
      FROM items AS i WHERE ${where}`);
  if (!pause) {
    await copy(sql`i.env = 'LIVE' AND i.collection_id IN (${inBackup})`);
  } else {
    const collections = await tx.all<{ collection_id: string }>(sql`SELECT collection_id FROM backup_collections WHERE backup_id = ${backupId} ORDER BY collection_id`);
    for (const { collection_id: c } of collections) {
      let after = '';
      for (;;) {
        const bound = await tx.get<{ id: string }>(
          sql`SELECT id FROM items WHERE collection_id = ${c} AND env = 'LIVE' AND id > ${after} ORDER BY id LIMIT 1 OFFSET ${BACKUP_BATCH - 1}`,
        );
        await copy(sql`i.collection_id = ${c} AND i.env = 'LIVE' AND i.id > ${after}${bound ? sql` AND i.id <= ${bound.id}` : sql``}`);
        if (!bound) break;
        after = bound.id;
        await pause();
      }
    }
  }
  await tx.run(sql`INSERT INTO backup_references (backup_id, collection_id, field, referring_id, referenced_collection_id, referenced_id)
    SELECT ${backupId}, r.collection_id, r.field, r.referring_id, r.referenced_collection_id, r.referenced_id
    FROM item_references AS r WHERE r.env = 'LIVE' AND r.collection_id IN (${inBackup}) ORDER BY r.seq`);
  // PostgreSQL: statistics for the rows just copied, or a restoration soon after plans its joins
  // for an empty table (nested loops over the copies).
  if (tx.dialect === 'postgres') await tx.run(sql`ANALYZE backup_items`);
  // PostgreSQL: the stored size of each document (its jsonb, compressed when large), without
  // printing a million documents to text; SQLite: the bytes of the JSON text.
  const size = tx.dialect === 'postgres' ? raw('pg_column_size(data)') : raw('length(CAST(data AS BLOB))');
  const row = await tx.get<{ n: number | string | null }>(sql`SELECT sum(${size}) AS n FROM backup_items WHERE backup_id = ${backupId}`);
  return Number(row?.n ?? 0);
}

/** Removes a backup's copied data (its row stays, DELETED). */
export async function dropBackupData(tx: Executor, backupId: string): Promise<void> {
  await tx.run(sql`DELETE FROM backup_items WHERE backup_id = ${backupId}`);
  await tx.run(sql`DELETE FROM backup_references WHERE backup_id = ${backupId}`);
  await tx.run(sql`DELETE FROM backup_collections WHERE backup_id = ${backupId}`);
}

/**
 * Restores the targets from the backup, in the caller's transaction:
 * - a destination collection that does not exist is created from the backup's definition of
 *   its source (under the destination's id and, if given, display name);
 * - the destination's live items become the backup's: items the backup has overwrite (or are
 *   inserted), the others are removed, each change with its item event;
 * - the references the destination's items make become the backup's; references that other
 *   collections' items made to a restored collection come back where both ends still exist.
 * The sandbox environment is not touched: backups hold live data only. With `pause`, items are
 * replaced in batches with a pause between them (replaceLiveItems).
 */
export async function restoreTargets(
  tx: Executor,
  collections: CollectionService,
  events: EventRecorder,
  backupId: string,
  targets: readonly RestorationTarget[],
  now: string,
  pause?: () => Promise<void>,
): Promise<void> {
  await lockCollectionLifecycle(tx);
  const restored: { target: RestorationTarget; collection: Collection }[] = [];
  for (const target of targets) {
    const definition = await tx.get<{ doc: string }>(sql`SELECT doc FROM backup_collections WHERE backup_id = ${backupId} AND collection_id = ${target.source}`);
    if (!definition) throw new WixError('WDE0025', `Collection [${target.source}] is not in the backup`, { collectionId: target.source });
    let collection = await collections.find(target.destination, tx);
    if (!collection) {
      collection = CollectionService.fromDefinition(target.destination, definition.doc, target.displayName, now);
      await collections.insertIn(tx, collection, now);
    }
    const source = sql`SELECT ${raw(ITEM_SOURCE_COLUMNS)} FROM backup_items WHERE backup_id = ${backupId} AND collection_id = ${target.source}`;
    await replaceLiveItems(tx, events, collection, source, true, now, pause ? { pause } : {});
    restored.push({ target, collection });
  }
  // References once every target's items are in place: a reference between two restored
  // collections needs both ends.
  const destinations = join(
    restored.map((r) => sql`${r.target.destination}`),
    ', ',
  );
  for (const { target } of restored) {
    const { source, destination } = target;
    // A reference of the source to itself follows it into the destination.
    const referenced = sql`CASE WHEN r.referenced_collection_id = ${source} THEN ${destination} ELSE r.referenced_collection_id END`;
    await tx.run(sql`DELETE FROM item_references WHERE collection_id = ${destination} AND env = 'LIVE'`);
    await tx.run(sql`INSERT INTO item_references (collection_id, env, field, referring_id, referenced_collection_id, referenced_id)
      SELECT ${destination}, 'LIVE', r.field, r.referring_id, ${referenced}, r.referenced_id FROM backup_references AS r
      WHERE r.backup_id = ${backupId} AND r.collection_id = ${source}
        AND EXISTS (SELECT 1 FROM items AS i WHERE i.collection_id = ${referenced} AND i.env = 'LIVE' AND i.id = r.referenced_id)
      ORDER BY r.seq
      ON CONFLICT DO NOTHING`);
    if (source !== destination) continue;
    // Incoming: made by items of collections this restoration leaves alone.
    await tx.run(sql`INSERT INTO item_references (collection_id, env, field, referring_id, referenced_collection_id, referenced_id)
      SELECT r.collection_id, 'LIVE', r.field, r.referring_id, r.referenced_collection_id, r.referenced_id FROM backup_references AS r
      WHERE r.backup_id = ${backupId} AND r.referenced_collection_id = ${source} AND r.collection_id NOT IN (${destinations})
        AND EXISTS (SELECT 1 FROM items AS i WHERE i.collection_id = r.collection_id AND i.env = 'LIVE' AND i.id = r.referring_id)
        AND EXISTS (SELECT 1 FROM items AS i WHERE i.collection_id = ${source} AND i.env = 'LIVE' AND i.id = r.referenced_id)
      ORDER BY r.seq
      ON CONFLICT DO NOTHING`);
  }
}
