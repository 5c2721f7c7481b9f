/**
 * Webhooks through HTTP on both stores (docs/webhooks.md): the /cairn/v1/webhooks API and its
 * validation, delivery to a real receiver (a node:http server on a loopback port) with Standard
 * Webhooks signatures, the type and collection filters, retries with per-item order, the dead
 * letter and replay, the delivery log, the admin key, CAIRN_WEBHOOKS, and retention.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { buildApp, type AppOptions, type Cairn } from '../src/http/app.js';
import { ManualClock } from '../src/clock.js';
import { sql } from '../src/store/sql.js';
import { secretKey, sign } from '../src/events/sign.js';
import { oldEvents } from '../src/events/delivery.js';
import { STORE_NAMES, openTestStore, type StoreName, type TestStore } from './helpers/stores.js';
import { call, TEST_ADMIN_KEY } from './helpers/server.js';

const DATA = '/wix-data/v2';
const HOOKS = '/cairn/v1/webhooks';
const UPDATED = 'wix.data.v2.data_item_updated';
const CREATED = 'wix.data.v2.data_item_created';
const DELETED = 'wix.data.v2.data_item_deleted';
const MAX_ATTEMPTS = 4;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: any;
  /** What the receiver answered. */
  status: number;
}

/** A webhook receiver: records every request; `answer` picks the status per request. */
class Receiver {
  readonly received: Received[] = [];
  answer: (path: string, json: any, headers: IncomingHttpHeaders) => number = () => 200;
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: any;
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
        const path = req.url ?? '';
        const status = this.answer(path, json, req.headers);
        this.received.push({ path, headers: req.headers, body, json, status });
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(status === 200 ? 'ok' : 'nope');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const a = this.server.address();
    this.url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  }

  /** Accepted requests to a path. */
  ok(path: string): Received[] {
    return this.received.filter((r) => r.path === path && r.status >= 200 && r.status < 300);
  }

  all(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** The event ids (webhook-id) of accepted requests, first arrival order, deduplicated. */
function distinctIds(list: Received[]): string[] {
  return [...new Set(list.map((r) => r.headers['webhook-id'] as string))];
}

function verifySignature(r: Received, secret: string): boolean {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const id = r.headers['webhook-id'] as string;
  const ts = r.headers['webhook-timestamp'] as string;
  const expected = createHmac('sha256', key).update(`${id}.${ts}.${r.body}`).digest('base64');
  return String(r.headers['webhook-signature'])
    .split(' ')
    .some((s) => s === `v1,${expected}`);
}

interface Running {
  url: string;
  cairn: Cairn;
  close(): Promise<void>;
}

/** Cairn on a loopback port over `store`, with fast retries (the store outlives the app). */
async function serve(store: TestStore, options: Partial<AppOptions> = {}): Promise<Running> {
  const cairn = await buildApp({
    db: store.db,
    logLevel: 'silent',
    adminKey: TEST_ADMIN_KEY,
    ...options,
    webhooks: {
      ...options.webhooks,
      delivery: { retryBaseMs: 30, retryCapMs: 200, maxAttempts: MAX_ATTEMPTS, pollMs: 20, timeoutMs: 3000, ...options.webhooks?.delivery },
    },
  });
  await cairn.app.listen({ port: 0, host: '127.0.0.1' });
  const a = cairn.app.server.address();
  return { url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`, cairn, close: () => cairn.app.close() };
}

for (const storeName of STORE_NAMES) {
  describe(`webhooks (${storeName})`, () => {
    let store: TestStore;
    let server: Running;
    const rx = new Receiver();
    const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => call(server.url, method, path, body, headers);

    async function createHook(body: Record<string, unknown>) {
      const r = await api('POST', HOOKS, body);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.webhook as { id: string; secret: string; url: string; events: string[]; dataCollectionId?: string };
    }

    async function collection(id: string) {
      const r = await api('POST', `${DATA}/collections`, { collection: { id } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }

    async function insert(collectionId: string, items: Record<string, unknown>[]) {
      const r = await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: collectionId, dataItems: items.map((data) => ({ data })) });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.bulkActionMetadata.totalFailures, 0, JSON.stringify(r.body));
    }

    async function deliveries(id: string, query = '') {
      const r = await api('GET', `${HOOKS}/${id}/deliveries${query}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body as { deliveries: any[]; nextCursor?: string };
    }

    /** The receiver sees a request before the sender records its answer: wait for the log to catch up. */
    async function untilDelivered(id: string, count: number): Promise<void> {
      await until(`${count} deliveries marked DELIVERED`, async () => (await deliveries(id, `?status=DELIVERED&limit=1000`)).deliveries.length >= count);
    }

    before(async () => {
      store = await openTestStore(storeName as StoreName);
      server = await serve(store);
      await rx.start();
    });
    after(async () => {
      await server?.close();
      await rx.close();
      await store?.close();
    });

    test('signatures match the Standard Webhooks test vector', () => {
      const key = secretKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw');
      assert.ok(key);
      assert.equal(sign(key, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}'), 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
      assert.equal(secretKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS'), undefined);
      assert.equal(secretKey('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'), undefined);
    });

    test('create, list, get and delete; bad input is a 4xx in the Wix envelope', async () => {
      const bad: [unknown, RegExp][] = [
        [{}, /url/],
        [{ url: 'ftp://example.com/x', events: ['*'] }, /http or https/],
        [{ url: 'not a url', events: ['*'] }, /valid URL/],
        [{ url: `${rx.url}/x` }, /events/],
        [{ url: `${rx.url}/x`, events: [] }, /at least one/],
        [{ url: `${rx.url}/x`, events: ['wix.data.v2.data_item_exploded'] }, /events\[0\]/],
        [{ url: `${rx.url}/x`, events: [UPDATED, 7] }, /events\[1\]/],
        [{ url: `${rx.url}/x`, events: ['*'], secret: 'plain' }, /secret/],
        [{ url: `${rx.url}/x`, events: ['*'], secret: 'whsec_!!!!' }, /secret/],
        [{ url: `${rx.url}/x`, events: ['*'], secret: 'whsec_AAAA' }, /secret/],
        [{ url: `${rx.url}/x`, events: ['*'], dataCollectionId: 5 }, /dataCollectionId/],
        ['[1]', /object/],
      ];
      for (const [body, message] of bad) {
        const r = await api('POST', HOOKS, body);
        assert.equal(r.status, 400, `${JSON.stringify(body)}: ${JSON.stringify(r.body)}`);
        assert.equal(r.body.details.applicationError.code, 'WDE0080');
        assert.match(r.body.message, message, JSON.stringify(body));
      }

      const a = await createHook({ url: `${rx.url}/crud-a`, events: [UPDATED, CREATED, CREATED] });
      assert.match(a.id, /^[0-9a-f-]{36}$/);
      assert.deepEqual(a.events, [CREATED, UPDATED]);
      assert.match(a.secret, /^whsec_[A-Za-z0-9+/]{32}$/);
      assert.equal(Buffer.from(a.secret.slice(6), 'base64').length, 24);
      assert.equal((a as any).source, 'API');
      assert.ok(!Number.isNaN(Date.parse((a as any).createdDate)));
      assert.equal(a.dataCollectionId, undefined);

      const secret = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
      const b = await createHook({ url: `${rx.url}/crud-b`, events: [DELETED, '*'], dataCollectionId: 'somewhere', secret });
      assert.equal(b.secret, secret);
      assert.deepEqual(b.events, ['*']);
      assert.equal(b.dataCollectionId, 'somewhere');

      const got = await api('GET', `${HOOKS}/${b.id}`);
      assert.equal(got.status, 200);
      assert.deepEqual(got.body.webhook, b);
      const list = await api('GET', HOOKS);
      assert.equal(list.status, 200);
      const ids = list.body.webhooks.map((w: { id: string }) => w.id);
      assert.ok(ids.includes(a.id) && ids.includes(b.id));
      assert.deepEqual(list.body.webhooks.find((w: { id: string }) => w.id === a.id), a);

      const del = await api('DELETE', `${HOOKS}/${a.id}`);
      assert.equal(del.status, 200, JSON.stringify(del.body));
      for (const [method, path] of [
        ['GET', `${HOOKS}/${a.id}`],
        ['DELETE', `${HOOKS}/${a.id}`],
        ['GET', `${HOOKS}/${a.id}/deliveries`],
      ] as const) {
        const r = await api(method, path);
        assert.equal(r.status, 404, `${method} ${path}`);
        assert.equal(r.body.details.applicationError.code, 'WDE0073');
      }
      const r = await api('POST', `${HOOKS}/${a.id}/deliveries/replay`, { eventId: 'x' });
      assert.equal(r.status, 404);

      // Bad delivery-log and replay parameters.
      for (const [query, code] of [
        ['?status=LOST', 'WDE0075'],
        ['?limit=0', 'WDE0034'],
        ['?limit=5000', 'WDE0036'],
        ['?limit=x', 'WDE0035'],
        ['?cursor=bogus', 'WDE0165'],
      ]) {
        const d = await api('GET', `${HOOKS}/${b.id}/deliveries${query}`);
        assert.equal(d.status, 400, query);
        assert.equal(d.body.details.applicationError.code, code, query);
      }
      for (const body of [{}, { eventId: 'e', from: '2020-01-01T00:00:00Z', to: '2030-01-01T00:00:00Z' }, { from: 'yesterday', to: '2030-01-01T00:00:00Z' }, { from: '2030-01-01T00:00:00Z', to: '2020-01-01T00:00:00Z' }, { from: '2020-01-01T00:00:00Z' }, { eventId: 3 }]) {
        const d = await api('POST', `${HOOKS}/${b.id}/deliveries/replay`, body);
        assert.equal(d.status, 400, JSON.stringify(body));
        assert.equal(d.body.details.applicationError.code, 'WDE0080');
      }
      assert.equal((await api('DELETE', `${HOOKS}/${b.id}`)).status, 200);
    });

    test('a 1,000-item BulkPatch gives exactly 1,000 signed data_item_updated events', async () => {
      await collection('bulk');
      const ids = Array.from({ length: 1000 }, (_, i) => `b${String(i).padStart(4, '0')}`);
      const ins = await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'bulk', dataItems: ids.map((id, i) => ({ id, data: { n: i } })) });
      assert.equal(ins.status, 200, JSON.stringify(ins.body));
      // Created after the inserts, for updates only: the inserts' events are not for it.
      const hook = await createHook({ url: `${rx.url}/bulk`, events: [UPDATED], dataCollectionId: 'bulk' });
      const patched = await api('POST', `${DATA}/bulk/items/patch`, {
        dataCollectionId: 'bulk',
        patches: ids.map((id) => ({ dataItemId: id, fieldModifications: [{ fieldPath: 'seen', action: 'SET_FIELD', setFieldOptions: { value: true } }] })),
      });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.equal(patched.body.bulkActionMetadata.totalSuccesses, 1000);

      await until('1000 events', () => distinctIds(rx.ok('/bulk')).length >= 1000);
      await sleep(200); // anything extra would show up now
      const got = rx.ok('/bulk');
      const distinct = distinctIds(got);
      assert.equal(distinct.length, 1000);
      const byId = new Map(got.map((r) => [r.headers['webhook-id'] as string, r]));
      const entities = new Set<string>();
      const nowS = Date.now() / 1000;
      for (const r of byId.values()) {
        assert.ok(verifySignature(r, hook.secret), 'signature verifies');
        assert.equal(r.headers['content-type'], 'application/json');
        assert.ok(Math.abs(Number(r.headers['webhook-timestamp']) - nowS) < 120, 'timestamp is unix seconds of now');
        const { type, timestamp, data } = r.json;
        assert.equal(type, UPDATED);
        assert.equal(data.id, r.headers['webhook-id']);
        assert.equal(timestamp, data.eventTime);
        assert.equal(data.entityFqdn, 'wix.data.v2.data_item');
        assert.equal(data.slug, 'updated');
        assert.equal(data.triggeredByAnonymizeRequest, false);
        assert.match(data.entityEventSequence, /^\d+$/);
        const entity = data.updatedEvent.currentEntity;
        assert.equal(entity.id, data.entityId);
        assert.equal(entity.dataCollectionId, 'bulk');
        assert.equal(entity.data._id, data.entityId);
        assert.equal(entity.data.seen, true);
        assert.equal(entity.data.n, ids.indexOf(data.entityId));
        entities.add(data.entityId);
      }
      assert.deepEqual([...entities].sort(), ids);

      // The log: all delivered, one attempt, newest first, paged.
      await untilDelivered(hook.id, 1000);
      const first = await deliveries(hook.id, '?limit=600');
      assert.equal(first.deliveries.length, 600);
      assert.ok(first.nextCursor);
      const rest = await deliveries(hook.id, `?limit=600&cursor=${first.nextCursor}`);
      assert.equal(rest.deliveries.length, 400);
      assert.equal(rest.nextCursor, undefined);
      const all = [...first.deliveries, ...rest.deliveries];
      const seqs = all.map((d) => BigInt(d.entityEventSequence));
      assert.deepEqual(seqs, [...seqs].sort((x, y) => (x > y ? -1 : x < y ? 1 : 0)));
      assert.equal(new Set(all.map((d) => d.eventId)).size, 1000);
      for (const d of all) {
        assert.equal(d.status, 'DELIVERED');
        assert.equal(d.attempts, 1);
        assert.equal(d.lastStatus, 200);
        assert.equal(d.lastError, null);
        assert.equal(d.eventType, UPDATED);
        assert.equal(d.nextAttemptAt, null);
        assert.ok(d.deliveredAt && d.createdDate);
        assert.ok(distinct.includes(d.eventId));
      }
      assert.equal((await deliveries(hook.id, '?status=PENDING')).deliveries.length, 0);
      assert.equal((await deliveries(hook.id, '?status=DELIVERED&limit=5')).deliveries.length, 5);
    });

    test('insert, remove and truncate give created and deleted events', async () => {
      await collection('life');
      const hook = await createHook({ url: `${rx.url}/life`, events: ['*'], dataCollectionId: 'life' });
      await insert('life', [{ _id: 'l1', v: 1 }, { _id: 'l2', v: 2 }, { _id: 'l3', v: 3 }]);
      const rm = await api('POST', `${DATA}/items/remove`, { dataCollectionId: 'life', dataItemId: 'l1' });
      assert.equal(rm.status, 200, JSON.stringify(rm.body));
      const tr = await api('POST', `${DATA}/items/truncate`, { dataCollectionId: 'life' });
      assert.equal(tr.status, 200, JSON.stringify(tr.body));

      const itemEvents = () => [...new Map(rx.ok('/life').map((r) => [r.headers['webhook-id'], r.json])).values()].filter((j) => j.data.entityFqdn === 'wix.data.v2.data_item');
      await until('6 item events', () => itemEvents().length >= 6);
      await sleep(100);
      const events = itemEvents();
      assert.equal(events.length, 6);
      const created = events.filter((e) => e.type === CREATED);
      const deleted = events.filter((e) => e.type === DELETED);
      assert.deepEqual(created.map((e) => e.data.entityId).sort(), ['l1', 'l2', 'l3']);
      assert.deepEqual(deleted.map((e) => e.data.entityId).sort(), ['l1', 'l2', 'l3']);
      for (const e of created) {
        assert.equal(e.data.slug, 'created');
        assert.equal(e.data.createdEvent.entity.dataCollectionId, 'life');
        assert.equal(e.data.createdEvent.entity.data._id, e.data.entityId);
      }
      for (const e of deleted) {
        assert.equal(e.data.slug, 'deleted');
        assert.deepEqual(e.data.deletedEvent.deletedEntity, { id: e.data.entityId, dataCollectionId: 'life' });
      }
      for (const r of rx.ok('/life')) assert.ok(verifySignature(r, hook.secret));
    });

    test('the collection filter and the type filter', async () => {
      await collection('fa');
      await collection('fb');
      const onlyA = await createHook({ url: `${rx.url}/only-a`, events: [CREATED], dataCollectionId: 'fa' });
      const deletes = await createHook({ url: `${rx.url}/deletes`, events: [DELETED] });
      await insert('fa', [{ _id: 'a1' }, { _id: 'a2' }]);
      await insert('fb', [{ _id: 'x1' }]);
      const rm = await api('POST', `${DATA}/bulk/items/remove`, { dataCollectionId: 'fb', dataItemIds: ['x1'] });
      assert.equal(rm.status, 200, JSON.stringify(rm.body));
      await until('the deleted event', () => rx.ok('/deletes').length >= 1);
      await until('fa created events', () => distinctIds(rx.ok('/only-a')).length >= 2);
      await sleep(300);
      const a = rx.ok('/only-a').map((r) => r.json);
      assert.deepEqual(a.map((j) => [j.type, j.data.entityId, j.data.createdEvent.entity.dataCollectionId]).sort(), [
        [CREATED, 'a1', 'fa'],
        [CREATED, 'a2', 'fa'],
      ]);
      const d = rx.ok('/deletes').map((r) => r.json);
      assert.deepEqual(d.map((j) => [j.type, j.data.entityId, j.data.deletedEvent.deletedEntity.dataCollectionId]), [[DELETED, 'x1', 'fb']]);
      assert.equal((await deliveries(onlyA.id)).deliveries.length, 2);
      assert.equal((await deliveries(deletes.id)).deliveries.length, 1);
      await api('DELETE', `${HOOKS}/${deletes.id}`);
    });

    test('a receiver that fails gets each event after retries, in per-item order', async () => {
      await collection('flaky');
      const FAILS = 2;
      const tries = new Map<string, number>();
      rx.answer = (path, _json, headers) => {
        if (path !== '/flaky') return 200;
        const id = headers['webhook-id'] as string;
        const n = (tries.get(id) ?? 0) + 1;
        tries.set(id, n);
        return n <= FAILS ? 500 : 200;
      };
      try {
        const hook = await createHook({ url: `${rx.url}/flaky`, events: [CREATED, UPDATED], dataCollectionId: 'flaky' });
        const items = ['f1', 'f2', 'f3', 'f4'];
        await insert('flaky', items.map((_id) => ({ _id, v: 0 })));
        const ROUNDS = 4;
        for (let v = 1; v <= ROUNDS; v++) {
          const r = await api('POST', `${DATA}/bulk/items/update`, { dataCollectionId: 'flaky', dataItems: items.map((id) => ({ id, data: { _id: id, v } })) });
          assert.equal(r.status, 200, JSON.stringify(r.body));
        }
        const expected = items.length * (ROUNDS + 1);
        await until(`${expected} events`, () => distinctIds(rx.ok('/flaky')).length >= expected, 30_000);
        for (const id of distinctIds(rx.ok('/flaky'))) assert.equal(tries.get(id), FAILS + 1, 'each event failed twice, then went through');
        // Every request of one item (failed ones included) carries a sequence no lower than the one before.
        for (const item of items) {
          const seqs = rx.all('/flaky').filter((r) => r.json.data.entityId === item).map((r) => BigInt(r.json.data.entityEventSequence));
          assert.equal(seqs.length, (ROUNDS + 1) * (FAILS + 1));
          for (let i = 1; i < seqs.length; i++) assert.ok(seqs[i]! >= seqs[i - 1]!, `item ${item}: ${seqs.join(',')}`);
          const values = rx.ok('/flaky').filter((r) => r.json.data.entityId === item).map((r) => r.json.data.createdEvent?.entity.data.v ?? r.json.data.updatedEvent.currentEntity.data.v);
          assert.deepEqual(values, [0, 1, 2, 3, 4]);
        }
        await untilDelivered(hook.id, expected);
        const log = await deliveries(hook.id);
        assert.equal(log.deliveries.length, expected);
        for (const d of log.deliveries) {
          assert.equal(d.status, 'DELIVERED');
          assert.equal(d.attempts, FAILS + 1);
          assert.equal(d.lastStatus, 200);
        }
      } finally {
        rx.answer = () => 200;
      }
    });

    test('dead letter after the last attempt; replay by event id and by time range delivers it', async () => {
      await collection('dead');
      let down = true;
      rx.answer = (path) => (path === '/dead' && down ? 503 : 200);
      try {
        const hook = await createHook({ url: `${rx.url}/dead`, events: [CREATED], dataCollectionId: 'dead' });
        const before = new Date(Date.now() - 1000).toISOString();
        await insert('dead', [{ _id: 'd1' }]);
        const dead = await until('the dead letter', async () => (await deliveries(hook.id, '?status=DEAD')).deliveries[0]);
        assert.equal(dead.attempts, MAX_ATTEMPTS);
        assert.equal(dead.lastStatus, 503);
        assert.match(dead.lastError, /HTTP 503/);
        assert.equal(dead.nextAttemptAt, null);
        assert.equal(dead.deliveredAt, null);
        assert.equal(rx.all('/dead').length, MAX_ATTEMPTS);
        await sleep(300);
        assert.equal(rx.all('/dead').length, MAX_ATTEMPTS, 'a dead delivery is not tried again');

        down = false;
        // An unknown event, or one this webhook does not take (the item's deletion), replays nothing.
        assert.deepEqual((await api('POST', `${HOOKS}/${hook.id}/deliveries/replay`, { eventId: 'no-such-event' })).body, { replayed: 0 });
        const r1 = await api('POST', `${HOOKS}/${hook.id}/deliveries/replay`, { eventId: dead.eventId });
        assert.equal(r1.status, 200, JSON.stringify(r1.body));
        assert.deepEqual(r1.body, { replayed: 1 });
        await until('the replayed event', () => rx.ok('/dead').length === 1);
        const delivered = await until('DELIVERED', async () => (await deliveries(hook.id, '?status=DELIVERED')).deliveries[0]);
        assert.equal(delivered.eventId, dead.eventId);
        assert.equal(delivered.attempts, 1);
        assert.equal(rx.ok('/dead')[0]!.headers['webhook-id'], dead.eventId);
        assert.ok(verifySignature(rx.ok('/dead')[0]!, hook.secret));

        // By time range: the delivered one goes out again; events outside the range do not.
        const rm = await api('POST', `${DATA}/items/remove`, { dataCollectionId: 'dead', dataItemId: 'd1' });
        assert.equal(rm.status, 200);
        const r2 = await api('POST', `${HOOKS}/${hook.id}/deliveries/replay`, { from: before, to: new Date(Date.now() + 1000).toISOString() });
        assert.deepEqual(r2.body, { replayed: 1 });
        await until('the second replay', () => rx.ok('/dead').length === 2);
        assert.equal(rx.ok('/dead')[1]!.headers['webhook-id'], dead.eventId);
        const r3 = await api('POST', `${HOOKS}/${hook.id}/deliveries/replay`, { from: '2001-01-01T00:00:00Z', to: '2001-01-02T00:00:00Z' });
        assert.deepEqual(r3.body, { replayed: 0 });
      } finally {
        rx.answer = () => 200;
      }
    });

    test('an unreachable receiver: network errors are retried and logged', async () => {
      await collection('gone');
      // Port 1: nothing listens there (a port freed by a closed server could be taken by another test's process).
      const url = 'http://127.0.0.1:1/gone';
      const hook = await createHook({ url, events: [CREATED], dataCollectionId: 'gone' });
      await insert('gone', [{ _id: 'g1' }]);
      const dead = await until('the dead letter', async () => (await deliveries(hook.id, '?status=DEAD')).deliveries[0]);
      assert.equal(dead.attempts, MAX_ATTEMPTS);
      assert.equal(dead.lastStatus, null);
      assert.match(dead.lastError, /ECONNREFUSED|fetch failed/);
      // Deleting the webhook drops its deliveries.
      assert.equal((await api('DELETE', `${HOOKS}/${hook.id}`)).status, 200);
      const left = await store.db.get<{ n: number }>(sql`SELECT count(*) AS n FROM webhook_deliveries WHERE webhook_id = ${hook.id}`);
      assert.equal(Number(left?.n), 0);
    });

    test('the webhook routes need a key with the webhooks scope', async () => {
      const guarded = await serve(store, { adminKey: 'sekret', webhooks: { deliver: false } });
      try {
        const call2 = (headers: Record<string, string>) => call(guarded.url, 'GET', HOOKS, undefined, headers);
        for (const headers of [{} as Record<string, string>, { authorization: 'wrong' }, { authorization: 'Bearer wrong' }, { authorization: 'Basic sekret' }]) {
          const r = await call2(headers);
          assert.equal(r.status, 401, JSON.stringify(headers));
          assert.equal(r.body.details.applicationError.code, 'UNAUTHENTICATED');
          assert.equal(typeof r.body.message, 'string');
        }
        assert.equal((await call2({ authorization: 'sekret' })).status, 200);
        assert.equal((await call2({ authorization: 'Bearer sekret' })).status, 200);
        const post = await call(guarded.url, 'POST', HOOKS, { url: `${rx.url}/x`, events: ['*'] });
        assert.equal(post.status, 401);
        // The admin key holds every scope.
        assert.equal((await call(guarded.url, 'GET', `${DATA}/collections`, undefined, { authorization: 'sekret' })).status, 200);
      } finally {
        await guarded.close();
      }
    });

    test('CAIRN_WEBHOOKS: config webhooks are upserted with stable ids, and removed when gone', async () => {
      const secret = `whsec_${Buffer.alloc(24, 1).toString('base64')}`;
      const one = { url: `${rx.url}/cfg-1`, events: [CREATED], secret };
      const two = { url: `${rx.url}/cfg-2`, events: ['*'], dataCollectionId: 'cfg', secret };
      const first = await serve(store, { webhooks: { deliver: false, config: [one, two] } });
      let ids: string[];
      try {
        const list = (await call(first.url, 'GET', HOOKS)).body.webhooks.filter((w: { source: string }) => w.source === 'CONFIG');
        assert.equal(list.length, 2);
        ids = list.map((w: { id: string }) => w.id).sort();
        const del = await call(first.url, 'DELETE', `${HOOKS}/${ids[0]}`);
        assert.equal(del.status, 400, 'a CONFIG webhook is removed from the config, not the API');
      } finally {
        await first.close();
      }
      const rotated = `whsec_${Buffer.alloc(24, 2).toString('base64')}`;
      const second = await serve(store, { webhooks: { deliver: false, config: [{ ...two, secret: rotated }] } });
      try {
        const list = (await call(second.url, 'GET', HOOKS)).body.webhooks.filter((w: { source: string }) => w.source === 'CONFIG');
        assert.equal(list.length, 1);
        assert.ok(ids.includes(list[0].id), 'the same url, events and collection keep their id');
        assert.equal(list[0].secret, rotated);
        assert.equal(list[0].url, two.url);
        assert.equal(list[0].dataCollectionId, 'cfg');
      } finally {
        await second.close();
      }
      await assert.rejects(() => serve(store, { webhooks: { deliver: false, config: [{ url: `${rx.url}/x`, events: ['*'] }] } }), /CAIRN_WEBHOOKS\[0\]\.secret/);
      const last = await serve(store, { webhooks: { deliver: false, config: [] } });
      try {
        const list = (await call(last.url, 'GET', HOOKS)).body.webhooks.filter((w: { source: string }) => w.source === 'CONFIG');
        assert.equal(list.length, 0);
      } finally {
        await last.close();
      }
    });

    test('the retention sweep looks for old events through the event_time index, not a scan of every event', async () => {
      const own = await openTestStore(storeName as StoreName);
      try {
        const rows = 20_000;
        // Events of today: none older than the cutoff. In seq order the sweep's query read all of them.
        await own.db.run(
          own.db.dialect === 'postgres'
            ? sql`INSERT INTO events (id, type, entity_id, event_time, data)
                SELECT 'e' || g, 'wix.data.v2.data_item_created', 'i' || g, '2030-01-01T00:00:00.000Z', jsonb_build_object('x', repeat('x', 200)) FROM generate_series(1, ${rows}) g`
            : sql`WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ${rows})
                INSERT INTO events (id, type, entity_id, event_time, data)
                SELECT 'e' || n, 'wix.data.v2.data_item_created', 'i' || n, '2030-01-01T00:00:00.000Z', json_object('x', printf('%.200c', 'x')) FROM g`,
        );
        const query = oldEvents('2029-12-31T00:00:00.000Z', sql` AND seq < ${rows * 2}`);
        if (own.db.dialect === 'postgres') {
          await own.db.exec('ANALYZE events');
          const plan = (await own.db.all<{ 'QUERY PLAN': string }>(sql`EXPLAIN ${query}`)).map((r) => r['QUERY PLAN']).join('\n');
          assert.match(plan, /Index (Only )?Scan using events_time/, plan);
        } else {
          const plan = (await own.db.all<{ detail: string }>(sql`EXPLAIN QUERY PLAN ${query}`)).map((r) => r.detail).join('\n');
          assert.match(plan, /SEARCH events USING (COVERING )?INDEX events_time \(event_time<\?\)/, plan);
        }
        assert.deepEqual(await own.db.all(query), []);
      } finally {
        await own.close();
      }
    });

    test('retention deletes old delivered and dead rows and the events no delivery needs', async () => {
      const own = await openTestStore(storeName as StoreName);
      const clock = new ManualClock(Date.parse('2030-01-01T00:00:00Z'));
      const s = await serve(own, { clock, webhooks: { delivery: { retentionHours: 1, retentionEveryMs: 3_600_000 } } });
      try {
        const delivery = s.cairn.delivery!;
        await call(s.url, 'POST', `${DATA}/collections`, { collection: { id: 'old' } });
        const hook = (await call(s.url, 'POST', HOOKS, { url: `${rx.url}/ret`, events: [CREATED] })).body.webhook;
        const ins = await call(s.url, 'POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'old', dataItems: [{ data: { _id: 'o1' } }, { data: { _id: 'o2' } }] });
        assert.equal(ins.status, 200);
        await until('delivered', async () => (await call(s.url, 'GET', `${HOOKS}/${hook.id}/deliveries?status=DELIVERED`)).body.deliveries.length === 2);
        const count = async (table: 'events' | 'webhook_deliveries') => Number((await own.db.get<{ n: number }>(sql`SELECT count(*) AS n FROM ${table === 'events' ? sql`events` : sql`webhook_deliveries`}`))?.n);
        assert.equal(await count('webhook_deliveries'), 2);
        const eventsBefore = await count('events');
        assert.ok(eventsBefore >= 3); // the collection and the two items
        assert.deepEqual(await delivery.sweep(), { deliveries: 0, events: 0 }, 'nothing is old yet');
        clock.advance(2 * 3_600_000);
        // A newer event whose delivery is still pending keeps itself (and is not swept).
        rx.answer = (path) => (path === '/ret' ? 500 : 200);
        await call(s.url, 'POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'old', dataItems: [{ data: { _id: 'o3' } }] });
        const swept = await delivery.sweep();
        assert.equal(swept.deliveries, 2);
        assert.equal(swept.events, eventsBefore);
        assert.equal(await count('events'), 1);
        const left = (await call(s.url, 'GET', `${HOOKS}/${hook.id}/deliveries`)).body.deliveries;
        assert.equal(left.length, 1);
        assert.equal(left[0].entityId, 'o3');
      } finally {
        rx.answer = () => 200;
        await s.close();
        await own.close();
      }
    });
  });
}
