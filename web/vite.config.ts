/**
 * The dashboard's build: React through Vite's own esbuild JSX transform (no React plugin: the
 * dashboard needs no fast refresh badly enough to pull in Babel). `npm run build:web` (`vite build web`)
 * writes web/dist, which the server serves at `/` (src/http/static.ts). `npm run dev:web` serves the
 * sources with the API proxied to a Cairn on 127.0.0.1:8080 (CAIRN_URL to change it).
 */
import { defineConfig } from 'vite';

const api = process.env.CAIRN_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  base: '/',
  esbuild: { jsx: 'automatic' },
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1024 },
  server: {
    proxy: Object.fromEntries(['/wix-data', '/cms', '/cairn', '/healthz'].map((p) => [p, { target: api, changeOrigin: true }])),
  },
});
