/**
 * Background tasks (the CMS TaskService) and the items API's async jobs, which run on the same
 * runner. A task is one row in `tasks`; its failures are rows in `task_failures` (the first 100
 * are shown on the task, all of them at /cairn/v1/tasks/{id}/failures).
 *
 * Glossary
 * - kind: `task` (created through /cms/v1/tasks, listed there) or `job` (created by the items
 *   API's async-patch/remove-by-filter calls, read through /async-jobs/{id}/status).
 * - cursor: the last item id a committed batch got to; a resumed task continues after it.
 * - lease: a worker owns a running task until `locked_until`; it extends the lease with every
 *   batch. A dead worker's lease runs out and another worker resumes the task.
 *
 * docs/tasks.md describes the task types, the lifecycle and the execution model.
 */
import { WixError } from '../errors.js';
import { parseFieldPath, parseFilter } from '../query/parse.js';
import type { FilterNode } from '../query/ast.js';
import { asArray, asObject, oneOf, optionalBoolean, requireString } from '../validate.js';
import { canonicalise, isPlainObject, normaliseDateString, type JsonObject, type JsonValue } from '../wire/json.js';
import { normaliseData } from '../items/codec.js';
import { parseModifications, type FieldModification } from '../items/patch.js';
import { validCollectionId } from '../collections/model.js';

export const TASK_TYPES = ['DELETE_BY_QUERY', 'COPY_FIELD_DATA', 'EDIT_FIELD_DATA', 'UPDATE_PUBLISH_STATUS'] as const;
export type TaskType = (typeof TASK_TYPES)[number];
/** Async jobs of the items API use one more type. */
export type RunnableType = TaskType | 'PATCH_BY_FILTER';
export type TaskStatus = 'NEW' | 'RUNNING' | 'COMPLETED' | 'FAILED';

export const OPTIONS_KEY: Record<TaskType, string> = {
  DELETE_BY_QUERY: 'deleteByQueryOptions',
  COPY_FIELD_DATA: 'copyFieldDataOptions',
  EDIT_FIELD_DATA: 'editFieldDataOptions',
  UPDATE_PUBLISH_STATUS: 'updatePublishStatusOptions',
};

export const PUBLISH_OPERATIONS = [
  'SET_PUBLISHED_STATUS',
  'SET_DRAFT_STATUS',
  'SCHEDULE_PUBLISHED_STATUS',
  'SCHEDULE_DRAFT_STATUS',
  'CANCEL_SCHEDULING',
] as const;
export type PublishOperation = (typeof PUBLISH_OPERATIONS)[number];

export const EDIT_LIMIT = 64;

/** What a runner needs to run a task, parsed once from its stored options. */
export type TaskPlan =
  | { type: 'DELETE_BY_QUERY'; filter: FilterNode; includeDrafts: boolean }
  | { type: 'COPY_FIELD_DATA'; source: string[]; target: string[] }
  | {
      type: 'EDIT_FIELD_DATA';
      filter: FilterNode;
      field: string[];
      addItems: JsonValue[];
      removeItems: JsonValue[];
      replaceItems: { from: JsonValue; to: JsonValue }[];
      removeDuplicates: boolean;
    }
  | { type: 'UPDATE_PUBLISH_STATUS'; filter: FilterNode; operation: PublishOperation; date?: string }
  | { type: 'PATCH_BY_FILTER'; filter: FilterNode; modifications: FieldModification[] };

export interface NewTask {
  type: RunnableType;
  collectionId: string;
  environment: unknown;
  /** The options object as stored and shown (keyed by the type's options key for tasks). */
  options: JsonObject;
  plan: TaskPlan;
}

function list(v: unknown, what: string): JsonValue[] {
  if (v === undefined || v === null) return [];
  const l = asArray(v, what, 'WDE0075');
  if (l.length > EDIT_LIMIT) throw new WixError('WDE0075', `${what} holds more than ${EDIT_LIMIT} values`);
  return l.map((x) => normaliseData(x));
}

function path(v: unknown, what: string): string[] {
  return [...parseFieldPath(requireString(v, what, 'WDE0075', 1024), what).segments];
}

export type TaskKind = 'task' | 'job';

/**
 * Reads the plan from stored options. Also the validation of a create request: the same function
 * runs at creation (errors become 400s) and at execution.
 *
 * Filters are read according to who sent them. The SDK's tasks module renames `_id`,
 * `_createdDate` and `_updatedDate` to `id`, `createdDate`, `updatedDate` and sends dates as
 * plain ISO strings, so a task's filter is read with that renaming undone. Async jobs come from
 * the items API, whose filters are not renamed (`_id`, `{$date}`): they are read exactly as the
 * items API reads them, or a user field called `id` would silently mean the item id.
 */
export function planOf(kind: TaskKind, type: RunnableType, options: JsonObject): TaskPlan {
  const filterOf = (v: unknown) => parseFilter(v === undefined ? null : v, { taskRenaming: kind === 'task' });
  switch (type) {
    case 'DELETE_BY_QUERY': {
      const ppo = options.publishPluginOptions === undefined ? undefined : asObject(options.publishPluginOptions, 'publishPluginOptions', 'WDE0075');
      return { type, filter: filterOf(options.filter), includeDrafts: optionalBoolean(ppo?.includeDraftItems, 'includeDraftItems') ?? false };
    }
    case 'COPY_FIELD_DATA': {
      const source = path(options.sourceFieldKey, 'copyFieldDataOptions.sourceFieldKey');
      const target = path(options.targetFieldKey, 'copyFieldDataOptions.targetFieldKey');
      if (target[0]?.startsWith('_')) throw new WixError('WDE0075', 'System fields cannot be a copy target');
      // The copy reads the item's own fields: a system field as the source would find nothing
      // and leave every item as it was, counted as done.
      if (source[0]?.startsWith('_')) throw new WixError('WDE0075', 'System fields cannot be a copy source');
      return { type, source, target };
    }
    case 'EDIT_FIELD_DATA': {
      const field = path(options.fieldKey, 'editFieldDataOptions.fieldKey');
      if (field[0]?.startsWith('_')) throw new WixError('WDE0075', 'System fields cannot be edited');
      const ops = asObject(options.operations, 'editFieldDataOptions.operations', 'WDE0075');
      const replaceItems = (ops.replaceItems === undefined || ops.replaceItems === null ? [] : asArray(ops.replaceItems, 'operations.replaceItems', 'WDE0075')).map((r, i) => {
        const o = asObject(r, `operations.replaceItems[${i}]`, 'WDE0075');
        return { from: normaliseData(o.from ?? null), to: normaliseData(o.to ?? null) };
      });
      if (replaceItems.length > EDIT_LIMIT) throw new WixError('WDE0075', `operations.replaceItems holds more than ${EDIT_LIMIT} values`);
      const plan: TaskPlan = {
        type,
        filter: filterOf(options.filter),
        field,
        addItems: list(ops.addItems, 'operations.addItems'),
        removeItems: list(ops.removeItems, 'operations.removeItems'),
        replaceItems,
        removeDuplicates: optionalBoolean(ops.removeDuplicates, 'operations.removeDuplicates') ?? false,
      };
      if (!plan.addItems.length && !plan.removeItems.length && !plan.replaceItems.length && !plan.removeDuplicates) {
        throw new WixError('WDE0075', 'editFieldDataOptions.operations needs at least one operation');
      }
      return plan;
    }
    case 'UPDATE_PUBLISH_STATUS': {
      const operation = oneOf(options.operation, PUBLISH_OPERATIONS, 'updatePublishStatusOptions.operation');
      const plan: TaskPlan = { type, filter: filterOf(options.filter), operation };
      if (operation === 'SCHEDULE_PUBLISHED_STATUS' || operation === 'SCHEDULE_DRAFT_STATUS') {
        const key = operation === 'SCHEDULE_PUBLISHED_STATUS' ? 'schedulePublishedStatusOptions' : 'scheduleDraftStatusOptions';
        const o = asObject(options[key], `updatePublishStatusOptions.${key}`, 'WDE0075');
        const raw = isPlainObject(o.date) && typeof o.date.$date === 'string' ? o.date.$date : o.date;
        const date = typeof raw === 'string' ? normaliseDateString(raw) : undefined;
        if (!date) throw new WixError('WDE0075', `updatePublishStatusOptions.${key}.date must be an ISO date`);
        plan.date = date;
      }
      return plan;
    }
    case 'PATCH_BY_FILTER':
      return { type, filter: filterOf(options.filter), modifications: parseModifications(options.fieldModifications, 'request') };
  }
}

/** Reads `{task: {type, <type>Options}}` as CreateTask sends it. */
export function readCreateTask(raw: unknown): NewTask {
  const task = asObject(raw, 'task', 'WDE0075');
  const type = oneOf(task.type, TASK_TYPES, 'task.type');
  for (const [t, key] of Object.entries(OPTIONS_KEY)) {
    if (t !== type && task[key] !== undefined && task[key] !== null) {
      throw new WixError('WDE0075', `task.${key} does not go with task type ${type}`);
    }
  }
  const key = OPTIONS_KEY[type];
  const options = asObject(task[key], `task.${key}`, 'WDE0075');
  const collectionId = validCollectionId(options.dataCollectionId, `task.${key}.dataCollectionId`);
  return { type, collectionId, environment: options.environment, options, plan: planOf('task', type, options) };
}

export interface TaskRow {
  id: string;
  kind: TaskKind;
  type: RunnableType;
  options: string;
  collection_id: string;
  env: string;
  status: TaskStatus;
  created_date: string;
  updated_date: string;
  started_at: string | null;
  finished_at: string | null;
  estimated_item_count: number;
  items_succeeded: number;
  items_failed: number;
  failure_count: number;
  cursor: string | null;
  cancel_requested: number | boolean;
  locked_by: string | null;
  locked_until: string | null;
  attempts: number;
}

export interface TaskFailure {
  code: string;
  description: string;
  data?: Record<string, unknown>;
}

/** The task as the wire shows it. */
export function taskToWire(row: TaskRow, failures: TaskFailure[]): JsonObject {
  const out: JsonObject = {
    id: row.id,
    type: row.type,
    status: row.status,
    [OPTIONS_KEY[row.type as TaskType] ?? 'options']: canonicalise(JSON.parse(row.options) as JsonValue),
    estimatedItemCount: Number(row.estimated_item_count),
    itemsSucceeded: Number(row.items_succeeded),
    itemsFailed: Number(row.items_failed),
    failures: failures as unknown as JsonValue,
    createdDate: row.created_date,
    updatedDate: row.updated_date,
  };
  if (row.started_at) out.startedAt = row.started_at;
  if (row.finished_at) out.finishedAt = row.finished_at;
  return out;
}
