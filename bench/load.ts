/**
 * The load generator, run as a child process of bench/run.ts (bench/common.ts LoadGenerator):
 * autocannon drives the server from here, so it never shares the server's event loop.
 *
 * Messages in: {type: 'run', req: LoadRequest}, {type: 'stop'}.
 * Messages out: {type: 'ready'}, {type: 'started'}, {type: 'result', result: LoadResult}.
 */
import { BENCH_ADMIN_KEY } from './key.js';
import { createRequire } from 'node:module';
import type { LoadRequest, LoadResult } from './common.js';

interface AutocannonResult {
  errors: number;
  timeouts: number;
  non2xx: number;
  requests: { total: number };
  throughput: { total: number };
}
interface AutocannonInstance {
  on(event: 'response', fn: (client: unknown, status: number, bytes: number, ms: number) => void): void;
  stop(): void;
}
type Autocannon = (opts: Record<string, unknown>, cb: (err: Error | null, result: AutocannonResult) => void) => AutocannonInstance;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

let current: AutocannonInstance | undefined;

function send(m: unknown): void {
  process.send?.(m);
}

function pct(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[k] as number;
}

function run(req: LoadRequest): void {
  const times: number[] = [];
  let non2xx = 0;
  const paths = req.paths;
  let k = 0;
  const opts: Record<string, unknown> = {
    url: req.url,
    connections: req.connections,
    pipelining: 1,
    timeout: 60,
    method: req.method ?? 'GET',
    headers: { 'content-type': 'application/json', authorization: BENCH_ADMIN_KEY },
    ...(req.body !== undefined ? { body: req.body } : {}),
    ...(req.amount !== undefined ? { amount: req.amount } : { duration: req.duration ?? 3600 }),
    ...(req.overallRate !== undefined ? { overallRate: req.overallRate } : {}),
    requests: [
      {
        method: req.method ?? 'GET',
        ...(req.body !== undefined ? { body: req.body } : {}),
        setupRequest: (r: { path: string }) => {
          if (paths && paths.length) r.path = paths[k++ % paths.length] as string;
          else if (req.path) r.path = req.path;
          return r;
        },
      },
    ],
  };
  const t0 = performance.now();
  let last = t0;
  const instance = autocannon(opts, (err, result) => {
    current = undefined;
    if (err) {
      send({ type: 'fatal', message: String(err) });
      return;
    }
    const sorted = Float64Array.from(times).sort();
    const seconds = (last - t0) / 1000;
    const out: LoadResult = {
      requests: times.length,
      seconds,
      rps: times.length / seconds,
      p50: pct(sorted, 50),
      p99: pct(sorted, 99),
      max: pct(sorted, 100),
      errors: result.errors + result.timeouts,
      non2xx: Math.max(non2xx, result.non2xx),
      bytesPerResponse: times.length ? result.throughput.total / times.length : 0,
    };
    send({ type: 'result', result: out });
  });
  instance.on('response', (_client, status, _bytes, ms) => {
    last = performance.now();
    times.push(ms);
    if (status < 200 || status > 299) non2xx++;
  });
  current = instance;
  send({ type: 'started' });
}

process.on('message', (m: { type: string; req?: LoadRequest }) => {
  if (m.type === 'run' && m.req) run(m.req);
  else if (m.type === 'stop') current?.stop();
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
