/**
 * GET by id sends stored text as it is when it is already in wire form (SQLite, `canon` = 1):
 * whatever wrote an item, the reply must be byte for byte the one the parsing path gives, which
 * is what a query returns for the same item. Also: SQLite's shared per-turn read snapshot never
 * hides a write this process made, and sees another connection's write from the next turn on.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, call, type TestServer, TEST_ADMIN_KEY } from './helpers/server.js';
import { SqliteDb } from '../src/store/sqlite/db.js';
import { migrate } from '../src/store/migrations.js';
import { sql } from '../src/store/sql.js';

const DATA = '/wix-data/v2';

/** Values whose JSON text has more than one spelling, or none that SQLite and JS share. */
const awkward = {
  zeta: 1,
  alpha: { z: 'last', a: 'first', m: [{ y: 1, b: 2 }, 'x'] },
  quote: 'say "hi" \\ back\\slash',
  controls: 'tab\tnew\nline\r\u0001\u001f\b\f',
  separators: 'line\u2028para\u2029',
  astral: 'emoji 😀 and 𝄞',
  accents: 'ünïcödé Ω',
  'ключ': 'unicode key',
  '': 'empty key',
  numbers: [0, -0, 0.1, 1e21, 1e-7, 123456789012345680000, 5e-324, -1.5e300, 2 ** 53 + 2],
  when: { $date: '2024-02-29T12:34:56.789Z' },
  deep: { list: [{ at: { $date: '2001-01-01T00:00:00.000Z' } }] },
  nothing: null,
  yes: true,
};

const textOf = async (url: string, init?: RequestInit) => {
  const r = await fetch(url, { ...init, headers: { authorization: TEST_ADMIN_KEY, ...(init?.headers as Record<string, string> | undefined) } });
  assert.equal(r.status, 200, await r.clone().text());
  assert.equal(r.headers.get('content-type'), 'application/json; charset=utf-8');
  return r.text();
};

for (const storeName of STORE_NAMES) {
  describe(`GET by id replies in wire form whatever wrote the item (${storeName})`, () => {
    let s: TestServer;
    const api = (method: string, path: string, body?: unknown) => call(s.url, method, path, body);
    before(async () => {
      s = await startServer(storeName, { onDisk: true });
    });
    after(() => s.close());

    /** Every item's reply from GET and POST /items/get against the query's copy of it. */
    async function assertRepliesMatchQuery(collection: string, environment = 'LIVE', extra: Record<string, unknown> = {}) {
      const q = await api('POST', `${DATA}/items/query`, { dataCollectionId: collection, environment, ...extra, query: { paging: { limit: 1000 } } });
      assert.equal(q.status, 200, JSON.stringify(q.body));
      assert.ok(q.body.dataItems.length > 0);
      for (const item of q.body.dataItems) {
        const expected = JSON.stringify({ dataItem: item });
        const drafts = extra.publishPluginOptions ? '&publishPluginOptions.includeDraftItems=true' : '';
        const get = await textOf(`${s.url}${DATA}/items/${encodeURIComponent(item.id)}?dataCollectionId=${collection}&environment=${environment}${drafts}`);
        assert.equal(get, expected, `GET ${item.id}`);
        const post = await textOf(`${s.url}${DATA}/items/get`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ dataCollectionId: collection, dataItemId: item.id, environment, ...extra }),
        });
        assert.equal(post, expected, `POST /items/get ${item.id}`);
      }
      return q.body.dataItems as { id: string; data: Record<string, unknown> }[];
    }

    test('items written by every write path', async () => {
      assert.equal((await api('POST', `${DATA}/collections`, { collection: { id: 'forms' } })).status, 200);
      const ids = ['ins', 'bulk1', 'bulk2', 'patched', 'upatched', 'put', 'saved', 'bupdated', 'bsaved', 'edited'];
      assert.equal((await api('POST', `${DATA}/items`, { dataCollectionId: 'forms', dataItem: { data: { _id: 'ins', ...awkward } } })).status, 200);
      const bulk = await api('POST', `${DATA}/bulk/items/insert`, {
        dataCollectionId: 'forms',
        dataItems: ids.slice(1).map((id) => ({ data: { _id: id, ...awkward } })),
      });
      assert.equal(bulk.status, 200, JSON.stringify(bulk.body));
      // BulkPatch, per-item values and uniform values (the SQL paths rewrite the stored text).
      const patch = (dataItemIds: string[], fieldModifications: unknown[]) =>
        api('POST', `${DATA}/bulk/items/patch`, { dataCollectionId: 'forms', patches: dataItemIds.map((dataItemId) => ({ dataItemId, fieldModifications })) });
      assert.equal((await patch(['patched'], [{ fieldPath: 'added', action: 'SET_FIELD', setFieldOptions: { value: { b: 'new "x"\n', a: 0.30000000000000004 } } }])).status, 200);
      assert.equal((await patch(['upatched', 'edited'], [{ fieldPath: 'alpha.a', action: 'SET_FIELD', setFieldOptions: { value: 1e21 } }, { fieldPath: 'numbers', action: 'APPEND_TO_ARRAY', appendToArrayOptions: { value: 'more' } }])).status, 200);
      assert.equal((await api('PUT', `${DATA}/items/put`, { dataCollectionId: 'forms', dataItem: { data: { _id: 'put', ...awkward, zeta: 2 } } })).status, 200);
      assert.equal((await api('POST', `${DATA}/items/save`, { dataCollectionId: 'forms', dataItem: { data: { _id: 'saved', ...awkward, saved: true } } })).status, 200);
      assert.equal((await api('POST', `${DATA}/bulk/items/update`, { dataCollectionId: 'forms', dataItems: [{ data: { _id: 'bupdated', ...awkward, b: 1 } }] })).status, 200);
      assert.equal((await api('POST', `${DATA}/bulk/items/save`, { dataCollectionId: 'forms', dataItems: [{ data: { _id: 'bsaved', ...awkward, b: 2 } }] })).status, 200);
      // EDIT_FIELD_DATA in a background task (its SQL append path).
      const task = await api('POST', '/cms/v1/tasks', {
        task: {
          type: 'EDIT_FIELD_DATA',
          editFieldDataOptions: { dataCollectionId: 'forms', fieldKey: 'tags', filter: { _id: 'edited' }, operations: { addItems: ['t1', { k: 'v' }] } },
        },
      });
      assert.equal(task.status, 200, JSON.stringify(task.body));
      let taskStatus = '';
      for (let i = 0; i < 800; i++) {
        const t = await api('GET', `/cms/v1/tasks/${task.body.task.id}`);
        taskStatus = t.body.task.status;
        if (taskStatus === 'COMPLETED') break;
        assert.notEqual(taskStatus, 'FAILED');
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.equal(taskStatus, 'COMPLETED', 'the EDIT_FIELD_DATA task did not finish');

      const items = await assertRepliesMatchQuery('forms');
      assert.deepEqual(items.map((i) => i.id).sort(), [...ids].sort());
      const byId = new Map(items.map((i) => [i.id, i.data]));
      assert.deepEqual(byId.get('patched')?.added, { a: 0.30000000000000004, b: 'new "x"\n' });
      assert.deepEqual(byId.get('edited')?.tags, ['t1', { k: 'v' }]);

      if (storeName === 'sqlite') {
        // Both forms are present, so both ways of building the reply were compared above.
        const rows = await s.store.db.all<{ id: string; canon: number }>(sql`SELECT id, canon FROM items WHERE collection_id = 'forms'`);
        const canon = new Map(rows.map((r) => [r.id, r.canon]));
        for (const id of ['ins', 'bulk1', 'put', 'saved', 'bupdated', 'bsaved']) assert.equal(canon.get(id), 1, id);
        for (const id of ['patched', 'upatched', 'edited']) assert.equal(canon.get(id), 0, id);
      }
    });

    test('sandbox copies, drafts with the Publish plugin, and projections', async () => {
      assert.equal((await api('POST', `${DATA}/collections`, { collection: { id: 'boxed' } })).status, 200);
      assert.equal((await api('POST', `${DATA}/items`, { dataCollectionId: 'boxed', dataItem: { data: { _id: 'a', ...awkward } } })).status, 200);
      const enable = await api('POST', `/cairn/v1/collections/boxed/sandbox`, { enabled: true });
      assert.equal(enable.status, 200, JSON.stringify(enable.body));
      await assertRepliesMatchQuery('boxed', 'SANDBOX');

      const plugins = [{ type: 'PUBLISH', publishOptions: { defaultStatus: 'DRAFT' } }];
      assert.equal((await api('POST', `${DATA}/collections`, { collection: { id: 'drafts', plugins } })).status, 200);
      assert.equal((await api('POST', `${DATA}/items`, { dataCollectionId: 'drafts', dataItem: { data: { _id: 'd', ...awkward } } })).status, 200);
      const [draft] = await assertRepliesMatchQuery('drafts', 'LIVE', { publishPluginOptions: { includeDraftItems: true } });
      assert.equal(draft?.data._publishStatus, 'DRAFT');

      const projected = JSON.parse(await textOf(`${s.url}${DATA}/items/a?dataCollectionId=boxed&fields=zeta&fields=when`));
      assert.deepEqual(Object.keys(projected.dataItem.data).sort(), ['_id', 'when', 'zeta']);
    });
  });
}

describe('SQLite read snapshot (one per turn of the event loop)', () => {
  let dir: string;
  let a: SqliteDb;
  let b: SqliteDb;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cairn-snapshot-'));
    a = new SqliteDb({ file: join(dir, 'cairn.db') });
    await migrate(a);
    b = new SqliteDb({ file: join(dir, 'cairn.db') });
  });
  after(async () => {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const insert = (db: SqliteDb, id: string) =>
    db.run(sql`INSERT INTO items (collection_id, env, id, data, created_date, updated_date) VALUES ('snap', 'LIVE', ${id}, '{}', 'd', 'd')`);
  const find = (db: SqliteDb, id: string) => db.get(sql`SELECT id FROM items WHERE collection_id = 'snap' AND id = ${id}`);

  test("a read after this process's own commit sees it, in the same turn", async () => {
    assert.equal(await find(a, 'own'), undefined); // opens the snapshot
    await insert(a, 'own');
    assert.deepEqual(await find(a, 'own'), { id: 'own' });
  });

  test("another connection's commit is seen from the next turn on", async () => {
    assert.equal(await find(a, 'other'), undefined);
    await insert(b, 'other');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(await find(a, 'other'), { id: 'other' });
  });

  test('a snapshot left open does not hold up closing', async () => {
    const c = new SqliteDb({ file: join(dir, 'cairn.db') });
    await find(c, 'own');
    await c.close();
  });
});
