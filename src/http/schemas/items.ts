/** Route schemas of the Data Items API (routes/items.ts); see common.ts for how they validate. */
import {
  body,
  CollectionId,
  Condition,
  DataItem,
  Environment,
  Filter,
  IncomingDataItem,
  Paging,
  PagingMetadata,
  params,
  PublishPluginOptions,
  querystring,
  route,
  type JsonSchema,
} from './common.js';

/** Reads by id on PostgreSQL may come from a cache that lags other processes' writes (read-cache.ts). */
const ConsistentRead = { type: 'boolean', description: 'Read from the store: see every committed write, including those made through other API processes.' };

const tags = ['Items'];
const access = 'collection-permissions' as const;

const common = {
  dataCollectionId: CollectionId,
  environment: Environment,
  publishPluginOptions: PublishPluginOptions,
};
const hooks = { suppressHooks: { type: 'boolean', description: 'Skip data hooks for this call (docs/hooks.md).' } };

const itemReply = { type: 'object', required: ['dataItem'], properties: { dataItem: DataItem } };
const CursorPaging = { type: 'object', properties: { limit: { type: 'integer' }, cursor: { type: 'string' } } };
/** Aggregation results: objects of any shape. */
const resultsReply = { type: 'object', required: ['results', 'pagingMetadata'], properties: { results: { type: 'array', items: { type: 'object', additionalProperties: true } }, pagingMetadata: PagingMetadata } };
const idParam = params({ dataItemId: 'The item id.' });

const FieldModification = {
  type: 'object',
  required: ['action'],
  properties: {
    action: { enum: ['SET_FIELD', 'REMOVE_FIELD', 'INCREMENT_FIELD', 'APPEND_TO_ARRAY', 'REMOVE_FROM_ARRAY'] },
    fieldPath: { type: 'string', description: 'A dot path; missing parent objects are created.' },
    setFieldOptions: { type: 'object', properties: { value: {} } },
    incrementFieldOptions: { type: 'object', properties: { value: { type: 'number' } } },
    appendToArrayOptions: { type: 'object', properties: { value: {} } },
    removeFromArrayOptions: { type: 'object', properties: { value: {} } },
  },
};
const Patch = {
  type: 'object',
  properties: { dataItemId: { type: 'string' }, fieldModifications: { type: 'array', items: FieldModification } },
};

/**
 * The reply of a bulk call: one result per request entry (`action`, its metadata under
 * `metadataKey`, the entity under `entityKey` when asked for), and the totals.
 */
function bulkReplyOf(o: { actions: string[]; metadataKey: string; metadata: Record<string, JsonSchema>; entityKey: string; entity: JsonSchema; totals: string[] }): JsonSchema {
  return {
    type: 'object',
    required: ['results', 'bulkActionMetadata'],
    properties: {
      results: {
        type: 'array',
        items: {
          type: 'object',
          required: ['action', o.metadataKey],
          properties: {
            action: { enum: o.actions },
            [o.metadataKey]: {
              type: 'object',
              required: ['originalIndex', 'success'],
              properties: {
                ...o.metadata,
                originalIndex: { type: 'integer' },
                success: { type: 'boolean' },
                error: { type: 'object', properties: { code: { type: 'string' }, description: { type: 'string' }, data: { type: 'object', additionalProperties: true } } },
              },
            },
            [o.entityKey]: o.entity,
          },
        },
      },
      bulkActionMetadata: { type: 'object', required: o.totals, properties: Object.fromEntries(o.totals.map((t) => [t, { type: 'integer' }])) },
    },
  };
}

const bulkReply = bulkReplyOf({
  actions: ['INSERT', 'UPDATE', 'DELETE', 'PATCH'],
  metadataKey: 'itemMetadata',
  metadata: { id: { type: 'string' } },
  entityKey: 'dataItem',
  entity: DataItem,
  totals: ['totalSuccesses', 'totalFailures'],
});

const Query = {
  type: 'object',
  properties: {
    filter: Filter,
    sort: { type: 'array', items: { type: 'object', properties: { fieldName: { type: 'string' }, order: { enum: ['ASC', 'DESC'] } } } },
    fields: { type: 'array', items: { type: 'string' }, description: 'Project: only these fields.' },
    paging: Paging,
    cursorPaging: CursorPaging,
  },
};
const queryReply = {
  type: 'object',
  required: ['dataItems', 'pagingMetadata'],
  properties: { dataItems: { type: 'array', items: DataItem }, pagingMetadata: PagingMetadata },
};

const bulkLimit = 'Up to 1000.';

/** References (docs/references.md): ids are checked by the handler, which answers WDE0019 for a bad one. */
const IncludeReferences = {
  type: 'array',
  description: 'Reference fields whose referenced items replace the ids (REFERENCE) or fill the field (MULTI_REFERENCE, up to `limit` per item, default 50, at most 1000).',
  items: { type: 'object', properties: { field: { type: 'string' }, limit: { type: 'integer' } } },
};
const DataItemReference = {
  type: 'object',
  properties: {
    referringItemFieldName: { type: 'string', description: 'A MULTI_REFERENCE field of the collection.' },
    referringItemId: { description: 'The referring item, in the collection.' },
    referencedItemId: { description: "The referenced item, in the field's referenced collection." },
  },
};
const DataItemReferenceReply = {
  type: 'object',
  required: ['referringItemFieldName', 'referringItemId', 'referencedItemId'],
  properties: { referringItemFieldName: { type: 'string' }, referringItemId: { type: 'string' }, referencedItemId: { type: 'string' } },
};
const referenceReply = { type: 'object', required: ['dataItemReference'], properties: { dataItemReference: DataItemReferenceReply } };
const referenceBulkReply = bulkReplyOf({
  actions: ['INSERT', 'DELETE'],
  metadataKey: 'referenceMetadata',
  metadata: {},
  entityKey: 'dataItemReference',
  entity: DataItemReferenceReply,
  totals: ['totalSuccesses', 'totalFailures', 'undetailedFailures'],
});
const referencesList = { type: 'array', items: DataItemReference, maxItems: 1000 };
const referenceCommon = { dataCollectionId: CollectionId, environment: Environment };
const queryParams = { ...common, ...hooks, query: Query, returnTotalCount: { type: 'boolean' }, includeReferences: IncludeReferences };

export const itemSchemas = {
  insert: route({
    summary: 'Insert an item',
    tags,
    access,
    body: body({ ...common, ...hooks, dataItem: IncomingDataItem }, { required: ['dataCollectionId', 'dataItem'] }),
    querystring: querystring(),
    reply: itemReply,
  }),
  update: route({
    summary: 'Update (replace) an item',
    tags,
    access,
    body: body({ ...common, ...hooks, dataItem: IncomingDataItem, condition: Condition }, { required: ['dataCollectionId', 'dataItem'] }),
    querystring: querystring(),
    reply: itemReply,
  }),
  updateById: route({
    summary: 'Update (replace) an item, REST form',
    tags,
    access,
    params: idParam,
    body: body({ ...common, ...hooks, dataItem: IncomingDataItem, condition: Condition }, { required: ['dataCollectionId', 'dataItem'] }),
    querystring: querystring(),
    reply: itemReply,
  }),
  save: route({
    summary: 'Save an item (insert or replace)',
    tags,
    access,
    body: body({ ...common, ...hooks, dataItem: IncomingDataItem }, { required: ['dataCollectionId', 'dataItem'] }),
    querystring: querystring(),
    reply: { type: 'object', required: ['action', 'dataItem'], properties: { action: { enum: ['INSERTED', 'UPDATED'] }, dataItem: DataItem } },
  }),
  get: route({
    summary: 'Get an item',
    tags,
    access,
    body: body({ ...common, ...hooks, dataItemId: { type: 'string' }, fields: { type: 'array', items: { type: 'string' } }, consistentRead: ConsistentRead, includeReferences: IncludeReferences }, { required: ['dataCollectionId', 'dataItemId'] }),
    querystring: querystring(),
    reply: itemReply,
  }),
  getById: route({
    summary: 'Get an item, REST form',
    tags,
    access,
    params: idParam,
    querystring: querystring({ dataCollectionId: CollectionId, environment: Environment, fields: { type: 'string', description: 'A field to return (repeat for several).' }, consistentRead: ConsistentRead }),
    reply: itemReply,
  }),
  remove: route({
    summary: 'Remove an item',
    tags,
    access,
    body: body({ ...common, ...hooks, dataItemId: { type: 'string' }, condition: Condition }, { required: ['dataCollectionId', 'dataItemId'] }),
    querystring: querystring(),
    reply: itemReply,
  }),
  removeById: route({
    summary: 'Remove an item, REST form',
    tags,
    access,
    params: idParam,
    querystring: querystring({ dataCollectionId: CollectionId, environment: Environment }),
    reply: itemReply,
  }),
  patch: route({
    summary: 'Patch an item (field modifications)',
    tags,
    access,
    body: body({ ...common, ...hooks, patch: Patch, condition: Condition }, { required: ['dataCollectionId', 'patch'] }),
    querystring: querystring(),
    reply: itemReply,
  }),
  patchById: route({
    summary: 'Patch an item, REST form',
    tags,
    access,
    params: idParam,
    body: body({ ...common, ...hooks, patch: Patch, condition: Condition }, { required: ['dataCollectionId', 'patch'] }),
    querystring: querystring(),
    reply: itemReply,
  }),
  truncate: route({
    summary: 'Remove every item of the collection in the environment',
    tags,
    access,
    description: 'Needs admin authority over the collection.',
    body: body({ dataCollectionId: CollectionId, environment: Environment }, { required: ['dataCollectionId'] }),
    querystring: querystring(),
    reply: { type: 'object' },
  }),
  query: route({
    summary: 'Query items',
    tags,
    access,
    body: body(queryParams, { required: ['dataCollectionId'] }),
    querystring: querystring(),
    reply: queryReply,
  }),
  queryGet: route({
    summary: 'Query items, GET form',
    tags,
    access,
    description: 'Parameters in the query string (`dataCollectionId`, `query.paging.limit`, …) or all of them in `.r`.',
    querystring: querystring({ dataCollectionId: CollectionId }),
    reply: queryReply,
  }),
  count: route({
    summary: 'Count items',
    tags,
    access,
    body: body({ ...common, ...hooks, filter: Filter }, { required: ['dataCollectionId'] }),
    querystring: querystring(),
    reply: { type: 'object', required: ['totalCount'], properties: { totalCount: { type: 'integer' } } },
  }),
  distinct: route({
    summary: 'Distinct values of a field',
    tags,
    access,
    description:
      'Each value the matching items hold at `fieldName`, once (missing and null values left out), ordered as a query sorts that field (`order`, default ASC). Paging at the root: `paging` (offset) or `cursorPaging`; a cursor carries the field, filter and order.',
    body: body(
      {
        ...common,
        ...hooks,
        fieldName: { type: 'string', description: 'The field, in dot notation.' },
        filter: Filter,
        order: { enum: ['ASC', 'DESC'] },
        paging: Paging,
        cursorPaging: CursorPaging,
        returnTotalCount: { type: 'boolean' },
      },
      { required: ['dataCollectionId'] },
    ),
    querystring: querystring(),
    reply: { type: 'object', required: ['distinctValues', 'pagingMetadata'], properties: { distinctValues: { type: 'array', items: {} }, pagingMetadata: PagingMetadata } },
  }),
  search: route({
    summary: 'Search items',
    tags,
    access,
    description:
      'A query with text: `search.search.expression` (up to 100 characters) is split into terms at white space, and an item matches when some string anywhere in it but its system fields contains any term (`mode` OR, the default) or every term (AND), ignoring case; `search.filter`, `sort`, `fields` and paging as for a query (default page 100). No relevance ranking; `fuzzy` is accepted and changes nothing (docs/query-language.md).',
    body: body(
      {
        ...common,
        search: {
          type: 'object',
          properties: {
            filter: Filter,
            sort: { type: 'array', items: { type: 'object', properties: { fieldName: { type: 'string' }, order: { enum: ['ASC', 'DESC'] } } } },
            fields: { type: 'array', items: { type: 'string' } },
            search: { type: 'object', properties: { expression: { type: 'string' }, mode: { enum: ['OR', 'AND'] }, fuzzy: { type: 'boolean' } } },
            paging: Paging,
            cursorPaging: CursorPaging,
          },
        },
        includeReferences: IncludeReferences,
        consistentRead: ConsistentRead,
      },
      { required: ['dataCollectionId'] },
    ),
    querystring: querystring(),
    reply: queryReply,
  }),
  aggregate: route({
    summary: 'Aggregate items',
    tags,
    access,
    description:
      'The items matching `initialFilter` in groups of equal `aggregation.groupingFields` values; one result per group with the grouping fields (also under `_id`) and each operation (`sum`, `average`, `min`, `max` of an `itemFieldName`, or `itemCount`) under its `resultFieldName`; then `finalFilter`, `sort` and paging over the results (docs/query-language.md).',
    body: body(
      {
        ...common,
        initialFilter: Filter,
        aggregation: {
          type: 'object',
          properties: {
            groupingFields: { type: 'array', items: { type: 'string' } },
            operations: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  resultFieldName: { type: 'string' },
                  sum: { type: 'object', properties: { itemFieldName: { type: 'string' } } },
                  average: { type: 'object', properties: { itemFieldName: { type: 'string' } } },
                  min: { type: 'object', properties: { itemFieldName: { type: 'string' } } },
                  max: { type: 'object', properties: { itemFieldName: { type: 'string' } } },
                  itemCount: { type: 'object' },
                },
              },
            },
          },
        },
        finalFilter: Filter,
        sort: { type: 'array', items: { type: 'object', properties: { fieldName: { type: 'string' }, order: { enum: ['ASC', 'DESC'] } } } },
        paging: Paging,
        cursorPaging: CursorPaging,
        returnTotalCount: { type: 'boolean' },
      },
      { required: ['dataCollectionId'] },
    ),
    querystring: querystring(),
    reply: resultsReply,
  }),
  createDraft: route({
    summary: 'Create a draft of an item',
    tags,
    access,
    description: 'Copies a published item into the drafts collection of a collection with the Draft Items plugin (docs/drafts.md); WDE0074 when it has a draft already.',
    body: body({ ...common, dataItemId: { type: 'string' } }, { required: ['dataCollectionId', 'dataItemId'] }),
    querystring: querystring(),
    reply: itemReply,
  }),
  publishDraft: route({
    summary: 'Publish a draft',
    tags,
    access,
    description: 'The draft replaces the published item of its id, or becomes it, and leaves the drafts collection, in one transaction (docs/drafts.md).',
    body: body({ ...common, dataItemId: { type: 'string' } }, { required: ['dataCollectionId', 'dataItemId'] }),
    querystring: querystring(),
    reply: itemReply,
  }),
  unpublish: route({
    summary: 'Unpublish an item',
    tags,
    access,
    description: 'Removes an item from the published collection; with `copyToDraft` (default true) it becomes a draft, unless it has one already, which is kept and answered (docs/drafts.md).',
    body: body({ ...common, dataItemId: { type: 'string' }, copyToDraft: { type: 'boolean' } }, { required: ['dataCollectionId', 'dataItemId'] }),
    querystring: querystring(),
    reply: { type: 'object', properties: { dataItem: DataItem } },
  }),
  aggregatePipeline: route({
    summary: 'Run an aggregation pipeline',
    tags,
    access,
    description:
      'The collection\'s items through `pipeline.stages` in turn (`filter`, `sort`, `projection`, `group`, `unwindArray`, `objectToArray`, `skip`, `limit`, with expressions), then `pipeline.paging` or `pipeline.cursorPaging` over the results (docs/aggregation-pipeline.md).',
    body: body(
      {
        ...common,
        pipeline: {
          type: 'object',
          properties: {
            stages: { type: 'array', items: { type: 'object', additionalProperties: true } },
            paging: Paging,
            cursorPaging: CursorPaging,
          },
        },
        returnTotalCount: { type: 'boolean' },
      },
      { required: ['dataCollectionId'] },
    ),
    querystring: querystring(),
    reply: resultsReply,
  }),
  bulkInsert: route({
    summary: 'Insert items',
    tags,
    access,
    description: bulkLimit,
    body: body({ ...common, ...hooks, dataItems: { type: 'array', items: IncomingDataItem, maxItems: 1000 }, returnEntity: { type: 'boolean' } }, { required: ['dataCollectionId', 'dataItems'] }),
    querystring: querystring(),
    reply: bulkReply,
  }),
  bulkUpdate: route({
    summary: 'Update items',
    tags,
    access,
    description: bulkLimit,
    body: body(
      { ...common, ...hooks, dataItems: { type: 'array', items: IncomingDataItem, maxItems: 1000 }, condition: Condition, returnEntity: { type: 'boolean' } },
      { required: ['dataCollectionId', 'dataItems'] },
    ),
    querystring: querystring(),
    reply: bulkReply,
  }),
  bulkSave: route({
    summary: 'Save items',
    tags,
    access,
    description: bulkLimit,
    body: body({ ...common, ...hooks, dataItems: { type: 'array', items: IncomingDataItem, maxItems: 1000 }, returnEntity: { type: 'boolean' } }, { required: ['dataCollectionId', 'dataItems'] }),
    querystring: querystring(),
    reply: bulkReply,
  }),
  bulkRemove: route({
    summary: 'Remove items',
    tags,
    access,
    description: bulkLimit,
    body: body(
      { ...common, ...hooks, dataItemIds: { type: 'array', items: { type: 'string' }, maxItems: 1000 }, condition: Condition, returnEntity: { type: 'boolean' } },
      { required: ['dataCollectionId', 'dataItemIds'] },
    ),
    querystring: querystring(),
    reply: bulkReply,
  }),
  bulkPatch: route({
    summary: 'Patch items',
    tags,
    access,
    description: bulkLimit,
    body: body({ ...common, ...hooks, patches: { type: 'array', items: Patch, maxItems: 1000 }, condition: Condition, returnEntity: { type: 'boolean' } }, { required: ['dataCollectionId', 'patches'] }),
    querystring: querystring(),
    reply: bulkReply,
  }),
  insertReference: route({
    summary: 'Insert a reference',
    tags,
    access,
    description: "Adds a reference to a MULTI_REFERENCE field of an item (needs the collection's update permission). Inserting one that exists succeeds and keeps its place.",
    body: body({ ...referenceCommon, dataItemReference: DataItemReference }, { required: ['dataCollectionId', 'dataItemReference'] }),
    querystring: querystring(),
    reply: referenceReply,
  }),
  removeReference: route({
    summary: 'Remove a reference',
    tags,
    access,
    description: 'Removing a reference that is not there succeeds.',
    body: body({ ...referenceCommon, dataItemReference: DataItemReference }, { required: ['dataCollectionId', 'dataItemReference'] }),
    querystring: querystring(),
    reply: referenceReply,
  }),
  bulkInsertReferences: route({
    summary: 'Insert references',
    tags,
    access,
    description: 'Up to 1000; one result per reference, in request order.',
    body: body({ ...referenceCommon, dataItemReferences: referencesList, returnEntity: { type: 'boolean' } }, { required: ['dataCollectionId', 'dataItemReferences'] }),
    querystring: querystring(),
    reply: referenceBulkReply,
  }),
  bulkRemoveReferences: route({
    summary: 'Remove references',
    tags,
    access,
    description: 'Up to 1000; one result per reference, in request order.',
    body: body({ ...referenceCommon, dataItemReferences: referencesList, returnEntity: { type: 'boolean' } }, { required: ['dataCollectionId', 'dataItemReferences'] }),
    querystring: querystring(),
    reply: referenceBulkReply,
  }),
  replaceReferences: route({
    summary: "Replace an item's references in a field",
    tags,
    access,
    description: 'The field then holds exactly `newReferencedItemIds`, in that order (none: cleared). All or nothing.',
    body: body(
      { ...referenceCommon, referringItemFieldName: { type: 'string' }, referringItemId: {}, newReferencedItemIds: { type: 'array', maxItems: 1000 } },
      { required: ['dataCollectionId', 'referringItemFieldName', 'referringItemId'] },
    ),
    querystring: querystring(),
    reply: { type: 'object', required: ['dataItemReferences'], properties: { dataItemReferences: { type: 'array', items: DataItemReferenceReply } } },
  }),
  isReferenced: route({
    summary: 'Whether an item references another',
    tags,
    access,
    description: 'For REFERENCE and MULTI_REFERENCE fields.',
    body: body(
      { ...referenceCommon, referringItemFieldName: { type: 'string' }, referringItemId: {}, referencedItemId: {}, consistentRead: ConsistentRead },
      { required: ['dataCollectionId', 'referringItemFieldName', 'referringItemId', 'referencedItemId'] },
    ),
    querystring: querystring(),
    reply: { type: 'object', required: ['isReferenced'], properties: { isReferenced: { type: 'boolean' } } },
  }),
  queryReferenced: route({
    summary: 'The items referenced in a field',
    tags,
    access,
    description:
      'The items `referringItemIds` reference in `referringItemFieldName`: in the order the references were made (`order`, default ASC) for MULTI_REFERENCE fields, in the order of `referringItemIds` for REFERENCE fields. A reference to an item that is missing, a hidden draft or not readable by the caller comes back as `unresolvedReference`. Paging: `paging` or `cursorPaging`; a cursor carries the rest.',
    body: body(
      {
        ...referenceCommon,
        publishPluginOptions: PublishPluginOptions,
        referringItemIds: { type: 'array', maxItems: 1000 },
        referringItemId: { description: 'Deprecated: one referring item.' },
        referringItemFieldName: { type: 'string' },
        order: { enum: ['ASC', 'DESC'] },
        fields: { type: 'array', items: { type: 'string' } },
        paging: Paging,
        cursorPaging: CursorPaging,
        returnTotalCount: { type: 'boolean' },
        consistentRead: ConsistentRead,
      },
      { required: ['dataCollectionId'] },
    ),
    querystring: querystring(),
    reply: {
      type: 'object',
      required: ['results', 'pagingMetadata'],
      properties: {
        results: {
          type: 'array',
          items: {
            type: 'object',
            properties: {
              dataItem: DataItem,
              unresolvedReference: {
                type: 'object',
                properties: { referringItemId: { type: 'string' }, referringItemFieldName: { type: 'string' }, referencedItemId: { type: 'string' }, unauthorized: { type: 'boolean' } },
              },
              referringItemId: { type: 'string' },
            },
          },
        },
        pagingMetadata: PagingMetadata,
      },
    },
  }),
};
