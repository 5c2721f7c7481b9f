/**
 * The API description: every route's schema (src/http/schemas) is attached to its Fastify route;
 * this module collects them as routes are registered (onRoute), builds the OpenAPI 3.1 document
 * served at `/openapi.json`, serves the reference page at `/docs`, and installs the validator and
 * serializer compilers that make the schemas part of request handling.
 *
 * - Validation (ajv, no coercion, no defaults, nothing removed: a request is never altered)
 *   enforces each part's root type and the keywords that properties mark `x-cairn-enforced`
 *   (schemas/common.ts says why it stops there). A failure answers with the code the schema names (`x-wix-code`, else
 *   WDE0080), in the Wix envelope.
 * - Reply schemas document; they do not serialize. Fastify would otherwise compile them with
 *   fast-json-stringify, which drops unknown properties and writes keys in schema order, while
 *   items are schemaless and replies keep canonical key order. The serializer is JSON.stringify,
 *   exactly what Fastify uses for a route without a reply schema.
 * - Each route is served under two prefixes (README, API surface). The document lists the public
 *   one (`/wix-data/v2`, `/cms/v1/tasks`); each operation names its alias in `x-cairn-aliases`,
 *   and info.description says so. Listing both would double the document for no information.
 */
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify';
import { WixError, type ErrorCode, ERROR_CODES } from '../errors.js';
import { cairnSchemas } from './schemas/cairn.js';
import { COMPONENTS, ENFORCED, ErrorEnvelope, WIX_CODE, WIX_MESSAGE, type JsonSchema } from './schemas/common.js';
import { DOCS_PAGE } from './docs-page.js';

/** Alias prefix → the public prefix it mirrors. */
export const PREFIX_ALIASES: readonly (readonly [alias: string, canonical: string])[] = [
  ['/_api/cloud-data/v2', '/wix-data/v2'],
  ['/_api/autocms/v1/tasks', '/cms/v1/tasks'],
  // The Backups API's custom-host paths (src/http/routes/backups.ts).
  ['/_api/data/v2', '/wix-data/v2'],
  ['/data/v2', '/wix-data/v2'],
  // The data permissions API's (src/http/routes/permissions.ts).
  ['/_api/data/v1', '/wix-data/v1'],
  ['/_api/cloud-data/v1', '/wix-data/v1'],
];

export interface CollectedRoute {
  method: string;
  url: string;
  schema: FastifySchema | undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The part of a schema that Fastify enforces: the root `type`, and in each property the keywords
 * its `x-cairn-enforced` lists. Undefined when that leaves nothing to check (a query string or
 * path parameters are always objects).
 */
export function enforcedPart(schema: JsonSchema): JsonSchema | undefined {
  const out: JsonSchema = {};
  const properties: Record<string, JsonSchema> = {};
  if (isObject(schema.properties)) {
    for (const [k, v] of Object.entries(schema.properties)) {
      if (!isObject(v) || !Array.isArray(v[ENFORCED])) continue;
      const p: JsonSchema = {};
      for (const kw of [...(v[ENFORCED] as string[]), WIX_CODE, WIX_MESSAGE]) if (v[kw] !== undefined) p[kw] = v[kw];
      properties[k] = p;
    }
  }
  const rootTyped = schema.type !== undefined && schema.type !== 'object';
  if (!rootTyped && Object.keys(properties).length === 0) return undefined;
  if (schema.type !== undefined) out.type = schema.type;
  for (const k of [WIX_CODE, WIX_MESSAGE]) if (schema[k] !== undefined) out[k] = schema[k];
  if (Object.keys(properties).length > 0) out.properties = properties;
  return out;
}

function validationError(errors: ErrorObject[] | null | undefined, part: string, root: JsonSchema): WixError {
  const e = errors?.[0];
  const node = (e?.parentSchema ?? {}) as JsonSchema;
  const declared = (node[WIX_CODE] ?? root[WIX_CODE]) as string | undefined;
  const code: ErrorCode = declared !== undefined && declared in ERROR_CODES ? (declared as ErrorCode) : 'WDE0080';
  const where = `${part}${(e?.instancePath ?? '').replace(/\//g, '.')}`;
  const message = (node[WIX_MESSAGE] ?? (e?.instancePath === '' ? root[WIX_MESSAGE] : undefined)) as string | undefined;
  const error = new WixError(code, message ?? `${where} ${e?.message ?? 'is invalid'}`);
  // Fastify reads statusCode from validation errors; the error handler answers WixErrors by code.
  (error as WixError & { statusCode: number }).statusCode = error.status;
  return error;
}

const PART_NAMES: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'headers' };

/**
 * One validator per schema object, shared by every app in the process (the schemas are module
 * constants), and compiled on a route's first request rather than when the server starts: ajv
 * compiling every route's schema made `listen` take over 100 ms, most of an embedded server's
 * start-up (issue 8's createCairn target), for routes a test may never call.
 */
let sharedAjv: Ajv | undefined;
const compiled = new WeakMap<object, ValidateFunction | null>();

function validatorFor(schema: object): ValidateFunction | null {
  let fn = compiled.get(schema);
  if (fn === undefined) {
    const part = enforcedPart(schema as JsonSchema);
    sharedAjv ??= new Ajv({ coerceTypes: false, useDefaults: false, removeAdditional: false, allErrors: false, strict: false, verbose: true, validateFormats: false });
    fn = part ? sharedAjv.compile(part) : null;
    compiled.set(schema, fn);
  }
  return fn;
}

export function installValidation(app: FastifyInstance): void {
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const root = schema as JsonSchema;
    const name = PART_NAMES[httpPart ?? ''] ?? httpPart ?? 'request';
    let check: ValidateFunction | null | undefined;
    return (data: unknown) => {
      if (check === undefined) check = validatorFor(schema);
      if (check === null || check(data)) return true;
      return { error: validationError(check.errors, name, root) };
    };
  });
  const stringify = (data: unknown) => JSON.stringify(data);
  app.setSerializerCompiler(() => stringify);
}

// ---------------------------------------------------------------------------------------------
// The document

function openApiPath(url: string): string {
  const path = url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

function canonical(url: string): { path: string; alias: string | undefined } {
  for (const [alias, canon] of PREFIX_ALIASES) {
    if (url === alias || url.startsWith(`${alias}/`)) return { path: canon + url.slice(alias.length), alias };
  }
  return { path: url, alias: undefined };
}

/** Replaces shared schemas (by identity) with `$ref`s, collecting them into `components`. */
function withRefs(schema: unknown, components: Record<string, unknown>, root = true): unknown {
  if (Array.isArray(schema)) return schema.map((s) => withRefs(s, components, false));
  if (!isObject(schema)) return schema;
  const name = root ? undefined : COMPONENTS.get(schema);
  if (name !== undefined) {
    if (!(name in components)) {
      components[name] = null; // placeholder: a component refers to itself at most through others
      components[name] = withRefs(schema, components, true);
    }
    return { $ref: `#/components/schemas/${name}` };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) out[k] = withRefs(v, components, false);
  return out;
}

function operationId(method: string, path: string): string {
  const words = path
    .split('/')
    .filter(Boolean)
    .map((seg) => (seg.startsWith('{') ? `By-${seg.slice(1, -1)}` : seg))
    .flatMap((seg) => seg.split(/[^A-Za-z0-9]+/))
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1));
  return method.toLowerCase() + words.join('');
}

function replyContent(schema: JsonSchema): Record<string, unknown> {
  if (schema.type === 'string') {
    const d = String(schema.description ?? '');
    const type = d.startsWith('text/') ? d.split(';')[0]! : 'text/plain';
    return { [type]: { schema: { type: 'string' } } };
  }
  return { 'application/json': { schema } };
}

const SECURITY_SCHEMES = {
  apiKey: {
    type: 'apiKey',
    in: 'header',
    name: 'Authorization',
    description:
      'An API key (`Authorization: <key>` or `Bearer <key>`): the admin key, or one made at POST /cairn/v1/keys with scopes. docs/security.md.',
  },
  memberToken: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'A site member token (HS256 or RS256, configured with CAIRN_JWT_SECRET / CAIRN_JWT_PUBLIC_KEY), in the same Authorization header.',
  },
};

function securityFor(access: unknown): unknown[] {
  if (access === 'public') return [];
  // {} last: anonymous visitors may call when the collection's permissions allow ANYONE.
  if (access === 'collection-permissions') return [{ apiKey: [] }, { memberToken: [] }, {}];
  return [{ apiKey: [] }];
}

export function buildDocument(routes: readonly CollectedRoute[], version: string): Record<string, unknown> {
  const components: Record<string, unknown> = {};
  const paths: Record<string, Record<string, unknown>> = {};
  const aliases = new Map<string, Set<string>>();
  for (const r of routes) {
    // HEAD routes are Fastify's automatic twins of GETs; a route without a schema is not API
    // (the dashboard's static files) and stays out of the document.
    if (r.method === 'HEAD' || r.method === 'OPTIONS' || r.schema === undefined) continue;
    const { path: canonUrl, alias } = canonical(r.url);
    const path = openApiPath(canonUrl);
    const method = r.method.toLowerCase();
    const key = `${method} ${path}`;
    if (alias !== undefined) {
      if (!aliases.has(key)) aliases.set(key, new Set());
      aliases.get(key)!.add(openApiPath(r.url));
      continue;
    }
    const s = (r.schema ?? {}) as JsonSchema;
    const op: Record<string, unknown> = { operationId: operationId(method, path) };
    for (const k of ['summary', 'description', 'tags']) if (s[k] !== undefined) op[k] = s[k];
    if (s['x-cairn-access'] !== undefined) op['x-cairn-access'] = s['x-cairn-access'];
    const parameters: unknown[] = [];
    if (isObject(s.params) && isObject(s.params.properties)) {
      for (const [name, schema] of Object.entries(s.params.properties)) {
        parameters.push({ name, in: 'path', required: true, schema: withRefs(schema, components, false) });
      }
    }
    if (isObject(s.querystring) && isObject(s.querystring.properties)) {
      const required = Array.isArray(s.querystring.required) ? (s.querystring.required as string[]) : [];
      for (const [name, schema] of Object.entries(s.querystring.properties)) {
        const p: Record<string, unknown> = { name, in: 'query', required: required.includes(name), schema: withRefs(schema, components, false) };
        if (isObject(schema) && typeof schema.description === 'string') p.description = schema.description;
        parameters.push(p);
      }
    }
    if (parameters.length > 0) op.parameters = parameters;
    if (s.body !== undefined) {
      op.requestBody = {
        required: false,
        description: 'JSON. The same parameters may come in the query string (dotted keys) or `.r`; path parameters win.',
        content: { 'application/json': { schema: withRefs(s.body, components, false) } },
      };
    }
    const responses: Record<string, unknown> = {};
    const declared = isObject(s.response) ? s.response : {};
    for (const [code, schema] of Object.entries(declared)) {
      const status = code.toUpperCase();
      const description = status === '200' ? 'Success' : status === '4XX' ? 'Invalid request, not found, conflict, not allowed (Wix error envelope)' : 'Internal error';
      responses[status] = { description, content: withRefs(replyContent(schema as JsonSchema), components, false) };
    }
    if (responses['200'] === undefined) responses['200'] = { description: 'Success' };
    op.responses = responses;
    op.security = securityFor(s['x-cairn-access']);
    (paths[path] ??= {})[method] = op;
  }
  for (const [key, set] of aliases) {
    const [method, path] = key.split(' ') as [string, string];
    const op = paths[path]?.[method] as Record<string, unknown> | undefined;
    if (op) op['x-cairn-aliases'] = [...set].sort();
  }
  withRefs(ErrorEnvelope, components, false);
  const sortedPaths = Object.fromEntries(Object.entries(paths).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    info: {
      title: 'Cairn',
      version,
      summary: 'A self-hosted Wix Data REST API: items, collections, indexes, background tasks, webhooks and events.',
      description: [
        'Cairn serves the Wix Data REST API at the same paths and in the same wire format as Wix, plus its own routes under `/cairn/v1`.',
        '',
        '**Two prefixes.** Every route under `/wix-data/v2` is also served under `/_api/cloud-data/v2`, every route under `/cms/v1/tasks` under `/_api/autocms/v1/tasks`, and the backups routes under `/data/v2` and `/_api/data/v2` (the paths the published SDK uses on a custom host). This document lists the public prefix; each operation names its alias in `x-cairn-aliases`.',
        '',
        '**Parameters** may come in the JSON body, in the query string (dotted keys: `paging.limit=10`), or in a `.r` query parameter holding the whole request as base64url JSON; path parameters always win. Success is always HTTP 200.',
        '',
        '**Validation.** Requests are checked against these schemas: each body must be a JSON object, and a property is checked for the keywords its `x-cairn-enforced` lists; every field is also checked by the service, which answers with the precise Wix code (`x-wix-code` names the code of a schema-level failure). Errors use the Wix envelope (`#/components/schemas/Error`, docs/errors.md).',
        '',
        '**Request ids.** Every reply carries `x-request-id` (the one sent, when it is 1 to 128 of `A-Z a-z 0-9 . _ : -`, else a generated UUID); log lines carry it as `reqId`.',
      ].join('\n'),
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [{ url: '/', description: 'This server' }],
    tags: [
      { name: 'Items', description: 'Data Items API (Wix).' },
      { name: 'Collections', description: 'Data Collections API (Wix).' },
      { name: 'Indexes', description: 'Indexes API (Wix).' },
      { name: 'Tasks', description: 'Background tasks (Wix CMS TaskService) and async jobs.' },
      { name: 'Cairn', description: "Cairn's additions." },
      { name: 'Webhooks and events', description: 'Webhook subscriptions, deliveries and the live event stream (Cairn).' },
      { name: 'API keys', description: 'API keys with scopes (Cairn).' },
      { name: 'Operations', description: 'Health, metrics, this description.' },
    ],
    security: [{ apiKey: [] }, {}],
    paths: sortedPaths,
    components: { schemas: components, securitySchemes: SECURITY_SCHEMES },
  };
}

const COLLECTED = new WeakMap<FastifyInstance, readonly CollectedRoute[]>();

/** Every route registered on `app` since installApiDescription (HEAD routes included), for tests. */
export function registeredRoutes(app: FastifyInstance): readonly CollectedRoute[] {
  return COLLECTED.get(app) ?? [];
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

/**
 * Validation and serialization compilers, the route collector, `GET /openapi.json` and
 * `GET /docs`. Call before any route is registered.
 */
export function installApiDescription(app: FastifyInstance): { routes: CollectedRoute[]; document: () => Record<string, unknown> } {
  installValidation(app);
  const routes: CollectedRoute[] = [];
  COLLECTED.set(app, routes);
  app.addHook('onRoute', (route: RouteOptions) => {
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) routes.push({ method, url: route.url, schema: route.schema });
  });
  let text: string | undefined;
  const document = () => buildDocument(routes, packageVersion());
  app.get('/openapi.json', { schema: cairnSchemas.openapi }, async (_req, reply) => {
    text ??= JSON.stringify(document());
    return reply.type('application/json; charset=utf-8').send(text);
  });
  app.get('/docs', { schema: cairnSchemas.docs }, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').header('content-security-policy', "default-src 'self'; style-src 'unsafe-inline'; script-src 'unsafe-inline'").send(DOCS_PAGE),
  );
  return { routes, document };
}
