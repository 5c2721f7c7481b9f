/**
 * `cairn serve` and `cairn worker`: exactly `npm start` and `npm run worker` (the same main(),
 * signals and exit codes). Imported on demand, so other commands never load the HTTP stack.
 */
import type { Command } from 'commander';

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve the HTTP API (as `npm start`); PORT, HOST and the CAIRN_* settings in the README apply')
    .action(async () => {
      const { main } = await import('../server.js');
      await main();
    });
  program
    .command('worker')
    .description('run background tasks and webhook delivery without HTTP (as `npm run worker`)')
    .action(async () => {
      const { main } = await import('../worker.js');
      await main();
    });
}
