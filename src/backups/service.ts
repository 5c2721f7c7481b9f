/**
 * Backups (docs/backups.md): Wix's Backups API over Cairn's store.
 *
 * Creating a backup or a restoration stores a PENDING row and returns it; the task runner (in
 * `npm start` or `npm run worker`) does the work in one transaction, which ends by marking the
 * row READY (a backup) or COMPLETED (a restoration). A crash before that commit leaves the row
 * PENDING and nothing half copied, and the next runner pass starts it again. On PostgreSQL, runners
 * claim rows with `FOR UPDATE SKIP LOCKED`, so two workers never take the same one.
 *
 * As on Wix: backups hold the live items of every collection (not the sandbox), at most three
 * on-demand backups are kept (a fourth replaces the oldest), and a restoration replaces the
 * restored collections' live items with the backup's.
 */
import { timeOrderedId } from '../ids.js';
import type { Clock } from '../clock.js';
import type { CollectionService } from '../collections/service.js';
import { BACKUP_EVENTS, type EventRecorder } from '../events/outbox.js';
import { WixError } from '../errors.js';
import type { Db, Executor } from '../store/db.js';
import { join, sql, type Sql } from '../store/sql.js';
import { dropBackupData, restoreTargets, takeBackup } from './copy.js';
import { isUniqueViolation } from '../collections/indexes.js';
import {
  BACKUP_STATUSES,
  BACKUP_TYPES,
  RESTORATION_STATUSES,
  backupId,
  backupToWire,
  enumFilter,
  listPaging,
  requestedCollections,
  restorationTargets,
  restorationToWire,
  type BackupCollection,
  type BackupRow,
  type BackupType,
  type RestorationRow,
  type RestorationTarget,
} from './model.js';
import type { JsonObject } from '../wire/json.js';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

/** How many backups of each type are kept: Wix keeps three on-demand ones. */
export const KEPT_BACKUPS = 3;
/** A backup or restoration that failed this many times for reasons other than its input is FAILED. */
const MAX_ATTEMPTS = 3;

export interface BackupServiceOptions {
  /** Take an AUTO backup when the newest is older than this many hours (0: never; CAIRN_BACKUP_AUTO_HOURS). */
  autoEveryHours?: number;
}

const list = (values: readonly string[]) => join(values.map((v) => sql`${v}`), ', ');

export class BackupService {
  /** Set by the app: wakes the task runner when there is new work. */
  onQueued: (() => void) | undefined;
  private readonly autoEveryMs: number;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    private readonly collections: CollectionService,
    private readonly events: EventRecorder,
    options: BackupServiceOptions = {},
  ) {
    this.autoEveryMs = Math.max(0, options.autoEveryHours ?? 0) * 3_600_000;
  }

  /**
   * Create Backup: a PENDING on-demand backup of every collection, or of those `backup.collections`
   * names (each must exist: WDE0025); the oldest on-demand backup beyond three goes.
   */
  async create(rawBackup?: unknown, type: BackupType = 'ON_DEMAND'): Promise<JsonObject> {
    const only = requestedCollections(rawBackup);
    for (const c of only ?? []) await this.collections.get(c);
    const id = timeOrderedId();
    const now = this.clock.now().toISOString();
    const onlyJson = only === undefined ? null : JSON.stringify(only);
    const row = await this.db.transaction(async (tx) => {
      const onlyParam = onlyJson === null ? sql`NULL` : tx.dialect === 'postgres' ? sql`${onlyJson}::jsonb` : sql`${onlyJson}`;
      await tx.run(sql`INSERT INTO backups (id, type, status, requested_date, only_collections) VALUES (${id}, ${type}, 'PENDING', ${now}, ${onlyParam})`);
      await this.keepNewest(tx, type, id, now);
      await this.backupEvent(tx, id, now);
      return (await tx.get<BackupRow>(sql`SELECT * FROM backups WHERE id = ${id}`)) as BackupRow;
    });
    this.onQueued?.();
    return backupToWire(row, []);
  }

  /**
   * The new backup and the newest KEPT_BACKUPS - 1 others of its type are kept; older ones are
   * deleted (a pending one too). Ids are time-ordered, so they break ties between backups
   * requested in the same millisecond (or under a clock standing still).
   */
  private async keepNewest(tx: Executor, type: BackupType, newId: string, now: string): Promise<void> {
    const rows = await tx.all<{ id: string }>(
      sql`SELECT id FROM backups WHERE type = ${type} AND status IN ('PENDING', 'READY') AND id <> ${newId} ORDER BY requested_date DESC, id DESC`,
    );
    for (const { id } of rows.slice(KEPT_BACKUPS - 1)) await this.markDeleted(tx, id, now);
  }

  private async markDeleted(tx: Executor, id: string, now: string): Promise<void> {
    // The row first: on PostgreSQL this waits for a runner that is taking the backup to commit,
    // so that the statements after it see, and remove, what it copied. The event before the
    // copies go, so that it still lists the backup's collections.
    await tx.run(sql`UPDATE backups SET status = 'DELETED', deleted_date = ${now} WHERE id = ${id}`);
    await this.backupEvent(tx, id, now);
    await dropBackupData(tx, id);
  }

  /** Records the backup's state changed event, in the caller's transaction, with the backup as List Backups shows it. */
  private async backupEvent(tx: Executor, id: string, now: string): Promise<void> {
    if (!this.events.enabled) return;
    const row = await tx.get<BackupRow>(sql`SELECT * FROM backups WHERE id = ${id}`);
    if (!row) return;
    const [backup] = await this.wire(tx, [row]);
    await this.events.record(tx, [{ type: BACKUP_EVENTS.backupStateChanged, collectionId: null, env: null, entityId: id, data: JSON.stringify({ backup }) }], now);
  }

  /** Records the restoration's state changed event, in the caller's transaction. */
  private async restorationEvent(tx: Executor, id: string, now: string): Promise<void> {
    if (!this.events.enabled) return;
    const row = await tx.get<RestorationRow>(sql`SELECT * FROM restorations WHERE id = ${id}`);
    if (!row) return;
    const [restoration] = await this.restorationsWire(tx, [row]);
    await this.events.record(tx, [{ type: BACKUP_EVENTS.restorationStateChanged, collectionId: null, env: null, entityId: id, data: JSON.stringify({ restoration }) }], now);
  }

  /** The backup's row, or WDE0073 (404) when there is none. */
  private async row(executor: Executor, id: string): Promise<BackupRow> {
    const row = await executor.get<BackupRow>(sql`SELECT * FROM backups WHERE id = ${id}`);
    if (!row) throw new WixError('WDE0073', `Backup [${id}] does not exist`, { backupId: id });
    return row;
  }

  private async collectionsOf(executor: Executor, ids: readonly string[]): Promise<Map<string, BackupCollection[]>> {
    const out = new Map<string, BackupCollection[]>(ids.map((id) => [id, []]));
    if (ids.length === 0) return out;
    const rows = await executor.all<{ backup_id: string; collection_id: string; doc: string }>(
      sql`SELECT backup_id, collection_id, doc FROM backup_collections WHERE backup_id IN (${list(ids)}) ORDER BY backup_id, collection_id`,
    );
    for (const r of rows) {
      const doc = JSON.parse(r.doc) as { displayName?: string };
      out.get(r.backup_id)?.push({ id: r.collection_id, displayName: doc.displayName ?? r.collection_id });
    }
    return out;
  }

  private async wire(executor: Executor, rows: readonly BackupRow[]): Promise<JsonObject[]> {
    const collections = await this.collectionsOf(executor, rows.map((r) => r.id));
    return rows.map((r) => backupToWire(r, collections.get(r.id) ?? []));
  }

  /**
   * List Backups, newest first, filtered by `status` and `type` (each one value or several).
   * Without a status filter, deleted backups are left out; `status: DELETED` lists them.
   */
  async list(rawStatus: unknown, rawType: unknown, rawPaging: unknown): Promise<{ backups: JsonObject[]; pagingMetadata: JsonObject }> {
    const status = enumFilter(rawStatus, BACKUP_STATUSES, 'status') ?? BACKUP_STATUSES.filter((s) => s !== 'DELETED');
    const type = enumFilter(rawType, BACKUP_TYPES, 'type') ?? [...BACKUP_TYPES];
    const { limit, offset } = listPaging(rawPaging);
    const where = sql`status IN (${list(status)}) AND type IN (${list(type)})`;
    const rows = await this.db.all<BackupRow>(sql`SELECT * FROM backups WHERE ${where} ORDER BY requested_date DESC, id DESC LIMIT ${limit} OFFSET ${offset}`);
    const total = await this.db.get<{ n: number | string }>(sql`SELECT count(*) AS n FROM backups WHERE ${where}`);
    return { backups: await this.wire(this.db, rows), pagingMetadata: { count: rows.length, offset, total: Number(total?.n ?? 0) } };
  }

  /** Delete Backup: its copied data goes at once; the row stays, DELETED. A backup a pending restoration needs cannot go. */
  async remove(rawId: unknown): Promise<void> {
    const id = backupId(rawId);
    const now = this.clock.now().toISOString();
    await this.db.transaction(async (tx) => {
      const row = await this.row(tx, id);
      if (row.status === 'DELETED') throw new WixError('WDE0073', `Backup [${id}] was deleted`, { backupId: id });
      const pending = await tx.get(sql`SELECT 1 AS p FROM restorations WHERE backup_id = ${id} AND status = 'PENDING'`);
      if (pending) throw new WixError('WDE0080', `Backup [${id}] has a restoration in progress; delete it once the restoration has ended`, { backupId: id });
      await this.markDeleted(tx, id, now);
    });
  }

  /**
   * Restore Backup (every collection in it) or Restore Partial Backup (`targets`): a PENDING
   * restoration of a READY backup.
   */
  async restore(rawId: unknown, rawTargets?: unknown): Promise<JsonObject> {
    const id = backupId(rawId);
    const now = this.clock.now().toISOString();
    const restorationId = timeOrderedId();
    const row = await this.db.transaction(async (tx) => {
      const backup = await this.row(tx, id);
      if (backup.status !== 'READY') {
        throw new WixError('WDE0080', `Backup [${id}] is ${backup.status}: only a READY backup can be restored`, { backupId: id, status: backup.status });
      }
      const inBackup = (await tx.all<{ collection_id: string }>(sql`SELECT collection_id FROM backup_collections WHERE backup_id = ${id} ORDER BY collection_id`)).map((r) => r.collection_id);
      const targets: RestorationTarget[] =
        rawTargets === undefined ? inBackup.map((c) => ({ source: c, destination: c })) : restorationTargets(rawTargets, new Set(inBackup));
      const json = JSON.stringify(targets);
      await tx.run(sql`INSERT INTO restorations (id, backup_id, status, collections, requested_date)
        VALUES (${restorationId}, ${id}, 'PENDING', ${tx.dialect === 'postgres' ? sql`${json}::jsonb` : sql`${json}`}, ${now})`);
      await this.restorationEvent(tx, restorationId, now);
      return (await tx.get<RestorationRow>(sql`SELECT * FROM restorations WHERE id = ${restorationId}`)) as RestorationRow;
    });
    this.onQueued?.();
    return (await this.restorationsWire(this.db, [row]))[0] as JsonObject;
  }

  private async restorationsWire(executor: Executor, rows: readonly RestorationRow[]): Promise<JsonObject[]> {
    const ids = [...new Set(rows.map((r) => r.backup_id))];
    const backups = ids.length === 0 ? [] : await executor.all<BackupRow>(sql`SELECT * FROM backups WHERE id IN (${list(ids)})`);
    const wired = new Map((await this.wire(executor, backups)).map((b) => [b.id as string, b]));
    return rows.map((r) => restorationToWire(r, wired.get(r.backup_id) ?? { id: r.backup_id }));
  }

  /** List Restorations, newest first, filtered by `status`. */
  async listRestorations(rawStatus: unknown, rawPaging: unknown): Promise<{ restorations: JsonObject[]; pagingMetadata: JsonObject }> {
    const status = enumFilter(rawStatus, RESTORATION_STATUSES, 'status') ?? [...RESTORATION_STATUSES];
    const { limit, offset } = listPaging(rawPaging);
    const where = sql`status IN (${list(status)})`;
    const rows = await this.db.all<RestorationRow>(sql`SELECT * FROM restorations WHERE ${where} ORDER BY requested_date DESC, id DESC LIMIT ${limit} OFFSET ${offset}`);
    const total = await this.db.get<{ n: number | string }>(sql`SELECT count(*) AS n FROM restorations WHERE ${where}`);
    return { restorations: await this.restorationsWire(this.db, rows), pagingMetadata: { count: rows.length, offset, total: Number(total?.n ?? 0) } };
  }

  /**
   * The runner's share: takes an AUTO backup when one is due, then runs the oldest pending backup,
   * or else the oldest pending restoration. Returns whether it did anything.
   */
  async runPending(): Promise<boolean> {
    await this.autoBackupIfDue();
    return (await this.runNext('backups')) || (await this.runNext('restorations'));
  }

  private async autoBackupIfDue(): Promise<void> {
    if (this.autoEveryMs === 0) return;
    const newest = await this.db.get<{ d: string | null }>(sql`SELECT max(requested_date) AS d FROM backups WHERE type = 'AUTO' AND status IN ('PENDING', 'READY')`);
    const due = !newest?.d || Date.parse(newest.d) <= this.clock.now().getTime() - this.autoEveryMs;
    // A store without collections has nothing to keep: its first AUTO backup waits for one.
    if (due && (await this.db.get(sql`SELECT 1 AS any FROM collections LIMIT 1`))) await this.create(undefined, 'AUTO');
  }

  /** Claims the oldest PENDING row of `table` and does its work, all in one transaction. */
  private async runNext(table: 'backups' | 'restorations'): Promise<boolean> {
    const t = table === 'backups' ? sql`backups` : sql`restorations`;
    // A read first: an idle runner asks on every pass, and a write transaction for nothing would
    // take SQLite's write lock each time.
    if (!(await this.db.get(sql`SELECT 1 AS pending FROM ${t} WHERE status = 'PENDING' LIMIT 1`))) return false;
    const claim = (tx: Executor): Sql =>
      sql`SELECT * FROM ${t} WHERE status = 'PENDING' ORDER BY requested_date, id LIMIT 1${tx.dialect === 'postgres' ? sql` FOR UPDATE SKIP LOCKED` : sql``}`;
    let claimed: string | undefined;
    try {
      return await this.db.transaction(async (tx) => {
        // One snapshot for the whole copy (PostgreSQL's default gives each statement its own).
        if (tx.dialect === 'postgres' && table === 'backups') await tx.run(sql`SET TRANSACTION ISOLATION LEVEL REPEATABLE READ`);
        const row = await tx.get<BackupRow | RestorationRow>(claim(tx));
        if (!row) return false;
        claimed = row.id;
        const started = this.clock.now().toISOString();
        if (table === 'backups') {
          const backup = row as BackupRow;
          const only = backup.only_collections === null ? undefined : (JSON.parse(backup.only_collections) as string[]);
          const size = await takeBackup(tx, row.id, only, tx.dialect === 'sqlite' ? () => yieldToEventLoop() : undefined);
          const finished = this.clock.now().toISOString();
          await tx.run(sql`UPDATE backups SET status = 'READY', started_date = ${started}, finished_date = ${finished}, size_bytes = ${size} WHERE id = ${row.id}`);
          await this.backupEvent(tx, row.id, finished);
        } else {
          await this.restoreIn(tx, row as RestorationRow, started);
        }
        return true;
      });
    } catch (e) {
      if (claimed === undefined) {
        // PostgreSQL: another runner finished the row between this transaction's snapshot and
        // its claim (REPEATABLE READ refuses to lock a row changed since): it is done, not failed.
        if ((e as { code?: unknown }).code === '40001') return false;
        throw e;
      }
      await this.failed(table, claimed, e);
      return true;
    }
  }

  private async restoreIn(tx: Executor, row: RestorationRow, started: string): Promise<void> {
    // PostgreSQL: a deletion of the backup waits for this restoration (its UPDATE needs the row),
    // so the copies cannot go while they are read back.
    const backup = await tx.get<{ status: string }>(sql`SELECT status FROM backups WHERE id = ${row.backup_id}${tx.dialect === 'postgres' ? sql` FOR SHARE` : sql``}`);
    if (backup?.status !== 'READY') throw new WixError('WDE0073', `Backup [${row.backup_id}] is no longer available`, { backupId: row.backup_id });
    const targets = JSON.parse(row.collections) as RestorationTarget[];
    try {
      await restoreTargets(tx, this.collections, this.events, row.backup_id, targets, started, tx.dialect === 'sqlite' ? () => yieldToEventLoop() : undefined);
    } catch (e) {
      if (isUniqueViolation(e)) throw new WixError('WDE0123', "The backup's items would break a unique index of a collection they are restored into");
      throw e;
    }
    const finished = this.clock.now().toISOString();
    await tx.run(sql`UPDATE restorations SET status = 'COMPLETED', started_date = ${started}, finished_date = ${finished} WHERE id = ${row.id}`);
    await this.restorationEvent(tx, row.id, finished);
  }

  /**
   * A backup or restoration whose transaction failed (and rolled back): FAILED at once when its
   * input is at fault (a WixError), else after MAX_ATTEMPTS tries (a lost connection, a
   * serialization failure); the last error is kept in the row either way.
   */
  private async failed(table: 'backups' | 'restorations', id: string, e: unknown): Promise<void> {
    const final = e instanceof WixError;
    const message = e instanceof Error ? e.message : String(e);
    const now = this.clock.now().toISOString();
    const t = table === 'backups' ? sql`backups` : sql`restorations`;
    await this.db.transaction(async (tx) => {
      await tx.run(sql`UPDATE ${t} SET attempts = attempts + 1, error = ${message},
        status = CASE WHEN ${final} OR attempts + 1 >= ${MAX_ATTEMPTS} THEN 'FAILED' ELSE status END,
        finished_date = CASE WHEN ${final} OR attempts + 1 >= ${MAX_ATTEMPTS} THEN ${now} ELSE finished_date END
        WHERE id = ${id} AND status = 'PENDING'`);
      const row = await tx.get<{ status: string }>(sql`SELECT status FROM ${t} WHERE id = ${id}`);
      if (row?.status !== 'FAILED') return;
      if (table === 'backups') await this.backupEvent(tx, id, now);
      else await this.restorationEvent(tx, id, now);
    });
  }
}
