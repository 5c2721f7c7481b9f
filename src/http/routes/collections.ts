/**
 * Data Collections and Indexes routes (under both Wix prefixes), and Cairn's own collection
 * additions under /cairn/v1.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { NAMED_PLUGIN_CALLS, toWire, validCollectionId } from '../../collections/model.js';
import type { CollectionService } from '../../collections/service.js';
import type { IndexService } from '../../collections/indexes.js';
import type { Clock } from '../../clock.js';
import { asObject, optionalBoolean, optionalInt } from '../../validate.js';
import { WixError } from '../../errors.js';
import { paramsOf } from '../params.js';
import { SCOPES } from '../../auth/scopes.js';
import { requireScope } from '../guard.js';
import { collectionSchemas as S, namedPluginSchemas } from '../schemas/collections.js';

/** Reading schemas needs either data read or collections management; changing them, the latter. */
const collectionScopes = (req: FastifyRequest) => (req.method === 'GET' ? [SCOPES.dataRead, SCOPES.collections] : [SCOPES.collections]);

export interface CollectionRoutesOptions {
  collections: CollectionService;
  indexes: IndexService;
  clock: Clock;
}

export async function collectionRoutes(app: FastifyInstance, opts: CollectionRoutesOptions): Promise<void> {
  const { collections, indexes, clock } = opts;
  const p = paramsOf;
  requireScope(app, collectionScopes);

  app.post('/collections', { schema: S.create }, async (req) => ({ collection: toWire(await collections.create(p(req).collection)) }));
  app.get('/collections/:id', { schema: S.get }, async (req) => ({ collection: toWire(await collections.get(p(req).id as string)) }));
  app.get('/collections', { schema: S.list }, async (req) => {
    const params = p(req);
    const { collections: list, total, offset, limit } = await collections.list(params.paging, params.sort);
    return {
      collections: list.map(toWire),
      pagingMetadata: { count: list.length, offset, total, tooManyToCount: false, hasNext: offset + limit < total },
    };
  });
  app.put('/collections', { schema: S.replace }, async (req) => ({ collection: toWire(await collections.replace(p(req).collection)) }));
  // The REST reference puts the id in the path too; the body's collection is what counts.
  app.put('/collections/:id', { schema: S.replaceById }, async (req) => {
    const params = p(req);
    const c = asObject(params.collection, 'collection', 'WDE0075');
    return { collection: toWire(await collections.replace({ ...c, id: c.id ?? params.id })) };
  });
  app.patch('/collections/:id', { schema: S.patch }, async (req) => {
    const params = p(req);
    return { dataCollection: toWire(await collections.patch(params.id as string, params.dataCollection)) };
  });
  app.patch('/collections/:dataCollectionId/patch-field', { schema: S.patchField }, async (req) => {
    const params = p(req);
    return { dataCollection: toWire(await collections.patchField(params.dataCollectionId as string, params.field)) };
  });
  app.delete('/collections/:id', { schema: S.remove }, async (req) => {
    await collections.remove(p(req).id as string);
    return {};
  });
  // `{dataCollection}`: the client's RestoreDataCollectionResponse (the spec's "others return
  // {collection}" is a summary; the client's types name this reply).
  app.post('/collections/restore/:id', { schema: S.restore }, async (req) => ({ dataCollection: toWire(await collections.restore(p(req).id)) }));
  app.post('/collections/create-field', { schema: S.createField }, async (req) => {
    const params = p(req);
    return { dataCollection: toWire(await collections.createField(params.dataCollectionId as string, params.field)) };
  });
  app.post('/collections/update-field', { schema: S.updateField }, async (req) => {
    const params = p(req);
    return { dataCollection: toWire(await collections.updateField(params.dataCollectionId as string, params.field)) };
  });
  app.post('/collections/delete-field', { schema: S.deleteField }, async (req) => {
    const params = p(req);
    return { dataCollection: toWire(await collections.deleteField(params.dataCollectionId as string, params.fieldKey)) };
  });
  app.post('/collections/add-plugin', { schema: S.addPlugin }, async (req) => {
    const params = p(req);
    return { dataCollection: toWire(await collections.addPlugin(params.dataCollectionId as string, params.plugin)) };
  });
  app.post('/collections/delete-plugin', { schema: S.deletePlugin }, async (req) => {
    const params = p(req);
    return { dataCollection: toWire(await collections.deletePlugin(params.dataCollectionId as string, params.pluginType)) };
  });

  for (const { slug, type, options } of NAMED_PLUGIN_CALLS) {
    const schemas = namedPluginSchemas(slug, type, options);
    app.post(`/collections/add-${slug}-plugin`, { schema: schemas.add }, async (req) => {
      const params = p(req);
      const id = params.dataCollectionId as string;
      const c = type === 'PUBLISH' ? await collections.addPublishPlugin(id, params[options], params.draftItemsPluginConflictAction) : await collections.addPlugin(id, { type, [options]: params[options] ?? {} });
      return { dataCollection: toWire(c) };
    });
    app.post(`/collections/delete-${slug}-plugin`, { schema: schemas.remove }, async (req) => {
      const params = p(req);
      return { dataCollection: toWire(await collections.deletePlugin(params.dataCollectionId as string, type)) };
    });
  }
  app.post('/collections/add-draft-items-plugin', { schema: S.addDraftItemsPlugin }, async (req) => {
    const params = p(req);
    return { dataCollection: toWire(await collections.addDraftItemsPlugin(params.dataCollectionId as string, params.publishPluginConflictAction)) };
  });
  app.post('/collections/delete-draft-items-plugin', { schema: S.deleteDraftItemsPlugin }, async (req) => {
    const params = p(req);
    return { dataCollection: toWire(await collections.deleteDraftItemsPlugin(params.dataCollectionId as string, params.draftItemsRemovalAction)) };
  });

  app.post('/indexes', { schema: S.createIndex }, async (req) => {
    const params = p(req);
    const c = await collections.get(params.dataCollectionId as string);
    return { index: await indexes.create(c, params.index, clock.now().toISOString()) };
  });
  app.get('/indexes/available', { schema: S.availableIndexes }, async (req) => {
    const c = await collections.get(p(req).dataCollectionId as string);
    return indexes.available(c);
  });
  app.get('/indexes', { schema: S.listIndexes }, async (req) => {
    const params = p(req);
    const c = await collections.get(params.dataCollectionId as string);
    const list = await indexes.list(c);
    const paging = params.paging === undefined ? {} : asObject(params.paging, 'paging');
    const limit = optionalInt(paging.limit, 'paging.limit', 0, 1000) ?? 100;
    const offset = optionalInt(paging.offset, 'paging.offset', 0, Number.MAX_SAFE_INTEGER) ?? 0;
    const page = list.slice(offset, offset + limit);
    return { indexes: page, pagingMetadata: { count: page.length, offset, total: list.length, hasNext: offset + limit < list.length } };
  });
  app.delete('/indexes', { schema: S.dropIndex }, async (req) => {
    const params = p(req);
    const c = await collections.get(params.dataCollectionId as string);
    await indexes.remove(c, params.indexName);
    return {};
  });
}

/** Cairn's additions: turning a collection's sandbox environment on and off, syncing it to live; the deleted collections a restore can bring back. */
export async function cairnCollectionRoutes(app: FastifyInstance, opts: CollectionRoutesOptions): Promise<void> {
  // Deleted collections are for those who manage collections, GET or not.
  requireScope(app, (req) => (req.routeOptions.url?.includes('/collections/deleted') ? [SCOPES.collections] : collectionScopes(req)));
  app.get('/collections/deleted', { schema: S.listDeleted }, async (req) => {
    const { deleted, total, offset, limit } = await opts.collections.listDeleted(paramsOf(req).paging);
    return {
      deletedCollections: deleted.map((d) => ({ collection: toWire(d.collection), deletedDate: d.deletedDate, restorableUntil: d.restorableUntil })),
      pagingMetadata: { count: deleted.length, offset, total, tooManyToCount: false, hasNext: offset + limit < total },
    };
  });
  app.delete('/collections/deleted/:id', { schema: S.purgeDeleted }, async (req) => {
    await opts.collections.purgeDeleted(paramsOf(req).id);
    return {};
  });
  app.post('/collections/:id/sandbox/sync', { schema: S.syncSandbox }, async (req) => {
    const params = paramsOf(req);
    return opts.collections.syncSandbox(validCollectionId(params.id, 'id'), params.replace);
  });
  app.post('/collections/:id/sandbox', { schema: S.sandbox }, async (req) => {
    const params = paramsOf(req);
    const enabled = optionalBoolean(params.enabled, 'enabled');
    if (enabled === undefined) throw new WixError('WDE0080', 'enabled (boolean) is required');
    return { collection: toWire(await opts.collections.setSandbox(validCollectionId(params.id, 'id'), enabled)) };
  });
}
