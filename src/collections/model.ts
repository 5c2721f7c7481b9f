/**
 * Data collections as the Wix Data Collections API describes them, and the checks on what a
 * caller may send. The schema describes items but is not enforced on item writes (as in Wix).
 */
import { WixError } from '../errors.js';
import { accessLevelsOf, type SpecialPermissions } from './data-permissions.js';
import { parseFieldPath } from '../query/parse.js';
import { asArray, asObject, oneOf, optionalString, requireString } from '../validate.js';
import { isPlainObject, type JsonObject, type JsonValue } from '../wire/json.js';

export const FIELD_TYPES = [
  'TEXT', 'NUMBER', 'DATE', 'DATETIME', 'IMAGE', 'BOOLEAN', 'DOCUMENT', 'URL', 'RICH_TEXT', 'VIDEO',
  'ANY', 'ARRAY_STRING', 'ARRAY_DOCUMENT', 'AUDIO', 'TIME', 'LANGUAGE', 'RICH_CONTENT', 'MEDIA_GALLERY',
  'ADDRESS', 'PAGE_LINK', 'REFERENCE', 'MULTI_REFERENCE', 'OBJECT', 'ARRAY', 'SLUG', 'EMAIL',
  'MEDIA_IMAGE', 'MEDIA_VECTOR_ART', 'LEGACY_TIME', 'LEGACY_BOOK', 'LEGACY_EXTERNAL_URL',
  'LEGACY_BROKEN_REFERENCE', 'LEGACY_IMAGE', 'LEGACY_COLOR', 'LEGACY_EXTERNAL_VIDEO',
] as const;

export const ROLES = ['ANYONE', 'SITE_MEMBER', 'SITE_MEMBER_AUTHOR', 'ADMIN'] as const;
export type Role = (typeof ROLES)[number];

export interface Permissions {
  read: Role;
  insert: Role;
  update: Role;
  remove: Role;
}

/** Cairn's default when a collection is created without permissions: anyone reads, admins write. */
export const DEFAULT_PERMISSIONS: Permissions = { read: 'ANYONE', insert: 'ADMIN', update: 'ADMIN', remove: 'ADMIN' };

export const PLUGIN_TYPES = [
  'PUBLISH', 'SINGLE_ITEM', 'URLIZED', 'GRIDAPPLESS', 'MULTILINGUAL', 'SHARED', 'EDITABLE_PAGE_LINK', 'CMS', 'CATALOG',
] as const;

/**
 * The plugins with calls of their own (`add-<slug>-plugin {dataCollectionId, <options>}` and
 * `delete-<slug>-plugin {dataCollectionId}`), and the request field of each one's options.
 */
export const NAMED_PLUGIN_CALLS = [
  { slug: 'publish', type: 'PUBLISH', options: 'publishOptions' },
  { slug: 'urlized', type: 'URLIZED', options: 'urlizedOptions' },
  { slug: 'multilingual', type: 'MULTILINGUAL', options: 'multilingualOptions' },
  { slug: 'cms', type: 'CMS', options: 'cmsOptions' },
  { slug: 'catalog', type: 'CATALOG', options: 'catalogOptions' },
] as const;

export interface Collection {
  id: string;
  displayName: string;
  fields: JsonObject[];
  permissions: Permissions;
  plugins: JsonObject[];
  /** Extra properties the caller set that Cairn keeps as given (displayField, defaultDisplayOrder...). */
  extras: JsonObject;
  /** Special permissions sets (data-permissions.ts): not part of the collection's wire form. */
  specialPermissions?: SpecialPermissions[];
  revision: number;
  sandboxEnabled: boolean;
  createdDate: string;
  updatedDate: string;
}

/** Collection ids: like Wix (`Name`, `App/Name`), at most 256 characters of a safe alphabet. */
const COLLECTION_ID = /^[\p{L}\p{N}_\-/.@]{1,256}$/u;

export function validCollectionId(v: unknown, what = 'dataCollectionId'): string {
  const id = requireString(v, what, 'WDE0001', 256);
  if (!COLLECTION_ID.test(id)) {
    throw new WixError('WDE0001', `${what} may hold letters, digits and _ - / . @ only (at most 256 characters), got ${JSON.stringify(id.slice(0, 80))}`);
  }
  return id;
}

const SYSTEM_FIELD_DEFS: JsonObject[] = [
  { key: '_id', displayName: 'ID', type: 'TEXT', systemField: true },
  { key: '_createdDate', displayName: 'Created Date', type: 'DATETIME', systemField: true },
  { key: '_updatedDate', displayName: 'Updated Date', type: 'DATETIME', systemField: true },
  { key: '_owner', displayName: 'Owner', type: 'TEXT', systemField: true },
];

export function validateField(raw: unknown): JsonObject {
  const f = asObject(raw, 'field', 'WDE0075');
  const key = requireString(f.key, 'field.key', 'WDE0075', 128);
  parseFieldPath(key, 'field key');
  if (key.includes('.')) throw new WixError('WDE0075', `field.key cannot contain "." (got ${key})`);
  oneOf(f.type, FIELD_TYPES, 'field.type');
  if (f.displayName !== undefined) optionalString(f.displayName, 'field.displayName');
  const { systemField: _ignored, ...rest } = f;
  return rest;
}

export function validateFields(raw: unknown): JsonObject[] {
  if (raw === undefined || raw === null) return [];
  const fields = asArray(raw, 'fields', 'WDE0075').map(validateField);
  if (fields.length > 1000) throw new WixError('WDE0075', 'A collection holds at most 1000 fields');
  const seen = new Set<string>();
  for (const f of fields) {
    const key = f.key as string;
    if (seen.has(key)) throw new WixError('WDE0075', `Duplicate field key ${key}`);
    seen.add(key);
  }
  // System fields are always there; callers may list them but cannot redefine them.
  return fields.filter((f) => !SYSTEM_FIELD_DEFS.some((s) => s.key === f.key));
}

export function validatePermissions(raw: unknown): Permissions {
  if (raw === undefined || raw === null) return { ...DEFAULT_PERMISSIONS };
  const p = asObject(raw, 'permissions', 'WDE0075');
  return {
    read: oneOf(p.read, ROLES, 'permissions.read', DEFAULT_PERMISSIONS.read),
    insert: oneOf(p.insert, ROLES, 'permissions.insert', DEFAULT_PERMISSIONS.insert),
    update: oneOf(p.update, ROLES, 'permissions.update', DEFAULT_PERMISSIONS.update),
    remove: oneOf(p.remove, ROLES, 'permissions.remove', DEFAULT_PERMISSIONS.remove),
  };
}

export function validatePlugin(raw: unknown): JsonObject {
  const p = asObject(raw, 'plugin', 'WDE0075');
  const type = oneOf(p.type, PLUGIN_TYPES, 'plugin.type');
  if (type === 'PUBLISH') {
    const opts = p.publishOptions === undefined ? {} : asObject(p.publishOptions, 'plugin.publishOptions', 'WDE0075');
    const defaultStatus = oneOf(opts.defaultStatus, ['PUBLISHED', 'DRAFT'] as const, 'publishOptions.defaultStatus', 'PUBLISHED');
    return { ...p, type, publishOptions: { ...opts, defaultStatus } };
  }
  return { ...p, type };
}

export function validatePlugins(raw: unknown): JsonObject[] {
  if (raw === undefined || raw === null) return [];
  const plugins = asArray(raw, 'plugins', 'WDE0075').map(validatePlugin);
  const types = new Set(plugins.map((p) => p.type));
  if (types.size !== plugins.length) throw new WixError('WDE0075', 'A plugin type may appear once per collection');
  return plugins;
}

/** Read-only or server-owned properties a caller's collection object may carry and we ignore. */
const SERVER_OWNED = new Set([
  'id', '_id', 'fields', 'permissions', 'plugins', 'revision', 'createdDate', 'updatedDate', '_createdDate',
  '_updatedDate', 'collectionType', 'ownerAppId', 'maxPageSize', 'capabilities', 'pagingModes', 'displayName',
  'sandboxEnabled',
]);

export function extrasOf(c: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(c)) if (!SERVER_OWNED.has(k)) out[k] = v as JsonValue;
  return out;
}

/**
 * The Draft Items plugin pairs a collection with a drafts collection, `<id>__drafts`
 * (docs/drafts.md). Both carry it: the published one as `{draftsCollectionId}`, the drafts one as
 * `{publishedCollectionId}`. Only add-draft-items-plugin and delete-draft-items-plugin set it.
 */
export const DRAFT_ITEMS = 'DRAFT_ITEMS';

export const draftsIdFor = (publishedId: string): string => `${publishedId}__drafts`;

function draftItemsOption(c: Collection, key: 'draftsCollectionId' | 'publishedCollectionId'): string | undefined {
  const plugin = c.plugins.find((p) => p.type === DRAFT_ITEMS);
  const options = plugin && isPlainObject(plugin.draftItemsOptions) ? plugin.draftItemsOptions : undefined;
  return typeof options?.[key] === 'string' ? options[key] : undefined;
}

/** The drafts collection of a published collection with the Draft Items plugin. */
export const draftsCollectionOf = (c: Collection): string | undefined => draftItemsOption(c, 'draftsCollectionId');

/** The published collection of a drafts collection. */
export const publishedCollectionOf = (c: Collection): string | undefined => draftItemsOption(c, 'publishedCollectionId');

/**
 * Plugins a caller sends back in a full replace: the Draft Items plugin is the server's, so the
 * collection keeps the one it has whatever the caller sends.
 */
export function replacedPlugins(current: Collection, raw: unknown): JsonObject[] {
  const sent = Array.isArray(raw) ? raw.filter((p) => !(isPlainObject(p) && p.type === DRAFT_ITEMS)) : raw;
  return [...validatePlugins(sent), ...current.plugins.filter((p) => p.type === DRAFT_ITEMS)];
}

export function publishPlugin(c: Collection): JsonObject | undefined {
  return c.plugins.find((p) => p.type === 'PUBLISH');
}

export function defaultPublishStatus(c: Collection): 'PUBLISHED' | 'DRAFT' {
  const p = publishPlugin(c);
  const opts = p && isPlainObject(p.publishOptions) ? p.publishOptions : undefined;
  return opts?.defaultStatus === 'DRAFT' ? 'DRAFT' : 'PUBLISHED';
}

const DATA_OPERATIONS = [
  'AGGREGATE', 'BULK_INSERT', 'BULK_REMOVE', 'BULK_SAVE', 'BULK_UPDATE', 'COUNT', 'DISTINCT', 'FIND', 'GET',
  'INSERT', 'INSERT_REFERENCE', 'IS_REFERENCED', 'QUERY_REFERENCED', 'REMOVE', 'REMOVE_REFERENCE',
  'REPLACE_REFERENCES', 'SAVE', 'TRUNCATE', 'UPDATE', 'PATCH', 'BULK_PATCH',
];

/** The collection as the wire shows it (the SDK renames id/createdDate/updatedDate on its side). */
export function toWire(c: Collection): JsonObject {
  return {
    ...c.extras,
    // Kept access levels show as they apply now (roles changed since make them follow).
    ...(c.extras.dataPermissions !== undefined ? { dataPermissions: accessLevelsOf(c) } : {}),
    id: c.id,
    collectionType: 'NATIVE',
    displayName: c.displayName,
    fields: [...SYSTEM_FIELD_DEFS, ...c.fields],
    permissions: { ...c.permissions },
    plugins: c.plugins,
    revision: String(c.revision),
    capabilities: { dataOperations: DATA_OPERATIONS, collectionOperations: ['UPDATE', 'REMOVE'], indexLimits: { regular: 3, unique: 1, total: 4 } },
    pagingModes: ['OFFSET', 'CURSOR'],
    maxPageSize: 1000,
    sandboxEnabled: c.sandboxEnabled,
    createdDate: c.createdDate,
    updatedDate: c.updatedDate,
  };
}
