/**
 * Section `patch`: a 1000-item BulkPatch (SET_FIELD + INCREMENT_FIELD) over HTTP, beside the
 * same change made by one hand-written UPDATE on the same database, in its own transaction with
 * the one INSERT that records its events (as the tasks section's baseline does).
 * Two forms: every patch carries the same values (the hand-written statement is one UPDATE over
 * the id list), and every patch sets its own title (the hand-written statement reads each row's
 * title from the (id, title) pairs it is given).
 */
import type { Executor } from '../src/store/db.js';
import { join, sql, type Sql } from '../src/store/sql.js';
import {
  createCollection,
  analyze,
  fmt,
  loadItems,
  log,
  median,
  openBenchStore,
  rawEventsInsert,
  sleep,
  startCairn,
  timeRuns,
  type BenchOptions,
  type LoadGenerator,
  type Row,
  BENCH_ADMIN_KEY,
} from './common.js';

const COLLECTION = 'patched';
const BATCH = 1000;
const PATH = '/wix-data/v2/bulk/items/patch';

function patchBody(ids: readonly string[], title: (i: number) => string): string {
  return JSON.stringify({
    dataCollectionId: COLLECTION,
    patches: ids.map((id, i) => ({
      dataItemId: id,
      fieldModifications: [
        { fieldPath: 'title', action: 'SET_FIELD', setFieldOptions: { value: title(i) } },
        { fieldPath: 'count', action: 'INCREMENT_FIELD', incrementFieldOptions: { value: 1 } },
      ],
    })),
  });
}

/** The same change as one UPDATE: one title for all, or one per id. */
function rawPatch(dialect: 'sqlite' | 'postgres', ids: readonly string[], titles: readonly string[] | string, now: string): Sql {
  const scope = sql`collection_id = ${COLLECTION} AND env = 'LIVE'`;
  const itemsScope = sql`items.collection_id = ${COLLECTION} AND items.env = 'LIVE'`;
  if (dialect === 'sqlite') {
    const set = (title: Sql) =>
      sql`data = json_set(data, '$.title', ${title}, '$.count', coalesce(json_extract(data, '$.count'), 0) + 1, '$._updatedDate', json_object('$date', ${now})), updated_date = ${now}`;
    if (typeof titles === 'string') {
      return sql`UPDATE items SET ${set(sql`${titles}`)} WHERE ${scope} AND id IN (${join(
        ids.map((id) => sql`${id}`),
        ', ',
      )})`;
    }
    // One title per id: the pairs travel as one JSON object, read back per row by key (SQLite
    // plans UPDATE ... FROM (VALUES ...) as a scan of the collection per VALUES row).
    const map = JSON.stringify(Object.fromEntries(ids.map((id, i) => [id, titles[i]])));
    return sql`UPDATE items SET ${set(sql`json_extract(${map}, '$."' || id || '"')`)}
      WHERE ${scope} AND id IN (SELECT key FROM json_each(${map}))`;
  }
  const set = (title: Sql) =>
    sql`data = jsonb_set(jsonb_set(jsonb_set(data, '{title}', to_jsonb(${title}::text)), '{count}', to_jsonb(coalesce((data->>'count')::bigint, 0) + 1)), '{_updatedDate}', jsonb_build_object('$date', ${now}::text)), updated_date = ${now}`;
  if (typeof titles === 'string') return sql`UPDATE items SET ${set(sql`${titles}`)} WHERE ${scope} AND id = ANY(${[...ids]}::text[])`;
  return sql`UPDATE items SET ${set(sql`v.vtitle`)} FROM unnest(${[...ids]}::text[], ${[...titles]}::text[]) AS v (vid, vtitle)
    WHERE ${itemsScope} AND items.id = v.vid`;
}

/** The events the change records: one per patched item, with its document as written. */
function rawEvents(dialect: 'sqlite' | 'postgres', ids: readonly string[], now: string): Sql {
  const idIn = dialect === 'postgres' ? sql`id = ANY(${[...ids]}::text[])` : sql`id IN (${join(ids.map((id) => sql`${id}`), ', ')})`;
  return rawEventsInsert(dialect, 'wix.data.v2.data_item_updated', sql`collection_id = ${COLLECTION} AND env = 'LIVE' AND ${idIn}`, sql`data`, now);
}

export async function patchSection(opts: BenchOptions, load: LoadGenerator): Promise<Row[]> {
  const rows: Row[] = [];
  const n = 10_000;
  const runs = opts.quick ? 20 : 60;
  const seconds = opts.quick ? 4 : 10;
  const warmup = opts.quick ? 1 : 2;
  for (const storeName of opts.stores) {
    log(`[patch] ${storeName}: loading ${n} items`);
    const store = await openBenchStore(storeName);
    const server = await startCairn(store);
    try {
      await createCollection(server.cairn, COLLECTION);
      const all = await loadItems(store, COLLECTION, n);
      await analyze(store);
      const ids = all.filter((_, i) => i % (n / BATCH) === 0);
      const d = store.db.dialect;

      for (const form of ['same values', 'own values'] as const) {
        const titles = form === 'same values' ? 'patched' : ids.map((_, i) => `patched title ${i}`);
        const body = patchBody(ids, (i) => (typeof titles === 'string' ? titles : (titles[i] as string)));

        // One request on its own: it does what it says (1000 successes). Run after each load
        // too: autocannon stops without waiting for requests the server is still working on, and
        // the next measurement must not overlap them (nor the hand-written UPDATE lock rows
        // they hold).
        const check = async () => {
          await sleep(300);
          const res = await fetch(server.url + PATH, { method: 'POST', headers: { 'content-type': 'application/json', authorization: BENCH_ADMIN_KEY }, body });
          const reply = (await res.json()) as { bulkActionMetadata?: { totalSuccesses: number } };
          if (reply.bulkActionMetadata?.totalSuccesses !== BATCH) throw new Error(`bulk patch: ${res.status} ${JSON.stringify(reply).slice(0, 300)}`);
        };
        await check();

        const req = { url: server.url, method: 'POST' as const, path: PATH, body };
        await load.run({ ...req, connections: 1, amount: 5 });
        const single = await load.run({ ...req, connections: 1, amount: runs });
        await check();
        // Sustained means steady state: a warm-up at the same load first, as the http section
        // does (the first seconds run slower while V8 sizes its heap).
        await load.run({ ...req, connections: 4, duration: warmup });
        await check();
        const sustained = await load.run({ ...req, connections: 4, duration: seconds });
        await check();
        for (const r of [single, sustained]) if (r.errors || r.non2xx) throw new Error(`bulk patch load: ${r.errors} errors, ${r.non2xx} non-2xx`);

        const rawRun = async (tx: Executor) => {
          const now = new Date().toISOString();
          const changed = await tx.run(rawPatch(d, ids, titles, now));
          await tx.run(rawEvents(d, ids, now));
          return changed;
        };
        const changed = await store.db.transaction(rawRun);
        if (changed !== BATCH) throw new Error(`hand-written patch changed ${changed} rows`);
        const rawMs = median(await timeRuns(() => store.db.transaction(rawRun), runs));

        const itemsPerSec = sustained.rps * BATCH;
        const rawItemsPerSec = (BATCH / rawMs) * 1000;
        log(
          `[patch] ${storeName} ${form}: HTTP p50 ${fmt(single.p50)} ms (p99 ${fmt(single.p99)}), raw ${fmt(rawMs)} ms; sustained ${fmt(itemsPerSec)} items/s`,
        );
        rows.push(
          {
            section: 'patch',
            store: storeName,
            metric: `BulkPatch 1000 items, ${form}, ms median over HTTP`,
            measured: fmt(single.p50),
            baseline: `${fmt(rawMs)} (one UPDATE + its events)`,
            ratio: single.p50 / rawMs,
            target: 'ratio ≤ 3',
            pass: single.p50 / rawMs <= 3,
          },
          {
            section: 'patch',
            store: storeName,
            metric: `BulkPatch ${form}, sustained items/s (4 connections)`,
            measured: fmt(itemsPerSec),
            baseline: `${fmt(rawItemsPerSec)} (one UPDATE + its events per 1000)`,
            ratio: itemsPerSec / rawItemsPerSec,
            target: storeName === 'sqlite' ? '≥ 100,000/s' : '—',
            pass: storeName === 'sqlite' ? itemsPerSec >= 100_000 : undefined,
          },
        );
      }
    } finally {
      await server.close();
      await store.close();
    }
  }
  return rows;
}
