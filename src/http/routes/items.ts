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
import { itemSchemas as S } from '../schemas/items.js';

export interface ItemRoutesOptions {
  items: ItemService;
  writeContext: (req: FastifyRequest) => WriteContext;
}

export async function itemRoutes(app: FastifyInstance, opts: ItemRoutesOptions): Promise<void> {
  const { items, writeContext } = opts;
  const p = paramsOf;

  app.post('/items', { schema: S.insert }, (req) => items.insert(p(req), writeContext(req)));
  app.post('/items/update', { schema: S.update }, (req) => items.update(p(req), writeContext(req)));
  app.put('/items/:dataItemId', { schema: S.updateById }, (req) => items.update(p(req), writeContext(req)));
  app.post('/items/save', { schema: S.save }, (req) => items.save(p(req), writeContext(req)));
  // The reply text comes ready-made (ItemService.getJson): the bytes Fastify would have written.
  const sendJson = (reply: FastifyReply) => (text: string) => reply.type(JSON_TYPE).send(text);
  app.post('/items/get', { schema: S.get }, (req, reply) => items.getJson(p(req), writeContext(req)).then(sendJson(reply)));
  app.get('/items/:dataItemId', { schema: S.getById }, (req, reply) => items.getJson(getByIdParams(req), writeContext(req)).then(sendJson(reply)));
  app.post('/items/remove', { schema: S.remove }, (req) => items.remove(p(req), writeContext(req)));
  app.delete('/items/:dataItemId', { schema: S.removeById }, (req) => items.remove(p(req), writeContext(req)));
  app.post('/items/patch', { schema: S.patch }, (req) => items.patch(p(req), writeContext(req)));
  app.patch('/items/:dataItemId', { schema: S.patchById }, (req) => items.patch(p(req), writeContext(req)));
  app.post('/items/truncate', { schema: S.truncate }, (req) => items.truncate(p(req), writeContext(req)));
  app.post('/items/query', { schema: S.query }, (req) => items.query(p(req), writeContext(req)));
  app.get('/items/query', { schema: S.queryGet }, (req) => items.query(p(req), writeContext(req)));
  app.post('/items/count', { schema: S.count }, (req) => items.count(p(req), writeContext(req)));

  app.post('/bulk/items/insert', { schema: S.bulkInsert }, (req) => items.bulkInsert(p(req), writeContext(req)));
  app.post('/bulk/items/update', { schema: S.bulkUpdate }, (req) => items.bulkUpdate(p(req), writeContext(req)));
  app.post('/bulk/items/save', { schema: S.bulkSave }, (req) => items.bulkSave(p(req), writeContext(req)));
  app.post('/bulk/items/remove', { schema: S.bulkRemove }, (req) => items.bulkRemove(p(req), writeContext(req)));
  app.post('/bulk/items/patch', { schema: S.bulkPatch }, (req) => items.bulkPatch(p(req), writeContext(req)));
}
