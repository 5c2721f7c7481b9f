/**
 * Resolves every request's identity once, before routing work starts, from its Authorization
 * header: `<key>` as the published client sends it, or `Bearer <key>`; a JWT there is a member
 * token. No header (or the empty one the SDK sends without auth) is an anonymous visitor.
 * Credentials that do not check out answer 401 at once rather than falling back to anonymous,
 * so a mistyped key is reported, not silently given less access. Failed attempts are counted per
 * address and answered 429 past the limit; requests are counted per principal the same way.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WixError } from '../errors.js';
import { ANONYMOUS, principalOf, type Identity } from './identity.js';
import type { KeyService } from './keys.js';
import { looksLikeJwt, type MemberTokenVerifier } from './jwt.js';
import { WindowCounter } from './limits.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent the request (src/auth/identity.ts). */
    identity: Identity;
  }
}

export interface AuthOptions {
  keys: KeyService;
  /** CAIRN_ADMIN_KEY, compared in constant time. */
  adminKey?: string | undefined;
  memberTokens?: MemberTokenVerifier | undefined;
  /** Requests per minute per principal (0: no limit). The admin key is never limited. */
  rateLimit?: number;
  /** Failed authentications per minute per address before 429 (0: no limit). */
  authFailureLimit?: number;
}

const MINUTE = 60_000;

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function tooMany(reply: FastifyReply, retryMs: number, what: string): FastifyReply {
  const error = new WixError('WDE0014', `Too many ${what}: try again in ${Math.ceil(retryMs / 1000)} s`);
  return reply.status(429).header('retry-after', String(Math.ceil(retryMs / 1000))).send(error.toEnvelope());
}

export function unauthenticated(reply: FastifyReply, description: string): FastifyReply {
  return reply.status(401).header('www-authenticate', 'Bearer').send(new WixError('UNAUTHENTICATED', description).toEnvelope());
}

export function installAuthentication(app: FastifyInstance, options: AuthOptions): void {
  const adminDigest = options.adminKey ? digest(options.adminKey) : undefined;
  const requests = options.rateLimit ? new WindowCounter(options.rateLimit, MINUTE) : undefined;
  const failures = options.authFailureLimit ? new WindowCounter(options.authFailureLimit, MINUTE) : undefined;

  async function identify(token: string): Promise<Identity | undefined> {
    if (adminDigest && timingSafeEqual(digest(token), adminDigest)) return { kind: 'admin', keyId: undefined };
    if (looksLikeJwt(token)) {
      const member = options.memberTokens ? await options.memberTokens(token) : undefined;
      return member === undefined ? undefined : { kind: 'member', memberId: member };
    }
    return options.keys.authenticate(token);
  }

  // Decorated with null (Fastify refuses a shared object as a default); the hook always sets it.
  app.decorateRequest('identity', null as never);
  app.addHook('onRequest', async (req: FastifyRequest, reply: FastifyReply) => {
    const header = req.headers.authorization;
    const token = header === undefined ? '' : header.replace(/^bearer\s+/i, '').trim();
    req.identity = ANONYMOUS;
    if (token !== '') {
      const blocked = failures?.blockedFor(req.ip) ?? 0;
      if (blocked > 0) return tooMany(reply, blocked, 'failed authentications from this address');
      const identity = await identify(token);
      if (identity === undefined) {
        failures?.hit(req.ip);
        // Never echo the credential: the description says what was wrong, not what was sent.
        return unauthenticated(reply, 'The credentials in the Authorization header are not valid (unknown or revoked API key, or an invalid member token)');
      }
      req.identity = identity;
    }
    if (requests && req.identity.kind !== 'admin') {
      const over = requests.hit(principalOf(req.identity) ?? `ip:${req.ip}`);
      if (over > 0) return tooMany(reply, over, 'requests for this key');
    }
  });
}
