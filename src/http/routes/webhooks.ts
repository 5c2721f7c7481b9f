/**
 * Webhook subscriptions under /cairn/v1/webhooks (docs/webhooks.md): for API keys holding
 * SCOPE.CAIRN.WEBHOOKS (the admin key holds every scope).
 */
import type { FastifyInstance } from 'fastify';
import type { WebhookService } from '../../events/webhooks.js';
import { paramsOf } from '../params.js';
import { SCOPES } from '../../auth/scopes.js';
import { requireScope } from '../guard.js';
import { cairnSchemas as S } from '../schemas/cairn.js';

export interface WebhookRoutesOptions {
  webhooks: WebhookService;
}

export async function webhookRoutes(app: FastifyInstance, { webhooks }: WebhookRoutesOptions): Promise<void> {
  requireScope(app, () => [SCOPES.webhooks]);
  app.post('/webhooks', { schema: S.createWebhook }, async (req) => ({ webhook: await webhooks.create(paramsOf(req)) }));
  app.get('/webhooks', { schema: S.listWebhooks }, async () => ({ webhooks: await webhooks.list() }));
  app.get('/webhooks/:id', { schema: S.getWebhook }, async (req) => ({ webhook: await webhooks.get(paramsOf(req).id) }));
  app.delete('/webhooks/:id', { schema: S.deleteWebhook }, async (req) => {
    await webhooks.remove(paramsOf(req).id);
    return {};
  });
  app.get('/webhooks/:id/deliveries', { schema: S.deliveries }, (req) => webhooks.deliveries(paramsOf(req)));
  app.post('/webhooks/:id/deliveries/replay', { schema: S.replay }, (req) => webhooks.replay(paramsOf(req)));
}
