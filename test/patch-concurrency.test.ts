/**
 * Patches under concurrency: 20 clients at once, each sending 50 requests one after another, all
 * incrementing the same field of the same item and appending to the same array. No increment and
 * no element may be lost (end state exactly 1000 and 1000), on the SQL fast path, the JS path, the
 * single Patch call and with two items locked in opposite orders. Also: conditional decrements
 * never overshoot, and concurrent saves / inserts of the same new ids report exactly one insert.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, call, wixClientFor, type TestServer } from './helpers/server.js';
import { sql } from '../src/store/sql.js';

const DATA = '/wix-data/v2';
const CLIENTS = 20;
const ROUNDS = 50;
/** Rounds for the secondary scenarios, to keep the file's runtime reasonable. */
const SHORT = 10;

type Obj = Record<string, any>;

const INC = (fieldPath: string, value: number) => ({ fieldPath, action: 'INCREMENT_FIELD', incrementFieldOptions: { value } });
const APPEND = (fieldPath: string, value: unknown) => ({ fieldPath, action: 'APPEND_TO_ARRAY', appendToArrayOptions: { value } });
/** A no-op that moves a request off the SQL fast path. */
const JS_ONLY = { fieldPath: 'never', action: 'REMOVE_FROM_ARRAY', removeFromArrayOptions: { value: 0 } };

/** Runs `CLIENTS` workers at once; each runs `rounds` steps one after another. */
async function workers(step: (client: number, round: number) => Promise<void>, rounds = ROUNDS): Promise<void> {
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, c) => {
      for (let r = 0; r < rounds; r++) await step(c, r);
    }),
  );
}

for (const storeName of STORE_NAMES) {
  describe(`concurrent patches (${storeName})`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(storeName, { runner: false });
    });
    after(() => s.close());

    const api = (method: string, path: string, body?: unknown) => call(s.url, method, path, body);
    const collection = async (id: string) => {
      const r = await api('POST', `${DATA}/collections`, { collection: { id } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    const insert = async (c: string, items: Obj[]) => {
      const r = await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: c, dataItems: items.map((data) => ({ data })) });
      assert.equal(r.body.bulkActionMetadata.totalSuccesses, items.length, JSON.stringify(r.body));
    };
    const stored = async (c: string, id: string): Promise<Obj> => {
      const r = await s.store.db.get<Obj>(sql`SELECT data, updated_date FROM items WHERE collection_id = ${c} AND env = 'LIVE' AND id = ${id}`);
      assert.ok(r, `${c}/${id} exists`);
      return typeof r.data === 'string' ? JSON.parse(r.data) : r.data;
    };
    /** Every client's elements are all there, once each, in the order that client sent them. */
    const checkArray = (arr: unknown[], rounds: number) => {
      assert.equal(arr.length, CLIENTS * rounds);
      assert.equal(new Set(arr).size, CLIENTS * rounds, 'no element appended twice');
      for (let c = 0; c < CLIENTS; c++) {
        const mine = arr.filter((x) => typeof x === 'string' && x.startsWith(`c${c}-`)).map((x) => Number((x as string).split('-')[1]));
        assert.deepEqual(
          mine,
          Array.from({ length: rounds }, (_, r) => r),
          `client ${c}'s elements, in its order`,
        );
      }
    };

    test('20 clients x 50 bulk patches, SQL fast path and JS path racing: exactly 1000 increments and 1000 elements', async () => {
      await collection('hot');
      await insert('hot', [{ _id: 'hot', count: 0, arr: [] }]);
      const clients = Array.from({ length: CLIENTS }, () => wixClientFor(s.url));
      await workers(async (c, r) => {
        if ((c + r) % 2 === 0) {
          // Through the published client: one (action, path) shape, so the SQL fast path.
          const res = await (clients[c]!.items as any).bulkPatch('hot', ['hot']).incrementField('count', 1).appendToArray('arr', `c${c}-${r}`).run();
          assert.equal(res.updated, 1, JSON.stringify(res));
        } else {
          // Raw HTTP with a REMOVE_FROM_ARRAY: the JS path (rows locked, changed in JS, written back).
          const res = await api('POST', `${DATA}/bulk/items/patch`, {
            dataCollectionId: 'hot',
            patches: [{ dataItemId: 'hot', fieldModifications: [INC('count', 1), APPEND('arr', `c${c}-${r}`), JS_ONLY] }],
          });
          assert.equal(res.status, 200, JSON.stringify(res.body));
          assert.deepEqual(res.body.bulkActionMetadata, { totalSuccesses: 1, totalFailures: 0 });
        }
      });
      const data = await stored('hot', 'hot');
      assert.equal(data.count, CLIENTS * ROUNDS);
      checkArray(data.arr, ROUNDS);
    });

    test('single PATCH /items/{id} calls from 20 clients: no increment or element lost', async () => {
      await collection('single');
      await insert('single', [{ _id: 'hot', count: 0, arr: [] }]);
      await workers(async (c, r) => {
        // Alternate the two paths between requests so both run against each other.
        const mods = [INC('count', 1), APPEND('arr', `c${c}-${r}`), ...(r % 2 ? [JS_ONLY] : [])];
        const res = await api('PATCH', `${DATA}/items/hot`, { dataCollectionId: 'single', patch: { fieldModifications: mods } });
        assert.equal(res.status, 200, JSON.stringify(res.body));
      }, SHORT);
      const data = await stored('single', 'hot');
      assert.equal(data.count, CLIENTS * SHORT);
      checkArray(data.arr, SHORT);
    });

    test('two items patched in opposite orders by concurrent requests: no deadlock, nothing lost', async () => {
      await collection('pair');
      await insert('pair', [
        { _id: 'x', count: 0, arr: [] },
        { _id: 'y', count: 0, arr: [] },
      ]);
      await workers(async (c, r) => {
        const ids = c % 2 ? ['y', 'x'] : ['x', 'y'];
        const extra = c % 4 < 2 ? [] : [JS_ONLY];
        const res = await api('POST', `${DATA}/bulk/items/patch`, {
          dataCollectionId: 'pair',
          patches: ids.map((dataItemId) => ({ dataItemId, fieldModifications: [INC('count', 1), APPEND('arr', `c${c}-${r}`), ...extra] })),
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        assert.deepEqual(res.body.bulkActionMetadata, { totalSuccesses: 2, totalFailures: 0 });
      }, SHORT);
      for (const id of ['x', 'y']) {
        const data = await stored('pair', id);
        assert.equal(data.count, CLIENTS * SHORT);
        checkArray(data.arr, SHORT);
      }
    });

    test('conditional decrements never overshoot: 200 attempts on 100 seats book exactly 100', async () => {
      await collection('seats');
      await insert('seats', [{ _id: 'show', seats: 100, booked: [] }]);
      let successes = 0;
      let refused = 0;
      await workers(async (c, r) => {
        const extra = r % 2 ? [JS_ONLY] : [];
        const res = await api('POST', `${DATA}/bulk/items/patch`, {
          dataCollectionId: 'seats',
          condition: { filter: { seats: { $gt: 0 } } },
          patches: [{ dataItemId: 'show', fieldModifications: [INC('seats', -1), APPEND('booked', `c${c}-${r}`), ...extra] }],
        });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const m = res.body.results[0].itemMetadata;
        if (m.success) successes++;
        else {
          assert.equal(m.error.code, 'WDE0073');
          refused++;
        }
      }, SHORT);
      const data = await stored('seats', 'show');
      assert.equal(data.seats, 0);
      assert.equal(successes, 100);
      assert.equal(refused, CLIENTS * SHORT - 100);
      assert.equal(data.booked.length, 100);
      assert.equal(new Set(data.booked).size, 100);
    });

    test('bulk save, update, patch and remove of the same items in opposite orders: no deadlock', async () => {
      await collection('mixed');
      const ids = ['m1', 'm2', 'm3', 'm4'];
      await insert('mixed', ids.map((_id) => ({ _id, count: 0 })));
      const kinds = ['save', 'update', 'patch', 'remove'] as const;
      const seen = new Set<string>();
      await workers(async (c, r) => {
        const order = c % 2 ? [...ids].reverse() : ids;
        const kind = kinds[(c + r) % (r % 5 === 4 ? 4 : 3)]!;
        seen.add(kind);
        const res =
          kind === 'save' || kind === 'update'
            ? await api('POST', `${DATA}/bulk/items/${kind}`, { dataCollectionId: 'mixed', dataItems: order.map((id) => ({ data: { _id: id, count: 0, by: c } })) })
            : kind === 'patch'
              ? await api('POST', `${DATA}/bulk/items/patch`, {
                  dataCollectionId: 'mixed',
                  patches: order.map((dataItemId) => ({ dataItemId, fieldModifications: [INC('count', 1), ...(r % 2 ? [JS_ONLY] : [])] })),
                })
              : await api('POST', `${DATA}/bulk/items/remove`, { dataCollectionId: 'mixed', dataItemIds: order });
        assert.equal(res.status, 200, `${kind}: ${JSON.stringify(res.body)}`);
        for (const x of res.body.results) {
          // Items come and go (remove, save): only "not found" may fail, and never a save.
          if (!x.itemMetadata.success) {
            assert.notEqual(kind, 'save', JSON.stringify(x));
            assert.equal(x.itemMetadata.error.code, 'WDE0073', JSON.stringify(x));
          }
        }
      }, SHORT);
      assert.deepEqual([...seen].sort(), [...kinds].sort());
    });

    test('bulk inserts of the same 1000 new ids in opposite orders: each id inserted once, no deadlock', async () => {
      await collection('ins');
      for (let r = 0; r < 6; r++) {
        const ids = Array.from({ length: 1000 }, (_, x) => `r${r}-${String(x).padStart(4, '0')}`);
        const replies = await Promise.all(
          [0, 1, 2, 3].map((c) =>
            api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'ins', dataItems: (c % 2 ? [...ids].reverse() : ids).map((id) => ({ data: { _id: id, by: c } })) }),
          ),
        );
        const winners = new Map<string, number>();
        for (const res of replies) {
          assert.equal(res.status, 200, JSON.stringify(res.body));
          for (const x of res.body.results) {
            if (x.itemMetadata.success) winners.set(x.itemMetadata.id, (winners.get(x.itemMetadata.id) ?? 0) + 1);
            else assert.equal(x.itemMetadata.error.code, 'WDE0074', JSON.stringify(x));
          }
        }
        assert.equal(winners.size, ids.length);
        assert.ok([...winners.values()].every((n) => n === 1));
      }
    });

    test('concurrent saves of the same new ids: one INSERT per id, the rest UPDATE, one row each', async () => {
      await collection('saves');
      const ids = ['s1', 's2', 's3'];
      const actions: string[][] = ids.map(() => []);
      await Promise.all(
        Array.from({ length: CLIENTS }, async (_, c) => {
          for (let r = 0; r < 5; r++) {
            const res = await api('POST', `${DATA}/bulk/items/save`, {
              dataCollectionId: 'saves',
              dataItems: ids.map((id) => ({ data: { _id: id, by: c, round: r } })),
            });
            assert.equal(res.status, 200, JSON.stringify(res.body));
            res.body.results.forEach((x: Obj, i: number) => {
              assert.equal(x.itemMetadata.success, true, JSON.stringify(x));
              actions[i]!.push(x.action);
            });
          }
        }),
      );
      for (const [i, id] of ids.entries()) {
        assert.equal(actions[i]!.filter((a) => a === 'INSERT').length, 1, `${id}: exactly one INSERT`);
        assert.equal(actions[i]!.filter((a) => a === 'UPDATE').length, CLIENTS * 5 - 1);
        const row = await s.store.db.get<Obj>(sql`SELECT data, created_date FROM items WHERE collection_id = 'saves' AND id = ${id}`);
        const data = typeof row!.data === 'string' ? JSON.parse(row!.data) : row!.data;
        assert.deepEqual(data._createdDate, { $date: row!.created_date }, `${id}: _createdDate matches the column`);
      }
      const count = await api('POST', `${DATA}/items/count`, { dataCollectionId: 'saves', filter: {} });
      assert.deepEqual(count.body, { totalCount: ids.length });
    });

    test('saves racing inserts of the same new ids: exactly one call per id creates it', async () => {
      await collection('racing');
      for (let round = 0; round < 10; round++) {
        const ids = Array.from({ length: 50 }, (_, i) => `r${round}-${i}`);
        const replies = await Promise.all(
          Array.from({ length: 6 }, (_, c) =>
            api('POST', `${DATA}/bulk/items/${c % 2 ? 'save' : 'insert'}`, {
              dataCollectionId: 'racing',
              dataItems: (c % 3 ? [...ids].reverse() : ids).map((id) => ({ data: { _id: id, by: c } })),
            }),
          ),
        );
        const creators = new Map<string, number>();
        for (const r of replies) {
          assert.equal(r.status, 200, JSON.stringify(r.body));
          for (const x of r.body.results) {
            if (x.itemMetadata.success && x.action === 'INSERT') creators.set(x.itemMetadata.id, (creators.get(x.itemMetadata.id) ?? 0) + 1);
          }
        }
        for (const id of ids) assert.equal(creators.get(id), 1, `${id}: created by exactly one call`);
      }
    });

    test('concurrent inserts of the same id: exactly one succeeds, the others fail WDE0074', async () => {
      await collection('inserts');
      const outcomes = await Promise.all(
        Array.from({ length: CLIENTS }, (_, c) =>
          api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: 'inserts', dataItems: [{ data: { _id: 'only', by: c } }] }),
        ),
      );
      const results = outcomes.map((o) => o.body.results[0].itemMetadata);
      assert.equal(results.filter((m) => m.success).length, 1);
      assert.deepEqual(
        [...new Set(results.filter((m) => !m.success).map((m) => m.error.code))],
        ['WDE0074'],
      );
    });
  });
}
