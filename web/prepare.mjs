// Runs on `npm install` / `npm ci` (package.json "prepare"): builds the dashboard into web/dist,
// which the server serves at `/`. Vite is a dev dependency: on an install without dev
// dependencies there is nothing to build with, and the server says so at `/` instead.
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
let vite;
try {
  vite = join(dirname(require.resolve('vite/package.json')), 'bin', 'vite.js');
} catch {
  console.warn('cairn: vite is not installed (dev dependencies omitted); the dashboard is not built');
  process.exit(0);
}
// Vite 7 runs on Node ^20.19 or >= 22.12; Cairn itself runs on any Node 20, so an older one
// gets the API without the dashboard rather than a failed install.
const [major, minor] = process.versions.node.split('.').map(Number);
if ((major === 20 && minor < 19) || (major === 22 && minor < 12) || major === 21) {
  console.warn(`cairn: the dashboard needs Node ^20.19 or >= 22.12 to build (this is ${process.version}); it is not built`);
  process.exit(0);
}
const result = spawnSync(process.execPath, [vite, 'build', 'web', '--logLevel', 'warn'], {
  stdio: 'inherit',
  cwd: join(dirname(fileURLToPath(import.meta.url)), '..'),
});
process.exit(result.status ?? 1);
