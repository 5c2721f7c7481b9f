/**
 * Reads by id, coalesced (PostgreSQL). Every statement on PostgreSQL is a round trip and a
 * parse-plan-execute in a server process; under concurrent GETs that per-statement cost, not the
 * lookup, is what a request pays. Lookups by id that arrive in the same turn of the event loop for
 * the same scope go to the database together as one `id = ANY($ids)` statement, and each caller
 * gets its own row back (DataLoader's batching, without its cache).
 *
 * Nothing is read earlier than it would have been: a batch is sent at the end of the turn in
 * which its first lookup arrived (or, while two statements are running, when one ends), always
 * after its lookups' requests were received, so a read still sees every write acknowledged
 * before its request. Nothing is shared between callers but the
 * statement: rows are matched to callers by id, within the same scope condition each caller's
 * own statement would have had (collection, environment, drafts, owner).
 *
 * SQLite needs none of this: a lookup there is a function call in this process.
 */
import type { Db } from '../store/db.js';
import { prepared, sql } from '../store/sql.js';
import { scopeWhere, type ItemScope } from './scope.js';

export interface ItemRow {
  id: string;
  data: string;
  publish_status: string;
}

/** A batch's ids in the order asked, each with the callers waiting for it. */
interface Batch {
  readonly scope: ItemScope;
  readonly waiting: Map<string, { resolve: (row: ItemRow | undefined) => void; reject: (e: unknown) => void }[]>;
}

/**
 * The most ids in one statement. A turn of the event loop rarely holds more than the number of
 * open connections; the bound keeps one statement's parameter array small whatever the load.
 */
const MAX_BATCH = 500;

export class PointReads {
  /** Batches still taking lookups, by scope key. */
  private readonly open = new Map<string, Batch>();
  /** Batches that are full, or closed by the end of their turn, waiting for a statement slot. */
  private readonly ready: Batch[] = [];
  private inFlight = 0;
  private flushScheduled = false;

  /**
   * `maxInFlight`: statements of this reader running at once. While they run, lookups gather
   * into the next batch, so the busier the database, the larger (and fewer) the statements.
   */
  constructor(
    private readonly db: Db,
    private readonly maxInFlight = 2,
  ) {}

  /** The row of `id` in `scope`, or undefined when there is none (or the scope may not see it). */
  get(scope: ItemScope, id: string): Promise<ItemRow | undefined> {
    const key = scopeKey(scope);
    let batch = this.open.get(key);
    if (batch === undefined) {
      batch = { scope, waiting: new Map() };
      this.open.set(key, batch);
    }
    const promise = new Promise<ItemRow | undefined>((resolve, reject) => {
      const callers = (batch as Batch).waiting.get(id);
      if (callers) callers.push({ resolve, reject });
      else (batch as Batch).waiting.set(id, [{ resolve, reject }]);
    });
    if (batch.waiting.size >= MAX_BATCH) {
      this.open.delete(key);
      this.ready.push(batch);
    }
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => {
        this.flushScheduled = false;
        this.flush();
      });
    }
    return promise;
  }

  private flush(): void {
    if (this.inFlight >= this.maxInFlight) return;
    for (const [key, batch] of this.open) {
      this.open.delete(key);
      this.ready.push(batch);
    }
    while (this.inFlight < this.maxInFlight && this.ready.length > 0) this.send(this.ready.shift() as Batch);
  }

  private send(batch: Batch): void {
    const ids = [...batch.waiting.keys()];
    // Prepared: the texts are few (one per scope shape), and parsing and planning them again on
    // every call would cost about as much as the lookup. One id or many, the same text.
    const statement = prepared(sql`SELECT id, data, publish_status FROM items WHERE ${scopeWhere(batch.scope)} AND id = ANY(${ids}::text[])`);
    this.inFlight++;
    this.db
      .all<ItemRow>(statement)
      .then(
        (rows) => {
          const byId = new Map(rows.map((r) => [r.id, r]));
          for (const [id, callers] of batch.waiting) for (const c of callers) c.resolve(byId.get(id));
        },
        (e: unknown) => {
          for (const callers of batch.waiting.values()) for (const c of callers) c.reject(e);
        },
      )
      .finally(() => {
        this.inFlight--;
        this.flush();
      });
  }
}

/** Calls whose scopes have the same key would have had the same WHERE clause apart from the id. */
export function scopeKey(scope: ItemScope): string {
  return JSON.stringify([scope.collection.id, scope.env, scope.includeDrafts, scope.ownerOnly ?? null]);
}
