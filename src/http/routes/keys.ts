/**
 * API keys under /cairn/v1/keys (docs/security.md): create (the reply holds the key, the only
 * time it is shown), list, get and revoke. Needs a key with SCOPE.CAIRN.KEYS; a key can only
 * hand on scopes its creator holds.
 */
import type { FastifyInstance } from 'fastify';
import type { KeyService } from '../../auth/keys.js';
import { SCOPES } from '../../auth/scopes.js';
import { requireString } from '../../validate.js';
import { requireScope } from '../guard.js';
import { paramsOf } from '../params.js';
import { cairnSchemas as S } from '../schemas/cairn.js';

export interface KeyRoutesOptions {
  keys: KeyService;
}

export async function keyRoutes(app: FastifyInstance, { keys }: KeyRoutesOptions): Promise<void> {
  requireScope(app, () => [SCOPES.keys]);
  app.post('/keys', { schema: S.createKey }, async (req) => {
    const { key, secret } = await keys.create(req.body, req.identity);
    return { key, apiKey: secret };
  });
  app.get('/keys', { schema: S.listKeys }, async () => ({ keys: await keys.list() }));
  app.get('/keys/:id', { schema: S.getKey }, async (req) => ({ key: await keys.get(requireString(paramsOf(req).id, 'id', 'WDE0080', 128)) }));
  app.delete('/keys/:id', { schema: S.revokeKey }, async (req) => ({ key: await keys.revoke(requireString(paramsOf(req).id, 'id', 'WDE0080', 128)) }));
}
