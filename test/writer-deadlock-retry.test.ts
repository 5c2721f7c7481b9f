/**
 * An item write that PostgreSQL aborts as a deadlock victim (40P01) runs again instead of
 * answering 500 (ItemWriter.transactionRetryingDeadlocks). The store is wrapped so that its
 * first transactions fail as PostgreSQL's would, which makes the rare race repeatable; the
 * writes then run on the real store (SQLite here: the retry is in the writer, not the store).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openTestStore } from './helpers/stores.js';
import { ItemWriter } from '../src/items/writer.js';
import { CollectionService } from '../src/collections/service.js';
import { EventRecorder } from '../src/events/outbox.js';
import { makeScope } from '../src/items/scope.js';
import { ADMIN_CONTEXT } from '../src/items/service.js';
import { systemClock } from '../src/clock.js';
import type { Db } from '../src/store/db.js';

/** `db` whose next `failures` transactions throw a deadlock error before doing anything. */
function deadlocking(db: Db, failures: { left: number }): Db {
  return new Proxy(db, {
    get(target, key, receiver) {
      if (key === 'transaction') {
        return async (fn: Parameters<Db['transaction']>[0]) => {
          if (failures.left > 0) {
            failures.left--;
            throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
          }
          return target.transaction(fn);
        };
      }
      const v = Reflect.get(target, key, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

test('item writes run again after a deadlock abort, up to three attempts', async () => {
  const store = await openTestStore('sqlite');
  try {
    const collections = new CollectionService(store.db, systemClock, new EventRecorder());
    const collection = await collections.create({ id: 'things' });
    const scope = makeScope(collection, 'LIVE', undefined);
    const failures = { left: 0 };
    const writer = new ItemWriter(deadlocking(store.db, failures), systemClock);
    const item = (id: string) => ({ id, fields: { n: 1 }, owner: undefined });

    failures.left = 2;
    const [inserted] = await writer.insert(scope, [item('a'), item('b')], ADMIN_CONTEXT);
    assert.equal(inserted?.ok, true);
    assert.equal(failures.left, 0);

    failures.left = 2;
    const removed = await writer.remove(scope, ['a']);
    assert.equal(removed[0]?.ok, true);

    // A third abort in a row is the caller's error, and nothing was written.
    failures.left = 3;
    await assert.rejects(writer.remove(scope, ['b']), (e: { code?: string }) => e.code === '40P01');
    const left = await store.db.all<{ id: string }>((await import('../src/store/sql.js')).sql`SELECT id FROM items WHERE collection_id = 'things' ORDER BY id`);
    assert.deepEqual(left.map((r) => r.id), ['b']);
  } finally {
    await store.close();
  }
});
