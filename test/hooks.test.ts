/**
 * Data hooks (docs/hooks.md) through HTTP and the published client, on both stores and with both
 * module shapes: a JavaScript module with Velo names (`hk_beforeInsert`) and a TypeScript module
 * exporting `hooks = { hk: { beforeInsert } }`, both real files loaded by path. The hooks record
 * each call (name, argument, context) in a global log the tests read; "stored" checks read the
 * rows from the database directly, so they see exactly what was written.
 */
import { test, describe, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STORE_NAMES, openTestStore } from './helpers/stores.js';
import { buildApp } from '../src/http/app.js';
import { startServer, call, type TestServer, TEST_ADMIN_KEY } from './helpers/server.js';
import { codeOf } from './helpers/calls.js';
import { sql } from '../src/store/sql.js';
import { hooksFromModule, loadHooks } from '../src/hooks/load.js';
import { loadConfig } from '../src/config.js';
import type { Clock } from '../src/clock.js';

const DATA = '/wix-data/v2';
const OWNER = '00000000-0000-0000-0000-000000000001';
type Obj = Record<string, any>;

// ---- the hook modules

interface Def {
  collection: string;
  hook: string;
  params: string;
  async?: boolean;
  body: string;
}

const HIDE = `{ $and: [query.filter ?? {}, { hidden: { $ne: true } }] }`;

const DEFS: Def[] = [
  {
    collection: 'hk',
    hook: 'beforeInsert',
    params: 'item, context',
    body: `
      rec('beforeInsert', item, context);
      if (item.reject) throw new Error('no inserts of ' + item.title);
      if (item.rejectValue) throw { code: 42, why: 'plain value' };
      if (item.badReturn) return 'not an item';
      if (item.mutateOnly) { item.mutated = true; return; }
      return { ...item, title: String(item.title ?? '').toUpperCase(), stamp: 'beforeInsert', when: new Date('2020-01-02T03:04:05.000Z') };`,
  },
  {
    collection: 'hk',
    hook: 'afterInsert',
    params: 'item, context',
    body: `
      rec('afterInsert', item, context);
      if (item.failAfter) throw new Error('afterInsert broke');
      return { ...item, seenBy: 'afterInsert' };`,
  },
  {
    collection: 'hk',
    hook: 'beforeUpdate',
    params: 'item, context',
    body: `
      rec('beforeUpdate', item, context);
      if (item.reject) throw new Error('no updates');
      return { ...item, stamp: 'beforeUpdate', doubled: typeof item.n === 'number' ? item.n * 2 : null };`,
  },
  { collection: 'hk', hook: 'afterUpdate', params: 'item, context', body: `rec('afterUpdate', item, context); return { ...item, seenBy: 'afterUpdate' };` },
  {
    collection: 'hk',
    hook: 'beforeGet',
    params: 'id, context',
    body: `rec('beforeGet', id, context); if (id.startsWith('alias-')) return id.slice(6);`,
  },
  {
    collection: 'hk',
    hook: 'afterGet',
    params: 'item, context',
    body: `rec('afterGet', item, context); const { secret, ...rest } = item; return { ...rest, seenBy: 'afterGet' };`,
  },
  { collection: 'hk', hook: 'beforeQuery', params: 'query, context', body: `rec('beforeQuery', query, context); return { ...query, filter: ${HIDE} };` },
  { collection: 'hk', hook: 'afterQuery', params: 'item, context', body: `rec('afterQuery', item, context); return { ...item, seenBy: 'afterQuery' };` },
  { collection: 'hk', hook: 'beforeCount', params: 'query, context', body: `rec('beforeCount', query, context); return { filter: ${HIDE} };` },
  { collection: 'hk', hook: 'afterCount', params: 'count, context', body: `rec('afterCount', count, context); return count + 1000;` },
  { collection: 'hk', hook: 'beforeDistinct', params: 'distinct, context', body: `rec('beforeDistinct', distinct, context); return { ...distinct, filter: ${HIDE.replaceAll('query.', 'distinct.')} };` },
  { collection: 'hk', hook: 'afterDistinct', params: 'value, context', body: `rec('afterDistinct', value, context); return typeof value === 'string' ? value.toUpperCase() : value;` },
  {
    collection: 'hk',
    hook: 'beforeRemove',
    params: 'id, context',
    body: `
      rec('beforeRemove', id, context);
      if (id.startsWith('protected')) throw new Error('protected item');
      if (id.startsWith('alias-')) return id.slice(6);`,
  },
  { collection: 'hk', hook: 'afterRemove', params: 'item, context', body: `rec('afterRemove', item, context); return { ...item, seenBy: 'afterRemove' };` },
  {
    collection: 'hk',
    hook: 'onFailure',
    params: 'error, context',
    body: `
      rec('onFailure', { code: error.code, message: error.message }, context);
      throw new Error('onFailure itself broke');`,
  },
  // A collection id with underscores: Velo names split at the last one.
  {
    collection: 'my_items',
    hook: 'beforeInsert',
    params: 'item, context',
    async: true,
    body: `
      await sleep(5);
      rec('beforeInsert', item, context);
      if (item.reject) throw new Error('async no');
      return { ...item, asyncStamp: true };`,
  },
  {
    collection: 'my_items',
    hook: 'afterGet',
    params: 'item, context',
    async: true,
    body: `await sleep(5); rec('afterGet', item, context); return { ...item, asyncSeen: true };`,
  },
  {
    collection: 'race',
    hook: 'beforeUpdate',
    params: 'item, context',
    async: true,
    body: `
      rec('beforeUpdate', item, context);
      const once = H()?.raceOnce;
      if (once) { H().raceOnce = undefined; await once(item._id); }
      return { ...item, hooked: (item.hooked ?? 0) + 1 };`,
  },
];

function veloModule(): string {
  return [
    `const H = () => globalThis.__cairnHooks;`,
    `const rec = (name, arg, context) => { H()?.log.push({ name, arg: arg === undefined ? null : JSON.parse(JSON.stringify(arg)), context: { ...context } }); };`,
    `const sleep = (ms) => new Promise((r) => setTimeout(r, ms));`,
    `export function format_title(t) { return t; }`,
    ...DEFS.map((d) => `export ${d.async ? 'async ' : ''}function ${d.collection}_${d.hook}(${d.params}) {${d.body}\n}`),
  ].join('\n');
}

function objectModule(): string {
  const collections = [...new Set(DEFS.map((d) => d.collection))];
  const typed = (params: string) =>
    params
      .split(', ')
      .map((p) => `${p}: any`)
      .join(', ');
  return [
    `const H = (): any => (globalThis as any).__cairnHooks;`,
    `const rec = (name: string, arg: unknown, context: any): void => { H()?.log.push({ name, arg: arg === undefined ? null : JSON.parse(JSON.stringify(arg)), context: { ...context } }); };`,
    `const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));`,
    `export const hooks = {`,
    ...collections.map(
      (c) =>
        `  ${c}: {\n${DEFS.filter((d) => d.collection === c)
          .map((d) => `    ${d.async ? 'async ' : ''}${d.hook}(${typed(d.params)}) {${d.body}\n    },`)
          .join('\n')}\n  },`,
    ),
    `};`,
  ].join('\n');
}

const dir = mkdtempSync(join(tmpdir(), 'cairn-hooks-'));
writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
const MODULES = [
  { shape: 'Velo names, .js', path: join(dir, 'data.js'), source: veloModule() },
  { shape: 'hooks object, .ts', path: join(dir, 'hooks.ts'), source: objectModule() },
];
for (const m of MODULES) writeFileSync(m.path, m.source);
after(() => rmSync(dir, { recursive: true, force: true }));

interface Call {
  name: string;
  arg: any;
  context: { collectionName: string; userId: string | null; userRole: string };
}
const recorder = { log: [] as Call[], raceOnce: undefined as undefined | ((id: string) => Promise<void>) };
(globalThis as any).__cairnHooks = recorder;

/** A clock that moves 1 ms on every reading: no two writes share an `_updatedDate`. */
function tickingClock(): Clock {
  let t = Date.parse('2024-05-01T00:00:00.000Z');
  return { now: () => new Date((t += 1)) };
}

const SET = (fieldPath: string, value: unknown) => ({ fieldPath, action: 'SET_FIELD', setFieldOptions: { value } });
const INC = (fieldPath: string, value: number) => ({ fieldPath, action: 'INCREMENT_FIELD', incrementFieldOptions: { value } });

function expectError(r: { status: number; body: any }, status: number, code: string): any {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body?.details?.applicationError?.code, code, JSON.stringify(r.body));
  return r.body.details.applicationError;
}

const SYSTEM = new Set(['_createdDate', '_updatedDate', '_owner']);
/** Item data without the system dates and owner. */
function user(data: Obj): Obj {
  return Object.fromEntries(Object.entries(data).filter(([k]) => !SYSTEM.has(k)));
}

for (const storeName of STORE_NAMES) {
  for (const mod of MODULES) {
    describe(`data hooks (${storeName}, ${mod.shape})`, () => {
      let s: TestServer;
      let items: any;
      const api = (method: string, path: string, body?: unknown) => call(s.url, method, path, body);

      before(async () => {
        s = await startServer(storeName, { hooks: mod.path, clock: tickingClock() });
        items = s.client.items;
        for (const id of ['hk', 'my_items', 'race', 'plain']) {
          const r = await api('POST', `${DATA}/collections`, { collection: { id } });
          assert.equal(r.status, 200, JSON.stringify(r.body));
        }
      });
      after(() => s.close());
      beforeEach(() => {
        recorder.log = [];
        recorder.raceOnce = undefined;
      });

      /** The stored row's data, read from the database: undefined when there is none. */
      const stored = async (c: string, id: string): Promise<Obj | undefined> => {
        const r = await s.store.db.get<{ data: unknown }>(sql`SELECT data FROM items WHERE collection_id = ${c} AND env = 'LIVE' AND id = ${id}`);
        if (!r) return undefined;
        return typeof r.data === 'string' ? JSON.parse(r.data) : (r.data as Obj);
      };
      const rowCount = async (c: string): Promise<number> => {
        const r = await s.store.db.get<{ n: number }>(sql`SELECT count(*) AS n FROM items WHERE collection_id = ${c}`);
        return Number(r?.n);
      };
      /** Inserts without hooks. */
      const seed = async (c: string, list: Obj[]) => {
        const r = await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: c, suppressHooks: true, dataItems: list.map((data) => ({ data })) });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.bulkActionMetadata.totalSuccesses, list.length, JSON.stringify(r.body));
        recorder.log = [];
      };
      const calls = (name?: string) => recorder.log.filter((c) => name === undefined || c.name === name);

      test('beforeInsert replaces the stored item; afterInsert changes only the reply; both get the context', async () => {
        const r = await items.insert('hk', { _id: 'i1', title: 'abc' });
        assert.equal(r._id, 'i1');
        assert.equal(r.title, 'ABC');
        assert.equal(r.stamp, 'beforeInsert');
        assert.equal(r.seenBy, 'afterInsert');
        assert.ok(r.when instanceof Date, 'a JS Date a hook returns is stored as a date');
        assert.equal(r.when.toISOString(), '2020-01-02T03:04:05.000Z');
        const row = await stored('hk', 'i1');
        assert.deepEqual(user(row as Obj), { _id: 'i1', title: 'ABC', stamp: 'beforeInsert', when: { $date: '2020-01-02T03:04:05.000Z' } });
        assert.deepEqual(
          calls().map((c) => c.name),
          ['beforeInsert', 'afterInsert'],
        );
        const [b, a] = calls() as [Call, Call];
        assert.deepEqual(b.arg, { _id: 'i1', title: 'abc' });
        assert.deepEqual(b.context, { collectionName: 'hk', userId: OWNER, userRole: 'ADMIN' });
        assert.equal(a.arg.title, 'ABC');
        assert.equal(a.arg._owner, OWNER);
        assert.equal(typeof a.arg._createdDate.$date, 'string', 'after-hooks see the wire data, dates as {$date}');
        assert.deepEqual(a.context, b.context);

        // An item sent without an id: beforeInsert already sees the id it is stored under.
        recorder.log = [];
        const g = await items.insert('hk', { title: 'x' });
        assert.equal(calls('beforeInsert')[0]?.arg._id, g._id);
        assert.equal((await stored('hk', g._id))?.title, 'X');
      });

      test('a before hook may change the item in place and return nothing', async () => {
        const r = await api('POST', `${DATA}/items`, { dataCollectionId: 'hk', dataItem: { id: 'm1', data: { mutateOnly: true } } });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.deepEqual(user((await stored('hk', 'm1')) as Obj), { _id: 'm1', mutateOnly: true, mutated: true });
        assert.equal(r.body.dataItem.data.seenBy, 'afterInsert');
      });

      test('beforeInsert that throws: 400 WDE0078 with jsErrorValue, nothing written, onFailure told', async () => {
        const before = await rowCount('hk');
        const r = await api('POST', `${DATA}/items`, { dataCollectionId: 'hk', dataItem: { id: 'r1', data: { title: 't', reject: true } } });
        const e = expectError(r, 400, 'WDE0078');
        assert.deepEqual(e.data.jsErrorValue, { message: 'no inserts of t', name: 'Error' });
        assert.match(r.body.message, /beforeInsert/);
        assert.equal(await stored('hk', 'r1'), undefined);
        // onFailure ran (and its own error did not replace the call's).
        const f = calls('onFailure');
        assert.equal(f.length, 1);
        assert.equal(f[0]?.arg.code, 'WDE0078');
        assert.deepEqual(f[0]?.context, { collectionName: 'hk', userId: OWNER, userRole: 'ADMIN' });

        // A thrown value that is not an Error is carried as it is.
        const plain = await api('POST', `${DATA}/items`, { dataCollectionId: 'hk', dataItem: { id: 'r2', data: { rejectValue: true } } });
        assert.deepEqual(expectError(plain, 400, 'WDE0078').data.jsErrorValue, { code: 42, why: 'plain value' });
        // A hook that returns something that is not an item fails the call too.
        const bad = await api('POST', `${DATA}/items`, { dataCollectionId: 'hk', dataItem: { id: 'r3', data: { badReturn: true } } });
        expectError(bad, 400, 'WDE0078');
        // The published client rethrows the hook's error (jsErrorValue) as an Error, as Velo does.
        await assert.rejects(items.insert('hk', { _id: 'r4', title: 'c', reject: true }), (e: any) => e.message === 'no inserts of c' && e.name === 'Error');
        assert.equal(await rowCount('hk'), before, 'nothing was written');
      });

      test('onFailure sees errors that do not come from hooks', async () => {
        await seed('hk', [{ _id: 'of1' }]);
        assert.equal(await items.get('hk', 'ghost-of'), null);
        expectError(await api('POST', `${DATA}/items`, { dataCollectionId: 'hk', dataItem: { id: 'of1', data: {} } }), 409, 'WDE0074');
        assert.deepEqual(
          calls('onFailure').map((c) => c.arg.code),
          ['WDE0073', 'WDE0074'],
        );
      });

      test('beforeGet may replace the id; afterGet changes the reply, not the stored item', async () => {
        await seed('hk', [{ _id: 'g1', title: 't', secret: 's' }]);
        const got = await items.get('hk', 'g1');
        assert.deepEqual(user(got), { _id: 'g1', title: 't', seenBy: 'afterGet' });
        const raw = await api('GET', `${DATA}/items/g1?dataCollectionId=hk`);
        assert.equal(raw.status, 200);
        assert.deepEqual(user(raw.body.dataItem.data), { _id: 'g1', title: 't', seenBy: 'afterGet' });
        assert.equal(raw.body.dataItem.id, 'g1');
        assert.equal((await items.get('hk', 'alias-g1'))?._id, 'g1');
        assert.deepEqual(
          calls('beforeGet').map((c) => c.arg),
          ['g1', 'g1', 'alias-g1'],
        );
        assert.deepEqual(user((await stored('hk', 'g1')) as Obj), { _id: 'g1', title: 't', secret: 's' });
        assert.deepEqual(user(await items.get('hk', 'g1', { suppressHooks: true })), { _id: 'g1', title: 't', secret: 's' });
      });

      test('beforeQuery rewrites the filter (cursor pages keep it); afterQuery runs on each item', async () => {
        await seed('hk', [
          { _id: 'q1', group: 'q' },
          { _id: 'q2', group: 'q', hidden: true },
          { _id: 'q3', group: 'q' },
          { _id: 'q4', group: 'q' },
        ]);
        const r = await items.query('hk').eq('group', 'q').ascending('_id').find();
        assert.deepEqual(
          r.items.map((i: Obj) => [i._id, i.seenBy]),
          [
            ['q1', 'afterQuery'],
            ['q3', 'afterQuery'],
            ['q4', 'afterQuery'],
          ],
        );
        assert.equal(calls('beforeQuery').length, 1);
        assert.ok(JSON.stringify(calls('beforeQuery')[0]?.arg.filter).includes('"q"'), 'the hook sees the request filter');
        assert.equal(calls('afterQuery').length, 3);
        assert.equal((await stored('hk', 'q1'))?.seenBy, undefined);

        // Cursor paging: the follow-up carries only the cursor, which holds the rewritten filter.
        const body = (cursorPaging: Obj) => ({ dataCollectionId: 'hk', query: { filter: { group: 'q' }, sort: [{ fieldName: '_id' }], cursorPaging } });
        const ids: string[] = [];
        let page = await api('POST', `${DATA}/items/query`, body({ limit: 1 }));
        for (;;) {
          assert.equal(page.status, 200, JSON.stringify(page.body));
          ids.push(...page.body.dataItems.map((i: Obj) => i.id));
          const next = page.body.pagingMetadata.cursors.next;
          if (!next) break;
          page = await api('POST', `${DATA}/items/query`, { dataCollectionId: 'hk', query: { cursorPaging: { limit: 1, cursor: next } } });
        }
        assert.deepEqual(ids, ['q1', 'q3', 'q4']);

        // suppressHooks, in the body (the client's option) or in the query string.
        const all = await items.query('hk').eq('group', 'q').find({ suppressHooks: true });
        assert.equal(all.items.length, 4);
        assert.ok(all.items.every((i: Obj) => i.seenBy === undefined));
        const viaQs = await api('POST', `${DATA}/items/query?suppressHooks=true`, { dataCollectionId: 'hk', query: { filter: { group: 'q' } } });
        assert.equal(viaQs.body.dataItems.length, 4);
      });

      test('beforeCount rewrites the filter; afterCount replaces the count', async () => {
        await seed('hk', [
          { _id: 'c1', group: 'c' },
          { _id: 'c2', group: 'c', hidden: true },
          { _id: 'c3', group: 'c' },
        ]);
        const r = await api('POST', `${DATA}/items/count`, { dataCollectionId: 'hk', filter: { group: 'c' } });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.deepEqual(r.body, { totalCount: 1002 });
        assert.deepEqual(calls('beforeCount')[0]?.arg, { filter: { group: 'c' } });
        assert.deepEqual(calls('afterCount')[0]?.arg, 2);
        assert.equal(await items.query('hk').eq('group', 'c').count(), 1002);
        const raw = await api('POST', `${DATA}/items/count`, { dataCollectionId: 'hk', filter: { group: 'c' }, suppressHooks: true });
        assert.deepEqual(raw.body, { totalCount: 3 });
      });

      test('beforeDistinct rewrites the request; afterDistinct replaces each value', async () => {
        await seed('hk', [
          { _id: 'v1', group: 'v', colour: 'red' },
          { _id: 'v2', group: 'v', colour: 'blue', hidden: true },
          { _id: 'v3', group: 'v', colour: 'green' },
          { _id: 'v4', group: 'v', colour: 'red' },
        ]);
        const r = await items.query('hk').eq('group', 'v').distinct('colour');
        assert.deepEqual(r.items, ['GREEN', 'RED']);
        const asked = calls('beforeDistinct')[0]?.arg;
        assert.equal(asked.fieldName, 'colour');
        assert.deepEqual(asked.filter, { group: 'v' });
        assert.deepEqual(calls('afterDistinct').map((c) => c.arg), ['green', 'red']);
        assert.equal(calls('beforeDistinct')[0]?.context.collectionName, 'hk');

        // Cursor pages: the follow-up's cursor holds the rewritten filter.
        const D = `${DATA}/items/query-distinct-values`;
        const values: unknown[] = [];
        let page = await api('POST', D, { dataCollectionId: 'hk', fieldName: 'colour', filter: { group: 'v' }, cursorPaging: { limit: 1 } });
        for (;;) {
          assert.equal(page.status, 200, JSON.stringify(page.body));
          values.push(...page.body.distinctValues);
          const next = page.body.pagingMetadata.cursors.next;
          if (!next) break;
          page = await api('POST', D, { dataCollectionId: 'hk', cursorPaging: { limit: 1, cursor: next } });
        }
        assert.deepEqual(values, ['GREEN', 'RED']);

        // suppressHooks: the stored values, the hidden item's included.
        const raw = await api('POST', D, { dataCollectionId: 'hk', fieldName: 'colour', filter: { group: 'v' }, suppressHooks: true });
        assert.deepEqual(raw.body.distinctValues, ['blue', 'green', 'red']);
      });

      test('beforeRemove may refuse or replace the id; afterRemove changes the reply', async () => {
        await seed('hk', [{ _id: 'd1' }, { _id: 'd2' }, { _id: 'd3' }, { _id: 'protected' }]);
        await assert.rejects(items.remove('hk', 'protected'), { name: 'Error', message: 'protected item' });
        assert.ok(await stored('hk', 'protected'), 'a refused remove removes nothing');
        const removed = await items.remove('hk', 'alias-d1');
        assert.equal(removed._id, 'd1');
        assert.equal(removed.seenBy, 'afterRemove');
        assert.equal(await stored('hk', 'd1'), undefined);
        const del = await api('DELETE', `${DATA}/items/d2?dataCollectionId=hk`);
        assert.equal(del.status, 200, JSON.stringify(del.body));
        assert.equal(del.body.dataItem.data.seenBy, 'afterRemove');

        recorder.log = [];
        const bulk = await api('POST', `${DATA}/bulk/items/remove`, { dataCollectionId: 'hk', dataItemIds: ['d3', 'protected', 'ghost'], returnEntity: true });
        assert.equal(bulk.status, 200, JSON.stringify(bulk.body));
        const [ok, refused, missing] = bulk.body.results;
        assert.deepEqual(ok.itemMetadata, { id: 'd3', originalIndex: 0, success: true });
        assert.equal(ok.dataItem.data.seenBy, 'afterRemove');
        assert.equal(refused.itemMetadata.success, false);
        assert.equal(refused.itemMetadata.id, 'protected');
        assert.equal(refused.itemMetadata.originalIndex, 1);
        assert.equal(refused.itemMetadata.error.code, 'WDE0078');
        assert.deepEqual(refused.itemMetadata.error.data.jsErrorValue, { message: 'protected item', name: 'Error' });
        assert.equal(missing.itemMetadata.error.code, 'WDE0073');
        assert.deepEqual(bulk.body.bulkActionMetadata, { totalSuccesses: 1, totalFailures: 2 });
        assert.deepEqual(
          calls('beforeRemove').map((c) => c.arg),
          ['d3', 'protected', 'ghost'],
        );
        assert.deepEqual(
          calls('onFailure').map((c) => c.arg.code),
          ['WDE0078', 'WDE0073'],
          'onFailure sees each failed item',
        );
        assert.ok(await stored('hk', 'protected'));
        assert.equal(await stored('hk', 'd3'), undefined);
      });

      test('beforeUpdate and afterUpdate on update', async () => {
        await seed('hk', [{ _id: 'u1', n: 2 }]);
        const r = await items.update('hk', { _id: 'u1', n: 5 });
        assert.equal(r.stamp, 'beforeUpdate');
        assert.equal(r.doubled, 10);
        assert.equal(r.seenBy, 'afterUpdate');
        assert.deepEqual(user((await stored('hk', 'u1')) as Obj), { _id: 'u1', n: 5, stamp: 'beforeUpdate', doubled: 10 });
        assert.deepEqual(calls('beforeUpdate')[0]?.arg, { _id: 'u1', n: 5 });
        await assert.rejects(items.update('hk', { _id: 'u1', n: 7, reject: true }), { name: 'Error', message: 'no updates' });
        assert.equal((await stored('hk', 'u1'))?.n, 5, 'a refused update changes nothing');
      });

      test('beforeUpdate on patch: the hook sees the patched item and its result is stored', async () => {
        await seed('hk', [{ _id: 'p1', n: 1, title: 'p' }]);
        const r = await items.patch('hk', 'p1').incrementField('n', 2).run();
        assert.equal(r.n, 3);
        assert.equal(r.doubled, 6);
        assert.equal(r.seenBy, 'afterUpdate');
        const seen = calls('beforeUpdate')[0]?.arg;
        assert.deepEqual(user(seen), { _id: 'p1', n: 3, title: 'p' });
        assert.equal(seen._owner, OWNER);
        assert.equal(typeof seen._createdDate.$date, 'string');
        assert.deepEqual(user((await stored('hk', 'p1')) as Obj), { _id: 'p1', n: 3, title: 'p', stamp: 'beforeUpdate', doubled: 6 });

        // The raw form, a refusal, a condition that does not hold, a missing item.
        const raw = await api('POST', `${DATA}/items/patch`, { dataCollectionId: 'hk', patch: { dataItemId: 'p1', fieldModifications: [INC('n', 1)] } });
        assert.equal(raw.status, 200, JSON.stringify(raw.body));
        assert.equal(raw.body.dataItem.data.doubled, 8);
        const refused = await api('POST', `${DATA}/items/patch`, { dataCollectionId: 'hk', patch: { dataItemId: 'p1', fieldModifications: [SET('reject', true)] } });
        expectError(refused, 400, 'WDE0078');
        const cond = await api('POST', `${DATA}/items/patch`, {
          dataCollectionId: 'hk',
          patch: { dataItemId: 'p1', fieldModifications: [INC('n', 1)] },
          condition: { filter: { n: 100 } },
        });
        assert.equal(expectError(cond, 404, 'WDE0073').data.reason, 'CONDITION_NOT_MET');
        expectError(await api('PATCH', `${DATA}/items/ghost`, { dataCollectionId: 'hk', patch: { fieldModifications: [INC('n', 1)] } }), 404, 'WDE0073');
        assert.deepEqual(user((await stored('hk', 'p1')) as Obj), { _id: 'p1', n: 4, title: 'p', stamp: 'beforeUpdate', doubled: 8 });
      });

      test('beforeUpdate on bulkPatch: a repeated item meets the condition after the patches before it; one item over the size limit fails alone', async () => {
        await seed('hk', [{ _id: 'rc', n: 3 }, { _id: 'rd', n: 1 }]);
        const dec = { dataItemId: 'rc', fieldModifications: [INC('n', -3)] };
        const res = await api('POST', `${DATA}/bulk/items/patch`, { dataCollectionId: 'hk', patches: [dec, dec], condition: { filter: { n: { $gt: 0 } } } });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.deepEqual(res.body.results.map((r: any) => [r.itemMetadata.success, r.itemMetadata.error?.data?.reason ?? null]), [[true, null], [false, 'CONDITION_NOT_MET']]);
        assert.equal(((await stored('hk', 'rc')) as Obj).n, 0);
        const big = await api('POST', `${DATA}/bulk/items/patch`, {
          dataCollectionId: 'hk',
          patches: [{ dataItemId: 'rd', fieldModifications: [INC('n', 1)] }, { dataItemId: 'rc', fieldModifications: [SET('s', 'x'.repeat(530 * 1024))] }],
        });
        assert.equal(big.status, 200, JSON.stringify(big.body).slice(0, 300));
        assert.deepEqual(big.body.results.map((r: any) => [r.itemMetadata.success, r.itemMetadata.error?.code ?? null]), [[true, null], [false, 'WDE0009']]);
        assert.equal(((await stored('hk', 'rd')) as Obj).n, 2);
        assert.equal(((await stored('hk', 'rc')) as Obj).s, undefined);
      });

      test('beforeUpdate on bulkPatch: each item, results in the shape of a patch without hooks', async () => {
        const list = [
          { _id: 'b1', n: 1 },
          { _id: 'b2', n: 2 },
          { _id: 'b3', n: 3 },
        ];
        await seed('hk', list);
        await seed('plain', list);
        const patches = [
          { dataItemId: 'b1', fieldModifications: [INC('n', 10)] },
          { dataItemId: 'ghost', fieldModifications: [INC('n', 10)] },
          { dataItemId: 'b2', fieldModifications: [INC('n', 20)] },
          { dataItemId: 'b3', fieldModifications: [SET('reject', true)] },
        ];
        const r = await api('POST', `${DATA}/bulk/items/patch`, { dataCollectionId: 'hk', patches, returnEntity: true });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        const res = r.body.results;
        assert.deepEqual(res[0].itemMetadata, { id: 'b1', originalIndex: 0, success: true });
        assert.equal(res[0].action, 'PATCH');
        assert.deepEqual(user(res[0].dataItem.data), { _id: 'b1', n: 11, stamp: 'beforeUpdate', doubled: 22, seenBy: 'afterUpdate' });
        assert.equal(res[0].dataItem.id, 'b1');
        assert.equal(res[0].dataItem.dataCollectionId, 'hk');
        assert.equal(res[1].itemMetadata.error.code, 'WDE0073');
        assert.equal(res[2].dataItem.data.doubled, 44);
        assert.equal(res[3].itemMetadata.error.code, 'WDE0078');
        assert.deepEqual(r.body.bulkActionMetadata, { totalSuccesses: 2, totalFailures: 2 });
        assert.deepEqual(
          calls('beforeUpdate').map((c) => [c.arg._id, c.arg.n]),
          [
            ['b1', 11],
            ['b2', 22],
            ['b3', 3],
          ],
        );
        assert.deepEqual(user((await stored('hk', 'b3')) as Obj), { _id: 'b3', n: 3 }, 'the refused item is unchanged');
        assert.equal((await stored('hk', 'b1'))?.doubled, 22);

        // The same request on a collection without hooks answers in the same shape.
        const plain = await api('POST', `${DATA}/bulk/items/patch`, { dataCollectionId: 'plain', patches: patches.slice(0, 3), returnEntity: true });
        const shape = (x: any): any =>
          Array.isArray(x) ? x.map(shape) : x && typeof x === 'object' ? Object.fromEntries(Object.keys(x).sort().filter((k) => k !== 'data').map((k) => [k, shape(x[k])])) : typeof x;
        assert.deepEqual(shape(res.slice(0, 3)), shape(plain.body.results));
        assert.deepEqual(res[1].itemMetadata, { ...plain.body.results[1].itemMetadata, error: { ...plain.body.results[1].itemMetadata.error, description: 'Item [ghost] does not exist in collection [hk]', data: { itemId: 'ghost', collectionId: 'hk' } } });

        // Without returnEntity no item is returned; one item patched twice sees each step.
        const twice = await api('POST', `${DATA}/bulk/items/patch`, {
          dataCollectionId: 'hk',
          patches: [
            { dataItemId: 'b2', fieldModifications: [INC('n', 1)] },
            { dataItemId: 'b2', fieldModifications: [INC('n', 1)] },
          ],
        });
        assert.equal(twice.status, 200, JSON.stringify(twice.body));
        assert.deepEqual(
          twice.body.results.map((x: Obj) => x.itemMetadata),
          [
            { id: 'b2', originalIndex: 0, success: true },
            { id: 'b2', originalIndex: 1, success: true },
          ],
        );
        assert.ok(twice.body.results.every((x: Obj) => !('dataItem' in x)));
        assert.equal((await stored('hk', 'b2'))?.n, 24);
        assert.equal((await stored('hk', 'b2'))?.doubled, 48);

        // Through the client's builder.
        const viaClient = await items.bulkPatch('hk', ['b1', 'b2']).incrementField('n', 1).run();
        assert.equal(viaClient.updated, 2);
        assert.equal((await stored('hk', 'b1'))?.doubled, 24);
      });

      test('bulk insert, update and save fire the per-item hooks; save picks insert or update', async () => {
        const ins = await api('POST', `${DATA}/bulk/items/insert`, {
          dataCollectionId: 'hk',
          returnEntity: true,
          dataItems: [{ id: 'bi1', data: { title: 'a' } }, { id: 'bi2', data: { title: 'b', reject: true } }, { id: 'bi3', data: { title: 'c' } }],
        });
        assert.equal(ins.status, 200, JSON.stringify(ins.body));
        assert.deepEqual(
          ins.body.results.map((x: Obj) => [x.itemMetadata.id, x.itemMetadata.originalIndex, x.itemMetadata.success, x.itemMetadata.error?.code]),
          [
            ['bi1', 0, true, undefined],
            ['bi2', 1, false, 'WDE0078'],
            ['bi3', 2, true, undefined],
          ],
        );
        assert.equal(ins.body.results[2].dataItem.data.seenBy, 'afterInsert');
        assert.equal((await stored('hk', 'bi3'))?.title, 'C');
        assert.equal(await stored('hk', 'bi2'), undefined);

        const upd = await items.bulkUpdate('hk', [
          { _id: 'bi1', n: 1 },
          { _id: 'bi3', n: 3, reject: true },
        ]);
        assert.equal(upd.updated, 1);
        assert.equal(upd.errors.length, 1);
        assert.equal((await stored('hk', 'bi1'))?.doubled, 2);
        assert.equal((await stored('hk', 'bi3'))?.n, undefined);

        recorder.log = [];
        const first = await items.save('hk', { _id: 's1', title: 'new' });
        assert.equal(first.stamp, 'beforeInsert');
        assert.equal(first.seenBy, 'afterInsert');
        const second = await items.save('hk', { _id: 's1', n: 4 });
        assert.equal(second.stamp, 'beforeUpdate');
        assert.equal(second.seenBy, 'afterUpdate');
        assert.deepEqual(user((await stored('hk', 's1')) as Obj), { _id: 's1', n: 4, stamp: 'beforeUpdate', doubled: 8 });

        recorder.log = [];
        const bulk = await api('POST', `${DATA}/bulk/items/save`, { dataCollectionId: 'hk', dataItems: [{ id: 's1', data: { n: 1 } }, { id: 's2', data: { title: 'z' } }] });
        assert.equal(bulk.status, 200, JSON.stringify(bulk.body));
        assert.deepEqual(
          bulk.body.results.map((x: Obj) => x.action),
          ['UPDATE', 'INSERT'],
        );
        assert.deepEqual(
          calls().map((c) => [c.name, c.arg._id]),
          [
            ['beforeUpdate', 's1'],
            ['beforeInsert', 's2'],
            ['afterUpdate', 's1'],
            ['afterInsert', 's2'],
          ],
        );
      });

      test('suppressHooks skips every hook of the call', async () => {
        await items.insert('hk', { _id: 'sh1', title: 'low' }, { suppressHooks: true });
        await items.update('hk', { _id: 'sh1', title: 'low', n: 1 }, { suppressHooks: true });
        await items.patch('hk', 'sh1').incrementField('n', 1).run({ suppressHooks: true });
        const qs = await api('POST', `${DATA}/items?suppressHooks=true`, { dataCollectionId: 'hk', dataItem: { id: 'sh2', data: { title: 'low' } } });
        assert.equal(qs.status, 200, JSON.stringify(qs.body));
        await items.save('hk', { _id: 'sh3', reject: true }, { suppressHooks: true });
        assert.deepEqual(user((await stored('hk', 'sh1')) as Obj), { _id: 'sh1', title: 'low', n: 2 });
        assert.deepEqual(user((await stored('hk', 'sh2')) as Obj), { _id: 'sh2', title: 'low' });
        assert.ok(await stored('hk', 'sh3'));
        await items.remove('hk', 'sh3', { suppressHooks: true });
        assert.equal(await stored('hk', 'sh3'), undefined);
        assert.deepEqual(recorder.log, [], 'no hook ran');
        // suppressHooks must be a boolean.
        expectError(await api('POST', `${DATA}/items`, { dataCollectionId: 'hk', suppressHooks: 'yes', dataItem: { data: {} } }), 400, 'WDE0080');
        // false runs them.
        await items.insert('hk', { _id: 'sh4', title: 'low' }, { suppressHooks: false });
        assert.equal((await stored('hk', 'sh4'))?.title, 'LOW');
      });

      test('an after hook that throws fails the call with WDE0078 after the write', async () => {
        const r = await api('POST', `${DATA}/items`, { dataCollectionId: 'hk', dataItem: { id: 'fa1', data: { failAfter: true } } });
        assert.deepEqual(expectError(r, 400, 'WDE0078').data.jsErrorValue, { message: 'afterInsert broke', name: 'Error' });
        assert.equal((await stored('hk', 'fa1'))?.stamp, 'beforeInsert', 'the item was written');
        assert.deepEqual(
          calls('onFailure').map((c) => c.arg.code),
          ['WDE0078'],
        );
      });

      test('hooks fire only for their own collection', async () => {
        const plain = await items.insert('plain', { _id: 'o1', title: 'low' });
        assert.equal(plain.title, 'low');
        assert.equal(plain.stamp, undefined);
        assert.deepEqual(user((await stored('plain', 'o1')) as Obj), { _id: 'o1', title: 'low' });
        assert.equal((await items.get('plain', 'o1')).seenBy, undefined);
        assert.equal(await items.query('plain').eq('_id', 'o1').count(), 1);
        assert.equal(await items.get('plain', 'ghost'), null);
        assert.deepEqual(recorder.log, []);
        // my_items has its own hooks, none of hk's.
        const mine = await items.insert('my_items', { _id: 'o2', title: 'low' });
        assert.equal(mine.title, 'low');
        assert.equal(mine.asyncStamp, true);
        assert.deepEqual(
          calls().map((c) => [c.name, c.context.collectionName]),
          [['beforeInsert', 'my_items']],
        );
      });

      test('async hooks are awaited (and their rejections fail the call)', async () => {
        await items.insert('my_items', { _id: 'a1', title: 't' });
        assert.equal((await stored('my_items', 'a1'))?.asyncStamp, true);
        assert.equal((await items.get('my_items', 'a1')).asyncSeen, true);
        const r = await api('POST', `${DATA}/items`, { dataCollectionId: 'my_items', dataItem: { id: 'a2', data: { reject: true } } });
        assert.deepEqual(expectError(r, 400, 'WDE0078').data.jsErrorValue, { message: 'async no', name: 'Error' });
        assert.equal(await stored('my_items', 'a2'), undefined);
      });

      test('a patch racing another write: beforeUpdate runs again and no change is lost', async () => {
        await seed('race', [{ _id: 'r1', n: 0 }]);
        recorder.raceOnce = async (id) => {
          // Another write lands between the hooked patch's read and its write.
          const other = await api('POST', `${DATA}/items/patch`, { dataCollectionId: 'race', suppressHooks: true, patch: { dataItemId: id, fieldModifications: [INC('n', 10)] } });
          assert.equal(other.status, 200, JSON.stringify(other.body));
        };
        const r = await api('POST', `${DATA}/items/patch`, { dataCollectionId: 'race', patch: { dataItemId: 'r1', fieldModifications: [INC('n', 1)] } });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.equal(r.body.dataItem.data.n, 11);
        assert.deepEqual(user((await stored('race', 'r1')) as Obj), { _id: 'r1', n: 11, hooked: 1 });
        assert.deepEqual(
          calls('beforeUpdate').map((c) => c.arg.n),
          [1, 11],
          'the hook ran again on the item as the other write left it',
        );
      });

      test('background tasks fire no hooks', async () => {
        await seed('hk', [
          { _id: 't1', group: 't' },
          { _id: 'protected-t', group: 't' },
        ]);
        // beforeRemove refuses 'protected…' ids through the items API; a task removes them regardless.
        const r = await api('POST', `${DATA}/bulk/items/async-remove-by-filter`, { dataCollectionId: 'hk', filter: { group: 't' } });
        assert.equal(r.status, 200, JSON.stringify(r.body));
        await s.cairn.runner!.whenIdle();
        assert.equal(await stored('hk', 't1'), undefined);
        assert.equal(await stored('hk', 'protected-t'), undefined);
        assert.deepEqual(recorder.log, []);
      });
    });
  }
}

describe('loading hooks modules', () => {
  const fn = () => undefined;

  test('Velo names split at the last underscore; other exports are ignored', () => {
    const other = () => 1;
    const reg = hooksFromModule({ my_big_items_afterGet: fn, products_beforeInsert: other, format_title: fn, helper: fn, products_beforeDistinct: fn, _beforeInsert: fn }, 'm');
    assert.deepEqual([...reg.collections.keys()].sort(), ['my_big_items', 'products']);
    assert.equal(reg.collections.get('my_big_items')?.afterGet, fn);
    assert.equal(reg.collections.get('products')?.beforeInsert, other);
    assert.equal(reg.collections.get('products')?.beforeDistinct, fn);
    assert.deepEqual(Object.keys(reg.collections.get('products') ?? {}), ['beforeInsert', 'beforeDistinct']);
    assert.deepEqual(reg.warnings, []);
  });

  test('the hooks object, also on the default export, is called on its object', async () => {
    const perCollection = {
      prefix: 'P:',
      beforeInsert(this: { prefix: string }, item: Obj) {
        return { ...item, title: this.prefix + item.title };
      },
    };
    const reg = hooksFromModule({ default: { hooks: { products: perCollection } } }, 'm');
    const h = reg.collections.get('products')?.beforeInsert;
    assert.ok(h);
    assert.deepEqual(await h({ title: 'x' }, { collectionName: 'products', userId: null, userRole: 'ADMIN' }), { title: 'P:x' });
    // A CommonJS module: the same functions as named exports and on module.exports count once.
    const cjs = { a_afterGet: fn, default: { a_afterGet: fn } };
    assert.equal(hooksFromModule(cjs, 'm').collections.get('a')?.afterGet, fn);
  });

  test('mistakes in a hooks module stop the server from starting', async () => {
    assert.throws(() => hooksFromModule({ hooks: { products: { beforeInsrt: fn } } }, 'm'), /beforeInsrt is not a hook/);
    assert.throws(() => hooksFromModule({ hooks: { products: { beforeInsert: 'x' } } }, 'm'), /must be a function/);
    assert.throws(() => hooksFromModule({ hooks: { products: [] } }, 'm'), /must be an object/);
    assert.throws(() => hooksFromModule({ products_afterGet: fn, hooks: { products: { afterGet: () => 2 } } }, 'm'), /twice/);
    await assert.rejects(loadHooks('no-such-hooks.ts', dir), /does not exist/);
    const broken = join(dir, 'broken.js');
    writeFileSync(broken, 'export function x( {');
    await assert.rejects(loadHooks('broken.js', dir), /cannot load/);
    const store = await openTestStore('sqlite');
    try {
      await assert.rejects(buildApp({ adminKey: TEST_ADMIN_KEY, db: store.db, logLevel: 'silent', runTasks: false, hooks: join(dir, 'missing.js') }), /does not exist/);
    } finally {
      await store.close();
    }
  });

  test('a relative path loads against the working directory; CAIRN_HOOKS configures it', async () => {
    const reg = await loadHooks('hooks.ts', dir);
    assert.ok(reg.collections.get('hk')?.beforeInsert);
    assert.equal(loadConfig({ CAIRN_HOOKS: './backend/data.ts' }).hooks, './backend/data.ts');
    assert.equal(loadConfig({}).hooks, undefined);
  });
});
