/**
 * Reads by id from memory: a bounded copy of recent replies by id. The store is the truth, and
 * how the copy keeps up with it differs by store.
 *
 * **PostgreSQL: eventually consistent across processes**, as Wix Data's own reads are: without
 * `consistentRead: true` a read may lag a write made elsewhere (wix-data-api.md §4, "eventual
 * consistency otherwise, typically seconds"). Why: there a read by id is a round trip to another
 * process, and under load on a small machine waiting for it costs more than everything else a GET
 * does (docs/benchmarks.md). Three things keep it honest:
 *
 * - **This process's writes** bump their collection's generation after they commit
 *   (EventRecorder, on every items write path), before the write's reply is sent: a read that
 *   arrives after a write's reply never sees the old item from here. An entry records the
 *   generation its read started under and is stored only if that is still current when the
 *   row comes back, so a read that raced a write cannot store what the write replaced.
 * - **Other processes' writes** (API processes, task workers, the CLI, plain SQL) reach here as
 *   PostgreSQL notifications from a trigger on `items` (migration 12), sent when they commit:
 *   usually within a millisecond or two. While the listening connection is down nothing is
 *   served or stored, and when it comes back everything cached before is dropped.
 * - **Every entry expires** `ttlMs` after its read started, whatever is heard: the staleness
 *   bound if a notification is ever late.
 *
 * Callers that must see every committed write ask for `consistentRead`; the published client
 * does so by itself after a write (the `X-Wix-Consistent` header, src/http/consistency.ts).
 *
 * **SQLite files: exact.** Each lookup first reads the database's change counter
 * (`Db.changeVersion`, SQLite's `PRAGMA data_version`), which moves with every commit any
 * connection or process makes; `sync` drops everything when it has moved. An entry is only ever
 * served while the database is as it was when the entry's read began, so a read from here is the
 * read the store would have answered, and `consistentRead` need not skip it. Why bother on a
 * store in the same process: the counter costs about a third of what the read it replaces does
 * (the row lookup, its read lock's system calls, the SQL text and the reply text), and a GET by
 * id served from here costs about half of one that is not (docs/benchmarks.md). Every write
 * empties the whole copy, so it only pays where reads outnumber writes.
 */

/** What a lookup needs to store its result later: the generation and time its read started. */
export interface ReadTicket {
  readonly collectionId: string;
  readonly generation: number;
  readonly startedAt: number;
}

interface Entry {
  readonly collectionId: string;
  readonly generation: number;
  readonly expiresAt: number;
  readonly json: string;
}

export interface ReadCacheOptions {
  /** The longest an entry is served, from the start of the read that filled it. */
  readonly ttlMs?: number;
  /** The most bytes (UTF-16 code units, roughly) of reply text held. */
  readonly maxBytes?: number;
  /** Replies larger than this are not kept (one large item would evict hundreds of small ones). */
  readonly maxEntryBytes?: number;
  readonly now?: () => number;
}

export class ItemReadCache {
  private readonly entries = new Map<string, Entry>();
  private readonly generations = new Map<string, number>();
  /** Bumped when everything is dropped: entries and tickets from before no longer count. */
  private epoch = 0;
  private bytes = 0;
  /** Whether changes made elsewhere are being heard; nothing is served or stored while not. */
  private live = false;
  readonly ttlMs: number;
  private readonly maxBytes: number;
  private readonly maxEntryBytes: number;
  private readonly now: () => number;

  constructor(options: ReadCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 1000;
    this.maxBytes = options.maxBytes ?? 32 * 1024 * 1024;
    this.maxEntryBytes = options.maxEntryBytes ?? 64 * 1024;
    this.now = options.now ?? Date.now;
  }

  /** Lookups answered from here, and not (for /metrics). */
  hits = 0;
  misses = 0;

  /** The cached reply for `key` in `collectionId`, if one is still good. */
  lookup(collectionId: string, key: string): string | undefined {
    const entry = this.live ? this.entries.get(key) : undefined;
    if (entry === undefined) {
      this.misses++;
      return undefined;
    }
    if (entry.generation !== this.generationOf(collectionId) || entry.expiresAt <= this.now()) {
      this.drop(key, entry);
      this.misses++;
      return undefined;
    }
    this.hits++;
    return entry.json;
  }

  /** Taken before the read goes to the store; `store` checks it when the reply comes back. */
  ticket(collectionId: string): ReadTicket | undefined {
    if (!this.live) return undefined;
    return { collectionId, generation: this.generationOf(collectionId), startedAt: this.now() };
  }

  /** Keeps `json` for `key` unless a write to its collection (or a reset) came after the ticket. */
  store(ticket: ReadTicket, key: string, json: string): void {
    if (!this.live || ticket.generation !== this.generationOf(ticket.collectionId)) return;
    if (json.length > this.maxEntryBytes) return;
    const previous = this.entries.get(key);
    if (previous) this.drop(key, previous);
    this.entries.set(key, { collectionId: ticket.collectionId, generation: ticket.generation, expiresAt: ticket.startedAt + this.ttlMs, json });
    this.bytes += json.length + key.length;
    // Oldest first: a Map iterates in insertion order.
    for (const [oldKey, old] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.drop(oldKey, old);
    }
  }

  /** Items of `collectionId` changed (committed): what was read of it before no longer counts. */
  changed(collectionId: string): void {
    this.generations.set(collectionId, this.generationOf(collectionId) + 1);
  }

  /**
   * A notification: items of `collectionId` were changed by a commit anywhere (this process's
   * own included, which `changed` already knew of); '' means any collection.
   */
  changedElsewhere(collectionId: string): void {
    if (collectionId === '') this.reset();
    else this.changed(collectionId);
  }

  private version: number | undefined;

  /**
   * SQLite: the store's change counter now. A counter other than the last one seen means some
   * commit came in between (anywhere, in any collection): everything held goes.
   */
  sync(version: number): void {
    if (version === this.version) return;
    this.reset();
    this.version = version;
  }

  /** Anything may have changed (a notification was missed, or `TRUNCATE items`): drop it all. */
  reset(): void {
    this.epoch++;
    this.generations.clear();
    this.entries.clear();
    this.bytes = 0;
  }

  /** Whether changes elsewhere are heard. Turning on resets: what was missed meanwhile is unknown. */
  setLive(live: boolean): void {
    this.reset();
    this.live = live;
  }

  get isLive(): boolean {
    return this.live;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Reply text held, in UTF-16 code units (about bytes for ASCII). */
  get heldBytes(): number {
    return this.bytes;
  }

  /** A collection's generation, made unique across resets by folding in the epoch. */
  private generationOf(collectionId: string): number {
    return this.epoch * 2 ** 32 + (this.generations.get(collectionId) ?? 0);
  }

  private drop(key: string, entry: Entry): void {
    this.entries.delete(key);
    this.bytes -= entry.json.length + key.length;
  }
}
