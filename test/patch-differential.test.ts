/**
 * BulkPatch's set-based SQL paths against its exact JS path, by property: random items and
 * random field modifications (every action, nested and missing paths, values of every type,
 * sometimes a condition filter), sent to two collections holding the same items, one of which
 * has a unique index on an unrelated field and so takes the JS path (the writer keeps per-item
 * clash reporting there; test/fast-paths.test.ts has the fixed cases). The per-item results and
 * the stored items must be the same, on both stores.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { JsonObject, JsonValue } from '../src/wire/json.js';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, call, type TestServer } from './helpers/server.js';
import { filterArb, itemDataArb, numberArb, scalarArb, valueArb } from './helpers/query-arbitraries.js';

const DATA = '/wix-data/v2';
const FAST = 'patched_sql';
const EXACT = 'patched_js';
/** PATCH_DIFF_SCALE=10 runs ten times as many cases (for a long local hunt; CI runs 1). */
const SCALE = Math.max(1, Number(process.env.PATCH_DIFF_SCALE ?? 1) || 1);
const RUNS = 100 * SCALE;

const PATHS = ['n', 's', 'a', 'tags', 'obj', 'obj.x', 'obj.deep.z', 'd', 'new', 'new.deep.er', 'tags.0', 'Größe'];
const ACTIONS = ['SET_FIELD', 'REMOVE_FIELD', 'INCREMENT_FIELD', 'APPEND_TO_ARRAY', 'REMOVE_FROM_ARRAY'] as const;
type Action = (typeof ACTIONS)[number];
/** Increments: mostly integers (the SQL path takes those), sometimes anything. */
const incrementArb = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: -1000, max: 1000 }) }, { weight: 1, arbitrary: numberArb });
/** One modification of `action` on `fieldPath`, its value drawn at random. */
const modificationOf = (fieldPath: string, action: Action): fc.Arbitrary<JsonObject> => {
  switch (action) {
    case 'SET_FIELD':
      return valueArb.map((value) => ({ fieldPath, action, setFieldOptions: { value } }));
    case 'REMOVE_FIELD':
      return fc.constant({ fieldPath, action });
    case 'INCREMENT_FIELD':
      return incrementArb.map((value) => ({ fieldPath, action, incrementFieldOptions: { value } }));
    case 'APPEND_TO_ARRAY':
      return valueArb.map((value) => ({ fieldPath, action, appendToArrayOptions: { value } }));
    case 'REMOVE_FROM_ARRAY':
      return (scalarArb as fc.Arbitrary<JsonValue>).map((value) => ({ fieldPath, action, removeFromArrayOptions: { value } }));
  }
};
/** A shape: the (path, action) sequence of a patch's modifications. */
const pathArb = fc.oneof({ weight: 3, arbitrary: fc.constantFrom('n', 's', 'tags', 'obj', 'obj.x', 'new') }, { weight: 1, arbitrary: fc.constantFrom(...PATHS) });
const shapeArb = fc.array(fc.tuple(pathArb, fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...ACTIONS.slice(0, 4)) }, { weight: 1, arbitrary: fc.constant(ACTIONS[4]) })), { minLength: 1, maxLength: 2 });
const modificationsOf = (shape: readonly (readonly [string, Action])[]) => fc.tuple(...shape.map(([path, action]) => modificationOf(path, action)));
const modificationsArb = shapeArb.chain(modificationsOf);
const ITEMS = 10;
/** The patches' modifications: the same for every patch, one shape with each patch's own values, or each patch its own. */
const formArb: fc.Arbitrary<JsonObject[][]> = fc.oneof(
  modificationsArb.map((mods) => Array.from({ length: ITEMS }, () => mods)),
  shapeArb.chain((shape) => fc.array(modificationsOf(shape), { minLength: ITEMS, maxLength: ITEMS })),
  fc.array(modificationsArb, { minLength: ITEMS, maxLength: ITEMS }),
);

for (const storeName of STORE_NAMES) {
  describe(`BulkPatch: the SQL paths agree with the JS path, random cases (${storeName})`, () => {
    let s: TestServer;
    const api = (method: string, path: string, body?: unknown) => call(s.url, method, path, body);
    before(async () => {
      s = await startServer(storeName, { runner: false });
      for (const id of [FAST, EXACT]) assert.equal((await api('POST', `${DATA}/collections`, { collection: { id } })).status, 200);
      const ix = await api('POST', `${DATA}/indexes`, { dataCollectionId: EXACT, index: { name: 'u_unique', fields: [{ path: 'u', order: 'ASC' }], unique: true } });
      assert.equal(ix.status, 200, JSON.stringify(ix.body));
    });
    after(() => s.close());

    const stored = async (id: string) => {
      const r = await api('POST', `${DATA}/items/query`, { dataCollectionId: id, query: { sort: [{ fieldName: '_id', order: 'ASC' }], paging: { limit: 100 } } });
      assert.equal(r.status, 200);
      return r.body.dataItems.map((i: { data: JsonObject }) => {
        const { _updatedDate, _createdDate, ...rest } = i.data;
        return rest;
      });
    };

    const outcome = (r: { status: number; body: any }) => {
      if (r.status !== 200) return { status: r.status, code: r.body?.details?.applicationError?.code };
      return r.body.results.map((x: any) => ({
        ...x.itemMetadata,
        error: x.itemMetadata.error?.code,
        data: x.dataItem ? { ...x.dataItem.data, _updatedDate: undefined, _createdDate: undefined } : undefined,
      }));
    };

    test(`${RUNS} random BulkPatches: same results and items`, async () => {
      let succeeded = 0;
      let failed = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(itemDataArb, { minLength: 1, maxLength: ITEMS }),
          formArb,
          fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: filterArb }),
          fc.boolean(),
          async (list, form, condition, missing) => {
            const items = list.map((data, i) => ({ ...data, _id: `i${i}`, u: `u${i}` }));
            for (const id of [FAST, EXACT]) {
              assert.equal((await api('POST', `${DATA}/items/truncate`, { dataCollectionId: id })).status, 200);
              const r = await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: id, dataItems: items.map((data) => ({ data })) });
              assert.equal(r.body?.bulkActionMetadata?.totalFailures, 0, JSON.stringify(r.body).slice(0, 300));
            }
            const patches = items.map((it, i) => ({ dataItemId: it._id, fieldModifications: form[i] as JsonObject[] }));
            if (missing) patches.push({ dataItemId: 'nope', fieldModifications: form[ITEMS - 1] as JsonObject[] });
            const body = (id: string) => ({ dataCollectionId: id, returnEntity: true, patches, ...(condition ? { condition: { filter: condition } } : {}) });
            const fast = outcome(await api('POST', `${DATA}/bulk/items/patch`, body(FAST)));
            const exact = outcome(await api('POST', `${DATA}/bulk/items/patch`, body(EXACT)));
            const what = `patches ${JSON.stringify(patches).slice(0, 1500)} condition ${JSON.stringify(condition)}`;
            assert.deepEqual(fast, exact, what);
            assert.deepEqual(await stored(FAST), await stored(EXACT), what);
            if (Array.isArray(fast)) for (const r of fast) r.success ? succeeded++ : failed++;
          },
        ),
        { numRuns: RUNS, includeErrorInReport: true },
      );
      // Both kinds of outcome happen often enough for the comparison to mean something.
      assert.ok(succeeded > RUNS && failed > RUNS / 2, `${succeeded} items patched, ${failed} refused`);
    });
  });
}
