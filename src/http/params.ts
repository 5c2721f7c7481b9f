/**
 * Request parameters as one object, the way the Wix services read them: path params, the query
 * string (dotted keys such as `paging.limit` become nested objects; a `.r` parameter holds the
 * whole request as base64url JSON) and the JSON body. Later sources win over earlier ones, except
 * that path params always win: the route's id is the id.
 */
import type { FastifyRequest } from 'fastify';
import { WixError } from '../errors.js';
import { isPlainObject, type JsonObject } from '../wire/json.js';

export function decodeDotR(value: unknown): JsonObject {
  if (typeof value !== 'string' || value.length === 0) throw new WixError('WDE0080', 'The .r parameter must be base64url-encoded JSON');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    throw new WixError('WDE0080', 'The .r parameter is not base64url-encoded JSON');
  }
  if (!isPlainObject(parsed)) throw new WixError('WDE0080', 'The .r parameter must encode a JSON object');
  return parsed;
}

/** `\u0000` in JSON text, escaped (an odd number of backslashes before `u0000`). */
export const NUL_ESCAPE = /(?<!\\)(?:\\\\)*\\u0000/;

export const nulError = (): WixError =>
  new WixError('WDE0080', 'Text cannot contain the NUL character (U+0000): not in ids, field names or values');

/**
 * A surrogate escape in JSON text (`\ud800`..`\udfff`): a cheap test before looking for a lone
 * one in the parsed value (a pair is a character outside the BMP, and fine).
 */
export const SURROGATE_ESCAPE = /\\u[dD][89a-fA-F][0-9a-fA-F]{2}/;

const loneSurrogateError = (): WixError =>
  new WixError('WDE0080', 'Text cannot contain a lone UTF-16 surrogate (\\ud800-\\udfff not part of a pair): it is not Unicode text, and PostgreSQL cannot store it');

/** With the u flag a pair reads as one code point, so only a lone surrogate is a `Cs` character. */
const LONE_SURROGATE = /\p{Cs}/u;

/** The error for text no store can hold (U+0000, a lone surrogate) in `s`, or undefined. */
function unstorable(s: string): WixError | undefined {
  if (s.includes('\u0000')) return nulError();
  return LONE_SURROGATE.test(s) ? loneSurrogateError() : undefined;
}

/**
 * The error for the first string anywhere in v (keys included) that no store can hold, or
 * undefined. Written with plain loops: it runs on every request, and iterator and closure garbage
 * shows up in throughput under load.
 */
export function unstorableText(v: unknown): WixError | undefined {
  if (typeof v === 'string') return unstorable(v);
  if (typeof v !== 'object' || v === null) return undefined;
  if (Array.isArray(v)) {
    for (const x of v) {
      const e = unstorableText(x);
      if (e) return e;
    }
    return undefined;
  }
  for (const k in v) {
    const e = unstorable(k) ?? unstorableText((v as Record<string, unknown>)[k]);
    if (e) return e;
  }
  return undefined;
}

const UNSAFE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** `a.b=1&a.c=2` -> {a: {b: '1', c: '2'}}; repeated keys become arrays. */
/** Parameters that are lists wherever they appear. */
const ARRAY_PARAMS = new Set(['fields']);

export function nestQuery(query: Record<string, unknown>): JsonObject {
  const out: JsonObject = {};
  for (const key in query) {
    if (key === '.r') continue;
    const value = query[key];
    if (!key.includes('.')) {
      // The common case, a plain key: no splitting.
      if (key === '' || UNSAFE_KEYS.has(key)) continue;
      // A list in a query string is the parameter repeated (`fields=a&fields=b`), so a list of one
      // arrives as a plain string: the SDK's items.get(c, id, {fields: ['a']}) sends `fields=a`.
      out[key] = (ARRAY_PARAMS.has(key) && typeof value === 'string' ? [value] : value) as JsonObject[string];
      continue;
    }
    const parts = key.split('.');
    if (parts.some((p) => UNSAFE_KEYS.has(p) || p === '')) continue;
    let node = out;
    parts.forEach((p, i) => {
      if (i === parts.length - 1) node[p] = value as JsonObject[string];
      else {
        if (!isPlainObject(node[p])) node[p] = {};
        node = node[p] as JsonObject;
      }
    });
  }
  return out;
}

const NONE: JsonObject = Object.freeze({}) as JsonObject;

export function paramsOf(req: FastifyRequest): JsonObject {
  const query = (req.query ?? NONE) as Record<string, unknown>;
  const params = (req.params ?? NONE) as JsonObject;
  const rawBody = req.body;
  if (rawBody !== undefined && rawBody !== null && !isPlainObject(rawBody)) {
    throw new WixError('WDE0080', 'The request body must be a JSON object');
  }
  const fromR = query['.r'] !== undefined ? decodeDotR(query['.r']) : NONE;
  // The body was checked as text when it was parsed (app.ts).
  const bad = unstorableText(query) ?? unstorableText(fromR) ?? unstorableText(params);
  if (bad) throw bad;
  const fromQuery = nestQuery(query);
  const body = isPlainObject(rawBody) ? rawBody : NONE;
  return { ...fromQuery, ...fromR, ...body, ...params };
}

/**
 * The parameters of a GET by id that carries only `?dataCollectionId=` (the SDK's and most
 * clients' form): the same object paramsOf would build, without its general merge, which shows
 * in the throughput of the most frequent read. Anything else takes paramsOf.
 */
export function getByIdParams(req: FastifyRequest): JsonObject {
  const query = req.query as Record<string, unknown> | undefined;
  const id = (req.params as Record<string, unknown> | undefined)?.dataItemId;
  if (query === undefined || req.body !== undefined || typeof id !== 'string') return paramsOf(req);
  for (const key in query) if (key !== 'dataCollectionId') return paramsOf(req);
  const collectionId = query.dataCollectionId;
  if (typeof collectionId !== 'string') return paramsOf(req);
  const bad = unstorable(collectionId) ?? unstorable(id);
  if (bad) throw bad;
  return { dataCollectionId: collectionId, dataItemId: id };
}
