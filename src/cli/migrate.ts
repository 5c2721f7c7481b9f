/** `cairn migrate`: brings the store's schema up to date and says how many migrations that took. */
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import type { Db } from '../store/db.js';
import { migrate } from '../store/migrations.js';
import { PostgresDb } from '../store/postgres/db.js';
import { SqliteDb } from '../store/sqlite/db.js';
import { writePlannerStats } from '../store/sqlite/planner-stats.js';

/**
 * What openDb does, but keeping migrate()'s count, which openDb drops (every other command
 * opens the store with openDb). Keep the two in step.
 */
async function migrateConfiguredStore(): Promise<{ applied: number; store: string }> {
  const config = loadConfig();
  const url = config.databaseUrl;
  const db: Db =
    url && /^postgres(ql)?:\/\//.test(url) ? new PostgresDb({ connectionString: url }) : new SqliteDb({ file: join(config.dataDir, 'cairn.db') });
  try {
    const applied = await migrate(db);
    if (db.dialect === 'sqlite') await db.transaction((tx) => writePlannerStats(tx));
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
