/**
 * `cairn keys create|list|revoke`: API keys managed on the store directly, with the operator's
 * authority (ADMIN), as an admin would at /cairn/v1/keys. The secret is printed once, at
 * creation; list never shows one (only the stored prefix).
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { ADMIN } from '../auth/identity.js';
import { KeyService, type ApiKeyInfo } from '../auth/keys.js';
import { ALL_SCOPES, isScope, type Scope } from '../auth/scopes.js';
import { systemClock } from '../clock.js';
import { withDb } from './store.js';

/** --scope may be repeated (and takes comma lists); each value is checked here, as a usage error. */
function collectScope(value: string, previous: Scope[] | undefined): Scope[] {
  const out = [...(previous ?? [])];
  for (const s of value.split(',').map((v) => v.trim()).filter((v) => v !== '')) {
    if (!isScope(s)) throw new InvalidArgumentError(`Unknown scope; expected one of ${ALL_SCOPES.join(', ')}.`);
    if (!out.includes(s)) out.push(s);
  }
  return out;
}

/** Fixed-width columns; a cell never holds a newline, so a row stays one line for grep and awk. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

function keyRow(k: ApiKeyInfo): string[] {
  return [k.id, k.name, k.prefix, k.admin ? 'admin (all)' : k.scopes.join(','), k.memberId ?? '-', k.createdDate, k.revokedDate ?? '-'];
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('create, list and revoke API keys');

  keys
    .command('create')
    .description('create an API key and print it: the key is shown only this once')
    .requiredOption('--name <name>', 'what the key is for (shown by list)')
    .addOption(new Option('--scope <scope>', `a scope to grant; repeat for more (${ALL_SCOPES.join(', ')})`).argParser(collectScope))
    .option('--all-scopes', 'grant every scope')
    .option('--member <memberId>', 'the site member the key acts as (collection permissions then apply as to that member)')
    .option('--json', 'print {id, name, prefix, scopes, memberId?, createdDate, key} as JSON')
    .action(async (options: { name: string; scope?: Scope[]; allScopes?: boolean; member?: string; json?: boolean }, command: Command) => {
      if (options.allScopes && options.scope) command.error('error: give either --scope or --all-scopes, not both');
      const scopes = options.allScopes ? [...ALL_SCOPES] : options.scope;
      if (!scopes) command.error('error: at least one --scope (or --all-scopes) is required');
      const { key, secret } = await withDb((db) =>
        new KeyService(db, systemClock).create({ name: options.name, scopes, ...(options.member !== undefined ? { memberId: options.member } : {}) }, ADMIN),
      );
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ ...key, key: secret })}\n`);
        return;
      }
      process.stdout.write(
        `Created API key ${key.id} (${key.name})\n` +
          `  scopes: ${key.scopes.join(', ')}\n` +
          (key.memberId !== undefined ? `  member: ${key.memberId}\n` : '') +
          `  key:    ${secret}\n\n` +
          `The key is shown only this once; store it now. Send it as \`Authorization: <key>\`.\n`,
      );
    });

  keys
    .command('list')
    .description('list API keys (never their secrets)')
    .option('--json', 'print the keys as a JSON array')
    .action(async (options: { json?: boolean }) => {
      const all = await withDb((db) => new KeyService(db, systemClock).list());
      if (options.json) process.stdout.write(`${JSON.stringify(all)}\n`);
      else if (all.length === 0) process.stdout.write('No API keys.\n');
      else process.stdout.write(table(['ID', 'NAME', 'PREFIX', 'SCOPES', 'MEMBER', 'CREATED', 'REVOKED'], all.map(keyRow)));
    });

  keys
    .command('revoke')
    .description('revoke an API key: it stops working at once here, and within CAIRN_KEY_CACHE_MS in running servers')
    .argument('<id>', 'the key id (from create or list)')
    .option('--json', 'print the revoked key as JSON')
    .action(async (id: string, options: { json?: boolean }) => {
      const { before, after } = await withDb(async (db) => {
        const service = new KeyService(db, systemClock);
        const before = await service.get(id); // a missing id fails here: WDE0073, exit 1
        return { before, after: before.revokedDate === undefined ? await service.revoke(id) : before };
      });
      if (options.json) process.stdout.write(`${JSON.stringify(after)}\n`);
      else if (before.revokedDate !== undefined) process.stdout.write(`API key ${id} (${before.name}) was already revoked on ${before.revokedDate}.\n`);
      else process.stdout.write(`Revoked API key ${id} (${after.name}).\n`);
    });
}
