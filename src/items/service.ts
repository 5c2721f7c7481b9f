/**
 * The items API as the routes call it: reads a Wix request object, resolves the collection and
 * scope, and hands the work to ItemReader / ItemWriter. Request-shape errors are thrown here,
 * before any transaction starts.
 *
 * Data hooks fire here and nowhere else: a call whose collection has hooks for it goes to
 * HookedCall (src/hooks/items.ts, docs/hooks.md); every other call costs one map lookup more.
 * Background tasks call ItemWriter directly and fire no hooks.
 */
import type { CollectionService } from '../collections/service.js';
import { WixError } from '../errors.js';
import { parseFields, parseFilter } from '../query/parse.js';
import type { FieldPath, FilterNode } from '../query/ast.js';
import { asArray, optionalBoolean, optionalObject } from '../validate.js';
import { isPlainObject, type JsonObject, type JsonValue } from '../wire/json.js';
import { planDistinct } from './distinct.js';
import { planAggregate } from './aggregate.js';
import { planPipeline } from './pipeline.js';
import { createDraft, publishDraft, unpublish, type DraftDeps } from './drafts.js';
import { planSearch } from './search.js';
import { readDataItem, readItemData, validItemId, type IncomingItem, type WireItem } from './codec.js';
import { ItemReader, planQuery, type PagingMetadata } from './query.js';
import { makeScope, type ItemScope } from './scope.js';
import { parsePatch } from './patch.js';
import { ItemWriter, type BulkAction, type InTransaction, type ItemOutcome, type WriteContext } from './writer.js';
import type { ItemPatch } from './patch.js';
import type { HookName } from '../hooks/model.js';
import type { HookRunner } from '../hooks/runner.js';
import { HookedCall } from '../hooks/items.js';
import { itemAccess, requireAdmin, type ItemOperation } from '../auth/permissions.js';
import { ADMIN } from '../auth/identity.js';
import {
  anyReferenceField,
  bulkReferenceResponse,
  bulkReferences,
  multiReferenceField,
  refuseMultiReferencePatches,
  readIncludes,
  readReference,
  referenceId,
  REFERENCE_BULK_LIMIT,
  takeReferenceValues,
  type DataItemReference,
  type QueryReferencedResult,
  type ReferenceBulkResponse,
  References,
} from './references.js';

export const BULK_LIMIT = 1000;

/** The site owner's id: the owner of items admins create (CAIRN_OWNER_ID overrides it). */
export const DEFAULT_OWNER_ID = '00000000-0000-0000-0000-000000000001';

/** The context of calls made from code with the site's authority (tests, benchmarks, the embedded library). */
export const ADMIN_CONTEXT: WriteContext = { ownerId: DEFAULT_OWNER_ID, identity: ADMIN };

export interface BulkResult {
  action: BulkAction;
  itemMetadata: { id?: string; originalIndex: number; success: boolean; error?: ReturnType<WixError['toApplicationError']> };
  dataItem?: WireItem;
}

export interface BulkResponse {
  results: BulkResult[];
  bulkActionMetadata: { totalSuccesses: number; totalFailures: number };
}

export function bulkResponse(action: BulkAction, outcomes: readonly ItemOutcome[], returnEntity: boolean): BulkResponse {
  let ok = 0;
  const results = outcomes.map((o): BulkResult => {
    if (o.ok) {
      ok++;
      const r: BulkResult = { action, itemMetadata: { id: o.id, originalIndex: o.originalIndex, success: true } };
      if (returnEntity) r.dataItem = o.item;
      return r;
    }
    const meta: BulkResult['itemMetadata'] = { originalIndex: o.originalIndex, success: false, error: o.error.toApplicationError() };
    if (o.id !== undefined) meta.id = o.id;
    return { action, itemMetadata: meta };
  });
  return { results, bulkActionMetadata: { totalSuccesses: ok, totalFailures: outcomes.length - ok } };
}

/** A single call's outcome: the item, or its error thrown. */
export function single(outcomes: readonly ItemOutcome[]): ItemOutcome & { ok: true } {
  const o = outcomes[0];
  if (!o) throw new Error('no outcome for a single-item write');
  if (!o.ok) throw o.error;
  return o;
}

/** The hooks each operation can fire (onFailure goes with all of them): docs/hooks.md. */
const INSERT_HOOKS: readonly HookName[] = ['beforeInsert', 'afterInsert'];
const UPDATE_HOOKS: readonly HookName[] = ['beforeUpdate', 'afterUpdate'];
const SAVE_HOOKS: readonly HookName[] = ['beforeInsert', 'afterInsert', 'beforeUpdate', 'afterUpdate'];
const REMOVE_HOOKS: readonly HookName[] = ['beforeRemove', 'afterRemove'];
const GET_HOOKS: readonly HookName[] = ['beforeGet', 'afterGet'];
const QUERY_HOOKS: readonly HookName[] = ['beforeQuery', 'afterQuery'];
const COUNT_HOOKS: readonly HookName[] = ['beforeCount', 'afterCount'];
const DISTINCT_HOOKS: readonly HookName[] = ['beforeDistinct', 'afterDistinct'];

export class ItemService {
  readonly reader: ItemReader;
  readonly writer: ItemWriter;
  readonly references: References;

  constructor(
    private readonly collections: CollectionService,
    reader: ItemReader,
    writer: ItemWriter,
    /** Data hooks (src/hooks); undefined when no hooks module is configured. */
    private readonly hooks?: HookRunner,
  ) {
    this.reader = reader;
    this.writer = writer;
    this.references = new References(writer.db, collections);
  }

  /**
   * The call with hooks (src/hooks/items.ts) when the request's collection has any of `names`
   * or onFailure and the request does not say `suppressHooks: true`; else undefined, and the
   * caller runs its own code, the same as with no hooks module at all.
   */
  private hooked(p: JsonObject, names: readonly HookName[], ctx: WriteContext): HookedCall | undefined {
    if (p.suppressHooks !== undefined && optionalBoolean(p.suppressHooks, 'suppressHooks')) return undefined;
    const hooks = this.hooks?.for(p.dataCollectionId);
    if (hooks === undefined || !(hooks.onFailure || names.some((n) => hooks[n]))) return undefined;
    return new HookedCall(this, this.hooks as HookRunner, hooks, p.dataCollectionId as string, ctx);
  }

  /**
   * The collection, environment and draft visibility of a call, and what the caller may reach in
   * it for `op` (src/auth/permissions.ts): a denied call fails here, before anything is read or
   * written. Save needs both insert and update; its scope carries the update rule.
   */
  async scope(p: JsonObject, ctx: WriteContext, op: ItemOperation | 'save'): Promise<ItemScope> {
    const collection = await this.collections.get(p.dataCollectionId as string);
    if (op === 'save') itemAccess(ctx.identity, collection, 'insert');
    const access = itemAccess(ctx.identity, collection, op === 'save' ? 'update' : op);
    const ppo = optionalObject(p.publishPluginOptions, 'publishPluginOptions');
    const legacy = isPlainObject(p.options) && isPlainObject(p.options.publishPluginOptions) ? p.options.publishPluginOptions : undefined;
    const includeDrafts =
      optionalBoolean(ppo?.includeDraftItems, 'publishPluginOptions.includeDraftItems') ??
      optionalBoolean(legacy?.showDraftItems, 'options.publishPluginOptions.showDraftItems');
    return makeScope(collection, p.environment, includeDrafts, access);
  }

  condition(p: JsonObject): FilterNode | undefined {
    const c = optionalObject(p.condition, 'condition');
    return c ? parseFilter(c.filter) : undefined;
  }

  async insert(p: JsonObject, ctx: WriteContext): Promise<{ dataItem: WireItem }> {
    const hooked = this.hooked(p, INSERT_HOOKS, ctx);
    if (hooked) return hooked.insert(p);
    const item = readDataItem(p.dataItem);
    const scope = await this.scope(p, ctx, 'insert');
    const refs = this.savedReferences(p, scope, [item]);
    return this.withIncluded(p, scope, ctx, { dataItem: single(await this.writer.insert(scope, [item], ctx, refs)).item });
  }

  /**
   * Reference values of items being written (references.ts, takeReferenceValues): REFERENCE
   * values given as items become ids, MULTI_REFERENCE values leave the data. With
   * `saveReferences: true` the latter replace the items' references, in the write's transaction.
   */
  savedReferences(p: JsonObject, scope: ItemScope, items: readonly IncomingItem[]): InTransaction | undefined {
    const save = optionalBoolean(p.saveReferences, 'saveReferences') === true;
    const wanted = items.map((it, i) => takeReferenceValues(scope.collection, it, items.length === 1 ? 'dataItem.data' : `dataItems[${i}].data`));
    if (!save || wanted.every((w) => w === undefined)) return undefined;
    const fields = [...new Set(wanted.flatMap((w) => (w ? [...w.keys()] : [])))].map((key) => multiReferenceField(scope.collection, key));
    return {
      // Before the write locks its items: the reference lock comes first everywhere (references.ts).
      first: (tx) => this.references.lockForWrite(tx, scope, fields),
      then: async (tx, outcomes) => {
        for (const [i, w] of wanted.entries()) {
          const o = outcomes[i];
          if (!w || !o?.ok) continue;
          for (const [key, ids] of w) await this.references.replace(scope, multiReferenceField(scope.collection, key), o.id, ids, tx);
        }
      },
    };
  }

  /** A single-item reply with the request's `includeReferencedItems` / `includeReferences` resolved. */
  async withIncluded<T extends { dataItem: WireItem }>(p: JsonObject, scope: ItemScope, ctx: WriteContext, reply: T, projection: readonly FieldPath[] = []): Promise<T> {
    await this.includeInto(p, scope, ctx, [reply.dataItem], projection);
    return reply;
  }

  /** Resolves the request's included references into `items` (in place). */
  async includeInto(p: JsonObject, scope: ItemScope, ctx: WriteContext, items: WireItem[], projection: readonly FieldPath[] = []): Promise<void> {
    let includes = readIncludes(p);
    // A projection that leaves a reference field out leaves out its included items too.
    if (includes && projection.length > 0) includes = includes.filter((inc) => projection.some((f) => f.segments[0] === inc.field));
    if (includes?.length) await this.references.include(scope, ctx.identity, items, includes);
  }

  /** The item of an update request (`dataItem`, and the path id of `PUT /items/{id}`). */
  updateItem(p: JsonObject): IncomingItem {
    const item = readDataItem(p.dataItem);
    if (typeof p.dataItemId === 'string' && p.dataItemId) {
      // PUT /items/{dataItem.id}: the path names the item; a body naming another one is refused.
      const pathId = validItemId(p.dataItemId);
      if (item.id === undefined) item.id = pathId;
      else if (item.id !== pathId) throw new WixError('WDE0075', `dataItem.id [${item.id}] and the path id [${pathId}] differ`);
    }
    if (item.id === undefined) throw new WixError('WDE0007', 'Invalid update. Updated object must have a string _id property.');
    return item;
  }

  async update(p: JsonObject, ctx: WriteContext): Promise<{ dataItem: WireItem }> {
    const hooked = this.hooked(p, UPDATE_HOOKS, ctx);
    if (hooked) return hooked.update(p);
    const item = this.updateItem(p);
    const condition = this.condition(p);
    const scope = await this.scope(p, ctx, 'update');
    const refs = this.savedReferences(p, scope, [item]);
    return this.withIncluded(p, scope, ctx, { dataItem: single(await this.writer.update(scope, [item], condition, refs)).item });
  }

  async save(p: JsonObject, ctx: WriteContext): Promise<{ action: 'INSERTED' | 'UPDATED'; dataItem: WireItem }> {
    const hooked = this.hooked(p, SAVE_HOOKS, ctx);
    if (hooked) return hooked.save(p);
    const item = readDataItem(p.dataItem);
    const scope = await this.scope(p, ctx, 'save');
    const refs = this.savedReferences(p, scope, [item]);
    const o = single(await this.writer.save(scope, [item], ctx, refs));
    return this.withIncluded(p, scope, ctx, { action: o.saved ?? 'INSERTED', dataItem: o.item });
  }

  async get(p: JsonObject, ctx: WriteContext): Promise<{ dataItem: WireItem }> {
    const hooked = this.hooked(p, GET_HOOKS, ctx);
    if (hooked) return hooked.get(p);
    const id = validItemId(p.dataItemId);
    const fields = parseFields(p.fields);
    const scope = await this.scope(p, ctx, 'read');
    return this.withIncluded(p, scope, ctx, { dataItem: await this.reader.get(scope, id, fields) }, fields);
  }

  /** `get`'s reply as JSON text, the same bytes, built without parsing the item when it can be. */
  async getJson(p: JsonObject, ctx: WriteContext): Promise<string> {
    const hooked = this.hooked(p, GET_HOOKS, ctx);
    if (hooked || readIncludes(p)) return JSON.stringify(await (hooked ? hooked.get(p) : this.get(p, ctx)));
    const id = validItemId(p.dataItemId);
    const fields = parseFields(p.fields);
    const scope = await this.scope(p, ctx, 'read');
    const consistent = optionalBoolean(p.consistentRead, 'consistentRead') === true || ctx.consistentRead === true;
    return `{"dataItem":${await this.reader.getJson(scope, id, fields, consistent)}}`;
  }

  async remove(p: JsonObject, ctx: WriteContext): Promise<{ dataItem: WireItem }> {
    const hooked = this.hooked(p, REMOVE_HOOKS, ctx);
    if (hooked) return hooked.remove(p);
    const id = validItemId(p.dataItemId);
    const condition = this.condition(p);
    const scope = await this.scope(p, ctx, 'remove');
    return { dataItem: single(await this.writer.remove(scope, [id], condition)).item };
  }

  async truncate(p: JsonObject, ctx: WriteContext): Promise<Record<string, never>> {
    const scope = await this.scope(p, ctx, 'remove');
    requireAdmin(ctx.identity, scope.collection, 'truncate');
    await this.writer.truncate(scope);
    return {};
  }

  async query(p: JsonObject, ctx: WriteContext): Promise<{ dataItems: WireItem[]; pagingMetadata: PagingMetadata }> {
    const hooked = this.hooked(p, QUERY_HOOKS, ctx);
    if (hooked) return hooked.query(p);
    readIncludes(p);
    const scope = await this.scope(p, ctx, 'read');
    const plan = planQuery(p.query, p.returnTotalCount, scope);
    const result = await this.reader.query(scope, plan);
    await this.includeInto(p, scope, ctx, result.dataItems, plan.fields);
    return result;
  }

  async count(p: JsonObject, ctx: WriteContext): Promise<{ totalCount: number }> {
    const hooked = this.hooked(p, COUNT_HOOKS, ctx);
    if (hooked) return hooked.count(p);
    const filter = parseFilter(p.filter);
    const scope = await this.scope(p, ctx, 'read');
    return { totalCount: await this.reader.count(scope, filter) };
  }

  async distinct(p: JsonObject, ctx: WriteContext): Promise<{ distinctValues: JsonValue[]; pagingMetadata: PagingMetadata }> {
    const hooked = this.hooked(p, DISTINCT_HOOKS, ctx);
    if (hooked) return hooked.distinct(p);
    const scope = await this.scope(p, ctx, 'read');
    return this.reader.distinct(scope, planDistinct(p, scope));
  }

  /** Search: a query with text (search.ts). No data hooks fire (Velo has none for search). */
  async search(p: JsonObject, ctx: WriteContext): Promise<{ dataItems: WireItem[]; pagingMetadata: PagingMetadata }> {
    readIncludes(p);
    const scope = await this.scope(p, ctx, 'read');
    const plan = planSearch(p, scope);
    const result = await this.reader.query(scope, plan);
    await this.includeInto(p, scope, ctx, result.dataItems, plan.fields);
    return result;
  }

  /** The Draft Items plugin's calls (drafts.ts). */
  private get drafts(): DraftDeps {
    return { writer: this.writer, scope: (p, ctx, op) => this.scope(p, ctx, op), collection: (id) => this.collections.get(id) };
  }

  createDraft(p: JsonObject, ctx: WriteContext): Promise<{ dataItem: WireItem }> {
    return createDraft(this.drafts, p, ctx);
  }

  publishDraft(p: JsonObject, ctx: WriteContext): Promise<{ dataItem: WireItem }> {
    return publishDraft(this.drafts, p, ctx);
  }

  unpublish(p: JsonObject, ctx: WriteContext): Promise<{ dataItem?: WireItem }> {
    return unpublish(this.drafts, p, ctx);
  }

  /** An aggregation pipeline (pipeline.ts): no data hooks fire, as for aggregate. */
  async aggregatePipeline(p: JsonObject, ctx: WriteContext): Promise<{ results: JsonValue[]; pagingMetadata: PagingMetadata }> {
    const scope = await this.scope(p, ctx, 'read');
    return this.reader.pipeline(scope, planPipeline(p, scope));
  }

  /** Aggregation: no data hooks fire (Velo has none for it). */
  async aggregate(p: JsonObject, ctx: WriteContext): Promise<{ results: JsonValue[]; pagingMetadata: PagingMetadata }> {
    const scope = await this.scope(p, ctx, 'read');
    return this.reader.aggregate(scope, planAggregate(p, scope));
  }

  /** The items of a bulk insert, update or save request. */
  bulkItems(p: JsonObject): IncomingItem[] {
    const list = asArray(p.dataItems, 'dataItems', 'WDE0005');
    if (list.length === 0) throw new WixError('WDE0005', 'dataItems must not be empty');
    if (list.length > BULK_LIMIT) throw new WixError('WDE0006', `Cannot write more than ${BULK_LIMIT} items in one request`);
    return list.map((raw, i) => readDataItem(raw, `dataItems[${i}]`));
  }

  async bulkInsert(p: JsonObject, ctx: WriteContext): Promise<BulkResponse> {
    const hooked = this.hooked(p, INSERT_HOOKS, ctx);
    if (hooked) return hooked.bulkInsert(p);
    const items = this.bulkItems(p);
    // Every parameter is checked before the write: a 400 must mean nothing was written.
    const returnEntity = optionalBoolean(p.returnEntity, 'returnEntity') ?? false;
    const scope = await this.scope(p, ctx, 'insert');
    const refs = this.savedReferences(p, scope, items);
    return bulkResponse('INSERT', await this.writer.insert(scope, items, ctx, refs), returnEntity);
  }

  /** The items of a bulk update request: each must have an id. */
  bulkUpdateItems(p: JsonObject): IncomingItem[] {
    const items = this.bulkItems(p);
    items.forEach((it, i) => {
      if (it.id === undefined) throw new WixError('WDE0007', `dataItems[${i}] must have an id to be updated`);
    });
    return items;
  }

  async bulkUpdate(p: JsonObject, ctx: WriteContext): Promise<BulkResponse> {
    const hooked = this.hooked(p, UPDATE_HOOKS, ctx);
    if (hooked) return hooked.bulkUpdate(p);
    const items = this.bulkUpdateItems(p);
    const condition = this.condition(p);
    const returnEntity = optionalBoolean(p.returnEntity, 'returnEntity') ?? false;
    const scope = await this.scope(p, ctx, 'update');
    const refs = this.savedReferences(p, scope, items);
    return bulkResponse('UPDATE', await this.writer.update(scope, items, condition, refs), returnEntity);
  }

  async bulkSave(p: JsonObject, ctx: WriteContext): Promise<BulkResponse> {
    const hooked = this.hooked(p, SAVE_HOOKS, ctx);
    if (hooked) return hooked.bulkSave(p);
    const items = this.bulkItems(p);
    const returnEntity = optionalBoolean(p.returnEntity, 'returnEntity') ?? false;
    const scope = await this.scope(p, ctx, 'save');
    const refs = this.savedReferences(p, scope, items);
    const outcomes = await this.writer.save(scope, items, ctx, refs);
    // A saved item is reported as INSERT or UPDATE, whichever happened.
    const response = bulkResponse('UPDATE', outcomes, returnEntity);
    response.results.forEach((r, i) => {
      const o = outcomes[i];
      if (o?.ok) r.action = o.saved === 'INSERTED' ? 'INSERT' : 'UPDATE';
    });
    return response;
  }

  /** The patch of a Patch request: `{patch: {dataItemId, fieldModifications}}`; the REST form puts the id in the path. */
  singlePatch(p: JsonObject): ItemPatch {
    const raw = optionalObject(p.patch, 'patch') ?? {};
    // PATCH /items/{dataItemId}: the path names the item; a body naming another one is refused.
    if (raw.dataItemId !== undefined && p.dataItemId !== undefined && raw.dataItemId !== p.dataItemId) {
      throw new WixError('WDE0075', `patch.dataItemId [${String(raw.dataItemId)}] and the path id [${String(p.dataItemId)}] differ`);
    }
    const id = raw.dataItemId ?? p.dataItemId;
    const patch = parsePatch({ ...raw, dataItemId: id }, 'patch');
    validItemId(patch.id);
    return patch;
  }

  async patch(p: JsonObject, ctx: WriteContext): Promise<{ dataItem: WireItem }> {
    const hooked = this.hooked(p, UPDATE_HOOKS, ctx);
    if (hooked) return hooked.patch(p);
    const patch = this.singlePatch(p);
    const condition = this.condition(p);
    const scope = await this.scope(p, ctx, 'update');
    refuseMultiReferencePatches(scope.collection, [patch]);
    return { dataItem: single(await this.writer.patch(scope, [patch], condition, { needEntities: true })).item };
  }

  /** The patches of a BulkPatch request. */
  bulkPatches(p: JsonObject): ItemPatch[] {
    const list = asArray(p.patches, 'patches', 'WDE0080');
    if (list.length === 0) throw new WixError('WDE0080', 'patches must not be empty');
    if (list.length > BULK_LIMIT) throw new WixError('WDE0080', `Cannot patch more than ${BULK_LIMIT} items in one request`);
    const patches = list.map((raw, i) => parsePatch(raw, `patches[${i}]`));
    for (const patch of patches) validItemId(patch.id);
    return patches;
  }

  async bulkPatch(p: JsonObject, ctx: WriteContext): Promise<BulkResponse> {
    const hooked = this.hooked(p, UPDATE_HOOKS, ctx);
    if (hooked) return hooked.bulkPatch(p);
    const patches = this.bulkPatches(p);
    const condition = this.condition(p);
    const returnEntity = optionalBoolean(p.returnEntity, 'returnEntity') ?? false;
    const scope = await this.scope(p, ctx, 'update');
    refuseMultiReferencePatches(scope.collection, patches);
    return bulkResponse('PATCH', await this.writer.patch(scope, patches, condition, { needEntities: returnEntity }), returnEntity);
  }

  /** The ids of a BulkRemove request. */
  bulkIds(p: JsonObject): string[] {
    const ids = asArray(p.dataItemIds, 'dataItemIds', 'WDE0068');
    if (ids.length === 0) throw new WixError('WDE0068', 'dataItemIds must not be empty');
    if (ids.length > BULK_LIMIT) throw new WixError('WDE0069', `Cannot remove more than ${BULK_LIMIT} items in one request`);
    return ids.map((id) => {
      if (typeof id !== 'string' || id.length === 0) throw new WixError('WDE0068', 'Item ids must be an array of strings');
      return id;
    });
  }

  async bulkRemove(p: JsonObject, ctx: WriteContext): Promise<BulkResponse> {
    const hooked = this.hooked(p, REMOVE_HOOKS, ctx);
    if (hooked) return hooked.bulkRemove(p);
    const checked = this.bulkIds(p);
    const condition = this.condition(p);
    const returnEntity = optionalBoolean(p.returnEntity, 'returnEntity') ?? false;
    const scope = await this.scope(p, ctx, 'remove');
    return bulkResponse('DELETE', await this.writer.remove(scope, checked, condition), returnEntity);
  }

  // References (references.ts, docs/references.md). Changing an item's references needs the
  // collection's update permission; reading them, its read permission.

  insertReference(p: JsonObject, ctx: WriteContext): Promise<{ dataItemReference: DataItemReference }> {
    return this.changeReference(p, ctx, 'insert');
  }

  bulkInsertReferences(p: JsonObject, ctx: WriteContext): Promise<ReferenceBulkResponse> {
    return this.changeReferences(p, ctx, 'insert');
  }

  removeReference(p: JsonObject, ctx: WriteContext): Promise<{ dataItemReference: DataItemReference }> {
    return this.changeReference(p, ctx, 'remove');
  }

  bulkRemoveReferences(p: JsonObject, ctx: WriteContext): Promise<ReferenceBulkResponse> {
    return this.changeReferences(p, ctx, 'remove');
  }

  /** One reference inserted or removed: its failure is the call's error. */
  private async changeReference(p: JsonObject, ctx: WriteContext, change: 'insert' | 'remove'): Promise<{ dataItemReference: DataItemReference }> {
    const ref = readReference(p.dataItemReference, 'dataItemReference');
    const scope = await this.scope(p, ctx, 'update');
    const [o] = await this.references[change](scope, [ref]);
    if (o && !o.ok) throw o.error;
    return { dataItemReference: ref };
  }

  /** Up to 1000 references inserted or removed, a result each. */
  private async changeReferences(p: JsonObject, ctx: WriteContext, change: 'insert' | 'remove'): Promise<ReferenceBulkResponse> {
    const refs = bulkReferences(p);
    const returnEntity = optionalBoolean(p.returnEntity, 'returnEntity') ?? false;
    const scope = await this.scope(p, ctx, 'update');
    return bulkReferenceResponse(change === 'insert' ? 'INSERT' : 'DELETE', refs, await this.references[change](scope, refs), returnEntity);
  }

  async replaceReferences(p: JsonObject, ctx: WriteContext): Promise<{ dataItemReferences: DataItemReference[] }> {
    const referringId = referenceId(p.referringItemId, 'referringItemId');
    const list = p.newReferencedItemIds === undefined || p.newReferencedItemIds === null ? [] : asArray(p.newReferencedItemIds, 'newReferencedItemIds');
    if (list.length > REFERENCE_BULK_LIMIT) throw new WixError('WDE0080', `newReferencedItemIds may name at most ${REFERENCE_BULK_LIMIT} items`);
    const ids = list.map((v, i) => referenceId(v, `newReferencedItemIds[${i}]`));
    const scope = await this.scope(p, ctx, 'update');
    const field = multiReferenceField(scope.collection, p.referringItemFieldName);
    return { dataItemReferences: await this.references.replace(scope, field, referringId, ids) };
  }

  async isReferenced(p: JsonObject, ctx: WriteContext): Promise<{ isReferenced: boolean }> {
    const referringId = referenceId(p.referringItemId, 'referringItemId');
    const referencedId = referenceId(p.referencedItemId, 'referencedItemId');
    const scope = await this.scope(p, ctx, 'read');
    const field = anyReferenceField(scope.collection, p.referringItemFieldName);
    return { isReferenced: await this.references.isReferenced(scope, field, referringId, referencedId) };
  }

  async queryReferenced(p: JsonObject, ctx: WriteContext): Promise<{ results: QueryReferencedResult[]; pagingMetadata: PagingMetadata }> {
    const scope = await this.scope(p, ctx, 'read');
    return this.references.query(scope, ctx.identity, p);
  }
}

export { readItemData };
