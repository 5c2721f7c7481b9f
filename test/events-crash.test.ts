/**
 * Webhook delivery survives kill -9 (docs/webhooks.md, "At least once"): the real server runs as
 * a child process with a webhook from CAIRN_WEBHOOKS; items are written while the receiver fails
 * (HTTP 500), drops connections, or answers slowly, and the server is killed with SIGKILL while
 * deliveries are pending or in flight, then started again on the same store. At the end, with the
 * receiver up and a `npm run worker` process delivering beside the server, every event the writes
 * recorded has reached the receiver at least once, every delivery row is DELIVERED, and each
 * item's events first arrived in entityEventSequence order.
 *
 * SQLite: a temporary CAIRN_DATA_DIR. PostgreSQL: a fresh schema passed as DATABASE_URL.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { STORE_NAMES, openTestStore, type StoreName, type TestStore } from './helpers/stores.js';
import { call } from './helpers/server.js';
import { killAll, spawnServer, spawnWorker, type Child, type ServerChild } from './helpers/process.js';
import { openDb } from '../src/store/open.js';
import { sql } from '../src/store/sql.js';
import type { Db } from '../src/store/db.js';

const DATA = '/wix-data/v2';
const SECRET = `whsec_${Buffer.alloc(24, 9).toString('base64')}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

interface Arrival {
  id: string;
  entityId: string;
  seq: bigint;
}

/** The receiver: 'fail' answers 500, 'drop' destroys the connection, 'slow' answers 200 after a pause, 'ok' answers 200. */
class Receiver {
  mode: 'fail' | 'drop' | 'slow' | 'ok' = 'fail';
  /** Accepted deliveries, in arrival order (duplicates included). */
  readonly accepted: Arrival[] = [];
  requests = 0;
  url = '';
  private server: Server | undefined;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.requests++;
        const mode = this.mode;
        if (mode === 'drop') return req.socket.destroy();
        if (mode === 'fail') {
          res.writeHead(500).end('down');
          return;
        }
        const accept = () => {
          const json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          this.accepted.push({ id: req.headers['webhook-id'] as string, entityId: json.data.entityId, seq: BigInt(json.data.entityEventSequence) });
          res.writeHead(200).end('ok');
        };
        if (mode === 'slow') setTimeout(accept, 5);
        else accept();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    const a = this.server.address();
    this.url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/hook`;
  }

  ids(): Set<string> {
    return new Set(this.accepted.map((a) => a.id));
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

/** One store shared by successive server processes. */
class Session {
  server: ServerChild | undefined;
  worker: Child | undefined;
  private pg: TestStore | undefined;
  private dir: string | undefined;
  constructor(
    readonly storeName: StoreName,
    readonly receiver: Receiver,
  ) {}

  async open(): Promise<void> {
    if (this.storeName === 'postgres') this.pg = await openTestStore('postgres');
    else this.dir = await mkdtemp(join(tmpdir(), 'cairn-events-crash-'));
  }

  private env(): Record<string, string> {
    return {
      ...(this.pg ? { DATABASE_URL: this.pg.url as string } : { CAIRN_DATA_DIR: this.dir as string }),
      CAIRN_WEBHOOKS: JSON.stringify([{ url: this.receiver.url, events: ['*'], secret: SECRET }]),
      CAIRN_WEBHOOK_RETRY_BASE_MS: '20',
      CAIRN_WEBHOOK_RETRY_CAP_MS: '200',
      CAIRN_WEBHOOK_MAX_ATTEMPTS: '100000',
      CAIRN_WEBHOOK_TIMEOUT_MS: '1000',
      CAIRN_WEBHOOK_LEASE_MS: '1500',
    };
  }

  async start(): Promise<ServerChild> {
    this.server = await spawnServer(this.env());
    return this.server;
  }

  async startWorker(): Promise<Child> {
    this.worker = await spawnWorker(this.env());
    return this.worker;
  }

  api(method: string, path: string, body?: unknown) {
    assert.ok(this.server, 'no server running');
    return call(this.server.url, method, path, body);
  }

  async read<T>(fn: (db: Db) => Promise<T>): Promise<T> {
    if (this.pg) return fn(this.pg.db);
    const db = await openDb({ dataDir: this.dir as string });
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  }

  async close(): Promise<void> {
    await killAll();
    if (this.pg) await this.pg.close();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}

for (const storeName of STORE_NAMES) {
  describe(`webhook deliveries survive kill -9 (${storeName})`, () => {
    const receiver = new Receiver();
    const s = new Session(storeName, receiver);
    before(async () => {
      await receiver.start();
      await s.open();
    });
    after(async () => {
      await s.close();
      await receiver.close();
    });

    async function ok(method: string, path: string, body: unknown) {
      const r = await s.api(method, path, body);
      assert.equal(r.status, 200, `${method} ${path}: ${JSON.stringify(r.body)}`);
      return r.body;
    }

    const ids = (from: number, n: number) => Array.from({ length: n }, (_, i) => `c${String(from + i).padStart(5, '0')}`);
    const insert = (list: string[]) => ok('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'crash', dataItems: list.map((id) => ({ id, data: { v: 0 } })) });
    const patch = (list: string[], v: number) =>
      ok('POST', `${DATA}/bulk/items/patch`, {
        dataCollectionId: 'crash',
        patches: list.map((id) => ({ dataItemId: id, fieldModifications: [{ fieldPath: 'v', action: 'SET_FIELD', setFieldOptions: { value: v } }] })),
      });

    async function hookId(): Promise<string> {
      const list = await ok('GET', '/cairn/v1/webhooks', undefined);
      assert.equal(list.webhooks.length, 1);
      return list.webhooks[0].id;
    }

    async function pending(): Promise<number> {
      const id = await hookId();
      const r = await ok('GET', `/cairn/v1/webhooks/${id}/deliveries?status=PENDING&limit=1000`, undefined);
      return r.deliveries.length;
    }

    test('every event arrives at least once, in per-item order, across kills and restarts', async () => {
      // 1. Receiver failing: writes queue deliveries that keep failing; kill -9 with all pending.
      receiver.mode = 'fail';
      await s.start();
      await ok('POST', `${DATA}/collections`, { collection: { id: 'crash' } });
      await insert(ids(0, 600));
      await patch(ids(0, 300), 1);
      await until('failed attempts', () => receiver.requests > 50);
      assert.ok((await pending()) > 0, 'deliveries are pending at the kill');
      await s.server!.kill();

      // 2. Receiver answering slowly: kill -9 in the middle of the delivery, with requests in flight.
      receiver.mode = 'slow';
      await s.start();
      await patch(ids(0, 600), 2);
      await ok('POST', `${DATA}/bulk/items/remove`, { dataCollectionId: 'crash', dataItemIds: ids(500, 50) });
      await until('some deliveries', () => receiver.accepted.length > 150);
      assert.ok((await pending()) > 0, 'deliveries are pending at the kill');
      await s.server!.kill();
      const acceptedAtKill = receiver.accepted.length;

      // 3. Receiver dropping connections: more writes, then kill -9 again.
      receiver.mode = 'drop';
      await s.start();
      await insert(ids(600, 200));
      await patch(ids(100, 400), 3);
      await ok('POST', `${DATA}/items/truncate`, { dataCollectionId: 'crash' });
      await sleep(300);
      await s.server!.kill();

      // 4. Receiver up; the server and a worker process deliver together.
      receiver.mode = 'ok';
      await s.start();
      await s.startWorker();
      const expected = await s.read(async (db) => (await db.all<{ id: string }>(sql`SELECT id FROM events`)).map((r) => r.id));
      // 1 collection event + 800 created + 300 + 600 + 400 updated + 50 + 750 deleted.
      assert.equal(expected.length, 1 + 800 + 300 + 600 + 400 + 50 + 750);
      await until('every event delivered', () => {
        const got = receiver.ids();
        return expected.every((id) => got.has(id));
      }, 45_000);
      await until('every delivery marked', async () => (await pending()) === 0);
      assert.ok(receiver.accepted.length > acceptedAtKill);

      const rows = await s.read((db) => db.all<{ status: string; n: number }>(sql`SELECT status, count(*) AS n FROM webhook_deliveries GROUP BY status`));
      assert.deepEqual(rows.map((r) => [r.status, Number(r.n)]), [['DELIVERED', expected.length]]);
      const got = receiver.ids();
      assert.equal(got.size, expected.length, 'no event arrived that the writes did not produce');

      // Per-item order: each entity's events first arrived in increasing sequence.
      const first = new Map<string, Arrival>();
      for (const a of receiver.accepted) if (!first.has(a.id)) first.set(a.id, a);
      const lastSeq = new Map<string, bigint>();
      for (const a of first.values()) {
        const prev = lastSeq.get(a.entityId);
        assert.ok(prev === undefined || a.seq > prev, `entity ${a.entityId}: ${a.seq} arrived after ${prev}`);
        lastSeq.set(a.entityId, a.seq);
      }
      await s.worker!.stop();
      await s.server!.stop();
    });
  });
}
