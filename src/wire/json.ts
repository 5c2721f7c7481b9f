/**
 * JSON values as Cairn stores them: plain JSON where every date is `{"$date": "<ISO>"}` with the
 * ISO string normalised by Date#toISOString (so that dates compare as strings on every store).
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A `{$date: ISO}` object (exactly one key) with a normalised string. */
export function isDateValue(v: unknown): v is { $date: string } {
  if (!isPlainObject(v)) return false;
  const keys = Object.keys(v);
  return keys.length === 1 && keys[0] === '$date' && typeof v.$date === 'string';
}

/** Normalises an ISO-ish date string; undefined when it is not a date. */
/**
 * An ISO 8601 date, or date and time with an optional zone: what the clients send (toISOString).
 * Date.parse alone would take "1" for the year 2001 and any of its other formats.
 */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?$/;

/**
 * An ISO date string in the one form Cairn stores (`YYYY-MM-DDTHH:mm:ss.sssZ`), or undefined.
 * Stored dates compare as text, which orders them as dates for the years 0000 to 9999 only, so
 * those are the years accepted (a zone offset that carries a date outside them is refused too).
 */
export function normaliseDateString(s: string): string | undefined {
  if (s.length > 64 || !ISO_DATE.test(s)) return undefined;
  const t = Date.parse(s);
  if (Number.isNaN(t)) return undefined;
  const iso = new Date(t).toISOString();
  return iso.length === 24 && iso[4] === '-' ? iso : undefined;
}

/**
 * Whether `s` is a date in exactly the form Cairn stores and `Date.toISOString()` writes: how the
 * published client's tasks module sends a `Date`, which it cannot mark as one.
 */
export const isSentDateString = (s: string): boolean => normaliseDateString(s) === s;

export const dateValue = (iso: string): { $date: string } => ({ $date: iso });

/**
 * `out[k] = v` for JSON data: a key named `__proto__` (JSON.parse makes it an own property) stays
 * an own property instead of replacing `out`'s prototype, which would drop it from the data.
 */
export function setOwn(out: Record<string, unknown>, k: string, v: unknown): void {
  if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  else out[k] = v;
}

/** Sorts keys (UTF-16 code unit order) at every depth: the order Cairn writes objects in. */
export function canonicalise(v: JsonValue): JsonValue {
  if (Array.isArray(v)) return v.map(canonicalise);
  if (isPlainObject(v)) {
    const out: JsonObject = {};
    for (const k of Object.keys(v).sort()) setOwn(out, k, canonicalise(v[k] as JsonValue));
    return out;
  }
  return v;
}

export const canonicalJson = (v: JsonValue): string => JSON.stringify(canonicalise(v));
