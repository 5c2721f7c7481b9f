/**
 * Data Items routes, registered under both `/wix-data/v2` and `/_api/cloud-data/v2`. Each route
 * gathers the request into one parameter object (params.ts) and calls the items service; the
 * REST reference's PUT/DELETE/PATCH forms and the SDK's POST forms share the same handlers.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const JSON_TYPE = 'application/json; charset=utf-8';
import type { ItemService } from '../../items/service.js';
import type { WriteContext } from '../../items/writer.js';
import { getByIdParams, paramsOf } from '../params.js';

export interface ItemRoutesOptions {
  items: ItemService;
  writeContext: (req: FastifyRequest) => WriteContext;
}

export async function itemRoutes(app: FastifyInstance, opts: ItemRoutesOptions): Promise<void> {
  const { items, writeContext } = opts;
  const p = paramsOf;

  app.post('/items', (req) => items.insert(p(req), writeContext(req)));
  app.post('/items/update', (req) => items.update(p(req), writeContext(req)));
  app.put('/items/:dataItemId', (req) => items.update(p(req), writeContext(req)));
  app.post('/items/save', (req) => items.save(p(req), writeContext(req)));
  // The reply text comes ready-made (ItemService.getJson): the bytes Fastify would have written.
  const sendJson = (reply: FastifyReply) => (text: string) => reply.type(JSON_TYPE).send(text);
  app.post('/items/get', (req, reply) => items.getJson(p(req), writeContext(req)).then(sendJson(reply)));
  app.get('/items/:dataItemId', (req, reply) => items.getJson(getByIdParams(req), writeContext(req)).then(sendJson(reply)));
  app.post('/items/remove', (req) => items.remove(p(req), writeContext(req)));
  app.delete('/items/:dataItemId', (req) => items.remove(p(req), writeContext(req)));
  app.post('/items/patch', (req) => items.patch(p(req), writeContext(req)));
  app.patch('/items/:dataItemId', (req) => items.patch(p(req), writeContext(req)));
  app.post('/items/truncate', (req) => items.truncate(p(req), writeContext(req)));
  app.post('/items/query', (req) => items.query(p(req), writeContext(req)));
  app.get('/items/query', (req) => items.query(p(req), writeContext(req)));
  app.post('/items/count', (req) => items.count(p(req), writeContext(req)));

  app.post('/bulk/items/insert', (req) => items.bulkInsert(p(req), writeContext(req)));
  app.post('/bulk/items/update', (req) => items.bulkUpdate(p(req), writeContext(req)));
  app.post('/bulk/items/save', (req) => items.bulkSave(p(req), writeContext(req)));
  app.post('/bulk/items/remove', (req) => items.bulkRemove(p(req), writeContext(req)));
  app.post('/bulk/items/patch', (req) => items.bulkPatch(p(req), writeContext(req)));
}
