/**
 * Section `tasks`: background tasks run by the real TaskRunner (in the server process, created
 * through TaskService, timed from creation to the commit of the runner's last batch), beside the
 * same change made by one hand-written SQL statement on a copy of the same items in the same
 * table. Both sizes give the scaling figure.
 *
 * The server process's RSS is sampled every 100 ms while each task runs. At the larger size each
 * task runs once more, on a second copy, while the load generator's child process sends GET by
 * id at a steady rate; its latency is set beside the same load with no task running.
 */
import type { JsonObject } from '../src/wire/json.js';
import { sql, type Sql } from '../src/store/sql.js';
import type { Executor } from '../src/store/db.js';
import {
  analyze,
  settle,
  copyItems,
  countItems,
  createCollection,
  fmt,
  loadItems,
  log,
  openBenchStore,
  rawEventsInsert,
  startCairn,
  type BenchOptions,
  type LoadGenerator,
  type LoadRequest,
  type BenchStore,
  type LoadResult,
  type LoadedIds,
  type Row,
  type StoreName,
} from './common.js';

const WORK = 'work';
const COPY = 'work_copy';
const LOADED = 'work_loaded';
const RANDOM = 'random_ids';
const RANDOM_COPY = 'random_ids_copy';
const PROBE = 'probe';

/**
 * The ids of the items a task works through. `time-ordered`: the ids Cairn gives items inserted
 * without `_id` (UUID v7), so id order is creation order, as in a collection filled through
 * Cairn. `random`: ids a caller brought (UUID v4, items imported from Wix, say): a walk in id
 * order then visits the `_createdDate` index (and, on PostgreSQL, the heap) at random places.
 */
type Dataset = LoadedIds;
const DATASETS: Dataset[] = ['time-ordered', 'random'];
/** Where each dataset's task runs, and the copy its hand-written statement changes. */
const COLLECTIONS: Record<Dataset, { work: string; copy: string }> = {
  'time-ordered': { work: WORK, copy: COPY },
  random: { work: RANDOM, copy: RANDOM_COPY },
};

type Kind = 'EDIT_FIELD_DATA' | 'DELETE_BY_QUERY';
const KINDS: Kind[] = ['EDIT_FIELD_DATA', 'DELETE_BY_QUERY'];

interface Measured {
  taskMs: number;
  rawMs: number;
  /** The larger growth of the two runs (alone, and under read load). */
  rss: { startMb: number; growthMb: number };
  during?: LoadResult;
  idle?: LoadResult;
}

function taskOf(kind: Kind, collectionId: string): JsonObject {
  return kind === 'EDIT_FIELD_DATA'
    ? { type: kind, editFieldDataOptions: { dataCollectionId: collectionId, fieldKey: 'tags', operations: { addItems: ['bench'] } } }
    : { type: kind, deleteByQueryOptions: { dataCollectionId: collectionId } };
}

/**
 * The task's change as one statement on the copy (same documents, same ids), followed in the same
 * transaction by the one statement that records its events: since issue 5 every change a task
 * makes records an event per item (src/events/outbox.ts), so the hand-written equivalent does too.
 */
function rawOf(kind: Kind, dialect: 'sqlite' | 'postgres', collectionId: string, now: string): { change: Sql; events: Sql } {
  const scope = sql`collection_id = ${collectionId} AND env = 'LIVE'`;
  const eventsOf = (type: string, data: Sql) => rawEventsInsert(dialect, type, scope, data, now);
  if (kind === 'DELETE_BY_QUERY') {
    // Events first: they are read from the rows about to go.
    return { events: eventsOf('wix.data.v2.data_item_deleted', sql`NULL`), change: sql`DELETE FROM items WHERE ${scope}` };
  }
  const change =
    dialect === 'sqlite'
      ? sql`UPDATE items SET data = json_set(data,
            '$.tags', json_insert(coalesce(json_extract(data, '$.tags'), '[]'), '$[#]', ${'bench'}),
            '$._updatedDate', json_object('$date', ${now})), updated_date = ${now}
          WHERE ${scope}`
      : sql`UPDATE items SET data = jsonb_set(jsonb_set(data,
            '{tags}', coalesce(data->'tags', '[]'::jsonb) || jsonb_build_array(${'bench'}::text)),
            '{_updatedDate}', jsonb_build_object('$date', ${now}::text)), updated_date = ${now}
          WHERE ${scope}`;
  return { change, events: eventsOf('wix.data.v2.data_item_updated', sql`data`) };
}

/** Runs the hand-written change and its events in one transaction; resolves to the items changed. */
function runRaw(tx: Executor, kind: Kind, collectionId: string): Promise<number> {
  const { change, events } = rawOf(kind, tx.dialect, collectionId, new Date().toISOString());
  return kind === 'DELETE_BY_QUERY'
    ? tx.run(events).then(() => tx.run(change))
    : tx.run(change).then(async (n: number) => {
        await tx.run(events);
        return n;
      });
}

function rssSampler(): { stop(): { startMb: number; growthMb: number } } {
  const start = process.memoryUsage().rss;
  let max = start;
  const timer = setInterval(() => {
    max = Math.max(max, process.memoryUsage().rss);
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      max = Math.max(max, process.memoryUsage().rss);
      return { startMb: start / 2 ** 20, growthMb: (max - start) / 2 ** 20 };
    },
  };
}

type SizeResult = Record<Dataset, Record<Kind, Measured>>;

async function runSize(storeName: StoreName, n: number, large: boolean, load: LoadGenerator): Promise<SizeResult> {
  const finished = new Map<string, number>();
  const waiters = new Map<string, () => void>();
  const store = await openBenchStore(storeName);
  const server = await startCairn(store, {
    afterBatch: (taskId, outcome) => {
      if (outcome !== 'done') return;
      finished.set(taskId, performance.now());
      waiters.get(taskId)?.();
    },
  });
  const { cairn } = server;
  const size = n.toLocaleString('en-US');

  /** Creates the task, waits for its last batch; returns ms from creation to that batch's commit. */
  const runTask = async (kind: Kind, collectionId: string): Promise<number> => {
    const t0 = performance.now();
    const created = await cairn.tasks.create(taskOf(kind, collectionId));
    const id = String(created.id);
    if (!finished.has(id)) await new Promise<void>((resolve) => waiters.set(id, resolve));
    const ms = (finished.get(id) as number) - t0;
    const task = await cairn.tasks.get(id);
    if (task.status !== 'COMPLETED' || task.itemsSucceeded !== n || task.itemsFailed !== 0) {
      throw new Error(`${kind} task ended ${JSON.stringify(task).slice(0, 400)}`);
    }
    return ms;
  };

  const out = { 'time-ordered': {}, random: {} } as SizeResult;
  try {
    const t = performance.now();
    for (const c of [WORK, COPY, LOADED, RANDOM, RANDOM_COPY, PROBE]) await createCollection(cairn, c);
    await loadItems(store, WORK, n, 0, 'time-ordered');
    await copyItems(store, WORK, COPY);
    // The same items once more for the runs under read load, at every size: all runs see a
    // table of the same make-up.
    await copyItems(store, WORK, LOADED);
    await loadItems(store, RANDOM, n, 0, 'random');
    await copyItems(store, RANDOM, RANDOM_COPY);
    const probeIds = await loadItems(store, PROBE, 1000);
    await analyze(store);
    log(`[tasks] ${storeName} ${size}: loaded ${size} items twice (time-ordered and random ids) and three copies in ${fmt((performance.now() - t) / 1000)} s`);

    // Throughput: the task alone, then the same change (and its events) as one statement each on the copy.
    for (const dataset of DATASETS) {
      const { work, copy } = COLLECTIONS[dataset];
      for (const kind of KINDS) {
        await settle(store);
        const sampler = rssSampler();
        const taskMs = await runTask(kind, work);
        const rss = sampler.stop();
        await settle(store);
        const r0 = performance.now();
        const changed = await store.db.transaction((tx) => runRaw(tx, kind, copy));
        const rawMs = performance.now() - r0;
        if (changed !== n) throw new Error(`hand-written ${kind} changed ${changed} rows, not ${n}`);
        await check(store, kind, [work, copy]);
        log(`[tasks] ${storeName} ${size} ${kind}, ${dataset} ids: task ${fmt(taskMs / 1000)} s, one statement ${fmt(rawMs / 1000)} s; RSS +${fmt(rss.growthMb)} MB`);
        out[dataset][kind] = { taskMs, rawMs, rss };
      }
    }

    // Latency: GET by id at a steady 200 requests/s from 8 connections (latency, not throughput),
    // with no task running, then while the task runs on the other copy.
    if (large) {
      const probe: LoadRequest = {
        url: server.url,
        paths: probeIds.map((id) => `/wix-data/v2/items/${id}?dataCollectionId=${PROBE}`),
        connections: 8,
        overallRate: 200,
      };
      // Untimed: the server's first HTTP requests (cold code, the first reads of the probe's
      // pages) would otherwise land in the first baseline.
      await load.run({ ...probe, duration: 1 });
      for (const kind of KINDS) {
        await settle(store);
        const idle = await load.run({ ...probe, duration: 3 });
        const sampler = rssSampler();
        const during = await load.start(probe);
        const taskMs = await runTask(kind, LOADED);
        during.stop();
        const busy = await during.done;
        const rss = sampler.stop();
        for (const r of [idle, busy]) if (r.errors || r.non2xx) throw new Error(`GET during ${kind}: ${r.errors} errors, ${r.non2xx} non-2xx`);
        await check(store, kind, [LOADED]);
        const m = out['time-ordered'][kind];
        m.idle = idle;
        m.during = busy;
        m.rss = m.rss && m.rss.growthMb > rss.growthMb ? m.rss : rss;
        log(
          `[tasks] ${storeName} ${size} ${kind} under 200 GET/s: task ${fmt(taskMs / 1000)} s; GET p99 ${fmt(busy.p99)} ms ` +
            `(${busy.requests} requests, max ${fmt(busy.max)}), ${fmt(idle.p99)} ms with no task; RSS +${fmt(rss.growthMb)} MB`,
        );
      }
    }
  } finally {
    await server.close();
    await store.close();
  }
  return out;
}

/** The task (or statement) did its work: edited items carry the new tag; deleted ones are gone. */
async function check(store: BenchStore, kind: Kind, collections: string[]): Promise<void> {
  for (const c of collections) {
    if (kind === 'DELETE_BY_QUERY') {
      const left = await countItems(store, c);
      if (left !== 0) throw new Error(`${left} items left in ${c} after the delete`);
      continue;
    }
    const rows = await store.db.all<{ data: string }>(sql`SELECT data FROM items WHERE collection_id = ${c} LIMIT 1000`);
    for (const r of rows) {
      const tags = (JSON.parse(r.data) as { tags: unknown[] }).tags;
      if (tags.length !== 3 || tags[2] !== 'bench') throw new Error(`edit not applied in ${c}: ${r.data}`);
    }
  }
}

export async function tasksSection(opts: BenchOptions, load: LoadGenerator): Promise<Row[]> {
  const rows: Row[] = [];
  const [small, big] = opts.quick ? [10_000, 100_000] : [100_000, 1_000_000];
  const label = (n: number) => (n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`);
  /** How the rows name a dataset: Cairn's own ids are the plain case. */
  const idsNote = (d: Dataset) => (d === 'random' ? ', random ids' : '');
  for (const storeName of opts.stores) {
    const results = new Map<number, SizeResult>();
    for (const n of [small, big]) results.set(n, await runSize(storeName, n, n === big, load));
    for (const dataset of DATASETS) {
      for (const n of [small, big]) {
        const r = (results.get(n) as SizeResult)[dataset];
        for (const kind of KINDS) {
          const m = r[kind];
          const perSec = (n / m.taskMs) * 1000;
          const rawPerSec = (n / m.rawMs) * 1000;
          rows.push({
            section: 'tasks',
            store: storeName,
            metric: `${kind} on ${label(n)} items${idsNote(dataset)}, items/s`,
            measured: fmt(perSec),
            baseline: `${fmt(rawPerSec)} (one statement + its events, on a copy)`,
            ratio: perSec / rawPerSec,
            target: 'ratio ≥ 0.5',
            pass: perSec / rawPerSec >= 0.5,
          });
        }
      }
    }
    const bigR = (results.get(big) as SizeResult)['time-ordered'];
    for (const kind of KINDS) {
      const m = bigR[kind];
      if (m.rss) {
        rows.push({
          section: 'tasks',
          store: storeName,
          metric: `${kind} on ${label(big)}: RSS growth while it runs, MB`,
          measured: fmt(m.rss.growthMb),
          baseline: `${fmt(m.rss.startMb)} (RSS at start)`,
          ratio: undefined,
          target: '< 100 MB',
          pass: m.rss.growthMb < 100,
        });
      }
      if (m.during && m.idle) {
        rows.push({
          section: 'tasks',
          store: storeName,
          metric: `${kind} on ${label(big)}: GET by id p99 while it runs, ms (200 req/s)`,
          measured: fmt(m.during.p99),
          baseline: `${fmt(m.idle.p99)} (no task running)`,
          ratio: m.during.p99 / m.idle.p99,
          target: '< 50 ms',
          pass: m.during.p99 < 50,
        });
      }
    }
    // Scaling, with the one statement's own scaling beside it: on random ids both grow faster
    // than the item count (docs/benchmarks.md says why).
    for (const dataset of DATASETS) {
      const bigD = (results.get(big) as SizeResult)[dataset];
      const smallD = (results.get(small) as SizeResult)[dataset];
      for (const kind of KINDS) {
        const m = bigD[kind];
        const scale = m.taskMs / smallD[kind].taskMs;
        const rawScale = m.rawMs / smallD[kind].rawMs;
        rows.push({
          section: 'tasks',
          store: storeName,
          metric: `${kind} scaling${idsNote(dataset)}: time(${label(big)}) / time(${label(small)})`,
          measured: `${fmt(m.taskMs / 1000)} s`,
          baseline: `${fmt(smallD[kind].taskMs / 1000)} s (one statement: ${fmt(rawScale)}×)`,
          ratio: scale,
          target: 'ratio ≤ 11',
          pass: scale <= 11,
        });
      }
    }
  }
  return rows;
}
