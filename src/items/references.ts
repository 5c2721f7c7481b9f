/**
 * References between items (docs/references.md).
 *
 * - A REFERENCE field holds the referenced item's id in the item's data, like any value; writes
 *   given the whole referenced item keep its `_id` (`normaliseReferenceValues`).
 * - A MULTI_REFERENCE field's references live in `item_references`, one row per (referring item,
 *   field, referenced item), never in the item's data. `seq` orders a field's references by when
 *   they were made. The reference endpoints, `saveReferences` on item writes, and removal of
 *   either end change them; `includeReferences` and query-referenced read them.
 *
 * Every statement here is bounded by the referring collection and environment, and reads the
 * referenced items through the referenced collection's scope (its read permission, drafts,
 * owner restriction): a reference never shows an item its caller could not read.
 */
import type { CollectionService } from '../collections/service.js';
import { publishPlugin, type Collection } from '../collections/model.js';
import { WixError } from '../errors.js';
import { itemAccess } from '../auth/permissions.js';
import type { Identity } from '../auth/identity.js';
import type { Db, Executor } from '../store/db.js';
import { join, raw, sql, valuesList, type Dialect, type Sql } from '../store/sql.js';
import { describe, parseFields } from '../query/parse.js';
import { asArray, asObject, optionalBoolean, optionalInt, optionalObject } from '../validate.js';
import { isPlainObject, type JsonObject, type JsonValue } from '../wire/json.js';
import { toWireItem, validItemId, type IncomingItem, type WireItem } from './codec.js';
import { PAGING, project, type PagingMetadata } from './query.js';
import type { ItemPatch } from './patch.js';
import { scopeWhere, shownStatus, type ItemScope } from './scope.js';

export type ReferenceKind = 'single' | 'multi';

export interface ReferenceField {
  readonly key: string;
  readonly kind: ReferenceKind;
  readonly referencedCollectionId: string;
  /** A multi-reference field's `referencingFieldKey`: its partner field in the referenced collection, when the pair is two-way. */
  readonly partnerKey?: string;
}

/**
 * Where a multi-reference field's references are stored. A field is one end of a two-way pair
 * when it and a multi-reference field of the referenced collection name each other
 * (`referencingFieldKey`): the pair is one relation, stored once, under the end whose
 * (collection, field) sorts first. The other end reads and writes the same rows with referring
 * and referenced swapped (`mine` is the column holding this end's items).
 */
export interface Side {
  readonly collection: string;
  readonly field: string;
  readonly mine: 'referring_id' | 'referenced_id';
  readonly theirs: 'referring_id' | 'referenced_id';
  /** The `referenced_collection_id` of the stored rows. */
  readonly referencedCollection: string;
}

export function sideOf(own: Collection, field: ReferenceField, target: Collection | undefined): Side {
  const partner = field.partnerKey !== undefined && target ? referenceFields(target).get(field.partnerKey) : undefined;
  const paired = partner?.kind === 'multi' && partner.referencedCollectionId === own.id && partner.partnerKey === field.key;
  if (paired && target && `${target.id}\u0000${partner.key}` < `${own.id}\u0000${field.key}`) {
    return { collection: target.id, field: partner.key, mine: 'referenced_id', theirs: 'referring_id', referencedCollection: own.id };
  }
  return { collection: own.id, field: field.key, mine: 'referring_id', theirs: 'referenced_id', referencedCollection: field.referencedCollectionId };
}

/** A stored row for the reference from `mine` (an item of the field's collection) to `theirs`. */
function rowOf(side: Side, env: string, mine: string, theirs: string): unknown[] {
  return side.mine === 'referring_id' ? [side.collection, env, side.field, mine, side.referencedCollection, theirs] : [side.collection, env, side.field, theirs, side.referencedCollection, mine];
}

/** The stored rows of a side in one environment (`r` is `item_references`). */
function sideWhere(side: Side, env: string): Sql {
  return sql`r.collection_id = ${side.collection} AND r.env = ${env} AND r.field = ${side.field}`;
}

export interface DataItemReference {
  referringItemFieldName: string;
  referringItemId: string;
  referencedItemId: string;
}

/** At most this many references in one bulk request, referring ids in one query-referenced. */
export const REFERENCE_BULK_LIMIT = 1000;
/** Referenced items included per item and field when `includeReferences` names no limit (Wix's 50). */
export const DEFAULT_INCLUDE_LIMIT = 50;
export const MAX_INCLUDE_LIMIT = 1000;

const fieldCache = new WeakMap<Collection, ReadonlyMap<string, ReferenceField>>();

/** The collection's REFERENCE and MULTI_REFERENCE fields by key (the schema object is immutable, so cached per object). */
export function referenceFields(collection: Collection): ReadonlyMap<string, ReferenceField> {
  let fields = fieldCache.get(collection);
  if (fields === undefined) {
    const map = new Map<string, ReferenceField>();
    for (const f of collection.fields) {
      const kind = f.type === 'REFERENCE' ? 'single' : f.type === 'MULTI_REFERENCE' ? 'multi' : undefined;
      if (kind === undefined || typeof f.key !== 'string') continue;
      const meta = isPlainObject(f.typeMetadata) ? f.typeMetadata : {};
      const detail = isPlainObject(meta.reference) ? meta.reference : isPlainObject(meta.multiReference) ? meta.multiReference : {};
      const target = detail.referencedCollectionId;
      const partnerKey = kind === 'multi' && typeof detail.referencingFieldKey === 'string' && detail.referencingFieldKey.length > 0 ? detail.referencingFieldKey : undefined;
      if (typeof target === 'string' && target.length > 0) map.set(f.key, { key: f.key, kind, referencedCollectionId: target, ...(partnerKey ? { partnerKey } : {}) });
    }
    fields = map;
    fieldCache.set(collection, fields);
  }
  return fields;
}

function notMultiReference(collection: Collection, name: string): WixError {
  return new WixError('WDE0020', `Provided property [${name}] is not a multi-reference field of collection [${collection.id}]`, {
    collectionName: collection.id,
    propertyName: name,
  });
}

/** The multi-reference field `name` of the collection, or WDE0020. */
export function multiReferenceField(collection: Collection, name: unknown, what = 'referringItemFieldName'): ReferenceField {
  if (typeof name !== 'string' || name.length === 0) throw new WixError('WDE0080', `${what} must be a non-empty string, got ${describe(name)}`);
  const field = referenceFields(collection).get(name);
  if (field?.kind !== 'multi') throw notMultiReference(collection, name);
  return field;
}

/** The reference or multi-reference field `name` of the collection, or WDE0020. */
export function anyReferenceField(collection: Collection, name: unknown, what = 'referringItemFieldName'): ReferenceField {
  if (typeof name !== 'string' || name.length === 0) throw new WixError('WDE0080', `${what} must be a non-empty string, got ${describe(name)}`);
  const field = referenceFields(collection).get(name);
  if (field === undefined) {
    throw new WixError('WDE0020', `Provided property [${name}] is not a reference or multi-reference field of collection [${collection.id}]`, {
      collectionName: collection.id,
      propertyName: name,
    });
  }
  return field;
}

/**
 * Patches may not touch a multi-reference field (WDE0303): its references are not data, and
 * the reference endpoints change them.
 */
export function refuseMultiReferencePatches(collection: Collection, patches: readonly ItemPatch[]): void {
  const fields = referenceFields(collection);
  if (fields.size === 0) return;
  for (const patch of patches) {
    for (const m of patch.modifications) {
      const top = m.path.segments[0];
      if (top !== undefined && fields.get(top)?.kind === 'multi') {
        throw new WixError('WDE0303', `Field [${top}] of collection [${collection.id}] is a multi-reference field: change its references with the reference endpoints, not a patch`, {
          collectionName: collection.id,
          propertyName: top,
        });
      }
    }
  }
}

/** A referenced item as callers may name it: its id, or an object with its `_id` (WDE0019 otherwise). */
export function referenceId(v: unknown, what: string): string {
  const id = typeof v === 'string' ? v : isPlainObject(v) ? v._id : undefined;
  if (typeof id !== 'string' || id.length === 0) {
    throw new WixError('WDE0019', `Reference operation takes a string ID or an object with an ID to be connected: ${what} is ${describe(v)}`);
  }
  return validItemId(id);
}

export function readReference(raw: unknown, what: string): DataItemReference {
  const r = asObject(raw, what);
  const field = r.referringItemFieldName;
  if (typeof field !== 'string' || field.length === 0) throw new WixError('WDE0080', `${what}.referringItemFieldName must be a non-empty string, got ${describe(field)}`);
  return {
    referringItemFieldName: field,
    referringItemId: referenceId(r.referringItemId, `${what}.referringItemId`),
    referencedItemId: referenceId(r.referencedItemId, `${what}.referencedItemId`),
  };
}

/**
 * Item data on its way in: a REFERENCE field given the whole referenced item keeps its `_id`; a
 * MULTI_REFERENCE field is taken out of the data (its references are not data), and returned
 * as the ids to save when the caller asked for `saveReferences`. Nothing to do, and no copy, for
 * collections without reference fields.
 */
export function takeReferenceValues(collection: Collection, item: IncomingItem, what: string): Map<string, string[]> | undefined {
  const fields = referenceFields(collection);
  if (fields.size === 0) return undefined;
  let multi: Map<string, string[]> | undefined;
  for (const field of fields.values()) {
    if (!Object.hasOwn(item.fields, field.key)) continue;
    const value = item.fields[field.key];
    if (field.kind === 'single') {
      if (isPlainObject(value) && typeof value._id === 'string') item.fields[field.key] = value._id;
      continue;
    }
    delete item.fields[field.key];
    if (value === null || value === undefined) continue;
    if (!Array.isArray(value)) throw new WixError('WDE0019', `${what}.${field.key} is a multi-reference field: give an array of item ids or items, got ${describe(value)}`);
    multi ??= new Map();
    multi.set(field.key, [...new Set(value.map((v, i) => referenceId(v, `${what}.${field.key}[${i}]`)))]);
  }
  return multi;
}

/** The scope in which a reference's target is read: its collection, the referring call's environment and drafts, the caller's read access. */
function targetScope(identity: Identity, target: Collection, from: ItemScope, includeDrafts: boolean): ItemScope | 'unauthorized' {
  let access;
  try {
    access = itemAccess(identity, target, 'read');
  } catch (e) {
    if (e instanceof WixError && e.code === 'WDE0027') return 'unauthorized';
    throw e;
  }
  return {
    collection: target,
    env: from.env,
    includeDrafts: !publishPlugin(target) || includeDrafts,
    ownerOnly: access.ownerOnly,
    ownerFixed: access.ownerFixed,
  };
}

interface TargetRow {
  data: string | null;
  publish_status: string | null;
}

function targetItem(scope: ItemScope, row: TargetRow, fields: readonly ReturnType<typeof parseFields>[number][] = []): WireItem | undefined {
  if (row.data === null) return undefined;
  const item = toWireItem(scope.collection.id, row.data, shownStatus(scope, row.publish_status ?? 'PUBLISHED'));
  return fields.length ? { ...item, data: project(item.data, fields) } : item;
}

/** The top-level field `key` of `alias`'s data when it holds a string, else NULL. */
function stringAt(dialect: Dialect, alias: string, key: string): Sql {
  const data = raw(`${alias}.data`);
  if (dialect === 'sqlite') {
    const path = `$."${key}"`;
    return sql`(CASE WHEN json_type(${data}, ${path}) = 'text' THEN json_extract(${data}, ${path}) END)`;
  }
  return sql`(CASE WHEN jsonb_typeof(${data} -> ${key}::text) = 'string' THEN ${data} ->> ${key}::text END)`;
}

const idList = (ids: readonly string[]): Sql => join(ids.map((id) => sql`${id}`), ', ');

/** Bulk reference results, as the Wix bulk reference endpoints answer. */
export interface ReferenceResult {
  action: 'INSERT' | 'DELETE';
  referenceMetadata: { originalIndex: number; success: boolean; error?: ReturnType<WixError['toApplicationError']> };
  dataItemReference?: DataItemReference;
}

export interface ReferenceBulkResponse {
  results: ReferenceResult[];
  bulkActionMetadata: { totalSuccesses: number; totalFailures: number; undetailedFailures: number };
}

type RefOutcome = { ok: true } | { ok: false; error: WixError };

function bulkReferenceResponse(action: ReferenceResult['action'], refs: readonly DataItemReference[], outcomes: readonly RefOutcome[], returnEntity: boolean): ReferenceBulkResponse {
  let ok = 0;
  const results = outcomes.map((o, i): ReferenceResult => {
    if (o.ok) {
      ok++;
      return { action, referenceMetadata: { originalIndex: i, success: true }, ...(returnEntity ? { dataItemReference: refs[i] as DataItemReference } : {}) };
    }
    return { action, referenceMetadata: { originalIndex: i, success: false, error: o.error.toApplicationError() } };
  });
  return { results, bulkActionMetadata: { totalSuccesses: ok, totalFailures: outcomes.length - ok, undetailedFailures: 0 } };
}

interface ReferencedCursor {
  v: 1;
  t: 'referenced';
  c: string;
  e: string;
  /** The field, the referring ids, the order, the projection and the drafts option of the first request. */
  f: string;
  i: string[];
  d: 'ASC' | 'DESC';
  p: unknown;
  x: boolean;
  o: number;
  l: number;
  /** Multi-reference pages: the `seq` of the previous page's last reference. */
  k?: number;
}

export interface QueryReferencedResult {
  dataItem?: WireItem;
  unresolvedReference?: { referringItemId: string; referringItemFieldName: string; referencedItemId?: string; unauthorized?: boolean };
  referringItemId: string;
}

/**
 * Deletes the references from and to the items that `removed` selects (a condition on `items`,
 * rows of one collection), before those items go. Callers run it in the removal's transaction.
 * A database with no references of the collection either way pays two index probes.
 */
export async function clearReferencesWhere(tx: Executor, collectionId: string, removed: Sql): Promise<void> {
  // The items are not locked yet (the DELETE after this locks them): on PostgreSQL, wait out the
  // transactions making references to or from the collection, and keep new ones out until this
  // one ends, so none can land on an item between this cleanup and its removal.
  await lockReferences(tx, [collectionId], 'exclusive');
  const [from, to] = await referencePresence(tx, collectionId);
  if (from) await tx.run(sql`DELETE FROM item_references WHERE collection_id = ${collectionId} AND (env, referring_id) IN (SELECT env, id FROM items WHERE ${removed})`);
  if (to) await tx.run(sql`DELETE FROM item_references WHERE referenced_collection_id = ${collectionId} AND (env, referenced_id) IN (SELECT env, id FROM items WHERE ${removed})`);
}

/** As clearReferencesWhere, for removed items known by id (in one environment). */
export async function clearReferencesOf(tx: Executor, collectionId: string, env: string, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  const [from, to] = await referencePresence(tx, collectionId);
  for (let start = 0; start < ids.length && (from || to); start += 500) {
    const chunk = idList(ids.slice(start, start + 500));
    if (from) await tx.run(sql`DELETE FROM item_references WHERE collection_id = ${collectionId} AND env = ${env} AND referring_id IN (${chunk})`);
    if (to) await tx.run(sql`DELETE FROM item_references WHERE referenced_collection_id = ${collectionId} AND env = ${env} AND referenced_id IN (${chunk})`);
  }
}

/** Every reference from or to the collection's items (its removal). */
export async function clearCollectionReferences(tx: Executor, collectionId: string): Promise<void> {
  await tx.run(sql`DELETE FROM item_references WHERE collection_id = ${collectionId}`);
  await tx.run(sql`DELETE FROM item_references WHERE referenced_collection_id = ${collectionId}`);
}

/**
 * A deletion (src/collections/deletion.ts) sets aside the references other collections' items
 * make to the deleted collections: left in place they would show through those items while the
 * collections are gone. Their own references stay with their items.
 */
export async function parkIncomingReferences(tx: Executor, members: readonly string[], deletionId: string): Promise<void> {
  await lockReferences(tx, members, 'exclusive');
  const incoming = sql`referenced_collection_id IN (${idList(members)}) AND collection_id NOT IN (${idList(members)})`;
  await tx.run(sql`INSERT INTO deleted_references (deletion_id, seq, collection_id, env, field, referring_id, referenced_collection_id, referenced_id)
    SELECT ${deletionId}, seq, collection_id, env, field, referring_id, referenced_collection_id, referenced_id FROM item_references WHERE ${incoming}`);
  await tx.run(sql`DELETE FROM item_references WHERE ${incoming}`);
}

/**
 * A restore puts the parked references back, in their order, from the referring items that are
 * still the ones that made them: an item removed since (or removed and made again under the same
 * id, after the deletion) gets none.
 */
export async function unparkReferences(tx: Executor, members: readonly string[], deletionId: string, deletedDate: string): Promise<void> {
  await lockReferences(tx, members, 'exclusive');
  await tx.run(sql`INSERT INTO item_references (collection_id, env, field, referring_id, referenced_collection_id, referenced_id)
    SELECT p.collection_id, p.env, p.field, p.referring_id, p.referenced_collection_id, p.referenced_id FROM deleted_references p
    WHERE p.deletion_id = ${deletionId} AND EXISTS (SELECT 1 FROM items i
      WHERE i.collection_id = p.collection_id AND i.env = p.env AND i.id = p.referring_id AND i.created_date <= ${deletedDate})
    ORDER BY p.seq
    ON CONFLICT DO NOTHING`);
  await tx.run(sql`DELETE FROM deleted_references WHERE deletion_id = ${deletionId}`);
}

/** Copies the collection's live references into its sandbox (sandbox start, after its items were copied). */
export async function copyReferencesToSandbox(tx: Executor, collectionId: string): Promise<void> {
  await tx.run(sql`INSERT INTO item_references (collection_id, env, field, referring_id, referenced_collection_id, referenced_id)
    SELECT collection_id, 'SANDBOX', field, referring_id, referenced_collection_id, referenced_id FROM item_references
    WHERE collection_id = ${collectionId} AND env = 'LIVE' ORDER BY seq`);
}

/** Advisory lock class of the reference locks (the two-key form, apart from the migrations' lock). */
const REFERENCES_LOCK_CLASS = 0x72656673; // "refs"

/**
 * PostgreSQL: a transaction-scoped lock per collection between the writers of references
 * (shared: the collections at both ends) and the batch removals that clear them (exclusive).
 * Taken in id order. SQLite has one writer and needs none.
 */
async function lockReferences(tx: Executor, collectionIds: readonly string[], mode: 'shared' | 'exclusive'): Promise<void> {
  if (tx.dialect !== 'postgres') return;
  const fn = raw(mode === 'shared' ? 'pg_advisory_xact_lock_shared' : 'pg_advisory_xact_lock');
  for (const id of [...new Set(collectionIds)].sort()) await tx.run(sql`SELECT ${fn}(${REFERENCES_LOCK_CLASS}::int, hashtext(${id}::text))`);
}

async function referencePresence(tx: Executor, collectionId: string): Promise<[boolean, boolean]> {
  const row = await tx.get<{ f: number | null; t: number | null }>(
    sql`SELECT (SELECT 1 FROM item_references WHERE collection_id = ${collectionId} LIMIT 1) AS f,
               (SELECT 1 FROM item_references WHERE referenced_collection_id = ${collectionId} LIMIT 1) AS t`,
  );
  return [row?.f != null, row?.t != null];
}

/**
 * Inserts references (rowOf's rows) in the given order; one already there stays where it is
 * (inserting it again is not an error).
 */
async function insertReferenceRows(tx: Executor, rows: readonly unknown[][]): Promise<void> {
  for (let start = 0; start < rows.length; start += 200) {
    const chunk = rows.slice(start, start + 200);
    await tx.run(
      sql`INSERT INTO item_references (collection_id, env, field, referring_id, referenced_collection_id, referenced_id) VALUES ${valuesList(chunk)}
          ON CONFLICT (collection_id, env, field, referring_id, referenced_id) DO NOTHING`,
    );
  }
}

/**
 * The ids among `ids` of items in `scope` (drafts included: references are made to and from
 * drafts too). On PostgreSQL the rows are locked until the transaction ends (`SHARE`, or
 * `UPDATE` to serialise replacements of one item's references), so an item cannot be removed,
 * and its references cleared, between this check and the references written after it.
 */
async function existingIds(tx: Executor, scope: ItemScope, ids: readonly string[], lock: 'SHARE' | 'UPDATE' = 'SHARE'): Promise<Set<string>> {
  const found = new Set<string>();
  const unique = [...new Set(ids)].sort();
  const locking = tx.dialect === 'postgres' ? raw(` ORDER BY id FOR ${lock}`) : raw('');
  for (let start = 0; start < unique.length; start += 500) {
    const rows = await tx.all<{ id: string }>(sql`SELECT id FROM items WHERE ${scopeWhere({ ...scope, includeDrafts: true })} AND id IN (${idList(unique.slice(start, start + 500))})${locking}`);
    for (const r of rows) found.add(r.id);
  }
  return found;
}

function missingItem(id: string, collectionId: string, role: 'Referring' | 'Referenced'): WixError {
  return new WixError('WDE0073', `${role} item [${id}] does not exist in collection [${collectionId}]`, { itemId: id, collectionId });
}

export class References {
  constructor(
    private readonly db: Db,
    private readonly collections: CollectionService,
  ) {}

  /**
   * The field's referenced collection, where its references are stored, and the scope in which
   * writes look its items up (any status, any owner). Inside a transaction, read through it: on
   * SQLite a read on another path would wait for the transaction to end.
   */
  private async target(scope: ItemScope, field: ReferenceField, tx?: Executor): Promise<{ side: Side; writeScope: ItemScope | undefined; collection: Collection | undefined }> {
    const target = await this.collections.find(field.referencedCollectionId, tx);
    return {
      side: sideOf(scope.collection, field, target),
      writeScope: target && { collection: target, env: scope.env, includeDrafts: true, ownerOnly: undefined, ownerFixed: false },
      collection: target,
    };
  }

  /** The reference lock (lockReferences) a write of the fields' references takes, before any row lock. */
  lockForWrite(tx: Executor, scope: ItemScope, fields: readonly ReferenceField[]): Promise<void> {
    return lockReferences(tx, [scope.collection.id, ...fields.map((f) => f.referencedCollectionId)], 'shared');
  }

  /**
   * Inserts references; each one's referring item must be in the caller's scope and its
   * referenced item must exist. Per-reference failures leave the others standing.
   */
  async insert(scope: ItemScope, refs: readonly DataItemReference[]): Promise<RefOutcome[]> {
    const fields = refs.map((r) => multiReferenceField(scope.collection, r.referringItemFieldName));
    return this.db.transaction(async (tx) => {
      await this.lockForWrite(tx, scope, fields);
      const referring = await existingIds(tx, scope, refs.map((r) => r.referringItemId));
      const targets = new Map<string, { side: Side; found: Set<string> }>();
      for (const field of new Set(fields)) {
        const { side, writeScope } = await this.target(scope, field, tx);
        const ids = refs.filter((_, i) => fields[i] === field).map((r) => r.referencedItemId);
        targets.set(field.key, { side, found: writeScope ? await existingIds(tx, writeScope, ids) : new Set() });
      }
      const rows: unknown[][] = [];
      const outcomes = refs.map((r, i): RefOutcome => {
        const field = fields[i] as ReferenceField;
        const t = targets.get(field.key) as { side: Side; found: Set<string> };
        if (!referring.has(r.referringItemId)) return { ok: false, error: missingItem(r.referringItemId, scope.collection.id, 'Referring') };
        if (!t.found.has(r.referencedItemId)) return { ok: false, error: missingItem(r.referencedItemId, field.referencedCollectionId, 'Referenced') };
        rows.push(rowOf(t.side, scope.env, r.referringItemId, r.referencedItemId));
        return { ok: true };
      });
      await insertReferenceRows(tx, rows);
      return outcomes;
    });
  }

  /** Removes references; removing one that is not there succeeds. The referring item must be in the caller's scope. */
  async remove(scope: ItemScope, refs: readonly DataItemReference[]): Promise<RefOutcome[]> {
    const fields = refs.map((r) => multiReferenceField(scope.collection, r.referringItemFieldName));
    return this.db.transaction(async (tx) => {
      const sides = new Map<string, Side>();
      for (const field of new Set(fields)) sides.set(field.key, (await this.target(scope, field, tx)).side);
      const referring = await existingIds(tx, scope, refs.map((r) => r.referringItemId));
      const outcomes: RefOutcome[] = [];
      const gone: DataItemReference[] = [];
      for (const r of refs) {
        if (!referring.has(r.referringItemId)) outcomes.push({ ok: false, error: missingItem(r.referringItemId, scope.collection.id, 'Referring') });
        else {
          outcomes.push({ ok: true });
          gone.push(r);
        }
      }
      for (const [key, side] of sides) {
        const mine = gone.filter((r) => r.referringItemFieldName === key);
        for (let start = 0; start < mine.length; start += 300) {
          const pairs = mine.slice(start, start + 300).map((r) => sql`(${r.referringItemId}, ${r.referencedItemId})`);
          await tx.run(
            sql`DELETE FROM item_references AS r WHERE ${sideWhere(side, scope.env)}
                AND (${raw(side.mine)}, ${raw(side.theirs)}) IN (${tx.dialect === 'sqlite' ? sql`VALUES ${join(pairs, ', ')}` : join(pairs, ', ')})`,
          );
        }
      }
      return outcomes;
    });
  }

  /**
   * Replaces the references of one item's field by `ids`, in that order (none: clears them).
   * All or nothing: a missing referring or referenced item fails the call.
   */
  async replace(scope: ItemScope, field: ReferenceField, referringId: string, ids: readonly string[], tx?: Executor): Promise<DataItemReference[]> {
    const run = async (t: Executor): Promise<DataItemReference[]> => {
      await this.lockForWrite(t, scope, [field]);
      if (!(await existingIds(t, scope, [referringId], 'UPDATE')).has(referringId)) throw missingItem(referringId, scope.collection.id, 'Referring');
      const unique = [...new Set(ids)];
      const { side, writeScope } = await this.target(scope, field, t);
      if (unique.length > 0) {
        const found = writeScope ? await existingIds(t, writeScope, unique) : new Set<string>();
        const missing = unique.find((id) => !found.has(id));
        if (missing !== undefined) throw missingItem(missing, field.referencedCollectionId, 'Referenced');
      }
      await t.run(sql`DELETE FROM item_references AS r WHERE ${sideWhere(side, scope.env)} AND ${raw(`r.${side.mine}`)} = ${referringId}`);
      await insertReferenceRows(t, unique.map((id) => rowOf(side, scope.env, referringId, id)));
      return unique.map((id) => ({ referringItemFieldName: field.key, referringItemId: referringId, referencedItemId: id }));
    };
    return tx ? run(tx) : this.db.transaction(run);
  }

  /** Whether the referring item (in the caller's scope) references the item in the field. */
  async isReferenced(scope: ItemScope, field: ReferenceField, referringId: string, referencedId: string): Promise<boolean> {
    if (field.kind === 'single') {
      const row = await this.db.get<{ data: string }>(sql`SELECT data FROM items WHERE ${scopeWhere(scope)} AND id = ${referringId}`);
      if (!row) return false;
      const data = JSON.parse(typeof row.data === 'string' ? row.data : JSON.stringify(row.data)) as JsonObject;
      return data[field.key] === referencedId;
    }
    const { side } = await this.target(scope, field);
    const row = await this.db.get(
      sql`SELECT 1 AS hit FROM item_references r WHERE ${sideWhere(side, scope.env)}
          AND ${raw(`r.${side.mine}`)} = ${referringId} AND ${raw(`r.${side.theirs}`)} = ${referencedId}
          AND EXISTS (SELECT 1 FROM items ri WHERE ${scopeWhere(scope, 'ri')} AND ri.id = ${raw(`r.${side.mine}`)})`,
    );
    return row !== undefined;
  }

  /**
   * The items the referring items reference in the field: multi-reference fields in the order
   * the references were made (`order`), reference fields in the order of `referringItemIds`.
   * A reference whose item is missing, a draft the call does not show, or not readable by the
   * caller comes back as an unresolved reference.
   */
  async query(scope: ItemScope, identity: Identity, p: JsonObject): Promise<{ results: QueryReferencedResult[]; pagingMetadata: PagingMetadata }> {
    const plan = this.planReferenced(scope, p);
    const field = anyReferenceField(scope.collection, plan.f);
    const fields = parseFields(plan.p);
    const target = await this.collections.find(field.referencedCollectionId);
    const ts = target ? targetScope(identity, target, scope, plan.x) : undefined;
    const readable = ts !== undefined && ts !== 'unauthorized' ? ts : undefined;
    const join_ = readable ? sql`LEFT JOIN items i ON ${scopeWhere(readable, 'i')} AND i.id = ` : undefined;
    const referringInScope = (column: string) => sql`EXISTS (SELECT 1 FROM items ri WHERE ${scopeWhere(scope, 'ri')} AND ri.id = ${raw(column)})`;

    type Row = { seq: number | string; referring_id: string; referenced_id: string | null; data: string | null; publish_status: string | null };
    let rows: Row[];
    let total: (() => Promise<number>) | undefined;
    if (field.kind === 'multi') {
      const side = sideOf(scope.collection, field, target);
      const [mine, theirs] = [`r.${side.mine}`, `r.${side.theirs}`];
      const base = sql`${sideWhere(side, scope.env)} AND ${raw(mine)} IN (${idList(plan.i)}) AND ${referringInScope(mine)}`;
      const after = plan.k === undefined ? sql`` : plan.d === 'ASC' ? sql` AND r.seq > ${plan.k}` : sql` AND r.seq < ${plan.k}`;
      const select = join_
        ? sql`SELECT r.seq, ${raw(mine)} AS referring_id, ${raw(theirs)} AS referenced_id, i.data, i.publish_status FROM item_references r ${join_}${raw(theirs)}`
        : sql`SELECT r.seq, ${raw(mine)} AS referring_id, ${raw(theirs)} AS referenced_id, NULL AS data, NULL AS publish_status FROM item_references r`;
      rows = await this.db.all<Row>(
        sql`${select} WHERE ${base}${after} ORDER BY r.seq ${raw(plan.d)} LIMIT ${plan.l + 1} OFFSET ${plan.k === undefined ? plan.o : 0}`,
      );
      total = async () => Number((await this.db.get<{ n: number }>(sql`SELECT count(*) AS n FROM item_references r WHERE ${base}`))?.n ?? 0);
    } else {
      // A reference field holds at most one id per referring item: the referring items (at most
      // REFERENCE_BULK_LIMIT) are read in one statement, then ordered and paged here.
      const value = stringAt(this.db.dialect, 'ri', field.key);
      const select = join_
        ? sql`SELECT ri.id AS referring_id, ${value} AS referenced_id, i.data, i.publish_status FROM items ri ${join_}${value}`
        : sql`SELECT ri.id AS referring_id, ${value} AS referenced_id, NULL AS data, NULL AS publish_status FROM items ri`;
      const found = await this.db.all<Omit<Row, 'seq'>>(sql`${select} WHERE ${scopeWhere(scope, 'ri')} AND ri.id IN (${idList(plan.i)}) AND ${value} IS NOT NULL`);
      const byId = new Map(found.map((r) => [r.referring_id, r]));
      const ordered = plan.i.flatMap((id, index) => {
        const r = byId.get(id);
        return r ? [{ ...r, seq: index }] : [];
      });
      if (plan.d === 'DESC') ordered.reverse();
      rows = ordered.slice(plan.o, plan.o + plan.l + 1);
      total = async () => ordered.length;
    }

    const hasNext = plan.l > 0 && rows.length > plan.l;
    const page = rows.slice(0, plan.l);
    const results = page.map((r): QueryReferencedResult => {
      const item = readable ? targetItem(readable, r, fields) : undefined;
      if (item) return { dataItem: item, referringItemId: r.referring_id };
      return {
        unresolvedReference: {
          referringItemId: r.referring_id,
          referringItemFieldName: field.key,
          ...(r.referenced_id !== null ? { referencedItemId: r.referenced_id } : {}),
          unauthorized: ts === 'unauthorized',
        },
        referringItemId: r.referring_id,
      };
    });
    const meta: PagingMetadata = { count: page.length, hasNext, cursors: {} };
    if (plan.mode === 'offset') {
      meta.offset = plan.o;
      if (plan.returnTotalCount) {
        meta.total = await total();
        meta.tooManyToCount = false;
      }
    } else {
      const state = (o: number, k?: number): ReferencedCursor => ({ v: 1, t: 'referenced', c: scope.collection.id, e: scope.env, f: plan.f, i: plan.i, d: plan.d, p: plan.p, x: plan.x, o, l: plan.l, ...(k === undefined ? {} : { k }) });
      const last = page[page.length - 1];
      if (hasNext && last) meta.cursors.next = encode(state(plan.o + plan.l, field.kind === 'multi' ? Number(last.seq) : undefined));
      if (plan.o > 0 && plan.l > 0) meta.cursors.prev = encode(state(Math.max(0, plan.o - plan.l)));
    }
    return { results, pagingMetadata: meta };
  }

  private planReferenced(scope: ItemScope, p: JsonObject): ReferencedCursor & { mode: 'offset' | 'cursor'; returnTotalCount: boolean } {
    if (p.paging !== undefined && p.paging !== null && p.cursorPaging !== undefined && p.cursorPaging !== null) {
      throw new WixError('WDE0080', 'Use either paging or cursorPaging, not both');
    }
    const cp = p.cursorPaging === undefined || p.cursorPaging === null ? undefined : asObject(p.cursorPaging, 'cursorPaging');
    if (cp && typeof cp.cursor === 'string' && cp.cursor.length > 0) {
      const state = decode(cp.cursor, scope);
      const limit = optionalInt(cp.limit, 'cursorPaging.limit', 0, PAGING.maxCursorLimit) ?? state.l;
      return { ...state, l: limit, mode: 'cursor', returnTotalCount: false };
    }
    if (cp && cp.cursor !== undefined && cp.cursor !== null && typeof cp.cursor !== 'string') throw new WixError('WDE0080', `cursorPaging.cursor must be a string, got ${describe(cp.cursor)}`);
    const ids = p.referringItemIds !== undefined && p.referringItemIds !== null ? asArray(p.referringItemIds, 'referringItemIds') : p.referringItemId !== undefined && p.referringItemId !== null ? [p.referringItemId] : [];
    if (ids.length === 0) throw new WixError('WDE0080', 'referringItemIds must name at least one item');
    if (ids.length > REFERENCE_BULK_LIMIT) throw new WixError('WDE0080', `referringItemIds may name at most ${REFERENCE_BULK_LIMIT} items`);
    const referring = [...new Set(ids.map((id, i) => referenceId(id, `referringItemIds[${i}]`)))];
    const field = p.referringItemFieldName;
    anyReferenceField(scope.collection, field);
    const order: unknown = p.order === undefined || p.order === null ? 'ASC' : p.order;
    if (order !== 'ASC' && order !== 'DESC') throw new WixError('WDE0080', `order must be ASC or DESC, got ${describe(order)}`);
    parseFields(p.fields);
    const ppo = optionalObject(p.publishPluginOptions, 'publishPluginOptions');
    const drafts = optionalBoolean(ppo?.includeDraftItems, 'publishPluginOptions.includeDraftItems') ?? false;
    const returnTotalCount = optionalBoolean(p.returnTotalCount, 'returnTotalCount') ?? false;
    const base = { v: 1 as const, t: 'referenced' as const, c: scope.collection.id, e: scope.env, f: field as string, i: referring, d: order as 'ASC' | 'DESC', p: p.fields ?? [], x: drafts };
    if (cp) return { ...base, o: 0, l: optionalInt(cp.limit, 'cursorPaging.limit', 0, PAGING.maxCursorLimit) ?? PAGING.defaultLimit, mode: 'cursor', returnTotalCount };
    const paging = optionalObject(p.paging, 'paging');
    return {
      ...base,
      o: optionalInt(paging?.offset, 'paging.offset', 0, Number.MAX_SAFE_INTEGER) ?? 0,
      l: optionalInt(paging?.limit, 'paging.limit', 0, PAGING.maxOffsetLimit) ?? PAGING.defaultLimit,
      mode: 'offset',
      returnTotalCount,
    };
  }

  /**
   * `includeReferences` on get and query: each named reference field of each item becomes the
   * referenced item's data (REFERENCE; the id stays when the item cannot be read) or the array
   * of referenced items' data, up to `limit` per item in the order the references were made
   * (MULTI_REFERENCE; unreadable ones left out). Fields that are not reference fields are
   * ignored. One statement per included field for a page of up to 500 items.
   */
  async include(scope: ItemScope, identity: Identity, items: WireItem[], includes: readonly IncludeSpec[]): Promise<void> {
    if (items.length === 0 || includes.length === 0) return;
    const fields = referenceFields(scope.collection);
    for (const inc of includes) {
      const field = fields.get(inc.field);
      if (field === undefined) continue;
      const target = await this.collections.find(field.referencedCollectionId);
      // Referenced drafts show when the call asked for drafts (a collection without the Publish
      // plugin has every item visible, which is not asking).
      const ts = target ? targetScope(identity, target, scope, scope.includeDrafts && publishPlugin(scope.collection) !== undefined) : undefined;
      const readable = ts !== undefined && ts !== 'unauthorized' ? ts : undefined;
      if (field.kind === 'single') {
        if (!readable) continue;
        const ids = [...new Set(items.map((it) => it.data[field.key]).filter((v): v is string => typeof v === 'string'))];
        const found = new Map<string, JsonObject>();
        for (let start = 0; start < ids.length; start += 500) {
          const rows = await this.db.all<{ id: string; data: string; publish_status: string }>(
            sql`SELECT id, data, publish_status FROM items WHERE ${scopeWhere(readable)} AND id IN (${idList(ids.slice(start, start + 500))})`,
          );
          for (const r of rows) found.set(r.id, (targetItem(readable, r) as WireItem).data);
        }
        for (const it of items) {
          const v = it.data[field.key];
          const item = typeof v === 'string' ? found.get(v) : undefined;
          if (item) it.data[field.key] = item;
        }
        continue;
      }
      const byReferring = new Map<string, JsonValue[]>();
      const side = sideOf(scope.collection, field, target);
      const [mine, theirs] = [raw(`r.${side.mine}`), raw(`r.${side.theirs}`)];
      if (readable) {
        const ids = [...new Set(items.map((it) => it.id))];
        for (let start = 0; start < ids.length; start += 500) {
          const rows = await this.db.all<{ referring_id: string; data: string; publish_status: string }>(
            sql`SELECT referring_id, data, publish_status FROM (
                  SELECT ${mine} AS referring_id, r.seq, i.data, i.publish_status, row_number() OVER (PARTITION BY ${mine} ORDER BY r.seq) AS n
                  FROM item_references r JOIN items i ON ${scopeWhere(readable, 'i')} AND i.id = ${theirs}
                  WHERE ${sideWhere(side, scope.env)} AND ${mine} IN (${idList(ids.slice(start, start + 500))})) AS t
                WHERE n <= ${inc.limit} ORDER BY referring_id, seq`,
          );
          for (const r of rows) {
            let list = byReferring.get(r.referring_id);
            if (!list) byReferring.set(r.referring_id, (list = []));
            list.push((targetItem(readable, r) as WireItem).data);
          }
        }
      }
      for (const it of items) it.data[field.key] = byReferring.get(it.id) ?? [];
    }
  }
}

export interface IncludeSpec {
  field: string;
  limit: number;
}

/**
 * The `includeReferences` of a get or query (`[{field, limit}]`), or the older
 * `includeReferencedItems` (field names). Undefined when there are none.
 */
export function readIncludes(p: JsonObject): IncludeSpec[] | undefined {
  // Every get and query asks: the common answer costs no allocation.
  if ((p.includeReferences === undefined || p.includeReferences === null) && p.includeReferencedItems === undefined) return undefined;
  const out: IncludeSpec[] = [];
  if (p.includeReferences !== undefined && p.includeReferences !== null) {
    asArray(p.includeReferences, 'includeReferences').forEach((raw, i) => {
      const r = asObject(raw, `includeReferences[${i}]`);
      if (typeof r.field !== 'string' || r.field.length === 0) throw new WixError('WDE0080', `includeReferences[${i}].field must be a non-empty string, got ${describe(r.field)}`);
      out.push({ field: r.field, limit: optionalInt(r.limit, `includeReferences[${i}].limit`, 0, MAX_INCLUDE_LIMIT) ?? DEFAULT_INCLUDE_LIMIT });
    });
  }
  if (Array.isArray(p.includeReferencedItems)) {
    p.includeReferencedItems.forEach((f, i) => {
      if (typeof f !== 'string' || f.length === 0) throw new WixError('WDE0080', `includeReferencedItems[${i}] must be a non-empty string, got ${describe(f)}`);
      out.push({ field: f, limit: DEFAULT_INCLUDE_LIMIT });
    });
  }
  return out.length ? out : undefined;
}

export function bulkReferences(p: JsonObject): DataItemReference[] {
  const list = asArray(p.dataItemReferences, 'dataItemReferences');
  if (list.length === 0) throw new WixError('WDE0080', 'dataItemReferences must not be empty');
  if (list.length > REFERENCE_BULK_LIMIT) throw new WixError('WDE0080', `Cannot change more than ${REFERENCE_BULK_LIMIT} references in one request`);
  return list.map((r, i) => readReference(r, `dataItemReferences[${i}]`));
}

export { bulkReferenceResponse };

function encode(state: ReferencedCursor): string {
  return Buffer.from(JSON.stringify(state)).toString('base64url');
}

function decode(cursor: string, scope: ItemScope): ReferencedCursor {
  let state: unknown;
  try {
    state = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new WixError('WDE0165', 'Invalid cursor');
  }
  const ok =
    isPlainObject(state) &&
    state.v === 1 &&
    state.t === 'referenced' &&
    typeof state.f === 'string' &&
    Array.isArray(state.i) &&
    state.i.length > 0 &&
    state.i.length <= REFERENCE_BULK_LIMIT &&
    state.i.every((id) => typeof id === 'string' && id.length > 0) &&
    (state.d === 'ASC' || state.d === 'DESC') &&
    typeof state.x === 'boolean' &&
    Number.isSafeInteger(state.o) &&
    (state.o as number) >= 0 &&
    Number.isSafeInteger(state.l) &&
    (state.l as number) >= 0 &&
    (state.l as number) <= PAGING.maxCursorLimit &&
    (state.k === undefined || Number.isSafeInteger(state.k));
  if (!ok || !isPlainObject(state)) throw new WixError('WDE0165', 'Invalid cursor: not a query-referenced cursor');
  if (state.c !== scope.collection.id || state.e !== scope.env) throw new WixError('WDE0165', 'The cursor belongs to another collection or environment');
  return state as unknown as ReferencedCursor;
}
