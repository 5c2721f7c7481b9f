/**
 * Data Items routes, registered under both `/wix-data/v2` and `/_api/cloud-data/v2`. Each route
 * gathers the request into one parameter object (params.ts) and calls the items service; the
 * REST reference's PUT/DELETE/PATCH forms and the SDK's POST forms share the same handlers.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const JSON_TYPE = 'application/json; charset=utf-8';
import type { ItemService } from '../../items/service.js';
import type { WriteContext } from '../../items/writer.js';
import { consistencyToken } from '../consistency.js';
import { getByIdParams, paramsOf } from '../params.js';
import { itemSchemas as S } from '../schemas/items.js';

export interface ItemRoutesOptions {
  items: ItemService;
  writeContext: (req: FastifyRequest) => WriteContext;
}

export async function itemRoutes(app: FastifyInstance, opts: ItemRoutesOptions): Promise<void> {
  const { items, writeContext } = opts;
  const p = paramsOf;

  // Item writes answer with a consistency token the published client sends back on later calls,
  // so its reads see its writes on any API process (src/http/consistency.ts).
  const stamped =
    (reply: FastifyReply) =>
    <T>(result: T): T => {
      reply.header('X-Wix-Consistent', consistencyToken());
      return result;
    };
  app.post('/items', { schema: S.insert }, (req, reply) => items.insert(p(req), writeContext(req)).then(stamped(reply)));
  app.post('/items/update', { schema: S.update }, (req, reply) => items.update(p(req), writeContext(req)).then(stamped(reply)));
  app.put('/items/:dataItemId', { schema: S.updateById }, (req, reply) => items.update(p(req), writeContext(req)).then(stamped(reply)));
  app.post('/items/save', { schema: S.save }, (req, reply) => items.save(p(req), writeContext(req)).then(stamped(reply)));
  // The reply text comes ready-made (ItemService.getJson): the bytes Fastify would have written.
  const sendJson = (reply: FastifyReply) => (text: string) => reply.type(JSON_TYPE).send(text);
  app.post('/items/get', { schema: S.get }, (req, reply) => items.getJson(p(req), writeContext(req)).then(sendJson(reply)));
  app.get('/items/:dataItemId', { schema: S.getById }, (req, reply) => items.getJson(getByIdParams(req), writeContext(req)).then(sendJson(reply)));
  app.post('/items/remove', { schema: S.remove }, (req, reply) => items.remove(p(req), writeContext(req)).then(stamped(reply)));
  app.delete('/items/:dataItemId', { schema: S.removeById }, (req, reply) => items.remove(p(req), writeContext(req)).then(stamped(reply)));
  app.post('/items/patch', { schema: S.patch }, (req, reply) => items.patch(p(req), writeContext(req)).then(stamped(reply)));
  app.patch('/items/:dataItemId', { schema: S.patchById }, (req, reply) => items.patch(p(req), writeContext(req)).then(stamped(reply)));
  app.post('/items/truncate', { schema: S.truncate }, (req, reply) => items.truncate(p(req), writeContext(req)).then(stamped(reply)));
  app.post('/items/query', { schema: S.query }, (req) => items.query(p(req), writeContext(req)));
  app.get('/items/query', { schema: S.queryGet }, (req) => items.query(p(req), writeContext(req)));
  app.post('/items/count', { schema: S.count }, (req) => items.count(p(req), writeContext(req)));
  app.post('/items/query-distinct-values', { schema: S.distinct }, (req) => items.distinct(p(req), writeContext(req)));
  app.post('/items/search', { schema: S.search }, (req) => items.search(p(req), writeContext(req)));
  app.post('/items/aggregate', { schema: S.aggregate }, (req) => items.aggregate(p(req), writeContext(req)));
  app.post('/items/aggregate-pipeline', { schema: S.aggregatePipeline }, (req) => items.aggregatePipeline(p(req), writeContext(req)));
  app.post('/items/create-draft', { schema: S.createDraft }, (req) => items.createDraft(p(req), writeContext(req)));
  app.post('/items/publish-draft', { schema: S.publishDraft }, (req) => items.publishDraft(p(req), writeContext(req)));
  app.post('/items/unpublish', { schema: S.unpublish }, (req) => items.unpublish(p(req), writeContext(req)));

  app.post('/bulk/items/insert', { schema: S.bulkInsert }, (req, reply) => items.bulkInsert(p(req), writeContext(req)).then(stamped(reply)));
  app.post('/bulk/items/update', { schema: S.bulkUpdate }, (req, reply) => items.bulkUpdate(p(req), writeContext(req)).then(stamped(reply)));
  app.post('/bulk/items/save', { schema: S.bulkSave }, (req, reply) => items.bulkSave(p(req), writeContext(req)).then(stamped(reply)));
  app.post('/bulk/items/remove', { schema: S.bulkRemove }, (req, reply) => items.bulkRemove(p(req), writeContext(req)).then(stamped(reply)));
  app.post('/items/insert-reference', { schema: S.insertReference }, (req, reply) => items.insertReference(p(req), writeContext(req)).then(stamped(reply)));
  app.post('/items/remove-reference', { schema: S.removeReference }, (req, reply) => items.removeReference(p(req), writeContext(req)).then(stamped(reply)));
  app.post('/bulk/items/insert-references', { schema: S.bulkInsertReferences }, (req, reply) => items.bulkInsertReferences(p(req), writeContext(req)).then(stamped(reply)));
  app.post('/bulk/items/remove-references', { schema: S.bulkRemoveReferences }, (req, reply) => items.bulkRemoveReferences(p(req), writeContext(req)).then(stamped(reply)));
  app.post('/items/replace-references', { schema: S.replaceReferences }, (req, reply) => items.replaceReferences(p(req), writeContext(req)).then(stamped(reply)));
  app.post('/items/is-referenced', { schema: S.isReferenced }, (req) => items.isReferenced(p(req), writeContext(req)));
  app.post('/items/query-referenced', { schema: S.queryReferenced }, (req) => items.queryReferenced(p(req), writeContext(req)));
  app.post('/bulk/items/patch', { schema: S.bulkPatch }, (req, reply) => items.bulkPatch(p(req), writeContext(req)).then(stamped(reply)));
}
