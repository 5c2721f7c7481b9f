/**
 * The admin key (CAIRN_ADMIN_KEY) on Cairn's own admin endpoints (webhooks, the event stream).
 * When a key is configured a request must carry `Authorization: <key>` or `Authorization: Bearer
 * <key>` (the scheme in any case); without one the endpoints are open, for local development.
 * Issue 6's API keys and roles will take this over.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** True when `key` is unset, or the request's Authorization header carries it. */
export function adminAuthorized(req: FastifyRequest, key: string | undefined): boolean {
  if (!key) return true;
  const header = req.headers.authorization;
  if (typeof header !== 'string') return false;
  const given = header.replace(/^bearer\s+/i, '').trim();
  // Compared as hashes, in constant time, so neither the key nor its length leaks through timing.
  return timingSafeEqual(digest(given), digest(key));
}

/** 401 in the Wix error envelope. */
export function sendUnauthorized(reply: FastifyReply): FastifyReply {
  const description = 'This endpoint needs the admin key: send Authorization: Bearer <CAIRN_ADMIN_KEY>';
  return reply
    .status(401)
    .header('www-authenticate', 'Bearer')
    .send({ message: description, details: { applicationError: { code: 'UNAUTHENTICATED', description } } });
}
