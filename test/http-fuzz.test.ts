/**
 * Every route in Cairn's own API description (/openapi.json), on both stores, sent random and
 * mutated request bodies, ids and query strings (fast-check), by the admin, a member's key, a
 * read-only key, an anonymous caller or an unknown key: the answer is never a 5xx, every
 * 4xx carries the Wix error envelope (message and details.applicationError.code), and a 4xx
 * changed nothing (items, events, tasks and collections are compared before and after). Bodies
 * are either random JSON built from the API's own field names and values, or a valid request
 * with one or two of its parts replaced or removed, so many get past the first check.
 * The seed is fixed so a failure reproduces; CAIRN_FUZZ_SEED and CAIRN_FUZZ_RUNS explore more.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, call, TEST_ADMIN_KEY, type TestServer } from './helpers/server.js';
import { sql } from '../src/store/sql.js';

const DATA = '/wix-data/v2';
const SEED = Number(process.env.CAIRN_FUZZ_SEED ?? 20261204);
const RUNS_PER_ROUTE = Number(process.env.CAIRN_FUZZ_RUNS ?? 40);

const KEYS = [
  'dataCollectionId', 'dataItem', 'dataItems', 'data', 'id', '_id', 'dataItemId', 'dataItemIds', 'patch', 'patches',
  'fieldModifications', 'fieldPath', 'action', 'setFieldOptions', 'value', 'incrementFieldOptions', 'appendToArrayOptions',
  'removeFromArrayOptions', 'query', 'filter', 'sort', 'fieldName', 'order', 'paging', 'cursorPaging', 'limit', 'offset',
  'cursor', 'fields', 'returnTotalCount', 'returnEntity', 'condition', 'aggregation', 'groupingFields', 'operations',
  'resultFieldName', 'sum', 'itemFieldName', 'initialFilter', 'finalFilter', 'dataItemReference', 'dataItemReferences',
  'referringItemFieldName', 'referringItemId', 'referencedItemId', 'referringItemIds', 'newReferencedItemIds',
  'includeReferences', 'field', 'environment', 'publishPluginOptions', 'includeDraftItems', 'task', 'type',
  'deleteByQueryOptions', 'copyFieldDataOptions', 'editFieldDataOptions', 'publishStatusOptions', 'collection', 'key',
  'search', 'expression', 'title', 'n', 'tags', '$and', '$or', '$not', '$eq', '$ne', '$gt', '$lt', '$in', '$hasSome',
  '$hasAll', '$contains', '$startsWith', '$exists', '$isEmpty', '$matches', '$urlized', 'ignoreCase', 'spec',
  'consistentRead', 'sortMode', 'randomOptions', 'seed', 'url', 'events', 'name', 'scopes', 'copyToDraft', 'language',
  'includeFieldGroups', 'suppressHooks', 'pipeline', 'stages', 'group', 'groupIds', 'accumulators', 'projection',
  'include', 'exclude', 'reshape', 'projectNested', 'unwindArray', 'arrayFieldName', 'objectToArray', 'skip', 'fieldPath',
  'numeric', 'text', 'add', 'concat', 'substring', 'publishPluginConflictAction', 'draftItemsRemovalAction',
  'draftItemsPluginConflictAction', 'publishOptions',
];

/** Valid requests of the main shapes; mutated, they reach the checks past the first one. */
const SEEDS: unknown[] = [
  { dataCollectionId: 'fz', dataItem: { id: 'i1', data: { _id: 'i1', title: 'x', n: 1 } } },
  { dataCollectionId: 'fz', dataItems: [{ data: { title: 'x' } }, { id: 'i2', data: { _id: 'i2', n: 2 } }], returnEntity: true },
  { dataCollectionId: 'fz', dataItemIds: ['i1', 'i3'] },
  { dataCollectionId: 'fz', dataItemId: 'i4' },
  { dataCollectionId: 'fz', patch: { dataItemId: 'i5', fieldModifications: [{ fieldPath: 'n', action: 'INCREMENT_FIELD', incrementFieldOptions: { value: 2 } }] } },
  {
    dataCollectionId: 'fz',
    patches: [{ dataItemId: 'i6', fieldModifications: [{ fieldPath: 'tags', action: 'APPEND_TO_ARRAY', appendToArrayOptions: { value: 'c' } }, { fieldPath: 'o.x', action: 'SET_FIELD', setFieldOptions: { value: 3 } }] }],
    condition: { filter: { n: { $gt: 1 } } },
    returnEntity: true,
  },
  {
    dataCollectionId: 'fz',
    query: { filter: { $and: [{ n: { $gte: 2 } }, { tags: { $hasSome: ['a'] } }] }, sort: [{ fieldName: 'title', order: 'DESC' }], paging: { limit: 5, offset: 1 }, fields: ['title'] },
    returnTotalCount: true,
    includeReferences: [{ field: 'refs', limit: 2 }],
  },
  { dataCollectionId: 'fz', query: { filter: { d: { $lt: { $date: '2020-01-09T00:00:00.000Z' } } }, cursorPaging: { limit: 3 } } },
  { dataCollectionId: 'fz', filter: { title: { $startsWith: 'T' } } },
  { dataCollectionId: 'fz', fieldName: 'title', filter: { n: { $lt: 10 } }, order: 'ASC', paging: { limit: 3 }, returnTotalCount: true },
  {
    dataCollectionId: 'fz',
    initialFilter: { n: { $gt: 0 } },
    aggregation: { groupingFields: ['title'], operations: [{ resultFieldName: 's', sum: { itemFieldName: 'n' } }, { resultFieldName: 'c', itemCount: {} }] },
    finalFilter: { c: { $gt: 0 } },
    sort: [{ fieldName: 's', order: 'DESC' }],
    paging: { limit: 4 },
  },
  { dataCollectionId: 'fz', dataItemReference: { referringItemFieldName: 'refs', referringItemId: 'i7', referencedItemId: 'i8' } },
  { dataCollectionId: 'fz', dataItemReferences: [{ referringItemFieldName: 'refs', referringItemId: 'i7', referencedItemId: 'i9' }], returnEntity: true },
  { dataCollectionId: 'fz', referringItemFieldName: 'refs', referringItemId: 'i7', newReferencedItemIds: ['i10', 'i11'] },
  { dataCollectionId: 'fz', referringItemIds: ['i7'], referringItemFieldName: 'refs', order: 'DESC', paging: { limit: 2 }, returnTotalCount: true },
  { dataCollectionId: 'fz', referringItemFieldName: 'refs', referringItemId: 'i7', referencedItemId: 'i10' },
  { task: { type: 'EDIT_FIELD_DATA', editFieldDataOptions: { dataCollectionId: 'fz', fieldKey: 'tags', operations: { addItems: ['z'], removeItems: ['a'] } } } },
  { task: { type: 'COPY_FIELD_DATA', copyFieldDataOptions: { dataCollectionId: 'fz', sourceFieldKey: 'title', destinationFieldKey: 'title2' } } },
  { task: { type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'fz', filter: { n: { $gt: 100 } } } } },
  { task: { type: 'PUBLISH_STATUS', publishStatusOptions: { dataCollectionId: 'fz', filter: {}, publishStatus: 'PUBLISHED' } } },
  { query: { filter: { status: 'COMPLETED' }, cursorPaging: { limit: 2 } } },
  { collection: { id: 'fz2', fields: [{ key: 'a', type: 'NUMBER' }], permissions: { read: 'ANYONE' } } },
  { dataCollectionId: 'fz', filter: { n: { $gt: 100 } }, fieldModifications: [{ fieldPath: 'n', action: 'SET_FIELD', setFieldOptions: { value: 1 } }] },
  { dataCollectionId: 'fz', search: { search: { expression: 't1', mode: 'OR' }, paging: { limit: 3 } } },
  { dataCollectionId: 'fz', dataItemId: 'i12', copyToDraft: true },
  {
    dataCollectionId: 'fz',
    pipeline: {
      stages: [
        { filter: { n: { $gt: 0 } } },
        { unwindArray: { arrayFieldName: 'tags' } },
        { group: { groupIds: [{ key: 'tag', expression: { fieldPath: 'tags' } }], accumulators: [{ sum: { expression: { multiply: { expressions: [{ fieldPath: 'n' }, { numeric: 2 }] } } }, resultFieldName: 's' }] } },
        { projection: { fields: [{ include: { fieldName: 's' } }, { reshape: { resultFieldName: 'label', expression: { concat: { expressions: [{ text: 'x' }, { stringify: { expression: { fieldPath: 's' } } }] } } } }] } },
        { sort: { values: [{ fieldName: 's', order: 'DESC' }] } },
        { skip: 1 },
        { limit: 3 },
      ],
      paging: { limit: 2 },
    },
    returnTotalCount: true,
  },
  { dataCollectionId: 'fz', publishPluginConflictAction: 'COPY_DRAFT_ITEMS_WITH_DRAFT_STATUS', draftItemsOptions: {} },
  { dataCollectionId: 'fz', draftItemsRemovalAction: 'PUBLISH_EXISTING_DRAFT_ITEMS' },
  { dataCollectionId: 'fz', publishOptions: { defaultStatus: 'DRAFT' }, draftItemsPluginConflictAction: 'COPY_DRAFT_ITEMS_WITH_DRAFT_STATUS' },
  { url: 'http://127.0.0.1:9/', events: ['wix.data.v2.data_item_updated'], dataCollectionId: 'fz' },
  { name: 'k', scopes: ['items:read'] },
];

const leaf = fc.oneof(
  fc.constantFrom('fz', 'i1', 'title', 'n', 'tags', 'refs', '$eq', 'SET_FIELD', 'DELETE_BY_QUERY', 'ASC', '', '__proto__', 'constructor', '9007199254740993', 1e308, -0, null),
  fc.constant({ $date: '2020-01-05T00:00:00.000Z' }),
  fc.string(),
  fc.integer(),
  fc.double(),
  fc.boolean(),
);
const { tree } = fc.letrec<{ tree: unknown; arr: unknown[]; obj: Record<string, unknown> }>((tie) => ({
  tree: fc.oneof({ depthSize: 'small' }, leaf, tie('arr'), tie('obj')),
  arr: fc.array(tie('tree'), { maxLength: 4 }),
  obj: fc.dictionary(fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 6 })), tie('tree'), { maxKeys: 5 }),
}));

/** Every path to a value inside `o` (objects and arrays), the root excluded. */
function paths(o: unknown, prefix: string[] = []): string[][] {
  if (o === null || typeof o !== 'object') return [prefix];
  return [prefix, ...Object.keys(o).flatMap((k) => paths((o as Record<string, unknown>)[k], [...prefix, k]))];
}

/** `seed` with the value at one of its paths (picked by `pick`) replaced by `value`, or removed. */
function mutate(seed: unknown, pick: number, value: unknown, remove: boolean): unknown {
  const copy = structuredClone(seed) as Record<string, unknown>;
  const all = paths(copy).filter((p) => p.length > 0);
  const path = all[pick % all.length] as string[];
  let at: Record<string, unknown> = copy;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string, unknown>;
  const last = path[path.length - 1] as string;
  if (remove) delete at[last];
  else at[last] = value;
  return copy;
}

const body = fc.oneof(
  tree,
  fc.tuple(fc.constantFrom(...SEEDS), fc.nat(), tree, fc.boolean()).map(([seed, pick, value, remove]) => mutate(seed, pick, value, remove)),
  fc.tuple(fc.constantFrom(...SEEDS), fc.nat(), tree, fc.nat(), tree).map(([seed, a, va, b, vb]) => mutate(mutate(seed, a, va, false), b, vb, false)),
);
const pathValue = fc.constantFrom('i1', 'fz', 'nope', '%00', '..', 'x'.repeat(300));
const queryString = fc.dictionary(
  fc.constantFrom('dataCollectionId', 'limit', 'offset', 'cursor', 'consistentRead', 'fields', 'environment', 'after', 'types', 'status', 'paging.limit', 'sort'),
  fc.oneof(fc.constantFrom('fz', '-1', '1e309'), fc.string({ maxLength: 5 }), fc.integer().map(String)),
  { maxKeys: 3 },
);

for (const storeName of STORE_NAMES) {
  describe(`HTTP fuzz (${storeName})`, () => {
    let s: TestServer;
    before(async () => {
      // No runner: tasks the fuzz creates stay queued, so nothing changes the data but requests.
      s = await startServer(storeName, { runner: false });
    });
    after(async () => {
      await s.close();
    });

    test('no route answers random or mutated requests with a 5xx; every 4xx is the Wix envelope', async () => {
      const created = await call(s.url, 'POST', `${DATA}/collections`, {
        collection: {
          id: 'fz',
          fields: [
            { key: 'title', type: 'TEXT' },
            { key: 'n', type: 'NUMBER' },
            { key: 'ref', type: 'REFERENCE', typeMetadata: { reference: { referencedCollectionId: 'fz' } } },
            { key: 'refs', type: 'MULTI_REFERENCE', typeMetadata: { multiReference: { referencedCollectionId: 'fz' } } },
          ],
        },
      });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const items = Array.from({ length: 20 }, (_, i) => ({ data: { _id: `i${i}`, title: `t${i}`, n: i, tags: ['a', 'b'], d: { $date: new Date(Date.UTC(2020, 0, i + 1)).toISOString() }, o: { x: i } } }));
      assert.equal((await call(s.url, 'POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'fz', dataItems: items })).status, 200);

      // Callers: the admin key, an API key acting as a site member, a read-only key, anonymous,
      // and an unknown key, so the permission paths are fuzzed too.
      const key = async (body: Record<string, unknown>) => {
        const r = await call(s.url, 'POST', '/cairn/v1/keys', body);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return r.body.apiKey as string;
      };
      const callers = [
        TEST_ADMIN_KEY,
        await key({ name: 'member', scopes: ['SCOPE.DC-DATA.READ', 'SCOPE.DC-DATA.WRITE'], memberId: 'member-a' }),
        await key({ name: 'reader', scopes: ['SCOPE.DC-DATA.READ'] }),
        '',
        'not-a-key',
      ];
      const description = await call(s.url, 'GET', '/openapi.json');
      assert.equal(description.status, 200);
      const routes: { method: string; path: string }[] = [];
      for (const [path, item] of Object.entries<Record<string, unknown>>(description.body.paths)) {
        // The event stream never ends by itself; its bad input has its own tests.
        if (path.endsWith('/events/stream')) continue;
        for (const method of Object.keys(item)) if (['get', 'post', 'put', 'patch', 'delete'].includes(method)) routes.push({ method: method.toUpperCase(), path });
      }
      assert.ok(routes.length > 40, `the API description lists ${routes.length} routes`);

      /** Everything a refused request must leave as it was, as one string. */
      const state = async () =>
        JSON.stringify(
          await s.store.db.all(
            s.store.db.dialect === 'postgres'
              ? sql`SELECT (SELECT count(*) FROM items) AS items,
                      (SELECT string_agg(collection_id || ':' || env || ':' || id || ':' || data::text, '|' ORDER BY collection_id, env, id) FROM items) AS item_rows,
                      (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM tasks) AS tasks,
                      (SELECT string_agg(doc::text, '|' ORDER BY id) FROM collections) AS collections`
              : sql`SELECT (SELECT count(*) FROM items) AS items,
                      (SELECT group_concat(collection_id || ':' || env || ':' || id || ':' || data, '|') FROM (SELECT * FROM items ORDER BY collection_id, env, id)) AS item_rows,
                      (SELECT count(*) FROM events) AS events, (SELECT count(*) FROM tasks) AS tasks,
                      (SELECT group_concat(doc, '|') FROM (SELECT doc FROM collections ORDER BY id)) AS collections`,
          ),
        );
      const statuses = new Map<number, number>();
      const problems: string[] = [];
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...routes), body, pathValue, queryString, fc.oneof({ weight: 3, arbitrary: fc.constant(TEST_ADMIN_KEY) }, { weight: 2, arbitrary: fc.constantFrom(...callers) }), async (route, sent, value, query, caller) => {
          const qs = new URLSearchParams(query).toString();
          const path = route.path.replace(/\{[^}]+\}/g, encodeURIComponent(value)) + (qs ? `?${qs}` : '');
          const withBody = route.method !== 'GET' && route.method !== 'DELETE';
          const before = await state();
          const r = await call(s.url, route.method, path, withBody ? sent : undefined, { authorization: caller });
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          const what = () => `${caller === TEST_ADMIN_KEY ? 'admin' : caller.slice(0, 8) || 'anonymous'} ${route.method} ${path} ${withBody ? JSON.stringify(sent).slice(0, 400) : ''} → ${r.status} ${JSON.stringify(r.body).slice(0, 400)}`;
          if (r.status >= 500) problems.push(what());
          else if (r.status >= 400) {
            if (!(typeof r.body?.message === 'string' && typeof r.body?.details?.applicationError?.code === 'string')) problems.push(`no envelope: ${what()}`);
            if ((await state()) !== before) problems.push(`changed data: ${what()}`);
          }
        }),
        { seed: SEED, numRuns: RUNS_PER_ROUTE * routes.length },
      );
      assert.deepEqual(problems.slice(0, 10), [], `seed ${SEED}`);
      // Not everything was turned away at the door: many requests were valid enough to succeed.
      const total = [...statuses.values()].reduce((a, b) => a + b, 0);
      assert.ok((statuses.get(200) ?? 0) > total * 0.05, `statuses: ${JSON.stringify([...statuses])}`);
    });
  });
}
