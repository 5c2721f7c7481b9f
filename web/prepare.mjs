// Runs on `npm install` / `npm ci` (package.json "prepare"): builds the dashboard into web/dist,
// which the server serves at `/`. Vite is a dev dependency: on an install without dev
// dependencies there is nothing to build with, and the server says so at `/` instead.
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
let vite;
try {
  vite = join(dirname(require.resolve('vite/package.json')), 'bin', 'vite.js');
} catch {
  console.warn('cairn: vite is not installed (dev dependencies omitted); the dashboard is not built');
  process.exit(0);
}
const result = spawnSync(process.execPath, [vite, 'build', 'web', '--logLevel', 'warn'], { stdio: 'inherit' });
process.exit(result.status ?? 1);
