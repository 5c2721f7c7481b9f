/**
 * Request ids, logs and metrics, on each store:
 * - `x-request-id` is echoed when safe, generated (a UUID) when absent, replaced when unsafe; it is
 *   on every reply, errors and 401s included;
 * - log lines carry it (`reqId`): request logs when CAIRN_LOG_REQUESTS is on (and none when off),
 *   and the error line of a 500;
 * - `/metrics` is Prometheus text that parses, whose latency histogram moves with requests (by
 *   route pattern, not URL), whose task and outbox gauges reflect a created task and a pending
 *   webhook delivery, with the store's pool (PostgreSQL) or WAL (SQLite);
 * - `/metrics` needs the admin key unless made public.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { buildApp, type AppOptions, type Cairn } from '../src/http/app.js';
import { openTestStore, STORE_NAMES, type TestStore } from './helpers/stores.js';
import { TEST_ADMIN_KEY } from './helpers/server.js';
import { TaskRunner } from '../src/tasks/runner.js';
import { systemClock } from '../src/clock.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ADMIN = { authorization: TEST_ADMIN_KEY, 'content-type': 'application/json' };

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text format strictly enough to catch a malformed line. */
function parseMetrics(text: string): { samples: Sample[]; types: Map<string, string> } {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  assert.ok(text.endsWith('\n'), 'ends with a newline');
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('# HELP ')) continue;
    const t = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (t) {
      assert.ok(!types.has(t[1] as string), `TYPE ${t[1]} given once`);
      types.set(t[1] as string, t[2] as string);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|\+Inf|NaN)$/.exec(line);
    assert.ok(m, `a sample line: ${line}`);
    const labels: Record<string, string> = {};
    if (m[2]) {
      for (const l of m[2].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/g)) labels[l[1] as string] = l[2] as string;
    }
    const base = (m[1] as string).replace(/_(bucket|sum|count)$/, '');
    assert.ok(types.has(m[1] as string) || types.has(base), `${m[1]} has a TYPE`);
    samples.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return { samples, types };
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const s = samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value;
}

for (const storeName of STORE_NAMES) {
  describe(`observability (${storeName})`, () => {
    let store: TestStore;
    let cairn: Cairn;
    const lines: any[] = [];

    async function build(extra: Partial<AppOptions> = {}): Promise<Cairn> {
      const c = await buildApp({ db: store.db, adminKey: TEST_ADMIN_KEY, runTasks: false, webhooks: { deliver: false }, ...extra });
      // A route that fails as a bug would: its 500 must be logged with the request id.
      c.app.get('/test-only/boom', async () => {
        throw new Error('boom');
      });
      await c.app.ready();
      return c;
    }

    before(async () => {
      store = await openTestStore(storeName);
      cairn = await build({ logLevel: 'info', logRequests: true, logStream: { write: (l: string) => void lines.push(JSON.parse(l)) } });
    });
    after(async () => {
      await cairn?.app.close();
      await store?.close();
    });

    const inject = (method: string, url: string, payload?: unknown, headers: Record<string, string> = ADMIN) =>
      cairn.app.inject({ method: method as 'GET', url, headers, ...(payload === undefined ? {} : { payload: payload as object }) });

    test('x-request-id: echoed when safe, generated when absent or unsafe, on every reply', async () => {
      let r = await inject('GET', '/healthz', undefined, { 'x-request-id': 'trace-01H.abc:42_x' });
      assert.equal(r.headers['x-request-id'], 'trace-01H.abc:42_x');
      r = await inject('GET', '/healthz');
      assert.match(String(r.headers['x-request-id']), UUID);
      const other = (await inject('GET', '/healthz')).headers['x-request-id'];
      assert.notEqual(other, r.headers['x-request-id']);
      for (const unsafe of ['has space', 'x'.repeat(129), 'a"b', 'a\u00e9b', '']) {
        r = await inject('GET', '/healthz', undefined, { 'x-request-id': unsafe });
        assert.match(String(r.headers['x-request-id']), UUID, JSON.stringify(unsafe));
      }
      // Errors, 404s and 401s carry it too.
      r = await inject('POST', '/wix-data/v2/items', [1], { ...ADMIN, 'x-request-id': 'bad-body-1' });
      assert.equal(r.statusCode, 400);
      assert.equal(r.headers['x-request-id'], 'bad-body-1');
      r = await inject('GET', '/nowhere', undefined, { 'x-request-id': 'nf-1' });
      assert.equal(r.statusCode, 404);
      assert.equal(r.headers['x-request-id'], 'nf-1');
      r = await inject('GET', '/cms/v1/tasks', undefined, { authorization: 'not-a-key', 'x-request-id': 'auth-1' });
      assert.equal(r.statusCode, 401);
      assert.equal(r.headers['x-request-id'], 'auth-1');
    });

    test('log lines carry the request id: request logs, and the error of a 500', async () => {
      lines.length = 0;
      await inject('GET', '/healthz', undefined, { 'x-request-id': 'log-me-1' });
      const mine = lines.filter((l) => l.reqId === 'log-me-1');
      assert.ok(mine.some((l) => l.msg === 'incoming request'), JSON.stringify(lines));
      assert.ok(mine.some((l) => l.msg === 'request completed' && l.res?.statusCode === 200));

      lines.length = 0;
      const r = await inject('GET', '/test-only/boom', undefined, { 'x-request-id': 'boom-1' });
      assert.equal(r.statusCode, 500);
      assert.equal(r.headers['x-request-id'], 'boom-1');
      const error = lines.find((l) => l.msg === 'unhandled error');
      assert.ok(error, JSON.stringify(lines));
      assert.equal(error.reqId, 'boom-1');
      assert.equal(error.level, 50);
      assert.match(error.err.message, /boom/);
    });

    test('with request logging off (the default), a request writes no log line', async () => {
      const quiet: string[] = [];
      const c = await build({ logLevel: 'info', logStream: { write: (l: string) => void quiet.push(l) } });
      try {
        const r = await c.app.inject({ method: 'GET', url: '/healthz', headers: { 'x-request-id': 'quiet-1' } });
        assert.equal(r.headers['x-request-id'], 'quiet-1');
        assert.deepEqual(quiet, []);
      } finally {
        await c.app.close();
      }
    });

    test('/metrics parses and its latency histogram moves by route pattern', async () => {
      const scrape = async () => {
        const r = await inject('GET', '/metrics');
        assert.equal(r.statusCode, 200);
        assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
        return parseMetrics(r.body);
      };
      await inject('POST', '/wix-data/v2/collections', { collection: { id: 'm1' } });
      const ins = await inject('POST', '/wix-data/v2/items', { dataCollectionId: 'm1', dataItem: { data: { a: 1 } } });
      const id = JSON.parse(ins.body).dataItem.id;
      const route = { method: 'GET', route: '/wix-data/v2/items/:dataItemId', status_class: '2xx' };
      const before = await scrape();
      assert.equal(before.types.get('http_request_duration_seconds'), 'histogram');
      const count0 = value(before.samples, 'http_request_duration_seconds_count', route) ?? 0;
      for (let i = 0; i < 3; i++) assert.equal((await inject('GET', `/wix-data/v2/items/${id}?dataCollectionId=m1`)).statusCode, 200);
      await inject('GET', `/wix-data/v2/items/missing?dataCollectionId=m1`);
      const afterScrape = await scrape();
      assert.equal(value(afterScrape.samples, 'http_request_duration_seconds_count', route), count0 + 3);
      assert.equal(value(afterScrape.samples, 'http_request_duration_seconds_count', { ...route, status_class: '4xx' }), 1);
      assert.equal(value(afterScrape.samples, 'http_request_duration_seconds_bucket', { ...route, le: '+Inf' }), count0 + 3);
      assert.ok((value(afterScrape.samples, 'http_request_duration_seconds_sum', route) ?? 0) > 0);
      // Buckets are cumulative.
      const buckets = afterScrape.samples.filter((s) => s.name === 'http_request_duration_seconds_bucket' && s.labels.route === route.route && s.labels.status_class === '2xx' && s.labels.method === 'GET');
      for (let i = 1; i < buckets.length; i++) assert.ok((buckets[i] as Sample).value >= (buckets[i - 1] as Sample).value);
      // No raw URL (an id) ever becomes a label.
      assert.ok(!afterScrape.samples.some((s) => s.labels.route?.includes(id)));
      assert.equal(value(afterScrape.samples, 'cairn_store_up'), 1);
      assert.ok((value(afterScrape.samples, 'process_resident_memory_bytes') ?? 0) > 0);
      if (storeName === 'postgres') {
        assert.ok((value(afterScrape.samples, 'cairn_store_pool_connections', { state: 'total' }) ?? 0) >= 1);
        assert.equal(value(afterScrape.samples, 'cairn_store_pool_max'), 10);
        assert.equal(typeof value(afterScrape.samples, 'cairn_store_pool_waiting'), 'number');
      } else {
        assert.equal(typeof value(afterScrape.samples, 'cairn_sqlite_wal_bytes'), 'number');
      }
    });

    test('task and outbox metrics reflect a created task and a pending webhook delivery', async () => {
      const scrape = async () => parseMetrics((await inject('GET', '/metrics')).body).samples;
      await inject('POST', '/wix-data/v2/collections', { collection: { id: 'm2' } });
      let s = await scrape();
      const new0 = value(s, 'cairn_tasks', { status: 'NEW' }) ?? 0;
      const backlog0 = value(s, 'cairn_tasks_backlog') ?? 0;
      const pending0 = value(s, 'cairn_webhook_deliveries_pending') ?? 0;
      assert.equal(value(s, 'cairn_task_items_total', { result: 'succeeded' }), 0);

      // No runner in this app: the task stays NEW.
      const t = await inject('POST', '/cms/v1/tasks', { task: { type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: 'm2', filter: {} } } });
      assert.equal(t.statusCode, 200, t.body);
      // No delivery worker either: the delivery stays PENDING.
      const w = await inject('POST', '/cairn/v1/webhooks', { url: 'http://127.0.0.1:9/hook', events: ['wix.data.v2.data_item_created'] });
      assert.equal(w.statusCode, 200, w.body);
      await inject('POST', '/wix-data/v2/items', { dataCollectionId: 'm2', dataItem: { data: { a: 1 } } });

      s = await scrape();
      assert.equal(value(s, 'cairn_tasks', { status: 'NEW' }), new0 + 1);
      assert.equal(value(s, 'cairn_tasks_backlog'), backlog0 + 1);
      assert.equal(value(s, 'cairn_webhook_deliveries_pending'), pending0 + 1);
      const oldestSeq = value(s, 'cairn_webhook_oldest_pending_event_seq') ?? 0;
      const lastSeq = value(s, 'cairn_outbox_last_event_seq') ?? 0;
      assert.ok(oldestSeq >= 1 && lastSeq >= oldestSeq, `oldest ${oldestSeq}, last ${lastSeq}`);
      assert.ok((value(s, 'cairn_webhook_oldest_pending_age_seconds') ?? -1) >= 0);

      // A finished task moves the items counter: run one batch by hand with a runner.
      const runner = new TaskRunner(store.db, cairn.collections, cairn.items.writer, systemClock, { pollMs: 10 });
      await inject('POST', '/wix-data/v2/items', { dataCollectionId: 'm2', dataItem: { data: { a: 2 } } });
      runner.start();
      try {
        for (let i = 0; i < 200; i++) {
          s = await scrape();
          if (value(s, 'cairn_tasks_backlog') === backlog0) break;
          await new Promise((r) => setTimeout(r, 25));
        }
      } finally {
        await runner.stop();
      }
      assert.equal(value(s, 'cairn_tasks_backlog'), backlog0);
      assert.equal(value(s, 'cairn_tasks', { status: 'COMPLETED' }), 1);
      assert.ok((value(s, 'cairn_task_items_total', { result: 'succeeded' }) ?? 0) >= 1);
    });

    test('/metrics needs the admin key unless made public', async () => {
      let r = await inject('GET', '/metrics', undefined, {});
      assert.equal(r.statusCode, 401);
      assert.equal(JSON.parse(r.body).details.applicationError.code, 'UNAUTHENTICATED');
      // A key with every scope is still not the admin key.
      const k = await inject('POST', '/cairn/v1/keys', { name: 'ops', scopes: ['SCOPE.DC-DATA.READ', 'SCOPE.CAIRN.TASKS', 'SCOPE.CAIRN.KEYS'] });
      assert.equal(k.statusCode, 200, k.body);
      r = await inject('GET', '/metrics', undefined, { authorization: JSON.parse(k.body).apiKey });
      assert.equal(r.statusCode, 403);
      assert.equal(JSON.parse(r.body).details.applicationError.code, 'WDE0027');
      r = await inject('GET', '/metrics');
      assert.equal(r.statusCode, 200);

      const open = await build({ logLevel: 'silent', metrics: { public: true } });
      try {
        r = await open.app.inject({ method: 'GET', url: '/metrics' });
        assert.equal(r.statusCode, 200);
        parseMetrics(r.body);
      } finally {
        await open.app.close();
      }
    });
  });
}
