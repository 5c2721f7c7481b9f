/**
 * Drafts and environments, by model: a collection with the Publish plugin (new items are drafts)
 * and a sandbox, written by random sequences of single and bulk inserts, updates, saves, patches
 * and removes in LIVE or SANDBOX, with or without includeDraftItems, and publish-status tasks
 * (SET_PUBLISHED_STATUS / SET_DRAFT_STATUS by id), and the sandbox turned on (a copy of the
 * live items) and off, on both stores, beside a model in JS. After
 * every request: each item's success is the model's (get, update, patch and remove see drafts
 * only when asked; insert and save always do), each environment holds the model's items with
 * their `_publishStatus`, and the events since the request before are the model's, each in its
 * environment and carrying the item as written.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, call, type TestServer } from './helpers/server.js';
import { sql } from '../src/store/sql.js';
import { applyModifications, parseModifications } from '../src/items/patch.js';
import { WixError } from '../src/errors.js';
import { canonicalJson, type JsonObject, type JsonValue } from '../src/wire/json.js';

const DATA = '/wix-data/v2';
const C = 'drafted';
const TYPE = { created: 'wix.data.v2.data_item_created', updated: 'wix.data.v2.data_item_updated', deleted: 'wix.data.v2.data_item_deleted' } as const;
const SCALE = Math.max(1, Number(process.env.DRAFTS_MODEL_SCALE ?? 1) || 1);
const RUNS = 30 * SCALE;

type Env = 'LIVE' | 'SANDBOX';
type Status = 'PUBLISHED' | 'DRAFT';
const envArb = fc.constantFrom<Env>('LIVE', 'SANDBOX');
const idArb = fc.constantFrom('k0', 'k1', 'k2', 'k3');
const fieldsArb = fc.record({ n: fc.integer({ min: 0, max: 3 }), s: fc.constantFrom('a', 'b') }, { requiredKeys: [] }) as fc.Arbitrary<JsonObject>;
const modsArb = fc.constantFrom<JsonObject[]>(
  [{ fieldPath: 'n', action: 'INCREMENT_FIELD', incrementFieldOptions: { value: 1 } }],
  [{ fieldPath: 's', action: 'SET_FIELD', setFieldOptions: { value: 'p' } }],
  [{ fieldPath: 'n', action: 'REMOVE_FIELD' }],
  [{ fieldPath: 's', action: 'APPEND_TO_ARRAY', appendToArrayOptions: { value: 'x' } }],
);

type Op =
  | { kind: 'insert' | 'update' | 'save'; env: Env; drafts: boolean; bulk: boolean; entries: [string, JsonObject][] }
  | { kind: 'patch'; env: Env; drafts: boolean; bulk: boolean; patches: [string, JsonObject[]][] }
  | { kind: 'remove'; env: Env; drafts: boolean; bulk: boolean; ids: string[] }
  | { kind: 'get'; env: Env; drafts: boolean; id: string }
  | { kind: 'status'; env: Env; status: Status; ids: string[] }
  | { kind: 'sandbox'; enabled: boolean };
const common = fc.record({ env: envArb, drafts: fc.boolean(), bulk: fc.boolean() });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(fc.constantFrom('insert', 'update', 'save') as fc.Arbitrary<'insert' | 'update' | 'save'>, common, fc.array(fc.tuple(idArb, fieldsArb), { minLength: 1, maxLength: 3 })).map(([kind, c, entries]) => ({ kind, ...c, entries: c.bulk ? entries : entries.slice(0, 1) })) },
  { weight: 3, arbitrary: fc.tuple(common, fc.array(fc.tuple(idArb, modsArb), { minLength: 1, maxLength: 3 })).map(([c, patches]) => ({ kind: 'patch' as const, ...c, patches: c.bulk ? patches : patches.slice(0, 1) })) },
  { weight: 2, arbitrary: fc.tuple(common, fc.array(idArb, { minLength: 1, maxLength: 2 })).map(([c, ids]) => ({ kind: 'remove' as const, ...c, ids: c.bulk ? ids : ids.slice(0, 1) })) },
  { weight: 2, arbitrary: fc.record({ env: envArb, drafts: fc.boolean(), id: idArb }).map((o) => ({ kind: 'get' as const, ...o })) },
  { weight: 3, arbitrary: fc.record({ env: envArb, status: fc.constantFrom<Status>('PUBLISHED', 'DRAFT'), ids: fc.uniqueArray(idArb, { minLength: 1, maxLength: 3 }) }).map((o) => ({ kind: 'status' as const, ...o })) },
  { weight: 1, arbitrary: fc.boolean().map((enabled) => ({ kind: 'sandbox' as const, enabled })) },
);

interface Row {
  doc: JsonObject;
  status: Status;
}
interface Model {
  LIVE: Map<string, Row>;
  SANDBOX: Map<string, Row>;
  sandbox: boolean;
}
interface Expected {
  success?: boolean;
  event?: { type: string; env: Env; id: string; data?: JsonObject };
}

const plain = (o: unknown) => JSON.parse(JSON.stringify(o)) as JsonObject;
/** The user fields and `_id` of a document, with its publish status. */
function shown(doc: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(doc)) if (k === '_id' || k === '_publishStatus' || !k.startsWith('_')) out[k] = v as JsonValue;
  return out;
}

for (const storeName of STORE_NAMES) {
  describe(`drafts and environments follow the model (${storeName})`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(storeName);
      const r = await call(s.url, 'POST', `${DATA}/collections`, { collection: { id: C, plugins: [{ type: 'PUBLISH', publishOptions: { defaultStatus: 'DRAFT' } }] } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal((await call(s.url, 'POST', `/cairn/v1/collections/${C}/sandbox`, { enabled: true })).status, 200);
    });
    after(() => s.close());

    let since = 0;
    const newEvents = async () => {
      const rows = await s.store.db.all<{ seq: number | string; type: string; env: string; entity_id: string; data: string | JsonObject | null }>(
        sql`SELECT seq, type, env, entity_id, data FROM events WHERE collection_id = ${C} AND seq > ${since} ORDER BY seq`,
      );
      if (rows.length) since = Number(rows[rows.length - 1]?.seq);
      // Task events name the collection too; only item events are modelled.
      return rows.filter((r) => r.type.startsWith('wix.data.v2.data_item_')).map((r) => ({ type: r.type, env: r.env, id: r.entity_id, ...(r.data === null ? {} : { data: shown(typeof r.data === 'string' ? (JSON.parse(r.data) as JsonObject) : r.data) }) }));
    };
    const stored = async (env: Env) => {
      const r = await call(s.url, 'POST', `${DATA}/items/query`, { dataCollectionId: C, environment: env, publishPluginOptions: { includeDraftItems: true }, query: { paging: { limit: 100 } } });
      if (env === 'SANDBOX' && r.status === 400 && r.body?.details?.applicationError?.code === 'WDE0119') return {};
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return Object.fromEntries(r.body.dataItems.map((i: { id: string; data: JsonObject }) => [i.id, shown(i.data)]));
    };

    function expect(model: Model, op: Op): Expected[] {
      if (op.kind === 'sandbox') {
        // Turning it on replaces the sandbox's items with copies of the live ones; off drops them.
        const gone = [...model.SANDBOX.keys()].map((id) => ({ event: { type: TYPE.deleted, env: 'SANDBOX' as Env, id } }));
        model.SANDBOX = new Map();
        model.sandbox = op.enabled;
        if (!op.enabled) return gone;
        for (const [id, row] of model.LIVE) model.SANDBOX.set(id, { doc: { ...row.doc }, status: row.status });
        return [...gone, ...[...model.SANDBOX].map(([id, row]) => ({ event: { type: TYPE.created, env: 'SANDBOX' as Env, id, data: { ...row.doc, _publishStatus: row.status } } }))];
      }
      // SANDBOX without a sandbox: the whole call is refused (400 WDE0119), nothing changes.
      if (op.env === 'SANDBOX' && !model.sandbox) {
        if (op.kind === 'status') return [];
        const n = op.kind === 'get' ? 1 : op.kind === 'patch' ? op.patches.length : op.kind === 'remove' ? op.ids.length : op.entries.length;
        return Array.from({ length: n }, () => ({ success: false }));
      }
      if (op.kind === 'status') {
        const items = model[op.env];
        return op.ids.flatMap((id) => {
          const row = items.get(id);
          if (!row) return [];
          row.status = op.status;
          return [{ event: { type: TYPE.updated, env: op.env, id, data: { ...row.doc, _publishStatus: op.status } } }];
        });
      }
      const items = model[op.env];
      const visible = (id: string) => {
        const row = items.get(id);
        return row && (op.drafts || row.status === 'PUBLISHED') ? row : undefined;
      };
      const written = (id: string, row: Row, type: string): Expected => ({ success: true, event: { type, env: op.env, id, data: { ...row.doc, _publishStatus: row.status } } });
      switch (op.kind) {
        case 'get':
          return [{ success: visible(op.id) !== undefined }];
        case 'insert':
        case 'update':
        case 'save': {
          const seen = new Set<string>();
          return op.entries.map(([id, fields]) => {
            const repeated = seen.has(id) && op.kind !== 'insert';
            seen.add(id);
            const existing = items.get(id);
            const doc = plain({ ...fields, _id: id });
            if (repeated) return { success: false };
            if (op.kind === 'insert') {
              if (existing) return { success: false };
              const row = { doc, status: 'DRAFT' as Status };
              items.set(id, row);
              return written(id, row, TYPE.created);
            }
            if (op.kind === 'update') {
              const row = visible(id);
              if (!row) return { success: false };
              row.doc = doc;
              return written(id, row, TYPE.updated);
            }
            // Save sees drafts too: an existing item of either status is replaced, keeping its status.
            if (existing) {
              existing.doc = doc;
              return written(id, existing, TYPE.updated);
            }
            const row = { doc, status: 'DRAFT' as Status };
            items.set(id, row);
            return written(id, row, TYPE.created);
          });
        }
        case 'patch': {
          const outcomes: Expected[] = op.patches.map(([id, mods]) => {
            const row = visible(id);
            if (!row) return { success: false };
            const after = applyModifications(row.doc, parseModifications(mods, 'patch'));
            if (after instanceof WixError) return { success: false };
            row.doc = after;
            return { success: true };
          });
          const ids = [...new Set(op.patches.filter((_, i) => outcomes[i]?.success).map(([id]) => id))];
          return [...outcomes, ...ids.map((id) => ({ event: written(id, items.get(id) as Row, TYPE.updated).event }))];
        }
        case 'remove':
          return op.ids.map((id) => {
            if (!visible(id)) return { success: false };
            items.delete(id);
            return { success: true, event: { type: TYPE.deleted, env: op.env, id } };
          });
      }
    }

    async function send(op: Op): Promise<boolean[]> {
      if (op.kind === 'sandbox') {
        const r = await call(s.url, 'POST', `/cairn/v1/collections/${C}/sandbox`, { enabled: op.enabled });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return [];
      }
      const scope = { dataCollectionId: C, environment: op.env, ...(op.kind !== 'status' && op.drafts ? { publishPluginOptions: { includeDraftItems: true } } : {}) };
      const single = (r: { status: number; body: any }) => {
        assert.ok(r.status === 200 || r.status === 404 || r.status === 409 || r.status === 400, `${JSON.stringify(op)} → ${r.status} ${JSON.stringify(r.body)}`);
        return [r.status === 200];
      };
      const count = op.kind === 'patch' ? op.patches.length : op.kind === 'remove' ? op.ids.length : op.kind === 'get' || op.kind === 'status' ? 1 : op.entries.length;
      const bulk = (r: { status: number; body: any }) => {
        // A call refused as a whole (SANDBOX without a sandbox): every item failed.
        if (r.status === 400 && r.body?.details?.applicationError?.code === 'WDE0119') return Array.from({ length: count }, () => false);
        assert.equal(r.status, 200, `${JSON.stringify(op)} → ${JSON.stringify(r.body)}`);
        return r.body.results.map((x: { itemMetadata: { success: boolean } }) => x.itemMetadata.success) as boolean[];
      };
      switch (op.kind) {
        case 'status': {
          const operation = op.status === 'PUBLISHED' ? 'SET_PUBLISHED_STATUS' : 'SET_DRAFT_STATUS';
          const r = await call(s.url, 'POST', '/cms/v1/tasks', { task: { type: 'UPDATE_PUBLISH_STATUS', updatePublishStatusOptions: { dataCollectionId: C, environment: op.env, filter: { _id: { $in: op.ids } }, operation } } });
          if (r.status !== 200) {
            // Only a SANDBOX task without a sandbox may be refused.
            assert.equal(op.env, 'SANDBOX', JSON.stringify(r.body));
            assert.equal(r.body?.details?.applicationError?.code, 'WDE0119', JSON.stringify(r.body));
            return [];
          }
          const done = await s.lib.waitForTask(r.body.task.id as string);
          assert.ok(done.status === 'COMPLETED' || op.env === 'SANDBOX', JSON.stringify(done));
          return [];
        }
        case 'get':
          return single(await call(s.url, 'POST', `${DATA}/items/get`, { ...scope, dataItemId: op.id }));
        case 'insert':
        case 'update':
        case 'save': {
          const items = op.entries.map(([id, fields]) => ({ id, data: { ...fields, _id: id } }));
          if (op.bulk) return bulk(await call(s.url, 'POST', `${DATA}/bulk/items/${op.kind}`, { ...scope, dataItems: items }));
          return single(await call(s.url, 'POST', DATA + (op.kind === 'insert' ? '/items' : `/items/${op.kind}`), { ...scope, dataItem: items[0] }));
        }
        case 'patch': {
          const patches = op.patches.map(([dataItemId, fieldModifications]) => ({ dataItemId, fieldModifications }));
          if (op.bulk) return bulk(await call(s.url, 'POST', `${DATA}/bulk/items/patch`, { ...scope, patches }));
          return single(await call(s.url, 'POST', `${DATA}/items/patch`, { ...scope, patch: patches[0] }));
        }
        case 'remove':
          if (op.bulk) return bulk(await call(s.url, 'POST', `${DATA}/bulk/items/remove`, { ...scope, dataItemIds: op.ids }));
          return single(await call(s.url, 'POST', `${DATA}/items/remove`, { ...scope, dataItemId: op.ids[0] }));
      }
    }

    const key = (e: { type: string; env: string; id: string; data?: JsonObject }) => canonicalJson([e.type, e.env, e.id, e.data ?? null]);

    test(`${RUNS} random sequences: outcomes, items in each environment, and events as the model says`, async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 15 }), async (ops) => {
          // Empty: no live items, and a sandbox turned on (a copy of no items).
          assert.equal((await call(s.url, 'POST', `${DATA}/items/truncate`, { dataCollectionId: C })).status, 200);
          assert.equal((await call(s.url, 'POST', `/cairn/v1/collections/${C}/sandbox`, { enabled: true })).status, 200);
          await newEvents();
          const model: Model = { LIVE: new Map(), SANDBOX: new Map(), sandbox: true };
          for (const [step, op] of ops.entries()) {
            const expected = expect(model, op);
            const got = await send(op);
            const where = `step ${step}: ${JSON.stringify(op)}`;
            assert.deepEqual(got, expected.filter((e) => e.success !== undefined).map((e) => e.success), `${where}: item outcomes`);
            const want = expected.flatMap((e) => (e.event ? [e.event] : []));
            assert.deepEqual((await newEvents()).map(key).sort(), want.map(key).sort(), `${where}: events`);
            for (const env of ['LIVE', 'SANDBOX'] as const) {
              const modelled = Object.fromEntries([...model[env]].map(([id, row]) => [id, { ...row.doc, _publishStatus: row.status }]));
              assert.equal(canonicalJson(await stored(env)), canonicalJson(modelled), `${where}: items in ${env}`);
            }
          }
        }),
        { numRuns: RUNS, includeErrorInReport: true },
      );
    });
  });
}
