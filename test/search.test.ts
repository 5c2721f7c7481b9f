/**
 * Search (`POST /items/search`, src/items/search.ts): through the published client's `search()`
 * builder (expression, modes, fuzzy, filters, sort, limit, next()), over raw HTTP (the reply,
 * default page size, cursors, both prefixes, bad input), and as a differential property test:
 * random items and expressions made of their own words, each store's answer against the JS
 * evaluator's (src/query/evaluate.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { STORE_NAMES } from './helpers/stores.js';
import { call, startServer, type TestServer } from './helpers/server.js';
import { createCollection, insertItems, readAllData } from './helpers/store-items.js';
import { itemsArb } from './helpers/query-arbitraries.js';
import { searchFilter } from '../src/items/search.js';
import { evaluate } from '../src/query/evaluate.js';
import type { JsonObject, JsonValue } from '../src/wire/json.js';

const DATA = '/wix-data/v2';
/** SEARCH_DIFF_SCALE=10 runs ten times as many cases (for a long local hunt; CI runs 1). */
const SCALE = Math.max(1, Number(process.env.SEARCH_DIFF_SCALE ?? 1) || 1);

/** Every string in the item but its system fields, for picking search terms the items hold. */
function words(item: JsonObject): string[] {
  const out: string[] = [];
  const walk = (v: JsonValue | undefined): void => {
    if (typeof v === 'string') out.push(...v.split(/\s+/u).filter(Boolean));
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
  };
  for (const [k, v] of Object.entries(item)) if (!['_id', '_owner', '_createdDate', '_updatedDate'].includes(k)) walk(v);
  return out;
}

for (const storeName of STORE_NAMES) {
  describe(`search (${storeName})`, () => {
    let s: TestServer;
    let items: any;
    before(async () => {
      s = await startServer(storeName);
      items = s.client.items;
    });
    after(() => s.close());

    const api = (method: string, path: string, body?: unknown) => call(s.url, method, path, body);
    const code = (r: { body: any }) => r.body?.details?.applicationError?.code;
    const BOOKS = [
      { _id: 'b1', title: 'The Old Man and the Sea', author: { name: 'Ernest Hemingway' }, tags: ['classic', 'sea'], year: 1952 },
      { _id: 'b2', title: 'Moby-Dick', author: { name: 'Herman Melville' }, tags: ['Sea', 'whale'], year: 1851 },
      { _id: 'b3', title: 'Old Path White Clouds', author: { name: 'Thich Nhat Hanh' }, tags: ['buddhism'], year: 1987 },
      { _id: 'b4', title: 'ÉTUDES', author: { name: 'Anon' }, notes: [{ text: 'Κόσμος and more' }], year: 2001 },
      { _id: 'b5', title: 'Numbers only', year: 1851 },
    ];

    test('the published client: expression, OR and AND modes, fuzzy, with filters, sort, limit and next()', async () => {
      await createCollection(s, 'books');
      await items.bulkInsert('books', BOOKS);
      const ids = (r: any) => r.items.map((i: any) => i._id);
      assert.deepEqual(ids(await items.search('books').expression('sea').ascending('_id').run()), ['b1', 'b2']);
      assert.deepEqual(ids(await items.search('books').expression('old whale').ascending('_id').run()), ['b1', 'b2', 'b3'], 'OR by default');
      assert.deepEqual(ids(await items.search('books').expression('old whale').orMode().ascending('_id').run()), ['b1', 'b2', 'b3']);
      assert.deepEqual(ids(await items.search('books').expression('old sea').andMode().ascending('_id').run()), ['b1']);
      assert.deepEqual(ids(await items.search('books').expression('MELVILLE').fuzzy().run()), ['b2'], 'nested fields, any case; fuzzy changes nothing');
      assert.deepEqual(ids(await items.search('books').expression('études κόσμος').andMode().run()), ['b4'], 'arrays of objects, non-ASCII case folding');
      assert.deepEqual(ids(await items.search('books').expression('sea').gt('year', 1900).run()), ['b1'], 'with a filter');
      assert.deepEqual(ids(await items.search('books').expression('1851').run()), [], 'numbers are not text');
      assert.deepEqual(ids(await items.search('books').expression('b1').run()), [], 'system fields are not searched');
      assert.deepEqual(ids(await items.search('books').descending('year').expression('old sea whale').run()), ['b3', 'b1', 'b2']);
      const first = await items.search('books').expression('a').ascending('_id').limit(2).run();
      assert.deepEqual(ids(first), ['b1', 'b2']);
      assert.equal(first.hasNext(), true);
      const second = await first.next();
      assert.deepEqual(ids(second), ['b3', 'b4']);
      assert.deepEqual(ids(await items.search('books').ascending('_id').run()), ['b1', 'b2', 'b3', 'b4', 'b5'], 'no expression: every item');
    });

    test('raw HTTP: the reply, the default page of 100, cursor pages that keep the expression, both prefixes', async () => {
      await createCollection(s, 'many');
      await insertItems(s, 'many', Array.from({ length: 130 }, (_, i) => ({ _id: `i${String(i).padStart(3, '0')}`, text: i % 2 ? 'odd one' : 'even one' })));
      const r = await api('POST', `${DATA}/items/search`, { dataCollectionId: 'many', search: { search: { expression: 'ONE' }, sort: [{ fieldName: '_id', order: 'ASC' }] } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(Object.keys(r.body), ['dataItems', 'pagingMetadata']);
      assert.equal(r.body.dataItems.length, 100);
      assert.deepEqual(Object.keys(r.body.dataItems[0]), ['id', 'dataCollectionId', 'data']);
      assert.deepEqual(r.body.pagingMetadata, { count: 100, offset: 0, hasNext: true, cursors: {} });
      const seen: string[] = [];
      let body = (await api('POST', '/_api/cloud-data/v2/items/search', { dataCollectionId: 'many', search: { search: { expression: 'odd' }, cursorPaging: { limit: 20 } } })).body;
      for (;;) {
        seen.push(...body.dataItems.map((i: any) => i.id));
        if (!body.pagingMetadata.hasNext) break;
        body = (await api('POST', `${DATA}/items/search`, { dataCollectionId: 'many', search: { cursorPaging: { cursor: body.pagingMetadata.cursors.next } } })).body;
      }
      assert.equal(seen.length, 65);
      assert.ok(seen.every((id) => Number(id.slice(1)) % 2 === 1));
      const projected = await api('POST', `${DATA}/items/search`, { dataCollectionId: 'many', search: { search: { expression: 'even', mode: 'AND' }, fields: ['_id'], paging: { limit: 1 } }, returnTotalCount: true });
      assert.deepEqual(projected.body.dataItems[0].data, { _id: 'i000' });
      assert.equal(projected.body.pagingMetadata.total, 65);
    });

    test('bad input: a clear 4xx in the error envelope', async () => {
      await createCollection(s, 'bad');
      const cases: [unknown, number, string][] = [
        [{ dataCollectionId: 'bad', search: { search: { expression: 'x'.repeat(101) } } }, 400, 'WDE0080'],
        [{ dataCollectionId: 'bad', search: { search: { expression: 7 } } }, 400, 'WDE0080'],
        [{ dataCollectionId: 'bad', search: { search: { expression: 'a', mode: 'XOR' } } }, 400, 'WDE0075'],
        [{ dataCollectionId: 'bad', search: { search: 'a' } }, 400, 'WDE0080'],
        [{ dataCollectionId: 'bad', search: { filter: { a: { $regex: 'x' } } } }, 400, 'WDE0070'],
        [{ dataCollectionId: 'bad', search: { paging: { limit: 1001 } } }, 400, 'WDE0036'],
        [{ dataCollectionId: 'bad', search: { cursorPaging: { cursor: 'nope' } } }, 400, 'WDE0165'],
        [{ dataCollectionId: 'nothing', search: {} }, 404, 'WDE0025'],
      ];
      for (const [body, status, wixCode] of cases) {
        const r = await api('POST', `${DATA}/items/search`, body);
        assert.deepEqual([r.status, code(r)], [status, wixCode], `${JSON.stringify(body).slice(0, 120)}: ${JSON.stringify(r.body)}`);
      }
      // A query cursor is not a search cursor.
      await s.client.items.insert('bad', { a: 1 });
      await s.client.items.insert('bad', { a: 2 });
      const q = await api('POST', `${DATA}/items/query`, { dataCollectionId: 'bad', query: { cursorPaging: { limit: 1 } } });
      const wrong = await api('POST', `${DATA}/items/search`, { dataCollectionId: 'bad', search: { cursorPaging: { cursor: q.body.pagingMetadata.cursors.next } } });
      assert.deepEqual([wrong.status, code(wrong)], [400, 'WDE0165']);
    });

    test('differential: the store finds what the evaluator finds', async () => {
      let round = 0;
      await fc.assert(
        fc.asyncProperty(itemsArb(1, 25), fc.nat(), fc.nat(), fc.constantFrom('OR', 'AND'), fc.boolean(), async (data, pick1, pick2, mode, upper) => {
          const c = `sdiff${round++}`;
          await createCollection(s, c);
          await insertItems(s, c, data);
          const all = await readAllData(s, c);
          const pool = all.flatMap(words);
          const term = (n: number) => {
            const w = pool.length ? (pool[n % pool.length] as string) : 'zz';
            // A part of a word, in another case: search is by substring, ignoring case.
            const part = [...w].slice(n % 3, (n % 3) + 1 + (n % 4)).join('') || w;
            return upper ? part.toUpperCase() : part;
          };
          const expression = `${term(pick1)} ${term(pick2)}`;
          const node = searchFilter({ search: { expression, mode } });
          const expected = all.filter((it) => evaluate(node, it)).map((it) => it._id as string).sort();
          const r = await api('POST', `${DATA}/items/search`, { dataCollectionId: c, search: { search: { expression, mode }, paging: { limit: 1000 } } });
          assert.equal(r.status, 200, JSON.stringify(r.body));
          const got = r.body.dataItems.map((i: any) => i.id as string).sort();
          assert.deepEqual(got, expected, `expression ${JSON.stringify(expression)} ${mode}`);
        }),
        { numRuns: 150 * SCALE },
      );
    });
  });
}
