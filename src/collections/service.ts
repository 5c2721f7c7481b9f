/**
 * Collections: create, read, list, replace, delete, and the field and plugin edits. Every change
 * bumps the revision with a compare-and-swap, so two concurrent editors never overwrite each other
 * silently (PUT with a stale revision fails; field and plugin edits retry on a fresh read).
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock.js';
import { WixError } from '../errors.js';
import type { Db, Executor } from '../store/db.js';
import { raw, sql, type Sql } from '../store/sql.js';
import { asObject, oneOf, optionalBoolean, optionalInt, optionalString, requireString } from '../validate.js';
import type { JsonObject } from '../wire/json.js';
import {
  DRAFT_ITEMS,
  draftsCollectionOf,
  draftsIdFor,
  extrasOf,
  publishedCollectionOf,
  publishPlugin,
  replacedPlugins,
  validCollectionId,
  validateField,
  validateFields,
  validatePermissions,
  validatePlugin,
  validatePlugins,
  toWire,
  type Collection,
} from './model.js';
import {
  expiredDeletions,
  findDeletion,
  listDeleted,
  lockCollectionLifecycle,
  markDeleted,
  purgeCollectionData,
  purgeDeletion,
  purgeDeletionsHolding,
  purgeItemsBatch,
  restoreDeletion,
  type StoredCollectionRow,
} from './deletion.js';
import { collectionChanges } from './changes.js';
import { syncSandboxToLive, type SyncCounts } from './sandbox-sync.js';
import { copyDraftsAsDraftStatus, moveDraftStatusItems, publishAllDrafts } from './draft-items.js';
import { COLLECTION_EVENTS, EventRecorder } from '../events/outbox.js';
import { restoredEventData } from '../events/payload.js';
import { SYSTEM_FIELDS, type SystemField } from '../query/ast.js';
import { clearReferencesWhere, copyReferencesToSandbox } from '../items/references.js';
import { dataPermissionsToWire, specialPermissionsFrom, specialToWire, withAccessLevels, type SpecialPermissions } from './data-permissions.js';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

type CollectionRow = StoredCollectionRow;

function fromRow(r: CollectionRow): Collection {
  const doc = JSON.parse(r.doc) as Pick<Collection, 'displayName' | 'fields' | 'permissions' | 'plugins' | 'extras' | 'specialPermissions'>;
  return {
    id: r.id,
    displayName: doc.displayName,
    fields: doc.fields,
    permissions: doc.permissions,
    plugins: doc.plugins,
    extras: doc.extras,
    ...(doc.specialPermissions?.length ? { specialPermissions: doc.specialPermissions } : {}),
    revision: Number(r.revision),
    sandboxEnabled: r.sandbox_enabled === true || r.sandbox_enabled === 1,
    createdDate: r.created_date,
    updatedDate: r.updated_date,
  };
}

function docOf(c: Collection): string {
  return JSON.stringify({
    displayName: c.displayName,
    fields: c.fields,
    permissions: c.permissions,
    plugins: c.plugins,
    extras: c.extras,
    ...(c.specialPermissions?.length ? { specialPermissions: c.specialPermissions } : {}),
  });
}

const jsonParam = (db: Executor, json: string) => (db.dialect === 'postgres' ? sql`${json}::jsonb` : sql`${json}`);

/**
 * How long a collection read outside a transaction may be reused. Every item request reads its
 * collection; this process's own collection writes invalidate at once, and other processes' (on
 * PostgreSQL) are seen within this time. Reads inside a transaction (task batches, the
 * read-modify-write of collection edits) always go to the database.
 */
const CACHE_MS = 1000;
const CACHE_MAX = 1000;

/** How long a deleted collection can be restored by default: 30 days (CAIRN_COLLECTION_RETENTION_HOURS). */
export const DEFAULT_COLLECTION_RETENTION_HOURS = 720;

/** The last instant a JavaScript Date can hold. */
const MAX_DATE_MS = 8.64e15;

/** Items removed per transaction when the sweep purges a large deleted collection. */
const PURGE_BATCH = 5000;

export interface CollectionServiceOptions {
  /** How long a deleted collection can be restored, hours (0: deleting is final at once). */
  retentionHours?: number;
}

/** A collection as the deleted listing shows it: the collection, when it went, and until when it can come back. */
export interface DeletedCollection {
  collection: Collection;
  deletedDate: string;
  restorableUntil: string;
}

export class CollectionService {
  private readonly cache = new Map<string, { at: number; collection: Collection }>();

  private readonly retentionMs: number;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    /** Collection events (created, updated, deleted) are recorded in each change's transaction. */
    private readonly events: EventRecorder = new EventRecorder(),
    options: CollectionServiceOptions = {},
  ) {
    this.retentionMs = Math.max(0, options.retentionHours ?? DEFAULT_COLLECTION_RETENTION_HOURS) * 3_600_000;
  }

  /** Deletions before this instant can no longer be restored (the epoch at the earliest: a retention longer than the clock's past keeps everything). */
  private retentionCutoff(): string {
    return new Date(Math.max(0, this.clock.now().getTime() - this.retentionMs)).toISOString();
  }

  private collectionEvent(tx: Executor, type: string, c: Collection, now: string, entity: JsonObject | null = toWire(c)): Promise<void> {
    return this.events.record(tx, [{ type, collectionId: c.id, env: null, entityId: c.id, data: entity === null ? null : JSON.stringify(entity) }], now);
  }

  private cached(id: string): Collection | undefined {
    const hit = this.cache.get(id);
    if (hit && performance.now() - hit.at < CACHE_MS) return hit.collection;
    return undefined;
  }

  private remember(c: Collection): void {
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(c.id, { at: performance.now(), collection: c });
  }

  private forget(id: string): void {
    this.cache.delete(id);
  }

  /** Drops every cached collection (the embedded library's reset deleted them behind this service). */
  forgetAll(): void {
    this.cache.clear();
  }

  async find(id: string, executor: Executor = this.db): Promise<Collection | undefined> {
    const row = await executor.get<CollectionRow>(sql`SELECT * FROM collections WHERE id = ${id}`);
    return row ? fromRow(row) : undefined;
  }

  async get(id: string, executor: Executor = this.db): Promise<Collection> {
    const shared = executor === this.db;
    const hit = shared ? this.cached(id) : undefined;
    if (hit) return hit;
    const c = await this.find(validCollectionId(id), executor);
    if (!c) throw new WixError('WDE0025', `Collection [${id}] does not exist`, { collectionId: id });
    if (shared) this.remember(c);
    return c;
  }

  /** The collection as stored now, never from the cache (for read-modify-write). */
  private async current(id: string): Promise<Collection> {
    this.forget(id);
    return this.get(id);
  }

  async create(raw: unknown): Promise<Collection> {
    const input = asObject(raw, 'collection', 'WDE0075');
    const id = validCollectionId(input.id ?? input._id, 'collection.id');
    const now = this.clock.now().toISOString();
    const c: Collection = withDataPermissionsOf(input, 'collection', {
      id,
      displayName: optionalString(input.displayName, 'collection.displayName') ?? id,
      fields: validateFields(input.fields),
      permissions: validatePermissions(input.permissions),
      plugins: validatePlugins(input.plugins),
      extras: extrasOf(input),
      revision: 1,
      sandboxEnabled: false,
      createdDate: now,
      updatedDate: now,
    });
    await this.db.transaction(async (tx) => {
      await lockCollectionLifecycle(tx);
      await this.insertIn(tx, c, now);
    });
    return c;
  }

  /**
   * Stores a new collection (revision 1, no sandbox) in the caller's transaction, which holds
   * the lifecycle lock: WDE0104 if the id is taken; a deletion holding the id is purged, as the
   * new collection starts empty. Creation, and a backup's restoration of a collection that is
   * gone (src/backups/), both come here.
   */
  async insertIn(tx: Executor, c: Collection, now: string): Promise<void> {
    const inserted = await tx.run(
      sql`INSERT INTO collections (id, doc, revision, sandbox_enabled, created_date, updated_date)
          VALUES (${c.id}, ${jsonParam(this.db, docOf(c))}, 1, ${false}, ${c.createdDate}, ${c.updatedDate}) ON CONFLICT (id) DO NOTHING`,
    );
    if (inserted === 0) throw new WixError('WDE0104', `Collection [${c.id}] already exists`, { collectionId: c.id });
    this.forget(c.id);
    await this.purgeDeletionsOf(tx, [c.id]);
    await this.collectionEvent(tx, COLLECTION_EVENTS.created, c, now);
  }

  /** A new collection made from a stored definition (`doc`, the collections table's form), under `id`. */
  static fromDefinition(id: string, doc: string, displayName: string | undefined, now: string): Collection {
    const c = fromRow({ id, doc, revision: 1, sandbox_enabled: false, created_date: now, updated_date: now });
    return displayName === undefined ? c : { ...c, displayName };
  }

  /**
   * A page of collections. `sort: {fieldName, order}` (the list call's one sort) orders by `id`
   * (the default), `displayName`, `createdDate` or `updatedDate` (with or without the leading
   * underscore), ASC by default; `id` breaks ties.
   */
  async list(rawPaging: unknown, rawSort?: unknown): Promise<{ collections: Collection[]; total: number; offset: number; limit: number }> {
    const paging = rawPaging === undefined ? {} : asObject(rawPaging, 'paging');
    const limit = optionalInt(paging.limit, 'paging.limit', 0, 1000) ?? 50;
    const offset = optionalInt(paging.offset, 'paging.offset', 0, Number.MAX_SAFE_INTEGER) ?? 0;
    const order = this.listOrder(rawSort);
    const rows = await this.db.all<CollectionRow>(sql`SELECT * FROM collections ORDER BY ${order} LIMIT ${limit} OFFSET ${offset}`);
    const total = (await this.db.get<{ n: number }>(sql`SELECT count(*) AS n FROM collections`))?.n ?? 0;
    return { collections: rows.map(fromRow), total: Number(total), offset, limit };
  }

  private listOrder(rawSort: unknown): Sql {
    if (rawSort === undefined || rawSort === null) return raw('id');
    const sort = asObject(rawSort, 'sort', 'WDE0065');
    const fieldName = sort.fieldName === undefined ? 'id' : requireString(sort.fieldName, 'sort.fieldName', 'WDE0065', 64);
    const order = sort.order === undefined ? 'ASC' : sort.order;
    if (order !== 'ASC' && order !== 'DESC') throw new WixError('WDE0066', `sort.order must be ASC or DESC, got ${JSON.stringify(order)}`);
    const displayName = this.db.dialect === 'postgres' ? "doc->>'displayName' COLLATE \"C\"" : "json_extract(doc, '$.displayName')";
    const columns: Record<string, string> = {
      id: 'id',
      _id: 'id',
      displayName,
      createdDate: 'created_date',
      _createdDate: 'created_date',
      updatedDate: 'updated_date',
      _updatedDate: 'updated_date',
    };
    const column = Object.hasOwn(columns, fieldName) ? columns[fieldName] : undefined;
    if (column === undefined) throw new WixError('WDE0065', `Collections can be sorted by id, displayName, createdDate or updatedDate, not ${JSON.stringify(fieldName)}`);
    return raw(column === 'id' ? `id ${order}` : `${column} ${order}, id ${order}`);
  }

  /** PUT: full replace of the mutable properties; `revision` must equal the stored one. */
  async replace(raw: unknown): Promise<Collection> {
    const input = asObject(raw, 'collection', 'WDE0075');
    const id = validCollectionId(input.id ?? input._id, 'collection.id');
    if (!hasRevision(input.revision)) {
      throw new WixError('WDE0075', 'collection.revision is required (the revision of the collection being replaced)');
    }
    const current = await this.current(id);
    requireRevision(current, input.revision);
    return this.write(
      current,
      withDataPermissionsOf(input, 'collection', {
        ...current,
        displayName: optionalString(input.displayName, 'collection.displayName') ?? current.displayName,
        fields: validateFields(input.fields),
        permissions: validatePermissions(input.permissions),
        plugins: replacedPlugins(current, input.plugins),
        extras: extrasOf(input),
      }),
    );
  }

  /**
   * PATCH: changes only the properties given, of those the Patch Data Collection reference lets
   * it change (displayName, displayField, permissions, dataPermissions); any other property is
   * refused, not ignored. `revision`, when given, must be the current one; without it the change
   * applies to whatever the collection is now (retried on a concurrent edit, like field edits).
   */
  async patch(pathId: string, raw: unknown): Promise<Collection> {
    const input = asObject(raw, 'dataCollection', 'WDE0075');
    const id = validCollectionId(pathId, 'dataCollection.id');
    const given = input.id ?? input._id;
    if (given !== undefined && given !== id) {
      throw new WixError('WDE0075', `dataCollection.id ${JSON.stringify(given)} does not match the collection in the path [${id}]`);
    }
    for (const key of Object.keys(input)) {
      if (!PATCHABLE.has(key) && key !== 'id' && key !== '_id' && key !== 'revision') {
        throw new WixError('WDE0075', `Patch Data Collection cannot change ${JSON.stringify(key)}: only displayName, displayField, permissions and dataPermissions (fields and plugins have calls of their own)`);
      }
    }
    const displayName = optionalString(input.displayName, 'dataCollection.displayName');
    const displayField = optionalString(input.displayField, 'dataCollection.displayField');
    const permissions = input.permissions === undefined ? undefined : validatePermissions(input.permissions);
    // Checked now, so that a bad value is refused before any write.
    if (input.dataPermissions !== undefined && input.dataPermissions !== null) withAccessLevels(await this.get(id), input.dataPermissions, 'dataCollection.dataPermissions');
    const change = (c: Collection): Collection => {
      const extras = { ...c.extras };
      if (displayField !== undefined) extras.displayField = displayField;
      return withDataPermissionsOf(input, 'dataCollection', { ...c, ...(displayName !== undefined ? { displayName } : {}), ...(permissions ? { permissions } : {}), extras });
    };
    if (!hasRevision(input.revision)) return this.edit(id, change);
    const current = await this.current(id);
    requireRevision(current, input.revision);
    return this.write(current, change(current));
  }

  /**
   * Deletes a collection with its items; a collection with the Draft Items plugin takes its drafts
   * collection along. The deletion can be restored for the retention (deletion.ts); with none,
   * it is purged in the same transaction.
   */
  async remove(id: string): Promise<void> {
    const c = await this.current(id);
    const publishedId = publishedCollectionOf(c);
    if (publishedId) {
      throw new WixError('WDE0075', `Collection [${c.id}] holds the drafts of [${publishedId}]: delete the Draft Items plugin of [${publishedId}], or that collection`);
    }
    const draftsId = draftsCollectionOf(c);
    const members = draftsId ? [draftsId, c.id] : [c.id];
    await this.db.transaction(async (tx) => {
      await lockCollectionLifecycle(tx);
      const now = this.clock.now().toISOString();
      const deletionId = randomUUID();
      const moved = await markDeleted(tx, members, deletionId, now);
      if (!moved.some((r) => r.id === c.id)) throw new WixError('WDE0025', `Collection [${c.id}] does not exist`, { collectionId: c.id });
      for (const row of moved) {
        this.forget(row.id);
        this.events.itemsChanged(tx, row.id);
        // One collection event, not one per item: the items go with their collection.
        await this.collectionEvent(tx, COLLECTION_EVENTS.deleted, fromRow(row), now, { id: row.id });
      }
      if (this.retentionMs === 0) await purgeDeletion(tx, deletionId);
    });
    for (const m of members) this.forget(m);
  }

  /**
   * Restore Data Collection: puts a deleted collection back as it was, with its items, indexes and
   * references (and the other collections its deletion took: a collection and its drafts come
   * back together). WDE0025 when no deletion within the retention holds it.
   */
  async restore(rawId: unknown): Promise<Collection> {
    const id = validCollectionId(rawId, 'dataCollectionId');
    const notRestorable = () => new WixError('WDE0025', `Collection [${id}] was not deleted recently, or never existed: it cannot be restored`, { collectionId: id });
    const restored = await this.db.transaction(async (tx) => {
      await lockCollectionLifecycle(tx);
      const deletion = await findDeletion(tx, id);
      if (!deletion || deletion.deletedDate < this.retentionCutoff()) throw notRestorable();
      const rows = await restoreDeletion(tx, deletion.deletionId, deletion.deletedDate, (existing) =>
        new WixError('WDE0104', `Collection [${existing}] exists: a deleted collection of the same id cannot be restored over it`, { collectionId: existing }),
      );
      if (!rows) throw notRestorable();
      const now = this.clock.now().toISOString();
      const collections = rows.map((r) => fromRow(r));
      for (const c of collections) {
        this.events.itemsChanged(tx, c.id);
        await this.collectionEvent(tx, COLLECTION_EVENTS.created, c, now, restoredEventData(toWire(c), deletion.deletedDate));
      }
      return collections;
    });
    for (const c of restored) this.forget(c.id);
    const c = restored.find((r) => r.id === id);
    if (!c) throw notRestorable();
    return c;
  }

  /** Deleted collections that can still be restored, most recently deleted first (Cairn's listing). */
  async listDeleted(rawPaging: unknown): Promise<{ deleted: DeletedCollection[]; total: number; offset: number; limit: number }> {
    const paging = rawPaging === undefined ? {} : asObject(rawPaging, 'paging');
    const limit = optionalInt(paging.limit, 'paging.limit', 0, 1000) ?? 50;
    const offset = optionalInt(paging.offset, 'paging.offset', 0, Number.MAX_SAFE_INTEGER) ?? 0;
    // Expired deletions the sweep has not reached yet are not restorable: they are not shown.
    const { rows, total } = await listDeleted(this.db, this.retentionCutoff(), limit, offset);
    return {
      deleted: rows.map((r) => ({
        collection: fromRow(r),
        deletedDate: r.deleted_date,
        // Dates end at year 275760: a longer retention is "forever" there.
        restorableUntil: new Date(Math.min(MAX_DATE_MS, new Date(r.deleted_date).getTime() + this.retentionMs)).toISOString(),
      })),
      total,
      offset,
      limit,
    };
  }

  /**
   * Ends a deletion before its retention (Cairn's DELETE /cairn/v1/collections/deleted/{id}): the
   * collection's items, indexes and references go for good now, in one transaction, with the
   * other collections the deletion took. WDE0025 when no deletion holds the id.
   */
  async purgeDeleted(rawId: unknown): Promise<void> {
    const id = validCollectionId(rawId, 'dataCollectionId');
    await this.db.transaction(async (tx) => {
      await lockCollectionLifecycle(tx);
      const deletion = await findDeletion(tx, id);
      if (!deletion) throw new WixError('WDE0025', `No deleted collection [${id}] to purge`, { collectionId: id });
      for (const purged of await purgeDeletion(tx, deletion.deletionId)) this.events.itemsChanged(tx, purged);
    });
  }

  /** Purges the deletions holding these ids (a collection is being created under one), in the caller's transaction. */
  private async purgeDeletionsOf(tx: Executor, ids: readonly string[]): Promise<void> {
    for (const purged of await purgeDeletionsHolding(tx, ids)) this.events.itemsChanged(tx, purged);
  }

  /**
   * Purges the deletions whose retention has ended (the task runner calls it from time to time).
   * A large collection's items go in batches of short transactions first, so other writers are
   * never held up for long; the rest of the deletion goes in one. Returns how many were purged.
   */
  async purgeExpired(): Promise<number> {
    if (this.retentionMs === 0) return 0;
    const cutoff = this.retentionCutoff();
    let purged = 0;
    for (;;) {
      const due = await expiredDeletions(this.db, cutoff, 20);
      if (due.length === 0) return purged;
      for (const deletionId of new Set(due.map((d) => d.deletion_id))) {
        for (const { id } of due.filter((d) => d.deletion_id === deletionId)) {
          while ((await this.db.transaction((tx) => purgeItemsBatch(tx, deletionId, id, cutoff, PURGE_BATCH))) === PURGE_BATCH);
        }
        await this.db.transaction(async (tx) => {
          for (const id of await purgeDeletion(tx, deletionId)) this.events.itemsChanged(tx, id);
        });
        purged++;
      }
    }
  }

  /**
   * add-draft-items-plugin: pairs the collection with a new drafts collection, `<id>__drafts`,
   * of the same fields, permissions and sandbox (docs/drafts.md). A collection with the Publish
   * plugin is refused (FAIL_WHEN_PUBLISH_INSTALLED, the default), or loses that plugin and its
   * DRAFT items move to the drafts collection (COPY_DRAFT_ITEMS_WITH_DRAFT_STATUS).
   */
  async addDraftItemsPlugin(collectionId: string, rawConflict: unknown): Promise<Collection> {
    const conflict = oneOf(rawConflict, ['FAIL_WHEN_PUBLISH_INSTALLED', 'COPY_DRAFT_ITEMS_WITH_DRAFT_STATUS'] as const, 'publishPluginConflictAction', 'FAIL_WHEN_PUBLISH_INSTALLED');
    const current = await this.current(collectionId);
    if (current.plugins.some((p) => p.type === DRAFT_ITEMS)) throw new WixError('WDE0075', `Collection [${current.id}] already has the Draft Items plugin`);
    const withPublish = publishPlugin(current) !== undefined;
    if (withPublish && conflict === 'FAIL_WHEN_PUBLISH_INSTALLED') {
      throw new WixError('WDE0075', `Collection [${current.id}] has the Publish plugin; send publishPluginConflictAction COPY_DRAFT_ITEMS_WITH_DRAFT_STATUS to replace it`);
    }
    const draftsId = validCollectionId(draftsIdFor(current.id), 'drafts collection id');
    const now = this.clock.now().toISOString();
    const drafts: Collection = {
      id: draftsId,
      displayName: `${current.displayName} (drafts)`,
      fields: current.fields,
      permissions: current.permissions,
      plugins: [{ type: DRAFT_ITEMS, draftItemsOptions: { publishedCollectionId: current.id } }],
      extras: {},
      revision: 1,
      sandboxEnabled: current.sandboxEnabled,
      createdDate: now,
      updatedDate: now,
    };
    const plugins = [...current.plugins.filter((p) => p.type !== 'PUBLISH'), { type: DRAFT_ITEMS, draftItemsOptions: { draftsCollectionId: draftsId } }];
    const updated: Collection = { ...current, plugins, revision: current.revision + 1, updatedDate: now };
    await this.db.transaction(async (tx) => {
      await lockCollectionLifecycle(tx);
      const inserted = await tx.run(
        sql`INSERT INTO collections (id, doc, revision, sandbox_enabled, created_date, updated_date)
            VALUES (${draftsId}, ${jsonParam(this.db, docOf(drafts))}, 1, ${drafts.sandboxEnabled}, ${now}, ${now}) ON CONFLICT (id) DO NOTHING`,
      );
      if (inserted === 0) throw new WixError('WDE0104', `Collection [${draftsId}] already exists`, { collectionId: draftsId });
      await this.purgeDeletionsOf(tx, [draftsId]);
      await this.collectionEvent(tx, COLLECTION_EVENTS.created, drafts, now);
      if (withPublish) await moveDraftStatusItems(tx, this.events, current, drafts, now);
      await this.rewrite(tx, current, updated, now);
    });
    this.forget(current.id);
    this.forget(draftsId);
    return updated;
  }

  /**
   * delete-draft-items-plugin: unpairs the collection and deletes its drafts collection. Drafts
   * there refuse the call (FAIL_IF_DRAFT_ITEMS_EXIST, the default), are dropped
   * (DISCARD_EXISTING_DRAFT_ITEMS) or replace the published items first
   * (PUBLISH_EXISTING_DRAFT_ITEMS).
   */
  async deleteDraftItemsPlugin(collectionId: string, rawAction: unknown): Promise<Collection> {
    const action = oneOf(rawAction, ['FAIL_IF_DRAFT_ITEMS_EXIST', 'DISCARD_EXISTING_DRAFT_ITEMS', 'PUBLISH_EXISTING_DRAFT_ITEMS'] as const, 'draftItemsRemovalAction', 'FAIL_IF_DRAFT_ITEMS_EXIST');
    const current = await this.current(collectionId);
    const draftsId = draftsCollectionOf(current);
    if (!draftsId) {
      const publishedId = publishedCollectionOf(current);
      throw new WixError('WDE0075', publishedId ? `Collection [${current.id}] holds the drafts of [${publishedId}]: delete the plugin of [${publishedId}]` : `Collection [${current.id}] has no Draft Items plugin`);
    }
    const drafts = await this.current(draftsId);
    const now = this.clock.now().toISOString();
    const updated: Collection = { ...current, plugins: current.plugins.filter((p) => p.type !== DRAFT_ITEMS), revision: current.revision + 1, updatedDate: now };
    return this.unpair(current, drafts, updated, now, async (tx) => {
      if (action === 'FAIL_IF_DRAFT_ITEMS_EXIST') {
        const row = await tx.get<{ n: number }>(sql`SELECT count(*) AS n FROM items WHERE collection_id = ${draftsId}`);
        const n = Number(row?.n ?? 0);
        if (n > 0) throw new WixError('WDE0075', `Collection [${current.id}] has ${n} draft items; send draftItemsRemovalAction DISCARD_EXISTING_DRAFT_ITEMS or PUBLISH_EXISTING_DRAFT_ITEMS`);
      }
      if (action === 'PUBLISH_EXISTING_DRAFT_ITEMS') await uniqueConflictsAsWix(current.id, 'Publishing the drafts', () => publishAllDrafts(tx, this.events, current, drafts, now));
    });
  }

  /**
   * add-publish-plugin: the Publish plugin, as add-plugin adds it. On a collection with the Draft
   * Items plugin, `draftItemsPluginConflictAction` says what becomes of the drafts collection:
   * refused (FAIL_WHEN_DRAFT_ITEMS_INSTALLED, the default), dropped (DISCARD_DRAFT_ITEMS),
   * published first (PUBLISH_DRAFT_ITEMS), or its drafts without a published version kept as
   * DRAFT items (COPY_DRAFT_ITEMS_WITH_DRAFT_STATUS); then the pair is undone.
   */
  async addPublishPlugin(collectionId: string, rawOptions: unknown, rawConflict: unknown): Promise<Collection> {
    const conflict = oneOf(
      rawConflict,
      ['FAIL_WHEN_DRAFT_ITEMS_INSTALLED', 'DISCARD_DRAFT_ITEMS', 'PUBLISH_DRAFT_ITEMS', 'COPY_DRAFT_ITEMS_WITH_DRAFT_STATUS'] as const,
      'draftItemsPluginConflictAction',
      'FAIL_WHEN_DRAFT_ITEMS_INSTALLED',
    );
    const plugin = validatePlugin({ type: 'PUBLISH', publishOptions: rawOptions ?? {} });
    const current = await this.current(collectionId);
    const draftsId = draftsCollectionOf(current);
    if (!draftsId || conflict === 'FAIL_WHEN_DRAFT_ITEMS_INSTALLED') return this.addPlugin(collectionId, plugin);
    const drafts = await this.current(draftsId);
    const now = this.clock.now().toISOString();
    const updated: Collection = { ...current, plugins: [...current.plugins.filter((p) => p.type !== DRAFT_ITEMS), plugin], revision: current.revision + 1, updatedDate: now };
    return this.unpair(current, drafts, updated, now, async (tx) => {
      if (conflict === 'PUBLISH_DRAFT_ITEMS') await uniqueConflictsAsWix(current.id, 'Publishing the drafts', () => publishAllDrafts(tx, this.events, current, drafts, now));
      if (conflict === 'COPY_DRAFT_ITEMS_WITH_DRAFT_STATUS') await uniqueConflictsAsWix(current.id, 'Publishing the drafts', () => copyDraftsAsDraftStatus(tx, this.events, updated, drafts, now));
    });
  }

  /**
   * Ends a Draft Items pair in one transaction: `keep` first moves what is to survive of the
   * drafts, then the drafts collection goes for good and `updated` (without the plugin) is written.
   */
  private async unpair(current: Collection, drafts: Collection, updated: Collection, now: string, keep: (tx: Executor) => Promise<void>): Promise<Collection> {
    await this.db.transaction(async (tx) => {
      await keep(tx);
      await this.removeIn(tx, drafts);
      await this.rewrite(tx, current, updated, now);
    });
    this.forget(current.id);
    this.forget(drafts.id);
    return updated;
  }

  /**
   * Deletes a drafts collection for good, in the caller's transaction: its pair is undone, so
   * there is nothing to restore it into (the plugin calls above).
   */
  private async removeIn(tx: Executor, c: Collection): Promise<void> {
    this.forget(c.id);
    await tx.run(sql`DELETE FROM collections WHERE id = ${c.id}`);
    await purgeCollectionData(tx, c.id);
    this.events.itemsChanged(tx, c.id);
    await this.collectionEvent(tx, COLLECTION_EVENTS.deleted, c, this.clock.now().toISOString(), { id: c.id });
  }

  /** Writes `next` over `current` inside a transaction, checking the revision (WDE0079 when it moved). */
  private async rewrite(tx: Executor, current: Collection, next: Collection, now: string): Promise<void> {
    const n = await tx.run(
      sql`UPDATE collections SET doc = ${jsonParam(this.db, docOf(next))}, revision = ${next.revision}, updated_date = ${now}
          WHERE id = ${current.id} AND revision = ${current.revision}`,
    );
    if (n === 0) throw new WixError('WDE0079', `Collection [${current.id}] was changed concurrently; try again`);
    await this.updateEvents(tx, current, next, now);
  }

  /** An update's events: the collection as it is now, then what changed in its fields, plugins and data permissions (if anything did). */
  private async updateEvents(tx: Executor, before: Collection, after: Collection, now: string): Promise<void> {
    await this.collectionEvent(tx, COLLECTION_EVENTS.updated, after, now);
    const changes = collectionChanges(before, after);
    if (changes) await this.collectionEvent(tx, COLLECTION_EVENTS.changed, after, now, changes);
  }

  createField(collectionId: string, rawField: unknown): Promise<Collection> {
    const field = validateField(rawField);
    return this.edit(collectionId, (c) => {
      if (SYSTEM_FIELDS.includes(String(field.key) as SystemField) || c.fields.some((f) => f.key === field.key)) {
        throw new WixError('WDE0075', `Field [${String(field.key)}] already exists in collection [${c.id}]`);
      }
      return { ...c, fields: [...c.fields, field] };
    });
  }

  updateField(collectionId: string, rawField: unknown): Promise<Collection> {
    const field = validateField(rawField);
    return this.edit(collectionId, (c) => {
      const i = c.fields.findIndex((f) => f.key === field.key);
      if (i < 0) throw new WixError('WDE0075', `Field [${String(field.key)}] does not exist in collection [${c.id}]`);
      const fields = [...c.fields];
      fields[i] = field;
      return { ...c, fields };
    });
  }

  /** PATCH patch-field: the field named by `key` keeps what `rawField` does not set. */
  patchField(collectionId: string, rawField: unknown): Promise<Collection> {
    const patch = asObject(rawField, 'field', 'WDE0075');
    const key = requireString(patch.key, 'field.key', 'WDE0075');
    return this.edit(collectionId, (c) => {
      const i = c.fields.findIndex((f) => f.key === key);
      if (i < 0) throw new WixError('WDE0075', `Field [${key}] does not exist in collection [${c.id}]`);
      const fields = [...c.fields];
      fields[i] = validateField({ ...c.fields[i], ...patch });
      return { ...c, fields };
    });
  }

  deleteField(collectionId: string, rawKey: unknown): Promise<Collection> {
    const key = requireString(rawKey, 'fieldKey', 'WDE0075');
    return this.edit(collectionId, (c) => {
      if (!c.fields.some((f) => f.key === key)) throw new WixError('WDE0075', `Field [${key}] does not exist in collection [${c.id}]`);
      return { ...c, fields: c.fields.filter((f) => f.key !== key) };
    });
  }

  addPlugin(collectionId: string, rawPlugin: unknown): Promise<Collection> {
    const plugin = validatePlugin(rawPlugin);
    return this.edit(collectionId, (c) => {
      if (c.plugins.some((p) => p.type === plugin.type)) {
        throw new WixError('WDE0075', `Collection [${c.id}] already has the ${String(plugin.type)} plugin`);
      }
      // Drafts live in the paired collection there; a Publish status would be a second kind.
      if (plugin.type === 'PUBLISH' && c.plugins.some((p) => p.type === DRAFT_ITEMS)) {
        throw new WixError('WDE0075', `Collection [${c.id}] has the Draft Items plugin: delete it first, or use add-publish-plugin with a draftItemsPluginConflictAction`);
      }
      return { ...c, plugins: [...c.plugins, plugin] };
    });
  }

  deletePlugin(collectionId: string, rawType: unknown): Promise<Collection> {
    const type = requireString(rawType, 'pluginType', 'WDE0075');
    if (type === DRAFT_ITEMS) throw new WixError('WDE0075', 'The Draft Items plugin is deleted with delete-draft-items-plugin');
    return this.edit(collectionId, (c) => {
      if (!c.plugins.some((p) => p.type === type)) throw new WixError('WDE0075', `Collection [${c.id}] has no ${type} plugin`);
      return { ...c, plugins: c.plugins.filter((p) => p.type !== type) };
    });
  }

  /**
   * Turns the sandbox environment on (a copy of the live items, as Wix starts it) or off (its
   * items are dropped).
   */
  async setSandbox(collectionId: string, enabled: boolean): Promise<Collection> {
    const current = await this.current(collectionId);
    // The two collections of a Draft Items pair have their environments together.
    const pairId = draftsCollectionOf(current) ?? publishedCollectionOf(current);
    const pair = pairId ? await this.current(pairId) : undefined;
    const now = this.clock.now().toISOString();
    return this.db
      .transaction(async (tx) => {
        if (pair) await this.sandboxIn(tx, pair, enabled, now);
        return this.sandboxIn(tx, current, enabled, now);
      })
      .finally(() => {
        this.forget(current.id);
        if (pairId) this.forget(pairId);
      });
  }

  /**
   * Copies the sandbox's items into live (sandbox-sync.ts); `replace` also removes the live items
   * the sandbox does not have. A Draft Items pair is synced together, as its sandbox is one. One
   * transaction: a unique index the result would break is WDE0123 and nothing changes.
   */
  async syncSandbox(collectionId: string, rawReplace: unknown): Promise<SyncCounts> {
    const replace = optionalBoolean(rawReplace, 'replace') ?? false;
    const current = await this.current(collectionId);
    if (!current.sandboxEnabled) throw new WixError('WDE0119', `Collection [${current.id}] has no sandbox environment; enable it first`, { collectionId: current.id });
    const pairId = draftsCollectionOf(current) ?? publishedCollectionOf(current);
    const pair = pairId ? await this.current(pairId) : undefined;
    const now = this.clock.now().toISOString();
    return this.db.transaction((tx) =>
      uniqueConflictsAsWix(current.id, 'Syncing the sandbox', async () => {
        // SQLite: batches with the event loop let turn in between, so reads go on meanwhile.
        const options = tx.dialect === 'sqlite' ? { pause: () => yieldToEventLoop() } : {};
        const counts = await syncSandboxToLive(tx, this.events, current, replace, now, options);
        if (pair) {
          const more = await syncSandboxToLive(tx, this.events, pair, replace, now, options);
          counts.inserted += more.inserted;
          counts.updated += more.updated;
          counts.removed += more.removed;
        }
        return counts;
      }),
    );
  }

  private async sandboxIn(tx: Executor, current: Collection, enabled: boolean, now: string): Promise<Collection> {
    // The sandbox's items come and go as item events in the SANDBOX environment.
    const sandbox = sql`collection_id = ${current.id} AND env = 'SANDBOX'`;
    await clearReferencesWhere(tx, current.id, sandbox);
    await this.events.deleteWhere(tx, current.id, sandbox, now);
    if (enabled) {
      await tx.run(sql`INSERT INTO items (collection_id, env, id, data, created_date, updated_date, owner, publish_status, canon)
        SELECT collection_id, 'SANDBOX', id, data, created_date, updated_date, owner, publish_status, canon
        FROM items WHERE collection_id = ${current.id} AND env = 'LIVE'`);
      await this.events.itemsWrittenWhere(tx, current, 'created', sql`collection_id = ${current.id} AND env = 'SANDBOX'`, now);
      await copyReferencesToSandbox(tx, current.id);
    }
    const changed = await tx.run(sql`UPDATE collections SET sandbox_enabled = ${enabled}, revision = revision + 1, updated_date = ${now}
      WHERE id = ${current.id}`);
    if (changed === 0) throw new WixError('WDE0025', `Collection [${current.id}] does not exist`);
    const updated = { ...current, sandboxEnabled: enabled, revision: current.revision + 1, updatedDate: now };
    await this.collectionEvent(tx, COLLECTION_EVENTS.updated, updated, now);
    return updated;
  }

  /** Get Permissions (the `permissions` client): the collection's access levels and special permissions sets. */
  async dataPermissions(collectionId: unknown): Promise<JsonObject> {
    return dataPermissionsToWire(await this.current(validCollectionId(collectionId)));
  }

  /** Update Permissions: `dataPermissions.id` names the collection; the levels given change, the rest stay. */
  async updateDataPermissions(raw: unknown): Promise<JsonObject> {
    const given = asObject(raw, 'dataPermissions', 'WDE0080');
    const id = validCollectionId(given.id ?? given._id, 'dataPermissions.id');
    withAccessLevels(await this.get(id), given, 'dataPermissions');
    return dataPermissionsToWire(await this.edit(id, (c) => withAccessLevels(c, given, 'dataPermissions')));
  }

  /** Add Special Permissions: ALREADY_EXISTS when the collection has a set for that user or role. */
  async addSpecialPermissions(collectionId: unknown, raw: unknown): Promise<JsonObject> {
    const id = validCollectionId(collectionId);
    specialPermissionsFrom(raw, 'specialPermissions');
    let added: SpecialPermissions | undefined;
    await this.edit(id, (c) => {
      const sp = specialPermissionsFrom(raw, 'specialPermissions');
      const list = c.specialPermissions ?? [];
      if (list.some((x) => (sp.userId !== undefined && x.userId === sp.userId) || (sp.policyId !== undefined && x.policyId === sp.policyId))) {
        throw new WixError('ALREADY_EXISTS', `Collection [${id}] already has special permissions for ${sp.userId !== undefined ? `user ${sp.userId}` : `role ${sp.policyId}`}`, { collectionId: id });
      }
      added = sp;
      return { ...c, specialPermissions: [...list, sp] };
    });
    return specialToWire(added as SpecialPermissions);
  }

  /** Update Special Permissions: the actions change; the user or role stays. */
  async updateSpecialPermissions(rawId: unknown, raw: unknown): Promise<JsonObject> {
    const spId = requireString(rawId, 'specialPermissions.id', 'WDE0080', 64);
    let updated: SpecialPermissions | undefined;
    await this.editSpecial(spId, (list) =>
      list.map((sp) => {
        if (sp.id !== spId) return sp;
        updated = specialPermissionsFrom(raw, 'specialPermissions', sp);
        return updated;
      }),
    );
    return specialToWire(updated as SpecialPermissions);
  }

  async removeSpecialPermissions(rawId: unknown): Promise<void> {
    const spId = requireString(rawId, 'specialPermissionsId', 'WDE0080', 64);
    await this.editSpecial(spId, (list) => list.filter((sp) => sp.id !== spId));
  }

  /** Changes the special permissions of the collection holding set `spId` (NOT_FOUND when none does). */
  private async editSpecial(spId: string, change: (list: SpecialPermissions[]) => SpecialPermissions[]): Promise<Collection> {
    const holder =
      this.db.dialect === 'postgres'
        ? sql`SELECT id FROM collections WHERE doc -> 'specialPermissions' @> ${JSON.stringify([{ id: spId }])}::jsonb`
        : sql`SELECT c.id FROM collections AS c, json_each(c.doc, '$.specialPermissions') AS s WHERE json_extract(s.value, '$.id') = ${spId}`;
    const row = await this.db.get<{ id: string }>(holder);
    const notFound = () => new WixError('NOT_FOUND', `Special permissions [${spId}] do not exist`, { specialPermissionsId: spId });
    if (!row) throw notFound();
    return this.edit(row.id, (c) => {
      const list = c.specialPermissions ?? [];
      if (!list.some((sp) => sp.id === spId)) throw notFound();
      return { ...c, specialPermissions: change(list) };
    });
  }

  /** Read, change, write with a revision check; retried when another writer got there first. */
  private async edit(collectionId: string, change: (c: Collection) => Collection): Promise<Collection> {
    for (let attempt = 0; ; attempt++) {
      const current = await this.current(collectionId);
      try {
        return await this.write(current, change(current));
      } catch (e) {
        if (e instanceof WixError && e.code === 'WDE0079' && attempt < 5) continue;
        throw e;
      }
    }
  }

  private async write(current: Collection, next: Collection): Promise<Collection> {
    this.forget(current.id);
    const now = this.clock.now().toISOString();
    const updated: Collection = { ...next, revision: current.revision + 1, updatedDate: now };
    const changed = await this.db.transaction(async (tx) => {
      const n = await tx.run(
        sql`UPDATE collections SET doc = ${jsonParam(this.db, docOf(updated))}, revision = ${updated.revision}, updated_date = ${now}
            WHERE id = ${current.id} AND revision = ${current.revision}`,
      );
      if (n > 0) await this.updateEvents(tx, current, updated, now);
      return n;
    });
    this.forget(current.id);
    if (changed === 0) {
      const latest = await this.find(current.id);
      if (!latest) throw new WixError('WDE0025', `Collection [${current.id}] does not exist`);
      throw new WixError('WDE0079', `Collection [${current.id}] was changed concurrently; read it again`, {
        currentRevision: String(latest.revision),
      });
    }
    return updated;
  }
}

function hasRevision(raw: unknown): boolean {
  return raw !== undefined && raw !== null && raw !== '';
}

/** A revision the caller sent must be the stored one (WDE0079 otherwise). */
function requireRevision(current: Collection, raw: unknown): void {
  // Only a string or a number can equal the stored revision (String(["1"]) would read as "1").
  if ((typeof raw !== 'string' && typeof raw !== 'number') || String(current.revision) !== String(raw)) {
    throw new WixError('WDE0079', `Collection [${current.id}] revision ${JSON.stringify(raw)} is stale; the current revision is ${current.revision}`, {
      currentRevision: String(current.revision),
    });
  }
}

/**
 * A collection call's `dataPermissions` (access levels), applied after its `permissions` (roles):
 * the levels it gives decide the roles of their actions, and the levels are kept
 * (data-permissions.ts); `null` forgets the kept levels (they follow the roles again).
 */
function withDataPermissionsOf(input: JsonObject, what: string, c: Collection): Collection {
  if (input.dataPermissions === undefined) return c;
  if (input.dataPermissions === null) {
    const { dataPermissions: _dropped, ...extras } = c.extras;
    return { ...c, extras };
  }
  return withAccessLevels(c, input.dataPermissions, `${what}.dataPermissions`);
}

/** What Patch Data Collection may change. */
const PATCHABLE = new Set(['displayName', 'displayField', 'permissions', 'dataPermissions']);

export type { JsonObject };

/** A unique index of the published collection that the drafts would break: the caller's error. */
async function uniqueConflictsAsWix<T>(collectionId: string, doing: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE') {
      throw new WixError('WDE0123', `${doing} would break a unique index of collection [${collectionId}]`, { collectionId });
    }
    throw e;
  }
}
