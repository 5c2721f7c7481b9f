/**
 * The outbox: every change made through the API (item writes of every kind, background tasks,
 * collection changes) records its events in the same transaction, one per item; a write that
 * fails records nothing. Read straight from the `events` table, where delivery and the stream
 * read them from.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_NAMES } from './helpers/stores.js';
import { httpOf, startServer, call, type TestServer } from './helpers/server.js';
import { sql } from '../src/store/sql.js';
import { eventPayload, type EventRow } from '../src/events/payload.js';

const DATA = '/wix-data/v2';
const CREATED = 'wix.data.v2.data_item_created';
const UPDATED = 'wix.data.v2.data_item_updated';
const DELETED = 'wix.data.v2.data_item_deleted';

for (const storeName of STORE_NAMES) {
  describe(`events outbox (${storeName})`, () => {
    let s: TestServer;
    const { api, ok } = httpOf(() => s.url);
    /** Every event after `since`, in seq order. */
    let since = 0;
    async function newEvents(): Promise<EventRow[]> {
      const rows = await s.store.db.all<EventRow>(sql`SELECT seq, id, type, collection_id, env, entity_id, event_time, data FROM events WHERE seq > ${since} ORDER BY seq`);
      if (rows.length) since = Number(rows[rows.length - 1]?.seq);
      return rows;
    }
    const summary = (rows: EventRow[]) => rows.map((r) => `${r.type.replace('wix.data.v2.data_', '')} ${r.entity_id}`).sort();
    async function waitTask(id: string) {
      for (let i = 0; i < 400; i++) {
        const t = await ok('GET', `/cms/v1/tasks/${id}`);
        if (t.task.status === 'COMPLETED' || t.task.status === 'FAILED') return t.task;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error('task did not finish');
    }

    before(async () => {
      s = await startServer(storeName);
    });
    after(() => s.close());

    test('collection created, item writes of every kind, one event per item', async () => {
      await ok('POST', `${DATA}/collections`, { collection: { id: 'ev' } });
      const created = await newEvents();
      assert.deepEqual(created.map((r) => r.type), ['wix.data.v2.data_collection_created']);
      assert.equal(eventPayload(created[0] as EventRow).entityId, 'ev');

      await ok('POST', `${DATA}/items`, { dataCollectionId: 'ev', dataItem: { data: { _id: 'a', n: 1, when: { $date: '2024-01-01T00:00:00.000Z' } } } });
      const [ins] = await newEvents();
      assert.ok(ins);
      const payload = eventPayload(ins);
      assert.deepEqual(Object.keys(payload).sort(), ['createdEvent', 'entityEventSequence', 'entityFqdn', 'entityId', 'eventTime', 'id', 'slug', 'triggeredByAnonymizeRequest']);
      assert.equal(payload.entityFqdn, 'wix.data.v2.data_item');
      assert.equal(payload.slug, 'created');
      assert.equal(payload.entityId, 'a');
      assert.equal(payload.entityEventSequence, String(ins.seq));
      const entity = (payload.createdEvent as any).entity;
      assert.equal(entity.id, 'a');
      assert.equal(entity.dataCollectionId, 'ev');
      assert.equal(entity.data.n, 1);
      assert.deepEqual(entity.data.when, { $date: '2024-01-01T00:00:00.000Z' });
      assert.equal(entity.data._id, 'a');

      await ok('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'ev', dataItems: ['b', 'c', 'd'].map((id) => ({ data: { _id: id, n: 2, tags: [] } })) });
      assert.deepEqual(summary(await newEvents()), ['item_created b', 'item_created c', 'item_created d']);

      await ok('PUT', `${DATA}/items/a`, { dataCollectionId: 'ev', dataItem: { data: { _id: 'a', n: 5 } } });
      const [upd] = await newEvents();
      assert.equal(upd?.type, UPDATED);
      assert.equal((eventPayload(upd as EventRow).updatedEvent as any).currentEntity.data.n, 5);

      await ok('POST', `${DATA}/items/save`, { dataCollectionId: 'ev', dataItem: { data: { _id: 'e', n: 1 } } });
      await ok('POST', `${DATA}/items/save`, { dataCollectionId: 'ev', dataItem: { data: { _id: 'e', n: 2 } } });
      await ok('POST', `${DATA}/bulk/items/save`, { dataCollectionId: 'ev', dataItems: [{ data: { _id: 'e', n: 3 } }, { data: { _id: 'f', n: 3 } }] });
      await ok('POST', `${DATA}/bulk/items/update`, { dataCollectionId: 'ev', dataItems: [{ data: { _id: 'b', n: 7 } }, { data: { _id: 'c', n: 7 } }] });
      assert.deepEqual(summary(await newEvents()), ['item_created e', 'item_created f', 'item_updated b', 'item_updated c', 'item_updated e', 'item_updated e']);

      // Patch: the SQL fast path (uniform and per-item values) and the JS path (increment of a string fails, others pass).
      const patch = (ids: string[], mods: unknown[]) =>
        ok('POST', `${DATA}/bulk/items/patch`, { dataCollectionId: 'ev', patches: ids.map((dataItemId) => ({ dataItemId, fieldModifications: mods })) });
      await patch(['b', 'c', 'd'], [{ fieldPath: 'x', action: 'SET_FIELD', setFieldOptions: { value: 1 } }]);
      await ok('POST', `${DATA}/bulk/items/patch`, {
        dataCollectionId: 'ev',
        patches: [
          { dataItemId: 'b', fieldModifications: [{ fieldPath: 'x', action: 'SET_FIELD', setFieldOptions: { value: 2 } }] },
          { dataItemId: 'c', fieldModifications: [{ fieldPath: 'x', action: 'SET_FIELD', setFieldOptions: { value: 3 } }] },
          { dataItemId: 'missing', fieldModifications: [{ fieldPath: 'x', action: 'SET_FIELD', setFieldOptions: { value: 3 } }] },
        ],
      });
      await ok('PATCH', `${DATA}/items/d`, { dataCollectionId: 'ev', patch: { fieldModifications: [{ fieldPath: 'tags', action: 'APPEND_TO_ARRAY', appendToArrayOptions: { value: 't' } }] } });
      assert.deepEqual(summary(await newEvents()), ['item_updated b', 'item_updated b', 'item_updated c', 'item_updated c', 'item_updated d', 'item_updated d']);

      await ok('DELETE', `${DATA}/items/a?dataCollectionId=ev`);
      await ok('POST', `${DATA}/bulk/items/remove`, { dataCollectionId: 'ev', dataItemIds: ['b', 'nope'] });
      const removed = await newEvents();
      assert.deepEqual(summary(removed), ['item_deleted a', 'item_deleted b']);
      assert.deepEqual((eventPayload(removed[0] as EventRow).deletedEvent as any).deletedEntity, { id: 'a', dataCollectionId: 'ev' });

      await ok('POST', `${DATA}/items/truncate`, { dataCollectionId: 'ev' });
      assert.deepEqual(summary(await newEvents()), ['item_deleted c', 'item_deleted d', 'item_deleted e', 'item_deleted f']);
    });

    test('a write that fails records nothing; a bulk write records only what it wrote', async () => {
      await ok('POST', `${DATA}/collections`, { collection: { id: 'fails' } });
      await ok('POST', `${DATA}/items`, { dataCollectionId: 'fails', dataItem: { data: { _id: 'x' } } });
      await newEvents();
      assert.equal((await api('POST', `${DATA}/items`, { dataCollectionId: 'fails', dataItem: { data: { _id: 'x' } } })).status, 409);
      assert.equal((await api('POST', `${DATA}/items`, { dataCollectionId: 'fails', dataItem: { data: { $bad: 1 } } })).status, 400);
      assert.equal((await api('PUT', `${DATA}/items/zz`, { dataCollectionId: 'fails', dataItem: { data: { _id: 'zz' } } })).status, 404);
      assert.deepEqual(await newEvents(), []);
      await ok('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'fails', dataItems: [{ data: { _id: 'x' } }, { data: { _id: 'y' } }] });
      assert.deepEqual(summary(await newEvents()), ['item_created y']);
    });

    test('background tasks record item events per item and their own status and progress', async () => {
      await ok('POST', `${DATA}/collections`, { collection: { id: 'bulk' } });
      await ok('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'bulk', dataItems: Array.from({ length: 30 }, (_, i) => ({ data: { _id: `i${String(i).padStart(2, '0')}`, n: i } })) });
      await newEvents();
      const edit = await ok('POST', '/cms/v1/tasks', {
        task: { type: 'EDIT_FIELD_DATA', editFieldDataOptions: { dataCollectionId: 'bulk', fieldKey: 'tags', filter: { n: { $lt: 10 } }, operations: { addItems: ['t'] } } },
      });
      await waitTask(edit.task.id);
      const del = await ok('POST', '/cms/v1/tasks', { task: { type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'bulk', filter: { n: { $gte: 20 } } } } });
      await waitTask(del.task.id);
      const rows = await newEvents();
      const items = rows.filter((r) => r.type.startsWith('wix.data.v2.data_item'));
      assert.equal(items.filter((r) => r.type === UPDATED).length, 10);
      assert.equal(items.filter((r) => r.type === DELETED).length, 10);
      const edited = items.find((r) => r.type === UPDATED) as EventRow;
      assert.deepEqual((eventPayload(edited).updatedEvent as any).currentEntity.data.tags, ['t']);
      const taskEvents = rows.filter((r) => r.type.startsWith('cairn.tasks.v1.'));
      for (const id of [edit.task.id, del.task.id]) {
        const mine = taskEvents.filter((r) => r.entity_id === id).map((r) => eventPayload(r));
        const statuses = mine.filter((p) => p.slug === 'status_changed').map((p) => (p.actionEvent as any).body.status);
        assert.deepEqual(statuses, ['NEW', 'RUNNING', 'COMPLETED']);
      }
    });

    test('entityEventSequence grows with every event of an item', async () => {
      await ok('POST', `${DATA}/collections`, { collection: { id: 'seq' } });
      await ok('POST', `${DATA}/items`, { dataCollectionId: 'seq', dataItem: { data: { _id: 'one', n: 0 } } });
      for (let i = 1; i <= 5; i++) {
        await ok('POST', `${DATA}/bulk/items/patch`, { dataCollectionId: 'seq', patches: [{ dataItemId: 'one', fieldModifications: [{ fieldPath: 'n', action: 'INCREMENT_FIELD', incrementFieldOptions: { value: 1 } }] }] });
      }
      const rows = (await newEvents()).filter((r) => r.entity_id === 'one');
      const seqs = rows.map((r) => Number(eventPayload(r).entityEventSequence));
      assert.equal(seqs.length, 6);
      assert.deepEqual([...seqs].sort((a, b) => a - b), seqs);
      assert.equal(new Set(seqs).size, 6);
      assert.deepEqual(rows.map((r) => (eventPayload(r).updatedEvent as any)?.currentEntity.data.n ?? 0), [0, 1, 2, 3, 4, 5]);
    });

    test('with the Publish plugin an item event carries _publishStatus, as reads show it; without, it does not', async () => {
      await ok('POST', `${DATA}/collections`, { collection: { id: 'pub', plugins: [{ type: 'PUBLISH', publishOptions: { defaultStatus: 'DRAFT' } }] } });
      await ok('POST', `${DATA}/collections`, { collection: { id: 'nopub' } });
      await newEvents();
      const entityOf = (r: EventRow) => {
        const p = eventPayload(r) as any;
        return (p.createdEvent?.entity ?? p.updatedEvent?.currentEntity).data;
      };
      // Every write path: insert, bulk insert, update, save, patch (SQL and JS forms), a status task, the sandbox copy.
      await ok('POST', `${DATA}/items`, { dataCollectionId: 'pub', dataItem: { data: { _id: 'a', n: 1 } } });
      await ok('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'pub', dataItems: [{ data: { _id: 'b', n: 2 } }] });
      await ok('POST', `${DATA}/items/update`, { dataCollectionId: 'pub', publishPluginOptions: { includeDraftItems: true }, dataItem: { id: 'a', data: { _id: 'a', n: 3 } } });
      await ok('POST', `${DATA}/items/save`, { dataCollectionId: 'pub', dataItem: { id: 'b', data: { _id: 'b', n: 4 } } });
      await ok('POST', `${DATA}/bulk/items/patch`, {
        dataCollectionId: 'pub',
        publishPluginOptions: { includeDraftItems: true },
        patches: ['a', 'b'].map((dataItemId) => ({ dataItemId, fieldModifications: [{ fieldPath: 'n', action: 'INCREMENT_FIELD', incrementFieldOptions: { value: 1 } }] })),
      });
      await ok('POST', `${DATA}/items/patch`, { dataCollectionId: 'pub', publishPluginOptions: { includeDraftItems: true }, patch: { dataItemId: 'a', fieldModifications: [{ fieldPath: 'n', action: 'INCREMENT_FIELD', incrementFieldOptions: { value: 0.5 } }] } });
      const drafts = (await newEvents()).filter((r) => r.type.startsWith('wix.data.v2.data_item'));
      assert.equal(drafts.length, 7);
      for (const r of drafts) assert.equal(entityOf(r)._publishStatus, 'DRAFT', `${r.type} ${r.entity_id}`);

      const task = await ok('POST', '/cms/v1/tasks', { task: { type: 'UPDATE_PUBLISH_STATUS', updatePublishStatusOptions: { dataCollectionId: 'pub', filter: { _id: 'a' }, operation: 'SET_PUBLISHED_STATUS' } } });
      await waitTask(task.task.id);
      const [published] = (await newEvents()).filter((r) => r.type.startsWith('wix.data.v2.data_item'));
      assert.ok(published);
      assert.equal(published.type, UPDATED);
      assert.deepEqual({ ...entityOf(published), _createdDate: undefined, _updatedDate: undefined }, { ...(await ok('POST', `${DATA}/items/get`, { dataCollectionId: 'pub', dataItemId: 'a' })).dataItem.data, _createdDate: undefined, _updatedDate: undefined });
      assert.equal(entityOf(published)._publishStatus, 'PUBLISHED');

      await ok('POST', `/cairn/v1/collections/pub/sandbox`, { enabled: true });
      const copies = (await newEvents()).filter((r) => r.type === CREATED);
      assert.deepEqual(copies.map((r) => [r.entity_id, entityOf(r)._publishStatus]).sort(), [['a', 'PUBLISHED'], ['b', 'DRAFT']]);

      await ok('POST', `${DATA}/items`, { dataCollectionId: 'nopub', dataItem: { data: { _id: 'c' } } });
      const [plain] = await newEvents();
      assert.ok(plain);
      assert.equal('_publishStatus' in entityOf(plain), false);
    });

    test('collection updates and deletion, sandbox copies', async () => {
      await ok('POST', `${DATA}/collections`, { collection: { id: 'col' } });
      await ok('POST', `${DATA}/items`, { dataCollectionId: 'col', dataItem: { data: { _id: 'k' } } });
      await newEvents();
      await ok('POST', `${DATA}/collections/create-field`, { dataCollectionId: 'col', field: { key: 'title', type: 'TEXT' } });
      await ok('POST', `/cairn/v1/collections/col/sandbox`, { enabled: true });
      await ok('DELETE', `${DATA}/collections/col`);
      const rows = await newEvents();
      assert.deepEqual(
        rows.map((r) => `${r.type} ${r.env ?? ''} ${r.entity_id}`),
        [
          'wix.data.v2.data_collection_updated  col',
          'wix.data.v2.data_collection_data_collection_changed_event  col',
          `${CREATED} SANDBOX k`,
          'wix.data.v2.data_collection_updated  col',
          'wix.data.v2.data_collection_deleted  col',
        ],
      );
      assert.equal((eventPayload(rows[0] as EventRow).updatedEvent as any).currentEntity.fields.some((f: any) => f.key === 'title'), true);
      const changed = eventPayload(rows[1] as EventRow);
      assert.equal(changed.slug, 'data_collection_changed_event');
      assert.equal(changed.entityFqdn, 'wix.data.v2.data_collection');
      assert.deepEqual(changed.actionEvent, { body: { fieldsAdded: [{ key: 'title', type: 'TEXT' }] } });
      assert.equal(eventPayload(rows[2] as EventRow).environment, 'SANDBOX');
    });

    test('data_collection_changed_event: fields and plugins added, updated and removed, data permissions; none for a rename', async () => {
      await ok('POST', `${DATA}/collections`, { collection: { id: 'chg', fields: [{ key: 'a', type: 'TEXT' }] } });
      await newEvents();
      const changes = async (): Promise<unknown[]> =>
        (await newEvents()).filter((r) => r.type === 'wix.data.v2.data_collection_data_collection_changed_event').map((r) => (eventPayload(r).actionEvent as any).body);
      await ok('POST', `${DATA}/collections/update-field`, { dataCollectionId: 'chg', field: { key: 'a', type: 'NUMBER' } });
      assert.deepEqual(await changes(), [{ fieldsUpdated: [{ previous: { key: 'a', type: 'TEXT' }, current: { key: 'a', type: 'NUMBER' } }] }]);
      await ok('POST', `${DATA}/collections/delete-field`, { dataCollectionId: 'chg', fieldKey: 'a' });
      assert.deepEqual(await changes(), [{ fieldsRemoved: [{ key: 'a', type: 'NUMBER' }] }]);
      await ok('POST', `${DATA}/collections/add-plugin`, { dataCollectionId: 'chg', plugin: { type: 'PUBLISH', publishOptions: { defaultStatus: 'DRAFT' } } });
      assert.deepEqual(await changes(), [{ pluginsAdded: [{ type: 'PUBLISH', publishOptions: { defaultStatus: 'DRAFT' } }] }]);
      await ok('POST', `${DATA}/collections/delete-plugin`, { dataCollectionId: 'chg', pluginType: 'PUBLISH' });
      assert.deepEqual(await changes(), [{ pluginsRemoved: [{ type: 'PUBLISH', publishOptions: { defaultStatus: 'DRAFT' } }] }]);
      await ok('PATCH', `${DATA}/collections/chg`, { dataCollection: { dataPermissions: { itemRead: 'SITE_MEMBER', itemUpdate: 'PRIVILEGED' } } });
      assert.deepEqual(await changes(), [
        {
          permissionsUpdated: {
            previous: { itemRead: 'ANYONE', itemInsert: 'CMS_EDITOR', itemUpdate: 'CMS_EDITOR', itemRemove: 'CMS_EDITOR' },
            current: { itemRead: 'SITE_MEMBER', itemInsert: 'CMS_EDITOR', itemUpdate: 'PRIVILEGED', itemRemove: 'CMS_EDITOR' },
          },
        },
      ]);
      // Roles set the old way change the levels too.
      await ok('PATCH', `${DATA}/collections/chg`, { dataCollection: { permissions: { read: 'SITE_MEMBER', insert: 'SITE_MEMBER', update: 'ADMIN', remove: 'ADMIN' } } });
      assert.deepEqual(await changes(), [
        {
          permissionsUpdated: {
            previous: { itemRead: 'SITE_MEMBER', itemInsert: 'CMS_EDITOR', itemUpdate: 'PRIVILEGED', itemRemove: 'CMS_EDITOR' },
            current: { itemRead: 'SITE_MEMBER', itemInsert: 'SITE_MEMBER', itemUpdate: 'PRIVILEGED', itemRemove: 'CMS_EDITOR' },
          },
        },
      ]);
      await ok('PATCH', `${DATA}/collections/chg`, { dataCollection: { displayName: 'Changes' } });
      assert.deepEqual(await changes(), []);
    });
  });

  describe(`CAIRN_EVENTS=off records nothing (${storeName})`, () => {
    test('no events', async () => {
      const s = await startServer(storeName, { events: false });
      try {
        const api = (method: string, path: string, body?: unknown) => call(s.url, method, path, body);
        assert.equal((await api('POST', `${DATA}/collections`, { collection: { id: 'quiet' } })).status, 200);
        assert.equal((await api('POST', `${DATA}/items`, { dataCollectionId: 'quiet', dataItem: { data: { _id: 'q' } } })).status, 200);
        const n = await s.store.db.get<{ n: number | string }>(sql`SELECT count(*) AS n FROM events`);
        assert.equal(Number(n?.n), 0);
      } finally {
        await s.close();
      }
    });
  });
}
