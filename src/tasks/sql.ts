/**
 * The task queue's statements, one function each (graphile-worker's habit).
 *
 * Claiming: PostgreSQL picks the oldest runnable task with `FOR UPDATE SKIP LOCKED` inside one
 * UPDATE, so any number of workers on any number of machines claim different tasks without
 * waiting on each other. SQLite has no SKIP LOCKED; the same UPDATE runs inside BEGIN IMMEDIATE,
 * which already admits one writer at a time, so two processes on one file cannot both claim.
 * A task is runnable when it is NEW, or RUNNING with an expired lease (its worker died).
 * docs/tasks.md, "Execution model".
 */
import type { Executor } from '../store/db.js';
import { sql } from '../store/sql.js';
import type { TaskFailure, TaskRow } from './model.js';

export async function claimTask(tx: Executor, workerId: string, nowIso: string, leaseUntil: string, businessNow: string): Promise<TaskRow | undefined> {
  const lock = tx.dialect === 'postgres' ? sql` FOR UPDATE SKIP LOCKED` : sql``;
  return tx.get<TaskRow>(sql`
    UPDATE tasks SET status = 'RUNNING', started_at = COALESCE(started_at, ${businessNow}), updated_date = ${businessNow},
      locked_by = ${workerId}, locked_until = ${leaseUntil}, attempts = attempts + 1
    WHERE id = (
      SELECT id FROM tasks
      WHERE status IN ('NEW', 'RUNNING') AND (locked_until IS NULL OR locked_until < ${nowIso})
      ORDER BY created_date, id LIMIT 1${lock}
    )
    RETURNING *`);
}

/** The task row, locked for the rest of the batch transaction on PostgreSQL. */
export async function lockTask(tx: Executor, id: string): Promise<TaskRow | undefined> {
  const lock = tx.dialect === 'postgres' ? sql` FOR UPDATE` : sql``;
  return tx.get<TaskRow>(sql`SELECT * FROM tasks WHERE id = ${id}${lock}`);
}

export async function recordFailures(tx: Executor, task: TaskRow, failures: readonly (TaskFailure & { itemId?: string })[]): Promise<void> {
  let seq = Number(task.failure_count);
  for (const f of failures) {
    const data = f.data === undefined ? null : JSON.stringify(f.data);
    await tx.run(sql`INSERT INTO task_failures (task_id, seq, item_id, code, description, data)
      VALUES (${task.id}, ${seq++}, ${f.itemId ?? null}, ${f.code}, ${f.description}, ${tx.dialect === 'postgres' && data !== null ? sql`${data}::jsonb` : sql`${data}`})`);
  }
}

export interface BatchProgress {
  cursor: string | null;
  succeeded: number;
  failed: number;
  failures: number;
  leaseUntil: string;
  now: string;
  finish?: 'COMPLETED' | 'FAILED';
}

/** Moves cursor and counters; the same transaction holds the batch's item changes. */
export async function advanceTask(tx: Executor, id: string, workerId: string, p: BatchProgress): Promise<number> {
  const done = p.finish !== undefined;
  return tx.run(sql`UPDATE tasks SET cursor = ${p.cursor}, items_succeeded = items_succeeded + ${p.succeeded},
      items_failed = items_failed + ${p.failed}, failure_count = failure_count + ${p.failures}, updated_date = ${p.now},
      locked_until = ${done ? null : p.leaseUntil}, locked_by = ${done ? null : workerId},
      status = ${p.finish ?? 'RUNNING'}, finished_at = ${done ? p.now : null}
    WHERE id = ${id} AND locked_by = ${workerId}`);
}

/** Lets another worker take the task at once (this one is shutting down). */
export async function releaseTask(tx: Executor, id: string, workerId: string): Promise<void> {
  await tx.run(sql`UPDATE tasks SET locked_by = NULL, locked_until = NULL WHERE id = ${id} AND locked_by = ${workerId} AND status = 'RUNNING'`);
}

export async function firstFailures(tx: Executor, taskId: string, limit: number, offset = 0): Promise<TaskFailure[]> {
  const rows = await tx.all<{ code: string; description: string; data: string | null; item_id: string | null }>(
    sql`SELECT code, description, data, item_id FROM task_failures WHERE task_id = ${taskId} ORDER BY seq LIMIT ${limit} OFFSET ${offset}`,
  );
  return rows.map((r) => {
    const f: TaskFailure = { code: r.code, description: r.description };
    if (r.data !== null) f.data = JSON.parse(r.data);
    return f;
  });
}
