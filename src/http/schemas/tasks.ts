/** Route schemas of background tasks and async jobs (routes/tasks.ts; docs/tasks.md). */
import { SCOPES } from '../../auth/scopes.js';
import { body, CollectionId, Environment, Filter, params, PagingMetadata, PublishPluginOptions, querystring, route, scopes, type JsonSchema } from './common.js';

const tags = ['Tasks'];
const access = scopes(SCOPES.tasks);

const Failure = {
  type: 'object',
  required: ['code', 'description'],
  properties: { code: { type: 'string' }, description: { type: 'string' }, data: { type: 'object' }, itemId: { type: 'string' } },
};

const options = (description: string): JsonSchema => ({ type: 'object', description, additionalProperties: true });
const OPTIONS = {
  deleteByQueryOptions: options('DELETE_BY_QUERY: `{dataCollectionId, filter, environment?, publishPluginOptions?}`.'),
  copyFieldDataOptions: options('COPY_FIELD_DATA: `{dataCollectionId, sourceFieldKey, targetFieldKey, environment?}`.'),
  editFieldDataOptions: options('EDIT_FIELD_DATA: `{dataCollectionId, fieldKey, operations, environment?}`.'),
  updatePublishStatusOptions: options('UPDATE_PUBLISH_STATUS: `{dataCollectionId, operation, filter?, …}`.'),
};

export const Task: JsonSchema = {
  type: 'object',
  required: ['id', 'type', 'status', 'estimatedItemCount', 'itemsSucceeded', 'itemsFailed', 'failures', 'createdDate', 'updatedDate'],
  properties: {
    id: { type: 'string' },
    type: { enum: ['DELETE_BY_QUERY', 'COPY_FIELD_DATA', 'EDIT_FIELD_DATA', 'UPDATE_PUBLISH_STATUS', 'PATCH_BY_FILTER'] },
    status: { enum: ['NEW', 'RUNNING', 'COMPLETED', 'FAILED'] },
    ...OPTIONS,
    options: options('Async jobs (PATCH_BY_FILTER): the options as sent.'),
    estimatedItemCount: { type: 'integer' },
    itemsSucceeded: { type: 'integer' },
    itemsFailed: { type: 'integer' },
    failures: { type: 'array', items: Failure, maxItems: 100, description: 'The first 100 failures.' },
    createdDate: { type: 'string' },
    updatedDate: { type: 'string' },
    startedAt: { type: 'string' },
    finishedAt: { type: 'string' },
  },
};

const TaskInput = {
  type: 'object',
  required: ['type'],
  description: '`type` and the options of that type under their own key (docs/tasks.md).',
  properties: {
    type: { enum: ['DELETE_BY_QUERY', 'COPY_FIELD_DATA', 'EDIT_FIELD_DATA', 'UPDATE_PUBLISH_STATUS'] },
    ...OPTIONS,
  },
};

const taskReply = { type: 'object', required: ['task'], properties: { task: Task } };
const idParam = params({ taskId: 'The task id.' });
const paging = { 'paging.limit': { type: 'string' }, 'paging.offset': { type: 'string' } };

export const taskSchemas = {
  create: route({ summary: 'Create a task', tags, access, body: body({ task: TaskInput }, { required: ['task'] }), querystring: querystring(), reply: taskReply }),
  get: route({ summary: 'Get a task (with its first 100 failures)', tags, access, params: idParam, querystring: querystring(), reply: taskReply }),
  list: route({
    summary: 'List tasks, newest first',
    tags,
    access,
    description: '`paging.limit` default 30, at most 1000.',
    querystring: querystring(paging),
    reply: { type: 'object', required: ['tasks', 'metadata'], properties: { tasks: { type: 'array', items: Task }, metadata: PagingMetadata } },
  }),
  cancel: route({ summary: 'Cancel a task', tags, access, params: idParam, querystring: querystring(), reply: taskReply }),
  failures: route({
    summary: 'Every failure of a task, paged',
    tags: ['Tasks', 'Cairn'],
    access,
    description: '`paging.limit` default 100, at most 1000.',
    params: idParam,
    querystring: querystring(paging),
    reply: { type: 'object', required: ['failures', 'pagingMetadata'], properties: { failures: { type: 'array', items: Failure }, pagingMetadata: PagingMetadata } },
  }),
  asyncPatch: route({
    summary: 'Patch every matching item in the background',
    tags: ['Items', 'Tasks'],
    access,
    body: body(
      {
        dataCollectionId: CollectionId,
        filter: Filter,
        fieldModifications: { type: 'array', items: { type: 'object' } },
        environment: Environment,
      },
      { required: ['dataCollectionId', 'fieldModifications'] },
    ),
    querystring: querystring(),
    reply: { type: 'object', required: ['jobId'], properties: { jobId: { type: 'string' } } },
  }),
  asyncRemove: route({
    summary: 'Remove every matching item in the background',
    tags: ['Items', 'Tasks'],
    access,
    body: body({ dataCollectionId: CollectionId, filter: Filter, environment: Environment, publishPluginOptions: PublishPluginOptions }, { required: ['dataCollectionId'] }),
    querystring: querystring(),
    reply: { type: 'object', required: ['jobId'], properties: { jobId: { type: 'string' } } },
  }),
  jobStatus: route({
    summary: 'Status of an async job',
    tags: ['Items', 'Tasks'],
    access,
    params: params({ jobId: 'The job id.' }),
    querystring: querystring(),
    reply: {
      type: 'object',
      required: ['status', 'successCount'],
      properties: { status: { enum: ['INITIALIZED', 'PROCESSING', 'SUCCEEDED', 'FAILED'] }, successCount: { type: 'integer' } },
    },
  }),
};
