/**
 * Small helpers the HTTP and client tests share: a typed raw-HTTP caller, every item of a
 * collection as stored, and the Wix error code of a rejected client call.
 */
import assert from 'node:assert/strict';

export type Api = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;

/** Every item's `data` (drafts included), sorted by `_id`; at most 1000 items. */
export async function allItemData(api: Api, collectionId: string, environment = 'LIVE'): Promise<Record<string, any>[]> {
  const r = await api('POST', '/wix-data/v2/items/query', {
    dataCollectionId: collectionId,
    environment,
    publishPluginOptions: { includeDraftItems: true },
    query: { sort: [{ fieldName: '_id', order: 'ASC' }], paging: { limit: 1000 } },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body.dataItems.map((i: { data: Record<string, any> }) => i.data);
}

/** The item without the fields the server sets (`_createdDate`, `_updatedDate`, `_owner`). */
export function withoutServerFields(data: Record<string, any>): Record<string, any> {
  const { _createdDate, _updatedDate, _owner, ...rest } = data;
  return rest;
}

/**
 * The code a published-client call failed with: the Wix application error code, else the
 * client's own validation error or code, else its message. Fails the test if the call succeeds.
 */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e: any) {
    return e?.details?.applicationError?.code ?? e?.details?.validationError ?? e?.code ?? String(e?.message);
  }
  assert.fail('expected the call to fail');
}
