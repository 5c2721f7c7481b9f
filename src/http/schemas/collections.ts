/** Route schemas of the Data Collections and Indexes APIs (routes/collections.ts). */
import { SCOPES } from '../../auth/scopes.js';
import { body, CollectionId, EMPTY, params, PagingMetadata, querystring, route, scopes, type JsonSchema } from './common.js';

const tags = ['Collections'];
const read = scopes(SCOPES.dataRead, SCOPES.collections);
const manage = scopes(SCOPES.collections);

const Role = { enum: ['ANYONE', 'SITE_MEMBER', 'SITE_MEMBER_AUTHOR', 'ADMIN'] };
const Field = {
  type: 'object',
  required: ['key'],
  properties: { key: { type: 'string' }, displayName: { type: 'string' }, type: { type: 'string', examples: ['TEXT', 'NUMBER', 'DATE', 'BOOLEAN'] } },
  additionalProperties: true,
};
const Plugin = { type: 'object', required: ['type'], properties: { type: { type: 'string', examples: ['PUBLISH'] } }, additionalProperties: true };
const Permissions = { type: 'object', properties: { read: Role, insert: Role, update: Role, remove: Role } };

/** A collection as sent: `id` and optional display name, fields, permissions and plugins. */
const CollectionInput: JsonSchema = {
  type: 'object',
  required: ['id'],
  properties: {
    id: CollectionId,
    displayName: { type: 'string' },
    fields: { type: 'array', items: Field },
    permissions: Permissions,
    plugins: { type: 'array', items: Plugin },
    revision: { type: 'string', description: 'Replace: the current revision (409 WDE0079 when stale).' },
  },
  additionalProperties: true,
};

export const Collection: JsonSchema = {
  type: 'object',
  required: ['id', 'displayName', 'fields', 'permissions', 'plugins', 'revision'],
  properties: {
    id: { type: 'string' },
    collectionType: { const: 'NATIVE' },
    displayName: { type: 'string' },
    fields: { type: 'array', items: Field },
    permissions: Permissions,
    plugins: { type: 'array', items: Plugin },
    revision: { type: 'string' },
    capabilities: { type: 'object' },
    pagingModes: { type: 'array', items: { type: 'string' } },
    maxPageSize: { type: 'integer' },
    sandboxEnabled: { type: 'boolean' },
    createdDate: { type: 'string' },
    updatedDate: { type: 'string' },
  },
  additionalProperties: true,
};

const Index = {
  type: 'object',
  required: ['name', 'fields'],
  properties: {
    name: { type: 'string', maxLength: 128 },
    fields: { type: 'array', items: { type: 'object', required: ['path'], properties: { path: { type: 'string' }, order: { enum: ['ASC', 'DESC'] } } }, minItems: 1, maxItems: 3 },
    unique: { type: 'boolean' },
    caseInsensitive: { type: 'boolean' },
    status: { type: 'string' },
    dataCollectionId: { type: 'string' },
  },
};

const collectionReply = { type: 'object', required: ['collection'], properties: { collection: Collection } };
const dataCollectionReply = { type: 'object', required: ['dataCollection'], properties: { dataCollection: Collection } };
const idParam = params({ id: 'The collection id.' });

export const collectionSchemas = {
  create: route({ summary: 'Create a collection', tags, access: manage, body: body({ collection: CollectionInput }, { required: ['collection'] }), querystring: querystring(), reply: collectionReply }),
  get: route({ summary: 'Get a collection', tags, access: read, params: idParam, querystring: querystring(), reply: collectionReply }),
  list: route({
    summary: 'List collections',
    tags,
    access: read,
    description: 'By id unless `sort.fieldName` (id, displayName, createdDate, updatedDate) and `sort.order` (ASC, DESC) say otherwise; `paging.limit` default 50.',
    querystring: querystring({
      'paging.limit': { type: 'string', pattern: '^\\d+$' },
      'paging.offset': { type: 'string', pattern: '^\\d+$' },
      'sort.fieldName': { type: 'string' },
      'sort.order': { type: 'string', enum: ['ASC', 'DESC'] },
    }),
    reply: { type: 'object', required: ['collections', 'pagingMetadata'], properties: { collections: { type: 'array', items: Collection }, pagingMetadata: PagingMetadata } },
  }),
  replace: route({ summary: 'Replace a collection', tags, access: manage, body: body({ collection: CollectionInput }, { required: ['collection'] }), querystring: querystring(), reply: collectionReply }),
  replaceById: route({
    summary: 'Replace a collection, REST form',
    tags,
    access: manage,
    params: idParam,
    body: body({ collection: CollectionInput }, { required: ['collection'] }),
    querystring: querystring(),
    reply: collectionReply,
  }),
  patch: route({
    summary: 'Change some of a collection\'s properties (displayName, displayField, permissions, dataPermissions)',
    tags,
    access: manage,
    params: idParam,
    body: body({ dataCollection: { type: 'object', additionalProperties: true } }, { required: ['dataCollection'] }),
    querystring: querystring(),
    reply: dataCollectionReply,
  }),
  patchField: route({
    summary: 'Change some properties of a field (the rest of the field stays)',
    tags,
    access: manage,
    params: { type: 'object', properties: { dataCollectionId: { type: 'string' } }, required: ['dataCollectionId'] },
    body: body({ field: { type: 'object', additionalProperties: true } }, { required: ['field'] }),
    querystring: querystring(),
    reply: dataCollectionReply,
  }),
  remove: route({
    summary: 'Delete a collection, with its items and indexes',
    tags,
    access: manage,
    description: 'The collection can be restored for the retention (CAIRN_COLLECTION_RETENTION_HOURS, 30 days by default).',
    params: idParam,
    querystring: querystring(),
    reply: EMPTY,
  }),
  restore: route({
    summary: 'Restore a recently deleted collection, with its items, indexes and references',
    tags,
    access: manage,
    description: 'WDE0025 when the collection was deleted longer ago than the retention, or never existed. The reply is `{dataCollection}`, as the published client\'s RestoreDataCollectionResponse types it.',
    params: idParam,
    body: body({}),
    querystring: querystring(),
    reply: dataCollectionReply,
  }),
  purgeDeleted: route({
    summary: 'Purge a deleted collection now: its items, indexes and references go for good',
    tags: ['Cairn'],
    access: manage,
    description: 'With the other collections its deletion took (a drafts collection). WDE0025 when no deleted collection has the id.',
    params: idParam,
    querystring: querystring(),
    reply: EMPTY,
  }),
  listDeleted: route({
    summary: 'List the deleted collections that can still be restored',
    tags: ['Cairn'],
    access: manage,
    description: 'Most recently deleted first; `paging.limit` default 50.',
    querystring: querystring({ 'paging.limit': { type: 'string', pattern: '^\\d+$' }, 'paging.offset': { type: 'string', pattern: '^\\d+$' } }),
    reply: {
      type: 'object',
      required: ['deletedCollections', 'pagingMetadata'],
      properties: {
        deletedCollections: {
          type: 'array',
          items: { type: 'object', required: ['collection', 'deletedDate', 'restorableUntil'], properties: { collection: Collection, deletedDate: { type: 'string' }, restorableUntil: { type: 'string' } } },
        },
        pagingMetadata: PagingMetadata,
      },
    },
  }),
  createField: route({
    summary: 'Add a field',
    tags,
    access: manage,
    body: body({ dataCollectionId: CollectionId, field: Field }, { required: ['dataCollectionId', 'field'] }),
    querystring: querystring(),
    reply: dataCollectionReply,
  }),
  updateField: route({
    summary: 'Change a field',
    tags,
    access: manage,
    body: body({ dataCollectionId: CollectionId, field: Field }, { required: ['dataCollectionId', 'field'] }),
    querystring: querystring(),
    reply: dataCollectionReply,
  }),
  deleteField: route({
    summary: 'Delete a field',
    tags,
    access: manage,
    body: body({ dataCollectionId: CollectionId, fieldKey: { type: 'string' } }, { required: ['dataCollectionId', 'fieldKey'] }),
    querystring: querystring(),
    reply: dataCollectionReply,
  }),
  addPlugin: route({
    summary: 'Add a plugin',
    tags,
    access: manage,
    body: body({ dataCollectionId: CollectionId, plugin: Plugin }, { required: ['dataCollectionId', 'plugin'] }),
    querystring: querystring(),
    reply: dataCollectionReply,
  }),
  deletePlugin: route({
    summary: 'Delete a plugin',
    tags,
    access: manage,
    body: body({ dataCollectionId: CollectionId, pluginType: { type: 'string' } }, { required: ['dataCollectionId', 'pluginType'] }),
    querystring: querystring(),
    reply: dataCollectionReply,
  }),
  addDraftItemsPlugin: route({
    summary: 'Add the Draft Items plugin',
    tags,
    access: manage,
    description: 'Pairs the collection with a new drafts collection, `<id>__drafts` (docs/drafts.md). With the Publish plugin installed: FAIL_WHEN_PUBLISH_INSTALLED (default) or COPY_DRAFT_ITEMS_WITH_DRAFT_STATUS.',
    body: body(
      {
        dataCollectionId: CollectionId,
        draftItemsOptions: { type: 'object', additionalProperties: true },
        publishPluginConflictAction: { type: 'string', enum: ['FAIL_WHEN_PUBLISH_INSTALLED', 'COPY_DRAFT_ITEMS_WITH_DRAFT_STATUS'] },
      },
      { required: ['dataCollectionId'] },
    ),
    querystring: querystring(),
    reply: dataCollectionReply,
  }),
  deleteDraftItemsPlugin: route({
    summary: 'Delete the Draft Items plugin',
    tags,
    access: manage,
    description: 'Unpairs the collection and deletes its drafts collection; existing drafts: FAIL_IF_DRAFT_ITEMS_EXIST (default), DISCARD_EXISTING_DRAFT_ITEMS or PUBLISH_EXISTING_DRAFT_ITEMS (docs/drafts.md).',
    body: body(
      {
        dataCollectionId: CollectionId,
        draftItemsRemovalAction: { type: 'string', enum: ['FAIL_IF_DRAFT_ITEMS_EXIST', 'DISCARD_EXISTING_DRAFT_ITEMS', 'PUBLISH_EXISTING_DRAFT_ITEMS'] },
      },
      { required: ['dataCollectionId'] },
    ),
    querystring: querystring(),
    reply: dataCollectionReply,
  }),
  createIndex: route({
    summary: 'Create an index',
    tags: ['Indexes'],
    access: manage,
    description: 'Built in the request; returned ACTIVE.',
    body: body({ dataCollectionId: CollectionId, index: Index }, { required: ['dataCollectionId', 'index'] }),
    querystring: querystring(),
    reply: { type: 'object', required: ['index'], properties: { index: Index } },
  }),
  listIndexes: route({
    summary: 'List indexes (built-in ones included)',
    tags: ['Indexes'],
    access: read,
    querystring: querystring({ dataCollectionId: CollectionId, 'paging.limit': { type: 'string' }, 'paging.offset': { type: 'string' } }),
    reply: { type: 'object', required: ['indexes', 'pagingMetadata'], properties: { indexes: { type: 'array', items: Index }, pagingMetadata: PagingMetadata } },
  }),
  availableIndexes: route({
    summary: 'How many more indexes a collection may have',
    tags: ['Indexes'],
    access: read,
    description: 'What is left of the quotas: `regular3Field` (regular indexes of up to 3 fields), `unique1Field`, and `total`; `regular1Field` is 0 (Cairn has no separate 1-field quota).',
    querystring: querystring({ dataCollectionId: CollectionId }),
    reply: {
      type: 'object',
      required: ['regular1Field', 'regular3Field', 'unique1Field', 'total'],
      properties: { regular1Field: { type: 'integer' }, regular3Field: { type: 'integer' }, unique1Field: { type: 'integer' }, total: { type: 'integer' } },
    },
  }),
  dropIndex: route({
    summary: 'Drop an index',
    tags: ['Indexes'],
    access: manage,
    querystring: querystring({ dataCollectionId: CollectionId, indexName: { type: 'string' } }),
    reply: EMPTY,
  }),
  sandbox: route({
    summary: "Turn a collection's sandbox environment on or off",
    tags: ['Cairn'],
    access: manage,
    description: 'On copies the live items into the sandbox (replacing its items); off drops the sandbox items.',
    params: idParam,
    body: body({ enabled: { type: 'boolean' } }, { required: ['enabled'] }),
    querystring: querystring(),
    reply: collectionReply,
  }),
  syncSandbox: route({
    summary: "Copy a collection's sandbox items into its live environment",
    tags: ['Cairn'],
    access: manage,
    description:
      'Sandbox items overwrite the live items of the same id; new ones are inserted; `replace: true` also removes live items the sandbox does not have. One transaction, with item events for the live changes. WDE0119 without a sandbox, WDE0123 when a unique index would break.',
    params: idParam,
    body: body({ replace: { type: 'boolean' } }),
    querystring: querystring(),
    reply: {
      type: 'object',
      required: ['inserted', 'updated', 'removed'],
      properties: { inserted: { type: 'integer' }, updated: { type: 'integer' }, removed: { type: 'integer' } },
    },
  }),
};

/** Route schemas of the plugins with calls of their own (`add-<slug>-plugin`, `delete-<slug>-plugin`). */
export function namedPluginSchemas(slug: string, type: string, options: string): { add: JsonSchema; remove: JsonSchema } {
  const conflict: Record<string, JsonSchema> =
    type === 'PUBLISH'
      ? { draftItemsPluginConflictAction: { type: 'string', enum: ['FAIL_WHEN_DRAFT_ITEMS_INSTALLED', 'DISCARD_DRAFT_ITEMS', 'PUBLISH_DRAFT_ITEMS', 'COPY_DRAFT_ITEMS_WITH_DRAFT_STATUS'] } }
      : {};
  return {
    add: route({
      summary: `Add the ${type} plugin`,
      tags,
      access: manage,
      description: `As add-plugin with \`{type: "${type}", ${options}}\`.${type === 'PUBLISH' ? ' On a collection with the Draft Items plugin, draftItemsPluginConflictAction says what becomes of its drafts (docs/drafts.md).' : ''}`,
      body: body({ dataCollectionId: CollectionId, [options]: { type: 'object', additionalProperties: true }, ...conflict }, { required: ['dataCollectionId'] }),
      querystring: querystring(),
      reply: dataCollectionReply,
    }),
    remove: route({
      summary: `Delete the ${type} plugin`,
      tags,
      access: manage,
      description: `As delete-plugin with \`pluginType: "${type}"\` (\`${slug}\`).`,
      body: body({ dataCollectionId: CollectionId }, { required: ['dataCollectionId'] }),
      querystring: querystring(),
      reply: dataCollectionReply,
    }),
  };
}
