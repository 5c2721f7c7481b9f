/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): a secret is `whsec_` followed
 * by base64 key bytes; a message is signed as `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>`
 * where `id` is the webhook-id header (the event id) and `timestamp` the webhook-timestamp header
 * (unix seconds of the attempt). docs/webhooks.md shows how a receiver checks it.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const SECRET_PREFIX = 'whsec_';
const MIN_KEY_BYTES = 16;
const MAX_KEY_BYTES = 128;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** A new secret: `whsec_` + base64 of 24 random bytes. */
export function newSecret(): string {
  return SECRET_PREFIX + randomBytes(24).toString('base64');
}

/**
 * The key bytes of a secret, or undefined when it is not `whsec_` + canonical base64 of 16 to
 * 128 bytes.
 */
export function secretKey(secret: string): Buffer | undefined {
  if (!secret.startsWith(SECRET_PREFIX)) return undefined;
  const b64 = secret.slice(SECRET_PREFIX.length);
  if (b64.length % 4 !== 0 || !BASE64.test(b64)) return undefined;
  const key = Buffer.from(b64, 'base64');
  // Buffer.from ignores what it cannot decode: a round trip proves the text was exact base64.
  if (key.toString('base64') !== b64) return undefined;
  if (key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) return undefined;
  return key;
}

/** The webhook-signature header value for one attempt. */
export function sign(key: Buffer, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/** True when any `v1,` signature in a webhook-signature header matches (receivers, tests). */
export function verify(key: Buffer, id: string, timestamp: number, body: string, header: string): boolean {
  const expected = Buffer.from(sign(key, id, timestamp, body));
  return header.split(' ').some((s) => {
    const got = Buffer.from(s);
    return got.length === expected.length && timingSafeEqual(got, expected);
  });
}
