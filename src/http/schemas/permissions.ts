/** Route schemas of the data permissions API (routes/permissions.ts; the published client's `permissions` module). */
import { SCOPES } from '../../auth/scopes.js';
import { body, CollectionId, EMPTY, params, querystring, route, scopes, type JsonSchema } from './common.js';

const tags = ['Permissions'];
const manage = scopes(SCOPES.collections);
const Level = { enum: ['ANYONE', 'SITE_MEMBER', 'SITE_MEMBER_AUTHOR', 'CMS_EDITOR', 'PRIVILEGED'] };
const Access = { enum: ['ALLOWED', 'UNSPECIFIED'] };

const SpecialPermissions: JsonSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    userId: { type: 'string', description: 'A member id (member tokens, member-bound API keys).' },
    policyId: { type: 'string', description: 'A role: kept, but Cairn has no roles, so it matches no one.' },
    itemRead: Access,
    itemInsert: Access,
    itemUpdate: Access,
    itemRemove: Access,
  },
};

const DataPermissions: JsonSchema = {
  type: 'object',
  required: ['id', 'itemRead', 'itemInsert', 'itemUpdate', 'itemRemove', 'specialPermissions'],
  properties: { id: CollectionId, itemRead: Level, itemInsert: Level, itemUpdate: Level, itemRemove: Level, specialPermissions: { type: 'array', items: SpecialPermissions } },
};

const dataPermissionsReply = { type: 'object', required: ['dataPermissions'], properties: { dataPermissions: DataPermissions } };
const specialReply = { type: 'object', required: ['specialPermissions'], properties: { specialPermissions: SpecialPermissions } };

export const permissionSchemas = {
  get: route({
    summary: "A collection's data permissions: access levels and special permissions sets",
    tags,
    access: manage,
    description: 'CMS_EDITOR and PRIVILEGED both mean admins in Cairn (docs/security.md, "Data permissions"). 404 WDE0025 for an unknown collection.',
    querystring: querystring({ dataCollectionId: CollectionId }),
    reply: dataPermissionsReply,
  }),
  update: route({
    summary: "Change a collection's access levels",
    tags,
    access: manage,
    description: '`dataPermissions.id` names the collection; the levels given change its permissions, the others stay.',
    body: body({ dataPermissions: { type: 'object', properties: { id: CollectionId, itemRead: Level, itemInsert: Level, itemUpdate: Level, itemRemove: Level } } }, { required: ['dataPermissions'] }),
    querystring: querystring(),
    reply: dataPermissionsReply,
  }),
  current: route({
    summary: 'What the caller may do with the collection\'s items',
    tags,
    access: 'collection-permissions',
    description: 'For the caller of the request (anyone, a member, a key): `{itemRead, itemInsert, itemUpdate, itemRemove}` as booleans. A SITE_MEMBER_AUTHOR action is true for a member (on their own items).',
    querystring: querystring({ dataCollectionId: CollectionId }),
    reply: { type: 'object', required: ['itemRead', 'itemInsert', 'itemUpdate', 'itemRemove'], properties: { itemRead: { type: 'boolean' }, itemInsert: { type: 'boolean' }, itemUpdate: { type: 'boolean' }, itemRemove: { type: 'boolean' } } },
  }),
  addSpecial: route({
    summary: 'Let one user do some actions on a collection, whatever its access levels',
    tags,
    access: manage,
    description: 'Exactly one of `userId` and `policyId`. 409 ALREADY_EXISTS when the collection has a set for that user or role.',
    body: body({ dataCollectionId: CollectionId, specialPermissions: SpecialPermissions }, { required: ['dataCollectionId', 'specialPermissions'] }),
    querystring: querystring(),
    reply: specialReply,
  }),
  updateSpecial: route({
    summary: 'Change the actions of a special permissions set',
    tags,
    access: manage,
    description: 'The user or role cannot change. 404 NOT_FOUND for an unknown set.',
    params: params({ id: 'The special permissions set id.' }),
    body: body({ specialPermissions: SpecialPermissions }, { required: ['specialPermissions'] }),
    querystring: querystring(),
    reply: specialReply,
  }),
  removeSpecial: route({
    summary: 'Remove a special permissions set',
    tags,
    access: manage,
    description: '404 NOT_FOUND for an unknown set.',
    params: params({ id: 'The special permissions set id.' }),
    querystring: querystring(),
    reply: EMPTY,
  }),
};
