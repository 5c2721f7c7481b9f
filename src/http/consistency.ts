/**
 * Session consistency for clients of several API processes (src/items/read-cache.ts).
 *
 * Every successful item write answers with `X-Wix-Consistent: <the time, in ms>`; the published
 * client keeps the latest such header and sends it on every later call (wixClient.js,
 * X_WIX_CONSISTENT_HEADER). A read that carries one issued less than the cache's lifetime ago
 * (plus a margin for clocks that differ between machines) reads from the store, so a client
 * always sees its own writes, whichever process served them. A value Cairn cannot read counts
 * as fresh: the safe side.
 */
export const CONSISTENT_HEADER = 'x-wix-consistent';

/** How far apart two API machines' clocks may be, for a token one issued and another reads. */
const CLOCK_SKEW_MS = 5000;

export function consistencyToken(now: number = Date.now()): string {
  return String(now);
}

/** Whether a request with this header value must not be answered from a cache of `ttlMs`. */
export function needsConsistentRead(header: string | string[] | undefined, ttlMs: number, now: number = Date.now()): boolean {
  if (header === undefined) return false;
  const value = Array.isArray(header) ? header[header.length - 1] : header;
  const issued = Number(value);
  if (value === undefined || value === '' || !Number.isFinite(issued)) return true;
  return now - issued < ttlMs + CLOCK_SKEW_MS;
}
