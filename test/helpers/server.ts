/**
 * Starts Cairn in-process on a loopback port over a fresh test store, and points the published
 * @wix/sdk + @wix/data client at it (client-wire.md's recipe: rewrite the origin in fetch).
 */
import { createClient, ApiKeyStrategy } from '@wix/sdk';
import { items, collections, tasks } from '@wix/data';
import { buildApp, type AppOptions, type Cairn } from '../../src/http/app.js';
import type { Clock } from '../../src/clock.js';
import type { RunnerOptions } from '../../src/tasks/runner.js';
import type { HooksSource } from '../../src/hooks/model.js';
import { openTestStore, type StoreName, type TestStore } from './stores.js';

export interface TestServer {
  readonly url: string;
  readonly store: TestStore;
  readonly cairn: Cairn;
  /** The published client, already pointed at this server. */
  readonly client: ReturnType<typeof wixClientFor>;
  close(): Promise<void>;
}

/** The admin key every test server is started with; `call` and the clients send it unless told otherwise. */
export const TEST_ADMIN_KEY = 'test-admin-key';

export function wixClientFor(url: string, apiKey = TEST_ADMIN_KEY) {
  return createClient({
    modules: { items, collections, tasks },
    auth: ApiKeyStrategy({ apiKey, siteId: 'local' }),
    useCDN: false,
    fetch: ((input: RequestInfo | URL, init?: RequestInit) =>
      fetch(String(input instanceof Request ? input.url : input).replace(/^https:\/\/(www|edge)\.wixapis\.com/, url), init)) as typeof fetch,
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
}

export async function startServer(storeName: StoreName, options: StartOptions = {}): Promise<TestServer> {
  const store = await openTestStore(storeName, { onDisk: options.onDisk ?? false });
  const cairn = await buildApp({
    db: store.db,
    logLevel: 'silent',
    adminKey: TEST_ADMIN_KEY,
    ...(options.auth ? { auth: options.auth } : {}),
    ...(options.events === false ? { events: false } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.hooks !== undefined ? { hooks: options.hooks } : {}),
    ...(options.runner === false ? { runTasks: false } : options.runner ? { runner: options.runner } : {}),
  });
  await cairn.app.listen({ port: 0, host: '127.0.0.1' });
  const address = cairn.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    store,
    cairn,
    client: wixClientFor(url),
    close: async () => {
      await cairn.app.close();
      await store.close();
    },
  };
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
