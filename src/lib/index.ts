/**
 * The embedded library: Cairn inside a user's own code and tests, in one call.
 *
 *   const cairn = await createCairn({ store: 'memory', collections: [{ id: 'books' }] });
 *   await cairn.client.items.insert('books', { title: 'Dune' });
 *   await cairn.close();
 *
 * createCairn opens a store (SQLite in memory by default), builds the same Fastify app `npm start`
 * serves (src/http/app.ts), listens on a free loopback port, and hands back the published
 * `@wix/sdk` client already pointed at it with an admin key. Background tasks run in this process;
 * `waitForTask` waits for one, `clock` moves time for scheduled publishing, `reset` empties the
 * store between tests. README "Use Cairn in your tests" is the user's guide.
 */
import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import pg from 'pg';
import { KEY_PREFIX } from '../auth/keys.js';
import { systemClock, type Clock } from '../clock.js';
import { buildApp, type AppOptions, type Cairn } from '../http/app.js';
import { ADMIN_CONTEXT, BULK_LIMIT } from '../items/service.js';
import type { HooksSource } from '../hooks/model.js';
import type { Db } from '../store/db.js';
import { openDb } from '../store/open.js';
import type { RunnerOptions } from '../tasks/runner.js';
import type { JsonObject } from '../wire/json.js';
import { CairnClock } from './clock.js';
import { wixClientFor, type WixClient } from './client.js';
import { emptyStore } from './reset.js';
import { TaskWaiter, type FinishedTask, type WaitOptions } from './tasks.js';

export { CairnClock } from './clock.js';
export { cairnFetch, wixClientFor, type WixClient, type WixClientOptions } from './client.js';
export type { FinishedTask, WaitOptions } from './tasks.js';
export type { Cairn as CairnServer } from '../http/app.js';

export type Role = 'ANYONE' | 'SITE_MEMBER' | 'SITE_MEMBER_AUTHOR' | 'ADMIN';

/** A collection to create at start, in the wire form of POST /wix-data/v2/collections. */
export interface CollectionSpec {
  id: string;
  displayName?: string;
  /** `{key, type}` each; type is one of the Wix field types (TEXT, NUMBER, BOOLEAN, DATETIME, ...). */
  fields?: readonly { key: string; type: string; displayName?: string; [more: string]: unknown }[];
  /** The lowest role allowed for each operation; unset ones default to read ANYONE, the rest ADMIN. */
  permissions?: { read?: Role; insert?: Role; update?: Role; remove?: Role };
  /** e.g. `{ type: 'PUBLISH', publishOptions: { defaultStatus: 'DRAFT' } }`. */
  plugins?: readonly { type: string; [more: string]: unknown }[];
  [more: string]: unknown;
}

/** Items to insert, by collection id: plain data objects, `_id` (and `_owner`) optional. */
export type Seed = Readonly<Record<string, readonly Readonly<Record<string, unknown>>[]>>;

export interface CairnOptions {
  /**
   * `'memory'` (the default): SQLite in memory, private to this instance, gone at close. A
   * `postgres://` or `postgresql://` URL: PostgreSQL. Anything else: the path of an SQLite file
   * (created if missing, kept at close).
   */
  store?: string;
  /**
   * PostgreSQL only: work in a schema of this instance's own (a random name), created at start and
   * dropped with everything in it at close, so parallel test runs never meet. `databaseUrl` on
   * the result reaches it.
   */
  freshSchema?: boolean;
  /** Collections created at start (and again by `reset({ collections: 'initial' })`). */
  collections?: readonly CollectionSpec[];
  /** Items inserted at start, after the collections (and again by `reset({ seed: true })`); hooks do not run for them. */
  seed?: Seed;
  /** The admin key (every scope). Default: a random one, on the result as `adminKey`. */
  adminKey?: string;
  /** Data hooks: a hooks module's path, or the module object itself (docs/hooks.md). */
  hooks?: HooksSource;
  /**
   * The clock's start. Default: real time (it runs, and `clock.advance` moves it ahead). A Date or
   * ms since the epoch: frozen at that time until moved. A Clock object: its time is the base.
   */
  clock?: Clock | Date | number;
  /** Task runner settings, or `false` for none in this process (tasks then wait for a worker). */
  runner?: RunnerOptions | false;
  /** Record change events (webhooks, the event stream); default true. */
  events?: boolean;
  /** How long a deleted collection can be restored, hours (default 720; 0: deleting is final at once). */
  collectionRetentionHours?: number;
  /** Take an AUTO backup every this many hours (default 0: never). */
  backupAutoHours?: number;
  /** Member tokens, rate limits (AppOptions.auth); the rate limits are off by default here. */
  auth?: AppOptions['auth'];
  /** Webhook settings (AppOptions.webhooks). */
  webhooks?: AppOptions['webhooks'];
  /** `_owner` of items admin identities create (default CAIRN_OWNER_ID's default). */
  ownerId?: string;
  /** Listen address; default 127.0.0.1 and a free port. */
  host?: string;
  port?: number;
  /** pino level; default 'silent'. */
  logLevel?: string;
}

export interface ResetOptions {
  /**
   * `'keep'` (default): collections, their fields and indexes stay. `'drop'`: they go too.
   * `'initial'`: they go and the ones given to createCairn are created again.
   */
  collections?: 'keep' | 'drop' | 'initial';
  /** Insert createCairn's seed again afterwards (default false). */
  seed?: boolean;
}

export interface EmbeddedCairn {
  /** The server's origin, e.g. http://127.0.0.1:41234. */
  readonly url: string;
  /** The admin key the client sends. */
  readonly adminKey: string;
  /** The published `@wix/sdk` client (items, collections, tasks of `@wix/data`), pointed at `url` with the admin key. */
  readonly client: WixClient;
  /** The store: 'sqlite' (memory or file) or 'postgres'. */
  readonly storeKind: 'sqlite' | 'postgres';
  /** PostgreSQL: the connection string in use (with `freshSchema`, one whose search_path is that schema). */
  readonly databaseUrl: string | undefined;
  /** The open store (tests that look at rows directly). */
  readonly db: Db;
  /** The running application: Fastify app, services, task runner (src/http/app.ts). */
  readonly server: Cairn;
  /** Time as this server sees it; `await clock.advance(ms)` fires the publish schedules that came due. */
  readonly clock: CairnClock;
  /** Another client for this server, sending `apiKey` (a key from POST /cairn/v1/keys, or a member token). */
  clientFor(apiKey: string): WixClient;
  /** Inserts items (as admin, without hooks), by collection id. */
  seed(seed: Seed): Promise<void>;
  /** Resolves with the task (or async job) once it has finished: COMPLETED or FAILED. */
  waitForTask(id: string, options?: WaitOptions): Promise<FinishedTask>;
  /** Empties the store: items, events, deliveries, tasks, schedules; keeps keys and webhooks (src/lib/reset.ts). */
  reset(options?: ResetOptions): Promise<void>;
  /** Stops the server and the runner, closes the store; the memory store leaves nothing behind. */
  close(): Promise<void>;
}

const POSTGRES_URL = /^postgres(ql)?:\/\//;

/** Starts Cairn in this process; resolves once it answers on its port. */
export async function createCairn(options: CairnOptions = {}): Promise<EmbeddedCairn> {
  const store = options.store ?? 'memory';
  const postgres = POSTGRES_URL.test(store);
  if (options.freshSchema && !postgres) throw new Error('createCairn: freshSchema needs a PostgreSQL store');
  const schema = options.freshSchema ? await createSchema(store) : undefined;
  const databaseUrl = postgres ? (schema ? withSearchPath(store, schema) : store) : undefined;

  let db: Db;
  try {
    db = await openDb(
      databaseUrl ? { databaseUrl } : { sqliteFile: store === 'memory' || store === ':memory:' ? ':memory:' : resolve(store) },
    );
  } catch (e) {
    if (schema) await dropSchema(store, schema).catch(() => {});
    throw e;
  }

  const adminKey = options.adminKey ?? KEY_PREFIX + randomBytes(32).toString('base64url');
  // The runner and the waiter exist only once the app is built; the clock needs them sooner.
  let waiter: TaskWaiter | undefined;
  let server: Cairn | undefined;
  const base = options.clock !== undefined && typeof options.clock === 'object' && !(options.clock instanceof Date) ? options.clock : systemClock;
  const start = options.clock instanceof Date || typeof options.clock === 'number' ? options.clock : undefined;
  const clock = new CairnClock(base, async () => server?.runner?.whenIdle(), start);
  const runner = options.runner;

  let closed = false;
  const close = async () => {
    if (closed) return;
    closed = true;
    waiter?.close();
    try {
      await server?.app.close();
    } finally {
      await db.close();
      if (schema) await dropSchema(store, schema);
    }
  };

  try {
    server = await buildApp({
      db,
      clock,
      logLevel: options.logLevel ?? 'silent',
      adminKey,
      ...(options.ownerId ? { ownerId: options.ownerId } : {}),
      ...(options.hooks !== undefined ? { hooks: options.hooks } : {}),
      ...(options.events === false ? { events: false } : {}),
      ...(options.collectionRetentionHours !== undefined ? { collectionRetentionHours: options.collectionRetentionHours } : {}),
      ...(options.backupAutoHours !== undefined ? { backupAutoHours: options.backupAutoHours } : {}),
      ...(options.auth ? { auth: options.auth } : {}),
      ...(options.webhooks ? { webhooks: options.webhooks } : {}),
      ...(runner === false
        ? { runTasks: false }
        : {
            runner: {
              ...runner,
              // Every committed batch wakes waitForTask, then the caller's own hook runs.
              afterBatch: async (taskId, outcome) => {
                waiter?.wake();
                await runner?.afterBatch?.(taskId, outcome);
              },
            },
          }),
    });
    waiter = new TaskWaiter(db, server.tasks, server.runner);
    const cairn = server;

    const seed = async (data: Seed) => {
      for (const [collectionId, list] of Object.entries(data)) {
        for (let i = 0; i < list.length; i += BULK_LIMIT) {
          const dataItems = list.slice(i, i + BULK_LIMIT).map((d) => (typeof d._id === 'string' ? { id: d._id, data: d } : { data: d }));
          const result = await cairn.items.bulkInsert({ dataCollectionId: collectionId, dataItems, suppressHooks: true } as unknown as JsonObject, {
            ...ADMIN_CONTEXT,
            ...(options.ownerId ? { ownerId: options.ownerId } : {}),
          });
          const failed = result.results.filter((r) => !r.itemMetadata.success);
          if (failed.length > 0) {
            const first = failed[0]?.itemMetadata;
            throw new Error(`seed: ${failed.length} item(s) of ${collectionId} were not inserted: ${JSON.stringify(first?.error ?? first)}`);
          }
        }
      }
    };
    const createCollections = async () => {
      for (const c of options.collections ?? []) await cairn.collections.create(c);
    };
    await createCollections();
    if (options.seed) await seed(options.seed);

    await cairn.app.listen({ port: options.port ?? 0, host: options.host ?? '127.0.0.1' });
    const address = cairn.app.server.address();
    const port = typeof address === 'object' && address ? address.port : options.port;
    const host = options.host ?? '127.0.0.1';
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    const w = waiter;

    return {
      url,
      adminKey,
      client: wixClientFor(url, { apiKey: adminKey }),
      storeKind: postgres ? 'postgres' : 'sqlite',
      databaseUrl,
      db,
      server: cairn,
      clock,
      clientFor: (apiKey) => wixClientFor(url, { apiKey }),
      seed,
      waitForTask: (id, waitOptions) => w.wait(id, waitOptions),
      reset: async (resetOptions = {}) => {
        const mode = resetOptions.collections ?? 'keep';
        await emptyStore(db, mode !== 'keep');
        // The store was emptied behind the services: what they remember of it goes too.
        cairn.readCache?.reset();
        if (mode !== 'keep') {
          cairn.collections.forgetAll();
          if (mode === 'initial') await createCollections();
        }
        if (resetOptions.seed && options.seed) await seed(options.seed);
      },
      close,
    };
  } catch (e) {
    await close().catch(() => {});
    throw e;
  }
}

async function createSchema(url: string): Promise<string> {
  const schema = `cairn_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA ${schema}`);
  } finally {
    await client.end();
  }
  return schema;
}

async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/** The URL with `search_path` set to `schema` (every connection of the pool uses it). */
function withSearchPath(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}
