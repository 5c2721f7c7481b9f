/**
 * `npm run worker`: runs background tasks and publish schedules without serving HTTP, against
 * the same store as the API processes (DATABASE_URL for PostgreSQL). Start as many as you like on
 * PostgreSQL: they claim tasks with leases and never run one task in two places. SIGTERM lets the
 * batch in flight commit, hands its task back and exits 0.
 */
import { loadConfig } from './config.js';
import { isEntry } from './entry.js';
import { systemClock } from './clock.js';
import { CollectionService } from './collections/service.js';
import { ItemWriter } from './items/writer.js';
import { EventRecorder } from './events/outbox.js';
import { openDb } from './store/open.js';
import { TaskRunner } from './tasks/runner.js';
import { BackupService } from './backups/service.js';
import { DeliveryWorker, deliveryOptionsFrom } from './events/delivery.js';
import { WebhookService } from './events/webhooks.js';

export async function main(): Promise<void> {
  const config = loadConfig();
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const events = new EventRecorder(config.events);
  const collections = new CollectionService(db, systemClock, events, { retentionHours: config.collectionRetentionHours });
  const runner: TaskRunner = new TaskRunner(db, collections, new ItemWriter(db, systemClock, events), systemClock, {
    backups: new BackupService(db, systemClock, collections, events, { autoEveryHours: config.backupAutoHours }),
    ...(config.workerId ? { workerId: config.workerId } : {}),
    leaseMs: config.taskLeaseMs,
    batchSize: config.taskBatchSize,
    maxBatchSize: config.taskMaxBatchSize,
    ...(config.taskBatchTargetMs ? { batchTargetMs: config.taskBatchTargetMs } : {}),
    onError: (e) => console.error(JSON.stringify({ level: 'error', msg: 'task runner error', err: String(e) })),
    // CAIRN_LOG_LEVEL=debug: one line per committed batch (which worker ran which task, when).
    ...(config.logLevel === 'debug'
      ? {
          afterBatch: (taskId: string, outcome: 'more' | 'done'): void =>
            console.log(JSON.stringify({ level: 'debug', time: Date.now(), msg: 'task batch committed', workerId: runner.workerId, taskId, outcome })),
        }
      : {}),
  });
  runner.start();
  // Webhooks: CAIRN_WEBHOOKS (when set) replaces the CONFIG webhooks, and this process delivers too.
  if (config.webhooks) await new WebhookService(db, systemClock).syncConfig(config.webhooks);
  const delivery = new DeliveryWorker(db, systemClock, {
    ...deliveryOptionsFrom(config),
    onError: (e) => console.error(JSON.stringify({ level: 'error', msg: 'webhook delivery error', err: String(e) })),
  });
  delivery.start();
  console.log(JSON.stringify({ level: 'info', msg: 'Cairn worker started', workerId: runner.workerId, store: db.description }));
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await Promise.all([runner.stop(), delivery.stop()]);
    await db.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop());
  process.on('SIGINT', () => void stop());
}

// Run when started as a script (npm scripts, test/helpers/process.ts); `cairn worker` imports main() instead.
if (isEntry(import.meta.url)) {
  main().catch((e) => {
    console.error(`cairn worker: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
