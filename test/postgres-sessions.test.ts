/**
 * PostgreSQL sessions: Cairn's connections run with JIT off (its statements are short; a JIT
 * compile cost a task about 16 ms per batch), set on each new connection, and the options a
 * DATABASE_URL carries are kept (a `jit` there wins).
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PostgresDb, turnsJitOff } from '../src/store/postgres/db.js';
import { sql } from '../src/store/sql.js';
import { STORE_NAMES, openTestStore, type TestStore } from './helpers/stores.js';

test('turnsJitOff: yes unless the connection string\'s options set jit', () => {
  assert.equal(turnsJitOff('postgres://u:p@h:5432/db'), true);
  assert.equal(turnsJitOff('postgres://u:p@h/db?options=-c%20search_path%3Ds1'), true);
  assert.equal(turnsJitOff('postgres://u:p@h/db?options=-c%20jit%3Don'), false);
  assert.equal(turnsJitOff('postgres://u:p@h/db?sslmode=require'), true);
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

    test('a URL that sets jit itself keeps its own setting', async () => {
      const u = new URL(store.url as string);
      u.searchParams.set('options', `${u.searchParams.get('options')} -c jit=on`);
      const db = new PostgresDb({ connectionString: u.toString() });
      try {
        assert.deepEqual(await db.get(sql`SHOW jit`), { jit: 'on' });
      } finally {
        await db.close();
      }
    });
  });
}
