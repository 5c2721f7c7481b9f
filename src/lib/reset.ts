/**
 * `cairn.reset()`: empties the store between tests with a handful of set-based statements in one
 * transaction (no per-row work, no events recorded: it is test plumbing, not a change to report).
 *
 * Gone: items (live and sandbox) and their references, the event outbox, webhook deliveries, tasks
 * and their failures, publish schedules, deleted collections, backups and restorations; with `collections: 'drop'` also every collection and its indexes. Kept: API
 * keys (a test's credentials stay valid) and webhook subscriptions (configuration, like keys; their
 * pending deliveries go). Event sequence numbers keep growing, so a stream client that reconnects
 * with Last-Event-ID never mistakes a new event for one it has seen.
 */
import type { Db, Executor } from '../store/db.js';
import { ident, raw, sql } from '../store/sql.js';
import { writePlannerStats } from '../store/sqlite/planner-stats.js';
import { dropAllIndexes } from '../collections/indexes.js';

/** The tables whose rows are data (migrations.ts), children before parents. */
const DATA_TABLES = ['webhook_fanout', 'webhook_deliveries', 'events', 'task_failures', 'item_schedules', 'tasks', 'item_references', 'deleted_references', 'items', 'restorations', 'backup_references', 'backup_items', 'backup_collections', 'backups'] as const;

export async function emptyStore(db: Db, dropCollections: boolean): Promise<void> {
  await db.transaction(async (tx) => {
    // On SQLite a DELETE without WHERE takes the truncate path: pages are freed, rows not visited.
    for (const table of DATA_TABLES) await tx.run(raw(`DELETE FROM ${table}`));
    // Deleted collections lost their items with everyone else's: nothing is left to restore.
    const deleted = await tx.all<{ id: string }>(sql`SELECT id FROM deleted_collections`);
    for (const { id } of deleted) await dropAllIndexes(tx, id);
    await tx.run(raw('DELETE FROM deleted_collections'));
    if (dropCollections) await dropAll(tx);
    else if (deleted.length > 0 && tx.dialect === 'sqlite') await writePlannerStats(tx);
  });
}

async function dropAll(tx: Executor): Promise<void> {
  const indexes = await tx.all<{ sql_names: string }>(sql`SELECT sql_names FROM item_indexes`);
  for (const index of indexes) await tx.run(sql`DROP INDEX IF EXISTS ${ident(index.sql_names)}`);
  await tx.run(raw('DELETE FROM item_indexes'));
  await tx.run(raw('DELETE FROM collections'));
  // The planner statistics name the indexes that exist (planner-stats.ts).
  if (indexes.length > 0 && tx.dialect === 'sqlite') await writePlannerStats(tx);
}
