/**
 * Cairn's admin surfaces (collections management, tasks, webhooks, the event stream, keys) are
 * for API keys holding the matching scope. A request with no credentials answers 401; a member or
 * a key without the scope, 403 (WDE0027). Data calls are not guarded here: collection
 * permissions decide them (src/auth/permissions.ts), anonymous visitors included.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { unauthenticated } from '../auth/authenticate.js';
import { hasScope } from '../auth/identity.js';
import type { Scope } from '../auth/scopes.js';
import { WixError } from '../errors.js';

/** Adds an onRequest hook to the plugin `app`: the request must hold one of `scopesFor(req)`. */
export function requireScope(app: FastifyInstance, scopesFor: (req: FastifyRequest) => readonly Scope[]): void {
  app.addHook('onRequest', async (req, reply) => {
    const scopes = scopesFor(req);
    if (req.identity.kind === 'anonymous') {
      return unauthenticated(reply, `This endpoint needs an API key with ${scopes.join(' or ')}: send Authorization: <key>`);
    }
    if (!scopes.some((s) => hasScope(req.identity, s))) {
      const error = new WixError('WDE0027', `Permission denied: this endpoint needs ${scopes.join(' or ')}`);
      return reply.status(403).send(error.toEnvelope());
    }
  });
}
