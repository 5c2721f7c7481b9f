/**
 * Item writes and their events, by model: random sequences of single and bulk inserts, updates,
 * saves, patches and removes (ids from a small pool, so they collide, repeat within a request and
 * hit missing items; updates, patches and removes sometimes with a condition) and truncates, sent over HTTP on both stores, beside a model of the
 * collection in JS (patches applied with the writer's own exact function), on a plain collection
 * and on one whose before-hooks change every item they see. After every request:
 * each item's success is the model's, the stored items are the model's, and the events recorded
 * since the request before are exactly one per successful item change, of the right type, each
 * carrying the item as that change left it.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, call, type TestServer } from './helpers/server.js';
import { sql } from '../src/store/sql.js';
import { applyModifications, parseModifications } from '../src/items/patch.js';
import { WixError } from '../src/errors.js';
import { parseFilter } from '../src/query/parse.js';
import { evaluate } from '../src/query/evaluate.js';
import { canonicalJson, type JsonObject, type JsonValue } from '../src/wire/json.js';

const DATA = '/wix-data/v2';
const C = 'modelled';
const TYPE = { created: 'wix.data.v2.data_item_created', updated: 'wix.data.v2.data_item_updated', deleted: 'wix.data.v2.data_item_deleted' } as const;
/** EVENTS_MODEL_SCALE=10 runs ten times as many sequences (for a long local hunt; CI runs 1). */
const SCALE = Math.max(1, Number(process.env.EVENTS_MODEL_SCALE ?? 1) || 1);
const RUNS = 40 * SCALE;

const idArb = fc.constantFrom('k0', 'k1', 'k2', 'k3', 'k4');
const fieldsArb: fc.Arbitrary<JsonObject> = fc.record(
  { n: fc.integer({ min: -3, max: 3 }), s: fc.constantFrom('a', 'B', 'ß', ''), tags: fc.array(fc.constantFrom('x', 'y', 1), { maxLength: 3 }), o: fc.record({ i: fc.integer({ min: 0, max: 2 }) }) },
  { requiredKeys: [] },
) as fc.Arbitrary<JsonObject>;
const modsArb = fc.array(
  fc.oneof(
    fc.record({ fieldPath: fc.constantFrom('n', 's', 'o.i', 'new'), action: fc.constant('SET_FIELD'), setFieldOptions: fc.record({ value: fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constant('v')) }) }),
    fc.record({ fieldPath: fc.constantFrom('n', 'o.i', 's'), action: fc.constant('INCREMENT_FIELD'), incrementFieldOptions: fc.record({ value: fc.integer({ min: -2, max: 2 }) }) }),
    fc.record({ fieldPath: fc.constantFrom('tags', 's'), action: fc.constant('APPEND_TO_ARRAY'), appendToArrayOptions: fc.record({ value: fc.constantFrom('x', 'z') }) }),
    fc.record({ fieldPath: fc.constantFrom('tags'), action: fc.constant('REMOVE_FROM_ARRAY'), removeFromArrayOptions: fc.record({ value: fc.constantFrom('x', 1) }) }),
    fc.record({ fieldPath: fc.constantFrom('n', 'tags', 'o', 'nope'), action: fc.constant('REMOVE_FIELD') }),
  ),
  { minLength: 1, maxLength: 2 },
) as fc.Arbitrary<JsonObject[]>;
const entryArb = fc.tuple(idArb, fieldsArb);
const entriesArb = fc.array(entryArb, { minLength: 1, maxLength: 4 });

/** Conditions for update, remove and patch: checked on the item as it is at the write. */
const conditionArb = fc.option(fc.constantFrom<JsonObject>({ n: { $gt: 0 } }, { s: 'a' }, { tags: { $hasSome: ['x'] } }, { n: { $exists: false } }, { $or: [{ s: 'B' }, { 'o.i': 1 }] }), { freq: 2, nil: undefined });
type Op =
  | { kind: 'insert' | 'save'; bulk: boolean; entries: [string, JsonObject][] }
  | { kind: 'update'; bulk: boolean; entries: [string, JsonObject][]; condition: JsonObject | undefined }
  | { kind: 'patch'; bulk: boolean; patches: [string, JsonObject[]][]; condition: JsonObject | undefined }
  | { kind: 'remove'; bulk: boolean; ids: string[]; condition: JsonObject | undefined }
  | { kind: 'truncate' };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(fc.constantFrom('insert', 'save') as fc.Arbitrary<'insert' | 'save'>, fc.boolean(), entriesArb).map(([kind, bulk, entries]) => ({ kind, bulk, entries: bulk ? entries : entries.slice(0, 1) })) },
  { weight: 2, arbitrary: fc.tuple(fc.boolean(), entriesArb, conditionArb).map(([bulk, entries, condition]) => ({ kind: 'update' as const, bulk, entries: bulk ? entries : entries.slice(0, 1), condition })) },
  { weight: 4, arbitrary: fc.tuple(fc.boolean(), fc.array(fc.tuple(idArb, modsArb), { minLength: 1, maxLength: 4 }), conditionArb).map(([bulk, patches, condition]) => ({ kind: 'patch' as const, bulk, patches: bulk ? patches : patches.slice(0, 1), condition })) },
  { weight: 2, arbitrary: fc.tuple(fc.boolean(), fc.array(idArb, { minLength: 1, maxLength: 3 }), conditionArb).map(([bulk, ids, condition]) => ({ kind: 'remove' as const, bulk, ids: bulk ? ids : ids.slice(0, 1), condition })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'truncate' as const }) },
);

/** What the model expects of one item of a request: success, and the event it records. */
interface Expected {
  success: boolean;
  /** Not an item of the request: an event only (a patched item's one event). */
  extra?: boolean;
  event?: { type: string; id: string; data?: JsonObject };
}

/** Whether `item` (present) matches `condition` (none: always). */
function holds(condition: JsonObject | undefined, item: JsonObject | undefined): boolean {
  return item !== undefined && (condition === undefined || evaluate(parseFilter(condition), item));
}

/** A user-fields copy of a stored document (system fields other than _id dropped). */
function userFields(doc: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(doc)) if (k === '_id' || !k.startsWith('_')) out[k] = v as JsonValue;
  return out;
}

/**
 * Two collections: a plain one, and one whose data hooks stamp each written item with how it was
 * written (before-hooks take another path through the writer: the item is read, hooked, then
 * written, never by the SQL fast paths).
 */
const SETUPS = [
  { label: 'no hooks', hooked: false },
  { label: 'before-hooks that change the item', hooked: true },
] as const;
const stamp = (item: JsonObject, via: 'insert' | 'update') => ({ ...item, via });

for (const storeName of STORE_NAMES) for (const setup of SETUPS) {
  describe(`item writes and their events follow the model (${storeName}, ${setup.label})`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(storeName, {
        runner: false,
        ...(setup.hooked ? { hooks: { hooks: { [C]: { beforeInsert: (item: JsonObject) => stamp(item, 'insert'), beforeUpdate: (item: JsonObject) => stamp(item, 'update') } } } } : {}),
      });
      assert.equal((await call(s.url, 'POST', `${DATA}/collections`, { collection: { id: C } })).status, 200);
    });
    after(() => s.close());

    let since = 0;
    const newEvents = async () => {
      const rows = await s.store.db.all<{ seq: number | string; type: string; entity_id: string; data: string | JsonObject | null }>(
        sql`SELECT seq, type, entity_id, data FROM events WHERE collection_id = ${C} AND seq > ${since} ORDER BY seq`,
      );
      if (rows.length) since = Number(rows[rows.length - 1]?.seq);
      return rows.map((r) => {
        const data = r.data === null ? undefined : userFields(typeof r.data === 'string' ? (JSON.parse(r.data) as JsonObject) : r.data);
        return { type: r.type, id: r.entity_id, ...(data ? { data } : {}) };
      });
    };
    const storedItems = async () => {
      const r = await call(s.url, 'POST', `${DATA}/items/query`, { dataCollectionId: C, query: { paging: { limit: 100 } } });
      assert.equal(r.status, 200);
      return Object.fromEntries(r.body.dataItems.map((i: { id: string; data: JsonObject }) => [i.id, userFields(i.data)]));
    };

    /** Applies `op` to `model`; returns each item's expected outcome, in request order. */
    function expect(model: Map<string, JsonObject>, op: Op): Expected[] {
      switch (op.kind) {
        case 'insert':
        case 'update':
        case 'save': {
          const seen = new Set<string>();
          return op.entries.map(([id, fields]) => {
            const exists = model.has(id);
            // An id repeated within one bulk update or save fails the later times (WDE0075, docs/errors.md).
            const repeated = seen.has(id) && op.kind !== 'insert';
            seen.add(id);
            if (repeated || (op.kind === 'insert' && exists) || (op.kind === 'update' && !exists)) return { success: false };
            if (op.kind === 'update' && !holds(op.condition, model.get(id))) return { success: false };
            const sent = JSON.parse(JSON.stringify({ ...fields, _id: id })) as JsonObject; // fast-check's records have no prototype
            const doc = setup.hooked ? stamp(sent, exists ? 'update' : 'insert') : sent;
            model.set(id, doc);
            return { success: true, event: { type: exists ? TYPE.updated : TYPE.created, id, data: doc } };
          });
        }
        case 'patch': {
          // Several patches of one item apply in order, but the item is written once: one event,
          // carrying the item as the last of them left it (docs/events.md).
          const outcomes: Expected[] = op.patches.map(([id, mods]) => {
            const before = model.get(id);
            if (!before || !holds(op.condition, before)) return { success: false };
            const patched = applyModifications(before, parseModifications(mods, 'patch'));
            if (patched instanceof WixError) return { success: false };
            model.set(id, setup.hooked ? stamp(patched, 'update') : patched);
            return { success: true };
          });
          const written = [...new Set(op.patches.filter((_, i) => outcomes[i]?.success).map(([id]) => id))];
          const events = written.map((id) => ({ success: true, event: { type: TYPE.updated, id, data: model.get(id) as JsonObject } }));
          // The outcomes carry no events; the written items' events ride on entries of their own.
          return [...outcomes, ...events.map((e) => ({ ...e, extra: true }))];
        }
        case 'remove':
          return op.ids.map((id) => {
            if (!holds(op.condition, model.get(id)) || !model.delete(id)) return { success: false };
            return { success: true, event: { type: TYPE.deleted, id } };
          });
        case 'truncate': {
          const ids = [...model.keys()];
          model.clear();
          return ids.map((id) => ({ success: true, event: { type: TYPE.deleted, id } }));
        }
      }
    }

    /** Sends `op`; resolves to each item's success, in request order (truncate: none). */
    async function send(op: Op): Promise<boolean[] | 'truncated'> {
      const single = (r: { status: number; body: any }) => {
        assert.ok(r.status === 200 || (r.status >= 400 && r.status < 500), `${JSON.stringify(op)} → ${r.status} ${JSON.stringify(r.body)}`);
        return [r.status === 200];
      };
      const bulk = (r: { status: number; body: any }) => {
        assert.equal(r.status, 200, `${JSON.stringify(op)} → ${JSON.stringify(r.body)}`);
        return r.body.results.map((x: { itemMetadata: { success: boolean } }) => x.itemMetadata.success) as boolean[];
      };
      switch (op.kind) {
        case 'insert':
        case 'update':
        case 'save': {
          const items = op.entries.map(([id, fields]) => ({ id, data: { ...fields, _id: id } }));
          const condition = op.kind === 'update' && op.condition ? { condition: { filter: op.condition } } : {};
          if (op.bulk) return bulk(await call(s.url, 'POST', `${DATA}/bulk/items/${op.kind}`, { dataCollectionId: C, dataItems: items, ...condition }));
          const path = op.kind === 'insert' ? '/items' : `/items/${op.kind}`;
          return single(await call(s.url, 'POST', DATA + path, { dataCollectionId: C, dataItem: items[0], ...condition }));
        }
        case 'patch': {
          const patches = op.patches.map(([dataItemId, fieldModifications]) => ({ dataItemId, fieldModifications }));
          const condition = op.condition ? { condition: { filter: op.condition } } : {};
          if (op.bulk) return bulk(await call(s.url, 'POST', `${DATA}/bulk/items/patch`, { dataCollectionId: C, patches, ...condition }));
          return single(await call(s.url, 'POST', `${DATA}/items/patch`, { dataCollectionId: C, patch: patches[0], ...condition }));
        }
        case 'remove': {
          const condition = op.condition ? { condition: { filter: op.condition } } : {};
          if (op.bulk) return bulk(await call(s.url, 'POST', `${DATA}/bulk/items/remove`, { dataCollectionId: C, dataItemIds: op.ids, ...condition }));
          return single(await call(s.url, 'POST', `${DATA}/items/remove`, { dataCollectionId: C, dataItemId: op.ids[0], ...condition }));
        }
        case 'truncate': {
          const r = await call(s.url, 'POST', `${DATA}/items/truncate`, { dataCollectionId: C });
          assert.equal(r.status, 200);
          return 'truncated';
        }
      }
    }

    /** Key order inside a document does not matter (PostgreSQL's jsonb keeps its own). */
    const key = (e: { type: string; id: string; data?: JsonObject }) => canonicalJson([e.type, e.id, e.data ?? null]);

    test(`${RUNS} random sequences of writes: outcomes, items and events as the model says`, async () => {
      let events = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 20 }), async (ops) => {
          assert.equal((await call(s.url, 'POST', `${DATA}/items/truncate`, { dataCollectionId: C })).status, 200);
          await newEvents();
          const model = new Map<string, JsonObject>();
          for (const [step, op] of ops.entries()) {
            const expected = expect(model, op);
            const got = await send(op);
            const where = `step ${step}: ${JSON.stringify(op)}`;
            if (got !== 'truncated') assert.deepEqual(got, expected.filter((e) => !e.extra).map((e) => e.success), `${where}: item outcomes`);
            const want = expected.flatMap((e) => (e.event ? [e.event] : []));
            const recorded = await newEvents();
            // The order of one request's events follows the store's, not the request's: compared as multisets.
            assert.deepEqual(recorded.map(key).sort(), want.map(key).sort(), `${where}: events`);
            assert.equal(canonicalJson(await storedItems()), canonicalJson(Object.fromEntries(model)), `${where}: items`);
            events += recorded.length;
          }
        }),
        { numRuns: RUNS, includeErrorInReport: true },
      );
      assert.ok(events > RUNS * 2, `only ${events} events`);
    });
  });
}
