/**
 * Edge cases found by reviewing the API against the spec, on each store: text PostgreSQL cannot
 * store (lone surrogates), operands nested past any item's depth, field names that are members
 * of Object.prototype, patches whose guards would be too deep for SQLite's parser, a list of one
 * in a query string (the published client's `items.get(..., {fields: ['a']})`).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, call, wixClientFor, type TestServer } from './helpers/server.js';

const P = '/wix-data/v2';

function assertError(res: { status: number; body: any }, status: number, code: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body?.details?.applicationError?.code, code, JSON.stringify(res.body));
}

function nested(depth: number, leaf: unknown): unknown {
  let v: unknown = leaf;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

for (const storeName of STORE_NAMES) {
  describe(`edge input (${storeName})`, () => {
    let s: TestServer;
    const ok = async (p: Promise<{ status: number; body: any }>) => {
      const r = await p;
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body;
    };
    const collection = (id: string) => ok(call(s.url, 'POST', `${P}/collections`, { collection: { id } }));
    const insert = (c: string, id: string, data: Record<string, unknown>) =>
      call(s.url, 'POST', `${P}/items`, { dataCollectionId: c, dataItem: { id, data } });
    const get = async (c: string, id: string) => (await ok(call(s.url, 'GET', `${P}/items/${id}?dataCollectionId=${c}`))).dataItem.data;
    const count = async (c: string) => (await ok(call(s.url, 'POST', `${P}/items/count`, { dataCollectionId: c }))).totalCount;
    const bulkPatch = (c: string, patches: unknown[], extra: Record<string, unknown> = {}) =>
      call(s.url, 'POST', `${P}/bulk/items/patch`, { dataCollectionId: c, patches, ...extra });

    before(async () => {
      s = await startServer(storeName);
    });
    after(() => s.close());

    test('a lone UTF-16 surrogate anywhere in a request is a 400 WDE0080 on every store, and nothing is written', async () => {
      const c = 'surrogates';
      await collection(c);
      await ok(insert(c, 'a', { s: 'x', n: 1 }));
      // A pair (an emoji) is text, and fine.
      await ok(insert(c, 'emoji', { s: '\u{1F600}' }));
      assert.equal((await get(c, 'emoji')).s, '\u{1F600}');
      const bodies: [string, string, unknown][] = [
        ['insert value', `${P}/items`, { dataCollectionId: c, dataItem: { id: 'b', data: { s: '\ud800' } } }],
        ['insert key', `${P}/items`, { dataCollectionId: c, dataItem: { id: 'b', data: { ['k\udc00']: 1 } } }],
        ['bulk insert', `${P}/bulk/items/insert`, { dataCollectionId: c, dataItems: [{ id: 'b', data: { s: 'ok' } }, { id: 'd', data: { s: 'x\udfff' } }] }],
        ['patch value', `${P}/bulk/items/patch`, { dataCollectionId: c, patches: [{ dataItemId: 'a', fieldModifications: [{ fieldPath: 's', action: 'SET_FIELD', setFieldOptions: { value: '\ud800' } }] }] }],
        ['query filter', `${P}/items/query`, { dataCollectionId: c, query: { filter: { s: '\ud800' } } }],
        ['task filter', '/cms/v1/tasks', { task: { type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: c, filter: { s: '\ud800' } } } }],
        ['task addItems', '/cms/v1/tasks', { task: { type: 'EDIT_FIELD_DATA', editFieldDataOptions: { dataCollectionId: c, fieldKey: 't', operations: { addItems: ['\ud800'] } } } }],
      ];
      for (const [what, path, body] of bodies) {
        const res = await call(s.url, 'POST', path, body);
        assert.equal(res.status, 400, `${what}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.details.applicationError.code, 'WDE0080', what);
      }
      // In the query string and the path too (percent-encoded escapes in `.r`'s JSON).
      assertError(await call(s.url, 'GET', `${P}/items/query?.r=${encodeURIComponent(JSON.stringify({ dataCollectionId: c, query: { filter: { s: '\ud800' } } }))}`), 400, 'WDE0080');
      assert.equal(await count(c), 2);
      assert.deepEqual((await get(c, 'a')).s, 'x');
      const tasks = await ok(call(s.url, 'GET', '/cms/v1/tasks'));
      assert.equal(tasks.tasks.length, 0, 'no task was queued');
    });

    test('an array or object operand nested deeper than 64 levels is a 400, not a stack overflow', async () => {
      const c = 'deep';
      await collection(c);
      await ok(insert(c, 'a', { f: nested(60, 1) }));
      // As deep as an item may be: found.
      const found = await ok(call(s.url, 'POST', `${P}/items/query`, { dataCollectionId: c, query: { filter: { f: nested(60, 1) } } }));
      assert.deepEqual(found.dataItems.map((i: any) => i.id), ['a']);
      // JSON text, built as text: too deep for JSON.stringify here.
      const deep = `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`;
      const body = (template: string) => template.replace('DEEP', deep);
      assertError(await call(s.url, 'POST', `${P}/items/query`, body(`{"dataCollectionId":"${c}","query":{"filter":{"f":DEEP}}}`)), 400, 'WDE0058');
      assertError(await call(s.url, 'POST', `${P}/items/count`, body(`{"dataCollectionId":"${c}","filter":{"f":{"$eq":DEEP}}}`)), 400, 'WDE0058');
      const patch = '[{"dataItemId":"a","fieldModifications":[{"fieldPath":"n","action":"INCREMENT_FIELD","incrementFieldOptions":{"value":1}}]}]';
      assertError(await call(s.url, 'POST', `${P}/bulk/items/patch`, body(`{"dataCollectionId":"${c}","patches":${patch},"condition":{"filter":{"f":DEEP}}}`)), 400, 'WDE0058');
      assertError(await call(s.url, 'POST', '/cms/v1/tasks', body(`{"task":{"type":"DELETE_BY_QUERY","deleteByQueryOptions":{"dataCollectionId":"${c}","filter":{"f":DEEP}}}}`)), 400, 'WDE0058');
      assert.equal((await get(c, 'a')).n, undefined);
      assert.equal(await count(c), 1);
    });

    test('fields named like Object.prototype members are ordinary fields on every patch path, in reads and in filters', async () => {
      const c = 'protonames';
      await collection(c);
      for (const id of ['fast', 'js']) await ok(insert(c, id, { list: ['x'] }));
      const mods = [
        { fieldPath: 'constructor', action: 'INCREMENT_FIELD', incrementFieldOptions: { value: 2 } },
        { fieldPath: 'toString', action: 'APPEND_TO_ARRAY', appendToArrayOptions: { value: 'a' } },
        { fieldPath: 'hasOwnProperty.x', action: 'SET_FIELD', setFieldOptions: { value: 1 } },
        { fieldPath: '__proto__', action: 'SET_FIELD', setFieldOptions: { value: { evil: 1 } } },
      ];
      // Same modifications through the SQL fast path, and through the JS path (REMOVE_FROM_ARRAY
      // has no fast path).
      const res = await ok(
        bulkPatch(c, [
          { dataItemId: 'fast', fieldModifications: mods },
          { dataItemId: 'js', fieldModifications: [...mods, { fieldPath: 'list', action: 'REMOVE_FROM_ARRAY', removeFromArrayOptions: { value: 'x' } }] },
        ]),
      );
      assert.equal(res.bulkActionMetadata.totalSuccesses, 2, JSON.stringify(res));
      for (const id of ['fast', 'js']) {
        const data = await get(c, id);
        assert.equal(data.constructor, 2, id);
        assert.deepEqual(data.toString, ['a'], id);
        assert.deepEqual(data.hasOwnProperty, { x: 1 }, id);
        assert.ok(Object.hasOwn(data, '__proto__'), `${id}: __proto__ is in the reply`);
        assert.deepEqual(data['__proto__'], { evil: 1 }, id);
      }
      const byProto = await ok(call(s.url, 'POST', `${P}/items/query`, { dataCollectionId: c, query: { filter: { '__proto__.evil': 1 }, sort: [{ fieldName: '_id' }] } }));
      assert.deepEqual(byProto.dataItems.map((i: any) => i.id), ['fast', 'js']);
      // A filter on a field no item has matches nothing, even when its name is a prototype member.
      const none = await ok(call(s.url, 'POST', `${P}/items/query`, { dataCollectionId: c, query: { filter: { valueOf: { $exists: true } } } }));
      assert.equal(none.dataItems.length, 0);
      // A projection of such a field.
      const projected = await ok(call(s.url, 'POST', `${P}/items/query`, { dataCollectionId: c, query: { filter: { _id: 'js' }, fields: ['__proto__'] } }));
      assert.deepEqual(projected.dataItems[0].data['__proto__'], { evil: 1 });
    });

    test('a patch of 100 modifications on 8-segment paths runs (its guards are too many for a flat AND in SQLite)', async () => {
      const c = 'manymods';
      await collection(c);
      await ok(insert(c, 'a', { n: 1 }));
      const fieldModifications = Array.from({ length: 100 }, (_, i) => ({
        fieldPath: `m${i}.p1.p2.p3.p4.p5.p6.leaf`,
        action: 'SET_FIELD',
        setFieldOptions: { value: i },
      }));
      const res = await ok(bulkPatch(c, [{ dataItemId: 'a', fieldModifications }]));
      assert.equal(res.bulkActionMetadata.totalSuccesses, 1, JSON.stringify(res));
      const data = await get(c, 'a');
      assert.equal(data.m99.p1.p2.p3.p4.p5.p6.leaf, 99);
      assert.equal(data.m0.p1.p2.p3.p4.p5.p6.leaf, 0);
    });

    test('bulk patch: a repeated item meets the condition on the item as the patches before it left it', async () => {
      const c = 'repeatcond';
      await collection(c);
      await ok(insert(c, 'a', { n: 3 }));
      const dec = { dataItemId: 'a', fieldModifications: [{ fieldPath: 'n', action: 'INCREMENT_FIELD', incrementFieldOptions: { value: -3 } }] };
      const res = await ok(bulkPatch(c, [dec, dec], { condition: { filter: { n: { $gt: 0 } } } }));
      assert.deepEqual(
        res.results.map((r: any) => [r.itemMetadata.success, r.itemMetadata.error?.code ?? null, r.itemMetadata.error?.data?.reason ?? null]),
        [[true, null, null], [false, 'WDE0073', 'CONDITION_NOT_MET']],
      );
      assert.equal((await get(c, 'a')).n, 0);
      // Without a condition both apply, in order.
      await ok(bulkPatch(c, [dec, dec]));
      assert.equal((await get(c, 'a')).n, -6);
    });

    test('dates: ISO 8601 in the years 0000-9999 only (stored dates compare as text), on items, filters and task dates', async () => {
      const c = 'datesrange';
      await collection(c);
      await ok(insert(c, 'a', { d: { $date: '2024-05-01T00:00:00.000Z' } }));
      await ok(insert(c, 'z', { d: { $date: '0000-01-01' } }));
      assert.deepEqual((await get(c, 'z')).d, { $date: '0000-01-01T00:00:00.000Z' });
      for (const bad of ['+010000-01-01T00:00:00.000Z', '9999-12-31T23:00:00-05:00', '1', 'May 1, 2024', '2024-13-01']) {
        const res = await insert(c, 'b', { d: { $date: bad } });
        assert.equal(res.status, 400, `${bad}: ${JSON.stringify(res.body)}`);
        const q = await call(s.url, 'POST', `${P}/items/query`, { dataCollectionId: c, query: { filter: { d: { $gt: { $date: bad } } } } });
        assert.equal(q.status, 400, `${bad} in a filter: ${JSON.stringify(q.body)}`);
        const task = await call(s.url, 'POST', '/cms/v1/tasks', { task: { type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: c, filter: { createdDate: { $gt: bad } } } } });
        // In a task filter a plain string on a system date is a date only when it is one: this is
        // a string, which no date equals or exceeds (comparisons match values of one type).
        assert.equal(task.status, 200, `${bad} in a task filter: ${JSON.stringify(task.body)}`);
        assert.equal(task.body.task.estimatedItemCount, 0, bad);
      }
      // A schedule date must be a date.
      await ok(call(s.url, 'POST', `${P}/collections`, { collection: { id: `${c}-pub`, plugins: [{ type: 'PUBLISH' }] } }));
      const schedule = (date: string) =>
        call(s.url, 'POST', '/cms/v1/tasks', {
          task: { type: 'UPDATE_PUBLISH_STATUS', updatePublishStatusOptions: { dataCollectionId: `${c}-pub`, operation: 'SCHEDULE_PUBLISHED_STATUS', schedulePublishedStatusOptions: { date } } },
        });
      assertError(await schedule('1'), 400, 'WDE0075');
      assertError(await schedule('+010000-01-01T00:00:00.000Z'), 400, 'WDE0075');
      await ok(schedule('2030-01-01T00:00:00Z'));
      assert.equal(await count(c), 2);
    });

    test('the published client: items.get with one projected field (sent as a single query value)', async () => {
      const c = 'getfields';
      await collection(c);
      await ok(insert(c, 'a', { n: 1, s: 'x' }));
      const client = wixClientFor(s.url) as any;
      assert.deepEqual(await client.items.get(c, 'a', { fields: ['n'] }), { _id: 'a', n: 1 });
      assert.deepEqual(await client.items.get(c, 'a', { fields: ['n', 's'] }), { _id: 'a', n: 1, s: 'x' });
    });
  });
}
