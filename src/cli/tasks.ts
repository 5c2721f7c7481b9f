/**
 * `cairn tasks create|list|watch|cancel`: background tasks (docs/tasks.md) on a running server.
 * `watch` polls the task (every 300 ms by default) and draws its counters as a progress bar,
 * then prints a summary with the first failures. Exit codes of watch (and create --watch): 0 when
 * the task COMPLETED with no failed item; 1 when it FAILED (cancelled included) or COMPLETED with
 * failed items.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { table } from './keys.js';
import { formatDuration, startProgress } from './progress.js';
import { addRemoteOptions, apiOf, intArg, jsonObjectArg, type Api, type RemoteOptions } from './remote.js';

const TYPES = {
  DELETE_BY_QUERY: 'deleteByQueryOptions',
  COPY_FIELD_DATA: 'copyFieldDataOptions',
  EDIT_FIELD_DATA: 'editFieldDataOptions',
  UPDATE_PUBLISH_STATUS: 'updatePublishStatusOptions',
} as const;
type TaskType = keyof typeof TYPES;

const PUBLISH_OPERATIONS = ['SET_PUBLISHED_STATUS', 'SET_DRAFT_STATUS', 'SCHEDULE_PUBLISHED_STATUS', 'SCHEDULE_DRAFT_STATUS', 'CANCEL_SCHEDULING'];

interface Task {
  id: string;
  type: string;
  status: string;
  estimatedItemCount?: number;
  itemsSucceeded?: number;
  itemsFailed?: number;
  createdDate?: string;
  startedAt?: string;
  finishedAt?: string;
  [options: string]: unknown;
}

interface TaskFailure {
  code: string;
  description: string;
  data?: { itemId?: string };
}

/** An edit value: JSON when it parses (`5`, `true`, `"x"`, `{...}`), else the text as it is. */
function collectValue(value: string, previous: unknown[] | undefined): unknown[] {
  let v: unknown = value;
  try {
    v = JSON.parse(value);
  } catch {
    // plain text
  }
  return [...(previous ?? []), v];
}

function collectReplace(value: string, previous: unknown[] | undefined): unknown[] {
  const o = jsonObjectArg(value);
  if (!('from' in o) || !('to' in o)) throw new InvalidArgumentError('Expected {"from": <value>, "to": <value>}.');
  return [...(previous ?? []), { from: o.from, to: o.to }];
}

interface CreateOptions extends RemoteOptions {
  collection: string;
  type: TaskType;
  filter?: Record<string, unknown>;
  environment?: string;
  includeDrafts?: boolean;
  sourceField?: string;
  targetField?: string;
  field?: string;
  add?: unknown[];
  remove?: unknown[];
  replace?: unknown[];
  removeDuplicates?: boolean;
  operation?: string;
  date?: string;
  options?: Record<string, unknown>;
  watch?: boolean;
  json?: boolean;
  quiet?: boolean;
  interval: number;
  showErrors: number;
}

/** Which option belongs to which type: one given to another type is a usage error, not silently dropped. */
const OPTION_TYPES: Record<string, TaskType[]> = {
  filter: ['DELETE_BY_QUERY', 'EDIT_FIELD_DATA', 'UPDATE_PUBLISH_STATUS'],
  includeDrafts: ['DELETE_BY_QUERY'],
  sourceField: ['COPY_FIELD_DATA'],
  targetField: ['COPY_FIELD_DATA'],
  field: ['EDIT_FIELD_DATA'],
  add: ['EDIT_FIELD_DATA'],
  remove: ['EDIT_FIELD_DATA'],
  replace: ['EDIT_FIELD_DATA'],
  removeDuplicates: ['EDIT_FIELD_DATA'],
  operation: ['UPDATE_PUBLISH_STATUS'],
  date: ['UPDATE_PUBLISH_STATUS'],
};

const flag = (name: string) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

export function taskOf(o: CreateOptions, usage: (message: string) => never): Record<string, unknown> {
  for (const [name, types] of Object.entries(OPTION_TYPES)) {
    if ((o as unknown as Record<string, unknown>)[name] !== undefined && !types.includes(o.type)) usage(`error: ${flag(name)} does not apply to ${o.type}`);
  }
  const options: Record<string, unknown> = { dataCollectionId: o.collection };
  if (o.environment) options.environment = o.environment;
  if (o.filter) options.filter = o.filter;
  switch (o.type) {
    case 'DELETE_BY_QUERY':
      if (o.includeDrafts) options.publishPluginOptions = { includeDraftItems: true };
      break;
    case 'COPY_FIELD_DATA':
      if (!o.sourceField || !o.targetField) usage('error: COPY_FIELD_DATA needs --source-field and --target-field');
      options.sourceFieldKey = o.sourceField;
      options.targetFieldKey = o.targetField;
      break;
    case 'EDIT_FIELD_DATA': {
      if (!o.field) usage('error: EDIT_FIELD_DATA needs --field');
      const operations: Record<string, unknown> = {};
      if (o.replace) operations.replaceItems = o.replace;
      if (o.remove) operations.removeItems = o.remove;
      if (o.add) operations.addItems = o.add;
      if (o.removeDuplicates) operations.removeDuplicates = true;
      if (Object.keys(operations).length === 0 && !o.options) usage('error: EDIT_FIELD_DATA needs --add, --remove, --replace or --remove-duplicates');
      options.fieldKey = o.field;
      options.operations = operations;
      break;
    }
    case 'UPDATE_PUBLISH_STATUS':
      if (!o.operation) usage(`error: UPDATE_PUBLISH_STATUS needs --operation (${PUBLISH_OPERATIONS.join(', ')})`);
      options.operation = o.operation;
      if (o.date !== undefined) {
        if (o.operation === 'SCHEDULE_PUBLISHED_STATUS') options.schedulePublishedStatusOptions = { date: o.date };
        else if (o.operation === 'SCHEDULE_DRAFT_STATUS') options.scheduleDraftStatusOptions = { date: o.date };
        else usage('error: --date applies to SCHEDULE_PUBLISHED_STATUS and SCHEDULE_DRAFT_STATUS only');
      }
      break;
  }
  return { type: o.type, [TYPES[o.type]]: { ...options, ...(o.options ?? {}) } };
}

const optionsOf = (t: Task) => (t[TYPES[t.type as TaskType] ?? ''] ?? {}) as { dataCollectionId?: string };
const processed = (t: Task) => (t.itemsSucceeded ?? 0) + (t.itemsFailed ?? 0);
const finished = (t: Task) => t.status !== 'NEW' && t.status !== 'RUNNING';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function taskRow(t: Task): string[] {
  return [
    t.id,
    t.type,
    optionsOf(t).dataCollectionId ?? '-',
    t.status,
    `${processed(t)}/${t.estimatedItemCount ?? '?'}`,
    String(t.itemsFailed ?? 0),
    t.createdDate ?? '-',
  ];
}

async function getTask(api: Api, id: string): Promise<Task> {
  return (await api.call<{ task: Task }>('GET', `/cms/v1/tasks/${encodeURIComponent(id)}`)).task;
}

interface WatchOptions {
  quiet?: boolean;
  json?: boolean;
  interval: number;
  showErrors?: number;
}

/** Follows a task to its end, then prints the summary; throws (exit 1) unless it COMPLETED without failures. */
export async function watchTask(api: Api, id: string, options: WatchOptions): Promise<void> {
  let task = await getTask(api, id);
  const progress = startProgress({
    label: `task ${task.type}`,
    unit: 'items',
    basis: 'count',
    quiet: options.quiet === true || finished(task),
    ...(task.estimatedItemCount !== undefined ? { total: task.estimatedItemCount } : {}),
  });
  try {
    while (!finished(task)) {
      progress.update(processed(task), processed(task));
      await sleep(options.interval);
      task = await getTask(api, id);
    }
    progress.update(processed(task), processed(task));
  } finally {
    progress.stop();
  }

  const show = options.showErrors ?? 10;
  let failures: TaskFailure[] = [];
  let failureTotal = 0;
  if ((task.itemsFailed ?? 0) > 0 || task.status === 'FAILED') {
    const page = await api.call<{ failures: TaskFailure[]; pagingMetadata: { total?: number } }>(
      'GET',
      `/cairn/v1/tasks/${encodeURIComponent(id)}/failures?paging.limit=${Math.max(1, Math.min(show, 1000))}`,
    );
    failures = page.failures.slice(0, show);
    failureTotal = page.pagingMetadata.total ?? page.failures.length;
  }
  const seconds = task.startedAt && task.finishedAt ? (Date.parse(task.finishedAt) - Date.parse(task.startedAt)) / 1000 : undefined;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ task, failures, failureTotal })}\n`);
  } else {
    const on = optionsOf(task).dataCollectionId;
    process.stdout.write(
      `Task ${task.id} (${task.type}${on ? ` on ${on}` : ''}) ${task.status}${seconds !== undefined ? ` in ${formatDuration(seconds)}` : ''}: ` +
        `${task.itemsSucceeded ?? 0} succeeded, ${task.itemsFailed ?? 0} failed (estimated ${task.estimatedItemCount ?? '?'}).\n`,
    );
  }
  if (!options.json) {
    for (const f of failures) process.stderr.write(`${f.data?.itemId !== undefined ? `item ${f.data.itemId}` : 'task'}: ${f.code}: ${f.description}\n`);
    if (failureTotal > failures.length) process.stderr.write(`... and ${failureTotal - failures.length} more (GET /cairn/v1/tasks/${task.id}/failures)\n`);
  }
  if (task.status === 'COMPLETED' && (task.itemsFailed ?? 0) === 0) return;
  if (task.status === 'COMPLETED') throw new Error(`task ${task.id} completed with ${task.itemsFailed} failed item${task.itemsFailed === 1 ? '' : 's'}`);
  const first = failures.find((f) => f.data?.itemId === undefined) ?? failures[0];
  throw new Error(`task ${task.id} ${task.status}${first ? `: ${first.code}: ${first.description}` : ''}`);
}

export function registerTasks(program: Command): void {
  const tasks = program.command('tasks').description('create, list, watch and cancel background tasks on a running server (--url, --key)');

  addRemoteOptions(
    tasks
      .command('create')
      .description('create a background task (docs/tasks.md); with --watch, follow it to the end')
      .requiredOption('--collection <id>', 'the collection the task works on')
      .addOption(new Option('--type <type>', 'the task type').choices(Object.keys(TYPES)).makeOptionMandatory())
      .option('--filter <json>', 'only items matching this filter (DELETE_BY_QUERY, EDIT_FIELD_DATA, UPDATE_PUBLISH_STATUS)', jsonObjectArg)
      .addOption(new Option('--environment <env>', 'the environment').choices(['LIVE', 'SANDBOX', 'SANDBOX_PREFERRED']))
      .option('--include-drafts', 'DELETE_BY_QUERY: draft items too')
      .option('--source-field <key>', 'COPY_FIELD_DATA: the field to copy from')
      .option('--target-field <key>', 'COPY_FIELD_DATA: the field to copy to')
      .option('--field <key>', 'EDIT_FIELD_DATA: the field to edit')
      .option('--add <value>', 'EDIT_FIELD_DATA: append this value (JSON, else text; repeat for more)', collectValue)
      .option('--remove <value>', 'EDIT_FIELD_DATA: remove elements equal to this value (repeatable)', collectValue)
      .option('--replace <json>', 'EDIT_FIELD_DATA: {"from": <value>, "to": <value>} (repeatable)', collectReplace)
      .option('--remove-duplicates', 'EDIT_FIELD_DATA: drop later duplicates')
      .addOption(new Option('--operation <op>', 'UPDATE_PUBLISH_STATUS: the operation').choices(PUBLISH_OPERATIONS))
      .option('--date <iso>', 'UPDATE_PUBLISH_STATUS: when a SCHEDULE_* operation takes effect')
      .option('--options <json>', "more of the type's options, merged over the ones above", jsonObjectArg)
      .option('--watch', 'follow the task to its end (exit codes as tasks watch)')
      .option('--interval <ms>', 'with --watch: milliseconds between polls', intArg(50, 60_000), 300)
      .option('--show-errors <n>', 'with --watch: failures printed', intArg(0, 1000), 10)
      .option('--quiet', 'no progress output')
      .option('--json', 'print the created task (or, with --watch, the summary) as JSON'),
  ).action(async (options: CreateOptions, command: Command) => {
    const body = taskOf(options, (m) => command.error(m));
    const api = apiOf(options);
    const { task } = await api.call<{ task: Task }>('POST', '/cms/v1/tasks', { task: body });
    if (options.watch) {
      if (!options.json && !options.quiet) process.stderr.write(`Created task ${task.id} (${task.estimatedItemCount ?? '?'} items estimated).\n`);
      await watchTask(api, task.id, options);
    } else if (options.json) process.stdout.write(`${JSON.stringify(task)}\n`);
    else process.stdout.write(`Created task ${task.id} (${task.type}, ${task.estimatedItemCount ?? '?'} items estimated). Follow it with: cairn tasks watch ${task.id}\n`);
  });

  addRemoteOptions(
    tasks
      .command('list')
      .description('list tasks, newest first')
      .option('--limit <n>', 'how many', intArg(1, 1000), 30)
      .option('--json', 'print the tasks as a JSON array'),
  ).action(async (options: RemoteOptions & { limit: number; json?: boolean }) => {
    const { tasks: list } = await apiOf(options).call<{ tasks: Task[] }>('GET', `/cms/v1/tasks?paging.limit=${options.limit}`);
    if (options.json) process.stdout.write(`${JSON.stringify(list)}\n`);
    else if (list.length === 0) process.stdout.write('No tasks.\n');
    else process.stdout.write(table(['ID', 'TYPE', 'COLLECTION', 'STATUS', 'PROCESSED', 'FAILED', 'CREATED'], list.map(taskRow)));
  });

  addRemoteOptions(
    tasks
      .command('watch')
      .description('follow a task with a progress bar, then print its summary and first failures; exit 0 only if it COMPLETED with no failures')
      .argument('<id>', 'the task id')
      .option('--interval <ms>', 'milliseconds between polls', intArg(50, 60_000), 300)
      .option('--show-errors <n>', 'failures printed', intArg(0, 1000), 10)
      .option('--quiet', 'no progress output')
      .option('--json', 'print {task, failures, failureTotal} as JSON'),
  ).action(async (id: string, options: RemoteOptions & WatchOptions) => watchTask(apiOf(options), id, options));

  addRemoteOptions(
    tasks
      .command('cancel')
      .description('cancel a task: a NEW one ends at once, a RUNNING one before its next batch')
      .argument('<id>', 'the task id')
      .option('--json', 'print the task as JSON'),
  ).action(async (id: string, options: RemoteOptions & { json?: boolean }) => {
    const { task } = await apiOf(options).call<{ task: Task }>('DELETE', `/cms/v1/tasks/${encodeURIComponent(id)}`);
    if (options.json) process.stdout.write(`${JSON.stringify(task)}\n`);
    else process.stdout.write(`Task ${task.id} is ${task.status}${task.status === 'RUNNING' ? ' (it stops before its next batch)' : ''}.\n`);
  });
}
