/**
 * Webhook subscriptions under /cairn/v1/webhooks (docs/webhooks.md). Admin only: when an admin
 * key is configured (CAIRN_ADMIN_KEY), every request must carry `Authorization: <key>` or
 * `Authorization: Bearer <key>`; without one the routes are open (local development).
 */
import type { FastifyInstance } from 'fastify';
import type { WebhookService } from '../../events/webhooks.js';
import { paramsOf } from '../params.js';
import { adminAuthorized, sendUnauthorized } from '../admin.js';

export interface WebhookRoutesOptions {
  webhooks: WebhookService;
  adminKey?: string | undefined;
}

export async function webhookRoutes(app: FastifyInstance, { webhooks, adminKey }: WebhookRoutesOptions): Promise<void> {
  if (adminKey) {
    app.addHook('onRequest', async (req, reply) => {
      if (!adminAuthorized(req, adminKey)) return sendUnauthorized(reply);
    });
  }
  app.post('/webhooks', async (req) => ({ webhook: await webhooks.create(paramsOf(req)) }));
  app.get('/webhooks', async () => ({ webhooks: await webhooks.list() }));
  app.get('/webhooks/:id', async (req) => ({ webhook: await webhooks.get(paramsOf(req).id) }));
  app.delete('/webhooks/:id', async (req) => {
    await webhooks.remove(paramsOf(req).id);
    return {};
  });
  app.get('/webhooks/:id/deliveries', (req) => webhooks.deliveries(paramsOf(req)));
  app.post('/webhooks/:id/deliveries/replay', (req) => webhooks.replay(paramsOf(req)));
}
