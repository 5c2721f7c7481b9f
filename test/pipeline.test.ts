/**
 * The aggregation pipeline (`POST /items/aggregate-pipeline`, src/query/pipeline/): through the
 * published client (`PipelineBuilder`, `stages`, `expressions`; `items.aggregate(id, pipeline)`
 * and `items.aggregatePipeline`), over raw HTTP (the reply, paging, cursors, both prefixes, bad
 * input), and as a differential property test: random items and random pipelines, each store's
 * answer against the JS evaluator's (src/query/pipeline/evaluate.ts).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { items as itemsModule } from '@wix/data';
import { STORE_NAMES } from './helpers/stores.js';
import { call, startServer, type TestServer } from './helpers/server.js';
import { createCollection, insertItems, readAllData } from './helpers/store-items.js';
import { filterArb, itemsArb, sortArb } from './helpers/query-arbitraries.js';
import { parseStages } from '../src/query/pipeline/parse.js';
import { runPipeline } from '../src/query/pipeline/evaluate.js';
import { canonicalise, type JsonObject, type JsonValue } from '../src/wire/json.js';

const DATA = '/wix-data/v2';
/** PIPELINE_DIFF_SCALE=10 runs ten times as many cases (for a long local hunt; CI runs 1). */
const SCALE = Math.max(1, Number(process.env.PIPELINE_DIFF_SCALE ?? 1) || 1);

const { pipelineBuilder, stages: S, expressions: E } = itemsModule as any;

/**
 * Equal JSON, numbers within a relative 1e-9: sums of doubles depend on the order they are
 * added in, which neither store promises, and PostgreSQL's remainder goes through decimal text.
 */
function near(a: JsonValue, b: JsonValue): boolean {
  if (typeof a === 'number' && typeof b === 'number') return a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b));
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => near(x, b[i] as JsonValue));
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const ka = Object.keys(a).sort();
    const kb = Object.keys(b).sort();
    return ka.length === kb.length && ka.every((k, i) => k === kb[i] && near(a[k] as JsonValue, b[k] as JsonValue));
  }
  return a === b;
}

// ---------------------------------------------------------------------------------------------
// Random pipelines over the fields of query-arbitraries' items.

const PATHS = ['a', 'b', 's', 'n', 'tags', 'd', 'obj', 'obj.x', 'obj.y', 'obj.deep', 'obj.deep.z', 'Größe', 'first-name', 'missing', '_id', '_owner', '_createdDate'];
const pathArb = fc.constantFrom(...PATHS);
const keyArb = fc.constantFrom('k1', 'k2', 'n', 's', 'out', 'obj', 'tags');
const exprArb: fc.Arbitrary<JsonObject> = fc.letrec<{ e: JsonObject }>((tie) => ({
  e: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    { weight: 6, arbitrary: pathArb.map((p) => ({ fieldPath: p })) },
    { weight: 2, arbitrary: fc.constantFrom('', 'x', 'Ab', 'Straße', 'ǅ').map((t) => ({ text: t })) },
    { weight: 2, arbitrary: fc.constantFrom(0, 1, -2, 2.5, 3, 1e21, 1.5e-7).map((n) => ({ numeric: n })) },
    fc.tuple(fc.constantFrom('add', 'sum', 'multiply', 'concat'), fc.array(tie('e'), { minLength: 1, maxLength: 3 })).map(([op, xs]) => ({ [op]: { expressions: xs } })),
    fc.tuple(fc.constantFrom('subtract', 'divide', 'mod'), tie('e'), tie('e')).map(([op, x, y]) => ({ [op]: { firstExpression: x, secondExpression: y } })),
    fc.tuple(fc.constantFrom('abs', 'floor', 'ceil', 'stringify', 'toLower', 'toUpper', 'length'), tie('e')).map(([op, x]) => ({ [op]: { expression: x } })),
    fc.tuple(tie('e'), fc.constantFrom(0, 1, 2, -1, 1.5), fc.constantFrom(0, 2, 10)).map(([x, st, len]) => ({ substring: { expression: x, startExpression: { numeric: st }, lengthExpression: { numeric: len } } })),
  ),
})).e;

const projectionFieldArb: fc.Arbitrary<JsonObject> = fc.oneof(
  pathArb.map((p) => ({ include: { fieldName: p } })),
  fc.tuple(fc.constantFrom('r1', 'r2', 'out.x', 'obj.new'), exprArb).map(([name, e]) => ({ reshape: { resultFieldName: name, expression: e } })),
);
const stageArb: fc.Arbitrary<JsonObject> = fc.oneof(
  { weight: 3, arbitrary: filterArb.map((f) => ({ filter: f })) },
  { weight: 2, arbitrary: sortArb.filter((s) => s.length > 0).map((values) => ({ sort: { values } })) },
  { weight: 2, arbitrary: fc.array(projectionFieldArb, { minLength: 1, maxLength: 4 }).map((fields) => ({ projection: { fields } })) },
  { weight: 1, arbitrary: fc.uniqueArray(pathArb.filter((p) => p !== '_id'), { minLength: 1, maxLength: 3 }).map((ps) => ({ projection: { fields: ps.map((p) => ({ exclude: { fieldName: p } })) } })) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.uniqueArray(fc.tuple(keyArb, exprArb), { maxLength: 2, selector: ([k]) => k }),
        fc.uniqueArray(fc.tuple(fc.constantFrom('c1', 'c2', 'c3', 'c4'), fc.constantFrom('sum', 'avg', 'min', 'max', 'first', 'last', 'push'), exprArb), { maxLength: 4, selector: ([k]) => k }),
      )
      .map(([ids, accs]) => ({
        group: {
          groupIds: ids.map(([key, expression]) => ({ key, expression })),
          accumulators: accs.map(([resultFieldName, op, expression]) => ({ [op]: { expression }, resultFieldName })),
        },
      })),
  },
  { weight: 2, arbitrary: fc.constantFrom('tags', 'b', 'obj.y', 's').map((p) => ({ unwindArray: { arrayFieldName: p } })) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('obj', 'obj.deep', 'b', 'd', 'missing'), fc.constantFrom('arr', 'obj.arr', 's.arr')).map(([from, to]) => ({ objectToArray: { objectFieldName: from, destinationFieldName: to } })) },
  { weight: 1, arbitrary: fc.nat(5).map((n) => ({ skip: n })) },
  { weight: 1, arbitrary: fc.nat(8).map((n) => ({ limit: n })) },
);
const pipelineArb = fc.array(stageArb, { minLength: 1, maxLength: 4 });

for (const storeName of STORE_NAMES) {
  describe(`aggregation pipeline (${storeName})`, () => {
    let s: TestServer;
    let items: any;
    before(async () => {
      s = await startServer(storeName);
      items = s.client.items;
    });
    after(() => s.close());

    const api = (method: string, path: string, body?: unknown) => call(s.url, method, path, body);
    const code = (r: { body: any }) => r.body?.details?.applicationError?.code;
    const SALES = [
      { _id: 's1', city: 'Oslo', amount: 10, qty: 1, tags: ['a', 'b'], stock: { red: 2, blue: 1 }, customer: { name: 'Ann', tier: 'gold' } },
      { _id: 's2', city: 'Oslo', amount: 30, qty: 3, tags: [], stock: {}, customer: { name: 'Bo' } },
      { _id: 's3', city: 'Rome', amount: 5.5, qty: 2, tags: ['b'], customer: { name: 'Cy', tier: 'gold' } },
      { _id: 's4', city: 'Rome', amount: 'n/a', qty: 4, tags: 'solo' },
      { _id: 's5', amount: 7, qty: 1 },
    ];

    test('the published client: PipelineBuilder with every stage, through aggregate() and aggregatePipeline()', async () => {
      await createCollection(s, 'sales');
      await items.bulkInsert('sales', SALES);
      const run = async (stages: unknown[], paging?: unknown) => {
        let b = pipelineBuilder().withStages(stages);
        if (paging) b = b.withPaging(paging);
        return (await items.aggregate('sales', b.build())).results;
      };
      // group by an expression, with count, sum, avg, min, max, push; sorted
      assert.deepEqual(
        await run([
          S.group().by(E.field('city'), 'city').count('n').sum(E.field('amount'), 'total').avg(E.field('qty'), 'avgQty').min(E.field('amount'), 'least').max(E.field('qty'), 'most').push(E.field('_id'), 'ids'),
          S.sort().descending('total').ascending('n'),
        ]),
        [
          { _id: { city: 'Oslo' }, n: 2, total: 40, avgQty: 2, least: 10, most: 3, ids: ['s1', 's2'] },
          { _id: { city: null }, n: 1, total: 7, avgQty: 1, least: 7, most: 1, ids: ['s5'] },
          { _id: { city: 'Rome' }, n: 2, total: 5.5, avgQty: 3, least: 5.5, most: 4, ids: ['s3', 's4'] },
        ],
      );
      // a single group (no by()); first and last follow the order of the stage before
      assert.deepEqual(await run([S.sort().ascending('_id'), S.group().first(E.field('_id'), 'first').last(E.field('_id'), 'last').count('all')]), [{ _id: null, first: 's1', last: 's5', all: 5 }]);
      // filter, project with include, reshape and nested, skip and limit
      assert.deepEqual(
        await run([
          S.filter().gt('qty', 1),
          S.sort().ascending('qty'),
          S.project()
            .include('city')
            .reshape(E.multiply(E.field('qty'), E.numeric(2)), 'double')
            .reshape(E.concat(E.toUpper(E.field('city')), E.text('-'), E.stringify(E.field('qty'))), 'label')
            .projectNested(S.project().include('name'), 'customer'),
          S.skip(1),
          S.limit(2),
        ]),
        [
          { _id: 's2', city: 'Oslo', double: 6, label: 'OSLO-3', customer: { name: 'Bo' } },
          { _id: 's4', city: 'Rome', double: 8, label: 'ROME-4' },
        ],
      );
      // exclude
      assert.deepEqual(await run([S.filter().eq('_id', 's3'), S.project().exclude('tags', 'customer.tier', '_createdDate', '_updatedDate', '_owner')]), [{ _id: 's3', city: 'Rome', amount: 5.5, qty: 2, customer: { name: 'Cy' } }]);
      // unwind: one result per element; an empty array or a missing field drops the item, a scalar stays
      assert.deepEqual(
        await run([S.unwind('tags'), S.sort().ascending('_id'), S.project().include('tags')]),
        [
          { _id: 's1', tags: 'a' },
          { _id: 's1', tags: 'b' },
          { _id: 's3', tags: 'b' },
          { _id: 's4', tags: 'solo' },
        ],
      );
      // objectToArray then unwind and group: stock per colour
      assert.deepEqual(
        await run([S.objectToArray('stock', 'pairs'), S.unwind('pairs'), S.group().by(E.field('pairs.k'), 'colour').sum(E.field('pairs.v'), 'units'), S.sort().ascending('units')]),
        [
          { _id: { colour: 'blue' }, units: 1 },
          { _id: { colour: 'red' }, units: 2 },
        ],
      );
      // substring, length, toLower, divide, mod, subtract, abs, floor, ceil
      assert.deepEqual(
        await run([
          S.filter().eq('_id', 's3'),
          S.project()
            .reshape(E.substring(E.field('city'), E.numeric(1), E.numeric(2)), 'sub')
            .reshape(E.length(E.field('city')), 'len')
            .reshape(E.toLower(E.field('city')), 'lower')
            .reshape(E.divide(E.field('amount'), E.numeric(2)), 'half')
            .reshape(E.mod(E.field('amount'), E.numeric(2)), 'rem')
            .reshape(E.subtract(E.field('qty'), E.numeric(5)), 'minus')
            .reshape(E.abs(E.subtract(E.field('qty'), E.numeric(5))), 'dist')
            .reshape(E.floor(E.field('amount')), 'fl')
            .reshape(E.ceil(E.field('amount')), 'ce')
            .reshape(E.divide(E.field('qty'), E.numeric(0)), 'byZero')
            .reshape(E.add(E.field('city'), E.numeric(1)), 'notANumber'),
        ]),
        [{ _id: 's3', sub: 'om', len: 4, lower: 'rome', half: 2.75, rem: 1.5, minus: -3, dist: 3, fl: 5, ce: 6, byZero: null, notANumber: null }],
      );
      // aggregatePipeline answers the REST reply; paging
      const reply = await items.aggregatePipeline('sales', pipelineBuilder().withStages([S.sort().ascending('_id'), S.project().include('_id')]).withPaging({ limit: 2, offset: 1 }).build());
      assert.deepEqual(reply.results, [{ _id: 's2' }, { _id: 's3' }]);
      assert.equal(reply.pagingMetadata.count, 2);
      assert.equal(reply.pagingMetadata.hasNext, true);
      // Dates come back as Dates through the client
      const [withDate] = await run([S.filter().eq('_id', 's1'), S.project().include('_createdDate')]);
      assert.ok(withDate._createdDate instanceof Date);
    });

    test('raw HTTP: the reply, paging by offset and by cursor, both prefixes', async () => {
      await createCollection(s, 'many');
      await insertItems(s, 'many', Array.from({ length: 120 }, (_, i) => ({ _id: `i${String(i).padStart(3, '0')}`, n: i, g: i % 3 })));
      const r = await api('POST', `${DATA}/items/aggregate-pipeline`, { dataCollectionId: 'many', pipeline: { stages: [{ sort: { values: [{ fieldName: 'n' }] } }, { projection: { fields: [{ include: { fieldName: 'n' } }] } }] }, returnTotalCount: true });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.deepEqual(Object.keys(r.body), ['results', 'pagingMetadata']);
      assert.equal(r.body.results.length, 50, 'a page of 50 by default');
      assert.deepEqual(r.body.results[0], { _id: 'i000', n: 0 });
      assert.deepEqual(r.body.pagingMetadata, { count: 50, offset: 0, total: 120, tooManyToCount: false, hasNext: true, cursors: {} });
      // No stages: the items as they are, newest first.
      const plain = await api('POST', '/_api/cloud-data/v2/items/aggregate-pipeline', { dataCollectionId: 'many', pipeline: { paging: { limit: 1 } } });
      assert.equal(plain.status, 200, JSON.stringify(plain.body));
      assert.deepEqual(Object.keys(plain.body.results[0]).sort(), ['_createdDate', '_id', '_owner', '_updatedDate', 'g', 'n']);
      // Cursor pages: the follow-up sends only the cursor, which carries the stages.
      const seen: number[] = [];
      let body = (await api('POST', `${DATA}/items/aggregate-pipeline`, { dataCollectionId: 'many', pipeline: { stages: [{ filter: { g: 1 } }, { sort: { values: [{ fieldName: 'n', order: 'DESC' }] } }], cursorPaging: { limit: 15 } } })).body;
      for (;;) {
        seen.push(...body.results.map((x: any) => x.n));
        if (!body.pagingMetadata.hasNext) break;
        body = (await api('POST', `${DATA}/items/aggregate-pipeline`, { dataCollectionId: 'many', pipeline: { cursorPaging: { cursor: body.pagingMetadata.cursors.next } } })).body;
      }
      assert.deepEqual(seen, Array.from({ length: 40 }, (_, i) => 118 - 3 * i));
      // A query cursor is not a pipeline cursor.
      const q = await api('POST', `${DATA}/items/query`, { dataCollectionId: 'many', query: { cursorPaging: { limit: 1 } } });
      const wrong = await api('POST', `${DATA}/items/aggregate-pipeline`, { dataCollectionId: 'many', pipeline: { cursorPaging: { cursor: q.body.pagingMetadata.cursors.next } } });
      assert.deepEqual([wrong.status, code(wrong)], [400, 'WDE0165']);
    });

    test('a collection with the Publish plugin: documents show _publishStatus; drafts only when asked', async () => {
      await createCollection(s, 'pub', { plugins: [{ type: 'PUBLISH', publishOptions: { defaultStatus: 'DRAFT' } }] });
      await insertItems(s, 'pub', [{ _id: 'a', n: 1 }, { _id: 'b', n: 2 }, { _id: 'c', n: 3 }]);
      const task = await api('POST', '/cms/v1/tasks', { task: { type: 'UPDATE_PUBLISH_STATUS', updatePublishStatusOptions: { dataCollectionId: 'pub', filter: { _id: 'c' }, operation: 'SET_PUBLISHED_STATUS' } } });
      assert.equal((await s.lib.waitForTask(task.body.task.id as string)).status, 'COMPLETED');
      const run = async (stages: unknown[], drafts: boolean) =>
        (await api('POST', `${DATA}/items/aggregate-pipeline`, { dataCollectionId: 'pub', pipeline: { stages }, ...(drafts ? { publishPluginOptions: { includeDraftItems: true } } : {}) })).body.results;
      const byStatus = [{ group: { groupIds: [{ key: 'status', expression: { fieldPath: '_publishStatus' } }], accumulators: [{ sum: { expression: { fieldPath: 'n' } }, resultFieldName: 'n' }] } }, { sort: { values: [{ fieldName: 'n' }] } }];
      assert.deepEqual(await run(byStatus, true), [{ _id: { status: 'DRAFT' }, n: 3 }, { _id: { status: 'PUBLISHED' }, n: 3 }]);
      assert.deepEqual(await run(byStatus, false), [{ _id: { status: 'PUBLISHED' }, n: 3 }]);
      assert.deepEqual(await run([{ filter: { _publishStatus: 'DRAFT' } }, { sort: { values: [{ fieldName: '_id' }] } }, { projection: { fields: [{ include: { fieldName: '_publishStatus' } }] } }], true), [
        { _id: 'a', _publishStatus: 'DRAFT' },
        { _id: 'b', _publishStatus: 'DRAFT' },
      ]);
    });

    test('bad input: a clear 4xx in the error envelope', async () => {
      await createCollection(s, 'bad');
      await insertItems(s, 'bad', [{ _id: 'x', big: 1e300 }]);
      const stages = (list: unknown[]) => ({ dataCollectionId: 'bad', pipeline: { stages: list } });
      const cases: [unknown, number, string][] = [
        [{ dataCollectionId: 'bad', pipeline: 'x' }, 400, 'WDE0080'],
        [stages([{}]), 400, 'WDE0080'],
        [stages([{ skip: 1, limit: 2 }]), 400, 'WDE0080'],
        [stages([{ skip: -1 }]), 400, 'WDE0034'],
        [stages([{ limit: 1.5 }]), 400, 'WDE0035'],
        [stages([{ filter: { a: { $regex: 'x' } } }]), 400, 'WDE0070'],
        [stages([{ filter: 'a' }]), 400, 'WDE0016'],
        [stages([{ sort: { values: [] } }]), 400, 'WDE0080'],
        [stages([{ sort: { values: [{ fieldName: 'a', order: 'UP' }] } }]), 400, 'WDE0067'],
        [stages([{ projection: { fields: [] } }]), 400, 'WDE0080'],
        [stages([{ projection: { fields: [{ include: { fieldName: 'a' } }, { exclude: { fieldName: 'b' } }] } }]), 400, 'WDE0080'],
        [stages([{ projection: { fields: [{ include: { fieldName: 'a' } }, { include: { fieldName: 'a.b' } }] } }]), 400, 'WDE0080'],
        [stages([{ projection: { fields: [{ include: { fieldName: "a'); DROP TABLE items; --" } }] } }]), 400, 'WDE0147'],
        [stages([{ projection: { fields: [{ reshape: { resultFieldName: 'r', expression: { fieldPath: 'a', text: 'b' } } }] } }]), 400, 'WDE0080'],
        [stages([{ projection: { fields: [{ reshape: { resultFieldName: 'r', expression: { numeric: 'NaN' } } }] } }]), 400, 'WDE0080'],
        [stages([{ projection: { fields: [{ reshape: { resultFieldName: 'r', expression: { add: { expressions: [] } } } }] } }]), 400, 'WDE0080'],
        [stages([{ projection: { fields: [{ reshape: { resultFieldName: 'r', expression: { fieldPath: '$where' } } }] } }]), 400, 'WDE0134'],
        [stages([{ group: { groupIds: [{ key: 'a.b', expression: { fieldPath: 'a' } }] } }]), 400, 'WDE0080'],
        [stages([{ group: { accumulators: [{ sum: { expression: { fieldPath: 'a' } }, resultFieldName: '_id' }] } }]), 400, 'WDE0080'],
        [stages([{ group: { accumulators: [{ median: { expression: { fieldPath: 'a' } }, resultFieldName: 'm' }] } }]), 400, 'WDE0080'],
        [stages([{ unwindArray: {} }]), 400, 'WDE0147'],
        [stages(Array.from({ length: 101 }, () => ({ limit: 1 }))), 400, 'WDE0080'],
        [stages([{ projection: { fields: [{ reshape: { resultFieldName: 'r', expression: { multiply: { expressions: [{ fieldPath: 'big' }, { fieldPath: 'big' }] } } } }] } }]), 400, 'WDE0080'],
        [{ dataCollectionId: 'bad', pipeline: { paging: { limit: 1001 } } }, 400, 'WDE0036'],
        [{ dataCollectionId: 'bad', pipeline: { cursorPaging: { cursor: 'nope' } } }, 400, 'WDE0165'],
        [{ dataCollectionId: 'nothing', pipeline: {} }, 404, 'WDE0025'],
      ];
      let depth: unknown = { fieldPath: 'a' };
      for (let i = 0; i < 40; i++) depth = { abs: { expression: depth } };
      cases.push([stages([{ projection: { fields: [{ reshape: { resultFieldName: 'r', expression: depth } }] } }]), 400, 'WDE0080']);
      for (const [body, status, wixCode] of cases) {
        const r = await api('POST', `${DATA}/items/aggregate-pipeline`, body);
        assert.deepEqual([r.status, code(r)], [status, wixCode], `${JSON.stringify(body).slice(0, 160)}: ${JSON.stringify(r.body)}`);
      }
    });

    test('differential: the store answers what the evaluator answers', async () => {
      let round = 0;
      await fc.assert(
        fc.asyncProperty(itemsArb(0, 12), pipelineArb, fc.nat(4), fc.integer({ min: 1, max: 4 }), async (data, rawStages, offset, limit) => {
          const c = `pdiff${round++}`;
          await createCollection(s, c);
          await insertItems(s, c, data);
          const all = await readAllData(s, c);
          let expected: JsonValue;
          try {
            expected = runPipeline(parseStages(rawStages), all).map((d) => canonicalise(d));
          } catch (e) {
            // Out-of-range arithmetic is the request's error on every store.
            const r = await api('POST', `${DATA}/items/aggregate-pipeline`, { dataCollectionId: c, pipeline: { stages: rawStages, paging: { limit: 1000 } } });
            assert.equal(r.status, 400, `${(e as Error).message}: ${JSON.stringify(r.body)}`);
            return;
          }
          const r = await api('POST', `${DATA}/items/aggregate-pipeline`, { dataCollectionId: c, pipeline: { stages: rawStages, paging: { limit: 1000 } } });
          assert.equal(r.status, 200, `${JSON.stringify(rawStages)}: ${JSON.stringify(r.body)}`);
          assert.ok(near(r.body.results, expected), `stages ${JSON.stringify(rawStages)}\n got ${JSON.stringify(r.body.results)}\nwant ${JSON.stringify(expected)}`);
          // A page of them (trailing projections run on the page only).
          const page = await api('POST', `${DATA}/items/aggregate-pipeline`, { dataCollectionId: c, pipeline: { stages: rawStages, paging: { limit, offset } } });
          assert.ok(near(page.body.results, (expected as JsonValue[]).slice(offset, offset + limit)), `page ${offset}+${limit} of ${JSON.stringify(rawStages)}: ${JSON.stringify(page.body)}`);
          // Every page by cursor, in order (the keyset of either paging path).
          const walked: JsonValue[] = [];
          let body = (await api('POST', `${DATA}/items/aggregate-pipeline`, { dataCollectionId: c, pipeline: { stages: rawStages, cursorPaging: { limit } } })).body;
          for (let pages = 1; ; pages++) {
            walked.push(...body.results);
            const next = body.pagingMetadata?.cursors?.next;
            if (!next) break;
            assert.ok(pages <= 20, `cursor paging of ${JSON.stringify(rawStages)} does not end`);
            body = (await api('POST', `${DATA}/items/aggregate-pipeline`, { dataCollectionId: c, pipeline: { cursorPaging: { limit, cursor: next } } })).body;
          }
          assert.ok(near(walked, expected), `cursor pages of ${limit} of ${JSON.stringify(rawStages)}: ${JSON.stringify(walked)}`);
        }),
        { numRuns: 120 * SCALE },
      );
    });
  });
}
