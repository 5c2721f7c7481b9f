/**
 * Small request-shape checks that answer with Wix error codes. Request bodies are plain JSON, so
 * each check narrows `unknown` to the type the services need.
 */
import { WixError, type ErrorCode } from './errors.js';
import { isPlainObject, type JsonObject } from './wire/json.js';
import { describe } from './query/parse.js';

export function asObject(v: unknown, what: string, code: ErrorCode = 'WDE0080'): JsonObject {
  if (!isPlainObject(v)) throw new WixError(code, `${what} must be an object, got ${describe(v)}`);
  return v;
}

export function optionalObject(v: unknown, what: string): JsonObject | undefined {
  return v === undefined || v === null ? undefined : asObject(v, what);
}

export function requireString(v: unknown, what: string, code: ErrorCode = 'WDE0080', maxLength = 1024): string {
  if (typeof v !== 'string' || v.length === 0) throw new WixError(code, `${what} must be a non-empty string, got ${describe(v)}`);
  if (v.length > maxLength) throw new WixError(code, `${what} is longer than ${maxLength} characters`);
  return v;
}

export function optionalString(v: unknown, what: string, maxLength = 1024): string | undefined {
  return v === undefined || v === null ? undefined : requireString(v, what, 'WDE0080', maxLength);
}

export function optionalBoolean(v: unknown, what: string): boolean | undefined {
  if (v === undefined || v === null) return undefined;
  // Query strings carry booleans as text.
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (typeof v !== 'boolean') throw new WixError('WDE0080', `${what} must be a boolean, got ${describe(v)}`);
  return v;
}

/** A whole number in [min, max]; query strings carry numbers as text. */
export function optionalInt(v: unknown, what: string, min: number, max: number): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) throw new WixError('WDE0035', `${what} must be an integer, got ${describe(v)}`);
  if (n < min) throw new WixError('WDE0034', `${what} must be at least ${min}, got ${n}`);
  if (n > max) throw new WixError('WDE0036', `${what} cannot exceed ${max}, got ${n}`);
  return n;
}

export function asArray(v: unknown, what: string, code: ErrorCode = 'WDE0080'): unknown[] {
  if (!Array.isArray(v)) throw new WixError(code, `${what} must be an array, got ${describe(v)}`);
  return v;
}

export function oneOf<T extends string>(v: unknown, allowed: readonly T[], what: string, fallback?: T): T {
  if ((v === undefined || v === null) && fallback !== undefined) return fallback;
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    throw new WixError('WDE0075', `${what} must be one of ${allowed.join(', ')}, got ${describe(v)}`);
  }
  return v as T;
}
