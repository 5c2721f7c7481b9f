/**
 * Deleting and restoring collections (src/collections/deletion.ts, README "Deleting and restoring collections"), over raw
 * HTTP under both Wix prefixes, on every store: Restore Data Collection brings a deleted
 * collection back as it was (items in both environments, indexes, its own references and those
 * other collections made to it, drafts collection), Cairn's listing of deleted collections, the
 * retention (with a manual clock) and the purge that follows it, creation under a deleted
 * collection's id, retention 0, concurrency, access and bad input.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_NAMES } from './helpers/stores.js';
import { call, httpOf, startServer, type TestServer } from './helpers/server.js';
import { ManualClock } from '../src/clock.js';
import { raw, sql } from '../src/store/sql.js';
import { SCOPES } from '../src/auth/scopes.js';
import { EVENT_COLUMNS_SELECT, eventPayload, type EventRow } from '../src/events/payload.js';

const PREFIXES = ['/wix-data/v2', '/_api/cloud-data/v2'] as const;
const DATA = PREFIXES[0];
const T0 = Date.parse('2025-06-01T08:00:00.000Z');
const HOUR = 3_600_000;
const refField = (key: string, type: 'REFERENCE' | 'MULTI_REFERENCE', target: string) => ({
  key,
  type,
  typeMetadata: type === 'REFERENCE' ? { reference: { referencedCollectionId: target } } : { multiReference: { referencedCollectionId: target } },
});

function assertError(r: { status: number; body: any }, status: number, code: string) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body?.details?.applicationError?.code, code, JSON.stringify(r.body));
}

for (const storeName of STORE_NAMES) {
  describe(`deleting and restoring collections (${storeName})`, () => {
    let s: TestServer;
    const clock = new ManualClock(T0);
    before(async () => {
      s = await startServer(storeName, { clock, runner: false });
    });
    after(() => s.close());

    const { api, ok } = httpOf(() => s.url);
    const count = async (table: string, where: string, id: string) =>
      Number((await s.store.db.get<{ n: number | string }>(sql`SELECT count(*) AS n FROM ${raw(table)} WHERE ${raw(where)} = ${id}`))?.n);
    const query = async (collection: string, extra: Record<string, unknown> = {}) =>
      (await ok('POST', `${DATA}/items/query`, { dataCollectionId: collection, query: { sort: [{ fieldName: '_id' }] }, ...extra })).dataItems;
    const referenced = async (collection: string, item: string, field: string) =>
      (await ok('POST', `${DATA}/items/query-referenced`, { dataCollectionId: collection, referringItemIds: [item], referringItemFieldName: field, paging: { limit: 100 } })).results.map(
        (r: any) => r.dataItem?.id ?? `unresolved:${r.unresolvedReference?.referencedItemId}`,
      );

    /** Authors (items live and in the sandbox, a unique index, references to books) and books referring to them. */
    async function world(suffix: string) {
      const authors = `Authors${suffix}`;
      const books = `Books${suffix}`;
      await ok('POST', `${DATA}/collections`, { collection: { id: authors, fields: [{ key: 'name', type: 'TEXT' }, { key: 'email', type: 'TEXT' }] } });
      await ok('POST', `${DATA}/collections`, { collection: { id: books, fields: [{ key: 'title', type: 'TEXT' }, refField('writer', 'REFERENCE', authors), refField('authors', 'MULTI_REFERENCE', authors)] } });
      await ok('POST', `${DATA}/collections/create-field`, { dataCollectionId: authors, field: refField('favourites', 'MULTI_REFERENCE', books) });
      await ok('POST', `${DATA}/indexes`, { dataCollectionId: authors, index: { name: 'by_email', fields: [{ path: 'email' }], unique: true } });
      await ok('POST', `${DATA}/bulk/items/insert`, {
        dataCollectionId: authors,
        dataItems: [1, 2, 3].map((n) => ({ id: `a${n}`, data: { name: `Author ${n}`, email: `a${n}@example.com` } })),
      });
      await ok('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: books, dataItems: [1, 2].map((n) => ({ id: `b${n}`, data: { title: `Book ${n}`, writer: `a${n}` } })) });
      // Order matters: a3 before a1, to see it kept.
      for (const a of ['a3', 'a1']) await ok('POST', `${DATA}/items/insert-reference`, { dataCollectionId: books, dataItemReference: { referringItemFieldName: 'authors', referringItemId: 'b1', referencedItemId: a } });
      await ok('POST', `${DATA}/items/insert-reference`, { dataCollectionId: authors, dataItemReference: { referringItemFieldName: 'favourites', referringItemId: 'a2', referencedItemId: 'b2' } });
      await ok('POST', `/cairn/v1/collections/${authors}/sandbox`, { enabled: true });
      await ok('POST', `${DATA}/items`, { dataCollectionId: authors, dataItem: { id: 's1', data: { name: 'Sandboxed', email: 's1@example.com' } }, environment: 'SANDBOX' });
      return { authors, books };
    }

    for (const P of PREFIXES) {
      test(`${P}: a deleted collection comes back as it was, with items, indexes and references`, async () => {
        const { authors, books } = await world(P === DATA ? 'A' : 'B');
        const before = (await ok('GET', `${P}/collections/${authors}`)).collection;
        const itemsBefore = await query(authors);
        const sandboxBefore = await query(authors, { environment: 'SANDBOX' });
        const indexesBefore = (await ok('GET', `${P}/indexes?dataCollectionId=${authors}`)).indexes;
        assert.deepEqual(await referenced(books, 'b1', 'authors'), ['a3', 'a1']);

        clock.advance(HOUR);
        const deletedAt = clock.now().toISOString();
        assert.deepEqual(await ok('DELETE', `${P}/collections/${authors}`), {});
        assertError(await api('GET', `${P}/collections/${authors}`), 404, 'WDE0025');
        assertError(await api('POST', `${P}/items/query`, { dataCollectionId: authors, query: {} }), 404, 'WDE0025');
        // The books no longer reach the deleted authors: no multi-references, no included writer.
        assert.deepEqual(await referenced(books, 'b1', 'authors'), []);
        const withWriter = await ok('POST', `${P}/items/query`, { dataCollectionId: books, query: { sort: [{ fieldName: '_id' }] }, includeReferencedItems: ['writer'] });
        assert.equal(withWriter.dataItems[0].data.writer, 'a1', 'an unresolvable single reference stays the id it holds');

        // Cairn's listing shows it, with the end of its retention (30 days by default).
        const listed = await ok('GET', `/cairn/v1/collections/deleted`);
        const entry = listed.deletedCollections.find((d: any) => d.collection.id === authors);
        assert.deepEqual(entry, { collection: before, deletedDate: deletedAt, restorableUntil: new Date(Date.parse(deletedAt) + 720 * HOUR).toISOString() });

        clock.advance(HOUR);
        const restored = await api('POST', `${P}/collections/restore/${authors}`, {});
        assert.equal(restored.status, 200, JSON.stringify(restored.body));
        assert.deepEqual(restored.body, { dataCollection: before });
        assert.deepEqual((await ok('GET', `${P}/collections/${authors}`)).collection, before);
        assert.deepEqual(await query(authors), itemsBefore);
        assert.deepEqual(await query(authors, { environment: 'SANDBOX' }), sandboxBefore);
        assert.deepEqual((await ok('GET', `${P}/indexes?dataCollectionId=${authors}`)).indexes, indexesBefore);
        // The unique index is enforced again.
        assertError(await api('POST', `${P}/items`, { dataCollectionId: authors, dataItem: { data: { email: 'a2@example.com' } } }), 409, 'WDE0123');
        // References both ways, in their order.
        assert.deepEqual(await referenced(books, 'b1', 'authors'), ['a3', 'a1']);
        assert.deepEqual(await referenced(authors, 'a2', 'favourites'), ['b2']);
        const included = await ok('POST', `${P}/items/query`, { dataCollectionId: books, query: { sort: [{ fieldName: '_id' }] }, includeReferencedItems: ['writer'] });
        assert.equal(included.dataItems[0].data.writer.id ?? included.dataItems[0].data.writer._id, 'a1');

        // Once restored it is no longer listed, and cannot be restored twice.
        assert.equal((await ok('GET', `/cairn/v1/collections/deleted`)).deletedCollections.some((d: any) => d.collection.id === authors), false);
        assertError(await api('POST', `${P}/collections/restore/${authors}`, {}), 404, 'WDE0025');
      });
    }

    test('the collection events: deleted, then created again by the restore, with restoreInfo', async () => {
      const id = 'EventsR';
      // An extra property that looks like the stored form of a restore changes nothing.
      const created = await ok('POST', `${DATA}/collections`, { collection: { id, $entity: 'x', $restoreInfo: 'y' } });
      const deletedAt = clock.now().toISOString();
      await ok('DELETE', `${DATA}/collections/${id}`);
      clock.advance(1000);
      const restored = await ok('POST', `${DATA}/collections/restore/${id}`, {});
      const events = await s.store.db.all<EventRow>(sql`SELECT ${raw(EVENT_COLUMNS_SELECT)} FROM events WHERE entity_id = ${id} ORDER BY seq`);
      assert.deepEqual(
        events.map((e) => e.type),
        ['wix.data.v2.data_collection_created', 'wix.data.v2.data_collection_deleted', 'wix.data.v2.data_collection_created'],
      );
      const [first, , again] = events.map((e) => eventPayload(e));
      assert.deepEqual(first?.createdEvent, { entity: created.collection });
      assert.deepEqual(again?.createdEvent, { entity: restored.dataCollection, restoreInfo: { deletedDate: deletedAt } });
    });

    test('a reference made by an item removed while its target was deleted does not come back', async () => {
      const { authors, books } = await world('Gone');
      await ok('POST', `${DATA}/items/insert-reference`, { dataCollectionId: books, dataItemReference: { referringItemFieldName: 'authors', referringItemId: 'b2', referencedItemId: 'a2' } });
      await ok('DELETE', `${DATA}/collections/${authors}`);
      clock.advance(1000);
      await ok('POST', `${DATA}/items/remove`, { dataCollectionId: books, dataItemId: 'b1' });
      // Made again under the same id after the deletion: a new item, which made no reference.
      await ok('POST', `${DATA}/items`, { dataCollectionId: books, dataItem: { id: 'b1', data: { title: 'New' } } });
      await ok('POST', `${DATA}/collections/restore/${authors}`, {});
      assert.deepEqual(await referenced(books, 'b1', 'authors'), []);
      // b2 stayed: its reference is back.
      assert.deepEqual(await referenced(books, 'b2', 'authors'), ['a2']);
    });

    test('creating a collection under a deleted one\'s id starts empty and ends that deletion', async () => {
      const id = 'Reused';
      await ok('POST', `${DATA}/collections`, { collection: { id, fields: [{ key: 'n', type: 'NUMBER' }] } });
      await ok('POST', `${DATA}/indexes`, { dataCollectionId: id, index: { name: 'by_n', fields: [{ path: 'n' }] } });
      await ok('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: id, dataItems: [1, 2, 3].map((n) => ({ id: `r${n}`, data: { n } })) });
      await ok('DELETE', `${DATA}/collections/${id}`);
      await ok('POST', `${DATA}/collections`, { collection: { id } });
      assert.deepEqual(await query(id), []);
      assert.deepEqual((await ok('GET', `${DATA}/indexes?dataCollectionId=${id}`)).indexes.filter((i: any) => i.name === 'by_n'), []);
      assert.equal(await count('items', 'collection_id', id), 0);
      assert.equal(await count('deleted_collections', 'id', id), 0);
      // The new one exists: restoring the old one is no longer possible.
      assertError(await api('POST', `${DATA}/collections/restore/${id}`, {}), 404, 'WDE0025');
      // Deleting the new one and restoring gives the new one (empty), not the old.
      await ok('POST', `${DATA}/items`, { dataCollectionId: id, dataItem: { id: 'fresh', data: {} } });
      await ok('DELETE', `${DATA}/collections/${id}`);
      await ok('POST', `${DATA}/collections/restore/${id}`, {});
      assert.deepEqual((await query(id)).map((i: any) => i.id), ['fresh']);
    });

    test('a collection and its drafts collection go and come back together', async () => {
      const id = 'Paired';
      await ok('POST', `${DATA}/collections`, { collection: { id } });
      await ok('POST', `${DATA}/collections/add-draft-items-plugin`, { dataCollectionId: id });
      await ok('POST', `${DATA}/items`, { dataCollectionId: id, dataItem: { id: 'd1', data: { title: 'published' } } });
      await ok('POST', `${DATA}/items/create-draft`, { dataCollectionId: id, dataItemId: 'd1' });
      await ok('DELETE', `${DATA}/collections/${id}`);
      assertError(await api('GET', `${DATA}/collections/${id}__drafts`), 404, 'WDE0025');
      // Restoring either one restores both.
      const back = await ok('POST', `${DATA}/collections/restore/${id}__drafts`, {});
      assert.equal(back.dataCollection.id, `${id}__drafts`);
      const published = (await ok('GET', `${DATA}/collections/${id}`)).collection;
      assert.deepEqual(published.plugins, [{ type: 'DRAFT_ITEMS', draftItemsOptions: { draftsCollectionId: `${id}__drafts` } }]);
      assert.deepEqual((await query(`${id}__drafts`)).map((i: any) => i.id), ['d1']);
    });

    test('after the retention a deletion cannot be restored, and the sweep purges it in batches', async () => {
      const id = 'Expiring';
      const n = 12_345;
      await ok('POST', `${DATA}/collections`, { collection: { id, fields: [{ key: 'n', type: 'NUMBER' }] } });
      await ok('POST', `${DATA}/indexes`, { dataCollectionId: id, index: { name: 'by_n', fields: [{ path: 'n' }] } });
      for (let start = 0; start < n; start += 1000) {
        await ok('POST', `${DATA}/bulk/items/insert`, {
          dataCollectionId: id,
          dataItems: Array.from({ length: Math.min(1000, n - start) }, (_, i) => ({ id: `e${start + i}`, data: { n: start + i } })),
        });
      }
      await ok('DELETE', `${DATA}/collections/${id}`);
      const other = 'Keeping';
      await ok('POST', `${DATA}/collections`, { collection: { id: other } });
      await ok('POST', `${DATA}/items`, { dataCollectionId: other, dataItem: { id: 'k', data: {} } });

      clock.advance(720 * HOUR - 1);
      assert.equal(await s.cairn.collections.purgeExpired(), 0, 'not yet');
      assert.ok((await ok('GET', `/cairn/v1/collections/deleted`)).deletedCollections.some((d: any) => d.collection.id === id));
      clock.advance(2);
      assert.equal((await ok('GET', `/cairn/v1/collections/deleted`)).deletedCollections.some((d: any) => d.collection.id === id), false);
      assertError(await api('POST', `${DATA}/collections/restore/${id}`, {}), 404, 'WDE0025');
      // Still stored until the sweep runs; the sweep takes this one (and any other expired one) away.
      assert.equal(await count('items', 'collection_id', id), n);
      assert.ok((await s.cairn.collections.purgeExpired()) >= 1);
      assert.equal(await count('items', 'collection_id', id), 0);
      assert.equal(await count('item_indexes', 'collection_id', id), 0);
      assert.equal(await count('deleted_collections', 'id', id), 0);
      assert.deepEqual((await query(other)).map((i: any) => i.id), ['k'], 'other collections keep their items');
      assert.equal(await s.cairn.collections.purgeExpired(), 0);
    });

    test('two restores at once: one brings it back, the other finds nothing; a restore or a deletion racing a creation', async () => {
      for (let round = 0; round < 3; round++) {
        const id = `Raced${round}`;
        await ok('POST', `${DATA}/collections`, { collection: { id } });
        await ok('POST', `${DATA}/items`, { dataCollectionId: id, dataItem: { id: 'x', data: {} } });
        await ok('DELETE', `${DATA}/collections/${id}`);
        const twice = await Promise.all([1, 2, 3, 4].map(() => api('POST', `${DATA}/collections/restore/${id}`, {})));
        assert.deepEqual(twice.map((r) => r.status).sort(), [200, 404, 404, 404], JSON.stringify(twice.map((r) => r.body)));
        assert.deepEqual((await query(id)).map((i: any) => i.id), ['x']);

        await ok('DELETE', `${DATA}/collections/${id}`);
        const [restore, create] = await Promise.all([api('POST', `${DATA}/collections/restore/${id}`, {}), api('POST', `${DATA}/collections`, { collection: { id } })]);
        if (restore.status === 200) {
          assertError(create, 409, 'WDE0104');
          assert.deepEqual((await query(id)).map((i: any) => i.id), ['x']);
        } else {
          assertError(restore, 404, 'WDE0025');
          assert.equal(create.status, 200, JSON.stringify(create.body));
          assert.deepEqual(await query(id), []);
        }
        assert.equal(await count('deleted_collections', 'id', id), 0);

        // A deletion racing a creation of the same id: the creation either comes first (and
        // finds the collection there) or after (and starts empty, ending the deletion).
        await ok('POST', `${DATA}/items`, { dataCollectionId: id, dataItem: { id: 'y', data: {} } });
        const [del, again] = await Promise.all([api('DELETE', `${DATA}/collections/${id}`), api('POST', `${DATA}/collections`, { collection: { id } })]);
        assert.equal(del.status, 200, JSON.stringify(del.body));
        if (again.status === 200) {
          assert.deepEqual(await query(id), []);
          assert.equal(await count('deleted_collections', 'id', id), 0);
        } else {
          assertError(again, 409, 'WDE0104');
          assert.equal(await count('deleted_collections', 'id', id), 1);
          await ok('POST', `${DATA}/collections/restore/${id}`, {});
          assert.ok((await query(id)).some((i: any) => i.id === 'y'));
        }
      }
    });

    test('purging a deleted collection now: its items go for good, with its drafts collection', async () => {
      const id = 'PurgedNow';
      await ok('POST', `${DATA}/collections`, { collection: { id } });
      await ok('POST', `${DATA}/collections/add-draft-items-plugin`, { dataCollectionId: id });
      await ok('POST', `${DATA}/indexes`, { dataCollectionId: id, index: { name: 'by_n', fields: [{ path: 'n' }] } });
      await ok('POST', `${DATA}/items`, { dataCollectionId: id, dataItem: { id: 'p', data: { n: 1 } } });
      await ok('POST', `${DATA}/items/create-draft`, { dataCollectionId: id, dataItemId: 'p' });
      await ok('DELETE', `${DATA}/collections/${id}`);
      assertError(await api('DELETE', `/cairn/v1/collections/deleted/${id}-nope`), 404, 'WDE0025');
      assert.deepEqual(await ok('DELETE', `/cairn/v1/collections/deleted/${id}__drafts`), {});
      for (const c of [id, `${id}__drafts`]) {
        assert.equal(await count('items', 'collection_id', c), 0);
        assert.equal(await count('item_indexes', 'collection_id', c), 0);
        assert.equal(await count('deleted_collections', 'id', c), 0);
      }
      assertError(await api('POST', `${DATA}/collections/restore/${id}`, {}), 404, 'WDE0025');
      assertError(await api('DELETE', `/cairn/v1/collections/deleted/${id}`), 404, 'WDE0025');
    });

    test('access: restoring and listing deleted collections need collections management', async () => {
      await ok('POST', `${DATA}/collections`, { collection: { id: 'Guarded' } });
      await ok('DELETE', `${DATA}/collections/Guarded`);
      const reader = (await ok('POST', '/cairn/v1/keys', { name: 'reader', scopes: [SCOPES.dataRead] })).apiKey as string;
      assert.equal((await api('POST', `${DATA}/collections/restore/Guarded`, {}, { authorization: '' })).status, 401);
      assertError(await api('POST', `${DATA}/collections/restore/Guarded`, {}, { authorization: reader }), 403, 'WDE0027');
      assertError(await api('GET', '/cairn/v1/collections/deleted', undefined, { authorization: reader }), 403, 'WDE0027');
      assertError(await api('DELETE', '/cairn/v1/collections/deleted/Guarded', undefined, { authorization: reader }), 403, 'WDE0027');
      const manager = (await ok('POST', '/cairn/v1/keys', { name: 'manager', scopes: [SCOPES.collections] })).apiKey as string;
      assert.equal((await api('POST', `${DATA}/collections/restore/Guarded`, {}, { authorization: manager })).status, 200);
    });

    test('bad input: unknown, invalid ids and bodies answer 4xx and change nothing', async () => {
      assertError(await api('POST', `${DATA}/collections/restore/Nowhere`, {}), 404, 'WDE0025');
      assertError(await api('POST', `${DATA}/collections/restore/${encodeURIComponent('bad id!')}`, {}), 400, 'WDE0001');
      await ok('POST', `${DATA}/collections`, { collection: { id: 'BadBody' } });
      await ok('DELETE', `${DATA}/collections/BadBody`);
      assertError(await api('POST', `${DATA}/collections/restore/BadBody`, '[1]'), 400, 'WDE0080');
      assertError(await api('GET', '/cairn/v1/collections/deleted?paging.limit=x'), 400, 'WDE0035');
      assert.equal(await count('deleted_collections', 'id', 'BadBody'), 1);
      assert.equal((await api('POST', `${DATA}/collections/restore/BadBody`)).status, 200, 'no body at all is fine');
    });
  });

  describe(`deleting with no retention (${storeName})`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(storeName, { runner: false, collectionRetentionHours: 0 });
    });
    after(() => s.close());

    test('the items go at once and nothing can be restored', async () => {
      const id = 'Final';
      assert.equal((await call(s.url, 'POST', `${DATA}/collections`, { collection: { id } })).status, 200);
      assert.equal((await call(s.url, 'POST', `${DATA}/items`, { dataCollectionId: id, dataItem: { id: 'x', data: {} } })).status, 200);
      assert.equal((await call(s.url, 'DELETE', `${DATA}/collections/${id}`)).status, 200);
      const n = await s.store.db.get<{ n: number | string }>(sql`SELECT count(*) AS n FROM items WHERE collection_id = ${id}`);
      assert.equal(Number(n?.n), 0);
      assertError(await call(s.url, 'POST', `${DATA}/collections/restore/${id}`, {}), 404, 'WDE0025');
      assert.deepEqual((await call(s.url, 'GET', '/cairn/v1/collections/deleted')).body.deletedCollections, []);
    });
  });

  describe(`a retention longer than dates reach (${storeName})`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(storeName, { runner: false, collectionRetentionHours: 4_000_000_000 });
    });
    after(() => s.close());

    test('deletes, lists (restorable until the last date there is) and restores', async () => {
      assert.equal((await call(s.url, 'POST', `${DATA}/collections`, { collection: { id: 'Forever' } })).status, 200);
      assert.equal((await call(s.url, 'DELETE', `${DATA}/collections/Forever`)).status, 200);
      const listed = await call(s.url, 'GET', '/cairn/v1/collections/deleted');
      assert.equal(listed.status, 200, JSON.stringify(listed.body));
      assert.equal(listed.body.deletedCollections[0].restorableUntil, '+275760-09-13T00:00:00.000Z');
      assert.equal(await s.cairn.collections.purgeExpired(), 0);
      assert.equal((await call(s.url, 'POST', `${DATA}/collections/restore/Forever`, {})).status, 200);
    });
  });

  describe(`the task runner's sweep (${storeName})`, () => {
    let s: TestServer;
    const clock = new ManualClock(T0);
    before(async () => {
      s = await startServer(storeName, { clock, runner: { purgeEveryMs: 0, pollMs: 10 } });
    });
    after(() => s.close());

    test('purges an expired deletion without being asked', async () => {
      const id = 'Swept';
      assert.equal((await call(s.url, 'POST', `${DATA}/collections`, { collection: { id } })).status, 200);
      assert.equal((await call(s.url, 'POST', `${DATA}/items`, { dataCollectionId: id, dataItem: { id: 'x', data: {} } })).status, 200);
      assert.equal((await call(s.url, 'DELETE', `${DATA}/collections/${id}`)).status, 200);
      clock.advance(721 * HOUR);
      const deadline = Date.now() + 10_000;
      for (;;) {
        const row = await s.store.db.get<{ n: number | string }>(sql`SELECT count(*) AS n FROM deleted_collections WHERE id = ${id}`);
        if (Number(row?.n) === 0) break;
        assert.ok(Date.now() < deadline, 'the sweep did not run');
        await new Promise((r) => setTimeout(r, 20));
      }
      const n = await s.store.db.get<{ n: number | string }>(sql`SELECT count(*) AS n FROM items WHERE collection_id = ${id}`);
      assert.equal(Number(n?.n), 0);
    });
  });
}
