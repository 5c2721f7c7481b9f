/**
 * Data permissions (the published client's `permissions` module; docs/security.md, "Data
 * permissions"), under the Wix path and the two the client sends to a custom host.
 */
import type { FastifyInstance } from 'fastify';
import type { CollectionService } from '../../collections/service.js';
import { myPermissions } from '../../auth/permissions.js';
import { SCOPES } from '../../auth/scopes.js';
import { requireScope } from '../guard.js';
import { paramsOf } from '../params.js';
import { permissionSchemas as S } from '../schemas/permissions.js';

export const PERMISSION_PREFIXES = ['/wix-data/v1', '/_api/data/v1', '/_api/cloud-data/v1'] as const;

/** Managing permissions: collections management's scope. */
export async function permissionRoutes(app: FastifyInstance, opts: { collections: CollectionService }): Promise<void> {
  const { collections } = opts;
  requireScope(app, () => [SCOPES.collections]);
  app.get('/permissions', { schema: S.get }, async (req) => ({ dataPermissions: await collections.dataPermissions(paramsOf(req).dataCollectionId) }));
  app.post('/permissions', { schema: S.update }, async (req) => ({ dataPermissions: await collections.updateDataPermissions(paramsOf(req).dataPermissions) }));
  app.post('/permissions/special', { schema: S.addSpecial }, async (req) => {
    const p = paramsOf(req);
    return { specialPermissions: await collections.addSpecialPermissions(p.dataCollectionId, p.specialPermissions) };
  });
  app.post('/permissions/special/:id', { schema: S.updateSpecial }, async (req) => {
    const p = paramsOf(req);
    return { specialPermissions: await collections.updateSpecialPermissions(p.id, p.specialPermissions) };
  });
  app.delete('/permissions/special/:id', { schema: S.removeSpecial }, async (req) => {
    await collections.removeSpecialPermissions(paramsOf(req).id);
    return {};
  });
}

/** Get My Permissions: anyone may ask what they may do. */
export async function myPermissionRoutes(app: FastifyInstance, opts: { collections: CollectionService }): Promise<void> {
  app.get('/permissions/current', { schema: S.current }, async (req) => myPermissions(req.identity, await opts.collections.get(paramsOf(req).dataCollectionId as string)));
}
