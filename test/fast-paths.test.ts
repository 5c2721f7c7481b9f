/**
 * The set-based SQL forms (BulkPatch's one-UPDATE fast path, EDIT_FIELD_DATA's append) against
 * the exact JS path on the same items: the stored items, the per-item results and the task
 * counters must be the same. A unique index on an unrelated field sends a collection down the JS
 * path (the writer keeps per-item clash reporting there), so two collections with the same items,
 * one with such an index, run the two implementations side by side.
 */
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, call, type TestServer } from './helpers/server.js';

const DATA = '/wix-data/v2';

/** Items that exercise every guard: arrays, nulls, missing fields, scalars, nesting, dates. */
function sampleItems() {
  const base: Record<string, unknown>[] = [
    { tags: ['a', 'b'], n: 1, obj: { inner: 2 } },
    { tags: [], n: -5, obj: {} },
    { tags: null, n: null, obj: null },
    { n: 2.5, obj: { inner: 'str' } },
    { tags: 'scalar', n: 'text', obj: 'scalar' },
    { tags: [{ x: 1 }, [1, 2]], n: 9007199254740000, obj: { $date: '2024-01-01T00:00:00.000Z' } },
    { tags: ['ü', 'é'], n: 0, obj: { inner: [1] } },
    { tags: [1, 1, 1], n: 3, obj: { inner: null } },
    { big: 'x'.repeat(510 * 1024), tags: [] },
  ];
  return base.map((data, i) => ({ _id: `i${String(i).padStart(2, '0')}`, u: `u${i}`, ...data }));
}

for (const storeName of STORE_NAMES) {
  describe(`set-based paths agree with the JS path (${storeName})`, () => {
    let s: TestServer;
    const api = (method: string, path: string, body?: unknown) => call(s.url, method, path, body);
    before(async () => {
      s = await startServer(storeName);
    });
    after(() => s.close());

    /** Two collections with the same items; `<name>_js` has a unique index, so the JS path. */
    async function pair(name: string) {
      for (const id of [name, `${name}_js`]) {
        assert.equal((await api('POST', `${DATA}/collections`, { collection: { id } })).status, 200);
        const r = await api('POST', `${DATA}/bulk/items/insert`, { dataCollectionId: id, dataItems: sampleItems().map((d) => ({ data: d })) });
        assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
      }
      const ix = await api('POST', `${DATA}/indexes`, { dataCollectionId: `${name}_js`, index: { name: 'u_unique', fields: [{ path: 'u', order: 'ASC' }], unique: true } });
      assert.equal(ix.status, 200, JSON.stringify(ix.body));
    }

    async function items(id: string) {
      const r = await api('POST', `${DATA}/items/query`, { dataCollectionId: id, query: { sort: [{ fieldName: '_id', order: 'ASC' }] } });
      assert.equal(r.status, 200);
      return r.body.dataItems.map((i: any) => {
        const { _updatedDate, _createdDate, ...rest } = i.data;
        return rest;
      });
    }

    const shapes: [string, unknown[]][] = [
      ['set+increment', [
        { fieldPath: 'title', action: 'SET_FIELD', setFieldOptions: { value: { deep: ['v', 1] } } },
        { fieldPath: 'n', action: 'INCREMENT_FIELD', incrementFieldOptions: { value: 3 } },
      ]],
      ['nested set+remove', [
        { fieldPath: 'obj.inner', action: 'SET_FIELD', setFieldOptions: { value: 'x' } },
        { fieldPath: 'u2', action: 'REMOVE_FIELD' },
      ]],
      ['append', [{ fieldPath: 'tags', action: 'APPEND_TO_ARRAY', appendToArrayOptions: { value: { $date: '2025-05-05T05:05:05.000Z' } } }]],
      ['big set', [{ fieldPath: 'grow', action: 'SET_FIELD', setFieldOptions: { value: 'y'.repeat(3 * 1024) } }]],
    ];

    for (const [label, mods] of shapes) {
      test(`BulkPatch ${label}: same results and items`, async () => {
        const name = `p_${label.replace(/\W/g, '_')}`;
        await pair(name);
        const results: unknown[] = [];
        for (const id of [name, `${name}_js`]) {
          const r = await api('POST', `${DATA}/bulk/items/patch`, {
            dataCollectionId: id,
            returnEntity: true,
            patches: sampleItems().map((i) => ({ dataItemId: i._id, fieldModifications: mods })),
          });
          assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
          results.push(
            r.body.results.map((x: any) => ({
              ...x.itemMetadata,
              error: x.itemMetadata.error?.code,
              data: x.dataItem ? { ...x.dataItem.data, _updatedDate: undefined, _createdDate: undefined } : undefined,
            })),
          );
        }
        assert.deepEqual(results[0], results[1]);
        assert.deepEqual(await items(name), await items(`${name}_js`));
      });
    }

    test('EDIT_FIELD_DATA addItems: same items, counters and failures', async () => {
      await pair('edit');
      const outcomes: unknown[] = [];
      for (const id of ['edit', 'edit_js']) {
        for (const fieldKey of ['tags', 'obj.inner']) {
          const created = await api('POST', '/cms/v1/tasks', {
            task: { type: 'EDIT_FIELD_DATA', editFieldDataOptions: { dataCollectionId: id, fieldKey, operations: { addItems: ['new', { k: 1 }, 'x'.repeat(4096)] } } },
          });
          assert.equal(created.status, 200, JSON.stringify(created.body));
          await s.cairn.runner!.whenIdle();
          const done = (await api('GET', `/cms/v1/tasks/${created.body.task.id}`)).body.task;
          assert.equal(done.status, 'COMPLETED');
          outcomes.push([done.itemsSucceeded, done.itemsFailed, done.failures.map((f: any) => [f.code, f.data.itemId])]);
        }
      }
      assert.deepEqual(outcomes.slice(0, 2), outcomes.slice(2));
      // The scalar tags, the item whose growth would pass 512 KB, and the non-object parents fail.
      assert.ok((outcomes[0] as number[])[1]! >= 2);
      assert.deepEqual(await items('edit'), await items('edit_js'));
    });
  });
}
