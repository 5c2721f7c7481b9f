/**
 * An `events` row as the payload receivers get (webhooks, the event stream). The inner payload is
 * the Wix event body (wix-data-api.md §7): `{id, entityFqdn, slug, entityId, eventTime,
 * triggeredByAnonymizeRequest, entityEventSequence, createdEvent{entity} | updatedEvent
 * {currentEntity} | deletedEvent{deletedEntity}}`; int64 `entityEventSequence` is a string, as
 * Wix's JSON writes 64-bit integers. Around it, the Standard Webhooks envelope
 * `{type, timestamp, data}`.
 */
import { canonicalise, type JsonObject, type JsonValue } from '../wire/json.js';
import { BACKUP_EVENTS, COLLECTION_EVENTS, ITEM_EVENTS, TASK_EVENTS } from './outbox.js';

export interface EventRow {
  seq: number | string;
  id: string;
  type: string;
  collection_id: string | null;
  env: string | null;
  entity_id: string;
  event_time: string;
  /** SQLite: JSON text; PostgreSQL: the parsed jsonb. */
  data: string | JsonObject | null;
}

export const EVENT_COLUMNS_SELECT = 'seq, id, type, collection_id, env, entity_id, event_time, data';

/**
 * A collection restored from the deleted ones is created again with when it was deleted (Wix's
 * `createdEvent.restoreInfo`). Its row keeps both as `{$entity, $restoreInfo}`: an entity always
 * has an `id`, so the form cannot be mistaken for one (whatever keys its extras hold).
 */
export function restoredEventData(entity: JsonObject, deletedDate: string): JsonObject {
  return { $entity: entity, $restoreInfo: { deletedDate } };
}

function restoredForm(body: JsonObject | null): { entity: JsonValue; restoreInfo: JsonValue } | undefined {
  if (body === null || 'id' in body || !('$entity' in body) || !('$restoreInfo' in body)) return undefined;
  return { entity: body.$entity as JsonValue, restoreInfo: body.$restoreInfo as JsonValue };
}

const SLUGS: Record<string, { fqdn: string; slug: string }> = {
  [ITEM_EVENTS.created]: { fqdn: 'wix.data.v2.data_item', slug: 'created' },
  [ITEM_EVENTS.updated]: { fqdn: 'wix.data.v2.data_item', slug: 'updated' },
  [ITEM_EVENTS.deleted]: { fqdn: 'wix.data.v2.data_item', slug: 'deleted' },
  [COLLECTION_EVENTS.created]: { fqdn: 'wix.data.v2.data_collection', slug: 'created' },
  [COLLECTION_EVENTS.updated]: { fqdn: 'wix.data.v2.data_collection', slug: 'updated' },
  [COLLECTION_EVENTS.deleted]: { fqdn: 'wix.data.v2.data_collection', slug: 'deleted' },
  [COLLECTION_EVENTS.changed]: { fqdn: 'wix.data.v2.data_collection', slug: 'data_collection_changed_event' },
  [TASK_EVENTS.statusChanged]: { fqdn: 'cairn.tasks.v1.task', slug: 'status_changed' },
  [TASK_EVENTS.progress]: { fqdn: 'cairn.tasks.v1.task', slug: 'progress' },
  // actionEvent.body: {backup} or {restoration} (the client's BackupStateChanged, RestorationStateChanged).
  [BACKUP_EVENTS.backupStateChanged]: { fqdn: 'wix.data.v2.backup', slug: 'backup_state_changed' },
  [BACKUP_EVENTS.restorationStateChanged]: { fqdn: 'wix.data.v2.backup', slug: 'restoration_state_changed' },
};

function parsed(data: EventRow['data']): JsonObject | null {
  if (data === null) return null;
  return (typeof data === 'string' ? JSON.parse(data) : data) as JsonObject;
}

/** The inner Wix event payload of an `events` row. */
export function eventPayload(row: EventRow): JsonObject {
  const kind = SLUGS[row.type] ?? { fqdn: row.type.replace(/_[a-z]+$/, ''), slug: row.type.split('_').pop() ?? row.type };
  const body = parsed(row.data);
  const out: JsonObject = {
    id: row.id,
    entityFqdn: kind.fqdn,
    slug: kind.slug,
    entityId: row.entity_id,
    eventTime: row.event_time,
    triggeredByAnonymizeRequest: false,
    entityEventSequence: String(row.seq),
  };
  if (kind.fqdn === 'wix.data.v2.data_item') {
    const entity = (): JsonObject => ({ id: row.entity_id, dataCollectionId: row.collection_id, data: canonicalise(body ?? {}) });
    if (kind.slug === 'created') out.createdEvent = { entity: entity() };
    else if (kind.slug === 'updated') out.updatedEvent = { currentEntity: entity() };
    else out.deletedEvent = { deletedEntity: { id: row.entity_id, dataCollectionId: row.collection_id } };
    // Cairn's addition: which environment changed (Wix sends events for the live site only).
    if (row.env && row.env !== 'LIVE') out.environment = row.env;
    return out;
  }
  const { entity: stored, restoreInfo } = restoredForm(body) ?? { entity: body ?? { id: row.entity_id }, restoreInfo: undefined };
  const entity = canonicalise(stored as JsonValue);
  if (kind.slug === 'created') out.createdEvent = restoreInfo === undefined ? { entity } : { entity, restoreInfo };
  else if (kind.slug === 'updated') out.updatedEvent = { currentEntity: entity };
  else if (kind.slug === 'deleted') out.deletedEvent = { deletedEntity: entity };
  else out.actionEvent = { body: entity };
  return out;
}

/** The Standard Webhooks envelope: what a webhook POST and a stream message carry. */
export function eventEnvelope(row: EventRow): JsonObject {
  return { type: row.type, timestamp: row.event_time, data: eventPayload(row) };
}
