/** `cairn migrate`: brings the store's schema up to date and says how many migrations that took. */
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { openStore } from '../store/open.js';

async function migrateConfiguredStore(): Promise<{ applied: number; store: string }> {
  const config = loadConfig();
  const { db, applied } = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    return { applied, store: db.description };
  } finally {
    await db.close();
  }
}

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply the migrations the store lacks (serve and worker also do this when they start)')
    .option('--json', 'print {"applied": n} instead of a sentence')
    .action(async (options: { json?: boolean }) => {
      const { applied, store } = await migrateConfiguredStore();
      if (options.json) process.stdout.write(`${JSON.stringify({ applied })}\n`);
      else process.stdout.write(applied === 0 ? `No migrations to apply: ${store} is up to date.\n` : `Applied ${applied} migration${applied === 1 ? '' : 's'} to ${store}.\n`);
    });
}
