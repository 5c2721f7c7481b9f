/**
 * Access control (issue 6) through the real interface, on every store:
 * - the permission matrix: every collection permission setting (ANYONE, SITE_MEMBER,
 *   SITE_MEMBER_AUTHOR, ADMIN) x every identity (admin key, data key, read-only key, member token,
 *   key acting as a member, anonymous) x every item operation (get, query, count, insert, bulk
 *   insert, update, bulk update, save, patch, bulk patch, remove, bulk remove, truncate), on the
 *   caller's own item and on another member's, asserted one by one over raw HTTP, with the data
 *   checked unchanged after every refusal; and the same matrix for the single-item calls through
 *   the published client;
 * - `_owner`: set from the identity, never forged by a non-admin;
 * - API keys (create, show once, list, revoke, scopes, no escalation), member tokens (HS256,
 *   RS256, expired, forged, alg none), the admin surfaces' 401/403;
 * - attacks: another member's ids in bulk calls, SQL metacharacters in filters and field paths,
 *   oversized bodies, key guessing (rate limited), errors that never echo credentials.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { exportSPKI, generateKeyPair, SignJWT } from 'jose';
import { STORE_NAMES, openTestStore, type StoreName } from './helpers/stores.js';
import { call, startServer, TEST_ADMIN_KEY, wixClientFor, type TestServer } from './helpers/server.js';
import { codeOf } from './helpers/calls.js';
import { buildApp, type AppOptions } from '../src/http/app.js';
import { SCOPES } from '../src/auth/scopes.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killAll, spawnServer } from './helpers/process.js';
import { sql } from '../src/store/sql.js';

const DATA = '/wix-data/v2';
const JWT_SECRET = 'a-member-token-secret-of-at-least-32-bytes';
const ROLES = ['ANYONE', 'SITE_MEMBER', 'SITE_MEMBER_AUTHOR', 'ADMIN'] as const;
type Role = (typeof ROLES)[number];
const MEMBER_A = 'member-a';
const MEMBER_B = 'member-b';
const SITE_OWNER = '00000000-0000-0000-0000-000000000001';

async function memberToken(memberId: string, options: { expiresIn?: string; secret?: string } = {}): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(memberId)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '1h')
    .sign(new TextEncoder().encode(options.secret ?? JWT_SECRET));
}

/** Who calls: the Authorization header each sends, and what collection permissions make of them. */
interface Caller {
  name: string;
  auth: string;
  /** 'admin': the site's authority; 'member': a site member (memberId); 'anonymous'. */
  as: 'admin' | 'member' | 'anonymous';
  memberId?: string;
  /** Keys without a data scope are refused reads or writes whatever the permissions. */
  canRead: boolean;
  canWrite: boolean;
}

type Outcome = 'ok' | 'denied' | 'hidden';

/** What `caller` gets for an operation needing `role`, on its own item (`own`) or another member's. */
function expected(caller: Caller, role: Role, kind: 'read' | 'write', own: boolean, op: string): Outcome {
  if (kind === 'read' ? !caller.canRead : !caller.canWrite) return 'denied';
  if (op === 'truncate') return caller.as === 'admin' ? 'ok' : 'denied';
  if (caller.as === 'admin') return 'ok';
  if (role === 'ANYONE') return 'ok';
  if (caller.as === 'anonymous' || role === 'ADMIN') return 'denied';
  if (role === 'SITE_MEMBER') return 'ok';
  // SITE_MEMBER_AUTHOR: members insert freely, and reach only their own items otherwise. Another
  // member's item is invisible to reads and refused (403) to writes.
  if (op === 'insert' || op === 'bulkInsert' || own) return 'ok';
  return kind === 'read' ? 'hidden' : 'denied';
}

after(() => killAll());

for (const storeName of STORE_NAMES) {
  describe(`access control (${storeName})`, () => {
    let s: TestServer;
    let callers: Caller[];
    const api = (method: string, path: string, body: unknown, auth: string) => call(s.url, method, path, body, { authorization: auth });
    const admin = (method: string, path: string, body?: unknown) => api(method, path, body, TEST_ADMIN_KEY);

    async function createKey(body: Record<string, unknown>): Promise<string> {
      const r = await admin('POST', '/cairn/v1/keys', body);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.match(r.body.apiKey, /^cairn_/);
      return r.body.apiKey as string;
    }

    before(async () => {
      s = await startServer(storeName, { runner: false, auth: { memberTokens: { secret: JWT_SECRET } } });
      callers = [
        { name: 'admin key', auth: TEST_ADMIN_KEY, as: 'admin', canRead: true, canWrite: true },
        { name: 'data key', auth: await createKey({ name: 'data', scopes: [SCOPES.dataRead, SCOPES.dataWrite] }), as: 'admin', canRead: true, canWrite: true },
        { name: 'read-only key', auth: await createKey({ name: 'reader', scopes: [SCOPES.dataRead] }), as: 'admin', canRead: true, canWrite: false },
        { name: 'tasks-only key', auth: await createKey({ name: 'tasks', scopes: [SCOPES.tasks] }), as: 'admin', canRead: false, canWrite: false },
        { name: 'member token', auth: `Bearer ${await memberToken(MEMBER_A)}`, as: 'member', memberId: MEMBER_A, canRead: true, canWrite: true },
        {
          name: 'member key',
          auth: await createKey({ name: 'member a', scopes: [SCOPES.dataRead, SCOPES.dataWrite], memberId: MEMBER_A }),
          as: 'member',
          memberId: MEMBER_A,
          canRead: true,
          canWrite: true,
        },
        { name: 'anonymous', auth: '', as: 'anonymous', canRead: true, canWrite: true },
      ];
      for (const role of ROLES) {
        const r = await admin('POST', `${DATA}/collections`, {
          collection: { id: `perm_${role}`, fields: [{ key: 'title', type: 'TEXT' }], permissions: { read: role, insert: role, update: role, remove: role } },
        });
        assert.equal(r.status, 200, JSON.stringify(r.body));
      }
    });
    after(() => s.close());

    /** The collection's items as stored, for "nothing changed" checks. */
    const snapshot = async (c: string) => {
      const r = await admin('POST', `${DATA}/items/query`, { dataCollectionId: c, query: { sort: [{ fieldName: '_id', order: 'ASC' }] } });
      assert.equal(r.status, 200);
      return r.body.dataItems.map((i: { data: unknown }) => i.data);
    };
    /** Resets the collection to one item of member A ('a1'), one of member B ('b1'). */
    const seed = async (c: string) => {
      assert.equal((await admin('POST', `${DATA}/items/truncate`, { dataCollectionId: c })).status, 200);
      const r = await admin('POST', `${DATA}/bulk/items/insert`, {
        dataCollectionId: c,
        dataItems: [
          { data: { _id: 'a1', title: 'A', _owner: MEMBER_A } },
          { data: { _id: 'b1', title: 'B', _owner: MEMBER_B } },
        ],
      });
      assert.equal(r.body.bulkActionMetadata?.totalSuccesses, 2, JSON.stringify(r.body));
    };

    /** Each operation over raw HTTP: returns 'ok', 'denied' (403 WDE0027) or 'hidden' (looks missing). */
    type Op = { name: string; kind: 'read' | 'write'; run: (c: string, id: string, auth: string) => Promise<Outcome | string> };
    const outcome = (r: { status: number; body: any }): Outcome | string => {
      if (r.status === 200) return 'ok';
      if (r.status === 403 && r.body?.details?.applicationError?.code === 'WDE0027') return 'denied';
      if (r.status === 404 && r.body?.details?.applicationError?.code === 'WDE0073') return 'hidden';
      return `${r.status} ${JSON.stringify(r.body)}`;
    };
    const bulkOutcome = (r: { status: number; body: any }): Outcome | string => {
      if (r.status !== 200) return outcome(r);
      const meta = r.body.results[0].itemMetadata;
      if (meta.success) return 'ok';
      if (meta.error.code === 'WDE0027') return 'denied';
      if (meta.error.code === 'WDE0073') return 'hidden';
      return JSON.stringify(meta);
    };
    const ops: Op[] = [
      { name: 'get', kind: 'read', run: async (c, id, auth) => outcome(await api('GET', `${DATA}/items/${id}?dataCollectionId=${c}`, undefined, auth)) },
      {
        name: 'query',
        kind: 'read',
        run: async (c, id, auth) => {
          const r = await api('POST', `${DATA}/items/query`, { dataCollectionId: c, query: { filter: { _id: id } } }, auth);
          return r.status === 200 ? (r.body.dataItems.length === 1 ? 'ok' : 'hidden') : outcome(r);
        },
      },
      {
        name: 'count',
        kind: 'read',
        run: async (c, id, auth) => {
          const r = await api('POST', `${DATA}/items/count`, { dataCollectionId: c, filter: { _id: id } }, auth);
          return r.status === 200 ? (r.body.totalCount === 1 ? 'ok' : 'hidden') : outcome(r);
        },
      },
      {
        name: 'distinct',
        kind: 'read',
        run: async (c, id, auth) => {
          const r = await api('POST', `${DATA}/items/query-distinct-values`, { dataCollectionId: c, fieldName: '_id', filter: { _id: id } }, auth);
          return r.status === 200 ? (r.body.distinctValues.length === 1 ? 'ok' : 'hidden') : outcome(r);
        },
      },
      {
        name: 'aggregate',
        kind: 'read',
        run: async (c, id, auth) => {
          const r = await api('POST', `${DATA}/items/aggregate`, { dataCollectionId: c, initialFilter: { _id: id }, aggregation: { operations: [{ resultFieldName: 'n', itemCount: {} }] } }, auth);
          return r.status === 200 ? (r.body.results.length === 1 ? 'ok' : 'hidden') : outcome(r);
        },
      },
      { name: 'insert', kind: 'write', run: async (c, _id, auth) => outcome(await api('POST', `${DATA}/items`, { dataCollectionId: c, dataItem: { data: { title: 'new' } } }, auth)) },
      {
        name: 'bulkInsert',
        kind: 'write',
        run: async (c, _id, auth) => bulkOutcome(await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: c, dataItems: [{ data: { title: 'new' } }] }, auth)),
      },
      {
        name: 'update',
        kind: 'write',
        run: async (c, id, auth) => outcome(await api('POST', `${DATA}/items/update`, { dataCollectionId: c, dataItem: { id, data: { _id: id, title: 'changed' } } }, auth)),
      },
      {
        name: 'bulkUpdate',
        kind: 'write',
        run: async (c, id, auth) => bulkOutcome(await api('POST', `${DATA}/bulk/items/update`, { dataCollectionId: c, dataItems: [{ id, data: { _id: id, title: 'changed' } }] }, auth)),
      },
      {
        name: 'save',
        kind: 'write',
        run: async (c, id, auth) => outcome(await api('POST', `${DATA}/items/save`, { dataCollectionId: c, dataItem: { id, data: { _id: id, title: 'saved' } } }, auth)),
      },
      {
        name: 'patch',
        kind: 'write',
        run: async (c, id, auth) =>
          outcome(await api('PATCH', `${DATA}/items/${id}`, { dataCollectionId: c, patch: { fieldModifications: [{ fieldPath: 'title', action: 'SET_FIELD', setFieldOptions: { value: 'p' } }] } }, auth)),
      },
      {
        name: 'bulkPatch',
        kind: 'write',
        run: async (c, id, auth) =>
          bulkOutcome(
            await api('POST', `${DATA}/bulk/items/patch`, { dataCollectionId: c, patches: [{ dataItemId: id, fieldModifications: [{ fieldPath: 'n', action: 'INCREMENT_FIELD', incrementFieldOptions: { value: 1 } }] }] }, auth),
          ),
      },
      { name: 'remove', kind: 'write', run: async (c, id, auth) => outcome(await api('DELETE', `${DATA}/items/${id}?dataCollectionId=${c}`, undefined, auth)) },
      { name: 'bulkRemove', kind: 'write', run: async (c, id, auth) => bulkOutcome(await api('POST', `${DATA}/bulk/items/remove`, { dataCollectionId: c, dataItemIds: [id] }, auth)) },
      { name: 'truncate', kind: 'write', run: async (c, _id, auth) => outcome(await api('POST', `${DATA}/items/truncate`, { dataCollectionId: c }, auth)) },
    ];

    for (const role of ROLES) {
      test(`permission matrix over HTTP: every identity x every operation with permissions ${role}`, async () => {
        const c = `perm_${role}`;
        for (const caller of callers) {
          for (const op of ops) {
            // The caller's own item, and another member's (for the admin key both are "own").
            const targets = caller.memberId === MEMBER_A ? [['a1', true] as const, ['b1', false] as const] : [['a1', true] as const];
            for (const [id, own] of targets) {
              await seed(c);
              const before = await snapshot(c);
              const want = expected(caller, role, op.kind, own, op.name);
              const got = await op.run(c, id, caller.auth);
              assert.equal(got, want, `${caller.name} ${op.name} ${id} with ${role}`);
              if (want !== 'ok' || op.kind === 'read') assert.deepEqual(await snapshot(c), before, `${caller.name} ${op.name} ${id} with ${role} changed data`);
            }
          }
        }
      });
    }

    test('permission matrix through the published client: every item call, single and bulk', async () => {
      for (const role of ROLES) {
        const c = `perm_${role}`;
        for (const caller of callers) {
          const client = wixClientFor(s.url, caller.auth.replace(/^Bearer /, ''));
          const check = async (what: string, want: Outcome, run: () => Promise<unknown>, hiddenValue?: (v: unknown) => boolean) => {
            if (want === 'denied') {
              assert.equal(await codeOf(run()), 'WDE0027', `${caller.name} ${what} with ${role}`);
              return;
            }
            const v = await run();
            if (hiddenValue) assert.equal(hiddenValue(v), want === 'hidden', `${caller.name} ${what} with ${role}: ${JSON.stringify(v)}`);
          };
          await seed(c);
          const own = caller.memberId === MEMBER_A ? 'a1' : 'a1';
          await check('insert', expected(caller, role, 'write', true, 'insert'), () => client.items.insert(c, { title: 'via client' }));
          await check('get', expected(caller, role, 'read', true, 'get'), () => client.items.get(c, own), (v) => v === null);
          await check('query', expected(caller, role, 'read', true, 'query'), () => client.items.query(c).eq('_id', own).find(), (v: any) => v.items.length === 0);
          await check('count', expected(caller, role, 'read', true, 'count'), () => client.items.query(c).eq('_id', own).count(), (v) => v === 0);
          await check('distinct', expected(caller, role, 'read', true, 'distinct'), () => client.items.query(c).eq('_id', own).distinct('_id'), (v: any) => v.items.length === 0);
          await check('aggregate', expected(caller, role, 'read', true, 'aggregate'), () => client.items.aggregate(c).filter(client.items.filter().eq('_id', own)).count().run(), (v: any) => v.items.length === 0);
          await check('update', expected(caller, role, 'write', true, 'update'), () => client.items.update(c, { _id: own, title: 'u' }));
          await check('save', expected(caller, role, 'write', true, 'save'), () => client.items.save(c, { _id: own, title: 's' }));
          await check('remove', expected(caller, role, 'write', true, 'remove'), () => client.items.remove(c, own));
          await seed(c);
          await check('patch', expected(caller, role, 'write', true, 'patch'), () => client.items.patch(c, own).setField('title', 'p').run());
          await check('bulkInsert', expected(caller, role, 'write', true, 'bulkInsert'), () => client.items.bulkInsert(c, [{ title: 'b1' }, { title: 'b2' }] as any));
          await check('bulkUpdate', expected(caller, role, 'write', true, 'bulkUpdate'), () => client.items.bulkUpdate(c, [{ _id: own, title: 'bu' }] as any));
          await check('bulkSave', expected(caller, role, 'write', true, 'save'), () => client.items.bulkSave(c, [{ _id: own, title: 'bs' }] as any));
          await check('bulkPatch', expected(caller, role, 'write', true, 'bulkPatch'), () => client.items.bulkPatch(c, [own]).incrementField('n', 1).run());
          await check('bulkRemove', expected(caller, role, 'write', true, 'bulkRemove'), () => client.items.bulkRemove(c, [own]));
          await check('truncate', expected(caller, role, 'write', true, 'truncate'), () => client.items.truncate(c));
          if (caller.memberId === MEMBER_A) {
            await seed(c);
            const before = await snapshot(c);
            await check('get other', expected(caller, role, 'read', false, 'get'), () => client.items.get(c, 'b1'), (v) => v === null);
            await check('query other', expected(caller, role, 'read', false, 'query'), () => client.items.query(c).eq('_id', 'b1').find(), (v: any) => v.items.length === 0);
            await check('distinct other', expected(caller, role, 'read', false, 'distinct'), () => client.items.distinct(c, 'title'), (v: any) => !v.values.includes('B'));
            await check('aggregate other', expected(caller, role, 'read', false, 'aggregate'), () => client.items.aggregate(c).group('title').count().run(), (v: any) => !v.items.some((r: any) => r.title === 'B'));
            const wantWrite = expected(caller, role, 'write', false, 'update');
            if (wantWrite === 'denied') {
              assert.equal(await codeOf(client.items.update(c, { _id: 'b1', title: 'x' })), 'WDE0027');
              assert.equal(await codeOf(client.items.save(c, { _id: 'b1', title: 'x' })), 'WDE0027');
              assert.equal(await codeOf(client.items.remove(c, 'b1')), 'WDE0027');
              assert.deepEqual(await snapshot(c), before);
            }
          }
        }
      }
    });

    test('_owner comes from the identity: members cannot forge it, admins may set it', async () => {
      const c = 'perm_ANYONE';
      await seed(c);
      const member = `Bearer ${await memberToken(MEMBER_A)}`;
      const ins = await api('POST', `${DATA}/items`, { dataCollectionId: c, dataItem: { data: { _id: 'm1', title: 'mine', _owner: MEMBER_B } } }, member);
      assert.equal(ins.status, 200);
      assert.equal(ins.body.dataItem.data._owner, MEMBER_A);
      const bulk = await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: c, returnEntity: true, dataItems: [{ data: { _id: 'm2', _owner: SITE_OWNER } }] }, member);
      assert.equal(bulk.body.results[0].dataItem.data._owner, MEMBER_A);
      const save = await api('POST', `${DATA}/items/save`, { dataCollectionId: c, dataItem: { data: { _id: 'm3', _owner: MEMBER_B } } }, member);
      assert.equal(save.body.dataItem.data._owner, MEMBER_A);
      // Updating an item (here member B's, which ANYONE may update) does not change its owner.
      const upd = await api('POST', `${DATA}/items/update`, { dataCollectionId: c, dataItem: { id: 'b1', data: { _id: 'b1', title: 'x', _owner: MEMBER_A } } }, member);
      assert.equal(upd.status, 200);
      assert.equal(upd.body.dataItem.data._owner, MEMBER_B);
      const anon = await api('POST', `${DATA}/items`, { dataCollectionId: c, dataItem: { data: { _id: 'v1', _owner: MEMBER_A } } }, '');
      assert.equal(anon.status, 200);
      assert.equal(anon.body.dataItem.data._owner, undefined, 'a visitor owns nothing and cannot claim an owner');
      const adminIns = await admin('POST', `${DATA}/items`, { dataCollectionId: c, dataItem: { data: { _id: 'x1', _owner: MEMBER_B } } });
      assert.equal(adminIns.body.dataItem.data._owner, MEMBER_B);
      const adminDefault = await admin('POST', `${DATA}/items`, { dataCollectionId: c, dataItem: { data: { _id: 'x2' } } });
      assert.equal(adminDefault.body.dataItem.data._owner, SITE_OWNER);
      // Then, under SITE_MEMBER_AUTHOR, the forged owner gives no access to member B's items.
      const author = 'perm_SITE_MEMBER_AUTHOR';
      await seed(author);
      const forged = await api('POST', `${DATA}/items`, { dataCollectionId: author, dataItem: { data: { _id: 'f1', _owner: MEMBER_B } } }, member);
      assert.equal(forged.body.dataItem.data._owner, MEMBER_A);
      const asB = `Bearer ${await memberToken(MEMBER_B)}`;
      assert.equal((await api('GET', `${DATA}/items/f1?dataCollectionId=${author}`, undefined, asB)).status, 404);
    });

    test("another member's ids in bulk calls fail one by one; the caller's own succeed; nothing else changes", async () => {
      const c = 'perm_SITE_MEMBER_AUTHOR';
      await seed(c);
      const member = `Bearer ${await memberToken(MEMBER_A)}`;
      const upd = await api(
        'POST',
        `${DATA}/bulk/items/update`,
        { dataCollectionId: c, dataItems: [{ id: 'a1', data: { _id: 'a1', title: 'A2' } }, { id: 'b1', data: { _id: 'b1', title: 'stolen' } }, { id: 'zz', data: { _id: 'zz' } }] },
        member,
      );
      assert.equal(upd.status, 200);
      assert.deepEqual(
        upd.body.results.map((r: any) => r.itemMetadata.success || r.itemMetadata.error.code),
        [true, 'WDE0027', 'WDE0073'],
      );
      assert.deepEqual(upd.body.bulkActionMetadata, { totalSuccesses: 1, totalFailures: 2 });
      // The refusal carries no data of the item it refused.
      assert.ok(!JSON.stringify(upd.body).includes('"B"'));
      const patch = await api(
        'POST',
        `${DATA}/bulk/items/patch`,
        {
          dataCollectionId: c,
          patches: ['b1', 'a1'].map((id) => ({ dataItemId: id, fieldModifications: [{ fieldPath: 'tags', action: 'APPEND_TO_ARRAY', appendToArrayOptions: { value: 'x' } }] })),
        },
        member,
      );
      assert.deepEqual(patch.body.results.map((r: any) => r.itemMetadata.success || r.itemMetadata.error.code), ['WDE0027', true]);
      const save = await api('POST', `${DATA}/bulk/items/save`, { dataCollectionId: c, dataItems: [{ data: { _id: 'b1', title: 'mine now' } }, { data: { _id: 'a2' } }] }, member);
      assert.deepEqual(save.body.results.map((r: any) => r.itemMetadata.success || r.itemMetadata.error.code), ['WDE0027', true]);
      const rem = await api('POST', `${DATA}/bulk/items/remove`, { dataCollectionId: c, dataItemIds: ['b1', 'a2'] }, member);
      assert.deepEqual(rem.body.results.map((r: any) => r.itemMetadata.success || r.itemMetadata.error.code), ['WDE0027', true]);
      const all = await snapshot(c);
      const b1 = all.find((d: any) => d._id === 'b1');
      assert.equal(b1.title, 'B');
      assert.equal(b1._owner, MEMBER_B);
      assert.equal(b1.tags, undefined);
      // A filter naming B's item finds nothing for A: neither query nor count reveals it.
      const q = await api('POST', `${DATA}/items/query`, { dataCollectionId: c, query: { filter: { $or: [{ _owner: MEMBER_B }, { title: 'B' }] } } }, member);
      assert.equal(q.body.dataItems.length, 0);
      const n = await api('POST', `${DATA}/items/count`, { dataCollectionId: c, filter: {} }, member);
      assert.equal(n.body.totalCount, all.filter((d: any) => d._owner === MEMBER_A).length);
    });

    test('SQL metacharacters in filters, field paths and ids are data, never SQL', async () => {
      const c = 'perm_SITE_MEMBER_AUTHOR';
      await seed(c);
      const member = `Bearer ${await memberToken(MEMBER_A)}`;
      const nasty = ["x' OR '1'='1", "'); DROP TABLE items; --", '" OR 1=1 --', "b1' OR owner IS NOT NULL --", '\\', '%', '_'];
      for (const v of nasty) {
        const q = await api('POST', `${DATA}/items/query`, { dataCollectionId: c, query: { filter: { $or: [{ title: v }, { _id: v }, { title: { $contains: v } }] } } }, member);
        assert.equal(q.status, 200, JSON.stringify(q.body));
        assert.ok(q.body.dataItems.every((i: any) => i.data._owner === MEMBER_A), v);
        const g = await api('GET', `${DATA}/items/${encodeURIComponent(v)}?dataCollectionId=${c}`, undefined, member);
        assert.equal(g.status, 404, v);
        const path = await api('POST', `${DATA}/items/query`, { dataCollectionId: c, query: { filter: { [`title${v}`]: 1 } } }, member);
        assert.ok(path.status === 400 || (path.status === 200 && path.body.dataItems.length === 0), `${v}: ${path.status}`);
        const p = await api(
          'POST',
          `${DATA}/bulk/items/patch`,
          { dataCollectionId: c, patches: [{ dataItemId: 'a1', fieldModifications: [{ fieldPath: `t${v}`, action: 'SET_FIELD', setFieldOptions: { value: 1 } }] }] },
          member,
        );
        assert.ok(p.status === 400 || p.status === 200, `${v}: ${p.status} ${JSON.stringify(p.body)}`);
        const rm = await api('POST', `${DATA}/bulk/items/remove`, { dataCollectionId: c, dataItemIds: [v] }, member);
        assert.equal(rm.body.results[0].itemMetadata.error.code, 'WDE0073');
      }
      const all = await snapshot(c);
      assert.deepEqual(
        all.map((d: any) => d._id),
        ['a1', 'b1'],
      );
      assert.equal(all[1].title, 'B');
    });

    test('API keys: shown once, stored hashed, listed without secrets, revoked at once; scopes cannot be escalated', async () => {
      const created = await admin('POST', '/cairn/v1/keys', { name: 'ci', scopes: [SCOPES.dataRead, SCOPES.keys] });
      assert.equal(created.status, 200);
      const secret = created.body.apiKey as string;
      assert.equal(created.body.key.name, 'ci');
      assert.deepEqual(created.body.key.scopes, [SCOPES.dataRead, SCOPES.keys]);
      assert.equal(secret.slice(0, created.body.key.prefix.length), created.body.key.prefix);
      const listed = await admin('GET', '/cairn/v1/keys');
      assert.equal(listed.status, 200);
      const text = JSON.stringify(listed.body);
      assert.ok(!text.includes(secret), 'the list never shows a key');
      assert.ok(!text.includes('hash'), 'the list never shows a hash');
      const stored = await s.store.db.all<{ key_hash: string }>(sql`SELECT key_hash FROM api_keys`);
      assert.ok(stored.every((r) => r.key_hash.length === 64 && !r.key_hash.includes(secret.slice(6))));
      // The key works, with `Bearer` or without.
      assert.equal((await api('GET', `${DATA}/collections`, undefined, secret)).status, 200);
      assert.equal((await api('GET', `${DATA}/collections`, undefined, `Bearer ${secret}`)).status, 200);
      // It may create keys, but only with scopes it holds itself.
      const escalate = await api('POST', '/cairn/v1/keys', { name: 'more', scopes: [SCOPES.dataWrite] }, secret);
      assert.equal(escalate.status, 403);
      assert.equal(escalate.body.details.applicationError.code, 'WDE0027');
      const same = await api('POST', '/cairn/v1/keys', { name: 'same', scopes: [SCOPES.dataRead] }, secret);
      assert.equal(same.status, 200);
      // Bad requests are 400s in the envelope.
      for (const body of [{}, { name: 'x' }, { name: 'x', scopes: [] }, { name: 'x', scopes: ['SCOPE.NOPE'] }, { name: '', scopes: [SCOPES.dataRead] }, { name: 'x', scopes: [SCOPES.dataRead], memberId: 5 }]) {
        const r = await admin('POST', '/cairn/v1/keys', body);
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.equal(r.body.details.applicationError.code, 'WDE0075');
      }
      const revoked = await admin('DELETE', `/cairn/v1/keys/${created.body.key.id}`);
      assert.equal(revoked.status, 200);
      assert.equal(typeof revoked.body.key.revokedDate, 'string');
      const after = await api('GET', `${DATA}/collections`, undefined, secret);
      assert.equal(after.status, 401);
      assert.equal(after.body.details.applicationError.code, 'UNAUTHENTICATED');
      assert.ok(!JSON.stringify(after.body).includes(secret), 'errors never echo the key');
      assert.equal((await admin('DELETE', '/cairn/v1/keys/no-such-key')).status, 404);
    });

    test('admin surfaces: no credentials 401, members and keys without the scope 403', async () => {
      const member = `Bearer ${await memberToken(MEMBER_A)}`;
      const dataKey = await createKey({ name: 'd', scopes: [SCOPES.dataRead, SCOPES.dataWrite] });
      const taskKey = await createKey({ name: 't', scopes: [SCOPES.tasks] });
      const hookKey = await createKey({ name: 'w', scopes: [SCOPES.webhooks] });
      const colKey = await createKey({ name: 'c', scopes: [SCOPES.collections] });
      const surfaces: { method: string; path: string; body?: unknown; scopeKey: string }[] = [
        { method: 'GET', path: '/cms/v1/tasks', scopeKey: taskKey },
        { method: 'GET', path: '/_api/autocms/v1/tasks', scopeKey: taskKey },
        { method: 'GET', path: '/cairn/v1/webhooks', scopeKey: hookKey },
        { method: 'GET', path: '/cairn/v1/keys', scopeKey: TEST_ADMIN_KEY },
        { method: 'POST', path: `${DATA}/collections`, body: { collection: { id: `c_${Math.random().toString(36).slice(2, 8)}` } }, scopeKey: colKey },
        { method: 'POST', path: `${DATA}/bulk/items/async-remove-by-filter`, body: { dataCollectionId: 'perm_ANYONE', dataQuery: { filter: { title: 'nothing' } } }, scopeKey: taskKey },
      ];
      for (const sfc of surfaces) {
        const none = await api(sfc.method, sfc.path, sfc.body, '');
        assert.equal(none.status, 401, `${sfc.method} ${sfc.path} anonymous`);
        assert.equal(none.body.details.applicationError.code, 'UNAUTHENTICATED');
        for (const auth of [member, ...(sfc.scopeKey === dataKey ? [] : [dataKey])]) {
          const r = await api(sfc.method, sfc.path, sfc.body, auth);
          assert.equal(r.status, 403, `${sfc.method} ${sfc.path} ${auth.slice(0, 12)}: ${JSON.stringify(r.body)}`);
          assert.equal(r.body.details.applicationError.code, 'WDE0027');
        }
        const ok = await api(sfc.method, sfc.path, sfc.body, sfc.scopeKey);
        assert.equal(ok.status, 200, `${sfc.method} ${sfc.path} with its scope: ${JSON.stringify(ok.body)}`);
      }
      // Reading schemas: a data-read key may; changing them needs the collections scope.
      assert.equal((await api('GET', `${DATA}/collections/perm_ANYONE`, undefined, dataKey)).status, 200);
      assert.equal((await api('DELETE', `${DATA}/collections/perm_ANYONE`, undefined, dataKey)).status, 403);
    });

    test('member tokens: expired, wrongly signed, unsigned or for another algorithm are 401', async () => {
      const good = await memberToken(MEMBER_A);
      assert.equal((await api('GET', `${DATA}/items/a1?dataCollectionId=perm_SITE_MEMBER`, undefined, `Bearer ${good}`)).status !== 401, true);
      const expired = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(MEMBER_A).setExpirationTime(Math.floor(Date.now() / 1000) - 3600).sign(new TextEncoder().encode(JWT_SECRET));
      const forged = await memberToken(MEMBER_A, { secret: 'another-secret-that-is-long-enough-to-use' });
      const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
      const payload = Buffer.from(JSON.stringify({ sub: MEMBER_A })).toString('base64url');
      const unsigned = `${header}.${payload}.`;
      const tampered = good.replace(/\.([^.]+)\./, (_m, p: string) => `.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: MEMBER_B })).toString('base64url')}.`);
      const noSubject = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET));
      for (const [what, token] of [['expired', expired], ['forged', forged], ['alg none', unsigned], ['tampered', tampered], ['no subject', noSubject]] as const) {
        const r = await api('POST', `${DATA}/items/query`, { dataCollectionId: 'perm_ANYONE' }, `Bearer ${token}`);
        assert.equal(r.status, 401, what);
        assert.ok(!JSON.stringify(r.body).includes(token), `${what}: the token is not echoed`);
      }
    });
  });

  describe(`access control limits and settings (${storeName})`, () => {
    /** A server with the given options over a fresh store, on a loopback port. */
    async function serve(options: Partial<AppOptions>) {
      const store = await openTestStore(storeName);
      const cairn = await buildApp({ adminKey: TEST_ADMIN_KEY, db: store.db, logLevel: 'silent', runTasks: false, ...options });
      await cairn.app.listen({ port: 0, host: '127.0.0.1' });
      const a = cairn.app.server.address();
      const url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
      return { url, cairn, close: async () => (await cairn.app.close(), await store.close()) };
    }

    test('hooks see the caller: userId and userRole follow the identity; a denied call fires only onFailure', async () => {
      const seen: { hook: string; context: unknown; code?: string }[] = [];
      const record = (hook: string) => (item: unknown, context: unknown) => {
        seen.push({ hook, context });
        return item;
      };
      const hooks = {
        hooks: {
          h: {
            beforeInsert: record('beforeInsert'),
            afterInsert: record('afterInsert'),
            onFailure: (error: { details?: { applicationError?: { code?: string } }; code?: string }, context: unknown) => {
              seen.push({ hook: 'onFailure', context, code: (error as { code?: string }).code });
            },
          },
        },
      };
      const srv = await serve({ hooks, auth: { memberTokens: { secret: JWT_SECRET } } });
      try {
        await call(srv.url, 'POST', `${DATA}/collections`, { collection: { id: 'h', permissions: { read: 'ANYONE', insert: 'SITE_MEMBER', update: 'ADMIN', remove: 'ADMIN' } } });
        const asMember = await call(srv.url, 'POST', `${DATA}/items`, { dataCollectionId: 'h', dataItem: { data: { t: 1 } } }, { authorization: `Bearer ${await memberToken(MEMBER_A)}` });
        assert.equal(asMember.status, 200);
        assert.deepEqual(seen.map((x) => x.hook), ['beforeInsert', 'afterInsert']);
        assert.deepEqual(seen[0]?.context, { collectionName: 'h', userId: MEMBER_A, userRole: 'SITE_MEMBER' });
        seen.length = 0;
        await call(srv.url, 'POST', `${DATA}/items`, { dataCollectionId: 'h', dataItem: { data: { t: 2 } } });
        assert.deepEqual(seen[0]?.context, { collectionName: 'h', userId: SITE_OWNER, userRole: 'ADMIN' });
        seen.length = 0;
        const denied = await call(srv.url, 'POST', `${DATA}/items`, { dataCollectionId: 'h', dataItem: { data: { t: 3 } } }, { authorization: '' });
        assert.equal(denied.status, 403);
        assert.deepEqual(seen.map((x) => x.hook), ['onFailure']);
        assert.equal(seen[0]?.code, 'WDE0027');
        assert.deepEqual(seen[0]?.context, { collectionName: 'h', userId: null, userRole: 'ANYONE' });
      } finally {
        await srv.close();
      }
    });

    test('RS256 member tokens with a configured public key', async () => {
      const { publicKey, privateKey } = await generateKeyPair('RS256');
      const srv = await serve({ auth: { memberTokens: { publicKey: await exportSPKI(publicKey), issuer: 'https://id.example' } } });
      try {
        await call(srv.url, 'POST', `${DATA}/collections`, { collection: { id: 'm', permissions: { read: 'SITE_MEMBER', insert: 'SITE_MEMBER', update: 'SITE_MEMBER_AUTHOR', remove: 'ADMIN' } } });
        const sign = (iss: string) => new SignJWT({ memberId: 'rs-member' }).setProtectedHeader({ alg: 'RS256' }).setIssuer(iss).setExpirationTime('5m').sign(privateKey);
        const ok = await call(srv.url, 'POST', `${DATA}/items`, { dataCollectionId: 'm', dataItem: { data: { t: 1 } } }, { authorization: `Bearer ${await sign('https://id.example')}` });
        assert.equal(ok.status, 200, JSON.stringify(ok.body));
        assert.equal(ok.body.dataItem.data._owner, 'rs-member');
        const wrongIssuer = await call(srv.url, 'POST', `${DATA}/items`, { dataCollectionId: 'm', dataItem: { data: {} } }, { authorization: `Bearer ${await sign('https://evil.example')}` });
        assert.equal(wrongIssuer.status, 401);
        // An HS256 token signed with the public key's text (the classic algorithm confusion) is refused.
        const pem = await exportSPKI(publicKey);
        const confused = await new SignJWT({ sub: 'x' }).setProtectedHeader({ alg: 'HS256' }).setIssuer('https://id.example').setExpirationTime('5m').sign(new TextEncoder().encode(pem));
        assert.equal((await call(srv.url, 'POST', `${DATA}/items/query`, { dataCollectionId: 'm' }, { authorization: `Bearer ${confused}` })).status, 401);
      } finally {
        await srv.close();
      }
    });

    test('member tokens are refused when none are configured', async () => {
      const srv = await serve({});
      try {
        const r = await call(srv.url, 'POST', `${DATA}/items/query`, { dataCollectionId: 'x' }, { authorization: `Bearer ${await memberToken(MEMBER_A)}` });
        assert.equal(r.status, 401);
      } finally {
        await srv.close();
      }
    });

    test('guessing keys is rate limited per address (429 WDE0014), and then even a right key waits', async () => {
      const srv = await serve({ auth: { authFailureLimit: 5 } });
      try {
        for (let i = 0; i < 5; i++) {
          const r = await call(srv.url, 'GET', `${DATA}/collections`, undefined, { authorization: `cairn_guess${i}` });
          assert.equal(r.status, 401);
        }
        const limited = await call(srv.url, 'GET', `${DATA}/collections`, undefined, { authorization: 'cairn_guess-more' });
        assert.equal(limited.status, 429);
        assert.equal(limited.body.details.applicationError.code, 'WDE0014');
        assert.ok(Number(limited.headers.get('retry-after')) > 0);
        assert.equal((await call(srv.url, 'GET', `${DATA}/collections`)).status, 429);
        // Anonymous calls (no credentials) are not guesses.
        assert.notEqual((await call(srv.url, 'POST', `${DATA}/items/query`, { dataCollectionId: 'x' }, { authorization: '' })).status, 429);
      } finally {
        await srv.close();
      }
    });

    test('requests per key are limited (429 WDE0014); the admin key is not', async () => {
      const srv = await serve({ auth: { rateLimit: 10 } });
      try {
        await call(srv.url, 'POST', `${DATA}/collections`, { collection: { id: 'r', permissions: { read: 'ANYONE', insert: 'ADMIN', update: 'ADMIN', remove: 'ADMIN' } } });
        const key = (await call(srv.url, 'POST', '/cairn/v1/keys', { name: 'k', scopes: [SCOPES.dataRead] })).body.apiKey as string;
        const statuses: number[] = [];
        for (let i = 0; i < 12; i++) statuses.push((await call(srv.url, 'POST', `${DATA}/items/query`, { dataCollectionId: 'r' }, { authorization: key })).status);
        assert.deepEqual(statuses, [...Array(10).fill(200), 429, 429]);
        const r = await call(srv.url, 'POST', `${DATA}/items/query`, { dataCollectionId: 'r' }, { authorization: key });
        assert.equal(r.body.details.applicationError.code, 'WDE0014');
        // Other principals have their own windows: anonymous callers, and the admin key (never limited).
        assert.equal((await call(srv.url, 'POST', `${DATA}/items/query`, { dataCollectionId: 'r' }, { authorization: '' })).status, 200);
        for (let i = 0; i < 15; i++) assert.equal((await call(srv.url, 'POST', `${DATA}/items/query`, { dataCollectionId: 'r' })).status, 200);
      } finally {
        await srv.close();
      }
    });

    test('oversized bodies are 413 WDE0109 with nothing written', async () => {
      const srv = await serve({ bodyLimit: 4096 });
      try {
        await call(srv.url, 'POST', `${DATA}/collections`, { collection: { id: 'big' } });
        const r = await call(srv.url, 'POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'big', dataItems: Array.from({ length: 100 }, (_, i) => ({ data: { _id: `i${i}`, pad: 'x'.repeat(100) } })) });
        assert.equal(r.status, 413);
        assert.equal(r.body.details.applicationError.code, 'WDE0109');
        const n = await call(srv.url, 'POST', `${DATA}/items/count`, { dataCollectionId: 'big' });
        assert.equal(n.body.totalCount, 0);
      } finally {
        await srv.close();
      }
    });

    test('npm start without CAIRN_ADMIN_KEY prints a generated admin key once; it works across restarts', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'cairn-admin-'));
      const store = storeName === 'postgres' ? await openTestStore('postgres') : undefined;
      const env = { CAIRN_ADMIN_KEY: '', ...(store ? { DATABASE_URL: store.url as string } : { CAIRN_DATA_DIR: dir }) };
      try {
        const first = await spawnServer(env);
        const printed = first.lines.join('\n').match(/cairn_[A-Za-z0-9_-]{43}/g) ?? [];
        assert.equal(printed.length, 1, first.lines.join('\n'));
        const key = printed[0] as string;
        assert.equal((await call(first.url, 'GET', '/cairn/v1/keys', undefined, { authorization: key })).status, 200);
        assert.equal((await call(first.url, 'GET', '/cairn/v1/keys', undefined, { authorization: '' })).status, 401);
        await first.stop();
        const second = await spawnServer(env);
        try {
          assert.deepEqual(second.lines.join('\n').match(/cairn_[A-Za-z0-9_-]{43}/g), null, 'printed only on the first start');
          const listed = await call(second.url, 'GET', '/cairn/v1/keys', undefined, { authorization: key });
          assert.equal(listed.status, 200);
          assert.ok(!JSON.stringify(listed.body).includes(key));
        } finally {
          await second.stop();
        }
      } finally {
        await store?.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    test('the admin key generated on first start works and is stored only as a hash', async () => {
      const store = await openTestStore(storeName);
      try {
        const cairn = await buildApp({ db: store.db, logLevel: 'silent', runTasks: false });
        const secret = await cairn.keys.ensureAdminKey();
        assert.match(secret ?? '', /^cairn_/);
        assert.equal(await cairn.keys.ensureAdminKey(), undefined, 'made once');
        const listed = await cairn.keys.list();
        assert.equal(listed.length, 1);
        assert.equal(listed[0]?.admin, true);
        assert.ok(!JSON.stringify(listed).includes(secret as string));
        await cairn.app.listen({ port: 0, host: '127.0.0.1' });
        const a = cairn.app.server.address();
        const url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
        assert.equal((await call(url, 'GET', '/cairn/v1/keys', undefined, { authorization: secret as string })).status, 200);
        assert.equal((await call(url, 'GET', '/cairn/v1/keys', undefined, { authorization: '' })).status, 401);
        await cairn.app.close();
      } finally {
        await store.close();
      }
    });
  });
}
