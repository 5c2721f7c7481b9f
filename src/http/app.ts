/**
 * Builds the Fastify application over an open store. `server.ts` listens; tests and the embedded
 * library call buildApp directly.
 */
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import { installAuthentication } from '../auth/authenticate.js';
import { actsAsAdmin, memberOf } from '../auth/identity.js';
import { memberTokenVerifier, type MemberTokenConfig } from '../auth/jwt.js';
import { KeyService } from '../auth/keys.js';
import { keyRoutes } from './routes/keys.js';
import { systemClock, type Clock } from '../clock.js';
import { IndexService } from '../collections/indexes.js';
import { CollectionService } from '../collections/service.js';
import { WixError } from '../errors.js';
import { ItemReader } from '../items/query.js';
import { DEFAULT_OWNER_ID, ItemService } from '../items/service.js';
import { ItemWriter, type WriteContext } from '../items/writer.js';
import { EventRecorder } from '../events/outbox.js';
import { EventStream, type StreamOptions } from '../events/stream.js';
import { eventRoutes } from './routes/events.js';
import type { Db } from '../store/db.js';
import { clientErrorHandler, frameworkErrorHandler, installErrorHandling } from './errors.js';
import { NUL_ESCAPE, SURROGATE_ESCAPE, nulError, unstorableText } from './params.js';
import { cairnCollectionRoutes, collectionRoutes } from './routes/collections.js';
import { itemRoutes } from './routes/items.js';
import { asyncJobRoutes, cairnTaskRoutes, TASK_PREFIXES, taskRoutes } from './routes/tasks.js';
import { TaskService } from '../tasks/service.js';
import { TaskRunner, type RunnerOptions } from '../tasks/runner.js';
import { loadHooks } from '../hooks/load.js';
import type { HooksSource } from '../hooks/model.js';
import { HookRunner } from '../hooks/runner.js';
import { DeliveryWorker, type DeliveryOptions } from '../events/delivery.js';
import { WebhookService } from '../events/webhooks.js';
import { webhookRoutes } from './routes/webhooks.js';
import { installApiDescription } from './openapi.js';
import { installMetrics } from './metrics.js';
import { genReqId, installRequestId } from './request-id.js';
import { cairnSchemas } from './schemas/cairn.js';
import { dashboardRoutes } from './static.js';
import { CONSISTENT_HEADER, needsConsistentRead } from './consistency.js';
import { ItemReadCache, type ReadCacheOptions } from '../items/read-cache.js';
import { ITEM_CHANGES_CHANNEL } from '../store/migrations.js';
import { BackupService } from '../backups/service.js';
import { BACKUP_PREFIXES, backupRoutes } from './routes/backups.js';
import { myPermissionRoutes, PERMISSION_PREFIXES, permissionRoutes } from './routes/permissions.js';

export interface AppOptions {
  db: Db;
  clock?: Clock;
  bodyLimit?: number;
  logLevel?: string;
  logRequests?: boolean;
  /** Where log lines go (default stdout); tests capture them. */
  logStream?: { write(line: string): void };
  /** `/metrics`: open to anyone (CAIRN_METRICS_PUBLIC=1) instead of the admin key only. */
  metrics?: { public?: boolean };
  ownerId?: string;
  /** Run background tasks in this process (default true); `npm run worker` (src/worker.ts) runs them elsewhere. */
  runTasks?: boolean;
  runner?: RunnerOptions;
  /** Data hooks: the path of a hooks module, or the imported module object (docs/hooks.md). */
  hooks?: HooksSource;
  /** Record events in the outbox (default true; CAIRN_EVENTS=off). */
  events?: boolean;
  /** How long a deleted collection can be restored, hours (default 720; 0: deleting is final at once). */
  collectionRetentionHours?: number;
  /** Take an AUTO backup every this many hours (default 0: never; src/backups). */
  backupAutoHours?: number;
  /** CAIRN_ADMIN_KEY: the admin key (every scope). Keys in the store (api_keys) work as well. */
  adminKey?: string | undefined;
  /** Access control settings (docs/security.md). */
  auth?: {
    /** Site-member tokens (JWT, HS256 or RS256); unset, member tokens are refused. */
    memberTokens?: MemberTokenConfig;
    /** Requests per minute per key, member or anonymous address (0: no limit; the admin key is never limited). */
    rateLimit?: number;
    /** Failed authentications per minute per address before 429 (0: no limit). */
    authFailureLimit?: number;
    /** How long a looked-up API key is trusted before the store is asked again, ms. */
    keyCacheMs?: number;
  };
  /** The live event stream's settings (poll interval, heartbeat, slow-client bound). */
  stream?: StreamOptions;
  /**
   * Webhooks (docs/webhooks.md): `deliver: false` leaves delivery to `npm run worker`; `delivery`
   * tunes the worker; `config` (CAIRN_WEBHOOKS) replaces the CONFIG webhooks at start.
   */
  webhooks?: { deliver?: boolean; delivery?: DeliveryOptions; config?: readonly unknown[] };
  /**
   * PostgreSQL: reads by id answered from this process's memory for up to `ttlMs` (default on,
   * 1000 ms), kept current by change notifications (src/items/read-cache.ts); `false` turns it off.
   */
  readCache?: false | ReadCacheOptions;
}

/** The Wix path prefixes: the public API's, and the ones the SDK uses on a custom host. */
export const WIX_DATA_PREFIXES = ['/wix-data/v2', '/_api/cloud-data/v2'] as const;

export interface Cairn {
  app: FastifyInstance;
  collections: CollectionService;
  backups: BackupService;
  items: ItemService;
  events: EventRecorder;
  tasks: TaskService;
  runner: TaskRunner | undefined;
  webhooks: WebhookService;
  keys: KeyService;
  /** The webhook delivery worker of this process, if it delivers. */
  delivery: DeliveryWorker | undefined;
  /** PostgreSQL's read cache, when on (src/items/read-cache.ts). */
  readCache: ItemReadCache | undefined;
}

export async function buildApp(options: AppOptions): Promise<Cairn> {
  const { db } = options;
  const clock = options.clock ?? systemClock;
  const app = Fastify({
    logger: options.logLevel === 'silent' ? false : { level: options.logLevel ?? 'info', ...(options.logStream ? { stream: options.logStream } : {}) },
    // x-request-id when safe, else a UUID; logged as reqId, echoed by installRequestId.
    genReqId,
    logController: new LogController({ disableRequestLogging: !options.logRequests }),
    bodyLimit: options.bodyLimit ?? 16 * 1024 * 1024,
    // Item ids in paths may be long; Fastify's default cap is 100 characters.
    routerOptions: { maxParamLength: 1024 },
    return503OnClosing: true,
    // Requests Node's HTTP parser refuses (headers or URL too large, malformed) get the envelope too.
    clientErrorHandler,
    frameworkErrors: frameworkErrorHandler,
  });

  // JSON for every content type (some clients send none), and an empty body is no body: the SDK
  // sends `Content-Type: application/json` on GET and DELETE requests that have nothing in them.
  app.removeAllContentTypeParsers();
  // Bytes that are not UTF-8 are an error, not U+FFFD: a lenient decode could turn a malformed
  // body into a valid one (or store replacement characters in place of what the client sent).
  const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body: Buffer, done) => {
    if (body.length === 0) return done(null, undefined);
    let text: string;
    try {
      text = utf8.decode(body);
      // PostgreSQL cannot store U+0000 in text or jsonb; it is refused on every store alike.
      if (text.includes('\\u0000') && NUL_ESCAPE.test(text)) return done(nulError(), undefined);
      const parsed: unknown = JSON.parse(text);
      // Nor a lone surrogate (only a JSON escape can carry one: raw, it is not UTF-8).
      const bad = SURROGATE_ESCAPE.test(text) ? unstorableText(parsed) : undefined;
      if (bad) return done(bad, undefined);
      done(null, parsed);
    } catch {
      done(new WixError('WDE0080', 'The request body is not valid UTF-8 JSON'), undefined);
    }
  });

  installErrorHandling(app);
  installRequestId(app);

  // Every request's identity is known before any route runs (src/auth).
  const keys = new KeyService(db, clock, options.auth?.keyCacheMs === undefined ? {} : { cacheMs: options.auth.keyCacheMs });
  installAuthentication(app, {
    keys,
    adminKey: options.adminKey,
    memberTokens: options.auth?.memberTokens ? await memberTokenVerifier(options.auth.memberTokens) : undefined,
    rateLimit: options.auth?.rateLimit ?? 0,
    authFailureLimit: options.auth?.authFailureLimit ?? 0,
  });

  const events = new EventRecorder(options.events ?? true);
  const collections = new CollectionService(db, clock, events, options.collectionRetentionHours === undefined ? {} : { retentionHours: options.collectionRetentionHours });
  const indexes = new IndexService(db);
  // Replies by id from memory (src/items/read-cache.ts): PostgreSQL hears of changes made
  // elsewhere by notification; an SQLite file checks its change counter before each lookup.
  const readCache = (db.listen || db.changeVersion) && options.readCache !== false ? new ItemReadCache(options.readCache ?? {}) : undefined;
  if (readCache && !db.listen) readCache.setLive(true);
  // Only PostgreSQL's copy may lag a write made elsewhere: there the client's consistency token
  // asks for a read from the store.
  const eventualCache = db.listen ? readCache : undefined;
  if (readCache && db.listen) {
    const stopListening = db.listen(
      ITEM_CHANGES_CHANNEL,
      (collectionId) => readCache.changedElsewhere(collectionId),
      (live) => readCache.setLive(live),
    );
    app.addHook('onClose', async () => stopListening());
  }
  // This process's own writes: at once, after their commit, before their reply (on SQLite the
  // change counter has moved by then too; this keeps a read that raced the write from storing).
  if (readCache) events.onItemsChanged = (collectionId) => readCache.changed(collectionId);
  const reader = new ItemReader(db, readCache);
  const writer = new ItemWriter(db, clock, events);
  const hooks = options.hooks === undefined ? undefined : new HookRunner(await loadHooks(options.hooks), app.log);
  const items = new ItemService(collections, reader, writer, hooks);
  const tasks = new TaskService(db, collections, reader, clock, events);
  const backups = new BackupService(db, clock, collections, events, { autoEveryHours: options.backupAutoHours ?? 0 });
  // Requests received so far: the in-process runner pauses between batches only while requests
  // are coming in (RunnerOptions.requestsReceived).
  let requestsReceived = 0;
  app.addHook('onRequest', (_req, _reply, done) => {
    requestsReceived++;
    done();
  });
  const runner =
    options.runTasks === false
      ? undefined
      : new TaskRunner(db, collections, writer, clock, {
          onError: (e) => app.log.error({ err: e }, 'task runner error'),
          requestsReceived: () => requestsReceived,
          backups,
          ...options.runner,
        });
  if (runner) {
    tasks.onCreated = () => runner.notify();
    backups.onQueued = () => runner.notify();
    app.addHook('onReady', async () => runner.start());
    // Runs before the store closes: the batch in flight commits, the task is handed back.
    app.addHook('preClose', async () => runner.stop());
  }
  const siteOwner = options.ownerId ?? DEFAULT_OWNER_ID;
  // New items are owned by the member who makes them, by the site owner when an admin does.
  const writeContext = (req: FastifyRequest): WriteContext => ({
    ownerId: actsAsAdmin(req.identity) ? siteOwner : (memberOf(req.identity) ?? null),
    identity: req.identity,
    ...(eventualCache && needsConsistentRead(req.headers[CONSISTENT_HEADER], eventualCache.ttlMs) ? { consistentRead: true } : {}),
  });

  // Before any route: schemas are collected, validated and timed per route as routes register.
  installApiDescription(app);
  installMetrics(app, { db, clock, public: options.metrics?.public ?? false, readCache });

  app.get('/healthz', { schema: cairnSchemas.healthz }, async () => ({ status: 'ok' }));

  for (const prefix of WIX_DATA_PREFIXES) {
    await app.register(itemRoutes, { prefix, items, writeContext });
    await app.register(collectionRoutes, { prefix, collections, indexes, clock });
    await app.register(asyncJobRoutes, { prefix, tasks });
  }
  for (const prefix of BACKUP_PREFIXES) await app.register(backupRoutes, { prefix, backups });
  for (const prefix of PERMISSION_PREFIXES) {
    await app.register(permissionRoutes, { prefix, collections });
    await app.register(myPermissionRoutes, { prefix, collections });
  }
  for (const prefix of TASK_PREFIXES) await app.register(taskRoutes, { prefix, tasks });
  await app.register(cairnTaskRoutes, { prefix: '/cairn/v1', tasks });
  await app.register(cairnCollectionRoutes, { prefix: '/cairn/v1', collections, indexes, clock });
  const eventStream = new EventStream(db, { onError: (e) => app.log.error({ err: e }, 'event stream error'), onDrop: (reason) => app.log.warn({ reason }, 'event stream client dropped'), ...options.stream });
  // Open streams never end by themselves: end them first, so the server can close (SIGTERM drains).
  app.addHook('preClose', async () => eventStream.close());
  await app.register(eventRoutes, { prefix: '/cairn/v1', stream: eventStream });

  const webhooks = new WebhookService(db, clock);
  if (options.webhooks?.config) await webhooks.syncConfig(options.webhooks.config);
  const delivery =
    options.webhooks?.deliver === false
      ? undefined
      : new DeliveryWorker(db, clock, { onError: (e) => app.log.error({ err: e }, 'webhook delivery error'), ...options.webhooks?.delivery });
  if (delivery) {
    webhooks.onQueued = () => delivery.notify();
    app.addHook('onReady', async () => delivery.start());
    // Before the store closes: requests in flight finish (or are abandoned), results are recorded.
    app.addHook('preClose', async () => delivery.stop());
  }
  await app.register(webhookRoutes, { prefix: '/cairn/v1', webhooks });
  await app.register(keyRoutes, { prefix: '/cairn/v1', keys });
  // The web dashboard (web/): `/` and `/assets/*` only.
  await app.register(dashboardRoutes, {});

  return { app, collections, backups, items, tasks, runner, events, webhooks, keys, delivery, readCache };
}
