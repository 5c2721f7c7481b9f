/**
 * Serves the web dashboard (web/, built into web/dist by `npm install`'s prepare script) at `/`:
 * index.html there and Vite's hashed files under `/assets/`, nothing else, so no API path can be
 * shadowed. The dashboard routes by the URL's hash, so it needs no fallback route. Without a
 * build, `/` says how to make one.
 */
import { readFile } from 'node:fs/promises';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

export const DASHBOARD_DIR = fileURLToPath(new URL('../../web/dist/', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
};

// The page's own files only: the API key sits in sessionStorage, so no script from elsewhere may run.
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

const NOT_BUILT =
  'The Cairn dashboard is not built. `npm install` builds it (the "prepare" script); to build it again, run `npm run build:web`. The API is unaffected.\n';

async function readOrNull(path: string): Promise<Buffer | null> {
  try {
    return await readFile(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'EISDIR') return null;
    throw e;
  }
}

export async function dashboardRoutes(app: FastifyInstance, options: { dir?: string }): Promise<void> {
  const dir = resolve(options.dir ?? DASHBOARD_DIR);
  const assets = join(dir, 'assets') + sep;

  app.get('/', async (_req, reply) => {
    const html = await readOrNull(join(dir, 'index.html'));
    if (html === null) return reply.status(404).type('text/plain; charset=utf-8').send(NOT_BUILT);
    return reply.headers(PAGE_HEADERS).type(TYPES['.html']!).send(html);
  });

  app.get('/assets/*', async (req, reply: FastifyReply) => {
    const name = (req.params as { '*': string })['*'];
    const path = resolve(assets, name);
    // `..` or an absolute name must not leave the assets folder.
    const file = path.startsWith(assets) && !name.includes('\0') ? await readOrNull(path) : null;
    if (file === null) return reply.callNotFound();
    // Vite puts a content hash in every asset's name: a name always means the same bytes.
    return reply
      .header('cache-control', 'public, max-age=31536000, immutable')
      .header('x-content-type-options', 'nosniff')
      .type(TYPES[extname(path)] ?? 'application/octet-stream')
      .send(file);
  });
}
