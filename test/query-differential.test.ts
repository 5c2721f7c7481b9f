/**
 * Differential property tests of the query compiler: random items and random filters (every
 * operator of the Wix filter language), run by each store's SQL and by the JS evaluator
 * (src/query/evaluate.ts, the reference semantics of docs/query-language.md). The ids the store
 * returns, in order, must be exactly the ids the evaluator selects, sorted by the evaluator's
 * comparator (compareItems: the sort specs, then `_id`).
 *
 * The items the evaluator sees are the stored ones as read back (dates normalised, system fields
 * filled in), so the test holds the compiler to the evaluator, not to the writer.
 */
import { ADMIN_CONTEXT } from '../src/items/service.js';
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, call, type TestServer } from './helpers/server.js';
import { parseFilter, parseSort } from '../src/query/parse.js';
import { compareItems, evaluate } from '../src/query/evaluate.js';
import type { SortSpec } from '../src/query/ast.js';
import type { JsonObject, JsonValue } from '../src/wire/json.js';
import { filterArb, itemsArb, sortArb } from './helpers/query-arbitraries.js';

const DATA = '/wix-data/v2';

const DEFAULT_SORT: SortSpec[] = [{ field: { segments: ['_createdDate'] }, order: 'DESC' }];

// ---------------------------------------------------------------------------------------------

/** QUERY_DIFF_SCALE=10 runs ten times as many cases (for a long local hunt; CI runs 1). */
const SCALE = Math.max(1, Number(process.env.QUERY_DIFF_SCALE ?? 1) || 1);
const RUNS = { filters: 2000 * SCALE, sets: 300 * SCALE, pages: 300 * SCALE };

for (const storeName of STORE_NAMES) {
  describe(`query compiler agrees with the JS evaluator (${storeName})`, () => {
    let s: TestServer;
    before(async () => {
      s = await startServer(storeName, { runner: false });
    });
    after(() => s.close());

    const createCollection = async (id: string) => {
      const r = await call(s.url, 'POST', `${DATA}/collections`, { collection: { id } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    };
    const insert = async (c: string, items: JsonObject[]) => {
      for (let i = 0; i < items.length; i += 1000) {
        const r = await s.cairn.items.bulkInsert({ dataCollectionId: c, dataItems: items.slice(i, i + 1000).map((data) => ({ data })) }, { ...ADMIN_CONTEXT, ownerId: 'owner-ctx' });
        assert.equal(r.bulkActionMetadata.totalFailures, 0, JSON.stringify(r.results.filter((x) => !x.itemMetadata.success)));
      }
    };
    /** Every stored item as the store gives it back: what the evaluator runs on. */
    const readAll = async (c: string): Promise<JsonObject[]> => {
      const r = await s.cairn.items.query({ dataCollectionId: c, query: { paging: { limit: 1000 } } }, ADMIN_CONTEXT);
      return r.dataItems.map((it) => {
        const { _publishStatus, ...data } = it.data;
        return data as JsonObject;
      });
    };
    /** The read-back items are the generated ones (so the oracle sees the data meant). */
    const sameAsInserted = (all: readonly JsonObject[], items: readonly JsonObject[]) => {
      const byId = new Map(all.map((it) => [String(it._id), it]));
      assert.equal(byId.size, items.length);
      for (const item of items) {
        const { _createdDate, _updatedDate, _owner, ...back } = byId.get(String(item._id)) ?? {};
        const { _owner: sentOwner, ...sent } = item;
        assert.deepEqual(back, JSON.parse(JSON.stringify(sent))); // fast-check's records have no prototype
        assert.equal(_owner, sentOwner ?? 'owner-ctx');
      }
    };
    const expectedIds = (all: readonly JsonObject[], filter: unknown, sort: unknown): string[] => {
      const node = parseFilter(filter);
      const specs = parseSort(sort);
      return all
        .filter((it) => evaluate(node, it))
        .sort((a, b) => compareItems(specs.length ? specs : DEFAULT_SORT, a, b))
        .map((it) => String(it._id));
    };
    const check = async (c: string, all: readonly JsonObject[], filter: unknown, sort: unknown) => {
      const expected = expectedIds(all, filter, sort);
      const query: JsonObject = { filter: filter as JsonValue, paging: { limit: 1000 } };
      if (sort !== undefined) query.sort = sort as JsonValue;
      const r = await s.cairn.items.query({ dataCollectionId: c, query }, ADMIN_CONTEXT);
      const got = r.dataItems.map((it) => it.id);
      assert.deepEqual(got, expected, `filter ${JSON.stringify(filter)} sort ${JSON.stringify(sort)}`);
      return expected.length;
    };

    test('documented edge semantics, pinned by examples: case folding and dates at the edges of 0..9999', async () => {
      await createCollection('edges');
      await insert('edges', [
        { _id: 'c1', s: 'İstanbul' },
        { _id: 'c2', s: 'ISTANBUL' },
        { _id: 'c3', s: 'ΟΔΟΣ' },
        { _id: 'c4', s: 'Straße' },
        { _id: 'c5', s: 'ÄPFEL' },
        { _id: 'Ölfass', s: 'barrel' },
        { _id: 'c7', s: 'ǅemal' },
        { _id: 'c8', s: 'x😀Y' },
        { _id: 'u1', t: 'Hello World' },
        { _id: 'u2', t: 'hello-world' },
        { _id: 'u3', t: ['say', 'HELLO\tWORLD'] },
        { _id: 'u4', t: 'Hello  World' },
        { _id: 'u5', t: 'Hello World!' },
        { _id: 'u6', t: 'a.b*c' },
        { _id: 'd2', d: { $date: '0000-01-01T00:00:00.000Z' } },
        { _id: 'd3', d: { $date: '0001-01-01T00:00:00.000Z' } },
        { _id: 'd4', d: { $date: '9999-12-31T23:59:59.999Z' } },
      ]);
      // Years outside 0..9999 are refused: their ISO strings (six digits and a sign) would not
      // compare chronologically as text.
      for (const $date of ['-000001-06-15T00:00:00.000Z', '+010000-01-01T00:00:00.000Z']) {
        await assert.rejects(insert('edges', [{ _id: 'out', d: { $date } }]), (e: unknown) => (e as { code?: string }).code === 'WDE0075');
        await assert.rejects(
          s.cairn.items.query({ dataCollectionId: 'edges', query: { filter: { d: { $lt: { $date } } } } }, ADMIN_CONTEXT),
          (e: unknown) => (e as { code?: string }).code === 'WDE0058',
        );
      }
      const all = await readAll('edges');
      const cases: [unknown, unknown, string[]][] = [
        // Simple case mapping, one code point at a time: İ -> i, Σ -> σ (never final ς).
        [{ s: { $startsWith: 'i' } }, undefined, ['c1', 'c2']],
        [{ s: { $startsWith: 'İST' } }, undefined, ['c1', 'c2']],
        [{ s: { $contains: 'i̇' } }, undefined, []],
        [{ s: { $endsWith: 'σ' } }, undefined, ['c3']],
        [{ s: { $endsWith: 'ς' } }, undefined, []],
        [{ s: { $contains: 'ΔΟΣ' } }, undefined, ['c3']],
        // No full folding: ß is not ss.
        [{ s: { $contains: 'ss' } }, undefined, []],
        [{ s: { $contains: 'SSE' } }, undefined, []],
        [{ s: { $contains: 'ẞ' } }, undefined, ['c4']],
        [{ s: { $startsWith: 'äp' } }, undefined, ['c5']],
        [{ s: { $startsWith: 'Ǆ' } }, undefined, ['c7']],
        [{ s: { $endsWith: '😀y' } }, undefined, ['c8']],
        // System columns fold like JSON strings (PostgreSQL keeps them COLLATE "C").
        [{ _id: { $startsWith: 'öl' } }, undefined, ['Ölfass']],
        [{ _id: { $contains: 'FASS' } }, undefined, ['Ölfass']],
        [{ _id: { $endsWith: 'L' } }, undefined, []],
        // $matches and $urlized match the whole string (or an array element), part by part.
        [{ t: { $urlized: 'hello-world' } }, undefined, ['u1', 'u2', 'u3']],
        [{ t: { $urlized: ['HELLO', 'world'] } }, undefined, ['u1', 'u2', 'u3']],
        [{ t: { $urlized: 'hello--world' } }, undefined, ['u4']],
        [{ t: { $matches: { spec: [{ type: 'literal', value: 'Hello' }, { type: 'anyOf', value: ' -' }, { type: 'literal', value: 'World' }] } } }, undefined, ['u1']],
        [{ t: { $matches: { ignoreCase: true, spec: [{ type: 'literal', value: 'hello' }, { type: 'anyOf', value: ' ' }, { type: 'literal', value: 'WORLD' }] } } }, undefined, ['u1']],
        [{ t: { $matches: { spec: [{ type: 'literal', value: 'a.b*c' }] } } }, undefined, ['u6']],
        [{ t: { $matches: { spec: [{ type: 'literal', value: 'a' }, { type: 'anyOf', value: '.' }, { type: 'literal', value: 'b' }, { type: 'anyOf', value: '*?' }, { type: 'literal', value: 'c' }] } } }, undefined, ['u6']],
        [{ s: { $matches: { ignoreCase: true, spec: [{ type: 'literal', value: 'x' }, { type: 'anyOf', value: '😀' }, { type: 'literal', value: 'y' }] } } }, undefined, ['c8']],
        [{ s: { $matches: { ignoreCase: true, spec: [{ type: 'literal', value: 'İSTANBUL' }] } } }, undefined, ['c1', 'c2']],
        [{ _id: { $matches: { ignoreCase: true, spec: [{ type: 'anyOf', value: 'ÖX' }, { type: 'literal', value: 'LFASS' }] } } }, undefined, ['Ölfass']],
        [{ _id: { $urlized: 'ölfass' } }, undefined, ['Ölfass']],
        [{ d: { $urlized: 'x' } }, undefined, []],
        // Dates compare and sort by their ISO strings, chronological for the years 0..9999.
        [{ d: { $exists: true } }, [{ fieldName: 'd' }], ['d2', 'd3', 'd4']],
        [{ d: { $gt: { $date: '9999-01-01T00:00:00.000Z' } } }, undefined, ['d4']],
        [{ d: { $lt: { $date: '0000-06-01T00:00:00.000Z' } } }, [{ fieldName: 'd', order: 'DESC' }], ['d2']],
        [{ d: { $gte: { $date: '0001-01-01T00:00:00Z' }, $lte: { $date: '9999-12-31T23:59:59.999Z' } } }, undefined, ['d3', 'd4']],
      ];
      for (const [filter, sort, want] of cases) {
        assert.deepEqual(expectedIds(all, filter, sort ?? [{ fieldName: '_id' }]), want, `evaluator: ${JSON.stringify(filter)}`);
        const r = await s.cairn.items.query({ dataCollectionId: 'edges', query: { filter: filter as JsonValue, sort: (sort ?? [{ fieldName: '_id' }]) as JsonValue } }, ADMIN_CONTEXT);
        assert.deepEqual(
          r.dataItems.map((i) => i.id),
          want,
          `${storeName}: ${JSON.stringify(filter)}`,
        );
      }
    });

    test(`${RUNS.filters} random filters and sorts against 200 random items`, async () => {
      await createCollection('big');
      const [items] = fc.sample(itemsArb(200, 200), { numRuns: 1, seed: 42 });
      await insert('big', items as JsonObject[]);
      const all = await readAll('big');
      sameAsInserted(all, items as JsonObject[]);
      let nonTrivial = 0;
      await fc.assert(
        fc.asyncProperty(filterArb, fc.option(sortArb, { nil: undefined }), async (filter, sort) => {
          const n = await check('big', all, filter, sort);
          if (n > 0 && n < all.length) nonTrivial++;
        }),
        { numRuns: RUNS.filters, includeErrorInReport: true },
      );
      // The generators must produce filters that actually discriminate between items.
      assert.ok(nonTrivial > RUNS.filters / 4, `only ${nonTrivial} filters selected some but not all items`);
    });

    test(`${RUNS.pages} random filters and sorts paged by cursor (keyset) against 200 random items`, async () => {
      await createCollection('paged');
      const [items] = fc.sample(itemsArb(200, 200), { numRuns: 1, seed: 42 });
      await insert('paged', items as JsonObject[]);
      const all = await readAll('paged');
      await fc.assert(
        fc.asyncProperty(filterArb, fc.option(sortArb, { nil: undefined }), fc.integer({ min: 1, max: 40 }), async (filter, sort, limit) => {
          const expected = expectedIds(all, filter, sort);
          const query: JsonObject = { filter: filter as JsonValue, cursorPaging: { limit } };
          if (sort !== undefined) query.sort = sort as JsonValue;
          const got: string[] = [];
          let r = await s.cairn.items.query({ dataCollectionId: 'paged', query }, ADMIN_CONTEXT);
          for (;;) {
            got.push(...r.dataItems.map((it) => it.id));
            const next = r.pagingMetadata.cursors.next;
            assert.equal(next !== undefined, r.pagingMetadata.hasNext);
            if (next === undefined) break;
            assert.ok(got.length <= expected.length, 'paging ran past the matching items');
            r = await s.cairn.items.query({ dataCollectionId: 'paged', query: { cursorPaging: { cursor: next } } }, ADMIN_CONTEXT);
          }
          assert.deepEqual(got, expected, `filter ${JSON.stringify(filter)} sort ${JSON.stringify(sort)} limit ${limit}`);
        }),
        { numRuns: RUNS.pages, includeErrorInReport: true },
      );
    });

    test(`${RUNS.sets} fresh small item sets with a few filters each`, async () => {
      await createCollection('fresh');
      await fc.assert(
        fc.asyncProperty(itemsArb(0, 8), fc.array(fc.tuple(filterArb, fc.option(sortArb, { nil: undefined })), { minLength: 1, maxLength: 4 }), async (items, cases) => {
          await s.cairn.items.truncate({ dataCollectionId: 'fresh' }, ADMIN_CONTEXT);
          if (items.length) await insert('fresh', items);
          const all = await readAll('fresh');
          sameAsInserted(all, items);
          for (const [filter, sort] of cases) await check('fresh', all, filter, sort);
        }),
        { numRuns: RUNS.sets, includeErrorInReport: true },
      );
    });
  });
}
