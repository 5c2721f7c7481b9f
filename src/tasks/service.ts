/**
 * TaskService: create, get, list and cancel background tasks, and the items API's async jobs.
 * Creating a task validates it completely, counts the items it will touch, and stores it as NEW
 * in one statement; a runner (in this process or another) picks it up. See docs/tasks.md.
 */
import { timeOrderedId } from '../ids.js';
import type { Clock } from '../clock.js';
import { publishPlugin, validCollectionId } from '../collections/model.js';
import type { CollectionService } from '../collections/service.js';
import { WixError } from '../errors.js';
import { TRUE } from '../query/ast.js';
import { makeScope } from '../items/scope.js';
import type { ItemReader } from '../items/query.js';
import type { Db } from '../store/db.js';
import { sql } from '../store/sql.js';
import { asObject, optionalInt } from '../validate.js';
import type { JsonObject } from '../wire/json.js';
import { planOf, readCreateTask, taskToWire, type NewTask, type RunnableType, type TaskRow } from './model.js';
import { firstFailures } from './sql.js';
import { recordTaskEvent } from './events.js';
import { EventRecorder, TASK_EVENTS } from '../events/outbox.js';

export const FAILURES_ON_TASK = 100;

export class TaskService {
  /** Called after a task is stored, so a local runner starts it without waiting for its poll. */
  onCreated: () => void = () => {};

  constructor(
    private readonly db: Db,
    private readonly collections: CollectionService,
    private readonly reader: ItemReader,
    private readonly clock: Clock,
    private readonly events: EventRecorder = new EventRecorder(),
  ) {}

  async create(rawTask: unknown): Promise<JsonObject> {
    const row = await this.store('task', readCreateTask(rawTask));
    return this.wire(row);
  }

  /** The items API's async-patch/remove-by-filter: a job on the same runner. */
  async createJob(type: 'PATCH_BY_FILTER' | 'DELETE_BY_QUERY', p: JsonObject): Promise<{ jobId: string }> {
    const options: JsonObject = { dataCollectionId: p.dataCollectionId ?? null, filter: p.filter ?? null, environment: p.environment ?? null };
    if (type === 'PATCH_BY_FILTER') options.fieldModifications = p.fieldModifications ?? null;
    if (p.publishPluginOptions !== undefined) options.publishPluginOptions = p.publishPluginOptions;
    // Checked, not coerced: String(['things']) would be a valid id.
    const collectionId = validCollectionId(p.dataCollectionId);
    const row = await this.store('job', { type, collectionId, environment: p.environment, options, plan: planOf('job', type, options) });
    return { jobId: row.id };
  }

  private async store(kind: 'task' | 'job', t: NewTask): Promise<TaskRow> {
    const collection = await this.collections.get(t.collectionId);
    if (t.type === 'UPDATE_PUBLISH_STATUS' && !publishPlugin(collection)) {
      throw new WixError('WDE0119', `Collection [${collection.id}] has no Publish plugin`, { collectionId: collection.id });
    }
    const includeDrafts = t.plan.type === 'DELETE_BY_QUERY' ? t.plan.includeDrafts : true;
    const scope = makeScope(collection, t.environment, includeDrafts);
    const filter = 'filter' in t.plan ? t.plan.filter : TRUE;
    const estimated = await this.reader.estimateCount(scope, filter);
    const id = timeOrderedId();
    const now = this.clock.now().toISOString();
    const options = JSON.stringify(t.options);
    // RETURNING, not a second read: a local runner may claim the task at once, and the reply to
    // CreateTask must show the task as it was created (NEW).
    const row = await this.db.transaction(async (tx) => {
      const created = await tx.get<TaskRow>(sql`INSERT INTO tasks (id, kind, type, options, collection_id, env, status, created_date, updated_date, estimated_item_count)
      VALUES (${id}, ${kind}, ${t.type}, ${this.db.dialect === 'postgres' ? sql`${options}::jsonb` : sql`${options}`}, ${collection.id},
        ${scope.env}, 'NEW', ${now}, ${now}, ${estimated})
      RETURNING *`);
      await recordTaskEvent(tx, this.events, id, TASK_EVENTS.statusChanged, now);
      return created;
    });
    this.onCreated();
    return row as TaskRow;
  }

  private row(id: string): Promise<TaskRow | undefined> {
    return this.db.get<TaskRow>(sql`SELECT * FROM tasks WHERE id = ${id}`);
  }

  private async found(id: unknown, kind: 'task' | 'job'): Promise<TaskRow> {
    if (typeof id !== 'string' || id.length === 0) throw new WixError('WDE0080', `${kind === 'task' ? 'taskId' : 'jobId'} must be a non-empty string`);
    const row = await this.row(id);
    if (!row || row.kind !== kind) throw new WixError('WDE0073', `${kind === 'task' ? 'Task' : 'Job'} [${id}] does not exist`, { id });
    return row;
  }

  private async wire(row: TaskRow): Promise<JsonObject> {
    return taskToWire(row, await firstFailures(this.db, row.id, FAILURES_ON_TASK));
  }

  async get(id: unknown): Promise<JsonObject> {
    return this.wire(await this.found(id, 'task'));
  }

  /** Newest first. */
  async list(rawPaging: unknown): Promise<{ tasks: JsonObject[]; metadata: JsonObject }> {
    const paging = rawPaging === undefined || rawPaging === null ? {} : asObject(rawPaging, 'paging');
    const limit = optionalInt(paging.limit, 'paging.limit', 0, 1000) ?? 30;
    const offset = optionalInt(paging.offset, 'paging.offset', 0, Number.MAX_SAFE_INTEGER) ?? 0;
    const rows = await this.db.all<TaskRow>(
      sql`SELECT * FROM tasks WHERE kind = 'task' ORDER BY created_date DESC, id DESC LIMIT ${limit} OFFSET ${offset}`,
    );
    const total = Number((await this.db.get<{ n: number }>(sql`SELECT count(*) AS n FROM tasks WHERE kind = 'task'`))?.n ?? 0);
    const tasks = await Promise.all(rows.map((r) => this.wire(r)));
    return { tasks, metadata: { count: tasks.length, offset, total, tooManyToCount: false, hasNext: offset + tasks.length < total } };
  }

  /**
   * Cancel: a task not yet started ends at once; a running one ends at the start of its next
   * batch (what was done stays done and counted). Finished tasks are returned as they are.
   */
  async cancel(id: unknown): Promise<JsonObject> {
    const row = await this.found(id, 'task');
    const now = this.clock.now().toISOString();
    await this.db.transaction(async (tx) => {
      await tx.run(sql`UPDATE tasks SET cancel_requested = ${true}, updated_date = ${now} WHERE id = ${row.id} AND status IN ('NEW', 'RUNNING')`);
      const cancelledNow = await tx.run(
        sql`UPDATE tasks SET status = 'FAILED', finished_at = ${now}, failure_count = failure_count + 1 WHERE id = ${row.id} AND status = 'NEW'`,
      );
      if (cancelledNow > 0) {
        await tx.run(sql`INSERT INTO task_failures (task_id, seq, item_id, code, description, data)
          VALUES (${row.id}, ${Number(row.failure_count)}, NULL, 'CANCELLED', 'The task was cancelled', NULL)`);
        await recordTaskEvent(tx, this.events, row.id, TASK_EVENTS.statusChanged, now);
      }
    });
    return this.get(row.id);
  }

  async failures(id: unknown, rawPaging: unknown): Promise<{ failures: JsonObject[]; pagingMetadata: JsonObject }> {
    const row = await this.found(id, 'task');
    const paging = rawPaging === undefined || rawPaging === null ? {} : asObject(rawPaging, 'paging');
    const limit = optionalInt(paging.limit, 'paging.limit', 0, 1000) ?? 100;
    const offset = optionalInt(paging.offset, 'paging.offset', 0, Number.MAX_SAFE_INTEGER) ?? 0;
    const rows = await this.db.all<{ code: string; description: string; data: string | null; item_id: string | null }>(
      sql`SELECT code, description, data, item_id FROM task_failures WHERE task_id = ${row.id} ORDER BY seq LIMIT ${limit} OFFSET ${offset}`,
    );
    const total = Number(row.failure_count);
    const failures = rows.map((r) => {
      const f: JsonObject = { code: r.code, description: r.description };
      if (r.item_id !== null) f.itemId = r.item_id;
      if (r.data !== null) f.data = JSON.parse(r.data);
      return f;
    });
    return { failures, pagingMetadata: { count: failures.length, offset, total, hasNext: offset + failures.length < total } };
  }

  async jobStatus(id: unknown): Promise<{ status: string; successCount: number }> {
    const row = await this.found(id, 'job');
    const status = { NEW: 'INITIALIZED', RUNNING: 'PROCESSING', COMPLETED: 'SUCCEEDED', FAILED: 'FAILED' }[row.status];
    return { status, successCount: Number(row.items_succeeded) };
  }
}
