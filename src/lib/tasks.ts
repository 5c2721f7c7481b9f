/**
 * `cairn.waitForTask(id)`: resolves once a background task (or an async job) has finished.
 *
 * It waits on the in-process runner rather than on a timer: every batch the runner commits wakes
 * the waiters (RunnerOptions.afterBatch), and `runner.whenIdle()` resolves once the runner has
 * nothing left to do, which also covers the ends that run no batch (a failure, a cancel before the
 * start). Only when no runner works in this process (`runTasks: false`, tasks left to a separate
 * worker) does it poll the task row.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../store/db.js';
import { sql } from '../store/sql.js';
import type { TaskRunner } from '../tasks/runner.js';
import type { TaskService } from '../tasks/service.js';

/** A finished task as the API returns it (GET /cms/v1/tasks/{id}), or an async job's status. */
export interface FinishedTask {
  id: string;
  /** Tasks: COMPLETED, or FAILED (a cancelled task fails with a CANCELLED failure). Jobs: SUCCEEDED or FAILED. */
  status: string;
  [field: string]: unknown;
}

export interface WaitOptions {
  /** Give up (reject) after this long; default 30 s. */
  timeoutMs?: number;
}

const FINAL = new Set(['COMPLETED', 'FAILED']);
/** How often a runner-less process looks at the task row, and the pause after an idle runner saw no change. */
const POLL_MS = 20;

export class TaskWaiter {
  private waiting: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly db: Db,
    private readonly tasks: TaskService,
    private readonly runner: TaskRunner | undefined,
  ) {}

  /** Something about tasks changed (a batch committed): look again. */
  wake(): void {
    for (const w of this.waiting.splice(0)) w();
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  /** Resolves when wake() is called or after ms; `cancel` drops the timer (it must not hold the process). */
  private changed(ms: number): { promise: Promise<void>; cancel: () => void } {
    let done!: () => void;
    const promise = new Promise<void>((resolve) => {
      const timer = setTimeout(() => done(), ms);
      done = () => {
        clearTimeout(timer);
        this.waiting = this.waiting.filter((w) => w !== done);
        resolve();
      };
    });
    this.waiting.push(done);
    return { promise, cancel: done };
  }

  async wait(id: string, options: WaitOptions = {}): Promise<FinishedTask> {
    const timeoutMs = options.timeoutMs ?? 30_000;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const row = await this.db.get<{ kind: string; status: string }>(sql`SELECT kind, status FROM tasks WHERE id = ${id}`);
      if (!row) throw new Error(`waitForTask: there is no task or job ${id}`);
      if (FINAL.has(row.status)) {
        if (row.kind === 'task') return (await this.tasks.get(id)) as FinishedTask;
        return { id, ...(await this.tasks.jobStatus(id)) };
      }
      if (this.closed) throw new Error(`waitForTask: Cairn was closed while task ${id} was ${row.status}`);
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`waitForTask: task ${id} did not finish within ${timeoutMs} ms (it is ${row.status})`);
      const change = this.changed(this.runner ? left : Math.min(POLL_MS, left));
      try {
        if (this.runner) {
          const idle = this.runner.whenIdle().then(() => 'idle' as const);
          // An idle runner that left the task unfinished (another process owns it): do not spin.
          if ((await Promise.race([change.promise, idle])) === 'idle') await Promise.race([change.promise, sleep(Math.min(POLL_MS, left))]);
        } else {
          await change.promise;
        }
      } finally {
        change.cancel();
      }
    }
  }
}
