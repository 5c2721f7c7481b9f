/** Route schemas of Cairn's own routes: webhooks, the event stream, API keys, health, the API description. */
import { ALL_SCOPES } from '../../auth/scopes.js';
import { SCOPES } from '../../auth/scopes.js';
import { EVENT_TYPES } from '../../events/outbox.js';
import { body, EMPTY, enforced, object, params, querystring, route, scopes, type JsonSchema } from './common.js';

const webhookTags = ['Webhooks and events'];
const webhooksAccess = scopes(SCOPES.webhooks);

const EventType = { enum: ['*', ...EVENT_TYPES] };

export const Webhook: JsonSchema = {
  type: 'object',
  required: ['id', 'url', 'events', 'secret', 'createdDate', 'source'],
  properties: {
    id: { type: 'string' },
    url: { type: 'string', format: 'uri' },
    events: { type: 'array', items: EventType },
    dataCollectionId: { type: 'string' },
    secret: { type: 'string', description: 'The signing secret, `whsec_` + base64 (Standard Webhooks).' },
    createdDate: { type: 'string' },
    source: { enum: ['API', 'CONFIG'] },
  },
};

const Delivery = {
  type: 'object',
  required: ['eventId', 'eventType', 'status', 'attempts'],
  properties: {
    eventId: { type: 'string' },
    eventType: { type: 'string' },
    entityId: { type: 'string' },
    entityEventSequence: { type: 'string' },
    status: { enum: ['PENDING', 'DELIVERED', 'DEAD'] },
    attempts: { type: 'integer' },
    nextAttemptAt: { type: ['string', 'null'] },
    lastStatus: { type: ['integer', 'null'] },
    lastError: { type: ['string', 'null'] },
    deliveredAt: { type: ['string', 'null'] },
    createdDate: { type: 'string' },
  },
};

const webhookReply = object({ webhook: Webhook });
const idParam = params({ id: 'The webhook id.' });

const Scope = { enum: [...ALL_SCOPES] };
const ApiKey = {
  type: 'object',
  required: ['id', 'name', 'prefix', 'scopes', 'admin', 'createdDate'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    prefix: { type: 'string', description: 'The first characters of the key, to tell keys apart.' },
    scopes: { type: 'array', items: Scope },
    memberId: { type: 'string' },
    admin: { type: 'boolean' },
    createdDate: { type: 'string' },
    revokedDate: { type: 'string' },
  },
};
const keyAccess = scopes(SCOPES.keys);
const keyTags = ['API keys'];

export const cairnSchemas = {
  createWebhook: route({
    summary: 'Subscribe a webhook',
    tags: webhookTags,
    access: webhooksAccess,
    description: 'Events are POSTed as `{type, timestamp, data}`, signed (docs/webhooks.md). Without `secret`, one is generated.',
    body: body(
      {
        url: enforced({ type: 'string', minLength: 1 }, { code: 'WDE0080', message: 'webhook.url must be a non-empty string', describe: { format: 'uri' } }),
        events: enforced({ type: 'array' }, { code: 'WDE0080', message: 'webhook.events must be an array', describe: { items: EventType, minItems: 1 } }),
        dataCollectionId: { type: 'string' },
        secret: { type: 'string' },
      },
      { required: ['url', 'events'] },
    ),
    querystring: querystring(),
    reply: webhookReply,
  }),
  listWebhooks: route({ summary: 'List webhooks', tags: webhookTags, access: webhooksAccess, reply: object({ webhooks: { type: 'array', items: Webhook } }) }),
  getWebhook: route({ summary: 'Get a webhook', tags: webhookTags, access: webhooksAccess, params: idParam, querystring: querystring(), reply: webhookReply }),
  deleteWebhook: route({ summary: 'Delete a webhook', tags: webhookTags, access: webhooksAccess, params: idParam, querystring: querystring(), reply: EMPTY }),
  deliveries: route({
    summary: "A webhook's delivery log, newest first",
    tags: webhookTags,
    access: webhooksAccess,
    params: idParam,
    querystring: querystring({ status: { enum: ['PENDING', 'DELIVERED', 'DEAD'] }, limit: { type: 'string' }, cursor: { type: 'string' } }),
    reply: object({ deliveries: { type: 'array', items: Delivery }, nextCursor: { type: 'string' } }, ['nextCursor']),
  }),
  replay: route({
    summary: 'Send again one event, or the events of a time range',
    tags: webhookTags,
    access: webhooksAccess,
    params: idParam,
    body: body({ eventId: { type: 'string' }, from: { type: 'string', format: 'date-time' }, to: { type: 'string', format: 'date-time' } }, { description: 'Either eventId, or from and to.' }),
    querystring: querystring(),
    reply: object({ replayed: { type: 'integer' } }),
  }),
  stream: route({
    summary: 'Live events (Server-Sent Events)',
    tags: webhookTags,
    access: webhooksAccess,
    description: 'A `text/event-stream` reply that stays open; resume with `Last-Event-ID` (or `after`). docs/events.md.',
    querystring: {
      type: 'object',
      properties: {
        dataCollectionId: { type: 'string', minLength: 1 },
        types: { type: 'string', description: 'Event types, comma-separated (or the parameter repeated).' },
        after: { type: 'string', pattern: '^\\d{1,16}$', description: 'Start after this event id.' },
      },
      additionalProperties: true,
    },
    reply: { type: 'string', description: 'text/event-stream' },
  }),

  createKey: route({
    summary: 'Create an API key',
    tags: keyTags,
    access: keyAccess,
    description: 'The reply holds the key itself (`apiKey`), shown only here; only its hash is stored. A key can only grant scopes its creator holds.',
    // KeyService reads the body alone and answers a body that is not an object with WDE0075.
    body: { ...body({ name: { type: 'string', minLength: 1, maxLength: 200 }, scopes: { type: 'array', items: Scope, minItems: 1 }, memberId: { type: 'string' } }, { required: ['name', 'scopes'] }), 'x-wix-code': 'WDE0075' },
    reply: object({ key: ApiKey, apiKey: { type: 'string' } }),
  }),
  listKeys: route({ summary: 'List API keys (no secrets)', tags: keyTags, access: keyAccess, reply: object({ keys: { type: 'array', items: ApiKey } }) }),
  getKey: route({ summary: 'Get an API key', tags: keyTags, access: keyAccess, params: params({ id: 'The key id.' }), querystring: querystring(), reply: object({ key: ApiKey }) }),
  revokeKey: route({ summary: 'Revoke an API key', tags: keyTags, access: keyAccess, params: params({ id: 'The key id.' }), querystring: querystring(), reply: object({ key: ApiKey }) }),

  healthz: route({ summary: 'Health check', tags: ['Operations'], access: 'public', reply: object({ status: { const: 'ok' } }) }),
  openapi: route({ summary: 'This document (OpenAPI 3.1)', tags: ['Operations'], access: 'public', reply: { type: 'object', required: ['openapi', 'paths'] } }),
  docs: route({ summary: 'The API reference page (HTML, renders /openapi.json)', tags: ['Operations'], access: 'public', reply: { type: 'string', description: 'text/html' } }),
  metrics: route({
    summary: 'Prometheus metrics',
    tags: ['Operations'],
    access: 'admin',
    description: 'Prometheus text format 0.0.4: request latency by route, tasks, outbox lag, store pool. Open to anyone when CAIRN_METRICS_PUBLIC=1.',
    reply: { type: 'string', description: 'text/plain; version=0.0.4' },
  }),
};
