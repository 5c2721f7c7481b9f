/**
 * The Backups API (docs/backups.md) under the Wix prefix, the SDK's custom-host prefix and the
 * `/_api` one the client's own mapping names.
 */
import type { FastifyInstance } from 'fastify';
import type { BackupService } from '../../backups/service.js';
import { SCOPES } from '../../auth/scopes.js';
import { requireScope } from '../guard.js';
import { paramsOf } from '../params.js';
import { backupSchemas as S } from '../schemas/backups.js';

/** The published client sends `/wix-data/v2/backups` to www.wixapis.com and `/data/v2/backups` to a custom host. */
export const BACKUP_PREFIXES = ['/wix-data/v2', '/data/v2', '/_api/data/v2'] as const;

export async function backupRoutes(app: FastifyInstance, opts: { backups: BackupService }): Promise<void> {
  const { backups } = opts;
  requireScope(app, () => [SCOPES.backups]);
  app.post('/backups', { schema: S.create }, async (req) => ({ backup: await backups.create(paramsOf(req).backup) }));
  app.get('/backups', { schema: S.list }, async (req) => {
    const p = paramsOf(req);
    return backups.list(p.status, p.type, p.paging);
  });
  app.get('/backups/restorations', { schema: S.listRestorations }, async (req) => {
    const p = paramsOf(req);
    return backups.listRestorations(p.status, p.paging);
  });
  app.post('/backups/:backupId/restore', { schema: S.restore }, async (req) => ({ restoration: await backups.restore(paramsOf(req).backupId) }));
  app.post('/backups/:backupId/partial-restore', { schema: S.partialRestore }, async (req) => {
    const p = paramsOf(req);
    return { restoration: await backups.restore(p.backupId, p.restorationCollections ?? null) };
  });
  app.delete('/backups/:backupId', { schema: S.remove }, async (req) => {
    await backups.remove(paramsOf(req).backupId);
    return {};
  });
}
