/**
 * The task runner: claims a task, then works through its items in batches by id order. Each
 * batch is ONE transaction holding the item changes, the failures it recorded, the counters and
 * the resume cursor; so a process killed at any instant loses nothing and applies nothing twice.
 * Ownership is checked inside every batch transaction (the task row is locked on PostgreSQL), so
 * a worker whose lease ran out can never commit a batch of a task another worker took over.
 *
 * The runner also fires due publish schedules (SCHEDULE_* operations), each exactly once: the
 * schedule rows are deleted in the same transaction that changes the items' status.
 *
 * docs/tasks.md ("Execution model", "Cancelling") is the prose version of this file.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { setImmediate as yieldToEventLoop, setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from '../clock.js';
import type { CollectionService } from '../collections/service.js';
import { WixError } from '../errors.js';
import type { ItemWriter } from '../items/writer.js';
import { applyModifications } from '../items/patch.js';
import type { ItemScope } from '../items/scope.js';
import type { Db, Executor } from '../store/db.js';
import { join, sql } from '../store/sql.js';
import { TRUE } from '../query/ast.js';
import { copyField, editField, editFieldSql } from './edits.js';
import { planOf, type TaskPlan, type TaskRow } from './model.js';
import { advanceTask, claimTask, lockTask, recordFailures, releaseTask } from './sql.js';
import { recordTaskEvent } from './events.js';
import { TASK_EVENTS } from '../events/outbox.js';

export interface RunnerOptions {
  workerId?: string;
  /** Items in a task's first batch, and the fewest per batch (default 1000). */
  batchSize?: number;
  /**
   * The most items per batch (default: batchSize). Between the two, the runner sizes batches
   * by time: each batch's size is the last one's scaled towards `batchTargetMs` (at most
   * doubled, at least halved). Cheap changes (deletes) then take few transactions, and no batch
   * holds the database (or, on SQLite, the event loop) for long.
   */
  maxBatchSize?: number;
  /**
   * How long a batch should take, in ms. Default: 25 on SQLite, where a batch's statements run
   * on the event loop and requests wait for them; 200 on PostgreSQL, where they do not, and
   * where each batch's fixed cost (its own transaction, a few round trips) is worth spreading
   * over more items (a batch only holds the row locks of its own items).
   */
  batchTargetMs?: number;
  /** How long a claim lasts without a batch renewing it. */
  leaseMs?: number;
  /**
   * After each batch, pause for this share of the time the batch took (default 0.35 on SQLite,
   * 0 on PostgreSQL, where batches do not run on the event loop).
   */
  restShare?: number;
  /**
   * How many requests this process has received so far (the HTTP server counts them). With it,
   * the runner rests only while requests are coming in (one received in the last second): a
   * pause that no request uses only makes the task slower. Without it, the runner rests after
   * every batch.
   */
  requestsReceived?: () => number;
  /** How often an idle runner looks for work. */
  pollMs?: number;
  /** How often the runner purges deleted collections whose retention has ended (default 60 s; CollectionService.purgeExpired). */
  purgeEveryMs?: number;
  /** Backups and restorations waiting for the runner (src/backups/service.ts): one per pass. */
  backups?: { runPending(): Promise<boolean> };
  onError?: (e: unknown) => void;
  /**
   * Called after each batch of a task has committed, before the next one starts. The runner
   * waits for it, so tests can look at (or cancel) a task between two batches deterministically.
   */
  afterBatch?: (taskId: string, outcome: 'more' | 'done') => void | Promise<void>;
}

type BatchOutcome = 'more' | 'done' | 'lost';

/**
 * What a batch did: how many items it changed or failed on (`count`), how many matching ids it
 * read (`seen`: fewer than asked means none are left), the last id it reached, and its failures.
 * The two counts differ when another writer removes an item of the batch's range between the
 * read and the change: the task goes on, and the item is not counted.
 */
interface BatchResult {
  count: number;
  seen: number;
  last: string | undefined;
  failures: { id: string; error: WixError }[];
}

/** An edit batch: it saw `ids`; `visited` of them were still there to edit or fail on. */
const edited = (r: { ids: string[]; visited: number; failures: BatchResult['failures'] }): BatchResult => ({
  count: r.visited,
  seen: r.ids.length,
  last: r.ids[r.ids.length - 1],
  failures: r.failures,
});

/** A batch that worked on every id it read (in id order). */
const visited = (ids: string[]): BatchResult => edited({ ids, visited: ids.length, failures: [] });

export class TaskRunner {
  readonly workerId: string;
  private readonly batchSize: number;
  private readonly maxBatchSize: number;
  private readonly batchTargetMs: number;
  private readonly restShare: number;
  /** The request count last seen (options.requestsReceived), and when it last changed. */
  private requestsSeen = 0;
  private lastRequestAt = -Infinity;
  private readonly leaseMs: number;
  private readonly pollMs: number;
  private readonly purgeEveryMs: number;
  /** When (performance.now()) the runner last looked for expired deletions. */
  private lastPurgeAt = -Infinity;
  private stopping = false;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  /**
   * Set by notify(). A notification that arrives while a pass is under way (its claim may have
   * read the queue before the new task was stored) makes the loop go round again instead of
   * reporting idle or sleeping, so whenIdle() never resolves with work left behind.
   */
  private poked = false;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(
    private readonly db: Db,
    private readonly collections: CollectionService,
    private readonly writer: ItemWriter,
    private readonly clock: Clock,
    private readonly options: RunnerOptions = {},
  ) {
    this.workerId = options.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.batchSize = options.batchSize ?? 1000;
    this.maxBatchSize = Math.max(this.batchSize, options.maxBatchSize ?? this.batchSize);
    this.batchTargetMs = options.batchTargetMs ?? (db.dialect === 'postgres' ? 200 : 25);
    this.restShare = options.restShare ?? (db.dialect === 'postgres' ? 0 : 0.35);
    this.leaseMs = options.leaseMs ?? 30_000;
    this.pollMs = options.pollMs ?? 500;
    this.purgeEveryMs = options.purgeEveryMs ?? 60_000;
  }

  start(): void {
    if (!this.loop) this.loop = this.run();
  }

  /** Looks for work now instead of at the next poll (a task was just created). */
  notify(): void {
    this.poked = true;
    this.wake?.();
  }

  /** Finishes the batch in flight, hands the task back, and stops. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
  }

  /**
   * Resolves once a whole pass of the runner that began after this call found nothing to do: no
   * task to run and no schedule due (tests, the embedded library).
   */
  whenIdle(): Promise<void> {
    return new Promise((resolve) => {
      // A stopped runner will never pass again: waiting for it would hang.
      if (this.stopping) return resolve();
      this.idleWaiters.push(resolve);
      this.notify();
    });
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      this.poked = false;
      let worked = false;
      try {
        worked = (await this.fireDueSchedules()) > 0;
        if (performance.now() - this.lastPurgeAt >= this.purgeEveryMs) {
          this.lastPurgeAt = performance.now();
          if ((await this.collections.purgeExpired()) > 0) worked = true;
        }
        if (this.options.backups && (await this.options.backups.runPending())) worked = true;
        const task = await this.claim();
        if (task) {
          worked = true;
          await this.execute(task);
        }
      } catch (e) {
        this.options.onError?.(e);
      }
      if (!worked) {
        // Stopped, or poked, while this pass ran (wake() had no sleep to end): no sleep now.
        if (this.poked || this.stopping) continue;
        for (const w of this.idleWaiters.splice(0)) w();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.pollMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private leaseUntil(): string {
    // Leases are about real time (is the worker alive?), not the business clock tests control.
    return new Date(Date.now() + this.leaseMs).toISOString();
  }

  private claim(): Promise<TaskRow | undefined> {
    return this.db.transaction(async (tx) => {
      const now = this.clock.now().toISOString();
      const task = await claimTask(tx, this.workerId, new Date().toISOString(), this.leaseUntil(), now);
      // The first claim is the task's start (later ones take over from a worker that died).
      if (task && Number(task.attempts) === 1) await recordTaskEvent(tx, this.writer.events, task.id, TASK_EVENTS.statusChanged, now);
      return task;
    });
  }

  private async execute(task: TaskRow): Promise<void> {
    let transientErrors = 0;
    let size = this.batchSize;
    for (;;) {
      if (this.stopping) {
        await this.db.transaction((tx) => releaseTask(tx, task.id, this.workerId));
        return;
      }
      let outcome: BatchOutcome;
      let elapsed = 0;
      try {
        const started = performance.now();
        outcome = await this.db.transaction((tx) => this.batch(tx, task.id, size));
        elapsed = performance.now() - started;
        size = this.nextBatchSize(size, elapsed);
        transientErrors = 0;
      } catch (e) {
        if (e instanceof WixError || ++transientErrors > 3) {
          await this.fail(task.id, e);
          return;
        }
        this.options.onError?.(e);
        await new Promise((r) => setTimeout(r, 100 * 2 ** transientErrors));
        continue;
      }
      if (outcome !== 'lost') await this.options.afterBatch?.(task.id, outcome);
      if (outcome !== 'more') return;
      // On SQLite, batches back to back would never let the log start over (Db.settleLog).
      await this.db.settleLog?.();
      // Let requests in between batches (on SQLite the statements run on the event loop), and
      // on SQLite leave the process a share of the time the batch took when requests are
      // coming in: back-to-back batches would keep the CPU for the task alone, and requests
      // would queue behind them. Requests that arrived during the batch are received in the
      // turn the runner yields.
      await yieldToEventLoop();
      if (this.restShare > 0 && this.serving()) await sleep(Math.min(100, elapsed * this.restShare));
    }
  }

  /**
   * Whether requests are coming in: one was received in the last second (always true when the
   * runner is not told about requests). A request arriving at any moment of a batch waits for
   * it; rests between batches while traffic flows keep that wait to one batch at most.
   */
  private serving(): boolean {
    const received = this.options.requestsReceived?.();
    if (received === undefined) return true;
    const now = performance.now();
    if (received !== this.requestsSeen) {
      this.requestsSeen = received;
      this.lastRequestAt = now;
    }
    return now - this.lastRequestAt < 1000;
  }

  /**
   * The next batch's size: this one's, scaled by how far its time was from the target (at most
   * doubled, at least halved, between batchSize and maxBatchSize), so batches converge on the
   * target instead of drifting anywhere between half and twice it. On SQLite a request that
   * arrives as a batch starts waits for all of it: the batch time is the API's worst latency.
   */
  private nextBatchSize(size: number, elapsedMs: number): number {
    const factor = elapsedMs > 0 ? Math.min(2, Math.max(0.5, this.batchTargetMs / elapsedMs)) : 2;
    return Math.min(this.maxBatchSize, Math.max(this.batchSize, Math.floor(size * factor)));
  }

  private async batch(tx: Executor, taskId: string, size: number): Promise<BatchOutcome> {
    const task = await lockTask(tx, taskId);
    if (!task || task.locked_by !== this.workerId || task.status !== 'RUNNING') return 'lost';
    const now = this.clock.now().toISOString();
    if (task.cancel_requested === true || task.cancel_requested === 1) {
      await recordFailures(tx, task, [{ code: 'CANCELLED', description: 'The task was cancelled' }]);
      await advanceTask(tx, task.id, this.workerId, {
        cursor: task.cursor, succeeded: 0, failed: 0, failures: 1, leaseUntil: this.leaseUntil(), now, finish: 'FAILED',
      });
      await recordTaskEvent(tx, this.writer.events, task.id, TASK_EVENTS.statusChanged, now);
      return 'done';
    }
    const plan = planOf(task.kind, task.type, JSON.parse(task.options));
    const collection = await this.collections.get(task.collection_id, tx);
    const scope: ItemScope = {
      collection,
      env: task.env as ItemScope['env'],
      includeDrafts: plan.type === 'DELETE_BY_QUERY' ? plan.includeDrafts || !collection.plugins.some((p) => p.type === 'PUBLISH') : true,
    };
    const result = await this.runPlan(tx, task, plan, scope, size);
    const last = result.last;
    const failures = result.failures.map((f) => {
      const e = f.error.toApplicationError();
      return { code: e.code, description: e.description, data: { ...e.data, itemId: f.id }, itemId: f.id };
    });
    await recordFailures(tx, task, failures);
    const finished = result.seen < size;
    const changed = await advanceTask(tx, task.id, this.workerId, {
      cursor: last ?? task.cursor,
      succeeded: result.count - result.failures.length,
      failed: result.failures.length,
      failures: failures.length,
      leaseUntil: this.leaseUntil(),
      now,
      ...(finished ? { finish: 'COMPLETED' as const } : {}),
    });
    if (changed === 0) throw new Error('task ownership changed inside a locked batch');
    await recordTaskEvent(tx, this.writer.events, task.id, finished ? TASK_EVENTS.statusChanged : TASK_EVENTS.progress, now);
    return finished ? 'done' : 'more';
  }

  private async runPlan(tx: Executor, task: TaskRow, plan: TaskPlan, scope: ItemScope, n: number): Promise<BatchResult> {
    const after = task.cursor;
    switch (plan.type) {
      case 'DELETE_BY_QUERY':
        return { ...(await this.writer.removeBatch(tx, scope, plan.filter, after, n)), failures: [] };
      case 'COPY_FIELD_DATA':
        return edited(await this.writer.editBatch(tx, scope, TRUE, after, n, copyField(plan)));
      case 'EDIT_FIELD_DATA':
        return edited(await this.writer.editBatch(tx, scope, plan.filter, after, n, editField(plan), editFieldSql(plan)));
      case 'PATCH_BY_FILTER':
        return edited(await this.writer.editBatch(tx, scope, plan.filter, after, n, (fields) => applyModifications(fields, plan.modifications)));
      case 'UPDATE_PUBLISH_STATUS': {
        switch (plan.operation) {
          case 'SET_PUBLISHED_STATUS':
          case 'SET_DRAFT_STATUS': {
            const status = plan.operation === 'SET_PUBLISHED_STATUS' ? 'PUBLISHED' : 'DRAFT';
            return edited({ ...(await this.writer.publishStatusBatch(tx, scope, plan.filter, after, n, status)), failures: [] });
          }
          case 'SCHEDULE_PUBLISHED_STATUS':
          case 'SCHEDULE_DRAFT_STATUS': {
            const ids = await this.writer.nextIds(tx, scope, plan.filter, after, n);
            const target = plan.operation === 'SCHEDULE_PUBLISHED_STATUS' ? 'PUBLISHED' : 'DRAFT';
            if (ids.length) {
              await tx.run(sql`INSERT INTO item_schedules (collection_id, env, item_id, target_status, run_at, task_id)
                VALUES ${join(
                  ids.map((id) => sql`(${scope.collection.id}, ${scope.env}, ${id}, ${target}, ${plan.date}, ${task.id})`),
                  ', ',
                )}
                ON CONFLICT (collection_id, env, item_id, target_status) DO UPDATE SET run_at = excluded.run_at, task_id = excluded.task_id`);
            }
            return visited(ids);
          }
          case 'CANCEL_SCHEDULING': {
            const ids = await this.writer.nextIds(tx, scope, plan.filter, after, n);
            if (ids.length) {
              await tx.run(sql`DELETE FROM item_schedules WHERE collection_id = ${scope.collection.id} AND env = ${scope.env}
                AND item_id IN (${join(
                  ids.map((id) => sql`${id}`),
                  ', ',
                )})`);
            }
            return visited(ids);
          }
        }
      }
    }
  }

  private async fail(taskId: string, error: unknown): Promise<void> {
    const failure =
      error instanceof WixError ? error.toApplicationError() : { code: 'WDE0053', description: 'Internal error while running the task' };
    if (!(error instanceof WixError)) this.options.onError?.(error);
    await this.db.transaction(async (tx) => {
      const task = await lockTask(tx, taskId);
      if (!task || task.locked_by !== this.workerId) return;
      await recordFailures(tx, task, [failure]);
      const now = this.clock.now().toISOString();
      await advanceTask(tx, task.id, this.workerId, {
        cursor: task.cursor, succeeded: 0, failed: 0, failures: 1, leaseUntil: this.leaseUntil(), now, finish: 'FAILED',
      });
      await recordTaskEvent(tx, this.writer.events, task.id, TASK_EVENTS.statusChanged, now);
    });
  }

  /** Applies every schedule whose time has come; returns how many fired. */
  async fireDueSchedules(): Promise<number> {
    const now = this.clock.now().toISOString();
    return this.db.transaction(async (tx) => {
      const due = await tx.all<{ collection_id: string; env: string; item_id: string; target_status: 'PUBLISHED' | 'DRAFT'; run_at: string }>(
        sql`DELETE FROM item_schedules WHERE run_at <= ${now} RETURNING collection_id, env, item_id, target_status, run_at`,
      );
      if (due.length === 0) return 0;
      due.sort((a, b) => (a.run_at < b.run_at ? -1 : a.run_at > b.run_at ? 1 : 0));
      const groups = new Map<string, { collection: string; env: string; status: 'PUBLISHED' | 'DRAFT'; ids: string[] }>();
      for (const d of due) {
        const key = `${d.collection_id}\u0000${d.env}\u0000${d.target_status}\u0000${d.run_at}`;
        const g = groups.get(key) ?? { collection: d.collection_id, env: d.env, status: d.target_status, ids: [] };
        g.ids.push(d.item_id);
        groups.set(key, g);
      }
      for (const g of groups.values()) {
        const collection = await this.collections.find(g.collection, tx);
        if (!collection) continue;
        await this.writer.setPublishStatus(tx, { collection, env: g.env as ItemScope['env'], includeDrafts: true }, g.ids, g.status);
      }
      return due.length;
    });
  }
}
