/**
 * The item moves of the Draft Items plugin's collection calls (docs/drafts.md): set-based
 * statements per environment, each recording its item events through the outbox in the
 * caller's transaction. The per-item calls (create-draft, publish-draft, unpublish) are in
 * src/items/drafts.ts.
 */
import type { EventRecorder } from '../events/outbox.js';
import { clearReferencesWhere } from '../items/references.js';
import { makeScope, type Environment } from '../items/scope.js';
import type { Executor } from '../store/db.js';
import { sql, type Sql } from '../store/sql.js';
import type { Collection } from './model.js';

const ENVIRONMENTS: readonly Environment[] = ['LIVE', 'SANDBOX'];

const ITEM_COLUMNS = sql`collection_id, env, id, data, created_date, updated_date, owner, publish_status, canon`;

/** An environment's scope over every item of a collection (drafts and every owner). */
function everyItem(c: Collection, env: Environment) {
  return { ...makeScope({ ...c, sandboxEnabled: true }, env, true), collection: c };
}

/**
 * Copies the items of `from` (those `where` selects) into `to`, in each environment, as created
 * items with `status`; an id `to` already has is left alone. `updatedDate` is the new rows'
 * `_updatedDate` (the source's own column, or now).
 */
async function copyInto(
  tx: Executor,
  events: EventRecorder,
  to: Collection,
  from: Collection,
  copy: { where?: Sql; status: 'PUBLISHED' | 'DRAFT'; updatedDate: Sql },
  now: string,
): Promise<void> {
  for (const env of ENVIRONMENTS) {
    await events.write(
      tx,
      everyItem(to, env),
      'created',
      sql`INSERT INTO items (${ITEM_COLUMNS})
          SELECT ${to.id}, env, id, data, created_date, ${copy.updatedDate}, owner, ${copy.status}, canon FROM items AS d
          WHERE d.collection_id = ${from.id} AND d.env = ${env}${copy.where ? sql` AND ${copy.where}` : sql``}
            AND NOT EXISTS (SELECT 1 FROM items AS x WHERE x.collection_id = ${to.id} AND x.env = ${env} AND x.id = d.id)`,
      [],
      now,
    );
  }
}

/**
 * Adding the plugin to a collection with the Publish plugin (COPY_DRAFT_ITEMS_WITH_DRAFT_STATUS):
 * its DRAFT items move to the new drafts collection, dates and owners kept. An item is either
 * published or a draft under the Publish plugin, so none is both.
 */
export async function moveDraftStatusItems(tx: Executor, events: EventRecorder, published: Collection, drafts: Collection, now: string): Promise<void> {
  await copyInto(tx, events, drafts, published, { where: sql`d.publish_status = 'DRAFT'`, status: 'PUBLISHED', updatedDate: sql`updated_date` }, now);
  const draftRows = sql`collection_id = ${published.id} AND publish_status = 'DRAFT'`;
  await clearReferencesWhere(tx, published.id, draftRows);
  await events.deleteWhere(tx, published.id, draftRows, now);
}

/**
 * Removing the plugin with PUBLISH_EXISTING_DRAFT_ITEMS: every draft replaces the published item
 * of its id (an updated event) or becomes one (created). `_createdDate` stays the published
 * item's, or the draft's for a new one; `_updatedDate` is now.
 */
export async function publishAllDrafts(tx: Executor, events: EventRecorder, published: Collection, drafts: Collection, now: string): Promise<void> {
  for (const env of ENVIRONMENTS) {
    await events.write(
      tx,
      everyItem(published, env),
      'updated',
      sql`UPDATE items SET data = d.data, canon = d.canon, owner = d.owner, updated_date = ${now}
          FROM items AS d
          WHERE items.collection_id = ${published.id} AND items.env = ${env} AND d.collection_id = ${drafts.id} AND d.env = ${env} AND d.id = items.id`,
      [],
      now,
    );
  }
  await copyInto(tx, events, published, drafts, { status: 'PUBLISHED', updatedDate: sql`${now}` }, now);
}

/**
 * Adding the Publish plugin to a paired collection with COPY_DRAFT_ITEMS_WITH_DRAFT_STATUS: each
 * draft without a published version becomes an item with the DRAFT status; a draft whose item is
 * published is dropped with its collection. `published` is the collection as it will be (with
 * the Publish plugin), so the events show the status.
 */
export async function copyDraftsAsDraftStatus(tx: Executor, events: EventRecorder, published: Collection, drafts: Collection, now: string): Promise<void> {
  await copyInto(tx, events, published, drafts, { status: 'DRAFT', updatedDate: sql`updated_date` }, now);
}
