/**
 * The single mutation path. Every item write (single or bulk insert, update, save, remove,
 * truncate; patches and tasks later) goes through ItemWriter, which runs it as a few set-based
 * statements inside one transaction. Hooks, events and permissions extend this class, not the
 * routes.
 *
 * Outcomes are per item (bulk calls report each one; single calls throw the item's error). Input
 * that is invalid as a whole is rejected before the transaction starts, so nothing is written.
 */
import type { Clock } from '../clock.js';
import { WixError } from '../errors.js';
import type { Identity } from '../auth/identity.js';
import { compilerFor } from '../query/compile.js';
import type { FilterNode } from '../query/ast.js';
import type { Executor, Db } from '../store/db.js';
import { EventRecorder } from '../events/outbox.js';
import { join, named, raw, sql, valuesList, type Sql } from '../store/sql.js';
import { isUniqueViolation } from '../collections/indexes.js';
import { buildStored, newItemId, toWireItem, type IncomingItem, type StoredItem, type WireItem } from './codec.js';
import { setOwn, type JsonObject } from '../wire/json.js';
import { compareStrings, evaluate } from '../query/evaluate.js';
import { notFound } from './query.js';
import { applyModifications, type ItemPatch } from './patch.js';
import { compilePatchShape, fastPathShape, patchColumns, patchParams, patchRow, uniformValues } from './patch-sql.js';
import { insertStatus, scopeWhere, shownStatus, type ItemScope } from './scope.js';
import { clearReferencesOf, clearReferencesWhere } from './references.js';

export type BulkAction = 'INSERT' | 'UPDATE' | 'DELETE' | 'PATCH';

export type ItemOutcome =
  | { ok: true; originalIndex: number; id: string; item: WireItem; saved?: 'INSERTED' | 'UPDATED' }
  | { ok: false; originalIndex: number; id: string | undefined; error: WixError };

/**
 * More work for a write's own transaction (the references an item write saves with
 * `saveReferences`): `first` before the write touches a row (to take locks in a safe order),
 * `then` after it, given its outcomes. It commits with the items or, if it throws, nothing does.
 */
export interface InTransaction {
  first(tx: Executor): Promise<void>;
  then(tx: Executor, outcomes: readonly ItemOutcome[]): Promise<void>;
}

export interface WriteContext {
  /** The owner of new items: the member making the write, the site owner for admins, null for visitors. */
  readonly ownerId: string | null;
  /** Who makes the call (src/auth/identity.ts): permissions and hooks read it. */
  readonly identity: Identity;
  /**
   * The caller must see every committed write (it sent a fresh X-Wix-Consistent token,
   * src/http/consistency.ts): reads skip the read cache.
   */
  readonly consistentRead?: boolean;
}

/** The `_owner` the caller asked for, when it may choose one (admins only: scope.ownerFixed). */
function askedOwner(scope: ItemScope, it: IncomingItem): string | undefined {
  return scope.ownerFixed ? undefined : it.owner;
}

/** A write refused because the item belongs to another member (SITE_MEMBER_AUTHOR). */
function notYours(id: string, scope: ItemScope): WixError {
  return new WixError('WDE0027', `Permission denied: item [${id}] in collection [${scope.collection.id}] belongs to another member`, {
    itemId: id,
    collectionId: scope.collection.id,
  });
}

/** A success whose wire item is built only if someone reads it (bulk calls rarely return entities). */
function ok(originalIndex: number, id: string, make: () => WireItem, saved?: 'INSERTED' | 'UPDATED'): ItemOutcome {
  let cached: WireItem | undefined;
  const outcome = {
    ok: true as const,
    originalIndex,
    id,
    get item(): WireItem {
      return (cached ??= make());
    },
  };
  return saved ? Object.assign(outcome, { saved }) : outcome;
}

/** Rows per statement: well under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters at 8 per row. */
const CHUNK = 1000;

function chunks<T>(list: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
}


interface LockedRow {
  id: string;
  data: string;
  created_date: string;
  owner: string | null;
  publish_status: string;
}

const SYSTEM_KEYS = ['_id', '_createdDate', '_updatedDate', '_owner'];

/** The stored document without its system fields: what modifications apply to. */
function userFields(doc: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(doc)) if (!SYSTEM_KEYS.includes(k)) setOwn(out, k, v);
  return out;
}

interface ExistingRow {
  id: string;
  created_date: string;
  owner: string | null;
  publish_status: string;
}

/** How many times an item write runs when PostgreSQL keeps choosing it as a deadlock victim. */
const DEADLOCK_ATTEMPTS = 3;

export class ItemWriter {
  constructor(
    readonly db: Db,
    private readonly clock: Clock,
    /** Every write records its events through this, in the write's transaction (events/outbox.ts). */
    readonly events: EventRecorder = new EventRecorder(),
  ) {}

  private now(): string {
    return this.clock.now().toISOString();
  }

  private wire(scope: ItemScope, s: StoredItem, status: string): WireItem {
    return toWireItem(scope.collection.id, s.json, shownStatus(scope, status));
  }

  /**
   * An item write's transaction, run again (up to DEADLOCK_ATTEMPTS times) when PostgreSQL
   * aborts it as a deadlock victim. The writes lock the rows they name in id order first, but
   * rows that other transactions insert meanwhile (a save re-creating a removed item) are not
   * among them, and a cycle through such a row remains possible. The aborted attempt changed
   * nothing, and every attempt reads the store afresh, so running it again is safe.
   */
  async transaction<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    return this.transactionRetryingDeadlocks(fn);
  }

  private async transactionRetryingDeadlocks<T>(fn: (tx: Executor) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.transaction(fn);
      } catch (e) {
        if (attempt >= DEADLOCK_ATTEMPTS || (e as { code?: unknown }).code !== '40P01') throw e;
      }
    }
  }

  private conditionSql(tx: Executor, condition: FilterNode | undefined): Sql {
    return condition && condition.kind !== 'true' ? sql` AND ${compilerFor(tx.dialect).compile(condition)}` : sql``;
  }

  async insert(scope: ItemScope, items: readonly IncomingItem[], ctx: WriteContext, inTx?: InTransaction): Promise<ItemOutcome[]> {
    return this.transactionRetryingDeadlocks((tx) => this.insertIn(tx, scope, items, ctx, inTx));
  }

  /** `insert` in a transaction the caller runs (`transaction`), with other writes. */
  async insertIn(tx: Executor, scope: ItemScope, items: readonly IncomingItem[], ctx: WriteContext, inTx?: InTransaction): Promise<ItemOutcome[]> {
    const now = this.now();
    const status = insertStatus(scope);
    const prepared = items.map((it) => buildStored(it.id ?? newItemId(), it.fields, now, now, askedOwner(scope, it) ?? ctx.ownerId));
    if (inTx) await inTx.first(tx);
    const outcomes: ItemOutcome[] = new Array(prepared.length);
    const seen = new Set<string>();
    const fresh: { index: number; stored: StoredItem }[] = [];
    prepared.forEach((stored, index) => {
      if (seen.has(stored.id)) outcomes[index] = { ok: false, originalIndex: index, id: stored.id, error: duplicate(stored.id, scope) };
      else {
        seen.add(stored.id);
        fresh.push({ index, stored });
      }
    });
    const insertRows = async (rows: readonly (typeof fresh)[number][]): Promise<Set<string>> => {
      const inserted = new Set<string>();
      for (const chunk of chunks(rows)) {
        // PostgreSQL infers the jsonb type of `data` from the INSERT's target column.
        const values = valuesList(
          chunk.map(({ stored: s }) => [scope.collection.id, scope.env, s.id, s.json, s.createdDate, s.updatedDate, s.owner, status, 1]),
        );
        const returned = await this.events.write<{ id: string }>(
          tx,
          scope,
          'created',
          sql`INSERT INTO items (collection_id, env, id, data, created_date, updated_date, owner, publish_status, canon)
              VALUES ${values} ON CONFLICT (collection_id, env, id) DO NOTHING`,
          [],
          now,
        );
        for (const r of returned) inserted.add(r.id);
      }
      return inserted;
    };
    // PostgreSQL: the per-id locks save takes, so a save racing this insert sees the row (and
    // reports UPDATED) instead of deciding on its absence while the insert commits.
    if (tx.dialect === 'postgres' && fresh.length) await lockIdKeys(tx, scope, fresh.map((f) => f.stored.id));
    // PostgreSQL: rows in id order, so concurrent inserts of the same new ids wait on each other
    // in one order instead of deadlocking.
    const ordered = tx.dialect === 'postgres' ? [...fresh].sort((a, b) => compareStrings(a.stored.id, b.stored.id)) : fresh;
    const inserted = await this.withUniqueFallback(tx, ordered, insertRows, (row) => row.stored.id, outcomes, scope);
    for (const { index, stored } of fresh) {
      if (outcomes[index]) continue;
      outcomes[index] = inserted.has(stored.id)
        ? ok(index, stored.id, () => this.wire(scope, stored, status))
        : { ok: false, originalIndex: index, id: stored.id, error: duplicate(stored.id, scope) };
    }
    if (inTx) await inTx.then(tx, outcomes);
    return outcomes;
  }

  /** Full replace of existing items (update / bulk update). Missing ids fail with WDE0073. */
  async update(scope: ItemScope, items: readonly IncomingItem[], condition?: FilterNode, inTx?: InTransaction): Promise<ItemOutcome[]> {
    const now = this.now();
    for (const it of items) if (it.id === undefined) throw new WixError('WDE0007', 'Invalid update. Updated object must have a string _id property.');
    return this.transactionRetryingDeadlocks(async (tx) => {
      if (inTx) await inTx.first(tx);
      const outcomes: ItemOutcome[] = new Array(items.length);
      await this.lockInIdOrder(tx, scope, items.map((i) => i.id as string));
      const existing = await this.existing(tx, scope, items.map((i) => i.id as string), condition);
      const seen = new Set<string>();
      const rows: { index: number; stored: StoredItem; status: string }[] = [];
      items.forEach((it, index) => {
        const id = it.id as string;
        const row = existing.get(id);
        if (!row || seen.has(id)) {
          outcomes[index] = { ok: false, originalIndex: index, id, error: row ? duplicateInBatch(id) : notFound(id, scope) };
          return;
        }
        seen.add(id);
        rows.push({ index, stored: buildStored(id, it.fields, row.created_date, now, askedOwner(scope, it) ?? row.owner), status: row.publish_status });
      });
      const updated = await this.withUniqueFallback(tx, rows, (r) => this.replaceRows(tx, scope, r, condition), (r) => r.stored.id, outcomes, scope);
      for (const r of rows) {
        if (outcomes[r.index]) continue;
        outcomes[r.index] = updated.has(r.stored.id)
          ? ok(r.index, r.stored.id, () => this.wire(scope, r.stored, r.status))
          : { ok: false, originalIndex: r.index, id: r.stored.id, error: notFound(r.stored.id, scope) };
      }
      await this.denyForeign(tx, scope, outcomes);
      if (inTx) await inTx.then(tx, outcomes);
      return outcomes;
    });
  }

  /** Insert-or-replace (save / bulk save). */
  async save(scope: ItemScope, items: readonly IncomingItem[], ctx: WriteContext, inTx?: InTransaction): Promise<ItemOutcome[]> {
    return this.transactionRetryingDeadlocks((tx) => this.saveIn(tx, scope, items, ctx, inTx));
  }

  /** `save` in a transaction the caller runs (`transaction`), with other writes. */
  async saveIn(tx: Executor, scope: ItemScope, items: readonly IncomingItem[], ctx: WriteContext, inTx?: InTransaction): Promise<ItemOutcome[]> {
    const now = this.now();
    if (inTx) await inTx.first(tx);
    const outcomes: ItemOutcome[] = new Array(items.length);
    const ids = items.map((i) => i.id).filter((i): i is string => i !== undefined);
    // PostgreSQL: without this, concurrent saves of one new id all see it missing, all report
    // INSERTED, and the later ones write a _createdDate that disagrees with the row's.
    if (tx.dialect === 'postgres' && ids.length) await lockIdKeys(tx, scope, ids);
    // Existence regardless of draft visibility or owner: save never inserts a second row with
    // an id, and never replaces another member's item (SITE_MEMBER_AUTHOR).
    const everyRow = { ...scope, includeDrafts: true, ownerOnly: undefined };
    await this.lockInIdOrder(tx, everyRow, ids);
    const existing = await this.existing(tx, everyRow, ids);
    const seen = new Set<string>();
    const rows: { index: number; stored: StoredItem; status: string; action: 'INSERTED' | 'UPDATED' }[] = [];
    items.forEach((it, index) => {
      const id = it.id ?? newItemId();
      if (seen.has(id)) {
        outcomes[index] = { ok: false, originalIndex: index, id, error: duplicateInBatch(id) };
        return;
      }
      seen.add(id);
      const row = existing.get(id);
      if (row && scope.ownerOnly !== undefined && row.owner !== scope.ownerOnly) {
        outcomes[index] = { ok: false, originalIndex: index, id, error: notYours(id, scope) };
        return;
      }
      rows.push(
        row
          ? { index, stored: buildStored(id, it.fields, row.created_date, now, askedOwner(scope, it) ?? row.owner), status: row.publish_status, action: 'UPDATED' }
          : { index, stored: buildStored(id, it.fields, now, now, askedOwner(scope, it) ?? ctx.ownerId), status: insertStatus(scope), action: 'INSERTED' },
      );
    });
    // The rows are locked and checked above; the guard only makes the rule hold in SQL too.
    const ownerGuard = scope.ownerOnly === undefined ? sql`` : sql` WHERE items.owner = ${scope.ownerOnly}`;
    const upsert = async (list: readonly (typeof rows)[number][]): Promise<Set<string>> => {
      const done = new Set<string>();
      for (const chunk of chunks(list)) {
        const values = valuesList(
          chunk.map(({ stored: s, status }) => [scope.collection.id, scope.env, s.id, s.json, s.createdDate, s.updatedDate, s.owner, status, 1]),
        );
        const created = chunk.filter((r) => r.action === 'INSERTED').map((r) => r.stored.id);
        const returned = await this.events.write<{ id: string }>(
          tx,
          scope,
          { created },
          sql`INSERT INTO items (collection_id, env, id, data, created_date, updated_date, owner, publish_status, canon)
              VALUES ${values}
              ON CONFLICT (collection_id, env, id) DO UPDATE SET data = excluded.data, canon = excluded.canon, updated_date = excluded.updated_date, owner = excluded.owner${ownerGuard}`,
          [],
          now,
        );
        for (const r of returned) done.add(r.id);
      }
      return done;
    };
    const ordered = tx.dialect === 'postgres' ? [...rows].sort((a, b) => compareStrings(a.stored.id, b.stored.id)) : rows;
    const saved = await this.withUniqueFallback(tx, ordered, upsert, (r) => r.stored.id, outcomes, scope);
    for (const r of rows) {
      if (outcomes[r.index]) continue;
      outcomes[r.index] = saved.has(r.stored.id)
        ? ok(r.index, r.stored.id, () => this.wire(scope, r.stored, r.status), r.action)
        : { ok: false, originalIndex: r.index, id: r.stored.id, error: notFound(r.stored.id, scope) };
    }
    await this.denyForeign(tx, scope, outcomes);
    if (inTx) await inTx.then(tx, outcomes);
    return outcomes;
  }

  /** One item of the scope as the transaction sees it (WDE0073 when it is not there). */
  async readIn(tx: Executor, scope: ItemScope, id: string): Promise<WireItem> {
    const row = await tx.get<{ data: string; publish_status: string }>(sql`SELECT data, publish_status FROM items WHERE ${scopeWhere(scope)} AND id = ${id}`);
    if (!row) throw notFound(id, scope);
    return toWireItem(scope.collection.id, row.data, shownStatus(scope, row.publish_status));
  }

  async remove(scope: ItemScope, ids: readonly string[], condition?: FilterNode): Promise<ItemOutcome[]> {
    return this.transactionRetryingDeadlocks((tx) => this.removeIn(tx, scope, ids, condition));
  }

  /** `remove` in a transaction the caller runs (`transaction`), with other writes. */
  async removeIn(tx: Executor, scope: ItemScope, ids: readonly string[], condition?: FilterNode): Promise<ItemOutcome[]> {
    // The DELETE locks rows in the order its plan visits them; lock in id order first.
    await this.lockInIdOrder(tx, scope, ids);
    const removed = new Map<string, { data: string; publish_status: string }>();
    for (const chunk of chunks([...new Set(ids)])) {
      const rows = await this.events.write<{ id: string; data: string; publish_status: string }>(
        tx,
        scope,
        'deleted',
        sql`DELETE FROM items WHERE ${scopeWhere(scope)} AND id IN (${join(
          chunk.map((id) => sql`${id}`),
          ', ',
        )})${this.conditionSql(tx, condition)}`,
        ['data', 'publish_status'],
        this.now(),
      );
      for (const r of rows) removed.set(r.id, r);
    }
    await clearReferencesOf(tx, scope.collection.id, scope.env, [...removed.keys()]);
    const reported = new Set<string>();
    const outcomes = ids.map((id, index): ItemOutcome => {
      const r = removed.get(id);
      if (!r || reported.has(id)) return { ok: false, originalIndex: index, id, error: notFound(id, scope) };
      reported.add(id);
      return ok(index, id, () => toWireItem(scope.collection.id, r.data, shownStatus(scope, r.publish_status)));
    });
    await this.denyForeign(tx, scope, outcomes);
    return outcomes;
  }

  /**
   * SITE_MEMBER_AUTHOR: the statements above saw only the caller's own items, so another
   * member's item came out as not found. Those that exist are reported as what they are, a
   * permission failure (WDE0027); ids that exist nowhere stay WDE0073. Runs in the write's
   * transaction, over the rows it locked.
   */
  private async denyForeign(tx: Executor, scope: ItemScope, outcomes: ItemOutcome[]): Promise<void> {
    if (scope.ownerOnly === undefined) return;
    const missing = outcomes.filter((o): o is ItemOutcome & { ok: false; id: string } => !o.ok && o.id !== undefined && o.error.code === 'WDE0073');
    if (missing.length === 0) return;
    const found = await this.existing(tx, { ...scope, ownerOnly: undefined }, [...new Set(missing.map((o) => o.id))]);
    for (const o of missing) if (found.has(o.id)) o.error = notYours(o.id, scope);
  }

  /**
   * Applies field modifications (Patch / BulkPatch). The target rows are read and locked in one
   * statement (PostgreSQL: FOR UPDATE in id order, so concurrent patches queue instead of
   * deadlocking; SQLite: the transaction already holds the single write lock), changed in JS,
   * and written back with one UPDATE. No change is ever lost to a concurrent writer, and the
   * condition is checked on the locked row: it holds at the moment of the write.
   * Several patches of one item in a request apply in order, each seeing the one before.
   */
  async patch(scope: ItemScope, patches: readonly ItemPatch[], condition?: FilterNode, options: { needEntities?: boolean } = {}): Promise<ItemOutcome[]> {
    const now = this.now();
    return this.transactionRetryingDeadlocks(async (tx) => {
      const outcomes: ItemOutcome[] = new Array(patches.length);
      let rest: number[] = patches.map((_, i) => i);
      const shape = fastPathShape(patches);
      if (shape && !(await hasUniqueIndex(tx, scope.collection.id))) {
        const done = await this.patchInSql(tx, scope, patches, shape, condition, now, options.needEntities ?? false, outcomes);
        rest = rest.filter((i) => !done.has(i));
      }
      if (rest.length) await this.patchInJs(tx, scope, patches, rest, condition, now, outcomes);
      await this.denyForeign(tx, scope, outcomes);
      return outcomes;
    });
  }

  /**
   * The fast path (patch-sql.ts): one UPDATE for the whole batch. Returns the indexes of the
   * patches it applied; the guards leave the others untouched for the JS path.
   */
  private async patchInSql(
    tx: Executor,
    scope: ItemScope,
    patches: readonly ItemPatch[],
    shape: Parameters<typeof compilePatchShape>[1],
    condition: FilterNode | undefined,
    now: string,
    needEntities: boolean,
    outcomes: ItemOutcome[],
  ): Promise<Set<number>> {
    const done = new Set<number>();
    const indexOf = new Map(patches.map((p, i) => [p.id, i]));
    const record = (r: { id: string; data?: string; publish_status?: string } | undefined) => {
      if (!r) return;
      const index = indexOf.get(r.id);
      if (index === undefined) return;
      done.add(index);
      outcomes[index] = ok(index, r.id, () => {
        if (r.data === undefined) throw new Error('patched item requested without needEntities');
        return toWireItem(scope.collection.id, r.data, shownStatus(scope, r.publish_status as string));
      });
    };
    const entityColumns = needEntities ? (['data', 'publish_status'] as const) : [];
    if (tx.dialect === 'sqlite') {
      const uniform = uniformValues(patches);
      if (uniform) {
        // Every patch carries the same values: one statement over the id list.
        const compiled = compilePatchShape(tx.dialect, shape, now, patches, uniform);
        const rows = await this.events.write<{ id: string; data?: string; publish_status?: string }>(
          tx,
          scope,
          'updated',
          sql`UPDATE items SET data = ${compiled.data}, canon = 0, updated_date = ${now}
              WHERE ${scopeWhere(scope)} AND id IN (SELECT value FROM json_each(${JSON.stringify(patches.map((p) => p.id))}))
                AND ${compiled.guard}${this.conditionSql(tx, condition)}`,
          entityColumns,
          now,
        );
        rows.forEach(record);
        return done;
      }
      // One prepared UPDATE run per patch (the values differ): the events follow for the ids.
      const returning = needEntities ? sql`, data, publish_status` : sql``;
      const compiled = compilePatchShape(tx.dialect, shape, now, patches);
      const rows = await tx.each<{ id: string; data?: string; publish_status?: string }>(
        sql`UPDATE items SET data = ${compiled.data}, canon = 0, updated_date = ${now}
            WHERE ${scopeWhere(scope)} AND id = ${named('vid')} AND ${compiled.guard}${this.conditionSql(tx, condition)}
            RETURNING id${returning}`,
        patches.map(patchParams),
      );
      rows.forEach(record);
      await this.events.itemsWritten(tx, scope, 'updated', rows.flatMap((r) => (r ? [r.id] : [])), now);
      return done;
    }
    const compiled = compilePatchShape(tx.dialect, shape, now, patches);
    const columns = raw(patchColumns(shape).join(', '));
    for (const chunk of chunks([...patches].sort((a, b) => compareStrings(a.id, b.id)))) {
      // Lock in id order first, as the JS path does, so concurrent batches queue, never deadlock.
      await this.lockRows(tx, scope, chunk.map((p) => p.id), undefined, true);
      // One array parameter per column (unnest) instead of a parameter per cell: PostgreSQL
      // parses and plans the statement the same way whatever the batch size. The id = ANY(...)
      // lets the planner look the rows up by primary key; joined on v alone, it may estimate the
      // unnest badly and hash the whole collection, running the guards on every item.
      // (v.vid holds each id once: fastPathShape sends an item patched twice to the JS path.)
      const table = chunk.map(patchRow);
      const arrays = patchColumns(shape).map((_, c) => sql`${table.map((r) => (r[c] === undefined ? null : String(r[c])))}::text[]`);
      const rows = await this.events.write<{ id: string; data?: string; publish_status?: string }>(
        tx,
        scope,
        'updated',
        sql`WITH v (${columns}) AS (SELECT * FROM unnest(${join(arrays, ', ')}))
            UPDATE items SET data = ${compiled.data}, canon = 0, updated_date = ${now}
            FROM v WHERE ${scopeWhere(scope, 'items')} AND items.id = ANY(${chunk.map((p) => p.id)}::text[]) AND items.id = v.vid
              AND ${compiled.guard}${this.conditionSql(tx, condition)}`,
        entityColumns,
        now,
      );
      rows.forEach(record);
    }
    return done;
  }

  /**
   * The exact path: rows read and locked (PostgreSQL: FOR UPDATE in id order; SQLite: the
   * transaction holds the single write lock), modifications applied in JS, one UPDATE back.
   * Several patches of one item apply in order, each seeing the one before.
   */
  private async patchInJs(
    tx: Executor,
    scope: ItemScope,
    patches: readonly ItemPatch[],
    indexes: readonly number[],
    condition: FilterNode | undefined,
    now: string,
    outcomes: ItemOutcome[],
  ): Promise<void> {
    const ids = [...new Set(indexes.map((i) => (patches[i] as ItemPatch).id))];
    const rows = await this.lockRows(tx, scope, ids, condition);
    const unmatched = condition && rows.size < ids.length ? await this.existing(tx, scope, ids.filter((id) => !rows.has(id))) : new Map();
    const state = new Map<string, { fields: JsonObject; row: LockedRow; index: number; stored?: StoredItem }>();
    for (const index of indexes) {
      const p = patches[index] as ItemPatch;
      const row = rows.get(p.id);
      if (!row) {
        const error = unmatched.has(p.id) ? conditionFailed(p.id, scope) : notFound(p.id, scope);
        outcomes[index] = { ok: false, originalIndex: index, id: p.id, error };
        continue;
      }
      let st = state.get(p.id);
      if (!st) {
        st = { fields: userFields(JSON.parse(row.data) as JsonObject), row, index };
        state.set(p.id, st);
      } else if (condition && st.stored && !evaluate(condition, JSON.parse(st.stored.json) as JsonObject)) {
        // A later patch of the same item meets the condition on the item as the patches before
        // it left it: "at the moment of the write", as a request per patch would. (The SQL
        // checked the stored row, for the first.)
        outcomes[index] = { ok: false, originalIndex: index, id: p.id, error: conditionFailed(p.id, scope) };
        continue;
      }
      const next = applyModifications(st.fields, p.modifications);
      if (next instanceof WixError) {
        outcomes[index] = { ok: false, originalIndex: index, id: p.id, error: next };
        continue;
      }
      let stored: StoredItem;
      try {
        stored = buildStored(p.id, next, row.created_date, now, row.owner);
      } catch (e) {
        if (!(e instanceof WixError)) throw e;
        outcomes[index] = { ok: false, originalIndex: index, id: p.id, error: e };
        continue;
      }
      st.fields = next;
      st.stored = stored;
      st.index = index;
      outcomes[index] = ok(index, p.id, () => this.wire(scope, stored, row.publish_status));
    }
    const changed = [...state.values()].filter((s) => s.stored).map((s) => ({ index: s.index, stored: s.stored as StoredItem }));
    const written = await this.withUniqueFallback(tx, changed, (r) => this.replaceRows(tx, scope, r), (r) => r.stored.id, outcomes, scope);
    // A clash on a unique index fails every patch of that item in the request.
    for (const index of indexes) {
      const o = outcomes[index];
      if (o?.ok && !written.has(o.id)) {
        const failed = changed.find((c) => c.stored.id === o.id);
        const error = failed ? (outcomes[failed.index] as { error?: WixError }).error : undefined;
        outcomes[index] = { ok: false, originalIndex: index, id: o.id, error: error ?? notFound(o.id, scope) };
      }
    }
  }

  private async lockRows(tx: Executor, scope: ItemScope, ids: readonly string[], condition?: FilterNode, idsOnly = false): Promise<Map<string, LockedRow>> {
    const out = new Map<string, LockedRow>();
    const lock = tx.dialect === 'postgres' ? sql` FOR UPDATE` : sql``;
    const columns = idsOnly ? sql`id` : sql`id, data, created_date, owner, publish_status`;
    for (const chunk of chunks(ids)) {
      const rows = await tx.all<LockedRow>(
        sql`SELECT ${columns} FROM items WHERE ${scopeWhere(scope)} AND ${idIn(tx, chunk)}${this.conditionSql(tx, condition)} ORDER BY id${lock}`,
      );
      for (const r of rows) out.set(r.id, r);
    }
    return out;
  }

  /**
   * PostgreSQL: locks the existing rows among `ids` in id order before a statement that would lock
   * them in its own order (a VALUES list, a join), so that concurrent writes of the same items
   * queue instead of deadlocking. Patches lock in the same order. SQLite holds the only write lock.
   */
  private async lockInIdOrder(tx: Executor, scope: ItemScope, ids: readonly string[]): Promise<void> {
    if (tx.dialect !== 'postgres' || ids.length === 0) return;
    await this.lockRows(tx, scope, [...new Set(ids)].sort(compareStrings), undefined, true);
  }

  // ---- Batches for background tasks. Each runs inside the caller's transaction (the task's batch
  // transaction, which also moves the task's cursor and counters), over the items after `afterId`
  // in id order that match the filter: a resumed task continues exactly where the last commit left.

  private batchWhere(tx: Executor, scope: ItemScope, filter: FilterNode, afterId: string | null): Sql {
    const after = afterId === null ? sql`` : sql` AND id > ${afterId}`;
    return sql`${scopeWhere(scope)}${after}${this.conditionSql(tx, filter)}`;
  }

  /**
   * Deletes the next `limit` matching items; returns how many it deleted and the last id the
   * batch reached (the task's next cursor).
   *
   * The batch is a key range: the last id of the next `limit` matching items, then every
   * matching row up to it. A range on the primary key is a plan no statistics can spoil (an id
   * list or an `IN (subquery)` can be planned as a scan of the whole collection on a table
   * PostgreSQL has not analysed yet), and no id but the last travels to Cairn. On PostgreSQL a
   * row another transaction adds to the range meanwhile matches the filter, so it is the task's
   * to delete anyway.
   */
  async removeBatch(
    tx: Executor,
    scope: ItemScope,
    filter: FilterNode,
    afterId: string | null,
    limit: number,
  ): Promise<{ count: number; seen: number; last: string | undefined }> {
    const where = this.batchWhere(tx, scope, filter, afterId);
    // Two statements, each with known bounds: the batch's last id and size (one row back, not
    // every id), then the range. As one statement PostgreSQL plans the range's upper end as
    // unknown and may scan the whole collection on every batch. `seen` (not the rows deleted)
    // says whether items are left: on PostgreSQL another writer may remove one of the range's
    // items in between, and the batch then deletes fewer than it saw.
    const upto = await tx.get<{ last: string | null; seen: number | string }>(
      sql`SELECT max(id) AS last, count(*) AS seen FROM (SELECT id FROM items WHERE ${where} ORDER BY id LIMIT ${limit}) AS batch`,
    );
    const last = upto?.last ?? undefined;
    if (last === undefined) return { count: 0, seen: 0, last: undefined };
    await clearReferencesWhere(tx, scope.collection.id, sql`${where} AND id <= ${last}`);
    const count = await this.events.deleteWhere(tx, scope.collection.id, sql`${where} AND id <= ${last}`, this.now());
    return { count, seen: Number(upto?.seen ?? 0), last };
  }

  /**
   * Edits the next `limit` matching items: `edit` returns the new user fields, `null` for "leave
   * unchanged", or a WixError (the item is left unchanged and reported).
   *
   * With `sqlEdit` (an edit SQL can express, such as appending to an array) the batch is set-based:
   * its ids are read, one UPDATE changes every row that passes the edit's guards, and only the
   * rows that do not (a type clash, an item near the size limit) go through `edit` in JS, which
   * applies the exact semantics or reports the item's failure. Collections with a unique index
   * always take the JS path, which reports clashes per item.
   */
  async editBatch(
    tx: Executor,
    scope: ItemScope,
    filter: FilterNode,
    afterId: string | null,
    limit: number,
    edit: (fields: JsonObject) => JsonObject | WixError | null,
    sqlEdit?: SqlEdit,
  ): Promise<{ ids: string[]; visited: number; failures: { id: string; error: WixError }[] }> {
    if (sqlEdit && !(await hasUniqueIndex(tx, scope.collection.id))) {
      const ids = await this.nextIds(tx, scope, filter, afterId, limit);
      if (ids.length === 0) return { ids, visited: 0, failures: [] };
      const now = this.now();
      const compiled = sqlEdit(tx.dialect, now);
      // The batch as a key range up to its last id (removeBatch says why). On SQLite the one
      // writer holds the database, so the range holds exactly the ids just read; on PostgreSQL a
      // row another transaction added to the range meanwhile matches the filter, so it belongs
      // to the task anyway.
      const updated = await this.events.write<{ id: string }>(
        tx,
        scope,
        'updated',
        sql`UPDATE items SET data = ${compiled.data}, canon = 0, updated_date = ${now}
            WHERE ${this.batchWhere(tx, scope, filter, afterId)} AND id <= ${ids[ids.length - 1] as string} AND ${compiled.guard}`,
        [],
        now,
      );
      const done = new Set(updated.map((r) => r.id));
      const rest = ids.filter((id) => !done.has(id));
      // `visited` leaves out an item another writer removed (or changed so that it no longer
      // matches) between the read of the ids and the UPDATE: neither statement touched it.
      const reread: string[] = [];
      const failures = rest.length ? await this.editRows(tx, scope, sql`${scopeWhere(scope)} AND ${idIn(tx, rest)}${this.conditionSql(tx, filter)}`, rest.length, edit, reread) : [];
      return { ids, visited: updated.length + reread.length, failures };
    }
    const ids: string[] = [];
    const failures = await this.editRows(tx, scope, this.batchWhere(tx, scope, filter, afterId), limit, edit, ids);
    return { ids, visited: ids.length, failures };
  }

  /**
   * The JS edit of up to `limit` rows matching `where`, in id order: rows are locked as for
   * patches and written back with one UPDATE. `seen` collects the ids read.
   */
  private async editRows(
    tx: Executor,
    scope: ItemScope,
    where: Sql,
    limit: number,
    edit: (fields: JsonObject) => JsonObject | WixError | null,
    seen: string[] = [],
  ): Promise<{ id: string; error: WixError }[]> {
    const lock = tx.dialect === 'postgres' ? sql` FOR UPDATE` : sql``;
    const rows = await tx.all<LockedRow>(
      sql`SELECT id, data, created_date, owner, publish_status FROM items WHERE ${where} ORDER BY id LIMIT ${limit}${lock}`,
    );
    const now = this.now();
    const failures: { id: string; error: WixError }[] = [];
    const changed: { index: number; stored: StoredItem }[] = [];
    rows.forEach((row, index) => {
      seen.push(row.id);
      const result = edit(userFields(JSON.parse(row.data) as JsonObject));
      if (result === null) return;
      if (result instanceof WixError) {
        failures.push({ id: row.id, error: result });
        return;
      }
      try {
        changed.push({ index, stored: buildStored(row.id, result, row.created_date, now, row.owner) });
      } catch (e) {
        if (e instanceof WixError) failures.push({ id: row.id, error: e });
        else throw e;
      }
    });
    const outcomes: ItemOutcome[] = [];
    await this.withUniqueFallback(tx, changed, (r) => this.replaceRows(tx, scope, r), (r) => r.stored.id, outcomes, scope);
    for (const o of outcomes) if (o && !o.ok) failures.push({ id: o.id as string, error: o.error });
    return failures;
  }

  /** Sets the publish status of the next `limit` matching items. */
  async publishStatusBatch(
    tx: Executor,
    scope: ItemScope,
    filter: FilterNode,
    afterId: string | null,
    limit: number,
    status: 'PUBLISHED' | 'DRAFT',
  ): Promise<{ ids: string[]; visited: number }> {
    const ids = await this.nextIds(tx, scope, filter, afterId, limit);
    const visited = ids.length ? await this.setPublishStatus(tx, scope, ids, status) : 0;
    return { ids, visited };
  }

  /** Sets the status of the items of `ids` still there; resolves to how many that was. */
  async setPublishStatus(tx: Executor, scope: ItemScope, ids: readonly string[], status: 'PUBLISHED' | 'DRAFT'): Promise<number> {
    const now = this.now();
    // The document carries _updatedDate too (reads return `data`): both change together.
    const data =
      tx.dialect === 'postgres'
        ? sql`jsonb_set(data, '{_updatedDate}', jsonb_build_object('$date', ${now}::text), true)`
        : sql`json_set(data, '$._updatedDate', json_object('$date', ${now}))`;
    let updated = 0;
    for (const chunk of chunks(ids)) {
      const rows = await this.events.write(
        tx,
        scope,
        'updated',
        sql`UPDATE items SET publish_status = ${status}, updated_date = ${now}, data = ${data}, canon = 0
            WHERE ${scopeWhere({ ...scope, includeDrafts: true })} AND id IN (${join(
              chunk.map((id) => sql`${id}`),
              ', ',
            )})`,
        [],
        now,
      );
      updated += rows.length;
    }
    return updated;
  }

  /** The next `limit` matching ids in id order (for tasks whose per-item work is not on items). */
  async nextIds(tx: Executor, scope: ItemScope, filter: FilterNode, afterId: string | null, limit: number): Promise<string[]> {
    const rows = await tx.all<{ id: string }>(sql`SELECT id FROM items WHERE ${this.batchWhere(tx, scope, filter, afterId)} ORDER BY id LIMIT ${limit}`);
    return rows.map((r) => r.id);
  }

  /** Removes every item of the collection in this environment, drafts included. */
  async truncate(scope: ItemScope): Promise<number> {
    const where = scopeWhere({ ...scope, includeDrafts: true });
    return this.db.transaction(async (tx) => {
      await clearReferencesWhere(tx, scope.collection.id, where);
      return this.events.deleteWhere(tx, scope.collection.id, where, this.now());
    });
  }

  private async existing(tx: Executor, scope: ItemScope, ids: readonly string[], condition?: FilterNode): Promise<Map<string, ExistingRow>> {
    const out = new Map<string, ExistingRow>();
    for (const chunk of chunks([...new Set(ids)])) {
      const rows = await tx.all<ExistingRow>(
        sql`SELECT id, created_date, owner, publish_status FROM items WHERE ${scopeWhere(scope)} AND id IN (${join(
          chunk.map((id) => sql`${id}`),
          ', ',
        )})${this.conditionSql(tx, condition)}`,
      );
      for (const r of rows) out.set(r.id, r);
    }
    return out;
  }

  /**
   * One UPDATE for a batch of full replacements: the new documents travel in a VALUES list.
   * The condition is checked again by the UPDATE itself, so it holds at the moment of the write.
   */
  private async replaceRows(tx: Executor, scope: ItemScope, rows: readonly { stored: StoredItem }[], condition?: FilterNode): Promise<Set<string>> {
    const done = new Set<string>();
    for (const chunk of chunks(rows)) {
      const values = valuesList(chunk.map(({ stored: s }) => [s.id, s.json, s.updatedDate, s.owner]));
      const data = tx.dialect === 'postgres' ? sql`v.vdata::jsonb` : sql`v.vdata`;
      // PostgreSQL: the id list lets the planner fetch the rows by primary key rather than hash
      // the whole collection against v (patchInSql says more).
      const byKey = tx.dialect === 'postgres' ? sql` AND items.id = ANY(${chunk.map(({ stored }) => stored.id)}::text[])` : sql``;
      const returned = await this.events.write<{ id: string }>(
        tx,
        scope,
        'updated',
        sql`WITH v (vid, vdata, vupdated, vowner) AS (VALUES ${values})
            UPDATE items SET data = ${data}, canon = 1, updated_date = v.vupdated, owner = v.vowner
            FROM v WHERE ${scopeWhere(scope, 'items')}${byKey} AND items.id = v.vid${this.conditionSql(tx, condition)}`,
        [],
        (chunk[0] as { stored: StoredItem }).stored.updatedDate,
      );
      for (const r of returned) done.add(r.id);
    }
    return done;
  }

  /**
   * Runs a set-based write; if a unique index rejects it, redoes it one item at a time inside
   * savepoints so that only the clashing items fail (WDE0123) and the others are written.
   */
  private async withUniqueFallback<T>(
    tx: Executor,
    rows: readonly T[],
    write: (rows: readonly T[]) => Promise<Set<string>>,
    idOf: (row: T) => string,
    outcomes: ItemOutcome[],
    scope: ItemScope,
  ): Promise<Set<string>> {
    // Without a unique index only the primary key can clash, and every write handles that itself.
    if (!(await hasUniqueIndex(tx, scope.collection.id))) return write(rows);
    await tx.run(sql`SAVEPOINT cairn_bulk`);
    try {
      const done = await write(rows);
      await tx.run(sql`RELEASE SAVEPOINT cairn_bulk`);
      return done;
    } catch (e) {
      await tx.run(sql`ROLLBACK TO SAVEPOINT cairn_bulk`);
      await tx.run(sql`RELEASE SAVEPOINT cairn_bulk`);
      if (!isUniqueViolation(e)) throw e;
    }
    const done = new Set<string>();
    for (const row of rows) {
      await tx.run(sql`SAVEPOINT cairn_item`);
      try {
        for (const id of await write([row])) done.add(id);
        await tx.run(sql`RELEASE SAVEPOINT cairn_item`);
      } catch (e) {
        await tx.run(sql`ROLLBACK TO SAVEPOINT cairn_item`);
        await tx.run(sql`RELEASE SAVEPOINT cairn_item`);
        if (!isUniqueViolation(e)) throw e;
        const index = (row as { index?: number }).index ?? 0;
        outcomes[index] = {
          ok: false,
          originalIndex: index,
          id: idOf(row),
          error: new WixError('WDE0123', `Item [${idOf(row)}] clashes with another item on a unique index of [${scope.collection.id}]`, {
            itemId: idOf(row),
          }),
        };
      }
    }
    return done;
  }
}

/** An edit compiled to SQL: the new `data` and the guards a row must pass to take it. */
export type SqlEdit = (dialect: Executor['dialect'], now: string) => { data: Sql; guard: Sql };

function duplicate(id: string, scope: ItemScope): WixError {
  return new WixError('WDE0074', `Item [${id}] already exists in collection [${scope.collection.id}]`, { itemId: id, collectionId: scope.collection.id });
}

/** `id IN (...)`: one array parameter on PostgreSQL, a list on SQLite. */
function idIn(tx: Executor, ids: readonly string[]): Sql {
  if (tx.dialect === 'postgres') return sql`id = ANY(${[...ids]}::text[])`;
  return sql`id IN (${join(
    ids.map((id) => sql`${id}`),
    ', ',
  )})`;
}

/**
 * PostgreSQL: transaction-scoped advisory locks on (collection, environment, id), so that writes
 * deciding on an id's existence (save) run one after another for the same id, even while the row
 * does not exist yet (a row lock cannot cover that). Taken in hash order: no two transactions wait
 * on each other's locks in opposite orders.
 */
async function lockIdKeys(tx: Executor, scope: ItemScope, ids: readonly string[]): Promise<void> {
  const keys = [...new Set(ids)].map((id) => JSON.stringify([scope.collection.id, scope.env, id]));
  // One statement (one array parameter) for all keys, so the whole set is locked in one order.
  await tx.all(
    sql`SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtextextended(k, 0) AS h FROM unnest(${keys}::text[]) AS u(k)) AS t ORDER BY h`,
  );
}

async function hasUniqueIndex(tx: Executor, collectionId: string): Promise<boolean> {
  const rows = await tx.all<{ doc: string }>(sql`SELECT doc FROM item_indexes WHERE collection_id = ${collectionId}`);
  return rows.some((r) => (JSON.parse(r.doc) as { unique?: boolean }).unique === true);
}

function conditionFailed(id: string, scope: ItemScope): WixError {
  return new WixError('WDE0073', `Item [${id}] in collection [${scope.collection.id}] does not match the condition`, {
    itemId: id,
    collectionId: scope.collection.id,
    reason: 'CONDITION_NOT_MET',
  });
}

function duplicateInBatch(id: string): WixError {
  return new WixError('WDE0075', `Item [${id}] appears more than once in the request`, { itemId: id });
}
