/**
 * Backups (src/backups/, docs/backups.md) on every store: through the published client's
 * `backups` module (both of the paths it sends) and raw HTTP. A backup copies every collection's
 * live items and references; a restoration (whole or partial, into the same or another
 * collection) makes the collections' live items the backup's again, with item events, in one
 * transaction. Also: the three on-demand backups kept, deleting, AUTO backups on a manual clock,
 * a failing restoration that changes nothing, access, and bad input.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { backups as backupsModule } from '@wix/data';
import { STORE_NAMES } from './helpers/stores.js';
import { call, recordingClientFor, httpOf, startServer, type TestServer } from './helpers/server.js';
import { allItemData, codeOf } from './helpers/calls.js';
import { ManualClock } from '../src/clock.js';
import { raw, sql } from '../src/store/sql.js';
import { EVENT_COLUMNS_SELECT, eventPayload, type EventRow } from '../src/events/payload.js';
import { SCOPES } from '../src/auth/scopes.js';
import { BackupService } from '../src/backups/service.js';

const DATA = '/wix-data/v2';
const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const HOUR = 3_600_000;

function assertError(r: { status: number; body: any }, status: number, code: string) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body?.details?.applicationError?.code, code, JSON.stringify(r.body));
}

const multiRef = (key: string, target: string) => ({ key, type: 'MULTI_REFERENCE', typeMetadata: { multiReference: { referencedCollectionId: target } } });

for (const storeName of STORE_NAMES) {
  describe(`backups (${storeName})`, () => {
    let s: TestServer;
    const clock = new ManualClock(T0);
    before(async () => {
      s = await startServer(storeName, { clock });
    });
    after(() => s.close());

    const { api, ok } = httpOf(() => s.url);
    const idle = () => s.cairn.runner!.whenIdle();
    const items = (collection: string) => allItemData(api, collection);
    const referenced = async (collection: string, item: string, field: string) =>
      (await ok('POST', `${DATA}/items/query-referenced`, { dataCollectionId: collection, referringItemIds: [item], referringItemFieldName: field, paging: { limit: 100 } })).results.map(
        (r: any) => r.dataItem?.id,
      );
    const backup = async () => {
      const { backup: b } = await ok('POST', `${DATA}/backups`, {});
      await idle();
      const listed = (await ok('GET', `${DATA}/backups?status=READY&status=FAILED&status=PENDING&paging.limit=100`)).backups.find((x: any) => x.id === b.id);
      assert.equal(listed?.status, 'READY', JSON.stringify(listed));
      return listed;
    };
    const finished = async (id: string) => {
      await idle();
      return (await ok('GET', `${DATA}/backups/restorations?paging.limit=100`)).restorations.find((r: any) => r.id === id);
    };
    /** Books referring (multi-reference) to authors, and two collections' worth of items. */
    async function world(suffix: string) {
      const authors = `Authors${suffix}`;
      const books = `Books${suffix}`;
      await ok('POST', `${DATA}/collections`, { collection: { id: authors, displayName: `Authors ${suffix}`, fields: [{ key: 'name', type: 'TEXT' }] } });
      await ok('POST', `${DATA}/collections`, { collection: { id: books, fields: [{ key: 'title', type: 'TEXT' }, { key: 'n', type: 'NUMBER' }, multiRef('authors', authors)] } });
      await ok('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: authors, dataItems: [1, 2, 3].map((n) => ({ id: `a${n}`, data: { name: `Author ${n}` } })) });
      await ok('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: books, dataItems: [1, 2, 3].map((n) => ({ id: `b${n}`, data: { title: `Book ${n}`, n } })) });
      for (const a of ['a3', 'a1']) await ok('POST', `${DATA}/items/insert-reference`, { dataCollectionId: books, dataItemReference: { referringItemFieldName: 'authors', referringItemId: 'b1', referencedItemId: a } });
      return { authors, books };
    }

    test('the published client: create, list, restore and list restorations, on both of its paths', async () => {
      const { authors, books } = await world('Client');
      for (const apiBaseUrl of [undefined, 'cairn.test']) {
        const seen: string[] = [];
        const client = recordingClientFor(s.url, { backups: backupsModule }, { seen, ...(apiBaseUrl ? { apiBaseUrl } : {}) });
        const before = { authors: await items(authors), books: await items(books) };
        const created = await client.backups.createBackup();
        assert.equal(created.backup.status, 'PENDING');
        assert.equal(created.backup.type, 'ON_DEMAND');
        assert.ok(created.backup.requestedDate instanceof Date, 'the client reads requestedDate as a Date');
        await idle();
        const { backups: listed } = await client.backups.listBackups({ status: ['READY'] });
        const b = listed.find((x: any) => x._id === created.backup._id);
        assert.ok(b, 'the new backup is listed READY');
        assert.equal(b.status, 'READY');
        assert.ok(b.finishedDate instanceof Date && b.startedDate instanceof Date);
        assert.ok(Number(b.sizeInBytes) > 0, `sizeInBytes ${b.sizeInBytes}`);
        const names = new Map(b.collections.map((c: any) => [c._id, c.displayName]));
        assert.equal(names.get(authors), `Authors Client`);
        assert.equal(names.get(books), books);

        // Change things: update, remove, insert, drop a reference.
        await ok('PATCH', `${DATA}/items/b2`, { dataCollectionId: books, patch: { dataItemId: 'b2', fieldModifications: [{ fieldPath: 'n', action: 'INCREMENT_FIELD', incrementFieldOptions: { value: 10 } }] } });
        await ok('DELETE', `${DATA}/items/b3?dataCollectionId=${books}`);
        await ok('POST', `${DATA}/items`, { dataCollectionId: books, dataItem: { id: 'b9', data: { title: 'New' } } });
        await ok('DELETE', `${DATA}/items/a2?dataCollectionId=${authors}`);
        await ok('POST', `${DATA}/items/remove-reference`, { dataCollectionId: books, dataItemReference: { referringItemFieldName: 'authors', referringItemId: 'b1', referencedItemId: 'a3' } });
        assert.notDeepEqual(await items(books), before.books);

        const { restoration } = await client.backups.restoreBackup(b._id);
        assert.equal(restoration.status, 'PENDING');
        assert.equal(restoration.backup._id, b._id);
        await idle();
        const { restorations } = await client.backups.listRestorations({ status: ['COMPLETED'] });
        const done = restorations.find((r: any) => r._id === restoration._id);
        assert.ok(done, 'the restoration completed');
        assert.ok(done.finishedDate instanceof Date);
        assert.deepEqual(
          done.restorationCollections.find((c: any) => c.dataCollectionId === books),
          { dataCollectionId: books, restoreDestination: { dataCollectionId: books } },
        );
        // Exactly as backed up, system fields and all; references in their order.
        assert.deepEqual(await items(books), before.books);
        assert.deepEqual(await items(authors), before.authors);
        assert.deepEqual(await referenced(books, 'b1', 'authors'), ['a3', 'a1']);
        await client.backups.deleteBackup(b._id);
        const prefix = apiBaseUrl ? '/data/v2/backups' : '/wix-data/v2/backups';
        assert.ok(seen.length >= 5 && seen.every((p) => p.startsWith(prefix)), seen.join(' '));
      }
    });

    test('raw HTTP: the reply shapes, field by field', async () => {
      await world('Shapes');
      const { backup: created } = await ok('POST', `${DATA}/backups`, {});
      assert.deepEqual(Object.keys(created).sort(), ['collections', 'id', 'requestedDate', 'status', 'type']);
      assert.deepEqual(created.collections, []);
      assert.equal(created.requestedDate, new Date(T0).toISOString());
      await idle();
      const { backups, pagingMetadata } = await ok('GET', `${DATA}/backups?paging.limit=1`);
      assert.equal(backups.length, 1);
      assert.equal(pagingMetadata.count, 1);
      assert.equal(pagingMetadata.offset, 0);
      assert.ok(pagingMetadata.total >= 1);
      const b = backups[0];
      assert.equal(b.id, created.id, 'newest first');
      assert.deepEqual(Object.keys(b).sort(), ['collections', 'finishedDate', 'id', 'requestedDate', 'sizeInBytes', 'startedDate', 'status', 'type']);
      assert.match(b.sizeInBytes, /^\d+$/);
      assert.ok(b.collections.some((c: any) => c.id === 'AuthorsShapes' && c.displayName === 'Authors Shapes'));
      const { restoration } = await ok('POST', `${DATA}/backups/${b.id}/partial-restore`, { restorationCollections: [{ dataCollectionId: 'BooksShapes' }] });
      assert.deepEqual(Object.keys(restoration).sort(), ['backup', 'id', 'requestedDate', 'restorationCollections', 'status']);
      assert.deepEqual(restoration.backup, b);
      assert.deepEqual(restoration.restorationCollections, [{ dataCollectionId: 'BooksShapes', restoreDestination: { dataCollectionId: 'BooksShapes' } }]);
      const done = await finished(restoration.id);
      assert.equal(done.status, 'COMPLETED');
      assert.ok(done.startedDate && done.finishedDate);
      assert.deepEqual(await ok('DELETE', `${DATA}/backups/${b.id}`), {});
    });

    test('a partial restore into another collection creates it from the backup, and leaves the source alone', async () => {
      const { authors, books } = await world('Copy');
      const b = await backup();
      await ok('POST', `${DATA}/items`, { dataCollectionId: books, dataItem: { id: 'b7', data: { title: 'After the backup' } } });
      const { restoration } = await ok('POST', `${DATA}/backups/${b.id}/partial-restore`, {
        restorationCollections: [{ dataCollectionId: books, restoreDestination: { dataCollectionId: 'BooksCopyRestored', displayName: 'Restored books' } }],
      });
      assert.equal((await finished(restoration.id)).status, 'COMPLETED');
      const copy = (await ok('GET', `${DATA}/collections/BooksCopyRestored`)).collection;
      assert.equal(copy.displayName, 'Restored books');
      assert.ok(copy.fields.some((f: any) => f.key === 'authors' && f.type === 'MULTI_REFERENCE'), 'the fields come from the backup');
      const restored = await items('BooksCopyRestored');
      assert.deepEqual(restored.map((d) => d._id), ['b1', 'b2', 'b3']);
      assert.deepEqual(await referenced('BooksCopyRestored', 'b1', 'authors'), ['a3', 'a1']);
      assert.ok((await items(books)).some((d) => d._id === 'b7'), 'the source keeps what it has');
      assert.equal((await items(authors)).length, 3);
    });

    test('a backup of some collections (backup.collections) holds those only', async () => {
      const { authors, books } = await world('Some');
      const before = await items(books);
      const { backup: created } = await ok('POST', `${DATA}/backups`, { backup: { collections: [{ id: books }, { id: books }] } });
      await idle();
      const b = (await ok('GET', `${DATA}/backups?status=READY&paging.limit=100`)).backups.find((x: any) => x.id === created.id);
      assert.deepEqual(b.collections, [{ id: books, displayName: books }]);
      assertError(await api('POST', `${DATA}/backups/${b.id}/partial-restore`, { restorationCollections: [{ dataCollectionId: authors }] }), 404, 'WDE0025');
      await ok('POST', `${DATA}/items/truncate`, { dataCollectionId: books });
      await ok('DELETE', `${DATA}/items/a1?dataCollectionId=${authors}`);
      const { restoration } = await ok('POST', `${DATA}/backups/${b.id}/restore`, {});
      assert.equal((await finished(restoration.id)).status, 'COMPLETED');
      assert.deepEqual(await items(books), before);
      assert.deepEqual((await items(authors)).map((d) => d._id), ['a2', 'a3'], 'authors were not in the backup: left as they are');
      assert.deepEqual(await referenced(books, 'b1', 'authors'), ['a3'], 'a reference to an item gone since is not made again');
      const count = async () => Number((await s.store.db.get<{ n: number | string }>(sql`SELECT count(*) AS n FROM backups`))?.n);
      const n = await count();
      assertError(await api('POST', `${DATA}/backups`, { backup: { collections: [{ id: 'Nowhere' }] } }), 404, 'WDE0025');
      assertError(await api('POST', `${DATA}/backups`, { backup: { collections: [] } }), 400, 'WDE0080');
      assertError(await api('POST', `${DATA}/backups`, { backup: { collections: books } }), 400, 'WDE0080');
      assertError(await api('POST', `${DATA}/backups`, { backup: { collections: [{ id: 'bad id!' }] } }), 400, 'WDE0001');
      assertError(await api('POST', `${DATA}/backups`, { backup: 'all' }), 400, 'WDE0080');
      assert.equal(await count(), n, 'nothing created');
    });

    test('restoring one collection brings back the references other collections made to it', async () => {
      const { authors, books } = await world('Incoming');
      const b = await backup();
      // Removing authors removes the references to them.
      await ok('POST', `${DATA}/bulk/items/remove`, { dataCollectionId: authors, dataItemIds: ['a1', 'a3'] });
      assert.deepEqual(await referenced(books, 'b1', 'authors'), []);
      const { restoration } = await ok('POST', `${DATA}/backups/${b.id}/partial-restore`, { restorationCollections: [{ dataCollectionId: authors }] });
      assert.equal((await finished(restoration.id)).status, 'COMPLETED');
      assert.deepEqual((await items(authors)).map((d) => d._id), ['a1', 'a2', 'a3']);
      assert.deepEqual(await referenced(books, 'b1', 'authors'), ['a3', 'a1']);
    });

    test('a restoration records item events, leaves the sandbox alone, and recreates a collection deleted since', async () => {
      const { authors, books } = await world('Events');
      await ok('POST', `/cairn/v1/collections/${authors}/sandbox`, { enabled: true });
      await ok('POST', `${DATA}/items`, { dataCollectionId: authors, dataItem: { id: 's1', data: { name: 'Sandboxed' } }, environment: 'SANDBOX' });
      const b = await backup();
      await ok('PATCH', `${DATA}/items/a1`, { dataCollectionId: authors, patch: { dataItemId: 'a1', fieldModifications: [{ fieldPath: 'name', action: 'SET_FIELD', setFieldOptions: { value: 'Changed' } }] } });
      await ok('POST', `${DATA}/items`, { dataCollectionId: authors, dataItem: { id: 'a8', data: { name: 'New' } } });
      await ok('DELETE', `${DATA}/items/a2?dataCollectionId=${authors}`);
      await ok('DELETE', `${DATA}/collections/${books}`);
      const seqBefore = Number((await s.store.db.get<{ n: number | string | null }>(sql`SELECT max(seq) AS n FROM events`))?.n ?? 0);
      const { restoration } = await ok('POST', `${DATA}/backups/${b.id}/partial-restore`, { restorationCollections: [{ dataCollectionId: authors }, { dataCollectionId: books }] });
      assert.equal((await finished(restoration.id)).status, 'COMPLETED');
      const events = await s.store.db.all<{ type: string; collection_id: string; entity_id: string; env: string | null }>(
        sql`SELECT type, collection_id, entity_id, env FROM events WHERE seq > ${seqBefore} ORDER BY seq`,
      );
      const of = (collection: string) => events.filter((e) => e.collection_id === collection).map((e) => `${e.type.replace(/^wix\.data\.v2\./, '')}:${e.entity_id}`).sort();
      assert.deepEqual(of(authors), ['data_item_created:a2', 'data_item_deleted:a8', 'data_item_updated:a1']);
      assert.deepEqual(of(books), ['data_collection_created:' + books, 'data_item_created:b1', 'data_item_created:b2', 'data_item_created:b3'].sort());
      assert.ok(events.every((e) => e.env === 'LIVE' || e.env === null));
      assert.deepEqual((await allItemData(api, authors, 'SANDBOX')).map((d) => d._id), ['a1', 'a2', 'a3', 's1'], 'the sandbox is as it was');
      assert.deepEqual(await referenced(books, 'b1', 'authors'), ['a3', 'a1']);
    });

    test('three on-demand backups are kept; deleting; listing by status and type', async () => {
      await world('Keep');
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        clock.advance(1000);
        ids.push((await ok('POST', `${DATA}/backups`, {})).backup.id);
      }
      await idle();
      const all = async (q: string) => (await ok('GET', `${DATA}/backups?paging.limit=100${q}`)).backups.map((b: any) => b.id);
      const ready = await all('&status=READY&type=ON_DEMAND');
      assert.equal(ready.length, 3);
      assert.deepEqual(ready, [...ids].slice(1).reverse(), 'the three newest, newest first');
      const deleted = (await ok('GET', `${DATA}/backups?status=DELETED&paging.limit=100`)).backups;
      const oldest = deleted.find((b: any) => b.id === ids[0]);
      assert.ok(oldest?.deletedDate, 'the oldest was replaced');
      assert.ok(!(await all('')).includes(ids[0]), 'no status filter: deleted ones are left out');
      assert.deepEqual(await all('&type=AUTO'), []);
      // Several values, the SDK's repeated form.
      assert.ok((await all('&status=READY&status=DELETED')).includes(ids[0]));
      assert.equal((await ok('GET', `${DATA}/backups?status=READY&paging.limit=2&paging.offset=1`)).backups.length, 2);

      await ok('DELETE', `${DATA}/backups/${ids[3]}`);
      const rows = async (table: string) => Number((await s.store.db.get<{ n: number | string }>(sql`SELECT count(*) AS n FROM ${raw(table)} WHERE backup_id = ${ids[3]}`))?.n);
      assert.equal(await rows('backup_items'), 0);
      assert.equal(await rows('backup_collections'), 0);
      assertError(await api('DELETE', `${DATA}/backups/${ids[3]}`), 404, 'WDE0073');
      assertError(await api('POST', `${DATA}/backups/${ids[3]}/restore`, {}), 400, 'WDE0080');
      for (const id of ids.slice(1, 3)) await ok('DELETE', `${DATA}/backups/${id}`);

      // Under a clock standing still (or within one millisecond), creation order still decides.
      const same: string[] = [];
      for (let i = 0; i < 5; i++) same.push((await ok('POST', `${DATA}/backups`, {})).backup.id);
      await idle();
      assert.deepEqual(await all('&status=READY&status=PENDING&type=ON_DEMAND'), same.slice(2).reverse());
      for (const id of same.slice(2)) await ok('DELETE', `${DATA}/backups/${id}`);
    });

    test('a restoration the data cannot take fails whole: nothing changes', async () => {
      const { authors, books } = await world('Fail');
      await ok('POST', `${DATA}/items`, { dataCollectionId: authors, dataItem: { id: 'a4', data: { name: 'Author 1' } } });
      const b = await backup();
      await ok('DELETE', `${DATA}/items/a4?dataCollectionId=${authors}`);
      await ok('POST', `${DATA}/items`, { dataCollectionId: books, dataItem: { id: 'b8', data: { title: 'Kept' } } });
      await ok('POST', `${DATA}/indexes`, { dataCollectionId: authors, index: { name: 'unique_name', fields: [{ path: 'name' }], unique: true } });
      const before = { authors: await items(authors), books: await items(books) };
      // Books first, then authors, whose backed-up names now break the unique index.
      const { restoration } = await ok('POST', `${DATA}/backups/${b.id}/partial-restore`, { restorationCollections: [{ dataCollectionId: books }, { dataCollectionId: authors }] });
      const failed = await finished(restoration.id);
      assert.equal(failed.status, 'FAILED');
      assert.ok(failed.finishedDate);
      assert.deepEqual(await items(books), before.books, 'the first collection was not restored either');
      assert.deepEqual(await items(authors), before.authors);
      assert.ok((await ok('GET', `${DATA}/backups/restorations?status=FAILED`)).restorations.some((r: any) => r.id === restoration.id));
    });

    test('bad input answers 4xx and queues nothing', async () => {
      await world('Bad');
      const b = await backup();
      const count = async () => Number((await s.store.db.get<{ n: number | string }>(sql`SELECT count(*) AS n FROM restorations`))?.n);
      const n = await count();
      const partial = (body: unknown) => api('POST', `${DATA}/backups/${b.id}/partial-restore`, body);
      assertError(await partial({}), 400, 'WDE0080');
      assertError(await partial({ restorationCollections: [] }), 400, 'WDE0080');
      assertError(await partial({ restorationCollections: 'AuthorsBad' }), 400, 'WDE0080');
      assertError(await partial({ restorationCollections: [{ dataCollectionId: 'Nowhere' }] }), 404, 'WDE0025');
      assertError(await partial({ restorationCollections: [{ dataCollectionId: 'bad id!' }] }), 400, 'WDE0001');
      assertError(await partial({ restorationCollections: [{ dataCollectionId: 'AuthorsBad' }, { dataCollectionId: 'AuthorsBad' }] }), 400, 'WDE0080');
      assertError(
        await partial({ restorationCollections: [{ dataCollectionId: 'AuthorsBad' }, { dataCollectionId: 'BooksBad', restoreDestination: { dataCollectionId: 'AuthorsBad' } }] }),
        400,
        'WDE0080',
      );
      assertError(await partial({ restorationCollections: [{ dataCollectionId: 'AuthorsBad', restoreDestination: 'x' }] }), 400, 'WDE0080');
      assertError(await partial({ restorationCollections: [{ dataCollectionId: 'AuthorsBad', restoreDestination: { dataCollectionId: 'no way' } }] }), 400, 'WDE0001');
      assertError(await partial('[1]'), 400, 'WDE0080');
      assertError(await api('POST', `${DATA}/backups/nope/restore`, {}), 404, 'WDE0073');
      assertError(await api('DELETE', `${DATA}/backups/nope`), 404, 'WDE0073');
      assertError(await api('GET', `${DATA}/backups?status=SOON`), 400, 'WDE0075');
      assertError(await api('GET', `${DATA}/backups?type=WEEKLY`), 400, 'WDE0075');
      assertError(await api('GET', `${DATA}/backups?paging.limit=0`), 400, 'WDE0034');
      assertError(await api('GET', `${DATA}/backups?paging.limit=101`), 400, 'WDE0036');
      assertError(await api('GET', `${DATA}/backups/restorations?status=DONE`), 400, 'WDE0075');
      assert.equal(await count(), n);
    });

    test('a backup is restorable once READY, and deletable once no restoration of it is pending', async () => {
      // A server without a runner: the rows stay PENDING until runPending() takes them.
      const quiet = await startServer(storeName, { runner: false });
      try {
        const q = (method: string, path: string, body?: unknown) => call(quiet.url, method, path, body);
        await q('POST', `${DATA}/collections`, { collection: { id: 'Quiet' } });
        await q('POST', `${DATA}/items`, { dataCollectionId: 'Quiet', dataItem: { id: 'q1', data: { v: 1 } } });
        const { backup: pending } = (await q('POST', `${DATA}/backups`, {})).body;
        assertError(await q('POST', `${DATA}/backups/${pending.id}/restore`, {}), 400, 'WDE0080');
        assert.equal(await quiet.cairn.backups.runPending(), true);
        assert.equal(await quiet.cairn.backups.runPending(), false, 'nothing left');
        const { restoration } = (await q('POST', `${DATA}/backups/${pending.id}/restore`, {})).body;
        assert.equal(restoration.status, 'PENDING');
        assert.equal(restoration.backup.status, 'READY');
        assertError(await q('DELETE', `${DATA}/backups/${pending.id}`), 400, 'WDE0080');
        assert.equal(await quiet.cairn.backups.runPending(), true);
        assert.equal((await q('GET', `${DATA}/backups/restorations`)).body.restorations[0].status, 'COMPLETED');
        assert.equal((await q('DELETE', `${DATA}/backups/${pending.id}`)).status, 200);
      } finally {
        await quiet.close();
      }
    });

    test('state changed events: a backup PENDING, READY, DELETED; a restoration PENDING, COMPLETED', async () => {
      const quiet = await startServer(storeName, { runner: false });
      try {
        const q = (method: string, path: string, body?: unknown) => call(quiet.url, method, path, body);
        // A webhook may subscribe to them (the type names are known ones).
        assert.equal((await q('POST', '/cairn/v1/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['wix.data.v2.backup_backup_state_changed', 'wix.data.v2.backup_restoration_state_changed'] })).status, 200);
        await q('POST', `${DATA}/collections`, { collection: { id: 'Evented', displayName: 'Evented things' } });
        const { backup } = (await q('POST', `${DATA}/backups`, {})).body;
        await quiet.cairn.backups.runPending();
        const [listed] = (await q('GET', `${DATA}/backups`)).body.backups;
        const { restoration } = (await q('POST', `${DATA}/backups/${backup.id}/restore`, {})).body;
        await quiet.cairn.backups.runPending();
        assert.equal((await q('DELETE', `${DATA}/backups/${backup.id}`)).status, 200);
        const rows = await quiet.store.db.all<EventRow>(sql`SELECT ${raw(EVENT_COLUMNS_SELECT)} FROM events WHERE type LIKE 'wix.data.v2.backup_%' ORDER BY seq`);
        const payloads = rows.map(eventPayload) as any[];
        assert.deepEqual(
          payloads.map((p) => [p.entityFqdn, p.slug, p.entityId, p.actionEvent.body.backup?.status ?? p.actionEvent.body.restoration.status]),
          [
            ['wix.data.v2.backup', 'backup_state_changed', backup.id, 'PENDING'],
            ['wix.data.v2.backup', 'backup_state_changed', backup.id, 'READY'],
            ['wix.data.v2.backup', 'restoration_state_changed', restoration.id, 'PENDING'],
            ['wix.data.v2.backup', 'restoration_state_changed', restoration.id, 'COMPLETED'],
            ['wix.data.v2.backup', 'backup_state_changed', backup.id, 'DELETED'],
          ],
        );
        // The body is the backup as List Backups shows it then.
        assert.deepEqual(payloads[1].actionEvent.body.backup, listed);
        assert.deepEqual(listed.collections, [{ id: 'Evented', displayName: 'Evented things' }]);
        assert.ok(payloads[4].actionEvent.body.backup.deletedDate);
        assert.equal(payloads[3].actionEvent.body.restoration.backup.id, backup.id);
      } finally {
        await quiet.close();
      }
    });

    test('two runners racing take each backup and restoration once', async () => {
      const quiet = await startServer(storeName, { runner: false });
      try {
        const q = (method: string, path: string, body?: unknown) => call(quiet.url, method, path, body);
        await q('POST', `${DATA}/collections`, { collection: { id: 'Raced' } });
        await q('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'Raced', dataItems: Array.from({ length: 300 }, (_, i) => ({ id: `r${i}`, data: { i } })) });
        for (let i = 0; i < 3; i++) await q('POST', `${DATA}/backups`, {});
        const other = new BackupService(quiet.store.db, quiet.lib.clock, quiet.cairn.collections, quiet.cairn.events);
        const drain = async (b: BackupService) => {
          let runs = 0;
          while (await b.runPending()) runs++;
          return runs;
        };
        const runs = await Promise.all([drain(quiet.cairn.backups), drain(other)]);
        assert.equal(runs[0] + runs[1], 3, `runs ${runs}`);
        const listed = (await q('GET', `${DATA}/backups`)).body.backups;
        assert.deepEqual(listed.map((b: any) => b.status), ['READY', 'READY', 'READY']);
        const copies = await quiet.store.db.all<{ backup_id: string; n: number | string }>(sql`SELECT backup_id, count(*) AS n FROM backup_items GROUP BY backup_id`);
        assert.deepEqual(copies.map((c) => Number(c.n)), [300, 300, 300]);
        await q('DELETE', `${DATA}/items/r0?dataCollectionId=Raced`);
        for (const b of listed.slice(0, 2)) await q('POST', `${DATA}/backups/${b.id}/restore`, {});
        const restorations = await Promise.all([drain(quiet.cairn.backups), drain(other)]);
        assert.equal(restorations[0] + restorations[1], 2);
        assert.deepEqual((await q('GET', `${DATA}/backups/restorations`)).body.restorations.map((r: any) => r.status), ['COMPLETED', 'COMPLETED']);
        assert.equal((await q('POST', `${DATA}/items/count`, { dataCollectionId: 'Raced' })).body.totalCount, 300);
      } finally {
        await quiet.close();
      }
    });

    test('requests are answered while a large backup is taken, and while it is restored', async () => {
      // On disk: an in-memory SQLite database has one connection, which reads share with the writer.
      const quiet = await startServer(storeName, { runner: false, onDisk: true });
      try {
        const q = (method: string, path: string, body?: unknown) => call(quiet.url, method, path, body);
        await q('POST', `${DATA}/collections`, { collection: { id: 'Large' } });
        for (let start = 0; start < 40_000; start += 1000) {
          await q('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'Large', dataItems: Array.from({ length: 1000 }, (_, i) => ({ id: `l${start + i}`, data: { i: start + i } })) });
        }
        await q('POST', `${DATA}/backups`, {});
        let taken = false;
        const running = quiet.cairn.backups.runPending().then(() => (taken = true));
        const r = await q('GET', `${DATA}/items/l123?dataCollectionId=Large`);
        assert.equal(r.status, 200);
        assert.equal(taken, false, 'the read was answered before the backup ended');
        await running;
        assert.equal((await q('GET', `${DATA}/backups`)).body.backups[0].status, 'READY');
        const copied = await quiet.store.db.get<{ n: number | string }>(sql`SELECT count(*) AS n FROM backup_items`);
        assert.equal(Number(copied?.n), 40_000);

        // And while it is restored into the emptied collection.
        await q('POST', `${DATA}/collections`, { collection: { id: 'Other' } });
        await q('POST', `${DATA}/items`, { dataCollectionId: 'Other', dataItem: { id: 'o1', data: {} } });
        await q('POST', `${DATA}/items/truncate`, { dataCollectionId: 'Large' });
        const backupId = (await q('GET', `${DATA}/backups`)).body.backups[0].id;
        await q('POST', `${DATA}/backups/${backupId}/partial-restore`, { restorationCollections: [{ dataCollectionId: 'Large' }] });
        let restored = false;
        const restoring = quiet.cairn.backups.runPending().then(() => (restored = true));
        assert.equal((await q('GET', `${DATA}/items/o1?dataCollectionId=Other`)).status, 200);
        assert.equal(restored, false, 'the read was answered before the restoration ended');
        await restoring;
        assert.equal((await q('GET', `${DATA}/backups/restorations`)).body.restorations[0].status, 'COMPLETED');
        assert.equal((await q('POST', `${DATA}/items/count`, { dataCollectionId: 'Large' })).body.totalCount, 40_000);
      } finally {
        await quiet.close();
      }
    });

    test('access: backups need SCOPE.DC-DATA.MANAGE-BACKUPS', async () => {
      const collections = (await ok('POST', '/cairn/v1/keys', { name: 'collections', scopes: [SCOPES.collections, SCOPES.dataRead, SCOPES.dataWrite] })).apiKey as string;
      const backups = (await ok('POST', '/cairn/v1/keys', { name: 'backups', scopes: [SCOPES.backups] })).apiKey as string;
      assert.equal((await api('GET', `${DATA}/backups`, undefined, { authorization: '' })).status, 401);
      assertError(await api('GET', `${DATA}/backups`, undefined, { authorization: collections }), 403, 'WDE0027');
      assertError(await api('POST', `${DATA}/backups`, {}, { authorization: collections }), 403, 'WDE0027');
      assertError(await api('GET', `${DATA}/backups/restorations`, undefined, { authorization: collections }), 403, 'WDE0027');
      assert.equal((await api('GET', `${DATA}/backups`, undefined, { authorization: backups })).status, 200);
      const client = recordingClientFor(s.url, { backups: backupsModule }, { seen: [], apiKey: collections });
      assert.equal(await codeOf(client.backups.listBackups()), 'WDE0027');
    });
  });

  describe(`automatic backups (${storeName})`, () => {
    let s: TestServer;
    const clock = new ManualClock(T0);
    before(async () => {
      s = await startServer(storeName, { clock, backupAutoHours: 24 });
    });
    after(() => s.close());

    test('an AUTO backup is taken when the newest is older than CAIRN_BACKUP_AUTO_HOURS (once there is a collection); three are kept', async () => {
      const list = async () => (await call(s.url, 'GET', `${DATA}/backups?type=AUTO&paging.limit=100`)).body.backups;
      await s.cairn.runner!.whenIdle();
      assert.deepEqual(await list(), [], 'a store without collections has nothing to back up yet');
      assert.equal((await call(s.url, 'POST', `${DATA}/collections`, { collection: { id: 'Auto' } })).status, 200);
      await s.cairn.runner!.whenIdle();
      assert.deepEqual((await list()).map((b: any) => [b.type, b.status, b.requestedDate, b.collections]), [['AUTO', 'READY', new Date(T0).toISOString(), [{ id: 'Auto', displayName: 'Auto' }]]]);
      clock.advance(23 * HOUR);
      await s.cairn.runner!.whenIdle();
      assert.equal((await list()).length, 1, 'not yet due');
      for (let day = 1; day <= 4; day++) {
        clock.set(T0 + day * 24 * HOUR);
        await s.cairn.runner!.whenIdle();
      }
      const kept = await list();
      assert.equal(kept.length, 3);
      assert.deepEqual(kept.map((b: any) => b.requestedDate), [4, 3, 2].map((d) => new Date(T0 + d * 24 * HOUR).toISOString()));
    });
  });
}
