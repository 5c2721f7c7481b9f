/**
 * References (src/items/references.ts, docs/references.md): through the published client
 * (insertReference, removeReference, replaceReferences, isReferenced, queryReferenced, the query
 * builder's include(), get's includeReferences, saveReferences on writes) and over raw HTTP (each
 * reply field by field, paging and cursors, REFERENCE and MULTI_REFERENCE fields, unresolved and
 * unauthorized references, environments, removal of either end by every removal path, bad input
 * that must change nothing).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { STORE_NAMES } from './helpers/stores.js';
import { call, startServer, type TestServer } from './helpers/server.js';
import { SCOPES } from '../src/auth/scopes.js';

const DATA = '/wix-data/v2';
const refField = (key: string, type: 'REFERENCE' | 'MULTI_REFERENCE', target: string) => ({
  key,
  type,
  typeMetadata: type === 'REFERENCE' ? { reference: { referencedCollectionId: target } } : { multiReference: { referencedCollectionId: target } },
});
const PUBLIC_READ = { read: 'ANYONE', insert: 'ADMIN', update: 'ADMIN', remove: 'ADMIN' };
const ANONYMOUS = { authorization: '' };
const JWT_SECRET = 'a-member-token-secret-of-at-least-32-bytes';
const memberAuth = async (memberId: string) => ({
  authorization: `Bearer ${await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(memberId).setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET))}`,
});

for (const storeName of STORE_NAMES) {
  describe(`references (${storeName})`, () => {
    let s: TestServer;
    let items: any;
    before(async () => {
      s = await startServer(storeName, { auth: { memberTokens: { secret: JWT_SECRET } } });
      items = s.client.items;
    });
    after(() => s.close());

    const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => call(s.url, method, path, body, headers);
    const ok = async (path: string, body: unknown) => {
      const r = await api('POST', `${DATA}${path}`, body);
      assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const code = (r: { body: any }) => r.body?.details?.applicationError?.code;
    const collection = (id: string, fields: unknown[] = [], permissions: unknown = PUBLIC_READ) =>
      ok('/collections', { collection: { id, fields, permissions } });
    /** A movies/people pair of collections (names suffixed so tests do not share rows). */
    const world = async (suffix: string) => {
      const people = `People${suffix}`;
      const movies = `Movies${suffix}`;
      await collection(people, [{ key: 'name', type: 'TEXT' }]);
      await collection(movies, [{ key: 'title', type: 'TEXT' }, refField('director', 'REFERENCE', people), refField('actors', 'MULTI_REFERENCE', people)]);
      for (const [id, name] of [['p1', 'Ann'], ['p2', 'Bob'], ['p3', 'Cy'], ['p4', 'Di']]) await items.insert(people, { _id: id, name });
      for (const [id, title] of [['m1', 'One'], ['m2', 'Two']]) await items.insert(movies, { _id: id, title });
      return { people, movies };
    };
    const referencedIds = async (movies: string, movie: string, extra: Record<string, unknown> = {}) => {
      const body = await ok('/items/query-referenced', { dataCollectionId: movies, referringItemIds: [movie], referringItemFieldName: 'actors', paging: { limit: 1000 }, ...extra });
      return body.results.map((r: any) => r.dataItem?.id ?? `unresolved:${r.unresolvedReference.referencedItemId}`);
    };

    test('the published client: insert, query, isReferenced, remove and replace references', async () => {
      const { movies } = await world('C');
      await items.insertReference(movies, 'actors', 'm1', 'p2');
      await items.insertReference(movies, 'actors', { _id: 'm1' }, [{ _id: 'p1' }, 'p3']);
      // Inserting one that is there already is no error and keeps its place.
      await items.insertReference(movies, 'actors', 'm1', 'p2');

      const all = await items.queryReferenced(movies, 'm1', 'actors');
      assert.deepEqual(all.items.map((i: any) => i._id), ['p2', 'p1', 'p3']);
      assert.equal(all.items[0].name, 'Bob');
      assert.equal(typeof all.items[0]._createdDate, 'object', 'dates come back as Dates');
      const desc = await items.queryReferenced(movies, 'm1', 'actors', { order: 'desc' });
      assert.deepEqual(desc.items.map((i: any) => i._id), ['p3', 'p1', 'p2']);
      // Paging with the client's next().
      const first = await items.queryReferenced(movies, 'm1', 'actors', { limit: 2 });
      assert.deepEqual(first.items.map((i: any) => i._id), ['p2', 'p1']);
      assert.equal(first.hasNext(), true);
      const second = await first.next();
      assert.deepEqual(second.items.map((i: any) => i._id), ['p3']);
      assert.equal(second.hasNext(), false);

      assert.equal(await items.isReferenced(movies, 'actors', 'm1', 'p1'), true);
      assert.equal(await items.isReferenced(movies, 'actors', 'm1', { _id: 'p4' }), false);
      assert.equal(await items.isReferenced(movies, 'actors', 'm2', 'p1'), false);

      await items.removeReference(movies, 'actors', 'm1', 'p1');
      assert.equal(await items.isReferenced(movies, 'actors', 'm1', 'p1'), false);
      assert.deepEqual(await referencedIds(movies, 'm1'), ['p2', 'p3']);
      // Removing one that is not there succeeds.
      await items.removeReference(movies, 'actors', 'm1', ['p1', 'p4']);

      await items.replaceReferences(movies, 'actors', 'm1', ['p4', 'p1']);
      assert.deepEqual(await referencedIds(movies, 'm1'), ['p4', 'p1']);
      await items.replaceReferences(movies, 'actors', 'm1', []);
      assert.deepEqual(await referencedIds(movies, 'm1'), []);

      // queryReferencedItems: per-result referring ids, for several referring items at once.
      await items.insertReference(movies, 'actors', 'm1', ['p1', 'p2']);
      await items.insertReference(movies, 'actors', 'm2', ['p3']);
      const both = await items.queryReferencedItems(movies, ['m1', 'm2'], 'actors', { returnTotalCount: true });
      assert.deepEqual(both.results.map((r: any) => [r.referringItemId, r.item?._id]), [['m1', 'p1'], ['m1', 'p2'], ['m2', 'p3']]);
      assert.equal(both.pagingMetadata.total, 3);
    });

    test('include(): reference fields become items, multi-reference fields arrays of items, in reference order and up to the limit', async () => {
      const { movies } = await world('I');
      await items.update(movies, { _id: 'm1', title: 'One', director: 'p4' });
      await items.insert(movies, { _id: 'm3', title: 'Three', director: 'gone' });
      await items.insertReference(movies, 'actors', 'm1', ['p3', 'p1', 'p2']);

      const r = await items.query(movies).include('actors', 'director').ascending('_id').find();
      const byId = Object.fromEntries(r.items.map((i: any) => [i._id, i]));
      assert.deepEqual(byId.m1.actors.map((a: any) => a._id), ['p3', 'p1', 'p2']);
      assert.equal(byId.m1.actors[0].name, 'Cy');
      assert.equal(byId.m1.director._id, 'p4');
      assert.equal(byId.m1.director.name, 'Di');
      assert.deepEqual(byId.m2.actors, [], 'an item with no references gets an empty list');
      assert.equal(byId.m3.director, 'gone', 'a reference to a missing item keeps its id');

      const projected = await items.query(movies).eq('_id', 'm1').fields('title', 'director').include('actors', 'director').find();
      assert.deepEqual(Object.keys(projected.items[0]).sort(), ['_id', 'director', 'title'], 'a projection without the field leaves its includes out');
      assert.equal(projected.items[0].director.name, 'Di');
      const limited = await items.query(movies).eq('_id', 'm1').include('actors', 2).find();
      assert.deepEqual(limited.items[0].actors.map((a: any) => a._id), ['p3', 'p1']);

      // Without include() the multi-reference field is not in the item, the reference field is its id.
      const plain = await items.get(movies, 'm1');
      assert.equal('actors' in plain, false);
      assert.equal(plain.director, 'p4');
      const got = await items.get(movies, 'm1', { includeReferences: [{ field: 'actors', limit: 1 }, { field: 'director' }] });
      assert.deepEqual(got.actors.map((a: any) => a._id), ['p3']);
      assert.equal(got.director.name, 'Di');

      // Cursor pages carry includes too (the client sends includeReferences with each page).
      const page1 = await items.query(movies).include('actors').ascending('_id').limit(1).find();
      const page2 = await page1.next();
      assert.deepEqual(page1.items[0].actors.map((a: any) => a._id), ['p3', 'p1', 'p2']);
      assert.equal(page2.items[0]._id, 'm2');
      assert.deepEqual(page2.items[0].actors, []);
    });

    test('saveReferences: multi-reference values written with an item replace its references; without it they are left out of the data', async () => {
      const { movies } = await world('S');
      await items.insert(movies, { _id: 'm9', title: 'Nine', actors: ['p1', { _id: 'p2' }], director: { _id: 'p3', name: 'Cy' } }, { saveReferences: true });
      assert.deepEqual(await referencedIds(movies, 'm9'), ['p1', 'p2']);
      const stored = await items.get(movies, 'm9');
      assert.equal('actors' in stored, false);
      assert.equal(stored.director, 'p3', 'a reference given as the item keeps its id');

      await items.update(movies, { _id: 'm9', title: 'Nine', actors: ['p4'] });
      assert.deepEqual(await referencedIds(movies, 'm9'), ['p1', 'p2'], 'without saveReferences the references stay');
      assert.equal('actors' in (await items.get(movies, 'm9')), false);

      await items.save(movies, { _id: 'm9', title: 'Nine', actors: ['p4', 'p3'] }, { saveReferences: true });
      assert.deepEqual(await referencedIds(movies, 'm9'), ['p4', 'p3']);

      const bulk = await items.bulkSave(movies, [{ _id: 'm1', title: 'One', actors: ['p2'] }, { _id: 'm7', title: 'Seven', actors: [] }], { saveReferences: true });
      assert.equal(bulk.updated + bulk.inserted, 2);
      assert.deepEqual(await referencedIds(movies, 'm1'), ['p2']);
      assert.deepEqual(await referencedIds(movies, 'm7'), []);

      // An item read with include() and written back: its included items are not data.
      const read = await items.get(movies, 'm1', { includeReferences: [{ field: 'actors' }, { field: 'director' }] });
      await items.update(movies, { ...read, title: 'One again', director: 'p1' });
      const back = await items.get(movies, 'm1');
      assert.equal(back.title, 'One again');
      assert.equal('actors' in back, false);
      assert.deepEqual(await referencedIds(movies, 'm1'), ['p2']);

      // A reference to a missing item fails the whole write: neither the item nor its references are written.
      const r = await api('POST', `${DATA}/items`, { dataCollectionId: movies, dataItem: { id: 'm8', data: { title: 'Eight', actors: ['p1', 'nobody'] } }, saveReferences: true });
      assert.equal(r.status, 404, JSON.stringify(r.body));
      assert.equal(code(r), 'WDE0073');
      assert.equal((await api('GET', `${DATA}/items/m8?dataCollectionId=${movies}`)).status, 404);
    });

    test('raw HTTP: each reference reply, field by field, under both prefixes', async () => {
      const { movies } = await world('H');
      const ref = (referringItemId: string, referencedItemId: string) => ({ referringItemFieldName: 'actors', referringItemId, referencedItemId });

      const single = await ok('/items/insert-reference', { dataCollectionId: movies, dataItemReference: ref('m1', 'p1') });
      assert.deepEqual(single, { dataItemReference: ref('m1', 'p1') });

      const bulk = await ok('/bulk/items/insert-references', {
        dataCollectionId: movies,
        dataItemReferences: [ref('m1', 'p2'), ref('nope', 'p1'), ref('m1', 'ghost'), ref('m2', 'p1')],
        returnEntity: true,
      });
      assert.deepEqual(bulk.bulkActionMetadata, { totalSuccesses: 2, totalFailures: 2, undetailedFailures: 0 });
      assert.deepEqual(bulk.results[0], { action: 'INSERT', referenceMetadata: { originalIndex: 0, success: true }, dataItemReference: ref('m1', 'p2') });
      assert.equal(bulk.results[1].action, 'INSERT');
      assert.equal(bulk.results[1].referenceMetadata.success, false);
      assert.equal(bulk.results[1].referenceMetadata.originalIndex, 1);
      assert.equal(bulk.results[1].referenceMetadata.error.code, 'WDE0073');
      assert.match(bulk.results[1].referenceMetadata.error.description, /Referring item \[nope\]/);
      assert.equal('dataItemReference' in bulk.results[1], false);
      assert.equal(bulk.results[2].referenceMetadata.error.code, 'WDE0073');
      assert.match(bulk.results[2].referenceMetadata.error.description, /Referenced item \[ghost\]/);
      assert.deepEqual(bulk.results[3], { action: 'INSERT', referenceMetadata: { originalIndex: 3, success: true }, dataItemReference: ref('m2', 'p1') });
      const quiet = await ok('/bulk/items/insert-references', { dataCollectionId: movies, dataItemReferences: [ref('m2', 'p2')] });
      assert.deepEqual(quiet.results, [{ action: 'INSERT', referenceMetadata: { originalIndex: 0, success: true } }]);

      assert.deepEqual(await ok('/items/is-referenced', { dataCollectionId: movies, referringItemFieldName: 'actors', referringItemId: 'm1', referencedItemId: 'p2' }), { isReferenced: true });
      const twin = await api('POST', '/_api/cloud-data/v2/items/is-referenced', { dataCollectionId: movies, referringItemFieldName: 'actors', referringItemId: 'm1', referencedItemId: 'p3' });
      assert.deepEqual([twin.status, twin.body], [200, { isReferenced: false }]);

      const q = await ok('/items/query-referenced', { dataCollectionId: movies, referringItemIds: ['m1'], referringItemFieldName: 'actors', returnTotalCount: true });
      assert.equal(q.results.length, 2);
      assert.deepEqual(Object.keys(q.results[0]).sort(), ['dataItem', 'referringItemId']);
      assert.equal(q.results[0].referringItemId, 'm1');
      assert.equal(q.results[0].dataItem.id, 'p1');
      assert.equal(q.results[0].dataItem.dataCollectionId, `PeopleH`);
      assert.equal(q.results[0].dataItem.data.name, 'Ann');
      assert.deepEqual(q.pagingMetadata, { count: 2, offset: 0, total: 2, tooManyToCount: false, hasNext: false, cursors: {} });
      const projected = await ok('/items/query-referenced', { dataCollectionId: movies, referringItemId: 'm1', referringItemFieldName: 'actors', fields: ['name'] });
      assert.deepEqual(projected.results.map((r: any) => r.dataItem.data), [{ _id: 'p1', name: 'Ann' }, { _id: 'p2', name: 'Bob' }]);

      const removed = await ok('/bulk/items/remove-references', { dataCollectionId: movies, dataItemReferences: [ref('m1', 'p1'), ref('m1', 'p4'), ref('nope', 'p1')], returnEntity: true });
      assert.deepEqual(removed.bulkActionMetadata, { totalSuccesses: 2, totalFailures: 1, undetailedFailures: 0 });
      assert.deepEqual(removed.results[0], { action: 'DELETE', referenceMetadata: { originalIndex: 0, success: true }, dataItemReference: ref('m1', 'p1') });
      assert.equal(removed.results[2].referenceMetadata.error.code, 'WDE0073');
      assert.deepEqual(await ok('/items/remove-reference', { dataCollectionId: movies, dataItemReference: ref('m1', 'p2') }), { dataItemReference: ref('m1', 'p2') });
      assert.deepEqual(await referencedIds(movies, 'm1'), []);

      const replaced = await ok('/items/replace-references', { dataCollectionId: movies, referringItemFieldName: 'actors', referringItemId: 'm1', newReferencedItemIds: ['p3', 'p1', 'p3'] });
      assert.deepEqual(replaced, { dataItemReferences: [ref('m1', 'p3'), ref('m1', 'p1')] });
      const cleared = await ok('/items/replace-references', { dataCollectionId: movies, referringItemFieldName: 'actors', referringItemId: 'm1' });
      assert.deepEqual(cleared, { dataItemReferences: [] });
      // All or nothing: one missing item and the field keeps what it had.
      await ok('/items/replace-references', { dataCollectionId: movies, referringItemFieldName: 'actors', referringItemId: 'm1', newReferencedItemIds: ['p2'] });
      const bad = await api('POST', `${DATA}/items/replace-references`, { dataCollectionId: movies, referringItemFieldName: 'actors', referringItemId: 'm1', newReferencedItemIds: ['p1', 'ghost'] });
      assert.deepEqual([bad.status, code(bad)], [404, 'WDE0073']);
      assert.deepEqual(await referencedIds(movies, 'm1'), ['p2']);
    });

    test('query-referenced paging: offsets, a cursor walk in both orders, several referring items', async () => {
      const { people, movies } = await world('P');
      const many = Array.from({ length: 23 }, (_, i) => ({ _id: `x${String(i).padStart(2, '0')}`, name: `N${i}` }));
      await items.bulkInsert(people, many);
      // Referenced in an order unlike id order: the reference order is what pages follow.
      const order = [...many].reverse().map((p) => p._id);
      await items.insertReference(movies, 'actors', 'm1', order);
      await items.insertReference(movies, 'actors', 'm2', ['p1', 'p2']);

      const page2 = await ok('/items/query-referenced', { dataCollectionId: movies, referringItemIds: ['m1'], referringItemFieldName: 'actors', paging: { limit: 5, offset: 5 } });
      assert.deepEqual(page2.results.map((r: any) => r.dataItem.id), order.slice(5, 10));
      assert.deepEqual(page2.pagingMetadata, { count: 5, offset: 5, hasNext: true, cursors: {} });

      for (const direction of ['ASC', 'DESC'] as const) {
        const seen: string[] = [];
        let body = await ok('/items/query-referenced', { dataCollectionId: movies, referringItemIds: ['m1', 'm2'], referringItemFieldName: 'actors', order: direction, cursorPaging: { limit: 4 } });
        for (let pages = 0; ; pages++) {
          assert.ok(pages < 20, 'the walk ends');
          seen.push(...body.results.map((r: any) => `${r.referringItemId}:${r.dataItem.id}`));
          assert.equal(body.pagingMetadata.count, body.results.length);
          if (!body.pagingMetadata.hasNext) break;
          body = await ok('/items/query-referenced', { dataCollectionId: movies, cursorPaging: { cursor: body.pagingMetadata.cursors.next } });
        }
        const expected = [...order.map((id) => `m1:${id}`), 'm2:p1', 'm2:p2'];
        assert.deepEqual(seen, direction === 'ASC' ? expected : expected.reverse());
      }
      // A reference made between two pages of a cursor walk shows up at the end, not twice.
      let body = await ok('/items/query-referenced', { dataCollectionId: movies, referringItemIds: ['m2'], referringItemFieldName: 'actors', cursorPaging: { limit: 1 } });
      await items.insertReference(movies, 'actors', 'm2', 'p3');
      const walk = [body.results[0].dataItem.id];
      while (body.pagingMetadata.hasNext) {
        body = await ok('/items/query-referenced', { dataCollectionId: movies, cursorPaging: { cursor: body.pagingMetadata.cursors.next, limit: 1 } });
        walk.push(...body.results.map((r: any) => r.dataItem.id));
      }
      assert.deepEqual(walk, ['p1', 'p2', 'p3']);
    });

    test('REFERENCE fields in query-referenced and is-referenced; unresolved and unauthorized references', async () => {
      const { movies } = await world('R');
      await collection('SecretsR', [{ key: 'code', type: 'TEXT' }], { read: 'ADMIN', insert: 'ADMIN', update: 'ADMIN', remove: 'ADMIN' });
      await items.insert('SecretsR', { _id: 's1', code: 'x' });
      await ok('/collections/create-field', { dataCollectionId: movies, field: refField('secrets', 'MULTI_REFERENCE', 'SecretsR') });
      await items.update(movies, { _id: 'm1', title: 'One', director: 'p2' });
      await items.update(movies, { _id: 'm2', title: 'Two', director: 'p9' });
      await items.insertReference(movies, 'secrets', 'm1', 's1');
      await items.insertReference(movies, 'actors', 'm1', ['p1', 'p3']);
      // The referenced item goes away behind the reference's back: only plain SQL can do that,
      // since every removal path clears references. Cairn shows it unresolved.
      await s.store.db.run((await import('../src/store/sql.js')).sql`DELETE FROM items WHERE collection_id = 'PeopleR' AND id = 'p3'`);

      const director = await ok('/items/query-referenced', { dataCollectionId: movies, referringItemIds: ['m2', 'm1', 'nope'], referringItemFieldName: 'director' });
      assert.deepEqual(director.results[0], { unresolvedReference: { referringItemId: 'm2', referringItemFieldName: 'director', referencedItemId: 'p9', unauthorized: false }, referringItemId: 'm2' });
      assert.equal(director.results[1].dataItem.id, 'p2');
      assert.equal(director.results.length, 2);
      const directorDesc = await ok('/items/query-referenced', { dataCollectionId: movies, referringItemIds: ['m2', 'm1'], referringItemFieldName: 'director', order: 'DESC' });
      assert.deepEqual(directorDesc.results.map((r: any) => r.referringItemId), ['m1', 'm2']);
      assert.deepEqual(await ok('/items/is-referenced', { dataCollectionId: movies, referringItemFieldName: 'director', referringItemId: 'm1', referencedItemId: 'p2' }), { isReferenced: true });
      assert.deepEqual(await ok('/items/is-referenced', { dataCollectionId: movies, referringItemFieldName: 'director', referringItemId: 'm1', referencedItemId: 'p1' }), { isReferenced: false });

      const actors = await ok('/items/query-referenced', { dataCollectionId: movies, referringItemIds: ['m1'], referringItemFieldName: 'actors' });
      assert.equal(actors.results[0].dataItem.id, 'p1');
      assert.deepEqual(actors.results[1], { unresolvedReference: { referringItemId: 'm1', referringItemFieldName: 'actors', referencedItemId: 'p3', unauthorized: false }, referringItemId: 'm1' });
      // The client's queryReferenced leaves unresolved references out.
      assert.deepEqual((await items.queryReferenced(movies, 'm1', 'actors')).items.map((i: any) => i._id), ['p1']);

      // Anyone may read the movies, only admins the secrets: a visitor sees the reference, not the item.
      const visitor = await api('POST', `${DATA}/items/query-referenced`, { dataCollectionId: movies, referringItemIds: ['m1'], referringItemFieldName: 'secrets' }, ANONYMOUS);
      assert.equal(visitor.status, 200, JSON.stringify(visitor.body));
      assert.deepEqual(visitor.body.results, [{ unresolvedReference: { referringItemId: 'm1', referringItemFieldName: 'secrets', referencedItemId: 's1', unauthorized: true }, referringItemId: 'm1' }]);
      const asAdmin = await ok('/items/query-referenced', { dataCollectionId: movies, referringItemIds: ['m1'], referringItemFieldName: 'secrets' });
      assert.equal(asAdmin.results[0].dataItem.data.code, 'x');
      const included = await api('POST', `${DATA}/items/query`, { dataCollectionId: movies, query: { filter: { _id: 'm1' } }, includeReferences: [{ field: 'secrets' }] }, ANONYMOUS);
      assert.deepEqual(included.body.dataItems[0].data.secrets, [], 'included references leave out what the caller cannot read');
      // Changing references needs update permission on the referring collection.
      const denied = await api('POST', `${DATA}/bulk/items/insert-references`, { dataCollectionId: movies, dataItemReferences: [{ referringItemFieldName: 'actors', referringItemId: 'm2', referencedItemId: 'p1' }] }, ANONYMOUS);
      assert.deepEqual([denied.status, code(denied)], [403, 'WDE0027']);
      assert.deepEqual(await referencedIds(movies, 'm2'), []);
    });

    test('removing either end clears the references: remove, bulk remove, truncate, delete-by-query task, async remove, collection delete', async () => {
      const { people, movies } = await world('D');
      for (const id of ['p5', 'p6', 'p7', 'p8']) await items.insert(people, { _id: id, name: id });
      await items.insertReference(movies, 'actors', 'm1', ['p1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8']);
      await items.insertReference(movies, 'actors', 'm2', ['p1', 'p8']);

      await items.remove(people, 'p1');
      await items.bulkRemove(people, ['p2', 'p3']);
      assert.deepEqual(await referencedIds(movies, 'm1'), ['p4', 'p5', 'p6', 'p7', 'p8']);
      assert.deepEqual(await referencedIds(movies, 'm2'), ['p8']);
      // An item inserted again under a removed id is not referenced by the old references.
      await items.insert(people, { _id: 'p1', name: 'Ann again' });
      assert.equal(await items.isReferenced(movies, 'actors', 'm1', 'p1'), false);

      const task = await s.client.tasks.createTask({ type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: people, filter: { name: { $in: ['Di', 'p5'] } } } });
      await s.cairn.runner!.whenIdle();
      assert.equal((await s.client.tasks.getTask(task._id)).status, 'COMPLETED');
      assert.deepEqual(await referencedIds(movies, 'm1'), ['p6', 'p7', 'p8']);
      await ok('/bulk/items/async-remove-by-filter', { dataCollectionId: people, filter: { name: 'p6' } });
      await s.cairn.runner!.whenIdle();
      assert.deepEqual(await referencedIds(movies, 'm1'), ['p7', 'p8']);

      // The referring end: a removed movie's references go with it.
      await items.remove(movies, 'm2');
      await items.insert(movies, { _id: 'm2', title: 'Two again' });
      assert.deepEqual(await referencedIds(movies, 'm2'), []);

      await ok('/items/truncate', { dataCollectionId: people });
      assert.deepEqual(await referencedIds(movies, 'm1'), []);
      await items.insert(people, { _id: 'p1', name: 'Ann' });
      await items.insertReference(movies, 'actors', 'm1', 'p1');
      await ok('/items/truncate', { dataCollectionId: movies });
      await items.insert(movies, { _id: 'm1', title: 'One' });
      assert.deepEqual(await referencedIds(movies, 'm1'), []);

      await items.insertReference(movies, 'actors', 'm1', 'p1');
      const gone = await api('DELETE', `${DATA}/collections/${people}`);
      assert.equal(gone.status, 200, JSON.stringify(gone.body));
      const rows = await s.store.db.all((await import('../src/store/sql.js')).sql`SELECT seq FROM item_references WHERE referenced_collection_id = ${people} OR collection_id = ${people}`);
      assert.deepEqual(rows, []);
    });

    test('references made while a task removes their items never outlive them', async () => {
      const { people, movies } = await world('Z');
      const crowd = Array.from({ length: 400 }, (_, i) => ({ _id: `z${String(i).padStart(3, '0')}`, name: 'extra' }));
      await items.bulkInsert(people, crowd);
      const task = await s.client.tasks.createTask({ type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: people, filter: { name: 'extra' } } });
      // Meanwhile: many small reference inserts naming the doomed items, from both movies.
      const calls = crowd.map((p, i) =>
        api('POST', `${DATA}/bulk/items/insert-references`, {
          dataCollectionId: movies,
          dataItemReferences: [{ referringItemFieldName: 'actors', referringItemId: i % 2 ? 'm1' : 'm2', referencedItemId: p._id }],
        }),
      );
      for (const r of await Promise.all(calls)) assert.equal(r.status, 200, JSON.stringify(r.body));
      await s.cairn.runner!.whenIdle();
      assert.equal((await s.client.tasks.getTask(task._id)).status, 'COMPLETED');
      const { sql } = await import('../src/store/sql.js');
      const orphans = await s.store.db.all(
        sql`SELECT r.referenced_id FROM item_references r WHERE r.referenced_collection_id = ${people}
            AND NOT EXISTS (SELECT 1 FROM items i WHERE i.collection_id = r.referenced_collection_id AND i.env = r.env AND i.id = r.referenced_id)`,
      );
      assert.deepEqual(orphans, []);
    });

    test('environments: sandbox references are their own, and a new sandbox starts with a copy of the live ones', async () => {
      const { movies, people } = await world('E');
      await items.insertReference(movies, 'actors', 'm1', ['p1', 'p2']);
      for (const c of [people, movies]) {
        const r = await api('POST', `/cairn/v1/collections/${c}/sandbox`, { enabled: true });
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
      const sandbox = { environment: 'SANDBOX' };
      assert.deepEqual(await referencedIds(movies, 'm1', sandbox), ['p1', 'p2']);
      await ok('/items/replace-references', { dataCollectionId: movies, referringItemFieldName: 'actors', referringItemId: 'm1', newReferencedItemIds: ['p3'], ...sandbox });
      assert.deepEqual(await referencedIds(movies, 'm1', sandbox), ['p3']);
      assert.deepEqual(await referencedIds(movies, 'm1'), ['p1', 'p2']);
      await api('POST', `${DATA}/items/remove`, { dataCollectionId: people, dataItemId: 'p1', ...sandbox });
      assert.deepEqual(await referencedIds(movies, 'm1'), ['p1', 'p2'], 'removing a sandbox item leaves live references');
      const inc = await ok('/items/query', { dataCollectionId: movies, query: { filter: { _id: 'm1' } }, includeReferences: [{ field: 'actors' }], ...sandbox });
      assert.deepEqual(inc.dataItems[0].data.actors.map((a: any) => a._id), ['p3']);
    });

    test('two-way multi-references: fields that name each other are one relation, seen and changed from either end', async () => {
      const twoWay = (key: string, target: string, partner: string) => ({ key, type: 'MULTI_REFERENCE', typeMetadata: { multiReference: { referencedCollectionId: target, referencingFieldKey: partner } } });
      await collection('PeopleW', [{ key: 'name', type: 'TEXT' }, twoWay('movies', 'MoviesW', 'actors'), twoWay('oneWay', 'MoviesW', 'nothing')]);
      await collection('MoviesW', [{ key: 'title', type: 'TEXT' }, twoWay('actors', 'PeopleW', 'movies')]);
      await items.bulkInsert('PeopleW', [{ _id: 'p1', name: 'Ann' }, { _id: 'p2', name: 'Bob' }]);
      await items.bulkInsert('MoviesW', [{ _id: 'm1', title: 'One' }, { _id: 'm2', title: 'Two' }, { _id: 'm3', title: 'Three' }]);

      // Made from the movies' end (where the pair is stored), read from the people's end.
      await items.insertReference('MoviesW', 'actors', 'm2', 'p1');
      await items.insertReference('MoviesW', 'actors', 'm1', ['p1', 'p2']);
      assert.deepEqual((await items.queryReferenced('PeopleW', 'p1', 'movies')).items.map((i: any) => i._id), ['m2', 'm1']);
      assert.deepEqual((await items.queryReferenced('PeopleW', 'p1', 'movies', { order: 'desc' })).items.map((i: any) => i._id), ['m1', 'm2']);
      assert.equal(await items.isReferenced('PeopleW', 'movies', 'p2', 'm1'), true);
      assert.equal(await items.isReferenced('PeopleW', 'movies', 'p2', 'm2'), false);

      // Made from the people's end, read from the movies' end.
      await items.insertReference('PeopleW', 'movies', 'p2', 'm3');
      assert.deepEqual((await items.queryReferenced('MoviesW', 'm3', 'actors')).items.map((i: any) => i._id), ['p2']);
      const people = await items.query('PeopleW').include('movies').ascending('_id').find();
      assert.deepEqual(people.items.map((p: any) => [p._id, p.movies.map((m: any) => m._id)]), [['p1', ['m2', 'm1']], ['p2', ['m1', 'm3']]]);

      // Replace and remove from the people's end change only that person's side of the pair.
      await items.replaceReferences('PeopleW', 'movies', 'p1', ['m3']);
      assert.deepEqual((await items.queryReferenced('MoviesW', 'm1', 'actors')).items.map((i: any) => i._id), ['p2']);
      assert.deepEqual((await items.queryReferenced('MoviesW', 'm3', 'actors')).items.map((i: any) => i._id), ['p2', 'p1']);
      await items.removeReference('PeopleW', 'movies', 'p2', 'm3');
      assert.deepEqual((await items.queryReferenced('MoviesW', 'm3', 'actors')).items.map((i: any) => i._id), ['p1']);
      await items.save('PeopleW', { _id: 'p2', name: 'Bob', movies: ['m2'] }, { saveReferences: true });
      assert.deepEqual((await items.queryReferenced('MoviesW', 'm2', 'actors')).items.map((i: any) => i._id), ['p2']);

      // Removing an item at either end clears the pair.
      await items.remove('MoviesW', 'm3');
      assert.deepEqual((await items.queryReferenced('PeopleW', 'p1', 'movies')).items, []);
      // A field whose partner does not name it back is a relation of its own.
      await items.insertReference('PeopleW', 'oneWay', 'p1', 'm1');
      assert.deepEqual((await items.queryReferenced('MoviesW', 'm1', 'actors')).items.map((i: any) => i._id), []);
      assert.deepEqual((await items.queryReferenced('PeopleW', 'p1', 'oneWay')).items.map((i: any) => i._id), ['m1']);
    });

    test('permissions: key scopes, and members under SITE_MEMBER_AUTHOR reach only their own items', async () => {
      const { movies } = await world('K');
      const ref = (referringItemId: string, referencedItemId: string) => ({ referringItemFieldName: 'actors', referringItemId, referencedItemId });
      const created = await api('POST', '/cairn/v1/keys', { name: 'reader', scopes: [SCOPES.dataRead] });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      const reader = { authorization: created.body.apiKey as string };
      const write = await api('POST', `${DATA}/bulk/items/insert-references`, { dataCollectionId: movies, dataItemReferences: [ref('m1', 'p1')] }, reader);
      assert.deepEqual([write.status, code(write)], [403, 'WDE0027']);
      const read = await api('POST', `${DATA}/items/is-referenced`, { dataCollectionId: movies, ...ref('m1', 'p1') }, reader);
      assert.deepEqual([read.status, read.body], [200, { isReferenced: false }]);

      // A collection members write as authors: each member changes and sees references of their own items only.
      const authored = 'ClubK';
      await collection(authored, [refField('friends', 'MULTI_REFERENCE', 'PeopleK')], { read: 'SITE_MEMBER_AUTHOR', insert: 'SITE_MEMBER', update: 'SITE_MEMBER_AUTHOR', remove: 'SITE_MEMBER_AUTHOR' });
      const a = await memberAuth('member-a');
      const b = await memberAuth('member-b');
      for (const [who, id] of [[a, 'ca'], [b, 'cb']] as const) {
        const r = await api('POST', `${DATA}/items`, { dataCollectionId: authored, dataItem: { id, data: { friends: ['p1'] } }, saveReferences: true }, who);
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
      const mine = await api('POST', `${DATA}/bulk/items/insert-references`, { dataCollectionId: authored, dataItemReferences: [{ ...ref('ca', 'p2'), referringItemFieldName: 'friends' }, { ...ref('cb', 'p2'), referringItemFieldName: 'friends' }] }, a);
      assert.equal(mine.status, 200, JSON.stringify(mine.body));
      assert.deepEqual(mine.body.results.map((r: any) => r.referenceMetadata.success), [true, false]);
      assert.equal(mine.body.results[1].referenceMetadata.error.code, 'WDE0073');
      const replaceOther = await api('POST', `${DATA}/items/replace-references`, { dataCollectionId: authored, referringItemFieldName: 'friends', referringItemId: 'cb', newReferencedItemIds: [] }, a);
      assert.deepEqual([replaceOther.status, code(replaceOther)], [404, 'WDE0073']);
      const seen = await api('POST', `${DATA}/items/query-referenced`, { dataCollectionId: authored, referringItemIds: ['ca', 'cb'], referringItemFieldName: 'friends' }, a);
      assert.deepEqual(seen.body.results.map((r: any) => `${r.referringItemId}:${r.dataItem.id}`), ['ca:p1', 'ca:p2']);
      const other = await api('POST', `${DATA}/items/is-referenced`, { dataCollectionId: authored, referringItemFieldName: 'friends', referringItemId: 'cb', referencedItemId: 'p1' }, a);
      assert.deepEqual(other.body, { isReferenced: false });
      const asAdmin = await ok('/items/query-referenced', { dataCollectionId: authored, referringItemIds: ['ca', 'cb'], referringItemFieldName: 'friends' });
      assert.deepEqual(asAdmin.results.map((r: any) => `${r.referringItemId}:${r.dataItem.id}`), ['ca:p1', 'cb:p1', 'ca:p2'], 'in the order the references were made');
    });

    test('bad input: a clear 4xx in the error envelope, and nothing changed', async () => {
      const { movies } = await world('B');
      await items.insertReference(movies, 'actors', 'm1', 'p1');
      const ref = { referringItemFieldName: 'actors', referringItemId: 'm1', referencedItemId: 'p2' };
      const cases: [string, unknown, number, string][] = [
        ['/items/insert-reference', { dataCollectionId: movies, dataItemReference: { ...ref, referringItemFieldName: 'title' } }, 400, 'WDE0020'],
        ['/items/insert-reference', { dataCollectionId: movies, dataItemReference: { ...ref, referringItemFieldName: 'director' } }, 400, 'WDE0020'],
        ['/items/insert-reference', { dataCollectionId: movies, dataItemReference: { ...ref, referringItemFieldName: 'nothing' } }, 400, 'WDE0020'],
        ['/items/insert-reference', { dataCollectionId: movies, dataItemReference: { ...ref, referencedItemId: 7 } }, 400, 'WDE0019'],
        ['/items/insert-reference', { dataCollectionId: movies, dataItemReference: { ...ref, referringItemId: {} } }, 400, 'WDE0019'],
        ['/items/insert-reference', { dataCollectionId: movies, dataItemReference: { ...ref, referencedItemId: '' } }, 400, 'WDE0019'],
        ['/items/insert-reference', { dataCollectionId: movies, dataItemReference: { ...ref, referringItemFieldName: 3 } }, 400, 'WDE0080'],
        ['/items/insert-reference', { dataCollectionId: movies }, 400, 'WDE0080'],
        ['/items/insert-reference', { dataCollectionId: movies, dataItemReference: { ...ref, referringItemId: 'nope' } }, 404, 'WDE0073'],
        ['/items/insert-reference', { dataCollectionId: 'NoSuch', dataItemReference: ref }, 404, 'WDE0025'],
        ['/bulk/items/insert-references', { dataCollectionId: movies, dataItemReferences: [] }, 400, 'WDE0080'],
        ['/bulk/items/insert-references', { dataCollectionId: movies, dataItemReferences: Array.from({ length: 1001 }, () => ref) }, 400, 'WDE0080'],
        ['/bulk/items/insert-references', { dataCollectionId: movies, dataItemReferences: [ref, { ...ref, referringItemFieldName: "actors' OR 1=1 --" }] }, 400, 'WDE0020'],
        ['/bulk/items/insert-references', { dataCollectionId: movies, dataItemReferences: [ref, 'p2'] }, 400, 'WDE0080'],
        ['/bulk/items/remove-references', { dataCollectionId: movies, dataItemReferences: [{ ...ref, referencedItemId: 'p1' }, { ...ref, referencedItemId: null }] }, 400, 'WDE0019'],
        ['/items/replace-references', { dataCollectionId: movies, referringItemFieldName: 'actors', referringItemId: 'm1', newReferencedItemIds: ['p2', 5] }, 400, 'WDE0019'],
        ['/items/replace-references', { dataCollectionId: movies, referringItemFieldName: 'director', referringItemId: 'm1', newReferencedItemIds: ['p2'] }, 400, 'WDE0020'],
        ['/items/replace-references', { dataCollectionId: movies, referringItemFieldName: 'actors', referringItemId: 'm1', newReferencedItemIds: 'p2' }, 400, 'WDE0080'],
        ['/items/is-referenced', { dataCollectionId: movies, referringItemFieldName: 'title', referringItemId: 'm1', referencedItemId: 'p1' }, 400, 'WDE0020'],
        ['/items/is-referenced', { dataCollectionId: movies, referringItemFieldName: 'actors', referringItemId: 'm1' }, 400, 'WDE0019'],
        ['/items/query-referenced', { dataCollectionId: movies, referringItemFieldName: 'actors' }, 400, 'WDE0080'],
        ['/items/query-referenced', { dataCollectionId: movies, referringItemIds: ['m1'], referringItemFieldName: 'title' }, 400, 'WDE0020'],
        ['/items/query-referenced', { dataCollectionId: movies, referringItemIds: ['m1'] }, 400, 'WDE0080'],
        ['/items/query-referenced', { dataCollectionId: movies, referringItemIds: ['m1'], referringItemFieldName: 'actors', order: 'UP' }, 400, 'WDE0080'],
        ['/items/query-referenced', { dataCollectionId: movies, referringItemIds: ['m1'], referringItemFieldName: 'actors', paging: { limit: 1001 } }, 400, 'WDE0036'],
        ['/items/query-referenced', { dataCollectionId: movies, referringItemIds: Array.from({ length: 1001 }, (_, i) => `m${i}`), referringItemFieldName: 'actors' }, 400, 'WDE0080'],
        ['/items/query-referenced', { dataCollectionId: movies, cursorPaging: { cursor: 'not-a-cursor' } }, 400, 'WDE0165'],
        ['/items/query-referenced', { dataCollectionId: movies, referringItemIds: ['m1'], referringItemFieldName: 'actors', paging: { limit: 1 }, cursorPaging: { limit: 1 } }, 400, 'WDE0080'],
        ['/items/query', { dataCollectionId: movies, includeReferences: [{ field: 'actors', limit: 1001 }] }, 400, 'WDE0036'],
        ['/items/query', { dataCollectionId: movies, includeReferences: [{ limit: 1 }] }, 400, 'WDE0080'],
        ['/items', { dataCollectionId: movies, dataItem: { data: { title: 'x', actors: 'p1' } }, saveReferences: true }, 400, 'WDE0019'],
        ['/items', { dataCollectionId: movies, dataItem: { data: { title: 'x', actors: [{ name: 'no id' }] } }, saveReferences: true }, 400, 'WDE0019'],
        ['/items/patch', { dataCollectionId: movies, patch: { dataItemId: 'm1', fieldModifications: [{ action: 'SET_FIELD', fieldPath: 'actors', setFieldOptions: { value: ['p2'] } }] } }, 400, 'WDE0303'],
        ['/bulk/items/patch', { dataCollectionId: movies, patches: [{ dataItemId: 'm1', fieldModifications: [{ action: 'SET_FIELD', fieldPath: 'title', setFieldOptions: { value: 'x' } }] }, { dataItemId: 'm2', fieldModifications: [{ action: 'APPEND_TO_ARRAY', fieldPath: 'actors.list', appendToArrayOptions: { value: 'p2' } }] }] }, 400, 'WDE0303'],
      ];
      for (const [path, body, status, wixCode] of cases) {
        const r = await api('POST', `${DATA}${path}`, body);
        assert.equal(r.status, status, `${path} ${JSON.stringify(body).slice(0, 200)}: ${JSON.stringify(r.body)}`);
        assert.equal(code(r), wixCode, `${path} ${JSON.stringify(body).slice(0, 200)}: ${JSON.stringify(r.body)}`);
        assert.equal(typeof r.body.message, 'string');
      }
      // A cursor of another endpoint is not a query-referenced cursor, and the other way round.
      const q = await ok('/items/query', { dataCollectionId: movies, query: { cursorPaging: { limit: 1 } } });
      const wrong = await api('POST', `${DATA}/items/query-referenced`, { dataCollectionId: movies, cursorPaging: { cursor: q.pagingMetadata.cursors.next } });
      assert.deepEqual([wrong.status, code(wrong)], [400, 'WDE0165']);
      await items.insertReference(movies, 'actors', 'm1', 'p2');
      const qr = await ok('/items/query-referenced', { dataCollectionId: movies, referringItemIds: ['m1'], referringItemFieldName: 'actors', cursorPaging: { limit: 1 } });
      const back = await api('POST', `${DATA}/items/query`, { dataCollectionId: movies, query: { cursorPaging: { cursor: qr.pagingMetadata.cursors.next } } });
      assert.deepEqual([back.status, code(back)], [400, 'WDE0165']);
      const other = await api('POST', `${DATA}/items/query-referenced`, { dataCollectionId: 'PeopleB', cursorPaging: { cursor: qr.pagingMetadata.cursors.next } });
      assert.deepEqual([other.status, code(other)], [400, 'WDE0165']);
      // Nothing the bad requests named was written.
      assert.deepEqual(await referencedIds(movies, 'm1'), ['p1', 'p2']);
      assert.equal((await items.query(movies).eq('title', 'x').find()).items.length, 0);
    });
  });
}
