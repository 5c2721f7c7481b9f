/**
 * PostgreSQL sessions: Cairn's connections run with JIT off (its statements are short; a JIT
 * compile cost a task about 16 ms per batch), and the options a DATABASE_URL carries are kept.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { withoutJit } from '../src/store/postgres/db.js';
import { sql } from '../src/store/sql.js';
import { STORE_NAMES, openTestStore, type TestStore } from './helpers/stores.js';

test('withoutJit adds -c jit=off to the options, keeps the URL\'s own, and leaves an explicit jit alone', () => {
  const options = (url: string) => new URL(url).searchParams.get('options');
  assert.equal(options(withoutJit('postgres://u:p@h:5432/db')), '-c jit=off');
  assert.equal(options(withoutJit('postgres://u:p@h/db?options=-c%20search_path%3Ds1')), '-c search_path=s1 -c jit=off');
  assert.equal(withoutJit('postgres://u:p@h/db?options=-c%20jit%3Don'), 'postgres://u:p@h/db?options=-c%20jit%3Don');
  const kept = new URL(withoutJit('postgres://u:p@h/db?sslmode=require&application_name=x'));
  assert.equal(kept.searchParams.get('sslmode'), 'require');
  assert.equal(kept.searchParams.get('application_name'), 'x');
  assert.equal(kept.username, 'u');
  assert.equal(kept.password, 'p');
  assert.equal(withoutJit('host=/var/run/postgresql dbname=x'), 'host=/var/run/postgresql dbname=x');
});

for (const storeName of STORE_NAMES.filter((s) => s === 'postgres')) {
  describe(`Cairn's PostgreSQL sessions (${storeName})`, () => {
    let store: TestStore;
    before(async () => {
      store = await openTestStore(storeName);
    });
    after(async () => {
      await store.close();
    });

    test('run with JIT off and the search_path the URL asks for, in and out of transactions', async () => {
      const schema = new URL(store.url as string).searchParams.get('options')?.match(/search_path=(\S+)/)?.[1];
      assert.ok(schema);
      assert.deepEqual(await store.db.get(sql`SHOW jit`), { jit: 'off' });
      assert.deepEqual(await store.db.get(sql`SHOW search_path`), { search_path: schema });
      const inTx = await store.db.transaction(async (tx) => [await tx.get(sql`SHOW jit`), await tx.get(sql`SHOW search_path`)]);
      assert.deepEqual(inTx, [{ jit: 'off' }, { search_path: schema }]);
    });
  });
}
