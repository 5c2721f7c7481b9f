/**
 * Data permissions (src/collections/data-permissions.ts; the published client's `permissions`
 * module) on every store: access levels read and set through the client (both of its paths) and
 * raw HTTP, enforced on item calls as the collection's roles; `dataPermissions` on create, PUT and
 * PATCH of a collection; Get My Permissions for anonymous visitors, members and keys; special
 * permissions sets letting one member do an action; access and bad input.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { SignJWT } from 'jose';
import { permissions as permissionsModule } from '@wix/data';
import { STORE_NAMES } from './helpers/stores.js';
import { call, recordingClientFor, startServer, TEST_ADMIN_KEY, type TestServer } from './helpers/server.js';
import { codeOf } from './helpers/calls.js';
import { SCOPES } from '../src/auth/scopes.js';

const DATA = '/wix-data/v2';
const PERM = '/wix-data/v1/permissions';
const JWT_SECRET = 'a-member-token-secret-of-at-least-32-bytes';

const memberToken = async (memberId: string) =>
  `Bearer ${await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(memberId).setIssuedAt().setExpirationTime('1h').sign(new TextEncoder().encode(JWT_SECRET))}`;

function assertError(r: { status: number; body: any }, status: number, code: string) {
  assert.equal(r.status, status, JSON.stringify(r.body));
  assert.equal(r.body?.details?.applicationError?.code, code, JSON.stringify(r.body));
}

for (const storeName of STORE_NAMES) {
  describe(`data permissions (${storeName})`, () => {
    let s: TestServer;
    let alice: string;
    let bob: string;
    before(async () => {
      s = await startServer(storeName, { runner: false, auth: { memberTokens: { secret: JWT_SECRET } } });
      alice = await memberToken('alice');
      bob = await memberToken('bob');
    });
    after(() => s.close());

    const api = (method: string, path: string, body?: unknown, auth = TEST_ADMIN_KEY) => call(s.url, method, path, body, { authorization: auth });
    const ok = async (method: string, path: string, body?: unknown) => {
      const r = await api(method, path, body);
      assert.equal(r.status, 200, `${method} ${path}: ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const status = async (auth: string, method: string, path: string, body?: unknown) => (await api(method, path, body, auth)).status;
    const read = (auth: string, collection: string) => status(auth, 'POST', `${DATA}/items/query`, { dataCollectionId: collection });
    const insert = (auth: string, collection: string, id: string) => status(auth, 'POST', `${DATA}/items`, { dataCollectionId: collection, dataItem: { id, data: { n: 1 } } });
    const update = (auth: string, collection: string, id: string) => status(auth, 'PUT', `${DATA}/items/${id}`, { dataCollectionId: collection, dataItem: { id, data: { n: 2 } } });
    const mine = async (auth: string, collection: string) => (await api('GET', `${PERM}/current?dataCollectionId=${collection}`, undefined, auth)).body;

    test('the published client reads and sets access levels, on both of its paths; item calls follow them', async () => {
      await ok('POST', `${DATA}/collections`, { collection: { id: 'levels', permissions: { read: 'ANYONE', insert: 'SITE_MEMBER_AUTHOR', update: 'ADMIN', remove: 'ADMIN' } } });
      for (const apiBaseUrl of [undefined, 'cairn.test']) {
        const seen: string[] = [];
        const client = recordingClientFor(s.url, { permissions: permissionsModule }, { seen, ...(apiBaseUrl ? { apiBaseUrl } : {}) });
        await client.permissions.updatePermissions({ _id: 'levels', itemRead: 'ANYONE', itemInsert: 'SITE_MEMBER_AUTHOR', itemUpdate: 'CMS_EDITOR', itemRemove: 'CMS_EDITOR' });
        const { dataPermissions } = await client.permissions.getPermissions('levels');
        assert.deepEqual(dataPermissions, { _id: 'levels', itemRead: 'ANYONE', itemInsert: 'SITE_MEMBER_AUTHOR', itemUpdate: 'CMS_EDITOR', itemRemove: 'CMS_EDITOR', specialPermissions: [] });
        const updated = await client.permissions.updatePermissions({ _id: 'levels', itemRead: 'SITE_MEMBER', itemInsert: 'SITE_MEMBER', itemUpdate: 'PRIVILEGED', itemRemove: 'CMS_EDITOR' });
        assert.deepEqual(updated.dataPermissions, { _id: 'levels', itemRead: 'SITE_MEMBER', itemInsert: 'SITE_MEMBER', itemUpdate: 'PRIVILEGED', itemRemove: 'CMS_EDITOR', specialPermissions: [] });
        const mineNow = await client.permissions.getMyPermissions('levels');
        assert.deepEqual({ ...mineNow }, { itemRead: true, itemInsert: true, itemUpdate: true, itemRemove: true });
        const prefix = apiBaseUrl ? '/_api/data/v1/permissions' : '/wix-data/v1/permissions';
        assert.ok(seen.length === 4 && seen.every((p) => p.startsWith(prefix)), seen.join(' '));
      }
      // The roles follow the levels (PRIVILEGED and CMS_EDITOR are admins).
      assert.deepEqual((await ok('GET', `${DATA}/collections/levels`)).collection.permissions, { read: 'SITE_MEMBER', insert: 'SITE_MEMBER', update: 'ADMIN', remove: 'ADMIN' });
      assert.equal(await read('', 'levels'), 403, 'anonymous visitors may no longer read');
      assert.equal(await read(alice, 'levels'), 200);
      assert.equal(await insert(alice, 'levels', 'a1'), 200);
      assert.equal(await update(alice, 'levels', 'a1'), 403);
      assert.deepEqual(await mine('', 'levels'), { itemRead: false, itemInsert: false, itemUpdate: false, itemRemove: false });
      assert.deepEqual(await mine(alice, 'levels'), { itemRead: true, itemInsert: true, itemUpdate: false, itemRemove: false });
      // Roles set the old way since: the levels follow them (ADMIN reads as CMS_EDITOR), kept ones stay.
      await ok('PATCH', `${DATA}/collections/levels`, { dataCollection: { permissions: { read: 'ANYONE', insert: 'SITE_MEMBER', update: 'ADMIN', remove: 'SITE_MEMBER_AUTHOR' } } });
      const after = (await ok('GET', `${PERM}?dataCollectionId=levels`)).dataPermissions;
      assert.deepEqual(after, { id: 'levels', itemRead: 'ANYONE', itemInsert: 'SITE_MEMBER', itemUpdate: 'PRIVILEGED', itemRemove: 'SITE_MEMBER_AUTHOR', specialPermissions: [] });
      // The collection shows the same levels.
      assert.deepEqual((await ok('GET', `${DATA}/collections/levels`)).collection.dataPermissions, { itemRead: 'ANYONE', itemInsert: 'SITE_MEMBER', itemUpdate: 'PRIVILEGED', itemRemove: 'SITE_MEMBER_AUTHOR' });
    });

    test('dataPermissions on create, PUT and PATCH of a collection decide its roles', async () => {
      await ok('POST', `${DATA}/collections`, { collection: { id: 'dp', dataPermissions: { itemRead: 'SITE_MEMBER', itemInsert: 'ANYONE' } } });
      let c = (await ok('GET', `${DATA}/collections/dp`)).collection;
      assert.deepEqual(c.permissions, { read: 'SITE_MEMBER', insert: 'ANYONE', update: 'ADMIN', remove: 'ADMIN' });
      assert.equal(await insert('', 'dp', 'x1'), 200);
      assert.equal(await read('', 'dp'), 403);
      await ok('PATCH', `${DATA}/collections/dp`, { dataCollection: { dataPermissions: { itemRead: 'ANYONE' } } });
      assert.equal(await read('', 'dp'), 200);
      c = (await ok('GET', `${DATA}/collections/dp`)).collection;
      await ok('PUT', `${DATA}/collections`, { collection: { id: 'dp', revision: c.revision, permissions: { read: 'ANYONE' }, dataPermissions: { itemUpdate: 'SITE_MEMBER' } } });
      assert.deepEqual((await ok('GET', `${DATA}/collections/dp`)).collection.permissions, { read: 'ANYONE', insert: 'ADMIN', update: 'SITE_MEMBER', remove: 'ADMIN' });
      assert.equal(await update(bob, 'dp', 'x1'), 200);
      assertError(await api('PATCH', `${DATA}/collections/dp`, { dataCollection: { dataPermissions: { itemRead: 'EVERYONE' } } }), 400, 'WDE0075');
      assertError(await api('POST', `${DATA}/collections`, { collection: { id: 'dp2', dataPermissions: { itemRead: 'EVERYONE' } } }), 400, 'WDE0075');
      assert.equal((await api('GET', `${DATA}/collections/dp2`)).status, 404, 'nothing created');
      assert.equal((await ok('GET', `${DATA}/collections/dp`)).collection.permissions.read, 'ANYONE', 'nothing changed');
    });

    test('special permissions let one member do an action on every item, whatever the level', async () => {
      await ok('POST', `${DATA}/collections`, { collection: { id: 'special', permissions: { read: 'SITE_MEMBER_AUTHOR', insert: 'SITE_MEMBER', update: 'ADMIN', remove: 'ADMIN' } } });
      assert.equal(await insert(bob, 'special', 'b1'), 200);
      assert.equal(await update(alice, 'special', 'b1'), 403);
      const client = recordingClientFor(s.url, { permissions: permissionsModule }, { seen: [] });
      const { specialPermissions: sp } = await client.permissions.addSpecialPermissions('special', { userId: 'alice', itemUpdate: 'ALLOWED', itemRead: 'ALLOWED' });
      assert.deepEqual({ ...sp, _id: 'x' }, { _id: 'x', userId: 'alice', itemRead: 'ALLOWED', itemInsert: 'UNSPECIFIED', itemUpdate: 'ALLOWED', itemRemove: 'UNSPECIFIED' });
      assert.match(sp._id, /^[0-9a-f-]{36}$/);
      assert.equal(await update(alice, 'special', 'b1'), 200, "alice may update bob's item");
      const seenByAlice = (await api('POST', `${DATA}/items/query`, { dataCollectionId: 'special' }, alice)).body.dataItems.map((i: any) => i.id);
      assert.deepEqual(seenByAlice, ['b1'], 'and read every item, not only her own');
      assert.equal(await update(bob, 'special', 'b1'), 403, 'bob is not named');
      assert.equal((await api('DELETE', `${DATA}/items/b1?dataCollectionId=special`, undefined, alice)).status, 403, 'remove was not allowed');
      assert.deepEqual(await mine(alice, 'special'), { itemRead: true, itemInsert: true, itemUpdate: true, itemRemove: false });
      assert.deepEqual((await client.permissions.getPermissions('special')).dataPermissions.specialPermissions.map((x: any) => x._id), [sp._id]);
      assert.equal(await codeOf(client.permissions.addSpecialPermissions('special', { userId: 'alice', itemRemove: 'ALLOWED' })), 'ALREADY_EXISTS');

      const changed = await ok('POST', `${PERM}/special/${sp._id}`, { specialPermissions: { itemUpdate: 'UNSPECIFIED', itemRemove: 'ALLOWED' } });
      assert.deepEqual(changed.specialPermissions, { id: sp._id, userId: 'alice', itemRead: 'ALLOWED', itemInsert: 'UNSPECIFIED', itemUpdate: 'UNSPECIFIED', itemRemove: 'ALLOWED' });
      assert.equal(await update(alice, 'special', 'b1'), 403);
      assertError(await api('POST', `${PERM}/special/${sp._id}`, { specialPermissions: { userId: 'bob' } }), 400, 'WDE0075');
      // A role: kept, and matching no one (Cairn has no roles).
      const role = await ok('POST', `${PERM}/special`, { dataCollectionId: 'special', specialPermissions: { policyId: 'editors', itemUpdate: 'ALLOWED' } });
      assert.equal(role.specialPermissions.policyId, 'editors');
      assert.equal(await update(bob, 'special', 'b1'), 403);

      await client.permissions.removeSpecialPermissions(sp._id);
      assert.equal(await codeOf(client.permissions.removeSpecialPermissions(sp._id)), 'NOT_FOUND');
      assertError(await api('POST', `${PERM}/special/${sp._id}`, { specialPermissions: { itemRead: 'ALLOWED' } }), 404, 'NOT_FOUND');
      assert.equal((await api('DELETE', `${DATA}/items/b1?dataCollectionId=special`, undefined, alice)).status, 403);
      assert.deepEqual((await ok('GET', `${PERM}?dataCollectionId=special`)).dataPermissions.specialPermissions.map((x: any) => x.policyId), ['editors']);
      // Not part of the collection's own wire form.
      assert.equal('specialPermissions' in (await ok('GET', `${DATA}/collections/special`)).collection, false);
    });

    test('access: managing permissions needs collections management; anyone may ask what they may do', async () => {
      await ok('POST', `${DATA}/collections`, { collection: { id: 'guarded' } });
      const data = (await ok('POST', '/cairn/v1/keys', { name: 'data', scopes: [SCOPES.dataRead, SCOPES.dataWrite] })).apiKey as string;
      const manager = (await ok('POST', '/cairn/v1/keys', { name: 'manager', scopes: [SCOPES.collections] })).apiKey as string;
      assert.equal(await status('', 'GET', `${PERM}?dataCollectionId=guarded`), 401);
      assertError(await api('GET', `${PERM}?dataCollectionId=guarded`, undefined, alice), 403, 'WDE0027');
      assertError(await api('POST', PERM, { dataPermissions: { id: 'guarded', itemRead: 'ANYONE' } }, data), 403, 'WDE0027');
      assertError(await api('POST', `${PERM}/special`, { dataCollectionId: 'guarded', specialPermissions: { userId: 'alice', itemRead: 'ALLOWED' } }, data), 403, 'WDE0027');
      assert.equal(await status(manager, 'POST', PERM, { dataPermissions: { id: 'guarded', itemRead: 'SITE_MEMBER' } }), 200);
      assert.deepEqual(await mine(data, 'guarded'), { itemRead: true, itemInsert: true, itemUpdate: true, itemRemove: true });
      assert.deepEqual(await mine(manager, 'guarded'), { itemRead: false, itemInsert: false, itemUpdate: false, itemRemove: false }, 'a key without data scopes may do nothing with items');
      assert.deepEqual(await mine(bob, 'guarded'), { itemRead: true, itemInsert: false, itemUpdate: false, itemRemove: false });
    });

    test('bad input answers 4xx and changes nothing', async () => {
      await ok('POST', `${DATA}/collections`, { collection: { id: 'bad' } });
      const before = (await ok('GET', `${PERM}?dataCollectionId=bad`)).dataPermissions;
      assertError(await api('GET', `${PERM}?dataCollectionId=nowhere`), 404, 'WDE0025');
      assertError(await api('GET', `${PERM}/current?dataCollectionId=nowhere`), 404, 'WDE0025');
      assertError(await api('GET', PERM), 400, 'WDE0001');
      assertError(await api('POST', PERM, {}), 400, 'WDE0080');
      assertError(await api('POST', PERM, { dataPermissions: { itemRead: 'ANYONE' } }), 400, 'WDE0001');
      assertError(await api('POST', PERM, { dataPermissions: { id: 'nowhere', itemRead: 'ANYONE' } }), 404, 'WDE0025');
      assertError(await api('POST', PERM, { dataPermissions: { id: 'bad', itemRead: 'ANYONE', itemInsert: 'ADMIN' } }), 400, 'WDE0075');
      assertError(await api('POST', PERM, { dataPermissions: { id: 'bad', itemRead: 7 } }), 400, 'WDE0075');
      const special = (body: unknown) => api('POST', `${PERM}/special`, body);
      assertError(await special({ dataCollectionId: 'bad', specialPermissions: { itemRead: 'ALLOWED' } }), 400, 'WDE0075');
      assertError(await special({ dataCollectionId: 'bad', specialPermissions: { userId: 'a', policyId: 'b' } }), 400, 'WDE0075');
      assertError(await special({ dataCollectionId: 'bad', specialPermissions: { userId: 'a', itemRead: 'YES' } }), 400, 'WDE0075');
      assertError(await special({ dataCollectionId: 'bad', specialPermissions: 'alice' }), 400, 'WDE0075');
      assertError(await special({ dataCollectionId: 'nowhere', specialPermissions: { userId: 'a' } }), 404, 'WDE0025');
      assertError(await api('DELETE', `${PERM}/special/nope`), 404, 'NOT_FOUND');
      assert.deepEqual((await ok('GET', `${PERM}?dataCollectionId=bad`)).dataPermissions, before);
    });
  });
}
