/**
 * WAL checkpoints off the event loop.
 *
 * In WAL mode SQLite copies the log back into the database file (a checkpoint, with an fsync)
 * from inside whichever COMMIT pushes the log past `wal_autocheckpoint` pages. better-sqlite3 is
 * synchronous, so that commit blocks the event loop for the length of the checkpoint: with
 * task batches or bulk writes of a thousand items, that is most commits, at tens of
 * milliseconds each, and every request waits behind them.
 *
 * So the writer's automatic checkpoint is set high (a safety net only) and a worker thread with
 * its own connection runs `wal_checkpoint(PASSIVE)` shortly after writes: PASSIVE never blocks
 * readers or the writer, and copies what it can. Durability is unchanged: a commit is durable once
 * it is in the WAL (synchronous = NORMAL), checkpointed or not.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/** The writer's own checkpoint threshold (pages, 4 KiB each): only if the thread falls behind. */
export const WRITER_AUTOCHECKPOINT_PAGES = 262_144;

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file);
db.pragma('busy_timeout = 5000');
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true, log: r.log, checkpointed: r.checkpointed });
  } catch (e) {
    parentPort.postMessage({ ok: false, error: String(e && e.message || e) });
  }
});
`;

/** How long a catch-up may wait for the thread before the writes go on (ms). */
const CATCH_UP_BUDGET_MS = 250;

/** What the thread's last checkpoint saw: frames in the log, and how many it had copied. */
interface CheckpointReport {
  log: number;
  checkpointed: number;
}

export class Checkpointer {
  private readonly worker: Worker;
  private readonly timer: NodeJS.Timeout;
  private dirty = false;
  private busy = false;
  private closed = false;
  private last: CheckpointReport = { log: 0, checkpointed: 0 };
  /** After a catch-up that ran out of time: the log length at which to try again. */
  private retryAtFrames = 0;
  /** Called when the checkpoint in flight ends (catchUp waits on it). */
  private ended: (() => void)[] = [];

  constructor(file: string, intervalMs = 200) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver } });
    // A checkpoint error (the file busy for longer than busy_timeout) is not a data problem: the
    // next round, or the writer's own checkpoint, catches up.
    this.worker.on('message', (m: { ok: boolean } & Partial<CheckpointReport>) => {
      if (m.ok && typeof m.log === 'number' && typeof m.checkpointed === 'number') {
        // A shorter log than last time: it started over, and catch-ups may wait again.
        if (m.log < this.last.log) this.retryAtFrames = 0;
        this.last = { log: m.log, checkpointed: m.checkpointed };
      }
      this.checkpointEnded();
    });
    this.worker.on('error', () => this.checkpointEnded());
    // Nothing waits on a thread that is gone.
    this.worker.on('exit', () => this.checkpointEnded());
    this.worker.unref();
    this.timer = setInterval(() => this.tick(), intervalMs);
    this.timer.unref();
  }

  /** A write transaction committed: the log has something to copy. */
  written(): void {
    this.dirty = true;
  }

  private tick(): void {
    if (!this.dirty || this.busy || this.closed) return;
    this.startCheckpoint();
  }

  /** A checkpoint that starts now copies every frame written so far. */
  private startCheckpoint(): void {
    this.dirty = false;
    this.busy = true;
    this.worker.postMessage('checkpoint');
  }

  /** close() holds a reference until the thread exits. */
  private unrefUnlessClosing(): void {
    if (!this.closed) this.worker.unref();
  }

  private checkpointEnded(): void {
    this.busy = false;
    const waiting = this.ended;
    this.ended = [];
    for (const resolve of waiting) resolve();
  }

  /**
   * For long runs of back-to-back writes (task batches): once the log has grown past
   * `maxFrames`, waits (off the event loop) until a checkpoint has copied all of it, so that the
   * next write transaction starts the log over from its beginning.
   *
   * Why: SQLite only starts the log again when a write begins after a checkpoint copied every
   * frame, and writes that follow each other closely never leave the thread that moment: the
   * log then grows for as long as they last (about 1 GB for a million deleted items), takes its
   * disk space, and reaches the writer's own checkpoint, which runs on the event loop. (One
   * session measured writes slowing as the log grew; later A/B runs did not, docs/benchmarks.md.)
   * The thread copies most of the log while the writes go on; the wait is for the last part
   * only, and at most `budgetMs` (a reader in another process may hold old frames; random writes
   * may leave too much to copy): the log is then only longer, never wrong.
   */
  async catchUp(maxFrames: number, budgetMs = CATCH_UP_BUDGET_MS): Promise<void> {
    if (this.last.log < Math.max(maxFrames, this.retryAtFrames)) return;
    const deadline = performance.now() + budgetMs;
    // Waits for the checkpoint in flight to end, or for the deadline; true if it ended.
    const ended = async (): Promise<boolean> => {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      // The thread is unreferenced (it must not keep the process alive), so while something
      // waits on it, it has to be.
      this.worker.ref();
      try {
        return await Promise.race([
          new Promise<boolean>((resolve) => this.ended.push(() => resolve(true))),
          new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), left))),
        ]);
      } finally {
        clearTimeout(timer);
        this.unrefUnlessClosing();
      }
    };
    let caughtUp = false;
    for (let round = 0; round < 3 && !this.closed; round++) {
      if (this.busy && !(await ended())) break;
      if (round > 0 && this.last.checkpointed >= this.last.log) {
        caughtUp = true;
        break;
      }
      this.startCheckpoint();
    }
    // The thread could not copy the log within the budget (writes that change pages all over
    // the file make a long log to copy): the writes go on, and the next attempt waits until the
    // log has doubled, so that waiting never costs more than a small share of the work.
    this.retryAtFrames = caughtUp ? 0 : this.last.log * 2;
    // Copied to the end: the next write starts the log over, so what was reported is gone (the
    // thread's next report says otherwise if a reader kept the log from starting over).
    if (caughtUp) this.last = { log: 0, checkpointed: 0 };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    // Unreferenced, the thread would not keep the process alive while close() waits for it.
    this.worker.ref();
    this.worker.postMessage('close');
    await exited;
  }
}
