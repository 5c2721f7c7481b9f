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
  /**
   * Set for a member under SITE_MEMBER_AUTHOR (src/auth/permissions.ts): only that member's
   * items are in scope, so no statement reads, counts, changes or removes anyone else's.
   */
  readonly ownerOnly?: string | undefined;
  /** True when the caller may not choose `_owner` (everyone but admins). */
  readonly ownerFixed?: boolean;
}

export function resolveEnvironment(collection: Collection, raw: unknown): Environment {
  const requested = oneOf(raw, ENVIRONMENTS, 'environment', 'LIVE');
  if (requested === 'LIVE') return 'LIVE';
  if (collection.sandboxEnabled) return 'SANDBOX';
  if (requested === 'SANDBOX_PREFERRED') return 'LIVE';
  throw new WixError('WDE0119', `Collection [${collection.id}] has no sandbox environment; enable it first`, { collectionId: collection.id });
}

export function makeScope(
  collection: Collection,
  environment: unknown,
  includeDraftItems: boolean | undefined,
  access: { ownerOnly: string | undefined; ownerFixed: boolean } = { ownerOnly: undefined, ownerFixed: false },
): ItemScope {
  return {
    collection,
    env: resolveEnvironment(collection, environment),
    includeDrafts: !publishPlugin(collection) || includeDraftItems === true,
    ownerOnly: access.ownerOnly,
    ownerFixed: access.ownerFixed,
  };
}

export function scopeWhere(scope: ItemScope, table = ''): Sql {
  const t = table ? `${table}.` : '';
  let where = sql`${raw(t)}collection_id = ${scope.collection.id} AND ${raw(t)}env = ${scope.env}`;
  if (!scope.includeDrafts) where = sql`${where} AND ${raw(t)}publish_status = 'PUBLISHED'`;
  if (scope.ownerOnly !== undefined) where = sql`${where} AND ${raw(t)}owner = ${scope.ownerOnly}`;
  return where;
}

/** The status a newly inserted item gets. */
export function insertStatus(scope: ItemScope): 'PUBLISHED' | 'DRAFT' {
  return defaultPublishStatus(scope.collection);
}

/** `_publishStatus` is shown in item data only for collections with the Publish plugin. */
export function shownStatus(scope: ItemScope, status: string): string | undefined {
  return publishPlugin(scope.collection) ? status : undefined;
}

/**
 * A stored item's document as reads show it: with `_publishStatus` in a collection with the
 * Publish plugin (the status is a column of its own, not part of `data`). Item events carry it
 * (without it an "updated" event of a publish-status change would not say what changed), and
 * the aggregation pipeline's first stage reads it.
 */
export function documentWithStatus(collection: Collection, dialect: 'sqlite' | 'postgres', data: Sql, status: Sql): Sql {
  if (publishPlugin(collection) === undefined) return data;
  return dialect === 'postgres' ? sql`${data} || jsonb_build_object('_publishStatus', ${status})` : sql`json_set(${data}, '$._publishStatus', ${status})`;
}
