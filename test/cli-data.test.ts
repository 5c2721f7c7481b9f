/**
 * The `cairn` commands that talk to a running server (collections, import, export, tasks), run as
 * a script runs them: the real CLI in a child process against a server started in this process,
 * on SQLite and on PostgreSQL. Files of 5,000 rows go in as CSV and JSON Lines and come back out
 * the same; bad rows are reported one by one and make the exit code 1; a task is followed to its
 * end; a wrong key, an unknown collection and a server that is not there each fail in one line.
 */
import { freePort } from './helpers/process.js';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cellValue, valueCell } from '../src/cli/csv-values.js';
import { call, startServer, TEST_ADMIN_KEY, type TestServer } from './helpers/server.js';
import { STORE_NAMES } from './helpers/stores.js';
import { assertFails, cliEnv, startCli, type Run } from './helpers/cli.js';

const ROWS = 5000;

const envWith = cliEnv;

function run(env: NodeJS.ProcessEnv, args: string[], stdin?: string): Promise<Run> {
  return startCli(args, env, stdin === undefined ? {} : { stdin }).done;
}

/** Item data without the fields the server sets on every write (so two imports compare equal). */
function withoutDates(line: string): Record<string, unknown> {
  const { _createdDate, _updatedDate, ...rest } = JSON.parse(line) as Record<string, unknown>;
  return rest;
}

/** A CSV of ROWS books: quoted commas and newlines, numbers, booleans, JSON cells, dates, digits kept as text. */
function booksCsv(): string {
  const lines = ['_id,title,year,isbn,price,inStock,tags,published,note'];
  for (let i = 0; i < ROWS; i++) {
    const id = `b${String(i).padStart(5, '0')}`;
    const note = i % 100 === 0 ? '"two\nlines"' : i % 7 === 0 ? '' : `plain ${i}`;
    lines.push(
      `${id},"Title, ${i}",${1900 + (i % 120)},${String(i).padStart(10, '0')},${(i / 4).toFixed(2)},${i % 2 === 0},"[""t${i % 5}"",""all""]",2020-01-0${(i % 9) + 1}T12:00:00Z,${note}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function eventsJsonl(): string {
  let out = '';
  for (let i = 0; i < ROWS; i++) {
    out += `${JSON.stringify({ _id: `e${String(i).padStart(5, '0')}`, kind: i % 3 === 0 ? 'click' : 'view', n: i, meta: { at: { $date: '2024-05-01T10:00:00.000Z' }, list: [i, 'x', null] } })}\n`;
  }
  return out;
}

describe('CSV cell rules', () => {
  it('read cells as documented, and write values so they read back the same', () => {
    assert.equal(cellValue(''), undefined);
    assert.equal(cellValue('42'), 42);
    assert.equal(cellValue('-1.5e3'), -1500);
    assert.equal(cellValue('007'), '007');
    assert.equal(cellValue('true'), true);
    assert.equal(cellValue('null'), null);
    assert.equal(cellValue('"42"'), '42');
    assert.deepEqual(cellValue('{"a":[1]}'), { a: [1] });
    assert.equal(cellValue('{not json'), '{not json');
    assert.deepEqual(cellValue('2024-05-01T10:00:00+02:00'), { $date: '2024-05-01T08:00:00.000Z' });
    assert.equal(cellValue('2024-05-01'), '2024-05-01');
    assert.equal(cellValue('42', 'text'), '42');
    assert.equal(cellValue('null', 'text'), null);
    assert.equal(cellValue('abc', 'number'), 'abc');
    for (const v of ['42', '', 'true', 'null', '"quoted"', '{"a":1}', '2024-05-01T10:00:00Z', 'plain', 'a "b"', 42, 0.5, true, null, [1, 'a'], { a: { $date: '2024-05-01T10:00:00.000Z' } }, { $date: '2024-05-01T10:00:00.000Z' }]) {
      assert.deepEqual(cellValue(valueCell(v)), v, JSON.stringify(v));
    }
  });
});

for (const storeName of STORE_NAMES) {
  describe(`cairn data commands on ${storeName}`, () => {
    let server: TestServer;
    let env: NodeJS.ProcessEnv;
    let dir: string;
    const cairn = (...args: string[]) => run(env, args);

    before(async () => {
      server = await startServer(storeName);
      env = envWith({ CAIRN_URL: server.url, CAIRN_KEY: TEST_ADMIN_KEY });
      dir = mkdtempSync(join(tmpdir(), 'cairn-cli-data-'));
    });
    after(async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    });

    const count = async (collection: string, filter: unknown = {}) =>
      (await call(server.url, 'POST', '/wix-data/v2/items/count', { dataCollectionId: collection, filter })).body.totalCount as number;
    const getItem = async (collection: string, id: string) =>
      (await call(server.url, 'GET', `/wix-data/v2/items/${id}?dataCollectionId=${collection}`)).body.dataItem.data as Record<string, unknown>;

    it('collections create and list', async () => {
      const created = await cairn('collections', 'create', 'books', '--field', 'title:TEXT', '--field', 'isbn:TEXT', '--field', 'year:NUMBER', '--permissions', 'read=SITE_MEMBER,insert=ADMIN');
      assert.equal(created.code, 0, created.stderr);
      assert.match(created.stdout, /^Created collection books \(3 fields: title:TEXT, isbn:TEXT, year:NUMBER; read=SITE_MEMBER,insert=ADMIN,update=ADMIN,remove=ADMIN\)\.\n$/);
      const json = await cairn('collections', 'create', 'events', '--json');
      assert.equal(json.code, 0, json.stderr);
      assert.equal(JSON.parse(json.stdout).id, 'events');
      for (const id of ['books_copy', 'books_csv', 'events_copy', 'rejects']) assert.equal((await cairn('collections', 'create', id)).code, 0);

      const list = await cairn('collections', 'list');
      assert.equal(list.code, 0, list.stderr);
      const lines = list.stdout.trimEnd().split('\n');
      assert.match(lines[0]!, /^ID +NAME +FIELDS +PERMISSIONS$/);
      assert.match(list.stdout, /\nbooks +books +title:TEXT,isbn:TEXT,year:NUMBER +read=SITE_MEMBER,insert=ADMIN,update=ADMIN,remove=ADMIN\n/);
      const listed = JSON.parse((await cairn('collections', 'list', '--json')).stdout) as { id: string }[];
      assert.deepEqual(listed.map((c) => c.id).sort(), ['books', 'books_copy', 'books_csv', 'events', 'events_copy', 'rejects']);

      const [again, badType, badRole] = await Promise.all([
        cairn('collections', 'create', 'books'),
        cairn('collections', 'create', 'x', '--field', 'a:NOPE'),
        cairn('collections', 'create', 'x', '--permissions', 'read=EVERYONE'),
      ]);
      assertFails(again, 1, /^cairn: WDE0104: Collection \[books\] already exists/);
      assertFails(badType, 2, /Unknown field type NOPE/);
      assertFails(badRole, 2, /Unknown role "EVERYONE"/);
    });

    it('collections delete, deleted, restore, purge and sync-sandbox', async () => {
      assert.equal((await cairn('collections', 'create', 'scratch', '--field', 'n:NUMBER')).code, 0);
      assert.equal((await call(server.url, 'POST', '/wix-data/v2/items', { dataCollectionId: 'scratch', dataItem: { id: 's1', data: { n: 1 } } })).status, 200);
      const none = await cairn('collections', 'deleted');
      assert.equal(none.stdout, 'No deleted collections.\n');
      const del = await cairn('collections', 'delete', 'scratch');
      assert.equal(del.code, 0, del.stderr);
      assert.equal(del.stdout, 'Deleted collection scratch; `cairn collections restore scratch` brings it back.\n');
      const listed = await cairn('collections', 'deleted');
      assert.match(listed.stdout, /^ID +DELETED +RESTORABLE UNTIL\nscratch +\d{4}-\d\d-\d\dT[\d:.]+Z +\d{4}-\d\d-\d\dT[\d:.]+Z\n$/);
      const json = JSON.parse((await cairn('collections', 'deleted', '--json')).stdout) as { collection: { id: string } }[];
      assert.deepEqual(json.map((d) => d.collection.id), ['scratch']);
      const restored = await cairn('collections', 'restore', 'scratch');
      assert.equal(restored.code, 0, restored.stderr);
      assert.equal(restored.stdout, 'Restored collection scratch.\n');
      assert.equal(await count('scratch'), 1);
      assertFails(await cairn('collections', 'restore', 'scratch'), 1, /^cairn: WDE0025: Collection \[scratch\] was not deleted recently/);
      assertFails(await cairn('collections', 'delete', 'nowhere'), 1, /^cairn: WDE0025: /);
      assert.equal((await cairn('collections', 'delete', 'scratch')).code, 0);
      const purged = await cairn('collections', 'purge', 'scratch');
      assert.equal(purged.code, 0, purged.stderr);
      assert.equal(purged.stdout, 'Purged deleted collection scratch.\n');
      assert.equal((await cairn('collections', 'deleted')).stdout, 'No deleted collections.\n');
      assertFails(await cairn('collections', 'restore', 'scratch'), 1, /^cairn: WDE0025: /);

      assert.equal((await cairn('collections', 'create', 'synced')).code, 0);
      assert.equal((await call(server.url, 'POST', '/wix-data/v2/items', { dataCollectionId: 'synced', dataItem: { id: 'live-only', data: {} } })).status, 200);
      assert.equal((await call(server.url, 'POST', '/cairn/v1/collections/synced/sandbox', { enabled: true })).status, 200);
      assert.equal((await call(server.url, 'POST', '/wix-data/v2/items', { dataCollectionId: 'synced', dataItem: { id: 'new', data: {} }, environment: 'SANDBOX' })).status, 200);
      const synced = await cairn('collections', 'sync-sandbox', 'synced');
      assert.equal(synced.code, 0, synced.stderr);
      assert.equal(synced.stdout, 'Synced the sandbox of synced to live: 1 inserted, 0 updated, 0 removed.\n');
      assert.equal(await count('synced'), 2);
      assert.equal((await cairn('collections', 'create', 'unsandboxed')).code, 0);
      assertFails(await cairn('collections', 'sync-sandbox', 'unsandboxed'), 1, /^cairn: WDE0119: /);
    });

    it('backups create, list, restore, restorations and delete', async () => {
      assert.equal((await cairn('collections', 'create', 'kept', '--field', 'n:NUMBER')).code, 0);
      for (const id of ['k1', 'k2']) assert.equal((await call(server.url, 'POST', '/wix-data/v2/items', { dataCollectionId: 'kept', dataItem: { id, data: { n: 1 } } })).status, 200);
      assert.equal((await cairn('backups', 'list')).stdout, 'No backups.\n');
      const created = await cairn('backups', 'create', '--wait');
      assert.equal(created.code, 0, created.stderr);
      const m = /^Backup ([0-9a-f-]{36}) READY: \d+ collections, [\d.]+ MB\.\n$/.exec(created.stdout);
      assert.ok(m, created.stdout);
      const backupId = m[1] as string;
      const listed = await cairn('backups', 'list');
      assert.match(listed.stdout, new RegExp(`^ID +TYPE +STATUS +REQUESTED +COLLECTIONS +SIZE\n${backupId} +ON_DEMAND +READY +\\S+ +\\d+ +[\\d.]+ MB\n$`));
      const json = JSON.parse((await cairn('backups', 'list', '--status', 'ready', '--json')).stdout) as { id: string; collections: { id: string }[] }[];
      assert.deepEqual(json.map((b) => b.id), [backupId]);
      assert.ok(json[0]!.collections.some((c) => c.id === 'kept'));

      assert.equal((await call(server.url, 'DELETE', '/wix-data/v2/items/k1?dataCollectionId=kept')).status, 200);
      const restored = await cairn('backups', 'restore', backupId, '--collection', 'kept', '--collection', 'kept:kept_copy', '--wait');
      assert.equal(restored.code, 1, 'one collection cannot be restored twice');
      assertFails(restored, 1, /^cairn: WDE0080: /);
      const ok = await cairn('backups', 'restore', backupId, '--collection', 'kept', '--wait');
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, new RegExp(`^Restoration [0-9a-f-]{36} of backup ${backupId} COMPLETED: kept\\.\n$`));
      assert.equal(await count('kept'), 2);
      const copy = await cairn('backups', 'restore', backupId, '--collection', 'kept:kept_copy', '--wait', '--json');
      assert.equal(copy.code, 0, copy.stderr);
      assert.equal(JSON.parse(copy.stdout).status, 'COMPLETED');
      assert.equal(await count('kept_copy'), 2);
      const restorations = await cairn('backups', 'restorations');
      assert.match(restorations.stdout, /^ID +BACKUP +STATUS +REQUESTED +COLLECTIONS\n/);
      assert.equal(restorations.stdout.trimEnd().split('\n').length, 3);
      assertFails(await cairn('backups', 'restore', backupId, '--collection', 'a:b:c'), 2, /Expected a collection id, or id:destination/);
      assertFails(await cairn('backups', 'restore', 'nope'), 1, /^cairn: WDE0073: Backup \[nope\] does not exist/);
      const deleted = await cairn('backups', 'delete', backupId);
      assert.equal(deleted.stdout, `Deleted backup ${backupId}.\n`);
      assert.equal((await cairn('backups', 'list')).stdout, 'No backups.\n');
      assertFails(await cairn('backups', 'delete', backupId), 1, /^cairn: WDE0073: /);
    });

    it(`imports ${ROWS} CSV rows with typed values`, async () => {
      const file = join(dir, 'books.csv');
      writeFileSync(file, booksCsv());
      const r = await cairn('import', 'books', file, '--json');
      assert.equal(r.code, 0, r.stderr);
      const summary = JSON.parse(r.stdout);
      assert.equal(summary.read, ROWS);
      assert.equal(summary.inserted, ROWS);
      assert.equal(summary.failed, 0);
      assert.equal(await count('books'), ROWS);

      const b = await getItem('books', 'b00100');
      assert.equal(b.title, 'Title, 100');
      assert.equal(b.year, 2000);
      assert.equal(b.isbn, '0000000100'); // declared TEXT: digits stay text
      assert.equal(b.price, 25);
      assert.equal(b.inStock, true);
      assert.deepEqual(b.tags, ['t0', 'all']);
      assert.deepEqual(b.published, { $date: '2020-01-02T12:00:00.000Z' });
      assert.equal(b.note, 'two\nlines');
      assert.ok(!('note' in (await getItem('books', 'b00007'))), 'an empty cell leaves the field out');

      // Again in words, as save: every row replaces its item.
      const again = await cairn('import', 'books', file, '--concurrency', '2');
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, new RegExp(`^Imported ${ROWS} of ${ROWS} items into books in [\\d.]+ s \\(\\d+ items/s\\): 0 inserted, ${ROWS} updated, 0 failed\\.\\n$`));
      assert.equal(await count('books'), ROWS);
    });

    it(`imports ${ROWS} JSON Lines from standard input, as insert`, async () => {
      const r = await run(env, ['import', 'events', '-', '--format', 'jsonl', '--mode', 'insert', '--batch-size', '700'], eventsJsonl());
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`^Imported ${ROWS} of ${ROWS} items into events .*${ROWS} inserted, 0 updated, 0 failed\\.\\n$`));
      assert.equal(await count('events'), ROWS);
      assert.equal(await count('events', { kind: 'click' }), Math.ceil(ROWS / 3));
      const e = await getItem('events', 'e00042');
      assert.equal(e.kind, 'click');
      assert.equal(e.n, 42);
      assert.deepEqual(e.meta, { at: { $date: '2024-05-01T10:00:00.000Z' }, list: [42, 'x', null] });
    });

    it('bad rows: each is reported with its line, the rest is written, exit 1', async () => {
      const lines = [];
      for (let i = 0; i < 2500; i++) {
        if (i === 10) lines.push('{not json');
        else if (i === 20) lines.push('[1, 2]');
        else if (i === 1500) lines.push(JSON.stringify({ _id: 'r1500', $bad: 1 })); // refused by the server: its batch is split
        else if (i === 2400) lines.push(JSON.stringify({ _id: 'r5' })); // a second r5: WDE0074 under insert
        else lines.push(JSON.stringify({ _id: `r${i}`, n: i }));
      }
      const file = join(dir, 'rejects.ndjson');
      writeFileSync(file, `${lines.join('\n')}\n`);
      const errors = join(dir, 'errors.jsonl');
      const r = await cairn('import', 'rejects', file, '--mode', 'insert', '--errors', errors, '--show-errors', '3');
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stdout, /^Imported 2496 of 2500 items into rejects .*: 2496 inserted, 0 updated, 4 failed\.\n$/);
      assert.deepEqual(r.stderr.trimEnd().split('\n'), [
        'line 11: INVALID_JSON: ' + r.stderr.split('\n')[0]!.replace(/^line 11: INVALID_JSON: /, ''),
        'line 21: INVALID_JSON: a line must hold a JSON object',
        'line 1501 (_id r1500): WDE0134: Field names cannot start with $: "$bad"',
        `... and 1 more (all in ${errors})`,
        'cairn: 4 of 2500 items failed to import',
      ]);
      const all = readFileSync(errors, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as { line: number; code: string; id?: string });
      assert.deepEqual(
        all.map((f) => [f.line, f.code, f.id]),
        [
          [11, 'INVALID_JSON', undefined],
          [21, 'INVALID_JSON', undefined],
          [1501, 'WDE0134', 'r1500'],
          [2401, 'WDE0074', 'r5'],
        ],
      );
      assert.equal(await count('rejects'), 2496);

      const csv = join(dir, 'rejects.csv');
      writeFileSync(csv, '_id,n\nc1,1\nc2,2,extra\nc3,3\n');
      const bad = await cairn('import', 'rejects', csv);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /^line 3: INVALID_CSV: Invalid Record Length.*\ncairn: 1 of 3 items failed to import\n$/);
    });

    it('export → import → export gives the same items (JSON Lines, CSV, and through the API cursors)', async () => {
      const jsonl = await cairn('export', 'events', '--quiet');
      assert.equal(jsonl.code, 0, jsonl.stderr);
      assert.equal(jsonl.stderr, '');
      const exported = jsonl.stdout.trimEnd().split('\n');
      assert.equal(exported.length, ROWS);
      assert.deepEqual(withoutDates(exported[42]!), { _id: 'e00042', _owner: withoutDates(exported[42]!)._owner, kind: 'click', n: 42, meta: { at: { $date: '2024-05-01T10:00:00.000Z' }, list: [42, 'x', null] } });
      const file = join(dir, 'events-export.jsonl');
      writeFileSync(file, jsonl.stdout);
      assert.equal((await cairn('import', 'events_copy', file, '--quiet')).code, 0);
      const back = await cairn('export', 'events_copy', '--quiet');
      assert.deepEqual(back.stdout.trimEnd().split('\n').map(withoutDates), exported.map(withoutDates));

      const csvFile = join(dir, 'books-export.csv');
      const csv = await cairn('export', 'books', '--out', csvFile);
      assert.equal(csv.code, 0, csv.stderr);
      assert.match(csv.stderr, new RegExp(`^Exported ${ROWS} items from books to .* in [\\d.]+ s \\(\\d+ items/s\\)\\.\\n$`));
      const text = readFileSync(csvFile, 'utf8');
      // _id, the declared fields, the first page's other fields as they come, the system fields.
      assert.equal(text.split('\n')[0], '_id,title,isbn,year,inStock,note,price,published,tags,_createdDate,_updatedDate,_owner');
      assert.equal((await cairn('import', 'books_csv', csvFile, '--quiet')).code, 0);
      const columns = '_id,title,isbn,year,price,inStock,tags,published,note,_owner';
      const [a, b] = await Promise.all([cairn('export', 'books', '--format', 'csv', '--columns', columns, '--quiet'), cairn('export', 'books_csv', '--format', 'csv', '--columns', columns, '--quiet')]);
      assert.equal(a.code, 0, a.stderr);
      assert.ok(a.stdout.length > ROWS * 50);
      assert.equal(b.stdout, a.stdout);
      // And the values came back typed, not as text.
      const [orig, copy] = await Promise.all([getItem('books', 'b00100'), getItem('books_csv', 'b00100')]);
      assert.deepEqual({ ...copy, _createdDate: null, _updatedDate: null }, { ...orig, _createdDate: null, _updatedDate: null });

      // --sort follows the API's cursors; --filter narrows.
      const sorted = await cairn('export', 'events', '--filter', '{"kind":"click","n":{"$lt":1000}}', '--sort', 'n:desc', '--quiet');
      assert.equal(sorted.code, 0, sorted.stderr);
      const ns = sorted.stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as { n: number }).n);
      assert.equal(ns.length, 334);
      assert.deepEqual(ns, [...ns].sort((x, y) => y - x));
    });

    it('tasks create --watch follows a task to COMPLETED (exit 0); list shows it; failures exit 1', async () => {
      const r = await cairn('tasks', 'create', '--collection', 'events', '--type', 'EDIT_FIELD_DATA', '--field', 'meta.list', '--add', '"added"', '--filter', '{"kind":"click"}', '--watch', '--interval', '100');
      assert.equal(r.code, 0, r.stderr);
      const clicks = Math.ceil(ROWS / 3);
      assert.match(r.stdout, new RegExp(`^Task \\S+ \\(EDIT_FIELD_DATA on events\\) COMPLETED in \\d+s: ${clicks} succeeded, 0 failed \\(estimated ${clicks}\\)\\.\\n$`));
      assert.deepEqual(((await getItem('events', 'e00003')).meta as { list: unknown[] }).list, [3, 'x', null, 'added']);
      assert.deepEqual(((await getItem('events', 'e00004')).meta as { list: unknown[] }).list, [4, 'x', null]);
      const id = /^Task (\S+)/.exec(r.stdout)![1]!;

      const list = await cairn('tasks', 'list');
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, new RegExp(`\\n${id} +EDIT_FIELD_DATA +events +COMPLETED +${clicks}/${clicks} +0 +\\S+\\n`));
      const listed = JSON.parse((await cairn('tasks', 'list', '--json')).stdout) as { id: string; status: string }[];
      assert.deepEqual(listed.map((t) => [t.id, t.status]), [[id, 'COMPLETED']]);

      // `kind` holds text, not arrays: every item fails, and the watch says so.
      const failing = await cairn('tasks', 'create', '--collection', 'events', '--type', 'EDIT_FIELD_DATA', '--field', 'kind', '--add', 'x', '--filter', '{"n":{"$lt":5}}', '--watch', '--show-errors', '2');
      assert.equal(failing.code, 1, failing.stderr);
      assert.match(failing.stdout, /COMPLETED in \d+s: 0 succeeded, 5 failed/);
      const errLines = failing.stderr.trimEnd().split('\n');
      assert.match(errLines[0]!, /^Created task \S+ \(5 items estimated\)\.$/);
      assert.match(errLines[1]!, /^item e0000\d: WDE0075: Field kind is not an array/);
      assert.equal(errLines[3], `... and 3 more (GET /cairn/v1/tasks/${/^Task (\S+)/.exec(failing.stdout)![1]}/failures)`);
      assert.match(errLines[4]!, /^cairn: task \S+ completed with 5 failed items$/);

      const del = await cairn('tasks', 'create', '--collection', 'events', '--type', 'DELETE_BY_QUERY', '--filter', '{"kind":"view"}', '--json');
      assert.equal(del.code, 0, del.stderr);
      const task = JSON.parse(del.stdout) as { id: string };
      const watched = await cairn('tasks', 'watch', task.id, '--json');
      assert.equal(watched.code, 0, watched.stderr);
      assert.equal(JSON.parse(watched.stdout).task.status, 'COMPLETED');
      assert.equal(await count('events'), clicks);

      const [unknown, wrongOption, missing] = await Promise.all([
        cairn('tasks', 'watch', 'no-such-task'),
        cairn('tasks', 'create', '--collection', 'events', '--type', 'DELETE_BY_QUERY', '--field', 'x'),
        cairn('tasks', 'create', '--collection', 'events', '--type', 'COPY_FIELD_DATA'),
      ]);
      assertFails(unknown, 1, /^cairn: WDE0073: Task \[no-such-task\] does not exist/);
      assertFails(wrongOption, 2, /--field does not apply to DELETE_BY_QUERY/);
      assertFails(missing, 2, /COPY_FIELD_DATA needs --source-field and --target-field/);
    });

    it('errors: a wrong key, an unknown collection, a server that is not there, bad usage', async () => {
      const port = await freePort();
      const [wrongKey, noKey, unknownImport, unknownExport, down, badFilter, noFile] = await Promise.all([
        run({ ...env, CAIRN_KEY: 'cairn_wrong' }, ['collections', 'list']),
        run(envWith({ CAIRN_URL: server.url }), ['import', 'books', join(dir, 'books.csv')]),
        cairn('import', 'nope', join(dir, 'books.csv')),
        cairn('export', 'nope'),
        cairn('export', 'books', '--url', `http://127.0.0.1:${port}`),
        cairn('export', 'books', '--filter', '{"a":'),
        cairn('import', 'books', join(dir, 'missing.csv')),
      ]);
      assertFails(wrongKey, 1, /^cairn: UNAUTHENTICATED: /);
      // Without a key: anonymous, and only admins insert into books.
      assertFails(noKey, 1, /^cairn: WDE0027: Permission denied: to insert items into collection \[books\]/);
      assertFails(unknownImport, 1, /^cairn: WDE0025: Collection \[nope\] does not exist/);
      assertFails(unknownExport, 1, /^cairn: WDE0025: /);
      assertFails(down, 1, new RegExp(`^cairn: cannot reach Cairn at http://127\\.0\\.0\\.1:${port}: connection refused`));
      assertFails(badFilter, 2, /--filter.*Not valid JSON/);
      assertFails(noFile, 1, /cannot read .*missing\.csv: no such file/);
      assert.equal(await count('books'), ROWS);

      // Anyone reads events (the default permissions): no key needed, CSV columns from the first page.
      const anonymous = await run(envWith({ CAIRN_URL: server.url }), ['export', 'events', '--format', 'csv', '--quiet']);
      assert.equal(anonymous.code, 0, anonymous.stderr);
      assert.match(anonymous.stdout, /^_id,kind,meta,n,_createdDate,_updatedDate,_owner\n/);
      const members = await run(envWith({ CAIRN_URL: server.url }), ['export', 'books']);
      assertFails(members, 1, /^cairn: WDE0027: /);
    });
  });
}

describe('cairn data commands without a server', () => {
  it('--help on every command', async () => {
    const commands = [['collections', 'list'], ['collections', 'create'], ['import'], ['export'], ['tasks', 'create'], ['tasks', 'list'], ['tasks', 'watch'], ['tasks', 'cancel']];
    const helps = await Promise.all(commands.map((c) => run(envWith({}), [...c, '--help'])));
    helps.forEach((h, i) => {
      assert.equal(h.code, 0, h.stderr);
      assert.match(h.stdout, new RegExp(`^Usage: cairn ${commands[i]!.join(' ')}`));
      assert.match(h.stdout, /--url <url>\s.*\(default:\s+"http:\/\/127\.0\.0\.1:8080",\s+env: CAIRN_URL\)/s);
      assert.match(h.stdout, /--key <key>\s.*\(env:\s+CAIRN_KEY\)/s);
    });
  });
});
