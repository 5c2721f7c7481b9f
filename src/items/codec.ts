/**
 * Items between the wire and the store. On the way in: the item must be an object, keys never
 * start with `$` (but for `{$date}`), dates are normalised, the size is bounded; system fields are
 * the server's. On the way out: `{id, dataCollectionId, data}` with `_id`, `_createdDate`,
 * `_updatedDate` and `_owner` inside `data` and keys in canonical order on every store.
 */
import { timeOrderedId } from '../ids.js';
import { WixError } from '../errors.js';
import { describe } from '../query/parse.js';
import { canonicalise, canonicalJson, isDateValue, isPlainObject, normaliseDateString, setOwn, type JsonObject, type JsonValue } from '../wire/json.js';

/** 512 KB, the Wix per-item quota (WDE0009). */
export const MAX_ITEM_BYTES = 512 * 1024;
const MAX_DEPTH = 64;
export const MAX_ID_LENGTH = 255;

/** Normalises user data: dates to `{$date: ISO}`; rejects `$` keys, non-finite numbers, deep nesting. */
export function normaliseData(v: unknown, depth = 0, path = ''): JsonValue {
  if (depth > MAX_DEPTH) throw new WixError('WDE0075', `Item is nested deeper than ${MAX_DEPTH} levels`);
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new WixError('WDE0075', `Field ${path || '(root)'} holds a number that is not finite`);
    return v;
  }
  if (Array.isArray(v)) return v.map((x, i) => normaliseData(x, depth + 1, `${path}[${i}]`));
  if (isPlainObject(v)) {
    if ('$date' in v) {
      const iso = isDateValue(v) ? normaliseDateString(v.$date) : undefined;
      if (!iso) throw new WixError('WDE0075', `Field ${path || '(root)'} holds an invalid date ${describe(v)}`);
      return { $date: iso };
    }
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) {
      if (k.startsWith('$')) throw new WixError('WDE0134', `Field names cannot start with $: ${JSON.stringify(k.slice(0, 80))}`);
      if (x === undefined) continue;
      setOwn(out, k, normaliseData(x, depth + 1, path ? `${path}.${k}` : k));
    }
    return out;
  }
  throw new WixError('WDE0075', `Field ${path || '(root)'} holds an unsupported value ${describe(v)}`);
}

export function validItemId(v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw new WixError('WDE0002', `Item id must be a non-empty string, got ${describe(v)}`);
  if (v.length > MAX_ID_LENGTH) throw new WixError('WDE0002', `Item id is longer than ${MAX_ID_LENGTH} characters`);
  return v;
}

export interface IncomingItem {
  /** The caller's id, or undefined when the server is to generate one. */
  id: string | undefined;
  /** User fields only: system fields removed, dates normalised. */
  fields: JsonObject;
  /** `_owner` as the caller sent it; the writer decides whether it may stand. */
  owner: string | undefined;
}

/**
 * Reads a wire `dataItem` ({id?, data}) or a bare item object. The id is `dataItem.id`, else
 * `data._id`; when both are present they must agree.
 */
export function readDataItem(raw: unknown, what = 'dataItem'): IncomingItem {
  if (!isPlainObject(raw)) throw new WixError('WDE0004', `${what} must be an object, got ${describe(raw)}`);
  const data = raw.data === undefined ? {} : raw.data;
  if (!isPlainObject(data)) throw new WixError('WDE0004', `${what}.data must be an object, got ${describe(data)}`);
  return readItemData(data, raw.id);
}

export function readItemData(data: JsonObject, outerId?: unknown): IncomingItem {
  let id: string | undefined;
  if (outerId !== undefined && outerId !== null && outerId !== '') id = validItemId(outerId);
  if (data._id !== undefined && data._id !== null && data._id !== '') {
    const inner = validItemId(data._id);
    if (id !== undefined && inner !== id) throw new WixError('WDE0075', `dataItem.id [${id}] and data._id [${inner}] differ`);
    id = inner;
  }
  const { _id, _createdDate, _updatedDate, _owner, _publishStatus, ...rest } = data;
  const fields = normaliseData(rest) as JsonObject;
  const owner = typeof _owner === 'string' && _owner.length > 0 ? _owner : undefined;
  return { id, fields, owner };
}

/** A GUID for an item the caller gave no `_id` (time-ordered: see ids.ts). */
export function newItemId(): string {
  return timeOrderedId();
}

export interface StoredItem {
  id: string;
  json: string;
  createdDate: string;
  updatedDate: string;
  owner: string | null;
}

/**
 * The stored document: user fields plus the system fields, serialised once, keys in canonical
 * order: the text is then exactly the `data` a reply carries, and SQLite can send it unparsed
 * (ItemReader.getJson; the `canon` column marks rows that hold such text).
 */
export function buildStored(id: string, fields: JsonObject, createdDate: string, updatedDate: string, owner: string | null): StoredItem {
  const doc: JsonObject = { ...fields, _id: id, _createdDate: { $date: createdDate }, _updatedDate: { $date: updatedDate } };
  if (owner !== null) doc._owner = owner;
  const json = canonicalJson(doc);
  // UTF-8 needs at most 3 bytes per UTF-16 unit: most items are clearly under the limit.
  if (json.length * 3 > MAX_ITEM_BYTES && Buffer.byteLength(json) > MAX_ITEM_BYTES) {
    throw new WixError('WDE0009', `Item [${id}] is larger than ${MAX_ITEM_BYTES / 1024} KB`, { itemId: id });
  }
  return { id, json, createdDate, updatedDate, owner };
}

export interface WireItem {
  id: string;
  dataCollectionId: string;
  data: JsonObject;
}

/**
 * The wire DataItem's JSON text around stored text already in wire form (buildStored wrote it):
 * the same bytes as JSON.stringify(toWireItem(...)) without parsing the document.
 */
export function wireItemJson(collectionId: string, id: string, canonicalData: string): string {
  return `{"id":${JSON.stringify(id)},"dataCollectionId":${JSON.stringify(collectionId)},"data":${canonicalData}}`;
}

/** Stored JSON (text) -> the wire's DataItem, keys in canonical order. */
export function toWireItem(collectionId: string, json: string, publishStatus?: string): WireItem {
  const parsed = JSON.parse(json) as JsonObject;
  if (publishStatus !== undefined) parsed._publishStatus = publishStatus;
  const data = canonicalise(parsed) as JsonObject;
  return { id: String(data._id), dataCollectionId: collectionId, data };
}
