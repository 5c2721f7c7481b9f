/**
 * The `cairn` command line: one commander program, one module per command group. Errors a
 * script must tell apart end in exit codes: 0 done, 1 the operation failed (a Cairn error, bad
 * configuration, an unreachable store), 2 the command line itself was wrong (unknown command or
 * option, a missing or invalid argument). Every failure is one line on stderr: `cairn: <message>`.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerCollections } from './collections.js';
import { registerBackups } from './backups.js';
import { registerExport } from './export.js';
import { registerImport } from './import.js';
import { registerKeys } from './keys.js';
import { registerMigrate } from './migrate.js';
import { registerServe } from './serve.js';
import { registerTasks } from './tasks.js';

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

/** Commander's messages start with "error: " and may carry a "(Did you mean ...?)" line: one line here. */
export function oneLine(message: string): string {
  return message
    .replace(/^error:\s*/, '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .join(' ');
}

export function createProgram(): Command {
  const program = new Command('cairn')
    .description(
      'Cairn: a self-hosted Wix Data API. serve, worker, migrate and keys work on the store the server uses: DATABASE_URL (PostgreSQL), else SQLite under CAIRN_DATA_DIR (default ./data). ' +
        'collections, backups, import, export and tasks talk to a running server: --url (CAIRN_URL, default http://127.0.0.1:8080) and --key (CAIRN_KEY).',
    )
    .version(version(), '-V, --version')
    // Set before the subcommands are made, so each one inherits them.
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(`cairn: ${oneLine(str)}\n`) })
    .showSuggestionAfterError(true);
  registerServe(program);
  registerMigrate(program);
  registerKeys(program);
  registerCollections(program);
  registerBackups(program);
  registerImport(program);
  registerExport(program);
  registerTasks(program);
  return program;
}

/** An error whose message is the whole story: shown as is, never with a stack. */
function messageOf(e: unknown): string {
  if (e instanceof AggregateError && !e.message && e.errors.length > 0) return messageOf(e.errors[0]);
  if (e instanceof Error) return oneLine(e.message || (e as NodeJS.ErrnoException).code || e.name);
  return String(e);
}

/** Runs the command line and returns the exit code; commands that keep running (serve, worker) resolve once started. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander has already written the message (or the help) to stderr.
      return e.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    process.stderr.write(`cairn: ${messageOf(e)}\n`);
    return EXIT_FAILURE;
  }
}
