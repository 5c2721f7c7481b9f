/**
 * Deleted collections and their restore (README, "Deleting and restoring collections").
 *
 * Deleting a collection moves its row from `collections` to `deleted_collections`; its items,
 * indexes and own references stay where they are, unreachable (every item call finds its
 * collection first). A restore moves the row back. So both are a few statements whatever the
 * collection's size, and a restore gives back exactly what was there. References that other
 * collections' items made to it are parked in `deleted_references` meanwhile.
 *
 * A deletion ends in a purge, which removes the items, indexes and references for good: when the
 * retention has passed (the task runner's sweep), or at once when a collection is created with
 * the id of one the deletion holds (the new collection must start empty).
 *
 * One deletion can take several collections (a collection and its drafts collection): they share
 * a `deletion_id`, and are restored and purged together.
 */
import type { Executor } from '../store/db.js';
import { join, sql } from '../store/sql.js';
import { dropAllIndexes } from './indexes.js';
import { clearCollectionReferences, parkIncomingReferences, unparkReferences } from '../items/references.js';

/** A row of `collections` or `deleted_collections` as a driver returns it (`doc` as JSON text: src/store/postgres keeps jsonb as text). */
export interface StoredCollectionRow {
  id: string;
  doc: string;
  revision: number;
  sandbox_enabled: number | boolean;
  created_date: string;
  updated_date: string;
}

interface DeletedRow extends StoredCollectionRow {
  deletion_id: string;
  deleted_date: string;
}

const idList = (ids: readonly string[]) => join(ids.map((id) => sql`${id}`), ', ');

/** Advisory lock key of collection creation, deletion and restore (PostgreSQL): "clif". */
const LIFECYCLE_LOCK = 0x636c6966;

/**
 * PostgreSQL: creations, deletions and restores of collections take turns, in the order they
 * take this transaction-scoped lock. Without it, a creation racing a deletion of the same id
 * could miss the deletion it must purge, and a creation racing a restore would take the two rows
 * they both touch in opposite orders. They are rare calls; item traffic never takes the lock.
 * SQLite has one writer and needs none.
 */
export async function lockCollectionLifecycle(tx: Executor): Promise<void> {
  if (tx.dialect === 'postgres') await tx.run(sql`SELECT pg_advisory_xact_lock(${LIFECYCLE_LOCK}::int, 0)`);
}

/** The doc column as a parameter: text on SQLite, jsonb on PostgreSQL. */
function docParam(tx: Executor, doc: string) {
  return tx.dialect === 'postgres' ? sql`${doc}::jsonb` : sql`${doc}`;
}

/**
 * Moves the collections (ids, in order) out of `collections` under one deletion. Returns the rows
 * moved; a collection another caller deleted first is not among them.
 */
export async function markDeleted(tx: Executor, ids: readonly string[], deletionId: string, now: string): Promise<StoredCollectionRow[]> {
  const moved: StoredCollectionRow[] = [];
  for (const id of ids) {
    // DELETE first: on PostgreSQL it locks the row, so of two concurrent deletions the second
    // waits and then finds nothing to move.
    const row = await tx.get<StoredCollectionRow>(sql`DELETE FROM collections WHERE id = ${id} RETURNING *`);
    if (!row) continue;
    // A collection in `collections` has no deletion holding its id (creation purges it), so this
    // is only a safeguard against a store edited by hand.
    await purgeDeletionsHolding(tx, [id]);
    await tx.run(sql`INSERT INTO deleted_collections (id, deletion_id, doc, revision, sandbox_enabled, created_date, updated_date, deleted_date)
      VALUES (${id}, ${deletionId}, ${docParam(tx, row.doc)}, ${row.revision}, ${row.sandbox_enabled === true || row.sandbox_enabled === 1}, ${row.created_date}, ${row.updated_date}, ${now})`);
    moved.push(row);
  }
  if (moved.length > 0) await parkIncomingReferences(tx, moved.map((r) => r.id), deletionId);
  return moved;
}

/** The deletion holding `id`, if any, and its date (the same for every collection it took). */
export async function findDeletion(tx: Executor, id: string): Promise<{ deletionId: string; deletedDate: string } | undefined> {
  const row = await tx.get<{ deletion_id: string; deleted_date: string }>(sql`SELECT deletion_id, deleted_date FROM deleted_collections WHERE id = ${id}`);
  return row && { deletionId: row.deletion_id, deletedDate: row.deleted_date };
}

/**
 * Moves a deletion's collections back into `collections`. Returns the rows restored, or
 * undefined when the deletion is no longer there (restored or purged by a concurrent caller).
 * A collection of the same id already present throws (the caller's transaction rolls back).
 */
export async function restoreDeletion(tx: Executor, deletionId: string, deletedDate: string, exists: (id: string) => Error): Promise<StoredCollectionRow[] | undefined> {
  const rows = await tx.all<DeletedRow>(sql`DELETE FROM deleted_collections WHERE deletion_id = ${deletionId} RETURNING *`);
  if (rows.length === 0) return undefined;
  rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const r of rows) {
    const inserted = await tx.run(sql`INSERT INTO collections (id, doc, revision, sandbox_enabled, created_date, updated_date)
      VALUES (${r.id}, ${docParam(tx, r.doc)}, ${r.revision}, ${r.sandbox_enabled === true || r.sandbox_enabled === 1}, ${r.created_date}, ${r.updated_date})
      ON CONFLICT (id) DO NOTHING`);
    if (inserted === 0) throw exists(r.id);
  }
  await unparkReferences(tx, rows.map((r) => r.id), deletionId, deletedDate);
  return rows;
}

/**
 * Purges every deletion that holds one of `ids` (a collection is being created under one of
 * them): their items, indexes, references and schedules go for good. Returns the collection ids
 * purged.
 */
export async function purgeDeletionsHolding(tx: Executor, ids: readonly string[]): Promise<string[]> {
  const deletions = await tx.all<{ deletion_id: string }>(sql`SELECT DISTINCT deletion_id FROM deleted_collections WHERE id IN (${idList(ids)})`);
  const purged: string[] = [];
  for (const d of deletions) purged.push(...(await purgeDeletion(tx, d.deletion_id)));
  return purged;
}

/** Purges one deletion in the caller's transaction; returns its collection ids (none if it was gone). */
export async function purgeDeletion(tx: Executor, deletionId: string): Promise<string[]> {
  const rows = await tx.all<{ id: string }>(sql`DELETE FROM deleted_collections WHERE deletion_id = ${deletionId} RETURNING id`);
  for (const { id } of rows) await purgeCollectionData(tx, id);
  await tx.run(sql`DELETE FROM deleted_references WHERE deletion_id = ${deletionId}`);
  return rows.map((r) => r.id);
}

/** Everything stored under a collection id besides its row (which is gone already). */
export async function purgeCollectionData(tx: Executor, id: string): Promise<void> {
  await dropAllIndexes(tx, id);
  await tx.run(sql`DELETE FROM items WHERE collection_id = ${id}`);
  await clearCollectionReferences(tx, id);
  await tx.run(sql`DELETE FROM item_schedules WHERE collection_id = ${id}`);
}

/** Deletions whose retention ended before `cutoff`, oldest first. */
export async function expiredDeletions(tx: Executor, cutoff: string, limit: number): Promise<{ deletion_id: string; id: string }[]> {
  return tx.all(sql`SELECT deletion_id, id FROM deleted_collections WHERE deleted_date < ${cutoff} ORDER BY deleted_date, id LIMIT ${limit}`);
}

/**
 * Removes up to `limit` items of an expired deletion's collection, in the caller's transaction,
 * if the deletion still holds it; returns how many went. The sweep purges large collections this
 * way, in short transactions, before purging the rest in one. On PostgreSQL the deletion's row
 * is locked first, so a creation under the same id (which purges the deletion itself) waits for
 * this batch, and a batch after it finds the deletion gone and touches nothing of the new one.
 */
export async function purgeItemsBatch(tx: Executor, deletionId: string, id: string, cutoff: string, limit: number): Promise<number> {
  const lock = tx.dialect === 'postgres' ? sql` FOR UPDATE` : sql``;
  const held = await tx.get(sql`SELECT 1 AS held FROM deleted_collections WHERE id = ${id} AND deletion_id = ${deletionId} AND deleted_date < ${cutoff}${lock}`);
  if (!held) return 0;
  return tx.run(sql`DELETE FROM items WHERE collection_id = ${id} AND (env, id) IN (SELECT env, id FROM items WHERE collection_id = ${id} LIMIT ${limit})`);
}

/** The deleted collections still restorable (deleted at or after `cutoff`), most recent first. */
export async function listDeleted(tx: Executor, cutoff: string, limit: number, offset: number): Promise<{ rows: DeletedRow[]; total: number }> {
  const rows = await tx.all<DeletedRow>(sql`SELECT * FROM deleted_collections WHERE deleted_date >= ${cutoff} ORDER BY deleted_date DESC, id LIMIT ${limit} OFFSET ${offset}`);
  const total = (await tx.get<{ n: number | string }>(sql`SELECT count(*) AS n FROM deleted_collections WHERE deleted_date >= ${cutoff}`))?.n ?? 0;
  return { rows, total: Number(total) };
}
