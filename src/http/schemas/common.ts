/**
 * Building blocks of the route schemas (src/http/schemas/*.ts). A route schema is the JSON Schema
 * (2020-12, as OpenAPI 3.1 uses it) of the route's body, query string, path parameters and
 * replies; it is attached to the Fastify route, `/openapi.json` is generated from the routes
 * (openapi.ts), and requests are validated against it.
 *
 * Validation is deliberately shallow. The services check every field and answer with Wix's own
 * codes, which differ field by field (WDE0001 for a collection id, WDE0075 for an environment, …;
 * test/bad-input.test.ts pins them), so ajv must never answer before them with a generic code. What
 * ajv enforces is each part's root `type` (a body is a JSON object) and the keywords that
 * `enforced(...)` names in a property (`x-cairn-enforced`), whose rules match the service's exactly and carry its code (`x-wix-code`,
 * WDE0080 when absent). Everything else in a schema describes; the tests hold real requests and
 * replies to the full schemas (test/openapi.test.ts).
 */
import { ALL_SCOPES, type Scope } from '../../auth/scopes.js';

export type JsonSchema = Record<string, unknown>;

/**
 * The keywords of a subschema that Fastify enforces (openapi.ts `enforcedPart`), listed in the
 * subschema itself so that the document says exactly what is checked.
 */
export const ENFORCED = 'x-cairn-enforced';
/** The Wix code a validation failure of this subschema answers with (default WDE0080). */
export const WIX_CODE = 'x-wix-code';
/** The description a validation failure of this subschema answers with. */
export const WIX_MESSAGE = 'x-wix-message';

/**
 * A subschema whose `enforce` keywords are checked (with `code` and `message` on failure), and
 * whose `describe` keywords only document: the service's own checks of those answer with
 * messages and codes of their own, which tests pin.
 */
export function enforced(enforce: JsonSchema, options: { code?: string; message?: string; describe?: JsonSchema } = {}): JsonSchema {
  return {
    ...options.describe,
    ...enforce,
    [ENFORCED]: Object.keys(enforce),
    ...(options.code ? { [WIX_CODE]: options.code } : {}),
    ...(options.message ? { [WIX_MESSAGE]: options.message } : {}),
  };
}

/**
 * Shared schemas become `#/components/schemas/<title>` in the document: openapi.ts replaces every
 * object registered here, by identity, with a `$ref`.
 */
export const COMPONENTS = new Map<object, string>();
function component<T extends JsonSchema>(name: string, schema: T): T {
  COMPONENTS.set(schema, name);
  return schema;
}

const str = (description?: string): JsonSchema => ({ type: 'string', ...(description ? { description } : {}) });

export const ErrorEnvelope = component('Error', {
  type: 'object',
  description: 'The Wix error envelope (docs/errors.md lists every code).',
  required: ['message', 'details'],
  properties: {
    message: { type: 'string' },
    details: {
      type: 'object',
      required: ['applicationError'],
      properties: {
        applicationError: {
          type: 'object',
          required: ['code', 'description'],
          properties: {
            code: { type: 'string', examples: ['WDE0025'] },
            description: { type: 'string' },
            data: { type: 'object' },
          },
        },
      },
    },
  },
});

export const DateValue = component('Date', {
  type: 'object',
  description: 'A date as it travels in item data: `{"$date": "<ISO 8601>"}`.',
  required: ['$date'],
  properties: { $date: { type: 'string', format: 'date-time' } },
  additionalProperties: false,
});

export const ItemData = component('ItemData', {
  type: 'object',
  description:
    'An item: user fields (names not starting with `$`; dates as `{"$date"}`; at most 512 KiB stored) and the system fields `_id`, `_createdDate`, `_updatedDate`, `_owner` (and `_publishStatus` with the Publish plugin).',
  properties: {
    _id: { type: 'string', maxLength: 255 },
    _createdDate: DateValue,
    _updatedDate: DateValue,
    _owner: { type: 'string' },
    _publishStatus: { enum: ['PUBLISHED', 'DRAFT'] },
  },
  additionalProperties: true,
});

export const DataItem = component('DataItem', {
  type: 'object',
  required: ['id', 'dataCollectionId', 'data'],
  properties: { id: { type: 'string' }, dataCollectionId: { type: 'string' }, data: ItemData },
});

export const IncomingDataItem = component('IncomingDataItem', {
  type: 'object',
  description: 'An item to write: `data`, and optionally `id` (else `data._id`, else generated).',
  properties: { id: { type: 'string', maxLength: 255 }, data: ItemData },
});

export const Filter = component('Filter', {
  type: 'object',
  description: 'A Wix filter: `{"field": value}`, `$eq $ne $gt $gte $lt $lte $in $nin $hasSome $hasAll $exists $isEmpty $isNotEmpty $startsWith $endsWith $contains $and $or $not` (docs/query-language.md).',
  additionalProperties: true,
});

export const Paging = component('Paging', {
  type: 'object',
  properties: { limit: { type: 'integer', minimum: 0 }, offset: { type: 'integer', minimum: 0 } },
});

export const PagingMetadata = component('PagingMetadata', {
  type: 'object',
  required: ['count'],
  properties: {
    count: { type: 'integer' },
    offset: { type: 'integer' },
    total: { type: 'integer' },
    tooManyToCount: { type: 'boolean' },
    hasNext: { type: 'boolean' },
    cursors: { type: 'object', properties: { next: { type: 'string' }, prev: { type: 'string' } } },
  },
});

export const Environment = component('Environment', {
  enum: ['LIVE', 'SANDBOX', 'SANDBOX_PREFERRED'],
  description: 'The environment the call works in (default LIVE).',
});

export const CollectionId = { type: 'string', minLength: 1, maxLength: 256, description: 'The collection id.' };

export const PublishPluginOptions = {
  type: 'object',
  properties: { includeDraftItems: { type: 'boolean', description: 'Include DRAFT items (collections with the PUBLISH plugin).' } },
};

export const Condition = { type: 'object', properties: { filter: Filter }, description: 'The item must match `filter` at the moment of the write.' };

/**
 * The `.r` query parameter: the whole request as base64url JSON (the SDK's GET form). Enforced:
 * the service refuses the same values with the same code (params.ts decodeDotR).
 */
export const DotR = enforced(
  { type: 'string', minLength: 1, pattern: '^[A-Za-z0-9_=+/-]+$' },
  { code: 'WDE0080', message: 'The .r parameter must be base64url-encoded JSON', describe: { description: 'The whole request as base64url-encoded JSON (merged under the body and path parameters).' } },
);

/**
 * A query string: named parameters (dotted keys such as `paging.limit` nest), `.r`, and any other
 * request field in the same dotted form.
 */
export function querystring(properties: Record<string, JsonSchema> = {}): JsonSchema {
  return { type: 'object', properties: { ...properties, '.r': DotR }, additionalProperties: true };
}

/** A JSON body: an object (or none; parameters may come from the query string instead). */
export function body(properties: Record<string, JsonSchema>, options: { required?: string[]; description?: string } = {}): JsonSchema {
  return {
    type: ['object', 'null'],
    [WIX_CODE]: 'WDE0080',
    [WIX_MESSAGE]: 'The request body must be a JSON object',
    properties,
    ...(options.required ? { required: options.required } : {}),
    ...(options.description ? { description: options.description } : {}),
    additionalProperties: true,
  };
}

export function params(names: Record<string, string>): JsonSchema {
  return {
    type: 'object',
    required: Object.keys(names),
    properties: Object.fromEntries(Object.entries(names).map(([k, d]) => [k, str(d)])),
  };
}

/** Who may call: the API key scopes one of which is needed (security requirement in the document). */
export type Access = { scopes: readonly Scope[] } | 'collection-permissions' | 'public' | 'admin';

export interface RouteDoc {
  summary: string;
  tags: string[];
  description?: string;
  access: Access;
  body?: JsonSchema;
  querystring?: JsonSchema;
  params?: JsonSchema;
  /** The 200 reply. */
  reply: JsonSchema;
}

/** A Fastify route schema: the parts, the 200 reply and the error envelope, and document fields. */
export function route(doc: RouteDoc): JsonSchema {
  const accessText =
    doc.access === 'public'
      ? 'No credentials needed.'
      : doc.access === 'admin'
        ? 'Needs the admin key.'
        : doc.access === 'collection-permissions'
          ? "Decided by the collection's permissions: anyone, site members, the item's author, or admins (an API key, or the admin key)."
          : `Needs an API key holding ${doc.access.scopes.join(' or ')} (the admin key holds every scope).`;
  return {
    summary: doc.summary,
    tags: doc.tags,
    description: `${doc.description ? `${doc.description}\n\n` : ''}${accessText}`,
    'x-cairn-access': doc.access === 'public' || doc.access === 'admin' || doc.access === 'collection-permissions' ? doc.access : { scopes: doc.access.scopes },
    ...(doc.body ? { body: doc.body } : {}),
    ...(doc.querystring ? { querystring: doc.querystring } : {}),
    ...(doc.params ? { params: doc.params } : {}),
    response: { 200: doc.reply, '4xx': ErrorEnvelope, '5xx': ErrorEnvelope },
  };
}

export const scopes = (...s: Scope[]): Access => ({ scopes: s });
export const SCOPE_NAMES = ALL_SCOPES;

/** An object with the given properties, all required unless listed in `optional`. */
export function object(properties: Record<string, JsonSchema>, optional: string[] = []): JsonSchema {
  return { type: 'object', required: Object.keys(properties).filter((k) => !optional.includes(k)), properties };
}

export const EMPTY = { type: 'object', maxProperties: 0, description: 'An empty object.' };
