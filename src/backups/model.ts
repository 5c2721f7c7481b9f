/**
 * Backups and restorations as they travel (the published client's `backups` module, Wix's
 * Backups API): the stored rows, their wire form, and the checks on what a caller sends.
 */
import { validCollectionId } from '../collections/model.js';
import { WixError } from '../errors.js';
import { describe } from '../query/parse.js';
import { asArray, asObject, optionalInt, optionalString } from '../validate.js';
import type { JsonObject } from '../wire/json.js';

export const BACKUP_STATUSES = ['PENDING', 'READY', 'FAILED', 'DELETED', 'CANCELED'] as const;
export type BackupStatus = (typeof BACKUP_STATUSES)[number];
export const BACKUP_TYPES = ['ON_DEMAND', 'AUTO'] as const;
export type BackupType = (typeof BACKUP_TYPES)[number];
export const RESTORATION_STATUSES = ['PENDING', 'COMPLETED', 'FAILED'] as const;
export type RestorationStatus = (typeof RESTORATION_STATUSES)[number];

/** A row of `backups`. */
export interface BackupRow {
  id: string;
  type: BackupType;
  status: BackupStatus;
  requested_date: string;
  started_date: string | null;
  finished_date: string | null;
  deleted_date: string | null;
  size_bytes: number | string | null;
  /** JSON array of the collection ids a partial backup takes; null for every collection. */
  only_collections: string | null;
  error: string | null;
  attempts: number | string;
}

/** A row of `restorations`; `collections` is the JSON of RestorationTarget[]. */
export interface RestorationRow {
  id: string;
  backup_id: string;
  status: RestorationStatus;
  collections: string;
  requested_date: string;
  started_date: string | null;
  finished_date: string | null;
  error: string | null;
  attempts: number | string;
}

/** One collection a restoration restores: from the backup's `source` into `destination`. */
export interface RestorationTarget {
  source: string;
  destination: string;
  /** The display name of a destination the restoration creates (default: the source's). */
  displayName?: string;
}

/** The backup's collections as the Backup's `collections` lists them. */
export interface BackupCollection {
  id: string;
  displayName: string;
}

/** Backup as the client reads it: dates as ISO text, `sizeInBytes` as an int64 string, absent fields left out. */
export function backupToWire(row: BackupRow, collections: readonly BackupCollection[]): JsonObject {
  return {
    id: row.id,
    status: row.status,
    type: row.type,
    requestedDate: row.requested_date,
    ...(row.started_date ? { startedDate: row.started_date } : {}),
    ...(row.finished_date ? { finishedDate: row.finished_date } : {}),
    ...(row.deleted_date ? { deletedDate: row.deleted_date } : {}),
    ...(row.size_bytes !== null ? { sizeInBytes: String(row.size_bytes) } : {}),
    collections: collections.map((c) => ({ id: c.id, displayName: c.displayName })),
  };
}

export function restorationToWire(row: RestorationRow, backup: JsonObject): JsonObject {
  const targets = JSON.parse(row.collections) as RestorationTarget[];
  return {
    id: row.id,
    backup,
    status: row.status,
    requestedDate: row.requested_date,
    ...(row.started_date ? { startedDate: row.started_date } : {}),
    ...(row.finished_date ? { finishedDate: row.finished_date } : {}),
    restorationCollections: targets.map((t) => ({
      dataCollectionId: t.source,
      restoreDestination: { dataCollectionId: t.destination, ...(t.displayName !== undefined ? { displayName: t.displayName } : {}) },
    })),
  };
}

/**
 * Create Backup's optional `backup.collections` (`[{id}]`): a partial backup of those
 * collections (the client's comment: "For a partial backup, specify which collections to include
 * in the `backup.collections` parameter"). Undefined for every collection.
 */
export function requestedCollections(raw: unknown): string[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  const backup = asObject(raw, 'backup');
  if (backup.collections === undefined || backup.collections === null) return undefined;
  const list = asArray(backup.collections, 'backup.collections');
  if (list.length === 0) throw new WixError('WDE0080', 'backup.collections must name at least one collection, or be left out for all of them');
  if (list.length > 1000) throw new WixError('WDE0080', 'backup.collections cannot name more than 1000 collections');
  return [...new Set(list.map((entry, i) => validCollectionId(asObject(entry, `backup.collections[${i}]`).id, `backup.collections[${i}].id`)))];
}

/** A backup id from the path: non-empty text (an unknown one is 404 later). */
export function backupId(v: unknown): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > 256) throw new WixError('WDE0080', `backupId must be a non-empty string of at most 256 characters, got ${describe(v)}`);
  return v;
}

/**
 * A list filter (`status`, `type`): one value or several (the client sends `status=A&status=B`,
 * a JSON body an array), each one of `allowed`. Undefined when absent or empty.
 */
export function enumFilter<T extends string>(v: unknown, allowed: readonly T[], what: string): T[] | undefined {
  if (v === undefined || v === null) return undefined;
  const list = Array.isArray(v) ? v : [v];
  for (const s of list) {
    if (typeof s !== 'string' || !(allowed as readonly string[]).includes(s)) {
      throw new WixError('WDE0075', `${what} must be one of ${allowed.join(', ')}, got ${describe(s)}`);
    }
  }
  return list.length === 0 ? undefined : [...new Set(list as T[])];
}

/** `paging {limit, offset}` of the list calls (limit 1..100, default 50; the Wix default page size of these calls is not documented). */
export function listPaging(raw: unknown): { limit: number; offset: number } {
  const paging = raw === undefined || raw === null ? {} : asObject(raw, 'paging');
  return {
    limit: optionalInt(paging.limit, 'paging.limit', 1, 100) ?? 50,
    offset: optionalInt(paging.offset, 'paging.offset', 0, Number.MAX_SAFE_INTEGER) ?? 0,
  };
}

/**
 * `restorationCollections` of a partial restore: at least one, each naming a collection of the
 * backup, at most once, and no two restored into the same destination.
 */
export function restorationTargets(raw: unknown, inBackup: ReadonlySet<string>): RestorationTarget[] {
  if (raw === undefined || raw === null) throw new WixError('WDE0080', 'restorationCollections is required: the collections of the backup to restore');
  const list = asArray(raw, 'restorationCollections');
  if (list.length === 0) throw new WixError('WDE0080', 'restorationCollections must name at least one collection');
  if (list.length > 1000) throw new WixError('WDE0080', 'restorationCollections cannot name more than 1000 collections');
  const sources = new Set<string>();
  const destinations = new Set<string>();
  return list.map((entry, i) => {
    const what = `restorationCollections[${i}]`;
    const e = asObject(entry, what);
    const source = validCollectionId(e.dataCollectionId, `${what}.dataCollectionId`);
    if (!inBackup.has(source)) throw new WixError('WDE0025', `Collection [${source}] is not in the backup`, { collectionId: source });
    if (sources.has(source)) throw new WixError('WDE0080', `${what}: collection [${source}] is named twice`);
    sources.add(source);
    const dest = e.restoreDestination === undefined || e.restoreDestination === null ? {} : asObject(e.restoreDestination, `${what}.restoreDestination`);
    const destination = dest.dataCollectionId === undefined || dest.dataCollectionId === null ? source : validCollectionId(dest.dataCollectionId, `${what}.restoreDestination.dataCollectionId`);
    if (destinations.has(destination)) throw new WixError('WDE0080', `${what}: two collections cannot be restored into [${destination}]`);
    destinations.add(destination);
    const displayName = optionalString(dest.displayName, `${what}.restoreDestination.displayName`);
    return { source, destination, ...(displayName !== undefined ? { displayName } : {}) };
  });
}
