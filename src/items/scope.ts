/**
 * Where an item call operates: one collection, one environment, and whether drafts are visible.
 * Every read and write of items is bounded by `scopeWhere`, so no statement can reach another
 * collection's or environment's rows.
 */
import { defaultPublishStatus, publishPlugin, type Collection } from '../collections/model.js';
import { WixError } from '../errors.js';
import { raw, sql, type Sql } from '../store/sql.js';
import { oneOf } from '../validate.js';

export const ENVIRONMENTS = ['LIVE', 'SANDBOX', 'SANDBOX_PREFERRED'] as const;
export type Environment = 'LIVE' | 'SANDBOX';

export interface ItemScope {
  readonly collection: Collection;
  readonly env: Environment;
  /** True when drafts are visible: no Publish plugin, or the caller asked for drafts. */
  readonly includeDrafts: boolean;
}

export function resolveEnvironment(collection: Collection, raw: unknown): Environment {
  const requested = oneOf(raw, ENVIRONMENTS, 'environment', 'LIVE');
  if (requested === 'LIVE') return 'LIVE';
  if (collection.sandboxEnabled) return 'SANDBOX';
  if (requested === 'SANDBOX_PREFERRED') return 'LIVE';
  throw new WixError('WDE0119', `Collection [${collection.id}] has no sandbox environment; enable it first`, { collectionId: collection.id });
}

export function makeScope(collection: Collection, environment: unknown, includeDraftItems: boolean | undefined): ItemScope {
  return {
    collection,
    env: resolveEnvironment(collection, environment),
    includeDrafts: !publishPlugin(collection) || includeDraftItems === true,
  };
}

export function scopeWhere(scope: ItemScope, table = ''): Sql {
  const t = table ? `${table}.` : '';
  const base = sql`${raw(t)}collection_id = ${scope.collection.id} AND ${raw(t)}env = ${scope.env}`;
  return scope.includeDrafts ? base : sql`${base} AND ${raw(t)}publish_status = 'PUBLISHED'`;
}

/** The status a newly inserted item gets. */
export function insertStatus(scope: ItemScope): 'PUBLISHED' | 'DRAFT' {
  return defaultPublishStatus(scope.collection);
}

/** `_publishStatus` is shown in item data only for collections with the Publish plugin. */
export function shownStatus(scope: ItemScope, status: string): string | undefined {
  return publishPlugin(scope.collection) ? status : undefined;
}
