/**
 * The item calls of the Draft Items plugin (docs/drafts.md): create-draft, publish-draft and
 * unpublish. Each moves one item between a published collection and its drafts collection
 * (`<id>__drafts`) in one transaction through the writer's own insert, save and remove, so
 * item events, permissions and reference clean-up are those of any write, and a failure on
 * either side leaves both as they were. No data hooks fire (Velo has none for these calls).
 */
import { draftsCollectionOf, publishedCollectionOf, type Collection } from '../collections/model.js';
import { WixError } from '../errors.js';
import { optionalBoolean } from '../validate.js';
import type { JsonObject } from '../wire/json.js';
import { readItemData, validItemId, type IncomingItem, type WireItem } from './codec.js';
import type { ItemScope } from './scope.js';
import type { ItemOperation } from '../auth/permissions.js';
import type { ItemOutcome, ItemWriter, WriteContext } from './writer.js';

export interface DraftDeps {
  readonly writer: ItemWriter;
  /** The caller's scope of a collection for an operation, checked against its permissions. */
  scope(p: JsonObject, ctx: WriteContext, op: ItemOperation | 'save'): Promise<ItemScope>;
  collection(id: string): Promise<Collection>;
}

/** The published collection's and its drafts collection's scopes, for one operation on each. */
async function pair(deps: DraftDeps, p: JsonObject, ctx: WriteContext, onPublished: ItemOperation | 'save', onDrafts: ItemOperation): Promise<{ published: ItemScope; drafts: ItemScope }> {
  const collection = await deps.collection(p.dataCollectionId as string);
  const draftsId = draftsCollectionOf(collection);
  if (!draftsId) {
    const publishedId = publishedCollectionOf(collection);
    throw new WixError(
      'WDE0119',
      publishedId
        ? `Collection [${collection.id}] holds drafts: call this with the published collection [${publishedId}]`
        : `Collection [${collection.id}] has no Draft Items plugin (add it with add-draft-items-plugin)`,
      { collectionId: collection.id },
    );
  }
  const published = await deps.scope(p, ctx, onPublished);
  const drafts = await deps.scope({ ...p, dataCollectionId: draftsId }, ctx, onDrafts);
  return { published, drafts };
}

/** An item as the other collection's writer takes it: the same id, fields and owner. */
const carried = (item: WireItem): IncomingItem => readItemData(item.data);

/** A single write's item, or its error thrown (which rolls the whole move back). */
function item(outcome: ItemOutcome | undefined): WireItem {
  if (!outcome) throw new Error('no outcome for a single-item write');
  if (!outcome.ok) throw outcome.error;
  return outcome.item;
}

/** create-draft: a copy of a published item in the drafts collection (WDE0074 when it has one already). */
export async function createDraft(deps: DraftDeps, p: JsonObject, ctx: WriteContext): Promise<{ dataItem: WireItem }> {
  const id = validItemId(p.dataItemId);
  const { published, drafts } = await pair(deps, p, ctx, 'read', 'insert');
  return deps.writer.transaction(async (tx) => {
    const source = await deps.writer.readIn(tx, published, id);
    const [draft] = await deps.writer.insertIn(tx, drafts, [carried(source)], ctx);
    return { dataItem: item(draft) };
  });
}

/** publish-draft: the draft replaces the published item (or becomes it) and leaves the drafts collection. */
export async function publishDraft(deps: DraftDeps, p: JsonObject, ctx: WriteContext): Promise<{ dataItem: WireItem }> {
  const id = validItemId(p.dataItemId);
  const { published, drafts } = await pair(deps, p, ctx, 'save', 'remove');
  return deps.writer.transaction(async (tx) => {
    // Removed first: the draft as it is at this moment, locked, is what gets published.
    const [removed] = await deps.writer.removeIn(tx, drafts, [id]);
    const [saved] = await deps.writer.saveIn(tx, published, [carried(item(removed))], ctx);
    return { dataItem: item(saved) };
  });
}

/**
 * unpublish: the item leaves the published collection; with `copyToDraft` (the default) it
 * becomes a draft, unless a draft of it exists already, which is kept (and answered) as it is.
 */
export async function unpublish(deps: DraftDeps, p: JsonObject, ctx: WriteContext): Promise<{ dataItem?: WireItem }> {
  const id = validItemId(p.dataItemId);
  const copyToDraft = optionalBoolean(p.copyToDraft, 'copyToDraft') ?? true;
  const { published, drafts } = await pair(deps, p, ctx, 'remove', 'insert');
  return deps.writer.transaction(async (tx) => {
    const [removed] = await deps.writer.removeIn(tx, published, [id]);
    const gone = item(removed);
    if (!copyToDraft) return {};
    const [draft] = await deps.writer.insertIn(tx, drafts, [carried(gone)], ctx);
    if (draft?.ok === false && draft.error.code === 'WDE0074') return { dataItem: await deps.writer.readIn(tx, drafts, id) };
    return { dataItem: item(draft) };
  });
}
