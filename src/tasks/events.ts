/**
 * Task events (Cairn's own types, events/outbox.ts TASK_EVENTS): a status change (created NEW,
 * started RUNNING, COMPLETED, FAILED or cancelled) or a batch's progress, recorded in the same
 * transaction as the change. The entity is the task as GetTask shows it after the change.
 */
import type { EventRecorder } from '../events/outbox.js';
import type { Executor } from '../store/db.js';
import { sql } from '../store/sql.js';
import { taskToWire, type TaskRow } from './model.js';
import { firstFailures } from './sql.js';

/** As many failures as GetTask shows (service.ts FAILURES_ON_TASK). */
const FAILURES_IN_EVENT = 100;

export async function recordTaskEvent(tx: Executor, events: EventRecorder, taskId: string, type: string, now: string): Promise<void> {
  if (!events.enabled) return;
  const row = await tx.get<TaskRow>(sql`SELECT * FROM tasks WHERE id = ${taskId}`);
  if (!row) return;
  const task = taskToWire(row, await firstFailures(tx, taskId, FAILURES_IN_EVENT));
  await events.record(tx, [{ type, collectionId: row.collection_id, env: row.env, entityId: row.id, data: JSON.stringify(task) }], now);
}
