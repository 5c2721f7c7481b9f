/**
 * Background tasks at `/cms/v1/tasks` and `/_api/autocms/v1/tasks`, the items API's async jobs
 * under the Wix data prefixes, and Cairn's paged failure list at /cairn/v1/tasks/{id}/failures.
 * Shapes and semantics: docs/tasks.md.
 */
import type { FastifyInstance } from 'fastify';
import type { TaskService } from '../../tasks/service.js';
import { paramsOf } from '../params.js';
import { SCOPES } from '../../auth/scopes.js';
import { requireScope } from '../guard.js';
import { taskSchemas as S } from '../schemas/tasks.js';

/** Tasks change or read whole collections: for keys holding SCOPE.CAIRN.TASKS (the admin key holds every scope). */
const tasksScope = () => [SCOPES.tasks];

export interface TaskRoutesOptions {
  tasks: TaskService;
}

export const TASK_PREFIXES = ['/cms/v1/tasks', '/_api/autocms/v1/tasks'] as const;

export async function taskRoutes(app: FastifyInstance, { tasks }: TaskRoutesOptions): Promise<void> {
  requireScope(app, tasksScope);
  app.post('/', { schema: S.create }, async (req) => ({ task: await tasks.create(paramsOf(req).task) }));
  app.get('/:taskId', { schema: S.get }, async (req) => ({ task: await tasks.get(paramsOf(req).taskId) }));
  app.get('/', { schema: S.list }, async (req) => tasks.list(paramsOf(req).paging));
  app.delete('/:taskId', { schema: S.cancel }, async (req) => ({ task: await tasks.cancel(paramsOf(req).taskId) }));
}

export async function asyncJobRoutes(app: FastifyInstance, { tasks }: TaskRoutesOptions): Promise<void> {
  requireScope(app, tasksScope);
  app.post('/bulk/items/async-patch-by-filter', { schema: S.asyncPatch }, (req) => tasks.createJob('PATCH_BY_FILTER', paramsOf(req)));
  app.post('/bulk/items/async-remove-by-filter', { schema: S.asyncRemove }, (req) => tasks.createJob('DELETE_BY_QUERY', paramsOf(req)));
  app.get('/async-jobs/:jobId/status', { schema: S.jobStatus }, (req) => tasks.jobStatus(paramsOf(req).jobId));
}

export async function cairnTaskRoutes(app: FastifyInstance, { tasks }: TaskRoutesOptions): Promise<void> {
  requireScope(app, tasksScope);
  app.get('/tasks/:taskId/failures', { schema: S.failures }, (req) => {
    const p = paramsOf(req);
    return tasks.failures(p.taskId, p.paging);
  });
}
