/**
 * Reads by id from memory (src/items/read-cache.ts), and the consistency it keeps. On both
 * stores a process's own writes are seen at once. On PostgreSQL other processes' writes (another
 * API process, plain SQL) are seen within milliseconds, through notifications, and
 * `consistentRead` and a fresh X-Wix-Consistent token (what the published client sends back after
 * a write) always read the store. On an SQLite file every commit, from any connection or
 * process, is seen by the very next read. Two API processes are two apps on one database here,
 * each with its own cache (and, on PostgreSQL, listening connection).
 */
import { test, describe, before, after } from 'node:test';
import Database from 'better-sqlite3';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, ApiKeyStrategy } from '@wix/sdk';
import { items as itemsModule } from '@wix/data';
import { buildApp, type Cairn } from '../src/http/app.js';
import { cairnFetch } from '../src/lib/client.js';
import { createCairn } from '../src/lib/index.js';
import { ItemReadCache } from '../src/items/read-cache.js';
import { needsConsistentRead } from '../src/http/consistency.js';
import { openDb } from '../src/store/open.js';
import { sql } from '../src/store/sql.js';
import type { Db } from '../src/store/db.js';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, call, TEST_ADMIN_KEY, type TestServer } from './helpers/server.js';

const DATA = '/wix-data/v2';

describe('ItemReadCache', () => {
  const make = (now: { t: number }, options: { maxBytes?: number } = {}) => {
    const cache = new ItemReadCache({ ttlMs: 1000, now: () => now.t, ...options });
    cache.setLive(true);
    return cache;
  };

  test('serves what was stored, until the TTL from the start of its read', () => {
    const now = { t: 10_000 };
    const cache = make(now);
    const ticket = cache.ticket('c');
    assert.ok(ticket);
    now.t += 300; // the read took 300 ms
    cache.store(ticket, 'k', '{"a":1}');
    assert.equal(cache.lookup('c', 'k'), '{"a":1}');
    now.t = 10_999;
    assert.equal(cache.lookup('c', 'k'), '{"a":1}');
    now.t = 11_000;
    assert.equal(cache.lookup('c', 'k'), undefined);
  });

  test("a change to the collection drops its entries, and a read that started before the change stores nothing", () => {
    const now = { t: 0 };
    const cache = make(now);
    const t1 = cache.ticket('c');
    assert.ok(t1);
    cache.store(t1, 'k', 'old');
    const other = cache.ticket('d');
    assert.ok(other);
    cache.store(other, 'k2', 'other');
    const racing = cache.ticket('c');
    assert.ok(racing);
    cache.changed('c');
    assert.equal(cache.lookup('c', 'k'), undefined);
    cache.store(racing, 'k', 'read before the change');
    assert.equal(cache.lookup('c', 'k'), undefined);
    assert.equal(cache.lookup('d', 'k2'), 'other', 'other collections keep their entries');
    const t2 = cache.ticket('c');
    assert.ok(t2);
    cache.store(t2, 'k', 'new');
    assert.equal(cache.lookup('c', 'k'), 'new');
  });

  test('not live (changes elsewhere not heard): nothing served or stored; going live drops everything', () => {
    const now = { t: 0 };
    const cache = make(now);
    const t = cache.ticket('c');
    assert.ok(t);
    cache.store(t, 'k', 'v');
    cache.setLive(false);
    assert.equal(cache.lookup('c', 'k'), undefined);
    assert.equal(cache.ticket('c'), undefined);
    cache.store(t, 'k', 'v');
    cache.setLive(true);
    assert.equal(cache.lookup('c', 'k'), undefined);
    assert.equal(cache.size, 0);
    const before = cache.ticket('c');
    assert.ok(before);
    cache.reset();
    cache.store(before, 'k', 'v');
    assert.equal(cache.lookup('c', 'k'), undefined, 'a ticket from before a reset stores nothing');
  });

  test('holds at most maxBytes, dropping the oldest first', () => {
    const now = { t: 0 };
    const cache = make(now, { maxBytes: 100 });
    for (let i = 0; i < 10; i++) {
      const t = cache.ticket('c');
      assert.ok(t);
      cache.store(t, `k${i}`, 'x'.repeat(30));
    }
    assert.ok(cache.size <= 3, `size ${cache.size}`);
    assert.equal(cache.lookup('c', 'k9'), 'x'.repeat(30));
    assert.equal(cache.lookup('c', 'k0'), undefined);
  });
});

describe('X-Wix-Consistent', () => {
  test('a token younger than the cache lifetime plus clock skew asks for a consistent read', () => {
    const now = 1_000_000;
    assert.equal(needsConsistentRead(undefined, 1000, now), false);
    assert.equal(needsConsistentRead(String(now - 10), 1000, now), true);
    assert.equal(needsConsistentRead(String(now - 5_999), 1000, now), true);
    assert.equal(needsConsistentRead(String(now - 6_000), 1000, now), false);
    assert.equal(needsConsistentRead(String(now + 3_000), 1000, now), true, "another machine's clock ahead");
    assert.equal(needsConsistentRead('not-a-time', 1000, now), true, 'unknown tokens take the safe side');
    assert.equal(needsConsistentRead('', 1000, now), true);
  });
});

for (const storeName of STORE_NAMES) {
  describe(`consistency of reads by id (${storeName})`, () => {
    let s: TestServer;
    const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => call(s.url, method, path, body, headers);
    const getN = async (id: string, extra = '', headers: Record<string, string> = {}) => {
      const r = await api('GET', `${DATA}/items/${id}?dataCollectionId=books${extra}`, undefined, headers);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return (r.body as { dataItem: { data: { n: number } } }).dataItem.data.n;
    };

    before(async () => {
      // SQLite on disk: the store `npm start` opens, the one with the cache (none in memory).
      s = await startServer(storeName, { runner: false, onDisk: true });
      assert.equal((await api('POST', `${DATA}/collections`, { collection: { id: 'books' } })).status, 200);
      assert.equal((await api('POST', `${DATA}/items`, { dataCollectionId: 'books', dataItem: { data: { _id: 'b1', n: 0 } } })).status, 200);
      const cache = s.cairn.readCache;
      if (cache) {
        for (let i = 0; i < 100 && !cache.isLive; i++) await sleep(20);
        // Until the two-process tests, this process ignores notifications: its own writes
        // must be seen without them (they come a moment after the reply, usually in time).
        cache.changedElsewhere = () => {};
      }
    });
    after(() => s.close());

    test('the cache is on for PostgreSQL and SQLite files, not for an in-memory store', async () => {
      assert.equal(s.cairn.readCache?.isLive, true);
      const memory = await createCairn({ store: 'memory', logLevel: 'silent' });
      try {
        assert.equal(memory.server.readCache, undefined);
      } finally {
        await memory.close();
      }
    });

    test('every item write answers with a consistency token; reads do not', async () => {
      const res = await fetch(`${s.url}${DATA}/items/b1?dataCollectionId=books`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json', authorization: TEST_ADMIN_KEY },
        body: JSON.stringify({ dataCollectionId: 'books', patch: { dataItemId: 'b1', fieldModifications: [{ fieldPath: 'n', action: 'SET_FIELD', setFieldOptions: { value: 0 } }] } }),
      });
      assert.equal(res.status, 200, await res.clone().text());
      const token = Number(res.headers.get('x-wix-consistent'));
      assert.ok(Math.abs(Date.now() - token) < 60_000, `token ${res.headers.get('x-wix-consistent')}`);
      const read = await fetch(`${s.url}${DATA}/items/b1?dataCollectionId=books`, { headers: { authorization: TEST_ADMIN_KEY } });
      assert.equal(read.status, 200);
      assert.equal(read.headers.get('x-wix-consistent'), null);
      const bulk = await fetch(`${s.url}${DATA}/bulk/items/save`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: TEST_ADMIN_KEY },
        body: JSON.stringify({ dataCollectionId: 'books', dataItems: [{ data: { _id: 'b2', n: 2 } }] }),
      });
      assert.equal(bulk.status, 200);
      assert.ok(bulk.headers.get('x-wix-consistent'));
    });

    test('consistentRead is taken as a boolean, in a body or a query string; anything else is a 400', async () => {
      assert.equal(await getN('b1', '&consistentRead=true'), 0);
      const post = await api('POST', `${DATA}/items/get`, { dataCollectionId: 'books', dataItemId: 'b1', consistentRead: true });
      assert.equal(post.status, 200);
      const bad = await api('POST', `${DATA}/items/get`, { dataCollectionId: 'books', dataItemId: 'b1', consistentRead: 'maybe' });
      assert.equal(bad.status, 400);
      assert.equal((bad.body as { details: { applicationError: { code: string } } }).details.applicationError.code, 'WDE0080');
    });

    test("this process's writes are seen by the next read, also by reads racing them", async () => {
      for (let round = 1; round <= 40; round++) {
        // Reads in flight while the write commits may fill the cache with the old value...
        const racing = Array.from({ length: 5 }, () => getN('b1'));
        const write = api('PUT', `${DATA}/items/b1`, { dataCollectionId: 'books', dataItem: { data: { _id: 'b1', n: round } } });
        const [w] = await Promise.all([write, ...racing]);
        assert.equal(w.status, 200);
        // ...but none that starts after the write's reply may see it.
        const after = await Promise.all(Array.from({ length: 5 }, () => getN('b1')));
        assert.deepEqual(after, [round, round, round, round, round], `round ${round}`);
      }
      const removed = await api('DELETE', `${DATA}/items/b1?dataCollectionId=books`);
      assert.equal(removed.status, 200);
      const gone = await api('GET', `${DATA}/items/b1?dataCollectionId=books`);
      assert.equal(gone.status, 404);
      assert.equal((await api('POST', `${DATA}/items`, { dataCollectionId: 'books', dataItem: { data: { _id: 'b1', n: 0 } } })).status, 200);
    });

    test('patches, bulk writes and truncate are seen at once too', async () => {
      assert.equal(await getN('b1'), 0);
      const patch = await api('POST', `${DATA}/bulk/items/patch`, {
        dataCollectionId: 'books',
        patches: [{ dataItemId: 'b1', fieldModifications: [{ fieldPath: 'n', action: 'INCREMENT_FIELD', incrementFieldOptions: { value: 5 } }] }],
      });
      assert.equal(patch.status, 200);
      assert.equal(await getN('b1'), 5);
      assert.equal((await api('POST', `${DATA}/bulk/items/update`, { dataCollectionId: 'books', dataItems: [{ data: { _id: 'b1', n: 6 } }] })).status, 200);
      assert.equal(await getN('b1'), 6);
      assert.equal((await api('POST', `${DATA}/items/truncate`, { dataCollectionId: 'books' })).status, 200);
      assert.equal((await api('GET', `${DATA}/items/b1?dataCollectionId=books`)).status, 404);
      assert.equal((await api('POST', `${DATA}/items`, { dataCollectionId: 'books', dataItem: { data: { _id: 'b1', n: 7 } } })).status, 200);
      assert.equal(await getN('b1'), 7);
    });

    test('a collection deleted and made again under the same id shows none of the old items', async () => {
      assert.equal((await api('POST', `${DATA}/collections`, { collection: { id: 'shortlived' } })).status, 200);
      assert.equal((await api('POST', `${DATA}/items`, { dataCollectionId: 'shortlived', dataItem: { data: { _id: 'x', n: 1 } } })).status, 200);
      assert.equal((await api('GET', `${DATA}/items/x?dataCollectionId=shortlived`)).status, 200);
      assert.equal((await api('DELETE', `${DATA}/collections/shortlived`)).status, 200);
      assert.equal((await api('POST', `${DATA}/collections`, { collection: { id: 'shortlived' } })).status, 200);
      assert.equal((await api('GET', `${DATA}/items/x?dataCollectionId=shortlived`)).status, 404);
    });

    test('/metrics shows the read cache', async () => {
      const scrape = async () => {
        const res = await fetch(`${s.url}/metrics`, { headers: { authorization: TEST_ADMIN_KEY } });
        assert.equal(res.status, 200);
        const text = await res.text();
        const value = (name: string) => {
          const m = new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text);
          return m ? Number(m[1]) : undefined;
        };
        return { hits: value('cairn_read_cache_lookups_total{result="hit"}'), misses: value('cairn_read_cache_lookups_total{result="miss"}'), live: value('cairn_read_cache_live'), entries: value('cairn_read_cache_entries') };
      };
      const before = await scrape();
      await getN('b1');
      await getN('b1');
      const after = await scrape();
      assert.equal(after.live, 1);
      assert.ok((after.entries ?? 0) >= 1);
      assert.ok((after.hits ?? 0) + (after.misses ?? 0) === (before.hits ?? 0) + (before.misses ?? 0) + 2, JSON.stringify({ before, after }));
      assert.ok((after.hits ?? 0) >= (before.hits ?? 0) + 1, 'the second read is a hit');
    });

    if (storeName === 'sqlite') {
      describe('another process and another connection on the same SQLite file', () => {
        let db2: Db;
        let second: Cairn;
        let url2: string;
        let plain: Database.Database;
        const getN2 = async (id: string, extra = '') => {
          const r = await call(url2, 'GET', `${DATA}/items/${id}?dataCollectionId=books${extra}`);
          assert.equal(r.status, 200, JSON.stringify(r.body));
          return (r.body as { dataItem: { data: { n: number } } }).dataItem.data.n;
        };
        const hits = () => (second.readCache as ItemReadCache).hits;

        before(async () => {
          db2 = await openDb({ sqliteFile: s.store.file as string });
          // Entries live far longer than the test: only the change counter explains a change seen.
          second = await buildApp({ db: db2, logLevel: 'silent', adminKey: TEST_ADMIN_KEY, runTasks: false, readCache: { ttlMs: 60_000 } });
          await second.app.listen({ port: 0, host: '127.0.0.1' });
          const address = second.app.server.address();
          url2 = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
          plain = new Database(s.store.file as string);
          plain.pragma('busy_timeout = 5000');
        });
        after(async () => {
          plain.close();
          await second.app.close();
          await db2.close();
        });

        test("the other process's writes are seen by the very next read here, every time", async () => {
          const before = hits();
          for (let n = 300; n < 330; n++) {
            await getN2('b1');
            await getN2('b1'); // from the cache now
            assert.equal((await api('PUT', `${DATA}/items/b1`, { dataCollectionId: 'books', dataItem: { data: { _id: 'b1', n } } })).status, 200);
            assert.equal(await getN2('b1'), n, `round ${n}: no wait, no retry`);
          }
          assert.ok(hits() >= before + 30, `${hits() - before} hits`);
        });

        test('a change made in plain SQL on another connection is seen at once', async () => {
          for (let n = 400; n < 410; n++) {
            await getN2('b1');
            plain.prepare(`UPDATE items SET data = json_set(data, '$.n', ?) WHERE collection_id = 'books' AND id = 'b1'`).run(n);
            assert.equal(await getN2('b1'), n);
          }
        });

        test('consistentRead is answered from the cache too, since it is exact', async () => {
          const n = await getN2('b1');
          const before = hits();
          assert.equal(await getN2('b1', '&consistentRead=true'), n);
          assert.equal(hits(), before + 1);
          plain.prepare(`UPDATE items SET data = json_set(data, '$.n', ?) WHERE collection_id = 'books' AND id = 'b1'`).run(n + 1);
          assert.equal(await getN2('b1', '&consistentRead=true'), n + 1);
          assert.equal(hits(), before + 1, 'a miss after the change');
        });

        test('an item removed elsewhere is gone at once; one inserted elsewhere is there at once', async () => {
          assert.equal((await api('POST', `${DATA}/items`, { dataCollectionId: 'books', dataItem: { data: { _id: 'tmp', n: 1 } } })).status, 200);
          assert.equal(await getN2('tmp'), 1);
          assert.equal(await getN2('tmp'), 1);
          assert.equal((await api('DELETE', `${DATA}/items/tmp?dataCollectionId=books`)).status, 200);
          assert.equal((await call(url2, 'GET', `${DATA}/items/tmp?dataCollectionId=books`)).status, 404);
          assert.equal((await api('POST', `${DATA}/items`, { dataCollectionId: 'books', dataItem: { data: { _id: 'tmp', n: 2 } } })).status, 200);
          assert.equal(await getN2('tmp'), 2);
        });
      });
      return;
    }

    describe('two API processes on one database', () => {
      let db2: Db;
      let second: Cairn;
      let url2: string;
      const api2 = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => call(url2, method, path, body, headers);
      const getN2 = async (id: string, extra = '', headers: Record<string, string> = {}) => {
        const r = await api2('GET', `${DATA}/items/${id}?dataCollectionId=books${extra}`, undefined, headers);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        return (r.body as { dataItem: { data: { n: number } } }).dataItem.data.n;
      };
      /** How long until the second process answers `want` for b1, polling every 2 ms. */
      const seenWithin = async (want: number, limitMs: number): Promise<number> => {
        const start = performance.now();
        while (performance.now() - start < limitMs) {
          if ((await getN2('b1')) === want) return performance.now() - start;
          await sleep(2);
        }
        assert.fail(`the second process did not see n=${want} within ${limitMs} ms`);
      };

      before(async () => {
        const first = s.cairn.readCache as ItemReadCache;
        first.changedElsewhere = ItemReadCache.prototype.changedElsewhere.bind(first);
        db2 = await openDb({ databaseUrl: s.store.url as string });
        // A lifetime far longer than the test: only a notification can explain a change seen.
        second = await buildApp({ db: db2, logLevel: 'silent', adminKey: TEST_ADMIN_KEY, runTasks: false, readCache: { ttlMs: 60_000 } });
        await second.app.listen({ port: 0, host: '127.0.0.1' });
        const address = second.app.server.address();
        url2 = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
        for (let i = 0; i < 100 && !second.readCache?.isLive; i++) await sleep(20);
        assert.equal(second.readCache?.isLive, true);
      });
      after(async () => {
        await second.app.close();
        await db2.close();
      });

      test("another process's writes reach this one's cache through notifications, in milliseconds", async () => {
        await api('PUT', `${DATA}/items/b1`, { dataCollectionId: 'books', dataItem: { data: { _id: 'b1', n: 100 } } });
        await seenWithin(100, 5000);
        const delays: number[] = [];
        for (let n = 101; n <= 110; n++) {
          assert.equal(await getN2('b1'), n - 1); // cached in the second process now
          assert.equal((await api('PUT', `${DATA}/items/b1`, { dataCollectionId: 'books', dataItem: { data: { _id: 'b1', n } } })).status, 200);
          delays.push(await seenWithin(n, 5000));
        }
        delays.sort((a, b) => a - b);
        // A 60 s lifetime: anything seen sooner came from a notification.
        assert.ok((delays[5] as number) < 1000, `median ${delays[5]} ms`);
      });

      test('a change made in plain SQL is heard too', async () => {
        assert.equal(await getN2('b1'), 110);
        await s.store.db.run(sql`UPDATE items SET data = jsonb_set(data, '{n}', '111') WHERE collection_id = 'books' AND id = 'b1'`);
        await seenWithin(111, 5000);
      });

      test('consistentRead and a fresh X-Wix-Consistent token read the store at once', async () => {
        assert.equal(await getN2('b1'), 111);
        // The second process stops hearing of changes (as if the notification were late), so
        // its cache keeps the old item: only a read that skips the cache can see the new one.
        const cache = second.readCache as ItemReadCache;
        const heard = cache.changedElsewhere;
        cache.changedElsewhere = () => {};
        try {
        const res = await fetch(`${s.url}${DATA}/items/b1`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json', authorization: TEST_ADMIN_KEY },
          body: JSON.stringify({ dataCollectionId: 'books', dataItem: { data: { _id: 'b1', n: 112 } } }),
        });
        const token = res.headers.get('x-wix-consistent');
        assert.ok(token);
          assert.equal(await getN2('b1'), 111, 'the stale copy is what a plain read gets');
          assert.equal(await getN2('b1', '&consistentRead=true'), 112);
          assert.equal(await getN2('b1', '', { 'x-wix-consistent': token }), 112);
          assert.equal(await getN2('b1', '', { 'x-wix-consistent': String(Date.now() - 3_600_000) }), 111, 'an old token reads the cache');
        } finally {
          cache.changedElsewhere = heard;
          cache.reset();
        }
        assert.equal(await getN2('b1'), 112);
      });

      test('while the listening connection is down, reads go to the store; it reconnects by itself', async () => {
        await seenWithin(112, 5000);
        const cache = second.readCache as ItemReadCache;
        await s.store.db.run(sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query ILIKE 'LISTEN%' AND pid <> pg_backend_pid()`);
        for (let i = 0; i < 100 && cache.isLive; i++) await sleep(5);
        // Down or already back: either way nothing cached from before the loss survives.
        await s.store.db.run(sql`UPDATE items SET data = jsonb_set(data, '{n}', '113') WHERE collection_id = 'books' AND id = 'b1'`);
        await seenWithin(113, 5000);
        for (let i = 0; i < 200 && !cache.isLive; i++) await sleep(20);
        assert.equal(cache.isLive, true, 'listening again');
        assert.equal(await getN2('b1'), 113);
        assert.equal((await api('PUT', `${DATA}/items/b1`, { dataCollectionId: 'books', dataItem: { data: { _id: 'b1', n: 114 } } })).status, 200);
        await seenWithin(114, 5000);
      });

      test('the published client behind a round-robin balancer always reads its own writes', async () => {
        // Every call goes to the other process than the one before: a write on one, the read on the other.
        let turn = 0;
        const urls = [s.url, url2];
        const client = createClient({
          modules: { items: itemsModule },
          auth: ApiKeyStrategy({ apiKey: TEST_ADMIN_KEY, siteId: 'local' }),
          useCDN: false,
          fetch: ((input: RequestInfo | URL, init?: RequestInit) => cairnFetch(urls[turn++ % 2] as string)(input, init)) as typeof fetch,
        });
        // Both processes have b1 cached.
        await getN('b1');
        await getN2('b1');
        for (let n = 200; n < 220; n++) {
          await client.items.update('books', { _id: 'b1', n });
          const got = await client.items.get('books', 'b1');
          assert.equal(got?.n, n);
        }
      });
    });
  });
}
