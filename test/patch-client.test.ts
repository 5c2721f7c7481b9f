/**
 * Patch, BulkPatch and the bulk writes through the published client (@wix/sdk + @wix/data
 * `items`): `items.patch` and `items.bulkPatch` in both their forms (builder: `.setField(...)
 * ...run(options)`; direct: `(collection, ids, fieldModifications, options)`), the options
 * builders, and bulkInsert / bulkUpdate / bulkSave / bulkRemove with the client's own result
 * shape (inserted, updated, skipped, errors...). Items are checked afterwards with the client.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { items as itemsModule } from '@wix/data';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, call, type TestServer } from './helpers/server.js';
import { sql } from '../src/store/sql.js';
import { codeOf } from './helpers/calls.js';

const DATA = '/wix-data/v2';

type Obj = Record<string, any>;

/** The module-level builders (they are plain functions, not bound to a client). */
const sdk = itemsModule as any;

function strip(item: Obj | null): Obj | null {
  if (!item) return item;
  const { _createdDate, _updatedDate, _owner, ...rest } = item;
  return rest;
}

for (const storeName of STORE_NAMES) {
  describe(`patch and bulk writes through the published client (${storeName})`, () => {
    let s: TestServer;
    let items: any;
    before(async () => {
      s = await startServer(storeName, { runner: false });
      items = s.client.items;
    });
    after(() => s.close());

    const collection = async (id: string, extra: Obj = {}) => {
      const r = await call(s.url, 'POST', `${DATA}/collections`, { collection: { id, ...extra } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    const all = async (c: string, showDrafts = false): Promise<Obj[]> => {
      const r = await items.query(c).ascending('_id').limit(1000).find(showDrafts ? { showDrafts: true } : undefined);
      return r.items.map(strip);
    };
    const get = async (c: string, id: string) => strip(await items.get(c, id));

    test('patch builder: every action, in order; the client returns the patched item', async () => {
      await collection('pb');
      await items.bulkInsert('pb', [{ _id: 'a', title: 'old', n: 1, tags: ['x', 'y', 'x'], gone: true }]);
      const before = await items.get('pb', 'a');
      const patched = await items
        .patch('pb', 'a')
        .setField('title', 'new')
        .setField('meta.when', new Date('2024-05-06T07:08:09.010Z'))
        .incrementField('n', 4)
        .incrementField('n', -0.5)
        .appendToArray('tags', 'z')
        .removeFromArray('tags', 'x')
        .removeField('gone')
        .run();
      assert.equal(patched._id, 'a');
      assert.ok(patched._updatedDate instanceof Date);
      assert.ok(patched._createdDate instanceof Date);
      assert.equal(patched._createdDate.getTime(), before._createdDate.getTime());
      assert.ok(patched._updatedDate.getTime() >= before._updatedDate.getTime());
      assert.ok(patched.meta.when instanceof Date, 'a Date set through the client comes back as a Date');
      assert.equal(patched.meta.when.toISOString(), '2024-05-06T07:08:09.010Z');
      const expected = { _id: 'a', title: 'new', meta: { when: new Date('2024-05-06T07:08:09.010Z') }, n: 4.5, tags: ['y', 'x', 'z'] };
      assert.deepEqual(strip(patched), expected);
      assert.deepEqual(await get('pb', 'a'), expected);
    });

    test('patch direct form: modifications and options (condition) as arguments', async () => {
      await collection('pd');
      await items.bulkInsert('pd', [{ _id: 'a', n: 1, tags: [] }]);
      const mods = sdk.FieldModificationsBuilder().incrementField('n', 2).appendToArray('tags', 'one').build();
      const r = await items.patch('pd', 'a', mods, { condition: items.filter().eq('n', 1) });
      assert.deepEqual(strip(r), { _id: 'a', n: 3, tags: ['one'] });
      // The condition no longer holds: the item is not patched, and the call fails with WDE0073.
      assert.equal(await codeOf(items.patch('pd', 'a', mods, { condition: { n: 1 } })), 'WDE0073');
      const options = sdk.PatchOptionsBuilder().withCondition(sdk.Filter('n').gt(2)).build();
      const again = await items.patch('pd', 'a', [{ fieldPath: 'n', action: 'SET_FIELD', value: 10 }], options);
      assert.equal(again.n, 10);
      assert.deepEqual(await get('pd', 'a'), { _id: 'a', n: 10, tags: ['one'] });
    });

    test('patch errors: a missing item and a type clash are thrown, the item is left unchanged', async () => {
      await collection('pe');
      await items.bulkInsert('pe', [{ _id: 'a', n: 1, s: 'text' }]);
      const before = await items.get('pe', 'a');
      assert.equal(await codeOf(items.patch('pe', 'ghost').setField('x', 1).run()), 'WDE0073');
      assert.equal(await codeOf(items.patch('pe', 'a').setField('x', 1).incrementField('s', 1).run()), 'WDE0075');
      assert.equal(await codeOf(items.patch('pe', 'a').appendToArray('n', 1).run()), 'WDE0075');
      assert.equal(await codeOf(items.patch('pe', 'a').setField('n.deeper', 1).run()), 'WDE0075');
      assert.equal(await codeOf(items.patch('pe', 'a').setField('_id', 'b').run()), 'WDE0080');
      assert.deepEqual(await items.get('pe', 'a'), before);
      assert.equal(await items.get('pe', 'ghost'), null);
    });

    test('bulkPatch builder form: same modifications for many ids; missing ids are skipped', async () => {
      await collection('bb');
      await items.bulkInsert('bb', [
        { _id: 'a', n: 1, tags: [] },
        { _id: 'b', n: 5, tags: ['x'] },
        { _id: 'c', n: 9, tags: null },
      ]);
      const r = await items.bulkPatch('bb', ['a', 'ghost', 'b', 'c']).incrementField('n', 10).appendToArray('tags', 'new').setField('deep.er', true).run();
      assert.equal(r.updated, 3);
      assert.equal(r.skipped, 1, 'WDE0073 is reported by the client as skipped');
      assert.deepEqual(r.errors, []);
      assert.deepEqual(r.updatedItemIds, ['a', 'b', 'c']);
      assert.equal(r.inserted, 0);
      assert.equal(r.removed, 0);
      assert.deepEqual(await all('bb'), [
        { _id: 'a', n: 11, tags: ['new'], deep: { er: true } },
        { _id: 'b', n: 15, tags: ['x', 'new'], deep: { er: true } },
        { _id: 'c', n: 19, tags: ['new'], deep: { er: true } },
      ]);
      // run(options): a condition chooses which items are patched.
      const cond = await items.bulkPatch('bb', ['a', 'b', 'c']).removeFromArray('tags', 'new').removeField('deep').run({ condition: items.filter().gt('n', 12) });
      assert.equal(cond.updated, 2);
      assert.equal(cond.skipped, 1);
      assert.deepEqual(cond.updatedItemIds, ['b', 'c']);
      assert.deepEqual(await all('bb'), [
        { _id: 'a', n: 11, tags: ['new'], deep: { er: true } },
        { _id: 'b', n: 15, tags: ['x'] },
        { _id: 'c', n: 19, tags: [] },
      ]);
    });

    test('bulkPatch direct form: (collection, ids, fieldModifications, options)', async () => {
      await collection('bd');
      await items.bulkInsert('bd', [
        { _id: 'a', n: 1, s: 'one' },
        { _id: 'b', n: 2, s: 'two' },
        { _id: 'c', n: 3, s: 'three' },
      ]);
      const mods = [
        { fieldPath: 'n', action: 'INCREMENT_FIELD', value: -1 },
        { fieldPath: 'list', action: 'APPEND_TO_ARRAY', value: { at: new Date('2024-01-01T00:00:00.000Z') } },
        { fieldPath: 's', action: 'REMOVE_FIELD' },
      ];
      const options = sdk.BulkPatchOptionsBuilder().withSuppressHooks(true).withCondition(sdk.Filter('n').gte(2)).build();
      const r = await items.bulkPatch('bd', ['a', 'b', 'c', 'ghost'], mods, options);
      assert.equal(r.updated, 2);
      assert.equal(r.skipped, 2);
      assert.deepEqual(r.updatedItemIds, ['b', 'c']);
      assert.deepEqual(await all('bd'), [
        { _id: 'a', n: 1, s: 'one' },
        { _id: 'b', n: 1, list: [{ at: new Date('2024-01-01T00:00:00.000Z') }] },
        { _id: 'c', n: 2, list: [{ at: new Date('2024-01-01T00:00:00.000Z') }] },
      ]);
      // Without options: appending to a missing field creates the array.
      const append = await items.bulkPatch('bd', ['a', 'b'], [{ fieldPath: 'list', action: 'APPEND_TO_ARRAY', value: 'x' }]);
      assert.deepEqual([append.updated, append.skipped, append.errors.length], [2, 0, 0]);
      // A type clash is an error of that item only, reported with its code and index.
      const bad = await items.bulkPatch('bd', ['b', 'a'], [
        { fieldPath: 'n', action: 'INCREMENT_FIELD', value: 1 },
        { fieldPath: 's', action: 'INCREMENT_FIELD', value: 1 },
      ]);
      assert.equal(bad.updated, 1, 'b has no s: it counts from 0');
      assert.equal(bad.errors.length, 1);
      assert.equal(bad.errors[0].code, 'WDE0075');
      assert.equal(bad.errors[0].originalIndex, 1);
      assert.deepEqual(await get('bd', 'b'), { _id: 'b', n: 2, s: 1, list: [{ at: new Date('2024-01-01T00:00:00.000Z') }, 'x'] });
      assert.deepEqual(await get('bd', 'a'), { _id: 'a', n: 1, s: 'one', list: ['x'] }, 'a is unchanged: n was not incremented either');
    });

    test('showDrafts: patch and bulkPatch reach drafts only when asked', async () => {
      await collection('dr', { plugins: [{ type: 'PUBLISH' }] });
      await items.bulkInsert('dr', [
        { _id: 'pub', n: 0 },
        { _id: 'dra', n: 0 },
      ]);
      await s.store.db.run(sql`UPDATE items SET publish_status = 'DRAFT' WHERE collection_id = 'dr' AND id = 'dra'`);
      assert.equal(await codeOf(items.patch('dr', 'dra').incrementField('n', 1).run()), 'WDE0073');
      const viaDrafts = await items.patch('dr', 'dra').incrementField('n', 1).run({ showDrafts: true });
      assert.equal(viaDrafts.n, 1);
      assert.equal(viaDrafts._publishStatus, 'DRAFT');
      const hidden = await items.bulkPatch('dr', ['pub', 'dra']).incrementField('n', 1).run();
      assert.deepEqual([hidden.updated, hidden.skipped], [1, 1]);
      const shown = await items.bulkPatch('dr', ['pub', 'dra'], [{ fieldPath: 'n', action: 'INCREMENT_FIELD', value: 1 }], { showDrafts: true });
      assert.deepEqual([shown.updated, shown.skipped], [2, 0]);
      assert.deepEqual(
        (await all('dr', true)).map((i) => [i._id, i.n, i._publishStatus]),
        [
          ['dra', 2, 'DRAFT'],
          ['pub', 2, 'PUBLISHED'],
        ],
      );
    });

    test('bulkInsert: inserted items, generated ids, existing ids skipped (WDE0074)', async () => {
      await collection('bi');
      const first = await items.bulkInsert('bi', [{ _id: 'a', n: 1 }, { n: 2 }, { _id: 'b', when: new Date('2024-02-02T00:00:00.000Z') }]);
      assert.equal(first.inserted, 3);
      assert.equal(first.insertedItemIds.length, 3);
      assert.equal(first.insertedItemIds[0], 'a');
      assert.equal(first.insertedItemIds[2], 'b');
      const generated = first.insertedItemIds[1];
      assert.equal(typeof generated, 'string');
      const again = await items.bulkInsert('bi', [{ _id: 'a', n: 100 }, { _id: 'c', n: 3 }]);
      assert.equal(again.inserted, 1);
      assert.equal(again.skipped, 1);
      assert.deepEqual(again.insertedItemIds, ['c']);
      assert.deepEqual(await get('bi', 'a'), { _id: 'a', n: 1 });
      assert.deepEqual(await get('bi', 'b'), { _id: 'b', when: new Date('2024-02-02T00:00:00.000Z') });
      assert.deepEqual(await get('bi', generated), { _id: generated, n: 2 });
      assert.equal((await all('bi')).length, 4);
      // overrideExisting turns it into a save.
      const override = await items.bulkInsert('bi', [{ _id: 'a', n: 100 }], { overrideExisting: true });
      assert.equal(override.updated, 1);
      assert.deepEqual(await get('bi', 'a'), { _id: 'a', n: 100 });
    });

    test('bulkUpdate: full replacement of existing items; missing ids skipped (WDE0073)', async () => {
      await collection('bu');
      await items.bulkInsert('bu', [
        { _id: 'a', n: 1, extra: 'x' },
        { _id: 'b', n: 2 },
      ]);
      const before = await items.get('bu', 'a');
      const r = await items.bulkUpdate('bu', [
        { _id: 'a', n: 10 },
        { _id: 'ghost', n: 0 },
        { _id: 'b', title: 'B' },
      ]);
      assert.equal(r.updated, 2);
      assert.equal(r.skipped, 1);
      assert.deepEqual(r.updatedItemIds, ['a', 'b']);
      assert.deepEqual(await all('bu'), [
        { _id: 'a', n: 10 },
        { _id: 'b', title: 'B' },
      ]);
      const after = await items.get('bu', 'a');
      assert.equal(after._createdDate.getTime(), before._createdDate.getTime(), '_createdDate is kept');
      assert.equal(await items.get('bu', 'ghost'), null, 'update never inserts');
    });

    test('bulkSave: inserts new ids and replaces existing ones', async () => {
      await collection('bs');
      await items.bulkInsert('bs', [{ _id: 'a', n: 1, extra: true }]);
      const r = await items.bulkSave('bs', [
        { _id: 'a', n: 2 },
        { _id: 'b', n: 3 },
        { n: 4 },
      ]);
      assert.equal(r.inserted, 2);
      assert.equal(r.updated, 1);
      assert.equal(r.skipped, 0);
      assert.deepEqual(r.updatedItemIds, ['a']);
      assert.equal(r.insertedItemIds[0], 'b');
      const rows = await all('bs');
      assert.equal(rows.length, 3);
      assert.deepEqual(await get('bs', 'a'), { _id: 'a', n: 2 });
      assert.deepEqual(await get('bs', 'b'), { _id: 'b', n: 3 });
      assert.deepEqual(await get('bs', r.insertedItemIds[1]), { _id: r.insertedItemIds[1], n: 4 });
    });

    test('bulkRemove: removes existing ids; missing ids skipped (WDE0073)', async () => {
      await collection('br');
      await items.bulkInsert('br', [{ _id: 'a' }, { _id: 'b' }, { _id: 'c' }]);
      const r = await items.bulkRemove('br', ['a', 'ghost', 'c']);
      assert.equal(r.removed, 2);
      assert.equal(r.skipped, 1);
      assert.deepEqual(r.removedItemIds, ['a', 'c']);
      assert.deepEqual(await all('br'), [{ _id: 'b' }]);
      assert.equal(await items.get('br', 'a'), null);
    });
  });
}
