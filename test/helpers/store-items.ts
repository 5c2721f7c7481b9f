/**
 * Collection and item helpers over a test server, shared by the read endpoints' tests
 * (distinct values, aggregation): create a collection over HTTP, insert generated items through
 * the service (1000 per bulk call, every one must succeed), and read every stored item back as
 * the evaluator sees it.
 */
import assert from 'node:assert/strict';
import { ADMIN_CONTEXT } from '../../src/items/service.js';
import type { JsonObject } from '../../src/wire/json.js';
import { call, type TestServer } from './server.js';

/** The owner items inserted by `insertItems` get when they name none. */
export const INSERT_OWNER = 'owner-ctx';

export async function createCollection(s: TestServer, id: string, extra: Record<string, unknown> = {}): Promise<void> {
  const r = await call(s.url, 'POST', '/wix-data/v2/collections', { collection: { id, ...extra } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
}

export async function insertItems(s: TestServer, collectionId: string, list: readonly JsonObject[]): Promise<void> {
  for (let i = 0; i < list.length; i += 1000) {
    const r = await s.cairn.items.bulkInsert({ dataCollectionId: collectionId, dataItems: list.slice(i, i + 1000).map((data) => ({ data })) }, { ...ADMIN_CONTEXT, ownerId: INSERT_OWNER });
    assert.equal(r.bulkActionMetadata.totalFailures, 0, JSON.stringify(r.results.filter((x) => !x.itemMetadata.success)));
  }
}

/** Every stored item's data (up to 1000), as the store gives it back. */
export async function readAllData(s: TestServer, collectionId: string): Promise<JsonObject[]> {
  const r = await s.cairn.items.query({ dataCollectionId: collectionId, query: { paging: { limit: 1000 } } }, ADMIN_CONTEXT);
  return r.dataItems.map((it) => it.data);
}
