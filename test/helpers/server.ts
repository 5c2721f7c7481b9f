/**
 * Starts Cairn in-process on a loopback port over a fresh test store, through the embedded
 * library (src/lib: createCairn), so every test file that starts a server exercises it, and
 * points the published @wix/sdk + @wix/data client at it (client-wire.md's recipe: rewrite the
 * origin in fetch).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { createClient, ApiKeyStrategy } from '@wix/sdk';
import { items, collections, tasks } from '@wix/data';
import type { AppOptions, Cairn } from '../../src/http/app.js';
import type { Clock } from '../../src/clock.js';
import { cairnFetch, createCairn, type EmbeddedCairn } from '../../src/lib/index.js';
import type { RunnerOptions } from '../../src/tasks/runner.js';
import type { HooksSource } from '../../src/hooks/model.js';
import type { StoreName, TestStore } from './stores.js';

export interface TestServer {
  readonly url: string;
  readonly store: TestStore;
  readonly cairn: Cairn;
  /** The published client, already pointed at this server. */
  readonly client: ReturnType<typeof wixClientFor>;
  /** The embedded library's handle (waitForTask, clock, reset, ...). */
  readonly lib: EmbeddedCairn;
  close(): Promise<void>;
}

/** The admin key every test server is started with; `call` and the clients send it unless told otherwise. */
export const TEST_ADMIN_KEY = 'test-admin-key';

/**
 * The published client for `url` (src/lib's origin-rewriting fetch). Typed loosely, as the tests
 * have always used it; src/lib's own wixClientFor is the typed one users get.
 */
export function wixClientFor(url: string, apiKey = TEST_ADMIN_KEY) {
  return createClient({
    modules: { items, collections, tasks },
    auth: ApiKeyStrategy({ apiKey, siteId: 'local' }),
    useCDN: false,
    fetch: cairnFetch(url),
  } as Parameters<typeof createClient>[0]);
}

/**
 * A published client with the given modules, pointed at `url` whatever host the SDK builds its
 * requests for, pushing each request's path onto `seen` (tests check the prefix the SDK chose).
 * With `apiBaseUrl` the SDK takes its custom-host form, whose paths start with `/_api/`.
 */
export function recordingClientFor<M extends Record<string, unknown>>(url: string, modules: M, options: { apiBaseUrl?: string; seen: string[]; apiKey?: string }) {
  return createClient({
    modules,
    auth: ApiKeyStrategy({ apiKey: options.apiKey ?? TEST_ADMIN_KEY, siteId: 'local' }),
    useCDN: false,
    ...(options.apiBaseUrl ? { host: { apiBaseUrl: options.apiBaseUrl } } : {}),
    fetch: ((input: RequestInfo | URL, init?: RequestInit) => {
      const u = new URL(String(input instanceof Request ? input.url : input));
      options.seen.push(u.pathname);
      return fetch(url + u.pathname + u.search, init);
    }) as typeof fetch,
  } as unknown as Parameters<typeof createClient>[0]) as any;
}

export interface StartOptions {
  clock?: Clock;
  /** Runner settings (batch size, afterBatch hook, ...), or false for no in-process runner. */
  runner?: RunnerOptions | false;
  /** SQLite in a file rather than in memory (openTestStore says why it matters). */
  onDisk?: boolean;
  /** Data hooks: a module path or module object (docs/hooks.md). */
  hooks?: HooksSource;
  /** Record events (default true; false is CAIRN_EVENTS=off). */
  events?: boolean;
  /** Access control settings (member tokens, rate limits). */
  auth?: AppOptions['auth'];
  /** How long a deleted collection can be restored, hours. */
  collectionRetentionHours?: number;
  /** Take an AUTO backup every this many hours (default: never). */
  backupAutoHours?: number;
}

export async function startServer(storeName: StoreName, options: StartOptions = {}): Promise<TestServer> {
  // SQLite in memory by default; a file in a temporary directory when onDisk; PostgreSQL in a
  // fresh schema of its own (dropped at close), so test files never see each other's rows.
  // CAIRN_TEST_SQLITE_ON_DISK=1 puts every SQLite test server on disk: the store `npm start`
  // opens, with its read connection, per-turn read snapshot and read cache.
  const onDisk = options.onDisk ?? process.env.CAIRN_TEST_SQLITE_ON_DISK === '1';
  const dir = storeName === 'sqlite' && onDisk ? mkdtempSync(join(tmpdir(), 'cairn-test-')) : undefined;
  const where =
    storeName === 'postgres'
      ? { store: process.env.DATABASE_URL as string, freshSchema: true }
      : { store: dir ? join(dir, 'cairn.db') : 'memory' };
  let lib: EmbeddedCairn;
  try {
    lib = await createCairn({
      ...where,
      logLevel: (process.env.CAIRN_TEST_LOG as 'error' | undefined) ?? 'silent',
      adminKey: TEST_ADMIN_KEY,
      ...(options.auth ? { auth: options.auth } : {}),
      ...(options.events === false ? { events: false } : {}),
      ...(options.collectionRetentionHours !== undefined ? { collectionRetentionHours: options.collectionRetentionHours } : {}),
      ...(options.backupAutoHours !== undefined ? { backupAutoHours: options.backupAutoHours } : {}),
      ...(options.clock ? { clock: options.clock } : {}),
      ...(options.hooks !== undefined ? { hooks: options.hooks } : {}),
      ...(options.runner === false ? { runner: false as const } : options.runner ? { runner: options.runner } : {}),
    });
  } catch (e) {
    if (dir) rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const close = async () => {
    try {
      await lib.close();
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
    }
  };
  const store: TestStore = {
    name: storeName,
    db: lib.db,
    ...(storeName === 'postgres' ? { url: lib.databaseUrl as string } : {}),
    ...(dir ? { file: join(dir, 'cairn.db') } : {}),
    close,
  };
  return { url: lib.url, store, cairn: lib.server, client: wixClientFor(lib.url), lib, close };
}

/**
 * POSTs (or sends any method) JSON and returns status and parsed body. Sends the test admin key
 * unless `headers` says otherwise (`authorization: ''` for an anonymous call).
 */
export async function call(url: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(url + path, {
    method,
    headers: { 'content-type': 'application/json', authorization: TEST_ADMIN_KEY, ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, body: json, headers: res.headers };
}

/**
 * Raw HTTP against a test server started later (`url` is read at each call): `api` answers as the
 * server did; `ok` insists on 200 and gives the body. Both send the admin key unless told.
 */
export function httpOf(url: () => string) {
  const api = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => call(url(), method, path, body, headers);
  const ok = async (method: string, path: string, body?: unknown): Promise<any> => {
    const r = await api(method, path, body);
    assert.equal(r.status, 200, `${method} ${path}: ${JSON.stringify(r.body).slice(0, 500)}`);
    return r.body;
  };
  return { api, ok };
}
