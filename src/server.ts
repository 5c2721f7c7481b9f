/**
 * `npm start`: opens the store (SQLite under ./data, or PostgreSQL with DATABASE_URL), applies
 * migrations, serves HTTP. SIGTERM/SIGINT stop accepting connections, let requests in flight
 * finish, close the store and exit 0.
 */
import { loadConfig } from './config.js';
import { isEntry } from './entry.js';
import { buildApp } from './http/app.js';
import { openDb } from './store/open.js';
import { deliveryOptionsFrom } from './events/delivery.js';

export async function main(): Promise<void> {
  const config = loadConfig();
  const db = await openDb({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const { app, keys } = await buildApp({
    db,
    bodyLimit: config.bodyLimit,
    logLevel: config.logLevel,
    logRequests: config.logRequests,
    ownerId: config.ownerId,
    runTasks: config.runTasks,
    ...(config.hooks ? { hooks: config.hooks } : {}),
    events: config.events,
    collectionRetentionHours: config.collectionRetentionHours,
    backupAutoHours: config.backupAutoHours,
    metrics: { public: config.metricsPublic },
    readCache: config.readCacheMs > 0 ? { ttlMs: config.readCacheMs } : false,
    adminKey: config.adminKey,
    auth: {
      memberTokens: { secret: config.jwtSecret, publicKey: config.jwtPublicKey, issuer: config.jwtIssuer, audience: config.jwtAudience },
      rateLimit: config.rateLimit,
      authFailureLimit: config.authFailureLimit,
      keyCacheMs: config.keyCacheMs,
    },
    webhooks: {
      deliver: config.deliverWebhooks,
      delivery: deliveryOptionsFrom(config),
      ...(config.webhooks ? { config: config.webhooks } : {}),
    },
    runner: { leaseMs: config.taskLeaseMs, batchSize: config.taskBatchSize, maxBatchSize: config.taskMaxBatchSize, ...(config.taskBatchTargetMs ? { batchTargetMs: config.taskBatchTargetMs } : {}), ...(config.workerId ? { workerId: config.workerId } : {}) },
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'draining and shutting down');
    try {
      await app.close();
      await db.close();
      process.exit(0);
    } catch (e) {
      app.log.error({ err: e }, 'error during shutdown');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  // No CAIRN_ADMIN_KEY: the first start makes an admin key and prints it, once; only its hash is kept.
  if (!config.adminKey) {
    const generated = await keys.ensureAdminKey();
    if (generated) {
      process.stdout.write(
        `\nCairn generated an admin API key. It is shown only this once; store it now:\n\n    ${generated}\n\n` +
          `Send it as \`Authorization: <key>\`. Set CAIRN_ADMIN_KEY to choose your own; revoke this one with DELETE /cairn/v1/keys/{id}.\n\n`,
      );
    }
  }

  await app.listen({ port: config.port, host: config.host });
  app.log.info({ store: db.description }, `Cairn listening on http://${config.host}:${config.port}`);
}

// Run when started as a script (npm scripts, test/helpers/process.ts); `cairn serve` imports main() instead.
if (isEntry(import.meta.url)) {
  main().catch((e) => {
    console.error(`cairn: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  });
}
