/**
 * GET by id under concurrency. On PostgreSQL, lookups arriving together share one statement
 * (src/items/point-reads.ts); each caller must still get exactly what its own statement would have
 * given: its collection's item, not another collection's with the same id; drafts only when it
 * asked for them; a member under SITE_MEMBER_AUTHOR only its own items; 404 for what it cannot
 * see. On SQLite the same requests check the same contract.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { sql } from '../src/store/sql.js';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, call, type TestServer } from './helpers/server.js';

const DATA = '/wix-data/v2';
const JWT_SECRET = 'a-member-token-secret-of-at-least-32-bytes';

function memberToken(memberId: string): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(memberId).setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET));
}

interface Probe {
  path: string;
  auth?: string;
  /** The `n` of the item expected, or the error code. */
  want: number | 'WDE0073';
}

for (const storeName of STORE_NAMES) {
  describe(`GET by id, many at once (${storeName})`, () => {
    let s: TestServer;
    const api = (method: string, path: string, body?: unknown, auth?: string) => call(s.url, method, path, body, auth === undefined ? {} : { authorization: auth });
    let memberA: string;
    let memberB: string;

    before(async () => {
      s = await startServer(storeName, { runner: false, auth: { memberTokens: { secret: JWT_SECRET } } });
      memberA = `Bearer ${await memberToken('member-a')}`;
      memberB = `Bearer ${await memberToken('member-b')}`;
      const collections = [
        { id: 'left' },
        { id: 'right' },
        { id: 'drafts', plugins: [{ type: 'PUBLISH', publishOptions: { defaultStatus: 'DRAFT' } }] },
        { id: 'authored', permissions: { read: 'SITE_MEMBER_AUTHOR', insert: 'SITE_MEMBER_AUTHOR', update: 'SITE_MEMBER_AUTHOR', remove: 'SITE_MEMBER_AUTHOR' } },
      ];
      for (const collection of collections) assert.equal((await api('POST', `${DATA}/collections`, { collection })).status, 200);
      // The same ids in two collections, with different contents.
      for (const [c, base] of [['left', 0], ['right', 1000]] as const) {
        const r = await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: c, dataItems: Array.from({ length: 20 }, (_, i) => ({ data: { _id: `i${i}`, n: base + i } })) });
        assert.equal(r.status, 200);
      }
      // Drafts d0..d4 (the collection's default status), and p0, published.
      const drafts = Array.from({ length: 5 }, (_, i) => ({ data: { _id: `d${i}`, n: 2000 + i } }));
      assert.equal((await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'drafts', dataItems: [...drafts, { data: { _id: 'p0', n: 2100 } }] })).status, 200);
      await s.store.db.run(sql`UPDATE items SET publish_status = 'PUBLISHED' WHERE collection_id = 'drafts' AND id = 'p0'`);
      // Each member's own items in the authored collection.
      for (const [auth, base] of [[memberA, 3000], [memberB, 4000]] as const) {
        const prefix = base === 3000 ? 'a' : 'b';
        for (let i = 0; i < 3; i++) assert.equal((await api('POST', `${DATA}/items`, { dataCollectionId: 'authored', dataItem: { data: { _id: `${prefix}${i}`, n: base + i } } }, auth)).status, 200);
      }
    });
    after(() => s.close());

    test('each of 300 concurrent GETs answers for its own collection, drafts setting and caller', async () => {
      const get = (c: string, id: string, extra = '') => `${DATA}/items/${id}?dataCollectionId=${c}${extra}`;
      const probes: Probe[] = [];
      for (let i = 0; i < 20; i++) {
        probes.push({ path: get('left', `i${i}`), want: i });
        probes.push({ path: get('right', `i${i}`), want: 1000 + i });
      }
      probes.push({ path: get('left', 'missing'), want: 'WDE0073' }, { path: get('right', 'i99'), want: 'WDE0073' });
      for (let i = 0; i < 5; i++) {
        probes.push({ path: get('drafts', `d${i}`), want: 'WDE0073' });
        probes.push({ path: get('drafts', `d${i}`, '&publishPluginOptions.includeDraftItems=true'), want: 2000 + i });
      }
      probes.push({ path: get('drafts', 'p0'), want: 2100 }, { path: get('drafts', 'p0', '&publishPluginOptions.includeDraftItems=true'), want: 2100 });
      for (let i = 0; i < 3; i++) {
        probes.push({ path: get('authored', `a${i}`), auth: memberA, want: 3000 + i });
        probes.push({ path: get('authored', `b${i}`), auth: memberA, want: 'WDE0073' });
        probes.push({ path: get('authored', `b${i}`), auth: memberB, want: 4000 + i });
        probes.push({ path: get('authored', `a${i}`), auth: memberB, want: 'WDE0073' });
        probes.push({ path: get('authored', `a${i}`), want: 3000 + i }); // the admin key sees all
      }
      // The same probes many times over, shuffled, all sent at once.
      const all: Probe[] = [];
      while (all.length < 300) all.push(...probes);
      for (let i = all.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [all[i], all[j]] = [all[j] as Probe, all[i] as Probe];
      }
      const replies = await Promise.all(all.map((p) => api('GET', p.path, undefined, p.auth)));
      replies.forEach((r, k) => {
        const p = all[k] as Probe;
        if (p.want === 'WDE0073') {
          assert.equal(r.status, 404, `${p.path}: ${JSON.stringify(r.body)}`);
          assert.equal(r.body.details.applicationError.code, 'WDE0073');
        } else {
          assert.equal(r.status, 200, `${p.path}: ${JSON.stringify(r.body)}`);
          assert.equal(r.body.dataItem.data.n, p.want, p.path);
        }
      });
    });

    test('a GET right after a write sees the write', async () => {
      for (let round = 0; round < 20; round++) {
        const write = await api('PATCH', `${DATA}/items/i0`, { dataCollectionId: 'left', patch: { dataItemId: 'i0', fieldModifications: [{ fieldPath: 'n', action: 'SET_FIELD', setFieldOptions: { value: round } }] } });
        assert.equal(write.status, 200, JSON.stringify(write.body));
        const reads = await Promise.all(Array.from({ length: 5 }, () => api('GET', `${DATA}/items/i0?dataCollectionId=left`)));
        for (const r of reads) assert.equal(r.body.dataItem.data.n, round);
      }
    });
  });
}
