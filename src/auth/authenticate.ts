/**
 * Resolves every request's identity once, before routing work starts, from its Authorization
 * header: `<key>` as the published client sends it, or `Bearer <key>`; a JWT there is a member
 * token. No header (or the empty one the SDK sends without auth) is an anonymous visitor.
 * Credentials that do not check out answer 401 at once rather than falling back to anonymous,
 * so a mistyped key is reported, not silently given less access. Failed attempts are counted per
 * address and answered 429 past the limit; requests are counted per principal the same way.
 */
import { hash, timingSafeEqual } from 'node:crypto';
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

/** SHA-256 with the one-shot API (about half the cost of createHash for short strings). */
function digest(s: string): Buffer {
  return hash('sha256', s, 'buffer') as unknown as Buffer;
}

const ADMIN_BY_ENV: Identity = { kind: 'admin', keyId: undefined };

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

  /** Counts the request against its principal's window; false when it was answered 429. */
  function withinRate(req: FastifyRequest, reply: FastifyReply): boolean {
    if (!requests || req.identity.kind === 'admin') return true;
    const over = requests.hit(principalOf(req.identity) ?? `ip:${req.ip}`);
    if (over === 0) return true;
    tooMany(reply, over, 'requests for this key');
    return false;
  }

  function refuse(req: FastifyRequest, reply: FastifyReply): void {
    failures?.hit(req.ip);
    // Never echo the credential: the description says what was wrong, not what was sent.
    unauthenticated(reply, 'The credentials in the Authorization header are not valid (unknown or revoked API key, or an invalid member token)');
  }

  // Decorated with null (Fastify refuses a shared object as a default); the hook always sets it.
  app.decorateRequest('identity', null as never);
  // A callback hook, not an async one: the usual requests (no credentials, or the admin key) are
  // decided without a promise; only API keys and member tokens wait for a lookup or a verify.
  app.addHook('onRequest', (req: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) => {
    const header = req.headers.authorization;
    const token = header === undefined || header === '' ? '' : header.replace(/^bearer\s+/i, '').trim();
    req.identity = ANONYMOUS;
    if (token === '') {
      if (withinRate(req, reply)) done();
      return;
    }
    const blocked = failures?.blockedFor(req.ip) ?? 0;
    if (blocked > 0) {
      tooMany(reply, blocked, 'failed authentications from this address');
      return;
    }
    if (adminDigest && timingSafeEqual(digest(token), adminDigest)) {
      req.identity = ADMIN_BY_ENV;
      done();
      return;
    }
    const lookup = looksLikeJwt(token)
      ? (options.memberTokens ? options.memberTokens(token) : Promise.resolve(undefined)).then((m): Identity | undefined => (m === undefined ? undefined : { kind: 'member', memberId: m }))
      : options.keys.authenticate(token);
    lookup.then(
      (identity) => {
        if (identity === undefined) return refuse(req, reply);
        req.identity = identity;
        if (withinRate(req, reply)) done();
      },
      (e: unknown) => done(e instanceof Error ? e : new Error(String(e))),
    );
  });
}
