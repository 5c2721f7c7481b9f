/**
 * `--only lib`: the embedded library (src/lib). How long `createCairn({ store: 'memory' })`
 * takes to answer, beside starting the server as its own process (`npm start` to the first 200
 * from /healthz); and how long `reset()` takes with 1,000 items, beside a fresh createCairn
 * (what a test would pay for a new server instead).
 *
 * Module loading is in neither createCairn figure: a test file pays it once (about a second, for
 * tsx to compile the sources) however many instances it starts, while the separate process pays
 * it on every start; that is the point of the comparison. The first start of a process (in a
 * child) and later starts (in this process, after 3 untimed ones) are reported apart: the first
 * runs before V8 has optimised Fastify's start-up code and costs several times more.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCairn, type EmbeddedCairn } from '../src/lib/index.js';
import { BENCH_ADMIN_KEY, fmt, log, median, sleep, timeRuns, type BenchOptions, type Row, type StoreName } from './common.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ITEMS = 1000;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** `npm start` (node --import tsx src/server.ts) on a fresh SQLite directory: ms from spawn to the first 200 of /healthz. */
async function processStart(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-bench-start-'));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (k !== 'DATABASE_URL' && !k.startsWith('CAIRN_')) env[k] = v;
  Object.assign(env, { PORT: String(port), HOST: '127.0.0.1', CAIRN_DATA_DIR: dir, CAIRN_ADMIN_KEY: BENCH_ADMIN_KEY, CAIRN_LOG_LEVEL: 'warn' });
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode} before it was ready`);
      try {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`);
        if (res.status === 200) return performance.now() - started;
      } catch {
        // not listening yet
      }
      if (performance.now() - started > 30_000) throw new Error('npm start was not ready within 30 s');
      await sleep(2);
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The first createCairn of a fresh process, after the library's modules are loaded (untimed):
 * what a test file pays for its first server. V8 has not yet optimised Fastify's route and schema
 * compilation then, so it costs more than the later starts timeRuns measures.
 */
async function firstStart(): Promise<number> {
  const lib = new URL('../src/lib/index.ts', import.meta.url).href;
  const code = `const { createCairn } = await import(${JSON.stringify(lib)});
const t = performance.now();
const c = await createCairn({ store: 'memory' });
const ms = performance.now() - t;
await c.close();
process.stdout.write(String(ms));`;
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (k !== 'DATABASE_URL' && !k.startsWith('CAIRN_')) env[k] = v;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const code_ = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const ms = Number(out);
  if (code_ !== 0 || !Number.isFinite(ms)) throw new Error(`first createCairn child failed (exit ${code_}): ${out}`);
  return ms;
}

function storeFor(name: StoreName): { store: string; freshSchema?: boolean } {
  return name === 'postgres' ? { store: process.env.DATABASE_URL as string, freshSchema: true } : { store: 'memory' };
}

async function startAndClose(name: StoreName): Promise<number> {
  const t = performance.now();
  const cairn = await createCairn(storeFor(name));
  const ms = performance.now() - t;
  await cairn.close();
  return ms;
}

/** reset() after 1,000 items were inserted (with their events), each run. */
async function resets(cairn: EmbeddedCairn, runs: number): Promise<number[]> {
  const batch = Array.from({ length: ITEMS }, (_, i) => ({ title: `Item ${i}`, n: i, tags: ['a', `t${i % 7}`] }));
  const out: number[] = [];
  for (let i = 0; i < runs + 3; i++) {
    await cairn.seed({ things: batch });
    const t = performance.now();
    await cairn.reset();
    if (i >= 3) out.push(performance.now() - t);
  }
  return out;
}

export async function libSection(opts: BenchOptions): Promise<Row[]> {
  const rows: Row[] = [];
  const starts = opts.quick ? 10 : 30;
  const processes = opts.quick ? 3 : 7;

  log(`lib: npm start to /healthz, ${processes} times`);
  const processMs: number[] = [];
  for (let i = 0; i < processes; i++) processMs.push(await processStart());
  const proc = median(processMs);
  rows.push({
    section: 'lib',
    store: 'sqlite',
    metric: '`npm start` to the first 200 of /healthz, ms (a separate process, median)',
    measured: fmt(proc),
    baseline: '—',
    ratio: undefined,
    target: '—',
    pass: undefined,
  });

  log(`lib: first createCairn of a fresh process, ${processes} times`);
  const firstMs: number[] = [];
  for (let i = 0; i < processes; i++) firstMs.push(await firstStart());
  const first = median(firstMs);
  rows.push({
    section: 'lib',
    store: 'sqlite',
    metric: "first createCairn({ store: 'memory' }) of a process (modules loaded), ms (median)",
    measured: fmt(first),
    baseline: `${fmt(proc)} (npm start to /healthz)`,
    ratio: first / proc,
    target: '< 100 ms',
    pass: first < 100,
  });

  for (const name of opts.stores) {
    log(`lib: createCairn (${name}), ${starts} times`);
    const ready = median(await timeRuns(() => startAndClose(name), starts, 3));
    const memory = name === 'sqlite';
    rows.push({
      section: 'lib',
      store: name,
      metric: `createCairn(${memory ? "{ store: 'memory' }" : '{ store: DATABASE_URL, freshSchema: true }'}) to ready, later starts, ms (median)`,
      measured: fmt(ready),
      baseline: `${fmt(proc)} (npm start to /healthz)`,
      ratio: ready / proc,
      target: memory ? '< 100 ms' : '—',
      pass: memory ? ready < 100 : undefined,
    });

    log(`lib: reset with ${ITEMS} items (${name})`);
    const cairn = await createCairn({ ...storeFor(name), collections: [{ id: 'things' }] });
    try {
      const reset = median(await resets(cairn, opts.quick ? 10 : 30));
      rows.push({
        section: 'lib',
        store: name,
        metric: `reset() with ${fmt(ITEMS, 0)} items and their events, ms (median)`,
        measured: fmt(reset),
        baseline: `${fmt(ready)} (a new createCairn)`,
        ratio: reset / ready,
        target: memory ? '< 5 ms' : '—',
        pass: memory ? reset < 5 : undefined,
      });
    } finally {
      await cairn.close();
    }
  }
  return rows;
}
