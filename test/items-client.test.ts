/**
 * Data items through the published client (@wix/sdk + @wix/data `items` module), as users' code
 * calls them: insert, get, update, save, remove, truncate, the query builder (filters, sorts,
 * projection, offset paging with `next()`, totals), cursor paging, count, environments
 * (`withEnvironment`) and drafts (`showDrafts`). Dates go out as Date objects and must come back
 * as Date objects at any depth.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, call, type TestServer } from './helpers/server.js';
import { codeOf } from './helpers/calls.js';

const DATA = '/wix-data/v2';
type Item = Record<string, any>;

/** The item without its system dates and owner, to compare user data. */
function user({ _createdDate, _updatedDate, _owner, ...rest }: Item): Item {
  return rest;
}

const isDate = (d: unknown): d is Date => d instanceof Date && !Number.isNaN(d.getTime());

for (const storeName of STORE_NAMES) {
  describe(`items through the published client (${storeName})`, () => {
    let s: TestServer;
    /** The SDK's typings want its generics and enums; tests call it as users' JavaScript does. */
    let items: any;
    before(async () => {
      s = await startServer(storeName);
      items = s.client.items;
    });
    after(() => s.close());

    const collection = async (id: string, extra: Record<string, unknown> = {}) => {
      const r = await call(s.url, 'POST', `${DATA}/collections`, { collection: { id, ...extra } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    const seed = async (c: string, list: Item[]) => {
      const r = await items.bulkInsert(c, list);
      assert.equal(r.inserted, list.length);
    };
    const ids = (list: Item[]) => list.map((i) => i._id);

    test('insert with Dates at any depth: they come back as Dates; system fields are set', async () => {
      await collection('dates');
      const when = new Date('2021-03-04T05:06:07.089Z');
      const deep = new Date('1999-12-31T23:59:59.999Z');
      const before = Date.now();
      const inserted = await items.insert('dates', {
        _id: 'd1',
        title: 'first',
        when,
        nested: { at: deep, list: [{ x: when }, deep, 'not a date', 3], empty: {} },
        tags: ['a', 'b'],
      });
      assert.equal(inserted._id, 'd1');
      assert.ok(isDate(inserted.when));
      assert.equal(inserted.when.toISOString(), when.toISOString());
      assert.ok(isDate(inserted.nested.at));
      assert.equal(inserted.nested.at.toISOString(), deep.toISOString());
      assert.ok(isDate(inserted.nested.list[0].x));
      assert.ok(isDate(inserted.nested.list[1]));
      assert.equal(inserted.nested.list[1].getTime(), deep.getTime());
      assert.equal(inserted.nested.list[2], 'not a date');
      assert.deepEqual(inserted.nested.empty, {});
      assert.ok(isDate(inserted._createdDate));
      assert.ok(isDate(inserted._updatedDate));
      assert.ok(inserted._createdDate.getTime() >= before - 1000);
      assert.equal(inserted._createdDate.getTime(), inserted._updatedDate.getTime());
      assert.equal(typeof inserted._owner, 'string');
      assert.ok(inserted._owner.length > 0);

      const got = await items.get('dates', 'd1');
      assert.deepEqual(got, inserted);
      assert.ok(isDate(got.nested.list[0].x));

      // No _id: a GUID is generated.
      const generated = await items.insert('dates', { title: 'no id', when });
      assert.match(generated._id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
      assert.deepEqual(user(await items.get('dates', generated._id)), { _id: generated._id, title: 'no id', when });

      // A Date in a filter matches the stored Date.
      const byDate = await items.query('dates').eq('when', when).ascending('title').find();
      assert.deepEqual(ids(byDate.items), ['d1', generated._id]);
      const byDeep = await items.query('dates').eq('nested.at', deep).find();
      assert.deepEqual(ids(byDeep.items), ['d1']);
      const after = await items.query('dates').gt('when', new Date(when.getTime() - 1)).lt('when', new Date(when.getTime() + 1)).find();
      assert.equal(after.items.length, 2);
      const none = await items.query('dates').gt('when', when).find();
      assert.equal(none.items.length, 0);
    });

    test('insert of an existing id fails with WDE0074; get of a missing id resolves null', async () => {
      await collection('dup');
      await items.insert('dup', { _id: 'x', n: 1 });
      assert.equal(await codeOf(items.insert('dup', { _id: 'x', n: 2 })), 'WDE0074');
      assert.deepEqual(user(await items.get('dup', 'x')), { _id: 'x', n: 1 });
      assert.equal(await items.get('dup', 'nope'), null);
      assert.equal(await codeOf(items.insert('no-such-collection', { n: 1 })), 'WDE0025');
      assert.equal(await codeOf(items.get('no-such-collection', 'x')), 'WDE0025');
      assert.equal(await codeOf(items.query('no-such-collection').find()), 'WDE0025');
    });

    test('update replaces the whole item, keeps _createdDate, moves _updatedDate; missing id fails WDE0073', async () => {
      await collection('upd');
      const first = await items.insert('upd', { _id: 'u', a: 1, b: { c: 2 }, keep: 'gone after update' });
      await new Promise((r) => setTimeout(r, 5));
      const updated = await items.update('upd', { _id: 'u', a: 2, b: { d: new Date('2020-02-02T00:00:00Z') } });
      assert.deepEqual(user(updated), { _id: 'u', a: 2, b: { d: new Date('2020-02-02T00:00:00Z') } });
      assert.ok(isDate(updated.b.d));
      assert.equal(updated._createdDate.getTime(), first._createdDate.getTime());
      assert.ok(updated._updatedDate.getTime() > first._updatedDate.getTime());
      assert.equal(updated._owner, first._owner);
      assert.deepEqual(await items.get('upd', 'u'), updated);
      assert.equal(await codeOf(items.update('upd', { _id: 'missing', a: 1 })), 'WDE0073');
      assert.equal(await items.get('upd', 'missing'), null);
    });

    test('save inserts, then updates the same id', async () => {
      await collection('sav');
      const inserted = await items.save('sav', { _id: 's', v: 1 });
      assert.deepEqual(user(inserted), { _id: 's', v: 1 });
      await new Promise((r) => setTimeout(r, 5));
      const updated = await items.save('sav', { _id: 's', v: 2, extra: [new Date(0)] });
      assert.deepEqual(user(updated), { _id: 's', v: 2, extra: [new Date(0)] });
      assert.equal(updated._createdDate.getTime(), inserted._createdDate.getTime());
      assert.ok(updated._updatedDate.getTime() > inserted._updatedDate.getTime());
      const generated = await items.save('sav', { v: 3 });
      assert.equal(typeof generated._id, 'string');
      assert.equal(await items.query('sav').count(), 2);
    });

    test('remove returns the removed item; removing again resolves null', async () => {
      await collection('rem');
      await seed('rem', [{ _id: 'r1', n: 1, at: new Date('2022-01-01T00:00:00Z') }, { _id: 'r2', n: 2 }]);
      const removed = await items.remove('rem', 'r1');
      assert.deepEqual(user(removed), { _id: 'r1', n: 1, at: new Date('2022-01-01T00:00:00Z') });
      assert.ok(isDate(removed._createdDate));
      assert.equal(await items.get('rem', 'r1'), null);
      assert.equal(await items.remove('rem', 'r1'), null);
      assert.deepEqual(ids((await items.query('rem').find()).items), ['r2']);
    });

    test('truncate empties one collection only', async () => {
      await collection('tr1');
      await collection('tr2');
      await seed('tr1', [{ n: 1 }, { n: 2 }, { n: 3 }]);
      await seed('tr2', [{ n: 1 }]);
      await items.truncate('tr1');
      assert.equal(await items.query('tr1').count(), 0);
      assert.equal(await items.query('tr2').count(), 1);
      // Truncating an empty collection is fine; an unknown one is not.
      await items.truncate('tr1');
      assert.equal(await codeOf(items.truncate('nope')), 'WDE0025');
    });

    describe('query builder', () => {
      const people: Item[] = [
        { _id: 'p01', name: 'Ann', age: 31, city: 'Oslo', tags: ['x', 'y'], score: 5, bio: 'Likes Hiking' },
        { _id: 'p02', name: 'Bob', age: 25, city: 'Bergen', tags: ['y'], score: 5 },
        { _id: 'p03', name: 'Cid', age: 40, city: 'Oslo', tags: [], score: 3, bio: '' },
        { _id: 'p04', name: 'Dee', age: 25, city: 'Oslo', score: 7, bio: 'hiking and chess' },
        { _id: 'p05', name: 'Eve', age: 52, city: 'Bergen', tags: ['z'], score: 3, bio: null },
        { _id: 'p06', name: 'Fay', age: 31, city: 'Tromsø', tags: ['x'], score: 9 },
        { _id: 'p07', name: 'Gus', age: 19, city: 'Oslo', tags: ['q'], score: 5, address: { zip: '0150', street: 'Main' } },
      ];
      before(async () => {
        await collection('people');
        await seed('people', people);
      });
      const q = () => items.query('people');

      test('eq, gt, contains, hasSome, in, startsWith, ne', async () => {
        assert.deepEqual(ids((await q().eq('city', 'Oslo').ascending('_id').find()).items), ['p01', 'p03', 'p04', 'p07']);
        assert.deepEqual(ids((await q().gt('age', 31).ascending('_id').find()).items), ['p03', 'p05']);
        assert.deepEqual(ids((await q().ge('age', 31).ascending('_id').find()).items), ['p01', 'p03', 'p05', 'p06']);
        // contains ignores case.
        assert.deepEqual(ids((await q().contains('bio', 'HIKING').ascending('_id').find()).items), ['p01', 'p04']);
        assert.deepEqual(ids((await q().hasSome('tags', ['x', 'z']).ascending('_id').find()).items), ['p01', 'p05', 'p06']);
        assert.deepEqual(ids((await q().hasSome('tags', 'y').ascending('_id').find()).items), ['p01', 'p02']);
        assert.deepEqual(ids((await q().hasAll('tags', ['x', 'y']).find()).items), ['p01']);
        assert.deepEqual(ids((await q().startsWith('name', 'e').find()).items), ['p05']);
        assert.deepEqual(ids((await q().ne('city', 'Oslo').ascending('_id').find()).items), ['p02', 'p05', 'p06']);
        assert.deepEqual(ids((await q().eq('address.zip', '0150').find()).items), ['p07']);
        assert.deepEqual(ids((await q().between('age', 25, 31).ascending('_id').find()).items), ['p02', 'p04']);
        // Several conditions on the builder are ANDed.
        assert.deepEqual(ids((await q().eq('city', 'Oslo').lt('age', 35).ascending('_id').find()).items), ['p01', 'p04', 'p07']);
      });

      test('isEmpty / isNotEmpty', async () => {
        // Missing or null is empty; the empty string is a value.
        assert.deepEqual(ids((await q().isEmpty('bio').ascending('_id').find()).items), ['p02', 'p05', 'p06', 'p07']);
        assert.deepEqual(ids((await q().isNotEmpty('bio').ascending('_id').find()).items), ['p01', 'p03', 'p04']);
        assert.deepEqual(ids((await q().isEmpty('address').ascending('_id').find()).items), ['p01', 'p02', 'p03', 'p04', 'p05', 'p06']);
      });

      test('or / and / not', async () => {
        const oslo = q().eq('city', 'Oslo');
        const old = q().gt('age', 39);
        assert.deepEqual(ids((await oslo.or(q().eq('name', 'Bob')).ascending('_id').find()).items), ['p01', 'p02', 'p03', 'p04', 'p07']);
        assert.deepEqual(ids((await q().eq('city', 'Bergen').or(old).ascending('_id').find()).items), ['p02', 'p03', 'p05']);
        assert.deepEqual(ids((await oslo.and(old).find()).items), ['p03']);
        assert.deepEqual(ids((await oslo.not(q().gt('age', 30)).ascending('_id').find()).items), ['p04', 'p07']);
        assert.deepEqual(ids((await q().not(oslo).ascending('_id').find()).items), ['p02', 'p05', 'p06']);
        // Nested or inside and.
        const nested = q().eq('score', 5).and(q().eq('city', 'Bergen').or(q().lt('age', 20)));
        assert.deepEqual(ids((await nested.ascending('_id').find()).items), ['p02', 'p07']);
      });

      test('sort on several fields, ASC and DESC, _id breaking ties; default newest first', async () => {
        const r = await q().descending('score').ascending('age').find();
        // score DESC, age ASC, then _id ASC for equal (score, age).
        assert.deepEqual(ids(r.items), ['p06', 'p04', 'p07', 'p02', 'p01', 'p03', 'p05']);
        const r2 = await q().ascending('city', 'age').find();
        assert.deepEqual(ids(r2.items), ['p02', 'p05', 'p07', 'p04', 'p01', 'p03', 'p06']);
        const r3 = await q().descending('age').descending('name').find();
        assert.deepEqual(ids(r3.items), ['p05', 'p03', 'p06', 'p01', 'p04', 'p02', 'p07']);
        // Equal sort values: _id ascending, whatever the direction asked.
        const r4 = await q().descending('city').eq('city', 'Oslo').find();
        assert.deepEqual(ids(r4.items), ['p01', 'p03', 'p04', 'p07']);
        // No sort: newest first (bulkInsert gives them all the same _createdDate, so _id decides).
        await collection('newest');
        await items.insert('newest', { _id: 'b-old' });
        await new Promise((r) => setTimeout(r, 5));
        await items.insert('newest', { _id: 'a-new' });
        assert.deepEqual(ids((await items.query('newest').find()).items), ['a-new', 'b-old']);
      });

      test('fields projection keeps _id and the listed paths only', async () => {
        const r = await q().eq('_id', 'p07').fields('name', 'address.zip').find();
        assert.deepEqual(r.items, [{ _id: 'p07', name: 'Gus', address: { zip: '0150' } }]);
        const sys = await q().eq('_id', 'p01').fields('_createdDate').find();
        assert.deepEqual(Object.keys(sys.items[0]).sort(), ['_createdDate', '_id']);
        assert.ok(isDate(sys.items[0]._createdDate));
        const missing = await q().eq('_id', 'p02').fields('bio').find();
        assert.deepEqual(missing.items, [{ _id: 'p02' }]);
        const all = await q().eq('_id', 'p02').find();
        assert.deepEqual(user(all.items[0]), people[1]);
      });

      test('limit and skip; next() walks offset pages; totalCount with returnTotalCount', async () => {
        const first = await q().ascending('_id').limit(3).find({ returnTotalCount: true });
        assert.deepEqual(ids(first.items), ['p01', 'p02', 'p03']);
        assert.equal(first.totalCount, 7);
        assert.equal(first.totalPages, 3);
        assert.equal(first.pageSize, 3);
        assert.equal(first.currentPage, 0);
        assert.equal(first.hasNext(), true);
        assert.equal(first.hasPrev(), false);
        const second = await first.next();
        assert.deepEqual(ids(second.items), ['p04', 'p05', 'p06']);
        assert.equal(second.currentPage, 1);
        assert.equal(second.hasNext(), true);
        assert.equal(second.hasPrev(), true);
        const third = await second.next();
        assert.deepEqual(ids(third.items), ['p07']);
        assert.equal(third.hasNext(), false);
        await assert.rejects(third.next());
        const back = await third.prev();
        assert.deepEqual(ids(back.items), ['p04', 'p05', 'p06']);

        // skip + limit, and the filter and sort are kept on next().
        const skipped = await q().eq('city', 'Oslo').descending('age').skip(1).limit(2).find();
        assert.deepEqual(ids(skipped.items), ['p01', 'p04']);
        assert.equal(skipped.totalCount, undefined);
        assert.equal(skipped.hasNext(), true);
        const rest = await skipped.next();
        assert.deepEqual(ids(rest.items), ['p07']);
        assert.equal(rest.hasNext(), false);

        // Exactly a page: no next.
        const exact = await q().ascending('_id').limit(7).find();
        assert.equal(exact.items.length, 7);
        assert.equal(exact.hasNext(), false);
        // No limit: the server's default page of 50 holds them all.
        const unlimited = await q().find({ returnTotalCount: true });
        assert.equal(unlimited.items.length, 7);
        assert.equal(unlimited.totalCount, 7);
        assert.equal(unlimited.hasNext(), false);
        // Skip past the end.
        const past = await q().skip(100).find();
        assert.deepEqual(past.items, []);
        assert.equal(past.hasNext(), false);
        // The builder refuses limit(0) itself; the server is never asked.
        await assert.rejects(q().limit(0).find(), /WDE0033|limit/);
      });

      test('walking every page with next() visits each item once', async () => {
        await collection('walk');
        await seed('walk', Array.from({ length: 23 }, (_, i) => ({ _id: `w${String(i).padStart(2, '0')}`, n: i % 4 })));
        const seen: string[] = [];
        let page = await items.query('walk').descending('n').limit(5).find();
        let pages = 1;
        seen.push(...ids(page.items));
        while (page.hasNext()) {
          page = await page.next();
          pages++;
          seen.push(...ids(page.items));
          assert.ok(pages < 10, 'paging does not end');
        }
        assert.equal(pages, 5);
        assert.equal(seen.length, 23);
        assert.equal(new Set(seen).size, 23);
      });

      test('count, with and without a filter', async () => {
        assert.equal(await q().count(), 7);
        assert.equal(await q().eq('city', 'Oslo').count(), 4);
        assert.equal(await q().hasSome('tags', ['nothing']).count(), 0);
        assert.equal(await items.count('people', { filter: { score: { $gte: 5 } } }), 5);
      });

      test('cursor paging: each follow-up sends only the cursor, which carries filter, sort and fields', async () => {
        const first = await call(s.url, 'POST', `${DATA}/items/query`, {
          dataCollectionId: 'people',
          query: { filter: { age: { $lt: 50 } }, sort: [{ fieldName: 'age', order: 'DESC' }], fields: ['age'], cursorPaging: { limit: 2 } },
        });
        assert.equal(first.status, 200);
        assert.deepEqual(first.body.dataItems.map((d: Item) => d.data), [
          { _id: 'p03', age: 40 },
          { _id: 'p01', age: 31 },
        ]);
        let cursor: string | undefined = first.body.pagingMetadata.cursors.next;
        assert.equal(typeof cursor, 'string');
        // The client's one-shot query form: with a cursor it sends no filter or sort.
        const seen: Item[] = [];
        while (cursor) {
          const page = await items.query('people', { cursorPaging: { limit: 2, cursor } });
          seen.push(...page.items);
          cursor = page.pagingMetadata.cursors?.next ?? undefined;
          assert.equal(page.pagingMetadata.hasNext, cursor !== undefined);
          assert.ok(seen.length < 20);
        }
        assert.deepEqual(seen, [
          { _id: 'p06', age: 31 },
          { _id: 'p02', age: 25 },
          { _id: 'p04', age: 25 },
          { _id: 'p07', age: 19 },
        ]);

        // The result object's next() follows cursors.next (`fetch` is the client's cursor entry).
        const api = items.withEnvironment('LIVE');
        let result = await api.fetch('people', first.body.pagingMetadata.cursors.next, 3);
        assert.deepEqual(ids(result.items), ['p06', 'p02', 'p04']);
        assert.equal(result.hasNext(), true);
        result = await result.next();
        assert.deepEqual(ids(result.items), ['p07']);
        assert.equal(result.hasNext(), false);
      });
    });

    test('withEnvironment: SANDBOX is refused until enabled; then separate from LIVE; SANDBOX_PREFERRED follows', async () => {
      await collection('envs');
      await items.insert('envs', { _id: 'live1', v: 'live' });
      const sandbox = items.withEnvironment('SANDBOX');
      const preferred = items.withEnvironment('SANDBOX_PREFERRED');
      assert.equal(await codeOf(sandbox.insert('envs', { _id: 'sb', v: 'sandbox' })), 'WDE0119');
      assert.equal(await codeOf(sandbox.query('envs').find()), 'WDE0119');
      // Without a sandbox, SANDBOX_PREFERRED is LIVE.
      assert.deepEqual(ids((await preferred.query('envs').find()).items), ['live1']);
      await preferred.insert('envs', { _id: 'live2', v: 'live' });
      assert.deepEqual(ids((await items.query('envs').ascending('_id').find()).items), ['live1', 'live2']);

      const on = await call(s.url, 'POST', '/cairn/v1/collections/envs/sandbox', { enabled: true });
      assert.equal(on.status, 200, JSON.stringify(on.body));
      // Enabling copies the live items.
      assert.deepEqual(ids((await sandbox.query('envs').ascending('_id').find()).items), ['live1', 'live2']);
      await sandbox.insert('envs', { _id: 'sb', v: 'sandbox', at: new Date('2030-01-01T00:00:00Z') });
      await sandbox.update('envs', { _id: 'live1', v: 'changed in sandbox' });
      await sandbox.remove('envs', 'live2');
      const sb = await sandbox.get('envs', 'sb');
      assert.ok(isDate(sb.at));
      assert.equal(await items.get('envs', 'sb'), null);
      assert.equal((await items.get('envs', 'live1')).v, 'live');
      assert.equal((await sandbox.get('envs', 'live1')).v, 'changed in sandbox');
      assert.deepEqual(ids((await items.query('envs').ascending('_id').find()).items), ['live1', 'live2']);
      assert.deepEqual(ids((await sandbox.query('envs').ascending('_id').find()).items), ['live1', 'sb']);
      // Now SANDBOX_PREFERRED is the sandbox.
      assert.deepEqual(ids((await preferred.query('envs').ascending('_id').find()).items), ['live1', 'sb']);
      assert.equal(await preferred.query('envs').count(), 2);
      // The same id may exist in both environments.
      await items.insert('envs', { _id: 'sb', v: 'live one' });
      assert.equal((await items.get('envs', 'sb')).v, 'live one');
      assert.equal((await sandbox.get('envs', 'sb')).v, 'sandbox');
      await sandbox.truncate('envs');
      assert.equal(await sandbox.query('envs').count(), 0);
      assert.equal(await items.query('envs').count(), 3);
    });

    test('publish plugin: drafts are hidden unless showDrafts (includeDraftItems)', async () => {
      await collection('pub', { plugins: [{ type: 'PUBLISH' }] });
      await seed('pub', [
        { _id: 'a', n: 1 },
        { _id: 'b', n: 2 },
        { _id: 'c', n: 3 },
      ]);
      const task = await call(s.url, 'POST', '/cms/v1/tasks', {
        task: { type: 'UPDATE_PUBLISH_STATUS', updatePublishStatusOptions: { dataCollectionId: 'pub', operation: 'SET_DRAFT_STATUS', filter: { n: { $gte: 2 } } } },
      });
      assert.equal(task.status, 200, JSON.stringify(task.body));
      await s.cairn.runner!.whenIdle();

      const visible = await items.query('pub').ascending('_id').find();
      assert.deepEqual(ids(visible.items), ['a']);
      assert.equal(visible.items[0]._publishStatus, 'PUBLISHED');
      const all = await items.query('pub').ascending('_id').find({ showDrafts: true });
      assert.deepEqual(ids(all.items), ['a', 'b', 'c']);
      assert.deepEqual(all.items.map((i: Item) => i._publishStatus), ['PUBLISHED', 'DRAFT', 'DRAFT']);
      assert.equal(await items.query('pub').count(), 1);
      assert.equal(await items.query('pub').count({ showDrafts: true }), 3);
      assert.equal(await items.get('pub', 'b'), null);
      assert.equal((await items.get('pub', 'b', { showDrafts: true }))._id, 'b');
      // Update and remove see drafts only when asked.
      assert.equal(await codeOf(items.update('pub', { _id: 'b', n: 20 })), 'WDE0073');
      const upd = await items.update('pub', { _id: 'b', n: 20 }, { showDrafts: true });
      assert.equal(upd.n, 20);
      assert.equal(await items.remove('pub', 'c'), null);
      assert.equal((await items.remove('pub', 'c', { showDrafts: true }))._id, 'c');
      assert.equal(await items.query('pub').count({ showDrafts: true }), 2);
    });
  });
}
