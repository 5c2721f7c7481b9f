/**
 * Section `events`:
 * - Recording overhead: a 1000-item BulkPatch over HTTP with events recorded and one webhook
 *   subscribed (so every event also gets its delivery row, and deliveries run meanwhile),
 *   beside the same request on a Cairn with events off (CAIRN_EVENTS=off), same store, same run.
 *   Target: at most 30% more latency.
 * - Delivery throughput: events delivered per second to a local receiver (bench/receiver.ts, a
 *   process of its own), end to end from the first write to the last distinct event received,
 *   beside the rate the same receiver takes plain POSTs of the same size from autocannon.
 *   Target: at least 2,000 events/s.
 * - Hooks: the same BulkPatch on a Cairn with a hooks module whose hooks are for another
 *   collection, beside one with no hooks module: the set-based path must not slow down.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  analyze,
  createCollection,
  fmt,
  loadItems,
  log,
  median,
  openBenchStore,
  sleep,
  startCairn,
  timeRuns,
  type BenchOptions,
  type LoadGenerator,
  type Row,
} from './common.js';

const COLLECTION = 'evented';
const BATCH = 1000;
const PATCH_PATH = '/wix-data/v2/bulk/items/patch';

class Receiver {
  private readonly child: ChildProcess;
  private waiting: ((m: any) => void)[] = [];
  readonly port: Promise<number>;
  constructor() {
    this.child = fork(fileURLToPath(new URL('./receiver.ts', import.meta.url)), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.port = new Promise((resolve, reject) => {
      this.child.once('message', (m: any) => (m?.type === 'ready' ? resolve(m.port as number) : reject(new Error(JSON.stringify(m)))));
    });
    this.port.then(() => this.child.on('message', (m) => this.waiting.shift()?.(m))).catch(() => {});
  }
  private ask(type: 'count' | 'reset'): Promise<{ requests: number; unique: number }> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      this.child.send({ type });
    });
  }
  count() {
    return this.ask('count');
  }
  reset() {
    return this.ask('reset');
  }
  /** Resolves when `unique` distinct events have arrived; the time it took, or throws after `timeoutMs`. */
  async waitFor(unique: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const c = await this.count();
      if (c.unique >= unique) return;
      if (Date.now() > deadline) throw new Error(`receiver got ${c.unique} of ${unique} events in ${timeoutMs} ms`);
      await sleep(20);
    }
  }
  close() {
    this.child.disconnect();
  }
}

function patchBody(ids: readonly string[], round: number): string {
  return JSON.stringify({
    dataCollectionId: COLLECTION,
    patches: ids.map((id) => ({
      dataItemId: id,
      fieldModifications: [
        { fieldPath: 'title', action: 'SET_FIELD', setFieldOptions: { value: `round ${round}` } },
        { fieldPath: 'count', action: 'INCREMENT_FIELD', incrementFieldOptions: { value: 1 } },
      ],
    })),
  });
}

async function post(url: string, body: string): Promise<void> {
  const res = await fetch(url + PATCH_PATH, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const reply = (await res.json()) as { bulkActionMetadata?: { totalSuccesses: number } };
  if (reply.bulkActionMetadata?.totalSuccesses !== BATCH) throw new Error(`bulk patch: ${res.status} ${JSON.stringify(reply).slice(0, 300)}`);
}

export async function eventsSection(opts: BenchOptions, load: LoadGenerator): Promise<Row[]> {
  const rows: Row[] = [];
  const n = 10_000;
  const runs = opts.quick ? 15 : 40;
  const deliveryEvents = opts.quick ? 10_000 : 30_000;
  for (const storeName of opts.stores) {
    log(`[events] ${storeName}: loading ${n} items`);
    const store = await openBenchStore(storeName);
    const receiver = new Receiver();
    const receiverUrl = `http://127.0.0.1:${await receiver.port}`;
    // Three servers on one store: events off, events on (with the delivery worker), and one
    // with a hooks module for another collection. Only one of them works at a time.
    const quiet = await startCairn(store, false, { events: false });
    const loud = await startCairn(store, false);
    const hooked = await startCairn(store, false, { events: false, hooks: { hooks: { someOtherCollection: { beforeUpdate: (item: unknown) => item } } } } as never);
    try {
      await createCollection(loud.cairn, COLLECTION);
      const all = await loadItems(store, COLLECTION, n);
      await analyze(store);
      const ids = all.filter((_, i) => i % (n / BATCH) === 0);
      let round = 0;

      // No subscription yet: events are recorded, nothing is delivered.
      const offMs = median(await timeRuns(() => post(quiet.url, patchBody(ids, round++)), runs));
      const recordedMs = median(await timeRuns(() => post(loud.url, patchBody(ids, round++)), runs));
      const hooksMs = median(await timeRuns(() => post(hooked.url, patchBody(ids, round++)), runs));
      const offAgainMs = median(await timeRuns(() => post(quiet.url, patchBody(ids, round++)), runs));

      const hook = await fetch(`${loud.url}/cairn/v1/webhooks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url: receiverUrl, events: ['wix.data.v2.data_item_updated'] }),
      });
      if (!hook.ok) throw new Error(`webhook: ${hook.status} ${await hook.text()}`);
      await receiver.reset();
      const warm = 5;
      const subscribedMs = median(await timeRuns(() => post(loud.url, patchBody(ids, round++)), runs, warm));
      const baselineMs = Math.min(offMs, offAgainMs);
      log(`[events] ${storeName}: BulkPatch p50 ${fmt(offMs)}/${fmt(offAgainMs)} ms events off, ${fmt(recordedMs)} recorded, ${fmt(subscribedMs)} with a subscription, ${fmt(hooksMs)} with hooks elsewhere`);
      // Let the deliveries of those requests finish before the throughput run.
      await receiver.waitFor((runs + warm) * BATCH, 300_000);

      await receiver.reset();
      const started = performance.now();
      for (let k = 0; k < deliveryEvents / BATCH; k++) await post(loud.url, patchBody(ids, round++));
      const written = performance.now() - started;
      await receiver.waitFor(deliveryEvents, 300_000);
      const deliveryMs = performance.now() - started;
      const perSecond = (deliveryEvents / deliveryMs) * 1000;
      const received = await receiver.count();

      // The receiver's own ceiling: plain POSTs of a delivery's size, same number of connections as the worker's sends.
      const sample = JSON.stringify({ type: 'wix.data.v2.data_item_updated', timestamp: new Date().toISOString(), data: { pad: 'x'.repeat(700) } });
      await sleep(300);
      const raw = await load.run({ url: receiverUrl, method: 'POST', path: '/', body: sample, connections: 32, duration: opts.quick ? 3 : 6 });
      log(`[events] ${storeName}: ${deliveryEvents} events delivered in ${fmt(deliveryMs)} ms (writes took ${fmt(written)} ms), ${received.requests} requests; receiver ceiling ${fmt(raw.rps)} req/s`);

      rows.push(
        {
          section: 'events',
          store: storeName,
          metric: 'BulkPatch 1000 items, events recorded + 1 subscription, ms median',
          measured: fmt(subscribedMs),
          baseline: `${fmt(baselineMs)} (events off)`,
          ratio: subscribedMs / baselineMs,
          target: 'ratio ≤ 1.3',
          pass: subscribedMs / baselineMs <= 1.3,
        },
        {
          section: 'events',
          store: storeName,
          metric: 'BulkPatch 1000 items, events recorded, no subscription, ms median',
          measured: fmt(recordedMs),
          baseline: `${fmt(baselineMs)} (events off)`,
          ratio: recordedMs / baselineMs,
          target: '—',
          pass: undefined,
        },
        {
          section: 'events',
          store: storeName,
          metric: `webhook delivery to a local receiver, events/s (${deliveryEvents.toLocaleString('en-US')} events, end to end)`,
          measured: fmt(perSecond),
          baseline: `${fmt(raw.rps)} (plain POSTs to the receiver, 32 connections)`,
          ratio: perSecond / raw.rps,
          target: '≥ 2,000/s',
          pass: perSecond >= 2000,
        },
        {
          section: 'events',
          store: storeName,
          metric: 'BulkPatch 1000 items, hooks module with no hooks for this collection, ms median',
          measured: fmt(hooksMs),
          baseline: `${fmt(baselineMs)} (no hooks module)`,
          ratio: hooksMs / baselineMs,
          target: 'ratio ≤ 1.1',
          pass: hooksMs / baselineMs <= 1.1,
        },
      );
    } finally {
      await hooked.close();
      await loud.close();
      await quiet.close();
      receiver.close();
      await store.close();
    }
  }
  return rows;
}
