/**
 * The items API with hooks (docs/hooks.md). ItemService hands a call here only when the request's
 * collection has hooks for that operation (or an onFailure hook) and the request does not say
 * `suppressHooks: true`; every other call takes ItemService's own code, unchanged.
 *
 * One HookedCall serves one request. Writes still go through ItemWriter, called the same way as
 * without hooks; the hooks run around it:
 * - before-hooks run one item at a time, in request order, before the write; what they return
 *   is checked and normalised like a request's item. In a bulk call an item whose hook fails is
 *   reported as that item's failure (WDE0078) and is not written; the others are.
 * - after-hooks run on each written item (or each item of a query page) and replace what the
 *   caller gets back, never what is stored.
 * - onFailure sees every error before the caller does: the error of a single call, and each
 *   failed item of a bulk call.
 */
import { WixError } from '../errors.js';
import type { FieldPath, FilterNode } from '../query/ast.js';
import { normalise } from '../query/normalise.js';
import { evaluate } from '../query/evaluate.js';
import { parseFields, parseFilter } from '../query/parse.js';
import { asObject, optionalBoolean } from '../validate.js';
import { canonicalise, isPlainObject, type JsonObject, type JsonValue } from '../wire/json.js';
import { buildStored, newItemId, readDataItem, readItemData, validItemId, type IncomingItem, type WireItem } from '../items/codec.js';
import { applyModifications, type ItemPatch } from '../items/patch.js';
import { notFound, planQuery, type PagingMetadata, type QueryPlan } from '../items/query.js';
import { planDistinct } from '../items/distinct.js';
import { refuseMultiReferencePatches } from '../items/references.js';
import type { ItemScope } from '../items/scope.js';
import { bulkResponse, single, type BulkResponse, type ItemService } from '../items/service.js';
import type { InTransaction, ItemOutcome, WriteContext } from '../items/writer.js';
import type { CollectionHooks, HookContext, HookName } from './model.js';
import { hookResultError, type HookRunner } from './runner.js';

type ItemHook = 'beforeInsert' | 'beforeUpdate';
type AfterHook = 'afterInsert' | 'afterUpdate' | 'afterRemove' | 'afterGet' | 'afterQuery';

const ID: FieldPath = { segments: ['_id'] };
const UPDATED: FieldPath = { segments: ['_updatedDate'] };
/** The parts of a distinct-values request that beforeDistinct sees and may replace. */
const DISTINCT_KEYS = ['fieldName', 'filter', 'order', 'paging', 'cursorPaging'] as const;
const SYSTEM_KEYS = ['_id', '_createdDate', '_updatedDate', '_owner', '_publishStatus'];

/**
 * How often a hooked patch re-reads an item that another write changed between its read and its
 * write (the hook runs again each time) before it gives up with WDE0079.
 */
export const PATCH_ATTEMPTS = 5;

export class HookedCall {
  readonly context: HookContext;

  constructor(
    private readonly svc: ItemService,
    private readonly runner: HookRunner,
    private readonly hooks: CollectionHooks,
    collectionId: string,
    private readonly write: WriteContext,
  ) {
    this.context = runner.context(collectionId, write);
  }

  // ---- single-item calls: one outcome, its error thrown (after onFailure has seen it)

  insert(p: JsonObject): Promise<{ dataItem: WireItem }> {
    return this.run(async () => {
      const item = readDataItem(p.dataItem);
      const scope = await this.svc.scope(p, this.write, 'insert');
      return this.svc.withIncluded(p, scope, this.write, { dataItem: single(await this.insertItems(scope, [item], p)).item });
    });
  }

  update(p: JsonObject): Promise<{ dataItem: WireItem }> {
    return this.run(async () => {
      const item = this.svc.updateItem(p);
      const condition = this.svc.condition(p);
      const scope = await this.svc.scope(p, this.write, 'update');
      return this.svc.withIncluded(p, scope, this.write, { dataItem: single(await this.updateItems(scope, [item], condition, p)).item });
    });
  }

  save(p: JsonObject): Promise<{ action: 'INSERTED' | 'UPDATED'; dataItem: WireItem }> {
    return this.run(async () => {
      const item = readDataItem(p.dataItem);
      const scope = await this.svc.scope(p, this.write, 'save');
      const o = single(await this.saveItems(scope, [item], p));
      return this.svc.withIncluded(p, scope, this.write, { action: o.saved ?? 'INSERTED', dataItem: o.item });
    });
  }

  remove(p: JsonObject): Promise<{ dataItem: WireItem }> {
    return this.run(async () => {
      const id = validItemId(p.dataItemId);
      const condition = this.svc.condition(p);
      const scope = await this.svc.scope(p, this.write, 'remove');
      return { dataItem: single(await this.removeItems(scope, [id], condition)).item };
    });
  }

  patch(p: JsonObject): Promise<{ dataItem: WireItem }> {
    return this.run(async () => {
      const patch = this.svc.singlePatch(p);
      const condition = this.svc.condition(p);
      const scope = await this.svc.scope(p, this.write, 'update');
      refuseMultiReferencePatches(scope.collection, [patch]);
      return { dataItem: single(await this.patchItems(scope, [patch], condition, true)).item };
    });
  }

  get(p: JsonObject): Promise<{ dataItem: WireItem }> {
    return this.run(async () => {
      let id = validItemId(p.dataItemId);
      const fields = parseFields(p.fields);
      const scope = await this.svc.scope(p, this.write, 'read');
      if (this.hooks.beforeGet) id = this.idFrom('beforeGet', await this.call('beforeGet', id), id);
      const found = await this.svc.withIncluded(p, scope, this.write, { dataItem: await this.svc.reader.get(scope, id, fields) }, fields);
      return { dataItem: await this.after('afterGet', found.dataItem) };
    });
  }

  query(p: JsonObject): Promise<{ dataItems: WireItem[]; pagingMetadata: PagingMetadata }> {
    return this.run(async () => {
      const scope = await this.svc.scope(p, this.write, 'read');
      let raw: unknown = p.query;
      if (this.hooks.beforeQuery) {
        // What the request carried ({filter, sort, fields, paging | cursorPaging}), as sent.
        const query = { ...(raw === undefined || raw === null ? {} : asObject(raw, 'query')) };
        raw = this.object('beforeQuery', await this.call('beforeQuery', query));
      }
      const plan = planQuery(raw, p.returnTotalCount, scope);
      const result = await this.svc.reader.query(scope, plan);
      await this.svc.includeInto(p, scope, this.write, result.dataItems, plan.fields);
      if (this.hooks.afterQuery) {
        for (let i = 0; i < result.dataItems.length; i++) result.dataItems[i] = await this.after('afterQuery', result.dataItems[i] as WireItem);
      }
      return result;
    });
  }

  count(p: JsonObject): Promise<{ totalCount: number }> {
    return this.run(async () => {
      const scope = await this.svc.scope(p, this.write, 'read');
      let raw: unknown = p.filter;
      if (this.hooks.beforeCount) {
        const query = this.object('beforeCount', await this.call('beforeCount', raw === undefined ? {} : { filter: raw }));
        raw = query.filter;
      }
      let totalCount = await this.svc.reader.count(scope, parseFilter(raw));
      if (this.hooks.afterCount) {
        const r = await this.call('afterCount', totalCount);
        if (r !== undefined) {
          if (typeof r !== 'number' || !Number.isFinite(r)) throw hookResultError('afterCount', this.context.collectionName, 'must return a number');
          totalCount = r;
        }
      }
      return { totalCount };
    });
  }

  /**
   * beforeDistinct gets what the request asked (`fieldName`, `filter`, `order` and the paging, as
   * sent) and returns what to run instead; afterDistinct gets each value of the page and returns
   * the value the caller sees.
   */
  distinct(p: JsonObject): Promise<{ distinctValues: JsonValue[]; pagingMetadata: PagingMetadata }> {
    return this.run(async () => {
      const scope = await this.svc.scope(p, this.write, 'read');
      let request = p;
      if (this.hooks.beforeDistinct) {
        const asked: JsonObject = {};
        for (const key of DISTINCT_KEYS) if (p[key] !== undefined) asked[key] = p[key] as JsonValue;
        const changed = this.object('beforeDistinct', await this.call('beforeDistinct', asked));
        request = { ...p };
        for (const key of DISTINCT_KEYS) {
          if (changed[key] === undefined) delete request[key];
          else request[key] = changed[key] as JsonValue;
        }
      }
      const result = await this.svc.reader.distinct(scope, planDistinct(request, scope));
      if (this.hooks.afterDistinct) {
        for (let i = 0; i < result.distinctValues.length; i++) {
          const value = toJson(await this.call('afterDistinct', result.distinctValues[i]));
          if (value === undefined) throw hookResultError('afterDistinct', this.context.collectionName, 'returned a value that is not JSON');
          result.distinctValues[i] = canonicalise(value);
        }
      }
      return result;
    });
  }

  // ---- bulk calls: per-item outcomes; onFailure sees each failed item

  bulkInsert(p: JsonObject): Promise<BulkResponse> {
    return this.run(async () => {
      const items = this.svc.bulkItems(p);
      const returnEntity = optionalBoolean(p.returnEntity, 'returnEntity') ?? false;
      const scope = await this.svc.scope(p, this.write, 'insert');
      return bulkResponse('INSERT', await this.failures(await this.insertItems(scope, items, p)), returnEntity);
    });
  }

  bulkUpdate(p: JsonObject): Promise<BulkResponse> {
    return this.run(async () => {
      const items = this.svc.bulkUpdateItems(p);
      const condition = this.svc.condition(p);
      const returnEntity = optionalBoolean(p.returnEntity, 'returnEntity') ?? false;
      const scope = await this.svc.scope(p, this.write, 'update');
      return bulkResponse('UPDATE', await this.failures(await this.updateItems(scope, items, condition, p)), returnEntity);
    });
  }

  bulkSave(p: JsonObject): Promise<BulkResponse> {
    return this.run(async () => {
      const items = this.svc.bulkItems(p);
      const returnEntity = optionalBoolean(p.returnEntity, 'returnEntity') ?? false;
      const scope = await this.svc.scope(p, this.write, 'save');
      const outcomes = await this.failures(await this.saveItems(scope, items, p));
      const response = bulkResponse('UPDATE', outcomes, returnEntity);
      response.results.forEach((r, i) => {
        const o = outcomes[i];
        if (o?.ok) r.action = o.saved === 'INSERTED' ? 'INSERT' : 'UPDATE';
      });
      return response;
    });
  }

  bulkRemove(p: JsonObject): Promise<BulkResponse> {
    return this.run(async () => {
      const ids = this.svc.bulkIds(p);
      const condition = this.svc.condition(p);
      const returnEntity = optionalBoolean(p.returnEntity, 'returnEntity') ?? false;
      const scope = await this.svc.scope(p, this.write, 'remove');
      return bulkResponse('DELETE', await this.failures(await this.removeItems(scope, ids, condition)), returnEntity);
    });
  }

  bulkPatch(p: JsonObject): Promise<BulkResponse> {
    return this.run(async () => {
      const patches = this.svc.bulkPatches(p);
      const condition = this.svc.condition(p);
      const returnEntity = optionalBoolean(p.returnEntity, 'returnEntity') ?? false;
      const scope = await this.svc.scope(p, this.write, 'update');
      refuseMultiReferencePatches(scope.collection, patches);
      return bulkResponse('PATCH', await this.failures(await this.patchItems(scope, patches, condition, returnEntity)), returnEntity);
    });
  }

  // ---- the pipelines: before-hooks per item, the writer's call, after-hooks per written item

  /**
   * The writer's call for the items the before-hooks passed (as the hooks left them), with their
   * reference values taken out and, under `saveReferences`, saved in the write's transaction.
   */
  private writeReferenced(
    p: JsonObject,
    scope: ItemScope,
    passed: readonly { value: IncomingItem }[],
    write: (items: IncomingItem[], refs: InTransaction | undefined) => Promise<ItemOutcome[]>,
  ): Promise<ItemOutcome[]> {
    const items = passed.map((x) => x.value);
    return write(items, this.svc.savedReferences(p, scope, items));
  }

  private async insertItems(scope: ItemScope, items: IncomingItem[], p: JsonObject): Promise<ItemOutcome[]> {
    // The id is given before the hook runs, so beforeInsert sees the `_id` the item will have.
    if (this.hooks.beforeInsert) for (const item of items) item.id ??= newItemId();
    const { outcomes, passed } = await this.beforeEach(items, (item) => item.id, (item) => this.beforeItem('beforeInsert', item, false));
    if (passed.length) place(outcomes, passed, await this.writeReferenced(p, scope, passed, (items, refs) => this.svc.writer.insert(scope, items, this.writeContext(), refs)));
    return this.afterEach(outcomes, () => 'afterInsert');
  }

  private async updateItems(scope: ItemScope, items: IncomingItem[], condition: FilterNode | undefined, p: JsonObject): Promise<ItemOutcome[]> {
    const { outcomes, passed } = await this.beforeEach(items, (item) => item.id, (item) => this.beforeItem('beforeUpdate', item, true));
    if (passed.length) place(outcomes, passed, await this.writeReferenced(p, scope, passed, (items, refs) => this.svc.writer.update(scope, items, condition, refs)));
    return this.afterEach(outcomes, () => 'afterUpdate');
  }

  /**
   * Save fires beforeInsert or beforeUpdate by whether the item exists, read (drafts included)
   * before the write: an item another call inserts or removes between that read and the write
   * gets the other before-hook. The after-hook follows what the write did (`saved`).
   */
  private async saveItems(scope: ItemScope, items: IncomingItem[], p: JsonObject): Promise<ItemOutcome[]> {
    for (const item of items) item.id ??= newItemId();
    const exists = this.hooks.beforeInsert || this.hooks.beforeUpdate ? await this.current({ ...scope, includeDrafts: true }, items.map((i) => i.id as string)) : new Map();
    const { outcomes, passed } = await this.beforeEach(
      items,
      (item) => item.id,
      (item) => this.beforeItem(exists.has(item.id as string) ? 'beforeUpdate' : 'beforeInsert', item, true),
    );
    if (passed.length) place(outcomes, passed, await this.writeReferenced(p, scope, passed, (items, refs) => this.svc.writer.save(scope, items, this.writeContext(), refs)));
    return this.afterEach(outcomes, (o) => (o.saved === 'UPDATED' ? 'afterUpdate' : 'afterInsert'));
  }

  private async removeItems(scope: ItemScope, ids: readonly string[], condition: FilterNode | undefined): Promise<ItemOutcome[]> {
    const { outcomes, passed } = await this.beforeEach(
      ids,
      (id) => id,
      async (id) => (this.hooks.beforeRemove ? this.idFrom('beforeRemove', await this.call('beforeRemove', id), id) : id),
    );
    if (passed.length) place(outcomes, passed, await this.svc.writer.remove(scope, passed.map((x) => x.value), condition));
    return this.afterEach(outcomes, () => 'afterRemove');
  }

  /**
   * Patches with beforeUpdate: the current items are read, the modifications applied in JS
   * (items/patch.ts, the writer's own semantics), beforeUpdate runs on each new item, and the
   * results are written as full updates (ItemWriter.update) on condition that each item still has
   * the `_updatedDate` that was read. An item changed meanwhile is read and patched again (its
   * hook runs again), so no concurrent change is lost. Without beforeUpdate the writer patches
   * as usual and only afterUpdate runs on the results.
   */
  private async patchItems(scope: ItemScope, patches: readonly ItemPatch[], condition: FilterNode | undefined, needEntities: boolean): Promise<ItemOutcome[]> {
    if (!this.hooks.beforeUpdate) {
      if (!this.hooks.afterUpdate) return this.svc.writer.patch(scope, patches, condition, { needEntities });
      return this.afterEach(await this.svc.writer.patch(scope, patches, condition, { needEntities: true }), () => 'afterUpdate');
    }
    const outcomes: ItemOutcome[] = new Array(patches.length);
    let pending = patches.map((_, i) => i);
    for (let attempt = 1; pending.length > 0; attempt++) {
      pending = await this.patchRound(scope, patches, pending, condition, outcomes, attempt >= PATCH_ATTEMPTS);
    }
    return this.afterEach(outcomes, () => 'afterUpdate');
  }

  /** One read-patch-hook-write round over `indexes`; returns the indexes to do again. */
  private async patchRound(
    scope: ItemScope,
    patches: readonly ItemPatch[],
    indexes: readonly number[],
    condition: FilterNode | undefined,
    outcomes: ItemOutcome[],
    last: boolean,
  ): Promise<number[]> {
    const ids = [...new Set(indexes.map((i) => (patches[i] as ItemPatch).id))];
    const matching = await this.current(scope, ids, condition);
    const missing = ids.filter((id) => !matching.has(id));
    const unmatched = condition && missing.length ? await this.current(scope, missing) : new Map<string, WireItem>();
    interface State {
      version: string;
      system: JsonObject;
      fields: JsonObject;
      item?: IncomingItem;
      steps: { index: number; fields: JsonObject }[];
    }
    const state = new Map<string, State>();
    for (const index of indexes) {
      const patch = patches[index] as ItemPatch;
      const cur = matching.get(patch.id);
      if (!cur) {
        outcomes[index] = failed(index, patch.id, unmatched.has(patch.id) ? conditionFailed(patch.id, scope) : notFound(patch.id, scope));
        continue;
      }
      let st = state.get(patch.id);
      if (!st) {
        st = { version: (cur.data._updatedDate as { $date: string }).$date, system: systemFields(cur.data), fields: userFields(cur.data), steps: [] };
        state.set(patch.id, st);
      } else if (condition && st.steps.length > 0 && !evaluate(condition, { ...st.fields, ...st.system })) {
        // A later patch of the same item meets the condition on the item as the patches before
        // it left it (as in the writer's own patch).
        outcomes[index] = failed(index, patch.id, conditionFailed(patch.id, scope));
        continue;
      }
      const next = applyModifications(st.fields, patch.modifications);
      if (next instanceof WixError) {
        outcomes[index] = failed(index, patch.id, next);
        continue;
      }
      let item: IncomingItem;
      try {
        item = await this.beforeItem('beforeUpdate', { id: patch.id, fields: next, owner: undefined }, true, st.system);
      } catch (e) {
        if (!(e instanceof WixError)) throw e;
        outcomes[index] = failed(index, patch.id, e);
        continue;
      }
      // Over the size limit: this patch fails on its own (the write below would fail them all).
      const created = (st.system._createdDate as { $date: string } | undefined)?.$date ?? new Date(0).toISOString();
      const owner = typeof st.system._owner === 'string' ? st.system._owner : null;
      try {
        buildStored(patch.id, item.fields, created, created, owner);
      } catch (e) {
        if (!(e instanceof WixError)) throw e;
        outcomes[index] = failed(index, patch.id, e);
        continue;
      }
      st.fields = item.fields;
      st.item = item;
      st.steps.push({ index, fields: item.fields });
    }
    const writes = [...state.values()].filter((s): s is State & { item: IncomingItem } => s.item !== undefined);
    if (writes.length === 0) return [];
    // Each item only if it is still the version read: a row changed meanwhile fails to match.
    const versions: FilterNode = {
      kind: 'or',
      children: writes.map((w) => ({
        kind: 'and',
        children: [
          { kind: 'eq', field: ID, value: { type: 'string', value: w.item.id as string } },
          { kind: 'eq', field: UPDATED, value: { type: 'date', value: w.version } },
        ],
      })),
    };
    const guard = normalise(condition ? { kind: 'and', children: [condition, versions] } : versions);
    const written = await this.svc.writer.update(scope, writes.map((w) => w.item), guard);
    const again = new Set<string>();
    writes.forEach((w, j) => {
      const o = written[j] as ItemOutcome;
      const id = w.item.id as string;
      if (o.ok) {
        // Several patches of one item: each reports the item as it was after it.
        w.steps.forEach((s, k) => {
          outcomes[s.index] = k === w.steps.length - 1 ? moved(o, s.index) : { ok: true, originalIndex: s.index, id, item: { ...o.item, data: canonicalise({ ...s.fields, ...systemFields(o.item.data) }) as JsonObject } };
        });
      } else if (o.error.code === 'WDE0073' && !last) {
        again.add(id);
      } else {
        const error =
          o.error.code === 'WDE0073'
            ? new WixError('WDE0079', `Item [${id}] kept changing while the patch and its beforeUpdate hook ran; try again`, { itemId: id })
            : o.error;
        for (const s of w.steps) outcomes[s.index] = failed(s.index, id, error);
      }
    });
    return indexes.filter((i) => again.has((patches[i] as ItemPatch).id));
  }

  // ---- pieces

  /** Runs the call; onFailure sees its error before the caller does. */
  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      await this.runner.failure(this.hooks, e, this.context);
      throw e;
    }
  }

  /** onFailure for each failed item of a bulk call. */
  private async failures(outcomes: ItemOutcome[]): Promise<ItemOutcome[]> {
    if (this.hooks.onFailure) for (const o of outcomes) if (!o.ok) await this.runner.failure(this.hooks, o.error, this.context);
    return outcomes;
  }

  private writeContext(): WriteContext {
    return this.write;
  }

  /** Calls a hook; returns what it returned, or `value` itself (changed in place or not) for undefined. */
  private async call(name: Exclude<HookName, 'onFailure'>, value: unknown): Promise<unknown> {
    const r = await this.runner.call(this.hooks, name, value, this.context);
    return r === undefined ? value : r;
  }

  /**
   * Runs `hook` on each input in order. An input whose hook fails with a WixError (the hook threw,
   * or returned something unusable) gets a failed outcome; the others are `passed` on.
   */
  private async beforeEach<T, U>(
    inputs: readonly T[],
    idOf: (input: T) => string | undefined,
    hook: (input: T) => Promise<U>,
  ): Promise<{ outcomes: ItemOutcome[]; passed: { index: number; value: U }[] }> {
    const outcomes: ItemOutcome[] = new Array(inputs.length);
    const passed: { index: number; value: U }[] = [];
    for (let index = 0; index < inputs.length; index++) {
      const input = inputs[index] as T;
      try {
        passed.push({ index, value: await hook(input) });
      } catch (e) {
        if (!(e instanceof WixError)) throw e;
        outcomes[index] = failed(index, idOf(input), e);
      }
    }
    return { outcomes, passed };
  }

  /** The after-hook on each written item; an after-hook failure becomes the item's failure. */
  private async afterEach(outcomes: ItemOutcome[], hookOf: (o: ItemOutcome & { ok: true }) => AfterHook): Promise<ItemOutcome[]> {
    for (let i = 0; i < outcomes.length; i++) {
      const o = outcomes[i] as ItemOutcome;
      if (!o.ok) continue;
      const name = hookOf(o);
      if (!this.hooks[name]) continue;
      try {
        const item = await this.after(name, o.item);
        outcomes[i] = o.saved ? { ok: true, originalIndex: o.originalIndex, id: o.id, item, saved: o.saved } : { ok: true, originalIndex: o.originalIndex, id: o.id, item };
      } catch (e) {
        if (!(e instanceof WixError)) throw e;
        outcomes[i] = failed(o.originalIndex, o.id, e);
      }
    }
    return outcomes;
  }

  /**
   * beforeInsert / beforeUpdate on an incoming item: the hook sees the wire `data` object (with
   * `_id`, and `system` fields when known) and what it returns is read like a request's item.
   */
  private async beforeItem(name: ItemHook, item: IncomingItem, idFixed: boolean, system?: JsonObject): Promise<IncomingItem> {
    if (!this.hooks[name]) return item;
    const data: JsonObject = { ...item.fields, ...system, _id: item.id as string };
    if (item.owner !== undefined) data._owner = item.owner;
    const next = readItemData(this.object(name, await this.call(name, data)));
    if (next.id === undefined) next.id = item.id;
    else if (idFixed && next.id !== item.id) throw hookResultError(name, this.context.collectionName, `cannot change _id (from [${item.id}] to [${next.id}])`);
    return next;
  }

  /** An after-hook on an item the caller gets back: its result replaces the item's `data` in the reply. */
  private async after(name: AfterHook, item: WireItem): Promise<WireItem> {
    if (!this.hooks[name]) return item;
    const data = this.object(name, await this.call(name, item.data));
    return { ...item, data: canonicalise(data) as JsonObject };
  }

  /** A replacement id from beforeGet / beforeRemove. */
  private idFrom(name: 'beforeGet' | 'beforeRemove', value: unknown, original: string): string {
    if (value === original) return original;
    if (typeof value !== 'string' || value.length === 0) throw hookResultError(name, this.context.collectionName, 'must return an item id (a non-empty string)');
    return validItemId(value);
  }

  /** A hook's result as a JSON object (JS Dates become `{$date}`), or WDE0078. */
  private object(name: HookName, value: unknown): JsonObject {
    const json = toJson(value);
    if (json === undefined) throw hookResultError(name, this.context.collectionName, 'returned a value that is not JSON');
    if (!isPlainObject(json)) throw hookResultError(name, this.context.collectionName, 'must return an object');
    return json;
  }

  /** Items by id in `scope` (and matching `condition`), read as the caller would read them. */
  private async current(scope: ItemScope, ids: readonly string[], condition?: FilterNode): Promise<Map<string, WireItem>> {
    const out = new Map<string, WireItem>();
    const size = 1000;
    for (let i = 0; i < ids.length; i += size) {
      const chunk = ids.slice(i, i + size);
      const byId: FilterNode = { kind: 'in', field: ID, values: chunk.map((value) => ({ type: 'string', value })) };
      const plan: QueryPlan = {
        kind: 'query',
        filter: normalise(condition ? { kind: 'and', children: [byId, condition] } : byId),
        sort: [{ field: ID, order: 'ASC' }],
        fields: [],
        limit: chunk.length,
        offset: 0,
        mode: 'offset',
        returnTotalCount: false,
        raw: { filter: null, sort: null, fields: null },
      };
      for (const item of (await this.svc.reader.query(scope, plan)).dataItems) out.set(item.id, item);
    }
    return out;
  }
}

function failed(index: number, id: string | undefined, error: WixError): ItemOutcome {
  return { ok: false, originalIndex: index, id, error };
}

/** The writer's outcome for the j-th written item, moved to the request index it stands for. */
function moved(o: ItemOutcome, index: number): ItemOutcome {
  if (o.originalIndex === index) return o;
  if (!o.ok) return { ...o, originalIndex: index };
  // The wire item is still built only if someone reads it.
  const r = {
    ok: true as const,
    originalIndex: index,
    id: o.id,
    get item(): WireItem {
      return o.item;
    },
  };
  return o.saved ? Object.assign(r, { saved: o.saved }) : r;
}

function place<T>(outcomes: ItemOutcome[], passed: readonly { index: number; value: T }[], written: readonly ItemOutcome[]): void {
  written.forEach((o, j) => {
    const index = (passed[j] as { index: number }).index;
    outcomes[index] = moved(o, index);
  });
}

function userFields(data: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(data)) if (!SYSTEM_KEYS.includes(k)) out[k] = v;
  return out;
}

function systemFields(data: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const k of SYSTEM_KEYS) if (data[k] !== undefined) out[k] = data[k] as JsonValue;
  return out;
}

/** A deep copy as JSON, with JS Dates as `{$date}`; undefined if the value is not JSON. */
function toJson(value: unknown): JsonValue | undefined {
  try {
    const text = JSON.stringify(value, function (this: Record<string, unknown>, key: string, v: unknown) {
      const original = this[key];
      return original instanceof Date ? { $date: original.toISOString() } : v;
    });
    return text === undefined ? undefined : (JSON.parse(text) as JsonValue);
  } catch {
    return undefined;
  }
}

/** The patch writer's error for an item the request's condition does not match. */
function conditionFailed(id: string, scope: ItemScope): WixError {
  return new WixError('WDE0073', `Item [${id}] in collection [${scope.collection.id}] does not match the condition`, {
    itemId: id,
    collectionId: scope.collection.id,
    reason: 'CONDITION_NOT_MET',
  });
}
