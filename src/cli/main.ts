/**
 * The `cairn` entry (`npm run cairn -- ...`, `npx cairn ...` through bin/cairn.js). On success
 * it lets the process end by itself, so output written to a pipe is never cut and `serve` and
 * `worker` keep running. On failure it exits at once: a serve or worker that failed to start may
 * hold the store or a socket open, and there is nothing left to wait for.
 */
import { runCli } from './program.js';

const code = await runCli(process.argv);
if (code !== 0) process.exit(code);
