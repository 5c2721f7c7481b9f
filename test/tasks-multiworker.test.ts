/**
 * Several task workers on one PostgreSQL schema, as real processes: one API server with its
 * in-process runner switched off (CAIRN_RUN_TASKS=0) and three `src/worker.ts` processes. The
 * workers claim tasks with `FOR UPDATE SKIP LOCKED` and leases (docs/tasks.md, "Execution
 * model"), so every task runs in exactly one worker at a time and every item is changed exactly
 * once, even when a worker is killed with SIGKILL in the middle of a task and another one takes
 * it over after its lease runs out.
 *
 * PostgreSQL only (SQLite has one writer at a time, and the queue sharing it is about is
 * PostgreSQL's): with DATABASE_URL unset this file has no tests; under CI=true DATABASE_URL is
 * required (helpers/stores.ts), so it always runs there.
 *
 * The workers run with CAIRN_LOG_LEVEL=debug, which makes them log one line per committed batch
 * (worker id, task id, time): that is how the test sees which worker ran what.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_NAMES, openTestStore, type TestStore } from './helpers/stores.js';
import { call } from './helpers/server.js';
import { spawnServer, spawnWorker, killAll, type Child, type ServerChild } from './helpers/process.js';
import { sql } from '../src/store/sql.js';

const DATA = '/wix-data/v2';
const TASKS = '/cms/v1/tasks';
const BATCH = 100;
// Long enough that a worker stalled on a loaded CI machine keeps its lease between two batches
// (a takeover would fail the one-worker-per-task checks); the kill test waits it out once.
const LEASE_MS = 4000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface BatchLine {
  time: number;
  workerId: string;
  taskId: string;
  outcome: 'more' | 'done';
}

/** Batches a full run of `items` items takes: full batches, then one short (maybe empty) one. */
const batchesFor = (items: number) => Math.floor(items / BATCH) + 1;

function initialTags(n: number): string[] | undefined {
  if (n % 5 === 0) return undefined;
  if (n % 5 === 1) return [];
  return ['a', `t${n % 3}`];
}

const itemId = (n: number) => `i${String(n).padStart(5, '0')}`;

for (const storeName of STORE_NAMES.filter((n) => n === 'postgres')) {
  describe(`three workers share the task queue (${storeName})`, () => {
    let store: TestStore;
    let server: ServerChild;
    const workers = new Map<string, Child>();

    before(async () => {
      store = await openTestStore(storeName);
      const url = store.url as string;
      server = await spawnServer({ DATABASE_URL: url, CAIRN_RUN_TASKS: '0' });
      await Promise.all(
        ['w1', 'w2', 'w3'].map(async (id) => {
          workers.set(
            id,
            await spawnWorker({
              DATABASE_URL: url,
              CAIRN_WORKER_ID: id,
              CAIRN_TASK_BATCH_SIZE: String(BATCH),
              CAIRN_TASK_MAX_BATCH_SIZE: String(BATCH),
              CAIRN_TASK_LEASE_MS: String(LEASE_MS),
              CAIRN_LOG_LEVEL: 'debug',
            }),
          );
        }),
      );
    });
    after(async () => {
      await killAll();
      await store?.close();
    });

    const api = (method: string, path: string, body?: unknown) => call(server.url, method, path, body);

    /** Every committed batch every worker has logged so far, in time order. */
    function batchLines(): BatchLine[] {
      const out: BatchLine[] = [];
      for (const w of workers.values()) {
        for (const l of w.lines) {
          if (!l.includes('task batch committed')) continue;
          out.push(JSON.parse(l) as BatchLine);
        }
      }
      return out.sort((a, b) => a.time - b.time);
    }

    async function collectionWithItems(id: string, count: number) {
      const c = await api('POST', `${DATA}/collections`, { collection: { id } });
      assert.equal(c.status, 200, JSON.stringify(c.body));
      for (let i = 0; i < count; i += 1000) {
        const dataItems = Array.from({ length: Math.min(1000, count - i) }, (_, k) => {
          const tags = initialTags(i + k);
          return { id: itemId(i + k), data: tags === undefined ? { n: i + k } : { n: i + k, tags } };
        });
        const r = await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: id, dataItems });
        assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 500));
        assert.equal(r.body.bulkActionMetadata.totalSuccesses, dataItems.length);
      }
    }

    async function addItemsTask(collectionId: string, value: string): Promise<string> {
      const r = await api('POST', TASKS, {
        task: { type: 'EDIT_FIELD_DATA', editFieldDataOptions: { dataCollectionId: collectionId, fieldKey: 'tags', operations: { addItems: [value] } } },
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.task.id;
    }

    async function waitFinished(ids: string[], timeoutMs = 60_000): Promise<Map<string, any>> {
      const deadline = Date.now() + timeoutMs;
      const done = new Map<string, any>();
      while (done.size < ids.length) {
        for (const id of ids) {
          if (done.has(id)) continue;
          const r = await api('GET', `${TASKS}/${id}`);
          assert.equal(r.status, 200, JSON.stringify(r.body));
          if (r.body.task.status === 'COMPLETED' || r.body.task.status === 'FAILED') done.set(id, r.body.task);
        }
        if (done.size < ids.length) {
          assert.ok(Date.now() < deadline, `tasks still running after ${timeoutMs} ms: ${ids.filter((id) => !done.has(id)).join(', ')}`);
          await sleep(100);
        }
      }
      return done;
    }

    /**
     * A worker logs a batch after it commits it, and the line reaches this process through a
     * pipe: a task can read COMPLETED before its last batch's line is in. Waits until each task's
     * 'done' line has arrived (a worker's lines arrive in order, so its earlier ones have too).
     */
    async function untilLogged(ids: string[], timeoutMs = 30_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      const missing = () => ids.filter((id) => !batchLines().some((l) => l.taskId === id && l.outcome === 'done'));
      while (missing().length > 0) {
        assert.ok(Date.now() < deadline, `no 'done' batch logged after ${timeoutMs} ms for: ${missing().join(', ')}`);
        await sleep(50);
      }
    }

    /** Checks every item's tags: its initial array plus each added value exactly once. */
    async function assertAddedOnce(collectionId: string, count: number, values: string[]) {
      const rows = await store.db.all<{ id: string; data: any }>(sql`SELECT id, data FROM items WHERE collection_id = ${collectionId}`);
      assert.equal(rows.length, count);
      const byId = new Map(rows.map((r) => [r.id, typeof r.data === 'string' ? JSON.parse(r.data) : r.data]));
      const wrong: string[] = [];
      for (let n = 0; n < count; n++) {
        const tags: unknown = byId.get(itemId(n))?.tags;
        const initial = initialTags(n) ?? [];
        const ok =
          Array.isArray(tags) &&
          JSON.stringify(tags.slice(0, initial.length)) === JSON.stringify(initial) &&
          JSON.stringify(tags.slice(initial.length).sort()) === JSON.stringify([...values].sort());
        if (!ok) wrong.push(`${collectionId}/${itemId(n)}: ${JSON.stringify(tags)}`);
      }
      assert.equal(wrong.length, 0, `items not edited exactly once by each task:\n${wrong.slice(0, 5).join('\n')}`);
    }

    test('twelve tasks over four collections: each runs in one worker, every item gets each value exactly once', async () => {
      const COLLECTIONS = ['mw_a', 'mw_b', 'mw_c', 'mw_d'];
      const COUNT = 1500;
      for (const c of COLLECTIONS) await collectionWithItems(c, COUNT);
      // Three tasks per collection, created together: they run at the same time in different
      // workers and edit the same rows (each batch locks its rows).
      const tasks: { id: string; collection: string; value: string }[] = [];
      for (let k = 0; k < 3; k++) {
        for (const c of COLLECTIONS) {
          const value = `${c}_v${k}`;
          tasks.push({ id: await addItemsTask(c, value), collection: c, value });
        }
      }
      const finished = await waitFinished(tasks.map((t) => t.id));
      for (const t of tasks) {
        const task = finished.get(t.id);
        assert.equal(task.status, 'COMPLETED', JSON.stringify(task));
        assert.equal(task.itemsSucceeded, COUNT);
        assert.equal(task.itemsFailed, 0);
      }
      for (const c of COLLECTIONS) {
        await assertAddedOnce(c, COUNT, tasks.filter((t) => t.collection === c).map((t) => t.value));
      }

      // The workers' batch logs: each task ran all its batches in one worker, never two.
      await untilLogged(tasks.map((t) => t.id));
      const lines = batchLines();
      const used = new Set<string>();
      for (const t of tasks) {
        const mine = lines.filter((l) => l.taskId === t.id);
        const by = new Set(mine.map((l) => l.workerId));
        assert.equal(by.size, 1, `task ${t.id} ran in ${[...by].join(', ')}`);
        assert.equal(mine.length, batchesFor(COUNT), `task ${t.id}: ${mine.length} batches`);
        assert.deepEqual(
          mine.map((l) => l.outcome),
          [...Array(batchesFor(COUNT) - 1).fill('more'), 'done'],
        );
        used.add([...by][0] as string);
      }
      assert.ok(used.size >= 2, `the twelve tasks all ran in ${[...used].join(', ')}`);
      // Claims: one per task (no task was taken over).
      const rows = await store.db.all<{ id: string; attempts: unknown; locked_by: unknown }>(sql`SELECT id, attempts, locked_by FROM tasks`);
      for (const t of tasks) {
        const row = rows.find((r) => r.id === t.id);
        assert.equal(Number(row?.attempts), 1, t.id);
        assert.equal(row?.locked_by, null);
      }
    });

    test('a worker killed with SIGKILL mid-task: another worker resumes the task after the lease and finishes it', async () => {
      const COUNT = 6000;
      await collectionWithItems('mw_kill', COUNT);
      const id = await addItemsTask('mw_kill', 'k');

      // Wait until some worker is well into the task, then kill that worker.
      let owner: string | undefined;
      const deadline = Date.now() + 30_000;
      for (;;) {
        const row = await store.db.get<{ locked_by: string | null; items_succeeded: unknown; status: string }>(
          sql`SELECT locked_by, items_succeeded, status FROM tasks WHERE id = ${id}`,
        );
        assert.ok(row && row.status !== 'COMPLETED' && row.status !== 'FAILED', `the task ended before a worker was killed: ${JSON.stringify(row)}`);
        if (row.locked_by && Number(row.items_succeeded) >= 1000) {
          owner = row.locked_by;
          break;
        }
        assert.ok(Date.now() < deadline, 'no worker got far into the task');
        await sleep(5);
      }
      const victim = workers.get(owner);
      assert.ok(victim, `unknown worker ${owner}`);
      await victim.kill();
      const killedAt = Date.now();
      const before = await api('GET', `${TASKS}/${id}`);
      assert.equal(before.body.task.status, 'RUNNING');
      assert.ok(before.body.task.itemsSucceeded < COUNT);

      const task = (await waitFinished([id])).get(id);
      assert.equal(task.status, 'COMPLETED', JSON.stringify(task));
      assert.equal(task.itemsSucceeded, COUNT);
      assert.equal(task.itemsFailed, 0);
      await assertAddedOnce('mw_kill', COUNT, ['k']);

      // Two claims: the killed worker's and the one that resumed it.
      const row = await store.db.get<{ attempts: unknown }>(sql`SELECT attempts FROM tasks WHERE id = ${id}`);
      assert.equal(Number(row?.attempts), 2);
      // The batch logs: the killed worker's batches, then another worker's, resuming after the
      // kill (the lease ran out first) and finishing the task; never both.
      await untilLogged([id]);
      const lines = batchLines().filter((l) => l.taskId === id);
      const killed = lines.filter((l) => l.workerId === owner);
      const resumed = lines.filter((l) => l.workerId !== owner);
      assert.ok(killed.length >= 9, `the killed worker logged ${killed.length} batches`);
      assert.ok(resumed.length >= 1, 'no other worker ran the task');
      assert.equal(new Set(resumed.map((l) => l.workerId)).size, 1, 'one worker resumed the task');
      assert.ok(resumed[0]!.time >= killedAt, 'the task was resumed only after the kill');
      assert.ok(resumed[0]!.time >= killed[killed.length - 1]!.time);
      assert.equal(resumed[resumed.length - 1]!.outcome, 'done');
      // Resumed from the cursor, not started over: the batches add up to one run (the killed
      // worker may have died between a commit and its log line).
      const total = killed.length + resumed.length;
      assert.ok(total === batchesFor(COUNT) || total === batchesFor(COUNT) - 1, `${total} batches logged`);
    });
  });
}
