/**
 * The web dashboard (web/), end to end in a real browser: Debian's headless Chromium driven by
 * playwright-core, against a server started in-process on SQLite (the API underneath is tested on
 * both stores elsewhere). It clicks through what a user does: sign in, create a collection,
 * insert, filter, sort, edit and delete items, start a task from the table's filter and watch it
 * run live to COMPLETED with its failures, delete and restore a collection, take and restore a
 * backup, manage API keys, and
 * see a webhook's deliveries.
 *
 * Chromium must be at /usr/bin/chromium (`apt-get install -y chromium`; .ci/run installs it).
 * Without it these tests fail: they are never skipped. A missing or stale web/dist is rebuilt first.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify from 'fastify';
import { chromium, type Browser, type Page } from 'playwright-core';
import { call, startServer, TEST_ADMIN_KEY, type TestServer } from './helpers/server.js';
import { STORE_NAMES } from './helpers/stores.js';
import { dashboardRoutes } from '../src/http/static.js';
import { SseParser } from '../web/src/sse.js';

const CHROMIUM = '/usr/bin/chromium';
const WEB = fileURLToPath(new URL('../web/', import.meta.url));
const BATCH = 50;

/** The newest modification time under `path` (a file or a folder, recursively). */
function newest(path: string): number {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  return Math.max(s.mtimeMs, ...readdirSync(path).map((n) => newest(join(path, n))));
}

/** Builds web/dist unless it is there and newer than every source. */
function ensureBuilt(): void {
  const built = join(WEB, 'dist', 'index.html');
  const sources = Math.max(newest(join(WEB, 'src')), newest(join(WEB, 'index.html')), newest(join(WEB, 'vite.config.ts')));
  if (existsSync(built) && statSync(built).mtimeMs >= sources) return;
  const r = spawnSync(process.execPath, [join(WEB, 'prepare.mjs')], { stdio: 'inherit' });
  assert.equal(r.status, 0, 'building the dashboard (node web/prepare.mjs) failed');
  assert.ok(existsSync(built), 'web/dist/index.html is missing after the build: is vite installed (npm install)?');
}

// Its own test, so a missing browser is a failure with this message, not only cancelled tests.
test('Chromium is installed', () => {
  assert.ok(existsSync(CHROMIUM), `Chromium is not installed at ${CHROMIUM}: the dashboard tests need it (apt-get install -y chromium; .ci/run installs it)`);
});

// On each store: the dashboard is the same, but what it drives (tasks, the stream, webhooks) is not.
for (const storeName of STORE_NAMES) describe(`dashboard in Chromium (${storeName})`, () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let receiver: Server;
  let receiverUrl: string;
  const received: unknown[] = [];
  // The runner waits here after a task's first batch, until the test has seen its progress.
  let holdBatch: Promise<void> | undefined;
  let releaseBatch = () => {};
  let batchDone: () => void = () => {};
  const firstBatch = new Promise<void>((resolve) => (batchDone = resolve));

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `Chromium is not installed at ${CHROMIUM}`);
    ensureBuilt();
    holdBatch = new Promise<void>((resolve) => (releaseBatch = resolve));
    server = await startServer(storeName, {
      runner: {
        batchSize: BATCH,
        afterBatch: async (_id, outcome) => {
          if (outcome !== 'more' || !holdBatch) return;
          const hold = holdBatch;
          holdBatch = undefined;
          batchDone();
          await hold;
        },
      },
    });
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push(JSON.parse(body));
        res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const address = receiver.address();
    receiverUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    page = await browser.newPage();
    page.setDefaultTimeout(15_000);
  });

  after(async () => {
    releaseBatch();
    await browser?.close();
    await server?.close();
    await new Promise((r) => (receiver ? receiver.close(r) : r(undefined)));
  });

  test('the server serves the page at / with a CSP, and the API beside it', async () => {
    const res = await fetch(server.url + '/');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'self'/);
    const html = await res.text();
    const asset = html.match(/\/assets\/[\w.-]+\.js/)?.[0];
    assert.ok(asset, 'index.html names its script under /assets/');
    const js = await fetch(server.url + asset);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('cache-control') ?? '', /immutable/);
    assert.equal((await fetch(server.url + '/assets/..%2f..%2fpackage.json')).status, 404);
    assert.equal((await fetch(server.url + '/assets/nope.js')).status, 404);
    assert.deepEqual((await call(server.url, 'GET', '/healthz')).body, { status: 'ok' });
    assert.equal((await call(server.url, 'GET', '/wix-data/v2/collections')).status, 200);
  });

  test('sign in: a wrong key is refused, the admin key is kept in the tab', async () => {
    await page.goto(server.url + '/');
    await page.getByLabel('API key').fill('cairn_not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'UNAUTHENTICATED' }).waitFor();
    await page.getByLabel('API key').fill(TEST_ADMIN_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Collections' }).waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('cairn.apiKey')), TEST_ADMIN_KEY);
    // A reload stays signed in.
    await page.reload();
    await page.getByRole('heading', { name: 'Collections' }).waitFor();
  });

  test('create a collection with fields', async () => {
    const form = page.getByRole('form', { name: 'New collection' });
    await form.getByLabel('ID').fill('books');
    await form.getByLabel('Field 1 key').fill('title');
    await form.getByRole('button', { name: 'Add field' }).click();
    await form.getByLabel('Field 2 key').fill('year');
    await form.getByLabel('Field 2 type').selectOption('NUMBER');
    await form.getByRole('button', { name: 'Add field' }).click();
    await form.getByLabel('Field 3 key').fill('tags');
    await form.getByLabel('Field 3 type').selectOption('ARRAY_STRING');
    await form.getByRole('button', { name: 'Create collection' }).click();
    await page.getByRole('link', { name: 'books' }).click();
    await page.getByRole('heading', { name: /books/ }).waitFor();
    const { body } = await call(server.url, 'GET', '/wix-data/v2/collections/books');
    assert.deepEqual(
      body.collection.fields.filter((f: any) => !f.systemField).map((f: any) => [f.key, f.type]),
      [['title', 'TEXT'], ['year', 'NUMBER'], ['tags', 'ARRAY_STRING']],
    );
  });

  test('insert items in the editor; the table shows them', async () => {
    for (const data of [
      { title: 'Dune', year: 1965, tags: ['classic'] },
      { title: 'Anathem', year: 2008, tags: [] },
      { title: 'Broken', year: 2020, tags: 'not an array' },
    ]) {
      await page.getByRole('button', { name: 'Insert item' }).click();
      const editor = page.getByRole('dialog', { name: 'New item' });
      await editor.locator('textarea').fill(JSON.stringify(data));
      await editor.getByRole('button', { name: 'Insert' }).click();
      await editor.waitFor({ state: 'detached' });
    }
    await page.getByRole('cell', { name: 'Broken' }).waitFor();
    // More items through the API, for paging and for a task of several batches.
    const more = Array.from({ length: 197 }, (_, i) => ({ data: { _id: `b${String(i).padStart(3, '0')}`, title: `Book ${i}`, year: 1900 + i, tags: [] } }));
    assert.equal((await call(server.url, 'POST', '/wix-data/v2/bulk/items/insert', { dataCollectionId: 'books', dataItems: more })).status, 200);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByTestId('item-range').filter({ hasText: '1–25 of 200' }).waitFor();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByTestId('item-range').filter({ hasText: '26–50 of 200' }).waitFor();
  });

  test('filter and sort the table', async () => {
    const query = page.getByRole('form', { name: 'Query' });
    await query.getByLabel('Filter', { exact: true }).fill('{"year": {"$gte": 2000}}');
    await query.getByLabel('Sort by', { exact: true }).selectOption('year');
    await query.getByLabel('Order', { exact: true }).selectOption('DESC');
    await query.getByRole('button', { name: 'Apply' }).click();
    // 2000..2096 from the API (97 items), Anathem (2008) and Broken (2020): 99, back on page 1.
    await page.getByTestId('item-range').filter({ hasText: '1–25 of 99' }).waitFor();
    const years = await page.locator('table.items tbody tr td:nth-child(3)').allTextContents();
    assert.equal(years.length, 25);
    assert.deepEqual(years, [...years].sort((a, b) => Number(b) - Number(a)));
    assert.equal(years[0], '2096');
    await query.getByLabel('Filter', { exact: true }).fill('{"year": ');
    await query.getByRole('button', { name: 'Apply' }).click();
    await query.getByRole('alert').filter({ hasText: 'not valid JSON' }).waitFor();
    // Everything matching on one page, for the next steps.
    await query.getByLabel('Filter', { exact: true }).fill('{"year": {"$gte": 2000}}');
    await query.getByLabel('Order', { exact: true }).selectOption('ASC');
    await query.getByLabel('Page size', { exact: true }).selectOption('100');
    await query.getByRole('button', { name: 'Apply' }).click();
    await page.getByTestId('item-range').filter({ hasText: '1–99 of 99' }).waitFor();
  });

  test('edit and delete an item', async () => {
    const row = page.getByRole('row').filter({ hasText: 'Anathem' });
    await row.getByRole('button', { name: 'Edit' }).click();
    const editor = page.getByRole('dialog', { name: /Edit item/ });
    const data = JSON.parse(await editor.locator('textarea').inputValue());
    assert.deepEqual(data, { title: 'Anathem', year: 2008, tags: [] });
    await editor.locator('textarea').fill(JSON.stringify({ ...data, title: 'Anathem (2008)' }));
    await editor.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('cell', { name: 'Anathem (2008)' }).waitFor();

    await page.getByRole('row').filter({ hasText: 'Book 150' }).getByRole('button', { name: 'Edit' }).click();
    const other = page.getByRole('dialog', { name: 'Edit item b150' });
    await other.getByRole('button', { name: 'Delete' }).click();
    await other.getByRole('button', { name: 'Really delete' }).click();
    await page.getByTestId('item-range').filter({ hasText: '1–98 of 98' }).waitFor();
    assert.equal((await call(server.url, 'GET', '/wix-data/v2/items/b150?dataCollectionId=books')).status, 404);
  });

  test("a task from the table's filter runs live to COMPLETED, with its failures", async () => {
    const form = page.getByRole('form', { name: 'Background task' });
    await form.getByText('{"year":{"$gte":2000}}').waitFor();
    await form.getByLabel('Type', { exact: true }).selectOption('EDIT_FIELD_DATA');
    await form.getByLabel('Field', { exact: true }).selectOption('tags');
    await form.getByLabel('Operations', { exact: true }).fill('{"addItems": ["modern"]}');
    await form.getByRole('button', { name: 'Start task' }).click();

    // The runner holds after the first batch: the page shows that batch's progress, from the stream.
    await firstBatch;
    const status = page.getByTestId('task-status');
    await status.filter({ hasText: 'RUNNING' }).waitFor();
    // The counts start at 0 and move when the batch's progress event arrives over the stream
    // (PostgreSQL's stream polls, so that can take a moment): wait for the batch's total.
    let counts: string | null = null;
    const deadline = Date.now() + 15_000;
    for (;;) {
      counts = await page.getByTestId('task-counts').textContent();
      const m = counts?.match(/^(\d+) succeeded, ([01]) failed, of about 98$/);
      if (m && Number(m[1]) + Number(m[2]) === BATCH) break;
      if (Date.now() > deadline) {
        releaseBatch();
        assert.fail(`after one batch the page shows: ${counts}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(await page.getByText('live', { exact: true }).count(), 1, 'progress comes from the event stream');
    releaseBatch();

    await status.filter({ hasText: 'COMPLETED' }).waitFor({ timeout: 30_000 });
    await page.getByTestId('task-counts').filter({ hasText: '97 succeeded, 1 failed, of about 98' }).waitFor();
    // The one item whose tags is not an array is the task's failure.
    const failures = page.locator('.task details');
    await failures.getByText('Failures (1)').waitFor();
    await failures.getByRole('cell', { name: 'WDE0075' }).waitFor();
    // The table was reloaded when the task ended.
    await page.getByRole('row').filter({ hasText: 'Anathem (2008)' }).getByRole('cell', { name: '["modern"]' }).waitFor();

    const all = (await call(server.url, 'POST', '/wix-data/v2/items/query', { dataCollectionId: 'books', query: { paging: { limit: 1000 } } })).body.dataItems;
    for (const it of all) {
      const expected = it.data.year >= 2000 && Array.isArray(it.data.tags) ? ['modern'] : it.data.year >= 2000 ? 'not an array' : undefined;
      if (expected !== undefined) assert.deepEqual(it.data.tags, expected, it.id);
      else assert.ok(!JSON.stringify(it.data.tags).includes('modern'), it.id);
    }

    // The Tasks view lists it and shows the same finished task.
    await page.getByRole('link', { name: 'Tasks' }).click();
    await page.getByRole('row').filter({ hasText: 'EDIT_FIELD_DATA' }).getByRole('link').click();
    await page.getByTestId('task-status').filter({ hasText: 'COMPLETED' }).waitFor();
  });

  test('delete a collection, find it among the deleted ones, restore it with its items', async () => {
    assert.equal((await call(server.url, 'POST', '/wix-data/v2/collections', { collection: { id: 'scratch' } })).status, 200);
    assert.equal((await call(server.url, 'POST', '/wix-data/v2/items', { dataCollectionId: 'scratch', dataItem: { id: 's1', data: { n: 1 } } })).status, 200);
    await page.getByRole('link', { name: 'Collections', exact: true }).click();
    const row = page.getByRole('row').filter({ hasText: 'scratch' });
    await row.getByRole('button', { name: 'Delete' }).click();
    await row.getByRole('button', { name: 'Really delete' }).click();
    const deleted = page.getByRole('table', { name: 'Deleted collections' });
    await deleted.getByRole('row').filter({ hasText: 'scratch' }).waitFor();
    assert.equal((await call(server.url, 'GET', '/wix-data/v2/collections/scratch')).status, 404);
    await deleted.getByRole('row').filter({ hasText: 'scratch' }).getByRole('button', { name: 'Restore' }).click();
    await page.getByRole('link', { name: 'scratch' }).waitFor();
    assert.equal((await call(server.url, 'GET', '/wix-data/v2/items/s1?dataCollectionId=scratch')).status, 200);
  });

  test('backups: take one, restore one of its collections after a confirmation, delete it', async () => {
    for (const id of ['snap', 'snap_other']) {
      assert.equal((await call(server.url, 'POST', '/wix-data/v2/collections', { collection: { id } })).status, 200);
      assert.equal((await call(server.url, 'POST', '/wix-data/v2/items', { dataCollectionId: id, dataItem: { id: 'p1', data: { n: 1 } } })).status, 200);
    }
    await page.getByRole('link', { name: 'Backups' }).click();
    await page.getByRole('button', { name: 'Take a backup' }).click();
    const backups = page.getByRole('table', { name: 'Backups' });
    const row = backups.getByRole('row').filter({ hasText: 'READY' }).filter({ hasText: 'snap' });
    await row.waitFor();
    for (const id of ['snap', 'snap_other']) {
      assert.equal((await call(server.url, 'PUT', '/wix-data/v2/items/p1', { dataCollectionId: id, dataItem: { id: 'p1', data: { n: 2 } } })).status, 200);
    }
    await row.getByRole('button', { name: 'Restore' }).click();
    // Every collection is ticked at first; keep only snap.
    for (const box of await row.getByRole('checkbox').all()) if ((await box.locator('xpath=..').textContent()) !== 'snap') await box.uncheck();
    await row.getByRole('button', { name: /^Really restore 1 of \d+$/ }).click();
    const restored = page.getByRole('table', { name: 'Restorations' }).getByRole('row').filter({ hasText: 'COMPLETED' });
    await restored.waitFor();
    assert.equal(await restored.getByRole('cell', { name: 'snap', exact: true }).count(), 1, 'the restoration names snap alone');
    const n = async (id: string) => (await call(server.url, 'GET', `/wix-data/v2/items/p1?dataCollectionId=${id}&consistentRead=true`)).body.dataItem.data.n;
    assert.equal(await n('snap'), 1, 'snap restored');
    assert.equal(await n('snap_other'), 2, 'snap_other left as it was');
    await row.getByRole('button', { name: 'Delete' }).click();
    await backups.getByRole('row').filter({ hasText: 'No backups yet.' }).waitFor();
  });

  test("a collection's permissions: change a level, allow a member an action, remove it", async () => {
    assert.equal((await call(server.url, 'POST', '/wix-data/v2/collections', { collection: { id: 'guarded' } })).status, 200);
    await page.getByRole('link', { name: 'Collections', exact: true }).click();
    await page.getByRole('link', { name: 'guarded' }).click();
    await page.getByText('Permissions', { exact: true }).click();
    const levels = page.getByRole('form', { name: 'Access levels' });
    await levels.getByLabel('Read level').selectOption('SITE_MEMBER');
    await levels.getByRole('button', { name: 'Save levels' }).click();
    await levels.getByRole('button', { name: 'Save levels' }).and(page.locator(':disabled')).waitFor();
    assert.equal((await call(server.url, 'GET', '/wix-data/v2/collections/guarded')).body.collection.permissions.read, 'SITE_MEMBER');
    const add = page.getByRole('form', { name: 'New special permissions' });
    await add.getByLabel('Member id').fill('member-7');
    await add.getByLabel('Update').check();
    await add.getByRole('button', { name: 'Allow' }).click();
    const row = page.getByRole('table', { name: 'Special permissions' }).getByRole('row').filter({ hasText: 'member-7' });
    await row.waitFor();
    const sets = (await call(server.url, 'GET', '/wix-data/v1/permissions?dataCollectionId=guarded')).body.dataPermissions.specialPermissions;
    assert.deepEqual(sets.map((s: any) => [s.userId, s.itemUpdate, s.itemRead]), [['member-7', 'ALLOWED', 'UNSPECIFIED']]);
    await row.getByRole('button', { name: 'Remove' }).click();
    await row.waitFor({ state: 'detached' });
  });

  test('API keys: create one (shown once), see it listed, revoke it', async () => {
    await page.getByRole('link', { name: 'API keys' }).click();
    const form = page.getByRole('form', { name: 'New API key' });
    await form.getByLabel('Name').fill('reader');
    await form.getByRole('button', { name: 'Create key' }).click();
    const shown = await page.getByTestId('new-key').locator('code').textContent();
    assert.match(shown ?? '', /^cairn_/);
    assert.equal((await call(server.url, 'POST', '/wix-data/v2/items/count', { dataCollectionId: 'books' }, { authorization: shown! })).status, 200);
    const row = page.getByRole('row').filter({ hasText: 'reader' });
    await row.getByRole('cell', { name: 'SCOPE.DC-DATA.READ' }).waitFor();
    await row.getByRole('button', { name: 'Revoke' }).click();
    await row.getByRole('button', { name: 'Revoke' }).waitFor({ state: 'detached' });
    assert.equal((await call(server.url, 'POST', '/wix-data/v2/items/count', { dataCollectionId: 'books' }, { authorization: shown! })).status, 401);
  });

  test("webhooks: add one, and see its deliveries' state", async () => {
    await page.getByRole('link', { name: 'Webhooks' }).click();
    const form = page.getByRole('form', { name: 'New webhook' });
    await form.getByLabel('URL').fill(receiverUrl);
    await form.getByLabel('Collection (optional)').fill('books');
    await form.getByRole('button', { name: 'Add webhook' }).click();
    await page.getByRole('link', { name: receiverUrl }).click();
    assert.equal((await call(server.url, 'POST', '/wix-data/v2/items', { dataCollectionId: 'books', dataItem: { id: 'hooked', data: { title: 'Hooked' } } })).status, 200);
    const row = page.getByRole('row').filter({ hasText: 'hooked' });
    for (let i = 0; i < 50 && (await row.getByText('DELIVERED').count()) === 0; i++) {
      await page.getByRole('button', { name: 'Refresh' }).click();
      await page.waitForTimeout(200);
    }
    await row.getByText('DELIVERED').waitFor();
    await row.getByRole('cell', { name: 'wix.data.v2.data_item_created' }).waitFor();
    const before = received.length;
    assert.ok(before >= 1);
    // Replay sends it again (its row starts over: PENDING, then DELIVERED).
    await row.getByRole('button', { name: 'Replay' }).click();
    for (let i = 0; i < 100 && received.length === before; i++) await page.waitForTimeout(100);
    assert.equal(received.length, before + 1, 'the replayed event was delivered again');
    await row.getByText('DELIVERED').waitFor();
  });

  test('a key without the stream scope still sees tasks (polled); a revoked key is signed out', async () => {
    const created = await call(server.url, 'POST', '/cairn/v1/keys', { name: 'ops', scopes: ['SCOPE.DC-DATA.READ', 'SCOPE.CAIRN.TASKS'] });
    assert.equal(created.status, 200);
    const { body } = await call(server.url, 'GET', '/cms/v1/tasks');
    const taskId: string = body.tasks[0].id;
    const other = await browser.newPage();
    try {
      await other.goto(`${server.url}/#/tasks/${taskId}`);
      await other.getByLabel('API key').fill(created.body.apiKey);
      await other.getByRole('button', { name: 'Sign in' }).click();
      await other.getByTestId('task-status').filter({ hasText: 'COMPLETED' }).waitFor();
      await other.getByText('polling', { exact: true }).waitFor();
      assert.equal((await call(server.url, 'DELETE', `/cairn/v1/keys/${created.body.key.id}`)).status, 200);
      await other.getByRole('link', { name: 'Collections' }).click();
      await other.getByLabel('API key').waitFor();
    } finally {
      await other.close();
    }
  });

  test('sign out forgets the key', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('API key').waitFor();
    assert.equal(await page.evaluate(() => sessionStorage.getItem('cairn.apiKey')), null);
  });
});

test('without a build, / says how to make one, and the API is unaffected', async () => {
  const app = Fastify();
  await app.register(dashboardRoutes, { dir: join(WEB, 'no-such-dist') });
  app.get('/healthz', async () => ({ status: 'ok' }));
  const res = await app.inject({ method: 'GET', url: '/' });
  assert.equal(res.statusCode, 404);
  assert.match(res.body, /npm run build:web/);
  assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
  await app.close();
});

test('the SSE parser: chunks split anywhere, CRLF and CR line ends, comments, multi-line data', () => {
  const text =
    'retry: 2000\n\n: ping\n\nid: 7\nevent: a.b\ndata: {"x":1}\n\n' +
    'id: 8\r\nevent: c\r\ndata: line1\r\ndata: line2\r\n\r\n' +
    'data:no space\r\rid: 9\nevent: d\ndata: {"y":"é"}\n\nid: 10\ndata: unfinished';
  const expected = [
    ['7', 'a.b', '{"x":1}'],
    ['8', 'c', 'line1\nline2'],
    ['8', 'message', 'no space'],
    ['9', 'd', '{"y":"é"}'],
  ];
  for (const size of [1, 2, 3, 5, 8, 13, text.length]) {
    const got: string[][] = [];
    const parser = new SseParser((id, type, data) => got.push([id, type, data]));
    for (let i = 0; i < text.length; i += size) parser.feed(text.slice(i, i + size));
    assert.deepEqual(got, expected, `chunks of ${size}`);
  }
});
