/**
 * The Draft Items plugin (docs/drafts.md): the collection calls that pair a collection with its
 * drafts collection and unpair it (each conflict and removal action), and the item calls
 * create-draft, publish-draft and unpublish through the published client and raw HTTP, with
 * their events, their one transaction (a unique-index conflict leaves both collections as they
 * were), the sandbox and the errors.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_NAMES } from './helpers/stores.js';
import { call, startServer, type TestServer } from './helpers/server.js';
import { createCollection } from './helpers/store-items.js';
import { codeOf } from './helpers/calls.js';
import { sql } from '../src/store/sql.js';

const DATA = '/wix-data/v2';
const CREATED = 'wix.data.v2.data_item_created';
const UPDATED = 'wix.data.v2.data_item_updated';
const DELETED = 'wix.data.v2.data_item_deleted';

for (const storeName of STORE_NAMES) {
  describe(`Draft Items plugin (${storeName})`, () => {
    let s: TestServer;
    let items: any;
    before(async () => {
      s = await startServer(storeName);
      items = s.client.items;
    });
    after(() => s.close());

    const api = (method: string, path: string, body?: unknown) => call(s.url, method, path, body);
    const code = (r: { body: any }) => r.body?.details?.applicationError?.code;
    const fail = async (r: Promise<{ status: number; body: any }>, status: number, wixCode: string) => {
      const got = await r;
      assert.deepEqual([got.status, code(got)], [status, wixCode], JSON.stringify(got.body));
    };
    const addPlugin = (id: string, extra: Record<string, unknown> = {}) => api('POST', `${DATA}/collections/add-draft-items-plugin`, { dataCollectionId: id, draftItemsOptions: {}, ...extra });
    const deletePlugin = (id: string, action?: string) => api('POST', `${DATA}/collections/delete-draft-items-plugin`, { dataCollectionId: id, ...(action ? { draftItemsRemovalAction: action } : {}) });
    const ids = async (collection: string) => (await items.query(collection).ascending('_id').find()).items.map((i: any) => i._id);
    const eventsOf = async (id: string) =>
      (await s.store.db.all<{ type: string; collection_id: string }>(sql`SELECT type, collection_id FROM events WHERE entity_id = ${id} ORDER BY seq`)).map((e) => `${e.collection_id} ${e.type}`);

    test('pairing: the drafts collection, the plugin on both, and what each collection call allows', async () => {
      await createCollection(s, 'posts', { fields: [{ key: 'title', type: 'TEXT' }], permissions: { read: 'ANYONE', insert: 'ADMIN', update: 'ADMIN', remove: 'ADMIN' } });
      const added = await addPlugin('posts');
      assert.equal(added.status, 200, JSON.stringify(added.body));
      assert.deepEqual(
        added.body.dataCollection.plugins.find((p: any) => p.type === 'DRAFT_ITEMS'),
        { type: 'DRAFT_ITEMS', draftItemsOptions: { draftsCollectionId: 'posts__drafts' } },
      );
      const drafts = (await api('GET', `${DATA}/collections/posts__drafts`)).body.collection;
      assert.deepEqual(drafts.plugins, [{ type: 'DRAFT_ITEMS', draftItemsOptions: { publishedCollectionId: 'posts' } }]);
      assert.ok(drafts.fields.some((f: any) => f.key === 'title'));
      assert.deepEqual(drafts.permissions, added.body.dataCollection.permissions);
      await fail(addPlugin('posts'), 400, 'WDE0075');
      await fail(addPlugin('posts__drafts'), 400, 'WDE0075');
      await fail(api('POST', `${DATA}/collections/delete-plugin`, { dataCollectionId: 'posts', pluginType: 'DRAFT_ITEMS' }), 400, 'WDE0075');
      await fail(api('POST', `${DATA}/collections/add-plugin`, { dataCollectionId: 'posts', plugin: { type: 'PUBLISH' } }), 400, 'WDE0075');
      await fail(api('POST', `${DATA}/collections/add-plugin`, { dataCollectionId: 'posts', plugin: { type: 'DRAFT_ITEMS' } }), 400, 'WDE0075');
      await fail(api('DELETE', `${DATA}/collections/posts__drafts`), 400, 'WDE0075');
      await fail(deletePlugin('posts__drafts'), 400, 'WDE0075');
      await fail(addPlugin('nothing'), 404, 'WDE0025');
      await fail(addPlugin('posts', { publishPluginConflictAction: 'MERGE' }), 400, 'WDE0075');
      // A full replace that sends the plugins it read keeps the pairing, whatever it sends.
      const current = (await api('GET', `${DATA}/collections/posts`)).body.collection;
      const replaced = await api('PUT', `${DATA}/collections`, { collection: { ...current, plugins: [] } });
      assert.equal(replaced.status, 200, JSON.stringify(replaced.body));
      assert.ok(replaced.body.collection.plugins.some((p: any) => p.type === 'DRAFT_ITEMS'));
    });

    test('the published client: create a draft, edit it, publish it, unpublish; events and errors', async () => {
      await createCollection(s, 'pages');
      assert.equal((await addPlugin('pages')).status, 200);
      const original = await items.insert('pages', { _id: 'p1', title: 'First', body: 'one' });
      const draft = await items.createDataItemDraft('pages', 'p1');
      assert.equal(draft._id, 'p1');
      assert.equal(draft.title, 'First');
      assert.deepEqual(await ids('pages__drafts'), ['p1']);
      assert.equal(await codeOf(items.createDataItemDraft('pages', 'p1')), 'WDE0074', 'one draft an item');
      await items.update('pages__drafts', { _id: 'p1', title: 'First, edited', body: 'one' });
      const published = await items.publishDataItemDraft('pages', 'p1');
      assert.equal(published.title, 'First, edited');
      assert.equal(published._createdDate.getTime(), original._createdDate.getTime(), 'the published item keeps its creation date');
      assert.equal((await items.get('pages', 'p1')).title, 'First, edited');
      assert.deepEqual(await ids('pages__drafts'), [], 'the draft left');
      assert.equal(await codeOf(items.publishDataItemDraft('pages', 'p1')), 'WDE0073');
      assert.deepEqual(await eventsOf('p1'), [
        `pages ${CREATED}`,
        `pages__drafts ${CREATED}`,
        `pages__drafts ${UPDATED}`,
        `pages__drafts ${DELETED}`,
        `pages ${UPDATED}`,
      ]);

      // unpublish: the item becomes a draft (copyToDraft defaults to true)
      const unpublished = await items.unpublishDataItem('pages', 'p1');
      assert.equal(unpublished.title, 'First, edited');
      assert.equal(await items.get('pages', 'p1'), null);
      assert.deepEqual(await ids('pages__drafts'), ['p1']);
      // a draft that never was published becomes a published item
      assert.equal((await items.publishDataItemDraft('pages', 'p1')).title, 'First, edited');
      assert.deepEqual(await ids('pages'), ['p1']);

      // unpublish without a copy; unpublish while a draft exists keeps that draft
      await items.insert('pages', { _id: 'p2', title: 'Second' });
      assert.equal(await items.unpublishDataItem('pages', 'p2', { copyToDraft: false }), undefined);
      assert.deepEqual(await ids('pages'), ['p1']);
      assert.deepEqual(await ids('pages__drafts'), []);
      await items.createDataItemDraft('pages', 'p1');
      await items.update('pages__drafts', { _id: 'p1', title: 'Work in progress' });
      assert.equal((await items.unpublishDataItem('pages', 'p1')).title, 'Work in progress');
      assert.deepEqual(await ids('pages'), []);
      assert.equal((await items.get('pages__drafts', 'p1')).title, 'Work in progress');

      // errors
      await createCollection(s, 'plain');
      await items.insert('plain', { _id: 'x' });
      assert.equal(await codeOf(items.createDataItemDraft('plain', 'x')), 'WDE0119');
      assert.equal(await codeOf(items.createDataItemDraft('pages__drafts', 'p1')), 'WDE0119');
      assert.equal(await codeOf(items.createDataItemDraft('pages', 'nope')), 'WDE0073');
      assert.equal(await codeOf(items.unpublishDataItem('pages', 'nope')), 'WDE0073');
    });

    test('raw HTTP: both prefixes, the reply shapes, bad input', async () => {
      await createCollection(s, 'notes');
      assert.equal((await addPlugin('notes')).status, 200);
      await items.insert('notes', { _id: 'n1', text: 'hello' });
      const created = await api('POST', '/_api/cloud-data/v2/items/create-draft', { dataCollectionId: 'notes', dataItemId: 'n1' });
      assert.equal(created.status, 200, JSON.stringify(created.body));
      assert.deepEqual(Object.keys(created.body), ['dataItem']);
      assert.deepEqual([created.body.dataItem.id, created.body.dataItem.dataCollectionId, created.body.dataItem.data.text], ['n1', 'notes__drafts', 'hello']);
      const none = await api('POST', `${DATA}/items/unpublish`, { dataCollectionId: 'notes', dataItemId: 'n1', copyToDraft: false });
      assert.equal(none.status, 200, JSON.stringify(none.body));
      assert.deepEqual(none.body, {});
      const publishedAgain = await api('POST', `${DATA}/items/publish-draft`, { dataCollectionId: 'notes', dataItemId: 'n1' });
      assert.deepEqual([publishedAgain.status, publishedAgain.body.dataItem.dataCollectionId], [200, 'notes']);
      await fail(api('POST', `${DATA}/items/create-draft`, { dataCollectionId: 'notes' }), 400, 'WDE0002');
      await fail(api('POST', `${DATA}/items/create-draft`, { dataCollectionId: 'notes', dataItemId: 7 }), 400, 'WDE0002');
      await fail(api('POST', `${DATA}/items/unpublish`, { dataCollectionId: 'notes', dataItemId: 'n1', copyToDraft: 'yes' }), 400, 'WDE0080');
      await fail(api('POST', `${DATA}/items/publish-draft`, { dataCollectionId: 'missing', dataItemId: 'n1' }), 404, 'WDE0025');
      // The writes' own permissions: a visitor may read these collections but not write them.
      const asVisitor = (path: string, body: unknown) => call(s.url, 'POST', path, body, { authorization: '' });
      await fail(asVisitor(`${DATA}/items/create-draft`, { dataCollectionId: 'notes', dataItemId: 'n1' }), 403, 'WDE0027');
      await fail(asVisitor(`${DATA}/items/unpublish`, { dataCollectionId: 'notes', dataItemId: 'n1' }), 403, 'WDE0027');
      assert.deepEqual(await ids('notes'), ['n1'], 'nothing moved');
    });

    test('one transaction: a publish that breaks a unique index changes neither collection', async () => {
      await createCollection(s, 'slugs');
      assert.equal((await addPlugin('slugs')).status, 200);
      assert.equal((await api('POST', `${DATA}/indexes`, { dataCollectionId: 'slugs', index: { name: 'bySlug', fields: [{ path: 'slug' }], unique: true } })).status, 200);
      await items.insert('slugs', { _id: 'a', slug: 'one' });
      await items.insert('slugs__drafts', { _id: 'b', slug: 'one' });
      assert.equal(await codeOf(items.publishDataItemDraft('slugs', 'b')), 'WDE0123');
      assert.deepEqual(await ids('slugs'), ['a']);
      assert.deepEqual(await ids('slugs__drafts'), ['b'], 'the draft is still there');
      const rejected = await deletePlugin('slugs', 'PUBLISH_EXISTING_DRAFT_ITEMS');
      assert.deepEqual([rejected.status, code(rejected)], [409, 'WDE0123'], JSON.stringify(rejected.body));
      assert.equal((await api('GET', `${DATA}/collections/slugs__drafts`)).status, 200, 'the drafts collection is still there');
    });

    test('concurrent moves of one item: one create-draft, one publish-draft and one unpublish win; the rest fail cleanly', async () => {
      await createCollection(s, 'race');
      assert.equal((await addPlugin('race')).status, 200);
      await items.insert('race', { _id: 'r1', n: 1 });
      const settle = async (calls: Promise<{ status: number; body: any }>[]) => (await Promise.all(calls)).map((r) => (r.status === 200 ? 'ok' : code(r))).sort();
      const many = (path: string, body: unknown) => Array.from({ length: 8 }, () => api('POST', `${DATA}/items/${path}`, body));
      assert.deepEqual(await settle(many('create-draft', { dataCollectionId: 'race', dataItemId: 'r1' })), ['WDE0074', 'WDE0074', 'WDE0074', 'WDE0074', 'WDE0074', 'WDE0074', 'WDE0074', 'ok']);
      assert.deepEqual(await settle(many('publish-draft', { dataCollectionId: 'race', dataItemId: 'r1' })), ['WDE0073', 'WDE0073', 'WDE0073', 'WDE0073', 'WDE0073', 'WDE0073', 'WDE0073', 'ok']);
      assert.deepEqual(await settle(many('unpublish', { dataCollectionId: 'race', dataItemId: 'r1' })), ['WDE0073', 'WDE0073', 'WDE0073', 'WDE0073', 'WDE0073', 'WDE0073', 'WDE0073', 'ok']);
      assert.deepEqual([await ids('race'), await ids('race__drafts')], [[], ['r1']]);
    });

    test('unpairing: refused with drafts, discarded, or published first', async () => {
      await createCollection(s, 'docs');
      assert.equal((await addPlugin('docs')).status, 200);
      await items.bulkInsert('docs', [{ _id: 'd1', v: 1 }, { _id: 'd2', v: 2 }]);
      await items.createDataItemDraft('docs', 'd1');
      await items.update('docs__drafts', { _id: 'd1', v: 10 });
      await items.insert('docs__drafts', { _id: 'd3', v: 3 });
      await fail(deletePlugin('docs'), 400, 'WDE0075');
      await fail(deletePlugin('docs', 'KEEP'), 400, 'WDE0075');
      const done = await deletePlugin('docs', 'PUBLISH_EXISTING_DRAFT_ITEMS');
      assert.equal(done.status, 200, JSON.stringify(done.body));
      assert.ok(!done.body.dataCollection.plugins.some((p: any) => p.type === 'DRAFT_ITEMS'));
      assert.deepEqual((await items.query('docs').ascending('_id').find()).items.map((i: any) => [i._id, i.v]), [['d1', 10], ['d2', 2], ['d3', 3]]);
      assert.equal((await api('GET', `${DATA}/collections/docs__drafts`)).status, 404);
      assert.deepEqual((await eventsOf('d1')).slice(-1), [`docs ${UPDATED}`]);
      assert.deepEqual((await eventsOf('d3')).slice(-1), [`docs ${CREATED}`]);

      await createCollection(s, 'scraps');
      assert.equal((await addPlugin('scraps')).status, 200);
      await items.insert('scraps__drafts', { _id: 's1' });
      assert.equal((await deletePlugin('scraps', 'DISCARD_EXISTING_DRAFT_ITEMS')).status, 200);
      assert.deepEqual(await ids('scraps'), []);
      assert.equal((await api('GET', `${DATA}/collections/scraps__drafts`)).status, 404);
      // With no drafts the default removes it; then the plugin can be added again.
      assert.equal((await addPlugin('scraps')).status, 200);
      assert.equal((await deletePlugin('scraps')).status, 200);
      await fail(deletePlugin('scraps'), 400, 'WDE0075');
    });

    test('from the Publish plugin: refused by default, or its DRAFT items move to the drafts collection', async () => {
      await createCollection(s, 'news', { plugins: [{ type: 'PUBLISH', publishOptions: { defaultStatus: 'DRAFT' } }] });
      await items.insert('news', { _id: 'draft1', t: 'a' });
      await items.insert('news', { _id: 'draft2', t: 'b' });
      const task = await api('POST', '/cms/v1/tasks', { task: { type: 'UPDATE_PUBLISH_STATUS', updatePublishStatusOptions: { dataCollectionId: 'news', filter: { _id: 'draft2' }, operation: 'SET_PUBLISHED_STATUS' } } });
      assert.equal((await s.lib.waitForTask(task.body.task.id as string)).status, 'COMPLETED');
      await fail(addPlugin('news'), 400, 'WDE0075');
      const moved = await addPlugin('news', { publishPluginConflictAction: 'COPY_DRAFT_ITEMS_WITH_DRAFT_STATUS' });
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
      assert.deepEqual(moved.body.dataCollection.plugins.map((p: any) => p.type), ['DRAFT_ITEMS']);
      assert.deepEqual(await ids('news'), ['draft2']);
      assert.deepEqual(await ids('news__drafts'), ['draft1']);
      assert.deepEqual((await eventsOf('draft1')).slice(-2), [`news__drafts ${CREATED}`, `news ${DELETED}`]);
    });

    test('add-publish-plugin on a pair: refused, or the drafts discarded, published, or kept as DRAFT items', async () => {
      const setup = async (c: string) => {
        await createCollection(s, c);
        assert.equal((await addPlugin(c)).status, 200);
        await items.bulkInsert(c, [{ _id: 'p1', v: 'published' }, { _id: 'p2', v: 'only published' }]);
        await items.createDataItemDraft(c, 'p1');
        await items.update(`${c}__drafts`, { _id: 'p1', v: 'draft' });
        await items.insert(`${c}__drafts`, { _id: 'p3', v: 'only a draft' });
      };
      const addPublish = (c: string, action?: string) =>
        api('POST', `${DATA}/collections/add-publish-plugin`, { dataCollectionId: c, publishOptions: { defaultStatus: 'PUBLISHED' }, ...(action ? { draftItemsPluginConflictAction: action } : {}) });
      const everything = async (c: string) =>
        (await api('POST', `${DATA}/items/query`, { dataCollectionId: c, query: { sort: [{ fieldName: '_id' }] }, publishPluginOptions: { includeDraftItems: true } })).body.dataItems.map(
          (i: any) => [i.id, i.data._publishStatus, i.data.v],
        );
      const afterwards = async (c: string, r: { status: number; body: any }) => {
        assert.equal(r.status, 200, JSON.stringify(r.body));
        assert.deepEqual(r.body.dataCollection.plugins.map((p: any) => p.type), ['PUBLISH']);
        assert.equal((await api('GET', `${DATA}/collections/${c}__drafts`)).status, 404);
      };
      await setup('mode1');
      await fail(addPublish('mode1'), 400, 'WDE0075');
      await fail(addPublish('mode1', 'MERGE'), 400, 'WDE0075');
      await setup('mode2');
      await afterwards('mode2', await addPublish('mode2', 'DISCARD_DRAFT_ITEMS'));
      assert.deepEqual(await everything('mode2'), [['p1', 'PUBLISHED', 'published'], ['p2', 'PUBLISHED', 'only published']]);
      await setup('mode3');
      await afterwards('mode3', await addPublish('mode3', 'PUBLISH_DRAFT_ITEMS'));
      assert.deepEqual(await everything('mode3'), [['p1', 'PUBLISHED', 'draft'], ['p2', 'PUBLISHED', 'only published'], ['p3', 'PUBLISHED', 'only a draft']]);
      await setup('mode4');
      await afterwards('mode4', await addPublish('mode4', 'COPY_DRAFT_ITEMS_WITH_DRAFT_STATUS'));
      assert.deepEqual(await everything('mode4'), [['p1', 'PUBLISHED', 'published'], ['p2', 'PUBLISHED', 'only published'], ['p3', 'DRAFT', 'only a draft']]);
      // The plugins with calls of their own, on a collection without a pair.
      await createCollection(s, 'plugged');
      for (const [slug, type, options] of [['urlized', 'URLIZED', 'urlizedOptions'], ['multilingual', 'MULTILINGUAL', 'multilingualOptions'], ['cms', 'CMS', 'cmsOptions'], ['catalog', 'CATALOG', 'catalogOptions'], ['publish', 'PUBLISH', 'publishOptions']]) {
        const added = await api('POST', `${DATA}/collections/add-${slug}-plugin`, { dataCollectionId: 'plugged', [options as string]: {} });
        assert.equal(added.status, 200, JSON.stringify(added.body));
        assert.ok(added.body.dataCollection.plugins.some((p: any) => p.type === type), slug);
        await fail(api('POST', `${DATA}/collections/add-${slug}-plugin`, { dataCollectionId: 'plugged' }), 400, 'WDE0075');
        const removed = await api('POST', `/_api/cloud-data/v2/collections/delete-${slug}-plugin`, { dataCollectionId: 'plugged' });
        assert.equal(removed.status, 200, JSON.stringify(removed.body));
        assert.ok(!removed.body.dataCollection.plugins.some((p: any) => p.type === type), slug);
      }
    });

    test('the pair shares its sandbox, and goes when the published collection is deleted', async () => {
      await createCollection(s, 'env');
      assert.equal((await addPlugin('env')).status, 200);
      await items.insert('env', { _id: 'e1', t: 'live' });
      assert.equal((await api('POST', '/cairn/v1/collections/env/sandbox', { enabled: true })).status, 200);
      assert.equal((await api('GET', `${DATA}/collections/env__drafts`)).body.collection.sandboxEnabled, true);
      const draft = await api('POST', `${DATA}/items/create-draft`, { dataCollectionId: 'env', dataItemId: 'e1', environment: 'SANDBOX' });
      assert.equal(draft.status, 200, JSON.stringify(draft.body));
      const live = await api('POST', `${DATA}/items/query`, { dataCollectionId: 'env__drafts', query: {} });
      assert.deepEqual(live.body.dataItems, [], 'the draft is in the sandbox only');
      assert.equal((await api('DELETE', `${DATA}/collections/env`)).status, 200);
      assert.equal((await api('GET', `${DATA}/collections/env__drafts`)).status, 404);
    });
  });
}
