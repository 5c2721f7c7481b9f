/**
 * Section `http`: Cairn over HTTP beside a bare Fastify server that answers the same routes with
 * the same bytes (a reply captured from Cairn), run in the same process and driven by the same
 * autocannon child process. The ratio is what Cairn's own work costs on top of Fastify.
 */
import Fastify from 'fastify';
import {
  analyze,
  createCollection,
  fmt,
  loadItems,
  log,
  openBenchStore,
  sleep,
  startCairn,
  type BenchOptions,
  type LoadGenerator,
  type LoadResult,
  type Row,
  type StoreName,
  BENCH_ADMIN_KEY,
} from './common.js';
import { FILTERED_SORTED, filteredSortedSql } from './query.js';

const COLLECTION = 'products';

export async function httpSection(opts: BenchOptions, load: LoadGenerator): Promise<Row[]> {
  const rows: Row[] = [];
  const items = 10_000;
  const seconds = opts.quick ? 4 : 10;
  const warmup = opts.quick ? 1 : 2;
  const connections = Number(process.env.BENCH_CONNECTIONS ?? 10);
  for (const storeName of opts.stores) {
    log(`[http] ${storeName}: loading ${items} items`);
    const store = await openBenchStore(storeName);
    const server = await startCairn(store);
    const bare = Fastify({ logger: false });
    try {
      await createCollection(server.cairn, COLLECTION);
      const ids = await loadItems(store, COLLECTION, items);
      await analyze(store);
      const probeIds = ids.filter((_, i) => i % 10 === 0); // 1000 ids spread over the table

      // The exact replies Cairn gives, served verbatim by the bare route (same size, same keys).
      const getPath = (id: string) => `/wix-data/v2/items/${id}?dataCollectionId=${COLLECTION}`;
      const sampleGet = await (await fetch(server.url + getPath(probeIds[0] as string), { headers: { authorization: BENCH_ADMIN_KEY } })).json();
      const queryBody = JSON.stringify({ dataCollectionId: COLLECTION, query: FILTERED_SORTED });
      const queryRes = await fetch(`${server.url}/wix-data/v2/items/query`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: BENCH_ADMIN_KEY }, body: queryBody });
      const sampleQuery = (await queryRes.json()) as { dataItems?: unknown[] };
      if (!queryRes.ok || (sampleQuery.dataItems?.length ?? 0) === 0) throw new Error(`query failed: ${JSON.stringify(sampleQuery).slice(0, 300)}`);

      bare.get('/items/:id', async () => sampleGet);
      // The query baseline does the work by hand: one SQL statement, rows parsed into the reply.
      bare.post('/items/query', async () => {
        const found = await store.db.all<{ id: string; data: string }>(filteredSortedSql(store.db.dialect, COLLECTION));
        const page = found.slice(0, 50);
        return {
          dataItems: page.map((r) => ({ id: r.id, dataCollectionId: COLLECTION, data: JSON.parse(r.data) })),
          pagingMetadata: { count: page.length, offset: 0, hasNext: found.length > 50, cursors: {} },
        };
      });
      await bare.listen({ port: 0, host: '127.0.0.1' });
      const address = bare.server.address();
      const bareUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

      const measure = async (what: string, req: Parameters<LoadGenerator['run']>[0]): Promise<LoadResult> => {
        // The warm-up also lets requests of the previous load still running on the server end.
        await sleep(300);
        await load.run({ ...req, duration: warmup });
        const r = await load.run({ ...req, duration: seconds });
        if (r.errors || r.non2xx) throw new Error(`${what}: ${r.errors} errors, ${r.non2xx} non-2xx replies`);
        log(`[http] ${storeName} ${what}: ${fmt(r.rps)} req/s, p50 ${fmt(r.p50)} ms, p99 ${fmt(r.p99)} ms, ${Math.round(r.bytesPerResponse)} B/reply`);
        return r;
      };

      const cairnGet = await measure('cairn GET', { url: server.url, paths: probeIds.map(getPath), connections });
      const bareGet = await measure('bare GET', { url: bareUrl, paths: probeIds.map((id) => `/items/${id}`), connections });
      // PostgreSQL answers plain reads by id from its read cache (src/items/read-cache.ts);
      // consistentRead=true reads the store every time, the figure without the cache.
      const storeGet =
        storeName === 'postgres'
          ? await measure('cairn GET consistentRead', { url: server.url, paths: probeIds.map((id) => `${getPath(id)}&consistentRead=true`), connections })
          : undefined;
      // On an SQLite file the cache is exact, so consistentRead does not skip it: the figure
      // without it comes from a second Cairn on the same store with the cache turned off.
      let uncachedGet: LoadResult | undefined;
      if (storeName === 'sqlite') {
        const uncached = await startCairn(store, false, { readCache: false });
        try {
          uncachedGet = await measure('cairn GET without read cache', { url: uncached.url, paths: probeIds.map(getPath), connections });
        } finally {
          await uncached.close();
        }
      }
      const post = { method: 'POST' as const, body: queryBody, connections };
      const cairnQuery = await measure('cairn query', { ...post, url: server.url, path: '/wix-data/v2/items/query' });
      const bareQuery = await measure('bare query', { ...post, url: bareUrl, path: '/items/query' });

      rows.push(...getRows(storeName, cairnGet, bareGet));
      // Informational: GET by id with no read cache in the way (PostgreSQL: consistentRead;
      // SQLite: a second Cairn with the cache off).
      const uncachedRow = (metric: string, r: LoadResult): Row => ({
        section: 'http',
        store: storeName,
        metric,
        measured: fmt(r.rps),
        baseline: `${fmt(bareGet.rps)} (bare Fastify, same reply)`,
        ratio: r.rps / bareGet.rps,
        target: '—',
        pass: undefined,
      });
      if (storeGet) rows.push(uncachedRow('GET item by id with consistentRead=true (no read cache), req/s', storeGet));
      if (uncachedGet) rows.push(uncachedRow('GET item by id with the read cache off (readCache: false), req/s', uncachedGet));
      const qRatio = cairnQuery.rps / bareQuery.rps;
      rows.push({
        section: 'http',
        store: storeName,
        metric: `filtered+sorted query (50 of ${items.toLocaleString('en-US')}, no index), req/s`,
        measured: fmt(cairnQuery.rps),
        baseline: `${fmt(bareQuery.rps)} (bare Fastify + same query as SQL)`,
        ratio: qRatio,
        target: '—',
        pass: undefined,
      });
    } finally {
      await bare.close();
      await server.close();
      await store.close();
    }
  }
  return rows;
}

function getRows(store: StoreName, cairn: LoadResult, bare: LoadResult): Row[] {
  const ratio = cairn.rps / bare.rps;
  return [
    {
      section: 'http',
      store,
      metric: 'GET item by id, req/s (10 connections)',
      measured: fmt(cairn.rps),
      baseline: `${fmt(bare.rps)} (bare Fastify, same reply)`,
      ratio,
      target: 'ratio ≥ 0.5',
      pass: ratio >= 0.5,
    },
    {
      section: 'http',
      store,
      metric: 'GET item by id, p50 ms',
      measured: fmt(cairn.p50),
      baseline: fmt(bare.p50),
      ratio: cairn.p50 / bare.p50,
      target: '—',
      pass: undefined,
    },
    {
      section: 'http',
      store,
      metric: 'GET item by id, p99 ms',
      measured: fmt(cairn.p99),
      baseline: fmt(bare.p99),
      ratio: cairn.p99 / bare.p99,
      target: '—',
      pass: undefined,
    },
  ];
}
