/**
 * Sandbox to live (src/collections/sandbox-sync.ts): POST /cairn/v1/collections/{id}/sandbox/sync
 * over raw HTTP on every store: sandbox items overwrite and join the live ones, `replace` removes
 * the live items the sandbox lacks, identical items are left alone, references follow, item
 * events record the live changes, a broken unique index changes nothing, a Draft Items pair goes
 * together, and bad input and callers without the scope are refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_NAMES } from './helpers/stores.js';
import { httpOf, startServer, type TestServer } from './helpers/server.js';
import { sql } from '../src/store/sql.js';
import { SCOPES } from '../src/auth/scopes.js';

const DATA = '/wix-data/v2';

for (const storeName of STORE_NAMES) {
  describe(`sandbox to live (${storeName})`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(storeName, { runner: false });
    });
    after(() => s.close());

    const { api, ok } = httpOf(() => s.url);
    const code = (r: { body: any }) => r.body?.details?.applicationError?.code;
    const items = async (c: string, environment = 'LIVE') =>
      (await ok('POST', `${DATA}/items/query`, { dataCollectionId: c, query: { sort: [{ fieldName: '_id' }] }, environment, publishPluginOptions: { includeDraftItems: true } })).dataItems.map(
        (i: any) => i.data,
      );
    const sync = (c: string, body: unknown = {}) => api('POST', `/cairn/v1/collections/${c}/sandbox/sync`, body);
    const lastSeq = async () => Number((await s.store.db.get<{ n: number | string | null }>(sql`SELECT max(seq) AS n FROM events`))?.n ?? 0);
    const eventsAfter = async (seq: number) =>
      (await s.store.db.all<{ type: string; env: string; entity_id: string }>(sql`SELECT type, env, entity_id FROM events WHERE seq > ${seq} ORDER BY seq`)).map(
        (e) => `${e.type.replace('wix.data.v2.data_item_', '')} ${e.env} ${e.entity_id}`,
      );

    test('sandbox items overwrite and join the live ones; replace removes the rest; identical items are left alone', async () => {
      await ok('POST', `${DATA}/collections`, { collection: { id: 'syn' } });
      await ok('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'syn', dataItems: [{ id: 'a', data: { v: 1 } }, { id: 'b', data: { v: 1 } }] });
      await ok('POST', '/cairn/v1/collections/syn/sandbox', { enabled: true });
      await ok('POST', `${DATA}/items/update`, { dataCollectionId: 'syn', dataItem: { id: 'a', data: { v: 2 } }, environment: 'SANDBOX' });
      await ok('POST', `${DATA}/items`, { dataCollectionId: 'syn', dataItem: { id: 'c', data: { v: 3 } }, environment: 'SANDBOX' });
      await ok('POST', `${DATA}/items/remove`, { dataCollectionId: 'syn', dataItemId: 'b', environment: 'SANDBOX' });
      await ok('POST', `${DATA}/items`, { dataCollectionId: 'syn', dataItem: { id: 'd', data: { v: 4 } } });
      const sandbox = await items('syn', 'SANDBOX');

      const seq = await lastSeq();
      const first = await sync('syn');
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.deepEqual(first.body, { inserted: 1, updated: 1, removed: 0 });
      const live = await items('syn');
      assert.deepEqual(live.map((d: any) => [d._id, d.v]), [['a', 2], ['b', 1], ['c', 3], ['d', 4]]);
      // The synced items are the sandbox's, dates and all.
      assert.deepEqual(live.filter((d: any) => d._id === 'a' || d._id === 'c'), sandbox);
      assert.deepEqual(await eventsAfter(seq), ['updated LIVE a', 'created LIVE c']);

      const again = await lastSeq();
      assert.deepEqual((await sync('syn')).body, { inserted: 0, updated: 0, removed: 0 });
      assert.deepEqual(await eventsAfter(again), []);

      const before = await lastSeq();
      assert.deepEqual((await sync('syn', { replace: true })).body, { inserted: 0, updated: 0, removed: 2 });
      assert.deepEqual(await items('syn'), await items('syn', 'SANDBOX'));
      assert.deepEqual((await eventsAfter(before)).sort(), ['deleted LIVE b', 'deleted LIVE d']);
    });

    test("the synced items' references become the sandbox's, in their order", async () => {
      await ok('POST', `${DATA}/collections`, { collection: { id: 'tgt' } });
      await ok('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'tgt', dataItems: ['t1', 't2', 't3'].map((id) => ({ id, data: {} })) });
      await ok('POST', `${DATA}/collections`, {
        collection: { id: 'refs', fields: [{ key: 'ts', type: 'MULTI_REFERENCE', typeMetadata: { multiReference: { referencedCollectionId: 'tgt' } } }] },
      });
      await ok('POST', `${DATA}/items`, { dataCollectionId: 'refs', dataItem: { id: 'r', data: {} } });
      await ok('POST', `${DATA}/items/insert-reference`, { dataCollectionId: 'refs', dataItemReference: { referringItemFieldName: 'ts', referringItemId: 'r', referencedItemId: 't3' } });
      await ok('POST', '/cairn/v1/collections/refs/sandbox', { enabled: true });
      await ok('POST', '/cairn/v1/collections/tgt/sandbox', { enabled: true });
      await ok('POST', `${DATA}/items/replace-references`, {
        dataCollectionId: 'refs',
        referringItemFieldName: 'ts',
        referringItemId: 'r',
        newReferencedItemIds: ['t2', 't1'],
        environment: 'SANDBOX',
      });
      await ok('POST', '/cairn/v1/collections/refs/sandbox/sync', {});
      const q = await ok('POST', `${DATA}/items/query-referenced`, { dataCollectionId: 'refs', referringItemIds: ['r'], referringItemFieldName: 'ts' });
      assert.deepEqual(q.results.map((x: any) => x.dataItem?.id), ['t2', 't1']);
    });

    test('a unique index the sync would break: 409 WDE0123 and nothing changes; replace makes room first', async () => {
      await ok('POST', `${DATA}/collections`, { collection: { id: 'uniq' } });
      await ok('POST', `${DATA}/indexes`, { dataCollectionId: 'uniq', index: { name: 'by_email', fields: [{ path: 'email' }], unique: true } });
      await ok('POST', `${DATA}/items`, { dataCollectionId: 'uniq', dataItem: { id: 'x', data: { email: 'e1' } } });
      await ok('POST', '/cairn/v1/collections/uniq/sandbox', { enabled: true });
      await ok('POST', `${DATA}/items/remove`, { dataCollectionId: 'uniq', dataItemId: 'x', environment: 'SANDBOX' });
      await ok('POST', `${DATA}/items`, { dataCollectionId: 'uniq', dataItem: { id: 'y', data: { email: 'e1' } }, environment: 'SANDBOX' });
      const seq = await lastSeq();
      const r = await sync('uniq');
      assert.equal(r.status, 409, JSON.stringify(r.body));
      assert.equal(code(r), 'WDE0123');
      assert.deepEqual((await items('uniq')).map((d: any) => d._id), ['x']);
      assert.deepEqual(await eventsAfter(seq), []);
      assert.deepEqual((await sync('uniq', { replace: true })).body, { inserted: 1, updated: 0, removed: 1 });
      assert.deepEqual((await items('uniq')).map((d: any) => d._id), ['y']);
    });

    test('publish status comes along; a Draft Items pair is synced together', async () => {
      await ok('POST', `${DATA}/collections`, { collection: { id: 'pubs', plugins: [{ type: 'PUBLISH', publishOptions: { defaultStatus: 'DRAFT' } }] } });
      await ok('POST', '/cairn/v1/collections/pubs/sandbox', { enabled: true });
      await ok('POST', `${DATA}/items`, { dataCollectionId: 'pubs', dataItem: { id: 'p', data: {} }, environment: 'SANDBOX' });
      await ok('POST', '/cairn/v1/collections/pubs/sandbox/sync', {});
      assert.deepEqual((await items('pubs')).map((d: any) => [d._id, d._publishStatus]), [['p', 'DRAFT']]);

      await ok('POST', `${DATA}/collections`, { collection: { id: 'pair' } });
      await ok('POST', `${DATA}/collections/add-draft-items-plugin`, { dataCollectionId: 'pair' });
      await ok('POST', '/cairn/v1/collections/pair/sandbox', { enabled: true });
      await ok('POST', `${DATA}/items`, { dataCollectionId: 'pair', dataItem: { id: 'q', data: {} }, environment: 'SANDBOX' });
      await ok('POST', `${DATA}/items/create-draft`, { dataCollectionId: 'pair', dataItemId: 'q', environment: 'SANDBOX' });
      assert.deepEqual((await sync('pair__drafts')).body, { inserted: 2, updated: 0, removed: 0 });
      assert.deepEqual((await items('pair__drafts')).map((d: any) => d._id), ['q']);
      assert.deepEqual((await items('pair')).map((d: any) => d._id), ['q']);
    });

    test('bad input and callers without the scope are refused, and change nothing', async () => {
      await ok('POST', `${DATA}/collections`, { collection: { id: 'nosandbox' } });
      const none = await sync('nosandbox');
      assert.deepEqual([none.status, code(none)], [400, 'WDE0119']);
      const ghost = await sync('ghost');
      assert.deepEqual([ghost.status, code(ghost)], [404, 'WDE0025']);
      await ok('POST', '/cairn/v1/collections/nosandbox/sandbox', { enabled: true });
      const seq = await lastSeq();
      for (const body of [{ replace: 'yes' }, { replace: 1 }, '[1]']) {
        const r = await sync('nosandbox', body);
        assert.equal(r.status, 400, JSON.stringify(r.body));
        assert.equal(typeof code(r), 'string');
      }
      const reader = (await ok('POST', '/cairn/v1/keys', { name: 'reader', scopes: [SCOPES.dataRead, SCOPES.dataWrite] })).apiKey as string;
      assert.equal((await api('POST', '/cairn/v1/collections/nosandbox/sandbox/sync', {}, { authorization: '' })).status, 401);
      assert.equal((await api('POST', '/cairn/v1/collections/nosandbox/sandbox/sync', {}, { authorization: reader })).status, 403);
      assert.equal(await lastSeq(), seq);
    });
  });
}
