/**
 * Runs the real Cairn entry points as child processes, for tests that kill them (kill -9) and
 * start them again: `node --import tsx src/server.ts` (ready when GET /healthz answers 200) and
 * `node --import tsx src/worker.ts` (ready when it logs "Cairn worker started").
 *
 * No orphans: every child is tracked and killed by killAll() (call it in `after`), on this
 * process's exit, and, should this process be killed itself, by a watchdog imported into the
 * child that exits once its parent is gone.
 *
 * The child's environment is this process's minus every Cairn setting (DATABASE_URL, CAIRN_*,
 * PORT, HOST), plus what the test passes: an SQLite child never sees the test run's
 * DATABASE_URL.
 */
import { TEST_ADMIN_KEY } from './server.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Exits the child when its parent (the test process) has died and it was re-parented. */
const WATCHDOG =
  'data:text/javascript,const p=process.ppid;setInterval(()=>{if(process.ppid!==p)process.exit(70)},250).unref();';

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export interface Child {
  readonly pid: number;
  /** Every line written to stdout and stderr so far (for assertions and failure messages). */
  readonly lines: string[];
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** kill -9, then waits for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (graceful shutdown), then waits for the exit. */
  stop(): Promise<void>;
}

export interface ServerChild extends Child {
  readonly url: string;
}

/** This process's environment minus every Cairn setting (DATABASE_URL, PORT, HOST, CAIRN_*). */
export function withoutCairnSettings(): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'DATABASE_URL' || k === 'PORT' || k === 'HOST' || k.startsWith('CAIRN_')) continue;
    out[k] = v;
  }
  return out;
}

function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  return { CAIRN_LOG_LEVEL: 'warn', CAIRN_ADMIN_KEY: TEST_ADMIN_KEY, ...withoutCairnSettings(), ...env };
}

function launch(script: string, env: Record<string, string>): Child {
  const child = spawn(process.execPath, ['--import', WATCHDOG, '--import', 'tsx', script], {
    cwd: ROOT,
    env: childEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const lines: string[] = [];
  const collect = (stream: NodeJS.ReadableStream) => {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (rest + chunk).split('\n');
      rest = parts.pop() ?? '';
      lines.push(...parts);
    });
    stream.on('end', () => {
      if (rest) lines.push(rest);
    });
  };
  collect(child.stdout!);
  collect(child.stderr!);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  const signal = async (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    await exited;
  };
  return { pid: child.pid!, lines, exited, kill: () => signal('SIGKILL'), stop: () => signal('SIGTERM') };
}

/** A port nothing listens on right now (another process may still take it before you do). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits for ready() while the child lives; throws with its output if it dies or times out. */
async function waitReady(child: Child, what: string, ready: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  let dead: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void child.exited.then((e) => (dead = e));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (dead) throw new Error(`${what} exited (${JSON.stringify(dead)}) before it was ready:\n${child.lines.join('\n')}`);
    if (await ready()) return;
    if (Date.now() > deadline) {
      await child.kill();
      throw new Error(`${what} not ready after ${timeoutMs} ms:\n${child.lines.join('\n')}`);
    }
    await sleep(25);
  }
}

/** Starts `src/server.ts` on a free loopback port and waits for GET /healthz to answer 200. */
export async function spawnServer(env: Record<string, string>, timeoutMs = 20_000): Promise<ServerChild> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = launch('src/server.ts', { ...env, PORT: String(port), HOST: '127.0.0.1' });
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitReady(
        child,
        'server',
        async () => {
          try {
            return (await fetch(`${url}/healthz`)).status === 200;
          } catch {
            return false;
          }
        },
        timeoutMs,
      );
      return { ...child, url };
    } catch (e) {
      // Another process may have taken the port between freePort() and listen(): try another.
      if (attempt < 3 && child.lines.some((l) => l.includes('EADDRINUSE'))) continue;
      throw e;
    }
  }
}

/** Starts `src/worker.ts` and waits for its "Cairn worker started" line. */
export async function spawnWorker(env: Record<string, string>, timeoutMs = 20_000): Promise<Child> {
  const child = launch('src/worker.ts', env);
  await waitReady(child, 'worker', async () => child.lines.some((l) => l.includes('Cairn worker started')), timeoutMs);
  return child;
}

/** kill -9 every child still running (call it in `after`). */
export async function killAll(): Promise<void> {
  await Promise.all(
    [...live].map(
      (c) =>
        new Promise<void>((resolve) => {
          c.once('exit', () => resolve());
          c.kill('SIGKILL');
        }),
    ),
  );
}
