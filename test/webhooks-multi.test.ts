/**
 * Several delivery workers on one store (each with its own connection, as separate processes
 * have) share a backlog without sending any event twice at once: with a receiver that always
 * answers 200, every event arrives exactly once and every delivery ends DELIVERED. PostgreSQL
 * claims with FOR UPDATE SKIP LOCKED; SQLite's claims take turns on the one write lock.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp, type Cairn } from '../src/http/app.js';
import { DeliveryWorker } from '../src/events/delivery.js';
import { openDb } from '../src/store/open.js';
import type { Db } from '../src/store/db.js';
import { sql } from '../src/store/sql.js';
import { STORE_NAMES, openTestStore, type TestStore } from './helpers/stores.js';
import { call, TEST_ADMIN_KEY } from './helpers/server.js';

const EVENTS = 3000;
const WORKERS = 3;

for (const storeName of STORE_NAMES) {
  describe(`${WORKERS} delivery workers on one store (${storeName})`, () => {
    let dir: string | undefined;
    let store: TestStore | undefined;
    let dbs: Db[] = [];
    let cairn: Cairn;
    let url: string;
    let receiver: Server;
    let receiverUrl: string;
    const seen = new Map<string, number>();
    let inFlight = 0;
    let maxInFlight = 0;

    before(async () => {
      // Every worker gets a connection of its own to the same database.
      const open = async (): Promise<Db> => {
        if (storeName === 'sqlite') return openDb({ sqliteFile: join(dir as string, 'cairn.db') });
        return openDb({ databaseUrl: (store as TestStore).url as string });
      };
      if (storeName === 'sqlite') dir = mkdtempSync(join(tmpdir(), 'cairn-multi-'));
      else store = await openTestStore('postgres');
      dbs = [await open(), await open(), await open()];
      cairn = await buildApp({ adminKey: TEST_ADMIN_KEY, db: dbs[0] as Db, logLevel: 'silent', runTasks: false, webhooks: { deliver: false } });
      await cairn.app.listen({ port: 0, host: '127.0.0.1' });
      const a = cairn.app.server.address();
      url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;

      receiver = createServer((req, res) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        req.resume();
        req.on('end', () => {
          const id = String(req.headers['webhook-id']);
          seen.set(id, (seen.get(id) ?? 0) + 1);
          // A little latency, so that the workers' claims overlap in time.
          setTimeout(() => {
            inFlight--;
            res.writeHead(200).end();
          }, 2);
        });
      });
      await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
      const ra = receiver.address();
      receiverUrl = `http://127.0.0.1:${typeof ra === 'object' && ra ? ra.port : 0}`;
    });

    after(async () => {
      await cairn.app.close();
      await new Promise((r) => receiver.close(r));
      for (const db of dbs) await db.close();
      await store?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    test('a backlog shared by three workers: every event exactly once', async () => {
      assert.equal((await call(url, 'POST', '/wix-data/v2/collections', { collection: { id: 'shared' } })).status, 200);
      const hook = await call(url, 'POST', '/cairn/v1/webhooks', { url: receiverUrl, events: ['wix.data.v2.data_item_created'] });
      assert.equal(hook.status, 200, JSON.stringify(hook.body));
      for (let k = 0; k < EVENTS / 1000; k++) {
        const r = await call(url, 'POST', '/wix-data/v2/bulk/items/insert', {
          dataCollectionId: 'shared',
          dataItems: Array.from({ length: 1000 }, (_, i) => ({ data: { _id: `i${k}-${i}`, n: i } })),
        });
        assert.equal(r.status, 200);
      }
      // Every event is fanned out: named by a marker, one per write (the workers expand them).
      const fanned = await (dbs[0] as Db).all<{ seqs: string | number[] }>(sql`SELECT seqs FROM webhook_fanout`);
      assert.equal(fanned.length, EVENTS / 1000);
      assert.equal(fanned.reduce((n, r) => n + (typeof r.seqs === 'string' ? (JSON.parse(r.seqs) as number[]) : r.seqs).length, 0), EVENTS);

      const workers = dbs.map((db, i) => new DeliveryWorker(db, undefined, { workerId: `w${i}`, batchSize: 50, concurrency: 8, pollMs: 20 }));
      for (const w of workers) w.start();
      try {
        for (let i = 0; i < 1500 && seen.size < EVENTS; i++) await new Promise((r) => setTimeout(r, 20));
        // A moment more: a duplicate sent late would show here.
        await new Promise((r) => setTimeout(r, 500));
      } finally {
        await Promise.all(workers.map((w) => w.stop()));
      }
      assert.equal(seen.size, EVENTS);
      const twice = [...seen.entries()].filter(([, n]) => n !== 1);
      assert.deepEqual(twice, []);
      assert.ok(maxInFlight > 8, `the workers sent concurrently (at most ${maxInFlight} requests in flight)`);
      const rows = await (dbs[0] as Db).all<{ status: string; n: string | number }>(
        sql`SELECT status, count(*) AS n FROM webhook_deliveries GROUP BY status`,
      );
      assert.deepEqual(rows.map((r) => [r.status, Number(r.n)]), [['DELIVERED', EVENTS]]);
    });
  });
}
