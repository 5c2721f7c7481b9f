/** Route schemas of the Backups API (routes/backups.ts). */
import { SCOPES } from '../../auth/scopes.js';
import { body, CollectionId, EMPTY, params, querystring, route, scopes, type JsonSchema } from './common.js';

const tags = ['Backups'];
const manage = scopes(SCOPES.backups);

const BackupStatus = { enum: ['PENDING', 'READY', 'FAILED', 'DELETED', 'CANCELED'] };
const BackupType = { enum: ['ON_DEMAND', 'AUTO'] };
const RestorationStatus = { enum: ['PENDING', 'COMPLETED', 'FAILED'] };
const date = { type: 'string', format: 'date-time' };

const Backup: JsonSchema = {
  type: 'object',
  required: ['id', 'status', 'type', 'requestedDate', 'collections'],
  properties: {
    id: { type: 'string' },
    status: BackupStatus,
    type: BackupType,
    requestedDate: date,
    startedDate: date,
    finishedDate: date,
    deletedDate: date,
    sizeInBytes: { type: 'string', description: 'int64 as text: the bytes of the items\' JSON (SQLite) or their stored size (PostgreSQL).' },
    collections: { type: 'array', items: { type: 'object', required: ['id', 'displayName'], properties: { id: { type: 'string' }, displayName: { type: 'string' } } } },
  },
};

const RestorationCollection: JsonSchema = {
  type: 'object',
  required: ['dataCollectionId'],
  properties: {
    dataCollectionId: CollectionId,
    restoreDestination: {
      type: 'object',
      description: 'Where to restore (default: the same collection). A destination that does not exist is created from the backup\'s definition.',
      properties: { dataCollectionId: CollectionId, displayName: { type: 'string' } },
    },
  },
};

const Restoration: JsonSchema = {
  type: 'object',
  required: ['id', 'backup', 'status', 'requestedDate', 'restorationCollections'],
  properties: {
    id: { type: 'string' },
    backup: Backup,
    status: RestorationStatus,
    requestedDate: date,
    startedDate: date,
    finishedDate: date,
    restorationCollections: { type: 'array', items: RestorationCollection },
  },
};

const ListPaging = { type: 'object', required: ['count'], properties: { count: { type: 'integer' }, offset: { type: 'integer' }, total: { type: 'integer' } } };
const backupIdParam = params({ backupId: 'The backup id.' });
const listQuery = (extra: Record<string, JsonSchema>) =>
  querystring({ ...extra, 'paging.limit': { type: 'string', pattern: '^\\d+$' }, 'paging.offset': { type: 'string', pattern: '^\\d+$' } });
const restorationReply = { type: 'object', required: ['restoration'], properties: { restoration: Restoration } };

export const backupSchemas = {
  create: route({
    summary: 'Create an on-demand backup of every collection\'s live items',
    tags,
    access: manage,
    description:
      'Returns the backup PENDING; the task runner copies the data in one transaction and marks it READY (poll List Backups). `backup.collections` (`[{id}]`) makes it a backup of those collections only (each must exist: 404 WDE0025). At most three on-demand backups are kept: a fourth replaces the oldest.',
    body: body({ backup: { type: 'object', properties: { collections: { type: 'array', items: { type: 'object', required: ['id'], properties: { id: CollectionId } } } } } }),
    querystring: querystring(),
    reply: { type: 'object', required: ['backup'], properties: { backup: Backup } },
  }),
  list: route({
    summary: 'List backups, newest first',
    tags,
    access: manage,
    description: '`status` and `type` filter (repeat a parameter for several values). Without a status filter, DELETED backups are left out. `paging.limit` 1–100, default 50.',
    querystring: listQuery({ status: { anyOf: [BackupStatus, { type: 'array', items: BackupStatus }] }, type: { anyOf: [BackupType, { type: 'array', items: BackupType }] } }),
    reply: { type: 'object', required: ['backups', 'pagingMetadata'], properties: { backups: { type: 'array', items: Backup }, pagingMetadata: ListPaging } },
  }),
  restore: route({
    summary: 'Restore every collection of a backup',
    tags,
    access: manage,
    description:
      'Returns the restoration PENDING; the task runner restores in one transaction and marks it COMPLETED (poll List Restorations). Each collection\'s live items become the backup\'s. 404 WDE0073 for an unknown backup; 400 WDE0080 unless it is READY.',
    params: backupIdParam,
    body: body({ backupId: { type: 'string' } }),
    querystring: querystring(),
    reply: restorationReply,
  }),
  partialRestore: route({
    summary: 'Restore some collections of a backup, each into itself or another collection',
    tags,
    access: manage,
    description:
      'As Restore Backup, for the collections named. WDE0025 for a collection the backup does not hold; WDE0080 for an empty list, a collection named twice, or two restored into one destination.',
    params: backupIdParam,
    body: body({ backupId: { type: 'string' }, restorationCollections: { type: 'array', items: RestorationCollection } }, { required: ['restorationCollections'] }),
    querystring: querystring(),
    reply: restorationReply,
  }),
  listRestorations: route({
    summary: 'List restorations, newest first',
    tags,
    access: manage,
    description: '`status` filters (repeat for several values). `paging.limit` 1–100, default 50.',
    querystring: listQuery({ status: { anyOf: [RestorationStatus, { type: 'array', items: RestorationStatus }] } }),
    reply: { type: 'object', required: ['restorations', 'pagingMetadata'], properties: { restorations: { type: 'array', items: Restoration }, pagingMetadata: ListPaging } },
  }),
  remove: route({
    summary: 'Delete a backup',
    tags,
    access: manage,
    description: 'Its copied data goes at once; List Backups shows it with `status: DELETED` when asked for that status. 400 WDE0080 while a restoration of it is pending.',
    params: backupIdParam,
    querystring: querystring({ backupId: { type: 'string' } }),
    reply: EMPTY,
  }),
};
