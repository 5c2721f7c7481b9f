/**
 * Section `query`: queries through the items service (ItemService.query: scope, parse, compile,
 * SQL, wire items) on 100,000 items, beside the same query hand-written as one SQL statement on
 * the same database (what a developer would write for that table and index).
 */
import { ADMIN_CONTEXT } from '../src/items/service.js';
import type { Executor } from '../src/store/db.js';
import { raw, sql, type Sql } from '../src/store/sql.js';
import {
  analyze,
  createCollection,
  fmt,
  loadItems,
  log,
  median,
  openBenchStore,
  SKUS,
  startCairn,
  timeRuns,
  type BenchOptions,
  type Row,
  type StoreName,
  BENCH_ADMIN_KEY,
} from './common.js';

const COLLECTION = 'catalog';
const LIMIT = 50;

/** The filtered+sorted query of this section and of the http section. */
export const FILTERED_SORTED = {
  filter: { category: 'cat-7', qty: { $lt: 50 } },
  sort: [{ fieldName: 'price', order: 'DESC' }],
  paging: { limit: LIMIT },
};

/** Hand-written SQL for FILTERED_SORTED: the page plus one row, as Cairn reads it. */
export function filteredSortedSql(dialect: 'sqlite' | 'postgres', collectionId: string): Sql {
  return dialect === 'sqlite'
    ? sql`SELECT id, data FROM items WHERE collection_id = ${collectionId} AND env = 'LIVE'
          AND json_extract(data, '$.category') = ${'cat-7'} AND json_extract(data, '$.qty') < ${50}
          ORDER BY json_extract(data, '$.price') DESC, id LIMIT ${LIMIT + 1}`
    : sql`SELECT id, data FROM items WHERE collection_id = ${collectionId} AND env = 'LIVE'
          AND data->'category' = ${'"cat-7"'}::jsonb AND data->'qty' < ${'50'}::jsonb
          ORDER BY data->'price' DESC, id LIMIT ${LIMIT + 1}`;
}

/** Hand-written equality lookup on `sku`, written to match the index Cairn builds for it. */
function equalitySql(dialect: 'sqlite' | 'postgres', collectionId: string, sku: string): Sql {
  return dialect === 'sqlite'
    ? sql`SELECT id, data FROM items WHERE collection_id = ${collectionId} AND env = 'LIVE'
          AND json_type(data, '$."sku"') = 'text' AND json_extract(data, '$."sku"') = ${sku}
          ORDER BY created_date DESC, id LIMIT ${LIMIT + 1}`
    : sql`SELECT id, data FROM items WHERE collection_id = ${collectionId} AND env = 'LIVE'
          AND data->'sku' = ${JSON.stringify(sku)}::jsonb
          ORDER BY created_date DESC, id LIMIT ${LIMIT + 1}`;
}

export async function querySection(opts: BenchOptions): Promise<Row[]> {
  const rows: Row[] = [];
  const n = 100_000;
  const eqRuns = opts.quick ? 100 : 300;
  const scanRuns = opts.quick ? 10 : 30;
  for (const storeName of opts.stores) {
    log(`[query] ${storeName}: loading ${n} items`);
    const store = await openBenchStore(storeName);
    const server = await startCairn(store);
    try {
      const { cairn } = server;
      await createCollection(cairn, COLLECTION);
      await loadItems(store, COLLECTION, n);
      await analyze(store);
      const db = store.db;
      const d = db.dialect;

      let k = 0;
      const nextSku = () => `sku-${(k++ * 7919) % SKUS}`;
      const serviceEq = async () => {
        const sku = nextSku();
        const r = await cairn.items.query({ dataCollectionId: COLLECTION, query: { filter: { sku } } }, ADMIN_CONTEXT);
        if (r.dataItems.length !== n / SKUS) throw new Error(`equality query on ${sku} found ${r.dataItems.length} items`);
      };
      const rawEq = async () => {
        const found = await db.all(equalitySql(d, COLLECTION, nextSku()));
        if (found.length !== n / SKUS) throw new Error(`raw equality query found ${found.length} items`);
      };

      // Before the index: both scan the collection.
      const eqScan = median(await timeRuns(serviceEq, scanRuns, 2));
      const eqScanRaw = median(await timeRuns(rawEq, scanRuns, 2));
      log(`[query] ${storeName} equality, no index: service ${fmt(eqScan)} ms, raw ${fmt(eqScanRaw)} ms`);

      const t = performance.now();
      const res = await fetch(`${server.url}/wix-data/v2/indexes`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: BENCH_ADMIN_KEY },
        body: JSON.stringify({ dataCollectionId: COLLECTION, index: { name: 'by_sku', fields: [{ path: 'sku', order: 'ASC' }] } }),
      });
      const indexMs = performance.now() - t;
      if (!res.ok) throw new Error(`create index: ${res.status} ${await res.text()}`);
      log(`[query] ${storeName} index on sku built over HTTP in ${fmt(indexMs)} ms`);

      const eq = median(await timeRuns(serviceEq, eqRuns, 20));
      const eqRaw = median(await timeRuns(rawEq, eqRuns, 20));
      log(`[query] ${storeName} equality, indexed: service ${fmt(eq)} ms, raw ${fmt(eqRaw)} ms`);
      await logPlan(db, d);

      const serviceSorted = async () => {
        const r = await cairn.items.query({ dataCollectionId: COLLECTION, query: FILTERED_SORTED }, ADMIN_CONTEXT);
        if (r.dataItems.length !== LIMIT) throw new Error(`filtered+sorted query found ${r.dataItems.length} items`);
        return r.dataItems.map((i) => i.id);
      };
      const rawSorted = async () => (await db.all<{ id: string }>(filteredSortedSql(d, COLLECTION))).slice(0, LIMIT).map((r) => r.id);
      const [a, b] = [await serviceSorted(), await rawSorted()];
      if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error('the hand-written filtered+sorted query returns other items than Cairn');
      const sorted = median(await timeRuns(serviceSorted, scanRuns, 2));
      const sortedRaw = median(await timeRuns(rawSorted, scanRuns, 2));
      log(`[query] ${storeName} filtered+sorted: service ${fmt(sorted)} ms, raw ${fmt(sortedRaw)} ms`);

      const items = `${(n / SKUS).toLocaleString('en-US')} of ${n.toLocaleString('en-US')}`;
      rows.push(
        {
          section: 'query',
          store: storeName,
          metric: `equality on indexed field (${items} items), ms median`,
          measured: fmt(eq),
          baseline: `${fmt(eqRaw)} (same query as SQL)`,
          ratio: eq / eqRaw,
          target: storeName === 'sqlite' ? '< 5 ms' : '—',
          pass: storeName === 'sqlite' ? eq < 5 : undefined,
        },
        {
          section: 'query',
          store: storeName,
          metric: `equality before the index exists (${items} items), ms median`,
          measured: fmt(eqScan),
          baseline: `${fmt(eqScanRaw)} (same query as SQL)`,
          ratio: eqScan / eqScanRaw,
          target: '—',
          pass: undefined,
        },
        {
          section: 'query',
          store: storeName,
          metric: `filtered+sorted, no index (${LIMIT} of ${n.toLocaleString('en-US')}), ms median`,
          measured: fmt(sorted),
          baseline: `${fmt(sortedRaw)} (same query as SQL)`,
          ratio: sorted / sortedRaw,
          target: '—',
          pass: undefined,
        },
      );
    } finally {
      await server.close();
      await store.close();
    }
  }
  return rows;
}

/** Prints the plan of Cairn's equality query (does it use the index?) to stderr. */
async function logPlan(db: Executor, d: 'sqlite' | 'postgres'): Promise<void> {
  const { compilerFor } = await import('../src/query/compile.js');
  const { parseFilter } = await import('../src/query/parse.js');
  const where = compilerFor(d).compile(parseFilter({ sku: 'sku-1' }));
  const q = sql`SELECT id, data FROM items WHERE collection_id = ${COLLECTION} AND env = 'LIVE' AND ${where} ORDER BY created_date DESC, id LIMIT 51`;
  for (const [who, query] of [
    ['Cairn', q],
    ['hand-written', equalitySql(d, COLLECTION, 'sku-1')],
  ] as const) {
    const plan = await db.all<Record<string, unknown>>(sql`${raw(d === 'sqlite' ? 'EXPLAIN QUERY PLAN' : 'EXPLAIN')} ${query}`);
    log(`[query] plan of the ${who} equality query (${d}):\n    ${plan.map((r) => String(r.detail ?? r['QUERY PLAN'] ?? JSON.stringify(r))).join('\n    ')}`);
  }
}
