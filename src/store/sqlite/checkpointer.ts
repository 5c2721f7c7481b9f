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
    db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true });
  } catch (e) {
    parentPort.postMessage({ ok: false, error: String(e && e.message || e) });
  }
});
`;

export class Checkpointer {
  private readonly worker: Worker;
  private readonly timer: NodeJS.Timeout;
  private dirty = false;
  private busy = false;
  private closed = false;

  constructor(file: string, intervalMs = 200) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { file, driver } });
    // A checkpoint error (the file busy for longer than busy_timeout) is not a data problem: the
    // next round, or the writer's own checkpoint, catches up.
    this.worker.on('message', () => {
      this.busy = false;
    });
    this.worker.on('error', () => {
      this.busy = false;
    });
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
    this.dirty = false;
    this.busy = true;
    this.worker.postMessage('checkpoint');
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
