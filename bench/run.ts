/**
 * `npm run bench [-- --quick] [--only http,query,patch,tasks,events,lib] [--store sqlite|postgres|both] [--json FILE]`
 *
 * Prints one table per section. Every figure sits beside a baseline measured in the same run on
 * the same machine (a bare Fastify route, or the same change as one hand-written SQL statement),
 * so read the ratios, not the absolute times. Targets and results are in docs/benchmarks.md.
 * PostgreSQL runs only when DATABASE_URL is set (each run gets a fresh schema, dropped after).
 * Progress goes to stderr, tables to stdout.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { formatTable, log, LoadGenerator, verdict, type BenchOptions, type Row, type StoreName } from './common.js';
import { httpSection } from './http.js';
import { libSection } from './lib.js';
import { patchSection } from './patch.js';
import { eventsSection } from './events.js';
import { querySection } from './query.js';
import { tasksSection } from './tasks.js';

const SECTIONS = ['http', 'query', 'patch', 'tasks', 'events', 'lib'] as const;
type Section = (typeof SECTIONS)[number];

function usage(message: string): never {
  process.stderr.write(`${message}\nusage: npm run bench -- [--quick] [--only ${SECTIONS.join(',')}] [--store sqlite|postgres|both] [--json FILE]\n`);
  process.exit(2);
}

function parseArgs(argv: string[]): BenchOptions & { only: Section[]; json?: string } {
  let quick = false;
  let only: Section[] = [...SECTIONS];
  let storeArg: string | undefined;
  let json: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const value = (): string => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined) usage(`${a} needs a value`);
      return v;
    };
    if (a === '--quick') quick = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const list = value().split(',').map((s) => s.trim()).filter(Boolean);
      for (const s of list) if (!(SECTIONS as readonly string[]).includes(s)) usage(`unknown section ${s}`);
      only = list as Section[];
    } else if (a === '--store' || a.startsWith('--store=')) storeArg = value();
    else if (a === '--json' || a.startsWith('--json=')) json = value();
    else if (a === '--help' || a === '-h') usage('');
    else usage(`unknown argument ${a}`);
  }
  const hasPg = Boolean(process.env.DATABASE_URL);
  let stores: StoreName[];
  if (storeArg === undefined) stores = hasPg ? ['sqlite', 'postgres'] : ['sqlite'];
  else if (storeArg === 'sqlite') stores = ['sqlite'];
  else if (storeArg === 'postgres' || storeArg === 'both') {
    if (!hasPg) usage(`--store ${storeArg} needs DATABASE_URL (a postgres:// URL)`);
    stores = storeArg === 'both' ? ['sqlite', 'postgres'] : ['postgres'];
  } else usage(`--store must be sqlite, postgres or both, not ${storeArg}`);
  return { quick, stores, only, ...(json ? { json } : {}) };
}

/** Other work on the machine skews every figure, baselines included: say how busy it was. */
function loadAverage(): string {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const started = Date.now();
  const header = [
    `# Cairn benchmarks${opts.quick ? ' (--quick)' : ''}`,
    '',
    `${new Date().toISOString()} · node ${process.version} · ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'} · ${Math.round(totalmem() / 2 ** 30)} GiB`,
    `stores: ${opts.stores.join(', ')} · sections: ${opts.only.join(', ')} · load average at start ${loadAverage()}`,
  ].join('\n');
  process.stdout.write(`${header}\n`);
  const load = new LoadGenerator();
  const all: Row[] = [];
  try {
    for (const section of opts.only) {
      const t = Date.now();
      log(`== ${section}`);
      const rows =
        section === 'http'
          ? await httpSection(opts, load)
          : section === 'query'
            ? await querySection(opts)
            : section === 'patch'
              ? await patchSection(opts, load)
              : section === 'events'
                ? await eventsSection(opts, load)
                : section === 'lib'
                  ? await libSection(opts)
                  : await tasksSection(opts, load);
      all.push(...rows);
      process.stdout.write(`\n## ${section} (${((Date.now() - t) / 1000).toFixed(0)} s)\n\n${formatTable(rows)}\n`);
    }
  } finally {
    load.close();
  }
  const counts = { PASS: 0, FAIL: 0, info: 0 };
  for (const r of all) counts[verdict(r.pass) as keyof typeof counts]++;
  process.stdout.write(
    `\n${counts.PASS} PASS, ${counts.FAIL} FAIL, ${counts.info} informational rows · ${((Date.now() - started) / 1000).toFixed(0)} s in all · load average at end ${loadAverage()}\n`,
  );
  if (opts.json) writeFileSync(opts.json, JSON.stringify({ date: new Date().toISOString(), quick: opts.quick, stores: opts.stores, rows: all }, null, 2));
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
