/**
 * The live event stream (GET /cairn/v1/events/stream, docs/events.md) over real HTTP on both
 * stores: messages for item writes with their envelope and payload, the collection and type
 * filters, request validation, resuming with Last-Event-ID / ?after, several clients, BulkPatch
 * fan-out, server close, the admin key, dropping a client that stops reading, and an event whose
 * transaction commits after later events were already streamed.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { STORE_NAMES, openTestStore, type StoreName } from './helpers/stores.js';
import { startServer, call, type TestServer, TEST_ADMIN_KEY } from './helpers/server.js';
import { buildApp, type AppOptions } from '../src/http/app.js';
import { sql } from '../src/store/sql.js';

const DATA = '/wix-data/v2';
const STREAM = '/cairn/v1/events/stream';
const CREATED = 'wix.data.v2.data_item_created';
const UPDATED = 'wix.data.v2.data_item_updated';
const DELETED = 'wix.data.v2.data_item_deleted';
/** Generous: the poller reads every ~150 ms; CI machines can be slow. */
const WAIT_MS = 20_000;

type Obj = Record<string, any>;

interface SseFrame {
  id: string | undefined;
  event: string | undefined;
  data: any;
}

/** An SSE connection read incrementally with fetch: frames, comments, and how it ended. */
class SseClient {
  readonly frames: SseFrame[] = [];
  readonly comments: string[] = [];
  retry: number | undefined;
  ended = false;
  error: unknown;
  private buffer = '';
  private readonly controller = new AbortController();
  status = 0;
  contentType = '';
  private pumping: Promise<void> = Promise.resolve();

  static async open(base: string, path = STREAM, headers: Record<string, string> = {}): Promise<SseClient> {
    const c = new SseClient();
    const res = await fetch(base + path, { headers: { accept: 'text/event-stream', authorization: TEST_ADMIN_KEY, ...headers }, signal: c.controller.signal });
    c.status = res.status;
    c.contentType = res.headers.get('content-type') ?? '';
    assert.equal(res.status, 200, `stream answered ${res.status}: ${res.status === 200 ? '' : await res.text()}`);
    assert.ok(res.body);
    c.pumping = c.pump(res.body);
    return c;
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    const reader = body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        this.buffer += decoder.decode(value, { stream: true });
        this.parse();
      }
      this.ended = true;
    } catch (e) {
      this.error = e;
    }
  }

  private parse(): void {
    let at: number;
    while ((at = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, at);
      this.buffer = this.buffer.slice(at + 2);
      const frame: SseFrame = { id: undefined, event: undefined, data: undefined };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) {
          this.comments.push(line.slice(1).trim());
          continue;
        }
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') frame.id = value;
        else if (field === 'event') frame.event = value;
        else if (field === 'data') data.push(value);
        else if (field === 'retry') this.retry = Number(value);
      }
      if (data.length > 0) {
        frame.data = JSON.parse(data.join('\n'));
        this.frames.push(frame);
      }
    }
  }

  /** Frames of item events only (collection events may come too). */
  get itemFrames(): SseFrame[] {
    return this.frames.filter((f) => f.event?.startsWith('wix.data.v2.data_item_'));
  }

  async waitFor(what: string, predicate: (c: SseClient) => boolean, ms = WAIT_MS): Promise<void> {
    const deadline = Date.now() + ms;
    while (!predicate(this)) {
      if (this.error !== undefined) assert.fail(`stream failed while waiting for ${what}: ${String(this.error)}`);
      if (this.ended) assert.fail(`stream ended while waiting for ${what}; got ${this.frames.length} frames`);
      if (Date.now() > deadline) {
        const tail = this.frames.slice(-20).map((f) => `${f.id}:${f.event}`).join(' ');
        assert.fail(`timed out waiting for ${what}; got ${this.frames.length} frames, the last: ${tail}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Waits until the response ends (or fails). */
  async finished(ms = WAIT_MS): Promise<void> {
    await Promise.race([
      this.pumping,
      new Promise((_r, reject) => setTimeout(() => reject(new Error('stream did not end')), ms).unref()),
    ]);
  }

  close(): void {
    this.controller.abort();
  }
}

function expectEnvelope(r: { status: number; body: any }, status: number, code: string): void {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body?.details?.applicationError?.code, code, JSON.stringify(r.body));
  assert.equal(typeof r.body.message, 'string');
}

function ids(frames: SseFrame[]): number[] {
  return frames.map((f) => Number(f.id));
}

function assertIncreasing(frames: SseFrame[]): void {
  const list = ids(frames);
  for (let i = 1; i < list.length; i++) assert.ok((list[i] as number) > (list[i - 1] as number), `ids not increasing: ${list.join(',')}`);
}

/** A server built directly, for settings startServer does not take (admin key, stream options). */
async function startCustom(storeName: StoreName, options: Partial<AppOptions>) {
  const store = await openTestStore(storeName);
  const cairn = await buildApp({ adminKey: TEST_ADMIN_KEY, db: store.db, logLevel: 'silent', runTasks: false, ...options });
  await cairn.app.listen({ port: 0, host: '127.0.0.1' });
  const address = cairn.app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return {
    url,
    store,
    close: async () => {
      await cairn.app.close();
      await store.close();
    },
  };
}

for (const storeName of STORE_NAMES) {
  describe(`event stream (${storeName})`, () => {
    let s: TestServer;
    const open: SseClient[] = [];
    before(async () => {
      s = await startServer(storeName, { runner: false });
    });
    after(async () => {
      for (const c of open) c.close();
      await s.close();
    });

    const api = (method: string, path: string, body?: unknown) => call(s.url, method, path, body);
    const connect = async (path = STREAM, headers: Record<string, string> = {}) => {
      const c = await SseClient.open(s.url, path, headers);
      open.push(c);
      return c;
    };
    const collection = async (id: string) => {
      const r = await api('POST', `${DATA}/collections`, { collection: { id } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    const insert = async (c: string, items: Obj[]): Promise<Obj[]> => {
      const r = await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: c, dataItems: items.map((data) => ({ data })), returnEntity: true });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.bulkActionMetadata.totalSuccesses, items.length, JSON.stringify(r.body));
      return r.body.results.map((x: Obj) => x.dataItem.data);
    };
    /** A marker event: once a client has it, every event committed before it has been streamed. */
    const marker = async (c: string, tag: string) => (await insert(c, [{ _id: `marker-${tag}`, tag }]))[0] as Obj;
    const hasEntity = (type: string, id: string) => (c: SseClient) => c.frames.some((f) => f.event === type && f.data.data.entityId === id);

    test('insert, update and remove stream created, updated and deleted messages', async () => {
      await collection('basic');
      const c = await connect();
      assert.match(c.contentType, /^text\/event-stream/);
      const ins = await api('POST', `${DATA}/items`, { dataCollectionId: 'basic', dataItem: { data: { _id: 'a', title: 'one', n: 1 } } });
      assert.equal(ins.status, 200, JSON.stringify(ins.body));
      const upd = await api('POST', `${DATA}/items/update`, { dataCollectionId: 'basic', dataItem: { id: 'a', data: { _id: 'a', title: 'two', n: 2 } } });
      assert.equal(upd.status, 200, JSON.stringify(upd.body));
      const del = await api('POST', `${DATA}/items/remove`, { dataCollectionId: 'basic', dataItemId: 'a' });
      assert.equal(del.status, 200, JSON.stringify(del.body));
      await c.waitFor('the deleted message', hasEntity(DELETED, 'a'));

      const frames = c.itemFrames;
      assert.deepEqual(frames.map((f) => f.event), [CREATED, UPDATED, DELETED]);
      assertIncreasing(frames);
      assert.equal(c.retry !== undefined && c.retry > 0, true, 'a retry: field is sent');
      for (const f of frames) {
        const env = f.data;
        assert.deepEqual(Object.keys(env).sort(), ['data', 'timestamp', 'type']);
        assert.equal(env.type, f.event);
        assert.equal(env.data.entityId, 'a');
        assert.equal(env.data.entityFqdn, 'wix.data.v2.data_item');
        assert.equal(env.data.entityEventSequence, f.id, 'entityEventSequence is the message id');
        assert.equal(env.timestamp, env.data.eventTime);
        assert.ok(!Number.isNaN(Date.parse(env.timestamp)), env.timestamp);
        assert.match(env.data.id, /^[0-9a-f-]{36}$/);
        assert.equal(env.data.triggeredByAnonymizeRequest, false);
      }
      const [created, updated, deleted] = frames.map((f) => f.data.data) as [Obj, Obj, Obj];
      assert.equal(created.slug, 'created');
      assert.deepEqual(created.createdEvent, { entity: { id: 'a', dataCollectionId: 'basic', data: ins.body.dataItem.data } });
      assert.equal(updated.slug, 'updated');
      assert.deepEqual(updated.updatedEvent, { currentEntity: { id: 'a', dataCollectionId: 'basic', data: upd.body.dataItem.data } });
      assert.equal(deleted.slug, 'deleted');
      assert.deepEqual(deleted.deletedEvent, { deletedEntity: { id: 'a', dataCollectionId: 'basic' } });
      assert.equal(new Set(frames.map((f) => f.data.data.id)).size, 3, 'each event has its own id');
      c.close();
    });

    test('without a resume point the stream starts at the current end', async () => {
      await collection('fresh');
      await insert('fresh', [{ _id: 'old-1' }, { _id: 'old-2' }]);
      const c = await connect();
      await insert('fresh', [{ _id: 'new-1' }]);
      await c.waitFor('new-1', hasEntity(CREATED, 'new-1'));
      assert.deepEqual(c.itemFrames.map((f) => f.data.data.entityId), ['new-1']);
      c.close();
    });

    test('dataCollectionId keeps only that collection\'s events', async () => {
      await collection('keep');
      await collection('other');
      const filtered = await connect(`${STREAM}?dataCollectionId=keep`);
      const all = await connect();
      await insert('other', [{ _id: 'o1' }, { _id: 'o2' }]);
      await insert('keep', [{ _id: 'k1' }]);
      await insert('other', [{ _id: 'o3' }]);
      await marker('keep', 'keep-end');
      await filtered.waitFor('the marker', hasEntity(CREATED, 'marker-keep-end'));
      await all.waitFor('the marker', hasEntity(CREATED, 'marker-keep-end'));
      assert.deepEqual(filtered.frames.map((f) => f.data.data.entityId), ['k1', 'marker-keep-end']);
      assert.ok(filtered.frames.every((f) => f.data.data.createdEvent.entity.dataCollectionId === 'keep'));
      // The unfiltered client saw the other collection's events, in order.
      assert.deepEqual(all.itemFrames.map((f) => f.data.data.entityId), ['o1', 'o2', 'k1', 'o3', 'marker-keep-end']);
      assertIncreasing(all.frames);
      filtered.close();
      all.close();
    });

    test('types keeps only the event types named (comma-separated or repeated)', async () => {
      await collection('typed');
      const comma = await connect(`${STREAM}?types=${CREATED},${DELETED}&dataCollectionId=typed`);
      const repeated = await connect(`${STREAM}?types=${DELETED}&types=${UPDATED}&dataCollectionId=typed`);
      await insert('typed', [{ _id: 't1' }]);
      const upd = await api('POST', `${DATA}/items/update`, { dataCollectionId: 'typed', dataItem: { id: 't1', data: { _id: 't1', v: 2 } } });
      assert.equal(upd.status, 200, JSON.stringify(upd.body));
      const del = await api('POST', `${DATA}/items/remove`, { dataCollectionId: 'typed', dataItemId: 't1' });
      assert.equal(del.status, 200, JSON.stringify(del.body));
      await comma.waitFor('the deletion', hasEntity(DELETED, 't1'));
      await repeated.waitFor('the deletion', hasEntity(DELETED, 't1'));
      assert.deepEqual(comma.frames.map((f) => f.event), [CREATED, DELETED]);
      assert.deepEqual(repeated.frames.map((f) => f.event), [UPDATED, DELETED]);
      comma.close();
      repeated.close();
    });

    test('invalid requests are refused with the error envelope before the stream starts', async () => {
      const cases: [string, Record<string, string>, number, string][] = [
        [`${STREAM}?types=wix.data.v2.data_item_exploded`, {}, 400, 'WDE0080'],
        [`${STREAM}?types=${CREATED},nope`, {}, 400, 'WDE0080'],
        [`${STREAM}?types=${CREATED}&types=nope`, {}, 400, 'WDE0080'],
        [`${STREAM}?types=,`, {}, 400, 'WDE0080'],
        [`${STREAM}?dataCollectionId=`, {}, 400, 'WDE0001'],
        [`${STREAM}?dataCollectionId=a&dataCollectionId=b`, {}, 400, 'WDE0080'],
        [`${STREAM}?after=-1`, {}, 400, 'WDE0080'],
        [`${STREAM}?after=abc`, {}, 400, 'WDE0080'],
        [STREAM, { 'last-event-id': '1.5' }, 400, 'WDE0080'],
        [STREAM, { 'last-event-id': '99999999999999999999' }, 400, 'WDE0080'],
      ];
      for (const [path, headers, status, code] of cases) {
        const r = await call(s.url, 'GET', path, undefined, headers);
        expectEnvelope(r, status, code);
        assert.match(r.headers.get('content-type') ?? '', /application\/json/, path);
      }
      const r = await call(s.url, 'GET', `${STREAM}?types=bogus`);
      assert.match(r.body.message, /wix\.data\.v2\.data_item_created/, 'the message lists the known types');
    });

    test('Last-Event-ID (or ?after) replays exactly the missed events, then goes live', async () => {
      await collection('resume');
      const first = await connect(`${STREAM}?dataCollectionId=resume`);
      await insert('resume', [{ _id: 'r1' }, { _id: 'r2' }, { _id: 'r3' }]);
      await first.waitFor('r3', hasEntity(CREATED, 'r3'));
      first.close();
      const lastSeen = first.frames.at(-1)?.id as string;
      // Missed while disconnected: creations, an update and a deletion (and another collection's).
      await collection('resume-other');
      await insert('resume', [{ _id: 'r4' }, { _id: 'r5' }]);
      await insert('resume-other', [{ _id: 'x1' }]);
      const upd = await api('POST', `${DATA}/items/update`, { dataCollectionId: 'resume', dataItem: { id: 'r1', data: { _id: 'r1', again: true } } });
      assert.equal(upd.status, 200);
      const del = await api('POST', `${DATA}/items/remove`, { dataCollectionId: 'resume', dataItemId: 'r2' });
      assert.equal(del.status, 200);
      const missed = [`${CREATED}:r4`, `${CREATED}:r5`, `${UPDATED}:r1`, `${DELETED}:r2`];

      const viaHeader = await connect(`${STREAM}?dataCollectionId=resume`, { 'last-event-id': lastSeen });
      // The header wins over ?after (EventSource reconnects to the same URL with the header).
      const viaBoth = await connect(`${STREAM}?dataCollectionId=resume&after=0`, { 'last-event-id': lastSeen });
      const viaQuery = await connect(`${STREAM}?dataCollectionId=resume&after=${lastSeen}`);
      for (const c of [viaHeader, viaBoth, viaQuery]) await c.waitFor('the replay', hasEntity(DELETED, 'r2'));
      await insert('resume', [{ _id: 'live' }]);
      for (const c of [viaHeader, viaBoth, viaQuery]) {
        await c.waitFor('the live event', hasEntity(CREATED, 'live'));
        assert.deepEqual(c.frames.map((f) => `${f.event}:${f.data.data.entityId}`), [...missed, `${CREATED}:live`]);
        assertIncreasing(c.frames);
        assert.ok(Number(c.frames[0]?.id) > Number(lastSeen));
        c.close();
      }
      // From 0: everything of the collection still retained.
      const all = await connect(`${STREAM}?dataCollectionId=resume&after=0`);
      await all.waitFor('the live event', hasEntity(CREATED, 'live'));
      assert.deepEqual(
        all.itemFrames.map((f) => `${f.event}:${f.data.data.entityId}`),
        [`${CREATED}:r1`, `${CREATED}:r2`, `${CREATED}:r3`, ...missed, `${CREATED}:live`],
      );
      all.close();
    });

    test('a replay longer than one read (over 1000 events) arrives whole and in order', async () => {
      await collection('long');
      const start = await connect(`${STREAM}?dataCollectionId=long`);
      await marker('long', 'long-start');
      await start.waitFor('the start marker', hasEntity(CREATED, 'marker-long-start'));
      start.close();
      const from = start.frames[0]?.id as string;
      const n = 2500;
      for (let i = 0; i < n; i += 1000) await insert('long', Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({ _id: `l${String(i + j).padStart(5, '0')}` })));
      const c = await connect(`${STREAM}?dataCollectionId=long`, { 'last-event-id': from });
      await c.waitFor('every replayed event', (x) => x.frames.length >= n);
      await marker('long', 'long-end');
      await c.waitFor('the end marker', hasEntity(CREATED, 'marker-long-end'));
      assert.equal(c.frames.length, n + 1);
      assertIncreasing(c.frames);
      assert.deepEqual(
        c.frames.slice(0, n).map((f) => f.data.data.entityId),
        Array.from({ length: n }, (_, i) => `l${String(i).padStart(5, '0')}`),
      );
      c.close();
    });

    test('two clients both receive every event', async () => {
      await collection('pair');
      const a = await connect(`${STREAM}?dataCollectionId=pair`);
      const b = await connect(`${STREAM}?dataCollectionId=pair`);
      await insert('pair', Array.from({ length: 50 }, (_, i) => ({ _id: `p${i}`, i })));
      await api('POST', `${DATA}/items/remove`, { dataCollectionId: 'pair', dataItemId: 'p7' });
      for (const c of [a, b]) await c.waitFor('the deletion', hasEntity(DELETED, 'p7'));
      assert.equal(a.frames.length, 51);
      assert.deepEqual(a.frames.map((f) => f.id), b.frames.map((f) => f.id));
      assert.deepEqual(a.frames.map((f) => f.data), b.frames.map((f) => f.data));
      assert.deepEqual(new Set(a.frames.slice(0, 50).map((f) => f.data.data.entityId)), new Set(Array.from({ length: 50 }, (_, i) => `p${i}`)));
      a.close();
      b.close();
    });

    test('a BulkPatch of 200 items yields 200 updated messages', async () => {
      await collection('patched');
      const items = Array.from({ length: 200 }, (_, i) => ({ _id: `b${String(i).padStart(3, '0')}`, n: i }));
      await insert('patched', items);
      const c = await connect(`${STREAM}?dataCollectionId=patched&types=${UPDATED}`);
      const r = await api('POST', `${DATA}/bulk/items/patch`, {
        dataCollectionId: 'patched',
        patches: items.map((it) => ({ dataItemId: it._id, fieldModifications: [{ fieldPath: 'n', action: 'INCREMENT_FIELD', incrementFieldOptions: { value: 1000 } }] })),
      });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.bulkActionMetadata.totalSuccesses, 200);
      await c.waitFor('200 updates', (x) => x.frames.length >= 200);
      await insert('patched', [{ _id: 'after' }]);
      const u = await api('POST', `${DATA}/items/update`, { dataCollectionId: 'patched', dataItem: { id: 'after', data: { _id: 'after', n: -1 } } });
      assert.equal(u.status, 200);
      await c.waitFor('the last update', hasEntity(UPDATED, 'after'));
      assert.equal(c.frames.length, 201);
      assertIncreasing(c.frames);
      const byId = new Map(c.frames.slice(0, 200).map((f) => [f.data.data.entityId, f.data.data.updatedEvent.currentEntity.data]));
      assert.equal(byId.size, 200);
      for (const it of items) assert.equal(byId.get(it._id)?.n, it.n + 1000, it._id);
      c.close();
    });

    test('an event whose transaction commits after later events still arrives', async () => {
      await collection('late');
      const c = await connect(`${STREAM}?dataCollectionId=late`);
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let inserted!: () => void;
      const insertedLate = new Promise<void>((r) => (inserted = r));
      // A transaction that draws its seq first and commits last (on SQLite it holds the writer,
      // so the other writes wait for it; on PostgreSQL they commit first).
      const slow = s.store.db.transaction(async (tx) => {
        await tx.run(
          sql`INSERT INTO events (id, type, collection_id, env, entity_id, event_time, data)
              VALUES ('00000000-0000-4000-8000-00000000late', ${CREATED}, 'late', 'LIVE', 'late-one', ${new Date().toISOString()}, ${JSON.stringify({ _id: 'late-one' })})`,
        );
        inserted();
        await held;
      });
      await insertedLate;
      const others = insert('late', [{ _id: 'l-a' }, { _id: 'l-b' }]);
      let resumed: SseClient | undefined;
      try {
        if (storeName === 'postgres') {
          await others;
          await c.waitFor('the later events', hasEntity(CREATED, 'l-b'));
          // A client that reconnects now, above the later events, has not had the late one either.
          resumed = await connect(`${STREAM}?dataCollectionId=late&after=${Math.max(...ids(c.frames))}`);
        }
      } finally {
        // Never leave the transaction open, whatever failed.
        release();
        await slow;
        await others;
      }
      await c.waitFor('the late event', hasEntity(CREATED, 'late-one'));
      await c.waitFor('the other events', hasEntity(CREATED, 'l-b'));
      assert.deepEqual(c.frames.map((f) => f.data.data.entityId).sort(), ['l-a', 'l-b', 'late-one']);
      assert.equal(new Set(ids(c.frames)).size, 3, 'no event twice');
      if (resumed) {
        await resumed.waitFor('the late event', hasEntity(CREATED, 'late-one'));
        assert.deepEqual(resumed.frames.map((f) => f.data.data.entityId), ['late-one']);
        resumed.close();
      }
      // A client resuming from before it gets it in seq order.
      const replay = await connect(`${STREAM}?dataCollectionId=late&after=${Math.min(...ids(c.frames)) - 1}`);
      await replay.waitFor('the replay', (x) => x.frames.length >= 3);
      assertIncreasing(replay.frames);
      assert.deepEqual(replay.frames.map((f) => f.data.data.entityId).sort(), ['l-a', 'l-b', 'late-one']);
      replay.close();
      c.close();
    });
  });

  describe(`event stream lifecycle and access (${storeName})`, () => {
    test('closing the server ends open streams cleanly', async () => {
      const srv = await startCustom(storeName, {});
      let closed = false;
      try {
        const c = await SseClient.open(srv.url);
        const resuming = await SseClient.open(srv.url, `${STREAM}?after=0`);
        const r = await call(srv.url, 'POST', `${DATA}/collections`, { collection: { id: 'closing' } });
        assert.equal(r.status, 200);
        const ins = await call(srv.url, 'POST', `${DATA}/items`, { dataCollectionId: 'closing', dataItem: { data: { _id: 'z' } } });
        assert.equal(ins.status, 200);
        await c.waitFor('the event', hasEntityOf(CREATED, 'z'));
        await resuming.waitFor('the event', hasEntityOf(CREATED, 'z'));
        closed = true;
        await srv.close();
        await c.finished();
        await resuming.finished();
        assert.equal(c.ended, true, `the stream ended without error (error: ${String(c.error)})`);
        assert.equal(c.error, undefined);
        assert.equal(resuming.ended, true);
        // The server is gone: a new request cannot connect.
        await assert.rejects(fetch(srv.url + STREAM));
      } finally {
        if (!closed) await srv.close();
      }
    });

    test('an event of a transaction open when the first client connects still arrives', async () => {
      const srv = await startCustom(storeName, {});
      try {
        assert.equal((await call(srv.url, 'POST', `${DATA}/collections`, { collection: { id: 'early' } })).status, 200);
        let release!: () => void;
        const held = new Promise<void>((r) => (release = r));
        let inserted!: () => void;
        const insertedEarly = new Promise<void>((r) => (inserted = r));
        const slow = srv.store.db.transaction(async (tx) => {
          await tx.run(
            sql`INSERT INTO events (id, type, collection_id, env, entity_id, event_time, data)
                VALUES ('00000000-0000-4000-8000-0000000early', ${CREATED}, 'early', 'LIVE', 'held', ${new Date().toISOString()}, ${JSON.stringify({ _id: 'held' })})`,
          );
          inserted();
          await held;
        });
        await insertedEarly;
        const write = call(srv.url, 'POST', `${DATA}/items`, { dataCollectionId: 'early', dataItem: { data: { _id: 'after-held' } } });
        let c: SseClient | undefined;
        try {
          if (storeName === 'postgres') {
            // The later event commits, the stream starts (nobody was connected), then the held one commits.
            assert.equal((await write).status, 200);
            c = await SseClient.open(srv.url, `${STREAM}?dataCollectionId=early&after=0`);
            await c.waitFor('the later event', hasEntityOf(CREATED, 'after-held'));
          }
        } finally {
          // SQLite's one writer: the held transaction commits before anything else can.
          release();
          await slow;
        }
        if (storeName !== 'postgres') {
          assert.equal((await write).status, 200);
          c = await SseClient.open(srv.url, `${STREAM}?dataCollectionId=early&after=0`);
        }
        assert.ok(c);
        await c.waitFor('the held event', hasEntityOf(CREATED, 'held'));
        assert.deepEqual(c.itemFrames.map((f) => f.data.data.entityId).sort(), ['after-held', 'held']);
        c.close();
      } finally {
        await srv.close();
      }
    });

    test('clients joining and resuming during concurrent writes get every event exactly once', async () => {
      // Tiny reads, so catch-ups take many rounds and the poller runs full batches back to back.
      const srv = await startCustom(storeName, { stream: { batchSize: 7, pollMs: 20 } });
      const clients: { c: SseClient; after: number | undefined }[] = [];
      try {
        assert.equal((await call(srv.url, 'POST', `${DATA}/collections`, { collection: { id: 'storm' } })).status, 200);
        const base = await SseClient.open(srv.url, `${STREAM}?dataCollectionId=storm&after=0`);
        clients.push({ c: base, after: 0 });
        let done = false;
        const writer = async (w: number) => {
          for (let round = 0; round < 12; round++) {
            const items = Array.from({ length: 15 }, (_, i) => ({ data: { _id: `w${w}-${round}-${i}`, round } }));
            const r = await call(srv.url, 'POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'storm', dataItems: items });
            assert.equal(r.status, 200);
            const u = await call(srv.url, 'POST', `${DATA}/items/update`, { dataCollectionId: 'storm', dataItem: { id: `w${w}-${round}-0`, data: { _id: `w${w}-${round}-0`, again: true } } });
            assert.equal(u.status, 200);
          }
        };
        const joiner = async () => {
          for (let k = 0; !done && k < 12; k++) {
            await new Promise((r) => setTimeout(r, 15));
            const seen = base.frames.at(-1)?.id;
            const after = k % 3 === 2 || seen === undefined ? undefined : k % 3 === 0 ? Number(seen) : Math.max(0, Number(seen) - 40);
            const path = after === undefined ? `${STREAM}?dataCollectionId=storm` : `${STREAM}?dataCollectionId=storm&after=${after}`;
            clients.push({ c: await SseClient.open(srv.url, path), after });
          }
        };
        const writers = Promise.all([0, 1, 2, 3].map(writer));
        await Promise.all([writers.finally(() => (done = true)), joiner()]);
        assert.equal((await call(srv.url, 'POST', `${DATA}/items`, { dataCollectionId: 'storm', dataItem: { data: { _id: 'storm-end' } } })).status, 200);
        for (const { c } of clients) await c.waitFor('the end marker', hasEntityOf(CREATED, 'storm-end'));
        const all = (await srv.store.db.all<{ seq: number }>(sql`SELECT seq FROM events WHERE collection_id = 'storm' ORDER BY seq`)).map((r) => Number(r.seq));
        assert.ok(all.length > 4 * 12 * 16);
        const allSet = new Set(all);
        // Events the base client (after=0, so it gets everything) received after a higher id.
        const lateInBase = new Set<number>();
        let highest = 0;
        for (const x of ids(base.frames)) {
          if (x < highest) lateInBase.add(x);
          highest = Math.max(highest, x);
        }
        if (storeName === 'sqlite') assert.equal(lateInBase.size, 0, 'SQLite commits ids in order');
        for (const { c, after } of clients) {
          const got = ids(c.frames);
          assert.equal(new Set(got).size, got.length, 'no event twice');
          assert.ok(got.every((x) => allSet.has(x)));
          if (after !== undefined) {
            // A resumed client gets exactly the events above its resume point...
            assert.deepEqual(got.filter((x) => x > after).sort((a, b) => a - b), all.filter((x) => x > after), `resumed after ${after}`);
            // ...and, on PostgreSQL, an event below it whose transaction committed late, after the
            // client had joined (it never had it: the base client got it after higher ids too).
            for (const x of got.filter((y) => y <= after)) assert.ok(lateInBase.has(x), `resumed after ${after} but got ${x}, which was not a late commit`);
          }
        }
      } finally {
        for (const { c } of clients) c.close();
        await srv.close();
      }
    });

    test('the stream needs a key with the webhooks scope: none or a wrong one is 401', async () => {
      const srv = await startCustom(storeName, { adminKey: 's3cret-key' });
      try {
        for (const headers of [{}, { authorization: 'wrong' }, { authorization: 'Bearer wrong' }, { authorization: 'Bearer ' }, { authorization: 's3cret-key-and-more' }] as Record<string, string>[]) {
          const r = await call(srv.url, 'GET', STREAM, undefined, headers);
          assert.equal(r.status, 401, JSON.stringify(headers));
          assert.equal(typeof r.body?.message, 'string');
          assert.equal(r.body?.details?.applicationError?.code, 'UNAUTHENTICATED');
        }
        // Checked before the query: an unauthorised caller learns nothing about its parameters.
        assert.equal((await call(srv.url, 'GET', `${STREAM}?types=bogus`)).status, 401);
        for (const authorization of ['Bearer s3cret-key', 's3cret-key', 'bearer s3cret-key']) {
          const c = await SseClient.open(srv.url, STREAM, { authorization });
          assert.equal(c.status, 200);
          c.close();
        }
      } finally {
        await srv.close();
      }
      const srv2 = await startCustom(storeName, {});
      try {
        const anonymous = await call(srv2.url, 'GET', STREAM, undefined, { authorization: '' });
        assert.equal(anonymous.status, 401);
        assert.equal(anonymous.body?.details?.applicationError?.code, 'UNAUTHENTICATED');
      } finally {
        await srv2.close();
      }
    });

    test('the heartbeat comment keeps an idle stream alive', async () => {
      const srv = await startCustom(storeName, { stream: { heartbeatMs: 100 } });
      try {
        const c = await SseClient.open(srv.url);
        await c.waitFor('two heartbeats', (x) => x.comments.filter((m) => m === 'ping').length >= 2);
        assert.equal(c.frames.length, 0);
        c.close();
      } finally {
        await srv.close();
      }
    });

    test('a client that stops reading is dropped; the others keep streaming', async () => {
      const drops: string[] = [];
      const srv = await startCustom(storeName, { stream: { maxBufferedBytes: 256 * 1024, stallTimeoutMs: 1500, onDrop: (reason) => drops.push(reason) } });
      try {
        const r = await call(srv.url, 'POST', `${DATA}/collections`, { collection: { id: 'big' } });
        assert.equal(r.status, 200);
        const reader = await SseClient.open(srv.url);
        // A raw HTTP client that reads the head and then nothing more.
        const stalled = await new Promise<http.IncomingMessage>((resolve, reject) => {
          const req = http.get(srv.url + STREAM, { headers: { authorization: TEST_ADMIN_KEY } }, (res) => {
            res.pause();
            resolve(res);
          });
          req.on('error', reject);
        });
        assert.equal(stalled.statusCode, 200);
        const closed = new Promise<void>((resolve) => stalled.socket.once('close', () => resolve()));
        const blob = 'x'.repeat(100_000);
        let total = 0;
        // Rounds of 1 MB until the stalled client is dropped (its kernel buffers fill first).
        for (let round = 0; round < 200 && drops.length === 0; round++) {
          const ins = await call(srv.url, 'POST', `${DATA}/bulk/items/insert`, {
            dataCollectionId: 'big',
            dataItems: Array.from({ length: 10 }, (_, i) => ({ data: { _id: `big-${round}-${i}`, blob } })),
          });
          assert.equal(ins.status, 200);
          total += 10;
          await reader.waitFor('this round', (x) => x.frames.length >= total);
        }
        assert.deepEqual(drops, ['slow client'], `dropped after ${total} events of ~100 KB`);
        // The stalled client's connection is gone; reading what was sent ends short of the whole stream.
        stalled.resume();
        await closed;
        // The reading client got everything, in order.
        const more = await call(srv.url, 'POST', `${DATA}/items`, { dataCollectionId: 'big', dataItem: { data: { _id: 'big-last' } } });
        assert.equal(more.status, 200);
        await reader.waitFor('the last event', hasEntityOf(CREATED, 'big-last'));
        assert.equal(reader.itemFrames.length, total + 1);
        assertIncreasing(reader.frames);
        reader.close();
      } finally {
        await srv.close();
      }
    });
  });
}

function hasEntityOf(type: string, id: string) {
  return (c: SseClient) => c.frames.some((f) => f.event === type && f.data.data.entityId === id);
}
