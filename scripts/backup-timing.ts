/**
 * How long a backup and a restoration take (docs/backups.md): one collection of N items (default
 * 100,000) loaded over HTTP into a fresh store, then a backup, a restoration over unchanged items,
 * and a restoration into the emptied collection, each timed around the runner's step.
 *
 *   node --import tsx scripts/backup-timing.ts [sqlite|postgres] [N]
 *
 * SQLite in a temporary directory; PostgreSQL in a fresh schema of DATABASE_URL.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCairn } from '../src/lib/index.js';

const storeName = process.argv[2] ?? 'sqlite';
const n = Number(process.argv[3] ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), 'cairn-backup-timing-'));
const where = storeName === 'postgres' ? { store: process.env.DATABASE_URL as string, freshSchema: true } : { store: join(dir, 'cairn.db') };
const key = 'timing-key';
const cairn = await createCairn({ ...where, runner: false, adminKey: key, logLevel: 'silent' });
const call = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(cairn.url + path, { method, headers: { authorization: key, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json() as Promise<any>;
};
const timed = async (what: string, fn: () => Promise<unknown>) => {
  const started = performance.now();
  await fn();
  console.log(`${storeName} ${what}: ${(performance.now() - started).toFixed(0)} ms`);
};
try {
  await call('POST', '/wix-data/v2/collections', { collection: { id: 'big' } });
  for (let i = 0; i < n; i += 1000) {
    await call('POST', '/wix-data/v2/bulk/items/insert', {
      dataCollectionId: 'big',
      dataItems: Array.from({ length: Math.min(1000, n - i) }, (_, j) => ({ data: { title: `item ${i + j}`, n: i + j, body: 'lorem ipsum '.repeat(20) } })),
    });
  }
  const { backup } = await call('POST', '/wix-data/v2/backups', {});
  await timed(`backup of ${n} items`, () => cairn.server.backups.runPending());
  await call('POST', `/wix-data/v2/backups/${backup.id}/restore`, {});
  await timed('restoration over unchanged items', () => cairn.server.backups.runPending());
  await call('POST', '/wix-data/v2/items/truncate', { dataCollectionId: 'big' });
  await call('POST', `/wix-data/v2/backups/${backup.id}/restore`, {});
  await timed('restoration into the emptied collection', () => cairn.server.backups.runPending());
  const { restorations } = await call('GET', '/wix-data/v2/backups/restorations');
  for (const r of restorations) if (r.status !== 'COMPLETED') throw new Error(`restoration ${r.id} ended ${r.status}`);
  const { totalCount } = await call('POST', '/wix-data/v2/items/count', { dataCollectionId: 'big' });
  if (totalCount !== n) throw new Error(`restored ${totalCount} items, not ${n}`);
} finally {
  await cairn.close();
  rmSync(dir, { recursive: true, force: true });
}
