/**
 * The `cairn` CLI as a script sees it: the real command in a child process (`node --import tsx
 * src/cli/main.ts`, once through bin/cairn.js) on a store of its own, on SQLite and on PostgreSQL.
 * A key made by the CLI works over HTTP on a server over the same store, list never shows its
 * secret, revoke turns it away with 401; exit codes are 0, 1 (failed) and 2 (usage) with one line
 * on stderr; `cairn serve` serves and exits 0 on SIGTERM.
 */
import { freePort } from './helpers/process.js';
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { buildApp, type Cairn } from '../src/http/app.js';
import type { Db } from '../src/store/db.js';
import { openDb } from '../src/store/open.js';
import { TEST_ADMIN_KEY } from './helpers/server.js';
import { assertFails, cliEnv, startCli, type Run } from './helpers/cli.js';
import { STORE_NAMES, withSearchPath, type StoreName } from './helpers/stores.js';

const READ = 'SCOPE.DC-DATA.READ';

/** This process's environment minus every Cairn setting, plus the store's. */
function envFor(store: Record<string, string>): NodeJS.ProcessEnv {
  return cliEnv({ CAIRN_LOG_LEVEL: 'warn', ...store });
}

function start(args: string[], env: NodeJS.ProcessEnv, viaBin = false): { child: ChildProcess; done: Promise<Run> } {
  return startCli(args, env, { viaBin });
}

function cairn(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Run> {
  return start(args, env).done;
}

/** An empty store and the environment that points the CLI (and a server) at it. */
async function emptyStore(name: StoreName): Promise<{ env: Record<string, string>; open: () => Promise<Db>; drop: () => Promise<void> }> {
  if (name === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-cli-'));
    return { env: { CAIRN_DATA_DIR: dir }, open: () => openDb({ dataDir: dir }), drop: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  // As test/helpers/stores.ts does, but left unmigrated: `cairn migrate` is the first to touch it.
  const base = process.env.DATABASE_URL as string;
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE SCHEMA ${schema}`);
  await admin.end();
  const url = withSearchPath(base, schema);
  return {
    env: { DATABASE_URL: url },
    open: () => openDb({ databaseUrl: url }),
    drop: async () => {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP SCHEMA ${schema} CASCADE`);
      await c.end();
    },
  };
}


const get = (url: string, key: string) => fetch(`${url}/wix-data/v2/collections`, { headers: { authorization: key } });

for (const storeName of STORE_NAMES) {
  describe(`cairn CLI on ${storeName}`, () => {
    const cleanup: (() => Promise<void>)[] = [];
    after(async () => {
      for (const c of cleanup.reverse()) await c();
    });

    let store: Awaited<ReturnType<typeof emptyStore>>;
    let env: NodeJS.ProcessEnv;
    let server: { url: string; cairn: Cairn };
    let key: { id: string; key: string; name: string; prefix: string; scopes: string[] };

    it('migrate applies every migration once, then none', async () => {
      store = await emptyStore(storeName);
      cleanup.push(store.drop);
      env = envFor(store.env);
      const first = await cairn(env, 'migrate', '--json');
      assert.equal(first.code, 0, first.stderr);
      assert.ok(JSON.parse(first.stdout).applied > 0, first.stdout);
      const again = await cairn(env, 'migrate');
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /^No migrations to apply/);
    });

    it('keys create prints the key once, and it works over HTTP with its scopes', async () => {
      const r = await cairn(env, 'keys', 'create', '--name', 'reader', '--scope', READ, '--json');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      key = JSON.parse(r.stdout);
      assert.match(key.key, /^cairn_/);
      assert.deepEqual(key.scopes, [READ]);
      assert.ok(key.key.startsWith(key.prefix));

      // A server over the same store; keys are looked up every time so a revocation shows at once.
      const db = await store.open();
      const app = await buildApp({ db, logLevel: 'silent', adminKey: TEST_ADMIN_KEY, runTasks: false, auth: { keyCacheMs: 0 } });
      await app.app.listen({ port: 0, host: '127.0.0.1' });
      cleanup.push(async () => {
        await app.app.close();
        await db.close();
      });
      const address = app.app.server.address();
      server = { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, cairn: app };

      assert.equal((await get(server.url, key.key)).status, 200);
      // The key reads data but holds no collections scope: creating a collection is refused.
      const create = await fetch(`${server.url}/wix-data/v2/collections`, {
        method: 'POST',
        headers: { authorization: key.key, 'content-type': 'application/json' },
        body: JSON.stringify({ collection: { id: 'notes' } }),
      });
      assert.equal(create.status, 403);
      assert.equal((await get(server.url, 'cairn_not-a-key')).status, 401);
    });

    it('keys create in words, with a member and every scope', async () => {
      const r = await cairn(env, 'keys', 'create', '--name', 'everything', '--all-scopes', '--member', 'member-1');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Created API key \S+ \(everything\)\n/);
      assert.match(r.stdout, /member: member-1/);
      assert.match(r.stdout, /SCOPE\.CAIRN\.KEYS/);
      assert.match(r.stdout, /key: +cairn_\S+/);
    });

    it('keys list shows the key, never a secret (table, and JSON through bin/cairn.js)', async () => {
      const table = await cairn(env, 'keys', 'list');
      assert.equal(table.code, 0, table.stderr);
      const lines = table.stdout.trimEnd().split('\n');
      assert.match(lines[0]!, /^ID +NAME +PREFIX +SCOPES +MEMBER +CREATED +REVOKED$/);
      const row = lines.find((l) => l.startsWith(key.id));
      assert.ok(row, table.stdout);
      assert.match(row, new RegExp(`${key.id} +reader +${key.prefix} +${READ.replace(/\./g, '\\.')} +- +\\S+ +-$`));
      assert.ok(!table.stdout.includes(key.key));

      const bin = await start(['keys', 'list', '--json'], env, true).done;
      assert.equal(bin.code, 0, bin.stderr);
      const listed = JSON.parse(bin.stdout) as Record<string, unknown>[];
      assert.deepEqual(
        listed.map((k) => k.name),
        ['reader', 'everything'],
      );
      assert.ok(!bin.stdout.includes(key.key));
      assert.ok(listed.every((k) => !('key' in k) && !('secret' in k) && !('keyHash' in k)));
    });

    it('cairn serve serves the store, the key works there, and SIGTERM exits 0', async () => {
      const port = await freePort();
      const { child, done } = start(['serve'], { ...env, PORT: String(port), HOST: '127.0.0.1', CAIRN_ADMIN_KEY: TEST_ADMIN_KEY });
      const url = `http://127.0.0.1:${port}`;
      const deadline = Date.now() + 20_000;
      for (;;) {
        const ok = await fetch(`${url}/healthz`).then(
          (r) => r.status === 200,
          () => false,
        );
        if (ok) break;
        if (child.exitCode !== null || Date.now() > deadline) assert.fail(`cairn serve did not come up: ${JSON.stringify(await Promise.race([done, Promise.resolve('running')]))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal((await get(url, key.key)).status, 200);
      child.kill('SIGTERM');
      const r = await done;
      assert.equal(r.code, 0, r.stderr);
    });

    it('keys revoke turns the key away with 401; revoking again is no error', async () => {
      const r = await cairn(env, 'keys', 'revoke', key.id);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Revoked API key/);
      assert.equal((await get(server.url, key.key)).status, 401);

      const again = await cairn(env, 'keys', 'revoke', key.id);
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, /already revoked/);
      const listed = JSON.parse((await cairn(env, 'keys', 'list', '--json')).stdout) as { id: string; revokedDate?: string }[];
      assert.ok(listed.find((k) => k.id === key.id)?.revokedDate);
    });

    it('failures: exit 1 for a missing key, 2 for usage, one line each', async () => {
      const [missing, scope, noName, noScope, command] = await Promise.all([
        cairn(env, 'keys', 'revoke', 'no-such-key'),
        cairn(env, 'keys', 'create', '--name', 'x', '--scope', 'SCOPE.EVERYTHING'),
        cairn(env, 'keys', 'create', '--scope', READ),
        cairn(env, 'keys', 'create', '--name', 'x'),
        cairn(env, 'frobnicate'),
      ]);
      assertFails(missing, 1, /API key \[no-such-key\] does not exist/);
      assertFails(scope, 2, /SCOPE\.EVERYTHING.*Unknown scope/);
      assertFails(noName, 2, /required option '--name <name>'/);
      assertFails(noScope, 2, /--scope/);
      assertFails(command, 2, /unknown command 'frobnicate'/);
      // None of them made a key.
      const listed = JSON.parse((await cairn(env, 'keys', 'list', '--json')).stdout) as unknown[];
      assert.equal(listed.length, 2);
    });
  });
}

describe('cairn CLI without a store', () => {
  it('a configuration error is exit 1 and one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cairn-cli-'));
    try {
      const r = await cairn(envFor({ CAIRN_DATA_DIR: dir, CAIRN_RATE_LIMIT: 'lots' }), 'keys', 'list');
      assertFails(r, 1, /CAIRN_RATE_LIMIT must be a whole number/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--help and --version answer 0 on stdout', async () => {
    const env = envFor({ CAIRN_DATA_DIR: join(tmpdir(), 'cairn-cli-unused') });
    const [help, keysHelp, version] = await Promise.all([cairn(env, '--help'), cairn(env, 'keys', 'create', '--help'), cairn(env, '--version')]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /Usage: cairn/);
    assert.match(help.stdout, /keys/);
    assert.equal(keysHelp.code, 0);
    assert.match(keysHelp.stdout, /--all-scopes/);
    assert.equal(version.code, 0);
    assert.match(version.stdout, /^\d+\.\d+\.\d+\n$/);
  });
});
