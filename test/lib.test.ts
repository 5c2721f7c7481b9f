/**
 * The embedded library (src/lib): createCairn on SQLite in memory, an SQLite file and
 * PostgreSQL (a fresh schema), with collections and seed items up front, the published client,
 * waitForTask, the controllable clock driving scheduled publishing, reset in its three forms,
 * and close leaving nothing behind.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createCairn, wixClientFor, type EmbeddedCairn } from '../src/lib/index.js';
import { raw } from '../src/store/sql.js';
import { STORE_NAMES } from './helpers/stores.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2031-01-01T00:00:00.000Z');

const BOOKS = {
  id: 'books',
  fields: [
    { key: 'title', type: 'TEXT' },
    { key: 'year', type: 'NUMBER' },
  ],
};
const SEED = {
  books: [
    { _id: 'dune', title: 'Dune', year: 1965 },
    { _id: 'emma', title: 'Emma', year: 1815 },
    { _id: 'neuromancer', title: 'Neuromancer', year: 1984 },
  ],
};

type Variant = { name: string; store: () => { store: string; freshSchema?: boolean; cleanup?: () => void } };

const variants: Variant[] = [{ name: 'sqlite memory', store: () => ({ store: 'memory' }) }];
if (STORE_NAMES.includes('sqlite')) {
  variants.push({
    name: 'sqlite file',
    store: () => {
      const dir = mkdtempSync(join(tmpdir(), 'cairn-lib-'));
      return { store: join(dir, 'test.db'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
    },
  });
}
if (STORE_NAMES.includes('postgres')) {
  variants.push({ name: 'postgres', store: () => ({ store: process.env.DATABASE_URL as string, freshSchema: true }) });
}

async function titles(cairn: EmbeddedCairn, collection = 'books'): Promise<string[]> {
  const page = await cairn.client.items.query(collection).ascending('title').limit(1000).find();
  return page.items.map((i) => i.title as string);
}

for (const variant of variants) {
  describe(`createCairn (${variant.name})`, () => {
    let cairn: EmbeddedCairn;
    let cleanup: (() => void) | undefined;
    before(async () => {
      const { cleanup: c, ...store } = variant.store();
      cleanup = c;
      cairn = await createCairn({
        ...store,
        collections: [
          BOOKS,
          { id: 'drafts', plugins: [{ type: 'PUBLISH', publishOptions: { defaultStatus: 'DRAFT' } }] },
          { id: 'private', permissions: { read: 'ADMIN' } },
        ],
        seed: SEED,
        clock: T0,
      });
    });
    after(async () => {
      await cairn.close();
      cleanup?.();
    });

    test('serves the collections and seed items through the published client', async () => {
      assert.match(cairn.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.match(cairn.adminKey, /^cairn_[A-Za-z0-9_-]{43}$/);
      assert.deepEqual(await titles(cairn), ['Dune', 'Emma', 'Neuromancer']);
      const got = (await cairn.client.items.get('books', 'dune'))!;
      assert.equal(got.year, 1965);
      assert.equal(got._createdDate instanceof Date ? got._createdDate.getTime() : Date.parse(String(got._createdDate)), T0);
      const old = await cairn.client.items.query('books').lt('year', 1900).find();
      assert.deepEqual(old.items.map((i) => i._id), ['emma']);
      const collection = await cairn.client.collections.getDataCollection('private');
      assert.equal(collection.permissions?.read, 'ADMIN');
      // The healthz route, and access control as configured: an anonymous read of an admin-only collection is refused.
      assert.equal((await fetch(`${cairn.url}/healthz`)).status, 200);
      const anonymous = await fetch(`${cairn.url}/wix-data/v2/items/query`, { method: 'POST', body: JSON.stringify({ dataCollectionId: 'private' }) });
      assert.equal(anonymous.status, 403);
    });

    test('wixClientFor reaches the server from outside, with the admin key or another key', async () => {
      const outside = wixClientFor(cairn.url, { apiKey: cairn.adminKey });
      assert.equal((await outside.items.get('books', 'emma'))?.title, 'Emma');
      const created = await fetch(`${cairn.url}/cairn/v1/keys`, {
        method: 'POST',
        headers: { authorization: cairn.adminKey },
        body: JSON.stringify({ name: 'reader', scopes: ['SCOPE.DC-DATA.READ'] }),
      });
      const reader = cairn.clientFor(((await created.json()) as { apiKey: string }).apiKey);
      assert.equal((await reader.items.get('books', 'dune'))?.title, 'Dune');
      await assert.rejects(reader.items.insert('books', { title: 'Nope' }));
      await assert.rejects(wixClientFor(cairn.url, { apiKey: 'cairn_wrong' }).items.get('books', 'dune'));
    });

    test('waitForTask resolves with the finished task and the job status', async () => {
      const task = await cairn.client.tasks.createTask({
        type: 'COPY_FIELD_DATA',
        copyFieldDataOptions: { dataCollectionId: 'books', sourceFieldKey: 'year', targetFieldKey: 'published' },
      } as never);
      const done = await cairn.waitForTask(task._id as string);
      assert.equal(done.status, 'COMPLETED');
      assert.equal(done.itemsSucceeded, 3);
      const copied = (await cairn.client.items.query('books').ascending('title').find()).items.map((i) => i.published);
      assert.deepEqual(copied, [1965, 1815, 1984]);

      const r = await fetch(`${cairn.url}/wix-data/v2/bulk/items/async-remove-by-filter`, {
        method: 'POST',
        headers: { authorization: cairn.adminKey },
        body: JSON.stringify({ dataCollectionId: 'books', filter: { _id: 'emma' } }),
      });
      assert.equal(r.status, 200);
      const job = await cairn.waitForTask(((await r.json()) as { jobId: string }).jobId);
      assert.equal(job.status, 'SUCCEEDED');
      assert.equal(job.successCount, 1);
      await assert.rejects(cairn.waitForTask('no-such-task'), /no task or job/);
    });

    test('clock.advance fires scheduled publishing', async () => {
      await cairn.seed({ drafts: [{ _id: 'a', title: 'A' }, { _id: 'b', title: 'B' }] });
      assert.deepEqual(await titles(cairn, 'drafts'), []);
      const task = await cairn.client.tasks.createTask({
        type: 'UPDATE_PUBLISH_STATUS',
        updatePublishStatusOptions: {
          dataCollectionId: 'drafts',
          operation: 'SCHEDULE_PUBLISHED_STATUS',
          filter: { _id: 'a' },
          schedulePublishedStatusOptions: { date: new Date(cairn.clock.now().getTime() + HOUR) },
        },
      } as never);
      assert.equal((await cairn.waitForTask(task._id as string)).status, 'COMPLETED');
      await cairn.clock.advance(HOUR - 1);
      assert.deepEqual(await titles(cairn, 'drafts'), []);
      await cairn.clock.advance(1);
      assert.deepEqual(await titles(cairn, 'drafts'), ['A']);
      await cairn.clock.set(T0);
      assert.equal(cairn.clock.now().getTime(), T0);
    });

    test('reset empties the data and keeps, drops or recreates the collections', async () => {
      await cairn.seed({ books: Array.from({ length: 1000 }, (_, i) => ({ title: `t${i}` })) });
      await cairn.client.collections.createDataCollection({
        _id: 'extra',
        fields: [{ key: 'books', type: 'MULTI_REFERENCE', typeMetadata: { multiReference: { referencedCollectionId: 'books' } } }],
      } as never);
      const [book] = (await cairn.client.items.query('books').limit(1).find()).items;
      await cairn.client.items.insert('extra', { _id: 'e1' });
      await cairn.client.items.insertReference('extra', 'books', 'e1', book!._id);
      // A deleted collection, with its index: a reset leaves nothing of it to restore.
      await cairn.client.collections.createDataCollection({ _id: 'gone' } as never);
      await cairn.server.collections.remove('gone');
      // A backup (through the client's backups module) and a restoration of it.
      const { backup } = await cairn.client.backups.createBackup();
      await cairn.server.runner?.whenIdle();
      await cairn.client.backups.restoreBackup(backup!._id!);
      await cairn.server.runner?.whenIdle();
      assert.equal((await cairn.client.backups.listRestorations()).restorations?.[0]?.status, 'COMPLETED');
      await cairn.reset();
      assert.deepEqual(await titles(cairn), []);
      assert.equal((await cairn.client.tasks.listTasks()).tasks?.length ?? 0, 0);
      for (const table of ['items', 'item_references', 'deleted_collections', 'deleted_references', 'events', 'tasks', 'item_schedules', 'task_failures', 'webhook_deliveries', 'backups', 'backup_collections', 'backup_items', 'backup_references', 'restorations']) {
        const row = await cairn.db.get<{ n: number | string }>(raw(`SELECT count(*) AS n FROM ${table}`));
        assert.equal(Number(row?.n), 0, table);
      }
      const ids = (await cairn.client.collections.listDataCollections()).collections!.map((c) => c._id).sort();
      assert.deepEqual(ids, ['books', 'drafts', 'extra', 'private']);
      // An item made again under the same id has no references from before the reset.
      await cairn.client.items.insert('extra', { _id: 'e1' });
      assert.deepEqual((await cairn.client.items.queryReferenced('extra', 'e1', 'books')).items, []);
      await cairn.client.items.remove('extra', 'e1');
      // The admin key (and keys made before) still work; the seed comes back when asked for.
      await cairn.reset({ seed: true });
      assert.deepEqual(await titles(cairn), ['Dune', 'Emma', 'Neuromancer']);

      await cairn.reset({ collections: 'initial', seed: true });
      assert.deepEqual((await cairn.client.collections.listDataCollections()).collections!.map((c) => c._id).sort(), ['books', 'drafts', 'private']);
      assert.deepEqual(await titles(cairn), ['Dune', 'Emma', 'Neuromancer']);

      await cairn.reset({ collections: 'drop' });
      assert.deepEqual((await cairn.client.collections.listDataCollections()).collections ?? [], []);
      // A dropped collection is gone at once, not served from the collection cache.
      await assert.rejects(cairn.client.items.insert('books', { title: 'x' }));
    });
  });
}

describe('createCairn lifecycle', () => {
  test('the memory store leaves nothing on disk; close is idempotent; a given admin key is used', async () => {
    const before = new Set(readdirSync(tmpdir()));
    const cwdBefore = new Set(readdirSync(process.cwd()));
    const cairn = await createCairn({ adminKey: 'my-key' });
    assert.equal(cairn.adminKey, 'my-key');
    assert.equal(cairn.storeKind, 'sqlite');
    await cairn.client.collections.createDataCollection({ _id: 'c' } as never);
    await cairn.client.items.insert('c', { a: 1 });
    await cairn.close();
    await cairn.close();
    await assert.rejects(fetch(`${cairn.url}/healthz`));
    assert.deepEqual(readdirSync(tmpdir()).filter((f) => !before.has(f) && f.startsWith('cairn')), []);
    assert.deepEqual(readdirSync(process.cwd()).filter((f) => !cwdBefore.has(f)), []);
  });

  test('an SQLite file keeps its data across instances', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-lib-'));
    try {
      const file = join(dir, 'sub', 'data.db');
      const first = await createCairn({ store: file, collections: [BOOKS], seed: SEED });
      await first.close();
      assert.ok(existsSync(file));
      const second = await createCairn({ store: file });
      assert.deepEqual(await titles(second), ['Dune', 'Emma', 'Neuromancer']);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('hooks given as a module object run; seed items skip them', async () => {
    const cairn = await createCairn({
      collections: [BOOKS],
      seed: { books: [{ _id: 's', title: 'seeded' }] },
      hooks: { books_beforeInsert: (item: Record<string, unknown>) => ({ ...item, title: String(item.title).toUpperCase() }) },
    });
    try {
      await cairn.client.items.insert('books', { _id: 'h', title: 'hooked' });
      assert.deepEqual(await titles(cairn), ['HOOKED', 'seeded']);
    } finally {
      await cairn.close();
    }
  });

  test('a seed item that cannot be inserted fails createCairn and releases the store', async () => {
    await assert.rejects(createCairn({ collections: [BOOKS], seed: { books: [{ _id: 'x' }, { _id: 'x' }] } }), /seed: 1 item\(s\) of books/);
    await assert.rejects(createCairn({ seed: { missing: [{ a: 1 }] } }), /WDE0025|does not exist/);
  });

  if (STORE_NAMES.includes('postgres')) {
    test('freshSchema: the schema exists while running and is dropped at close', async () => {
      const cairn = await createCairn({ store: process.env.DATABASE_URL as string, freshSchema: true, collections: [BOOKS], seed: SEED });
      const schema = new URL(cairn.databaseUrl as string).searchParams.get('options')?.replace('-c search_path=', '');
      assert.match(schema ?? '', /^cairn_[0-9a-f]{12}$/);
      const exists = async () => {
        const c = new pg.Client({ connectionString: process.env.DATABASE_URL });
        await c.connect();
        const r = await c.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [schema]);
        await c.end();
        return r.rowCount === 1;
      };
      assert.equal(await exists(), true);
      assert.deepEqual(await titles(cairn), ['Dune', 'Emma', 'Neuromancer']);
      await cairn.close();
      assert.equal(await exists(), false);
    });
  }
});
