/** `cairn backups create|list|restore|restorations|delete`, through the Backups API of a running server. */
import { InvalidArgumentError, type Command } from 'commander';
import { table } from './keys.js';
import { addRemoteOptions, apiOf, type Api, type RemoteOptions } from './remote.js';

interface Backup {
  id: string;
  status: string;
  type: string;
  requestedDate: string;
  finishedDate?: string;
  sizeInBytes?: string;
  collections: { id: string; displayName: string }[];
}

interface Restoration {
  id: string;
  status: string;
  requestedDate: string;
  finishedDate?: string;
  backup: Backup;
  restorationCollections: { dataCollectionId: string; restoreDestination?: { dataCollectionId?: string } }[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** --collection id or id:destination, repeatable. */
function collectTarget(value: string, previous: { dataCollectionId: string; restoreDestination?: { dataCollectionId: string } }[] | undefined) {
  const [source, destination, ...rest] = value.split(':').map((s) => s.trim());
  if (!source || rest.length > 0 || destination === '') throw new InvalidArgumentError('Expected a collection id, or id:destination.');
  return [...(previous ?? []), { dataCollectionId: source, ...(destination ? { restoreDestination: { dataCollectionId: destination } } : {}) }];
}

/** Every page of a list call. */
async function all<T>(api: Api, path: string, key: string, query = ''): Promise<T[]> {
  const out: T[] = [];
  for (let offset = 0; ; ) {
    const page = await api.call<Record<string, unknown> & { pagingMetadata: { total?: number } }>('GET', `${path}?paging.limit=100&paging.offset=${offset}${query}`);
    const items = page[key] as T[];
    out.push(...items);
    offset += items.length;
    if (items.length === 0 || offset >= (page.pagingMetadata.total ?? 0)) return out;
  }
}

/** Polls until the row leaves PENDING; exits 1 unless it ended as `done`. */
async function waitFor<T extends { id: string; status: string }>(find: () => Promise<T | undefined>, done: string, what: string): Promise<T> {
  for (;;) {
    const row = await find();
    if (!row) throw new Error(`${what} is gone`);
    if (row.status !== 'PENDING') {
      if (row.status !== done) throw new Error(`${what} ended ${row.status}`);
      return row;
    }
    await sleep(300);
  }
}

const size = (b: Backup) => (b.sizeInBytes === undefined ? '' : `${(Number(b.sizeInBytes) / 1024 / 1024).toFixed(1)} MB`);

export function registerBackups(program: Command): void {
  const backups = program.command('backups').description("take and restore backups of every collection's live items on a running server (--url, --key)");

  addRemoteOptions(
    backups
      .command('create')
      .description('take an on-demand backup (the oldest of three on-demand backups is replaced)')
      .option('--wait', 'wait until it is READY')
      .option('--json', 'print the backup as JSON'),
  ).action(async (options: RemoteOptions & { wait?: boolean; json?: boolean }) => {
    const api = apiOf(options);
    let { backup } = await api.call<{ backup: Backup }>('POST', '/wix-data/v2/backups', {});
    if (options.wait) {
      backup = await waitFor(async () => (await all<Backup>(api, '/wix-data/v2/backups', 'backups', '&status=PENDING&status=READY&status=FAILED')).find((b) => b.id === backup.id), 'READY', `Backup ${backup.id}`);
    }
    if (options.json) process.stdout.write(`${JSON.stringify(backup)}\n`);
    else process.stdout.write(`Backup ${backup.id} ${backup.status}${backup.status === 'READY' ? `: ${backup.collections.length} collections, ${size(backup)}` : ''}.\n`);
  });

  addRemoteOptions(
    backups
      .command('list')
      .description('list the backups, newest first (deleted ones only with --status DELETED)')
      .option('--status <status...>', 'only these statuses: PENDING READY FAILED DELETED CANCELED')
      .option('--json', 'print them as a JSON array'),
  ).action(async (options: RemoteOptions & { status?: string[]; json?: boolean }) => {
    const query = (options.status ?? []).map((s) => `&status=${encodeURIComponent(s.toUpperCase())}`).join('');
    const list = await all<Backup>(apiOf(options), '/wix-data/v2/backups', 'backups', query);
    if (options.json) process.stdout.write(`${JSON.stringify(list)}\n`);
    else if (list.length === 0) process.stdout.write('No backups.\n');
    else process.stdout.write(table(['ID', 'TYPE', 'STATUS', 'REQUESTED', 'COLLECTIONS', 'SIZE'], list.map((b) => [b.id, b.type, b.status, b.requestedDate, String(b.collections.length), size(b)])));
  });

  addRemoteOptions(
    backups
      .command('restore')
      .description("restore a backup: each restored collection's live items become the backup's")
      .argument('<backupId>', 'the backup id')
      .option('--collection <id[:destination]>', 'restore only this collection, into itself or a destination (repeatable)', collectTarget)
      .option('--wait', 'wait until the restoration has COMPLETED')
      .option('--json', 'print the restoration as JSON'),
  ).action(async (backupId: string, options: RemoteOptions & { collection?: ReturnType<typeof collectTarget>; wait?: boolean; json?: boolean }) => {
    const api = apiOf(options);
    const id = encodeURIComponent(backupId);
    let { restoration } = options.collection
      ? await api.call<{ restoration: Restoration }>('POST', `/wix-data/v2/backups/${id}/partial-restore`, { restorationCollections: options.collection })
      : await api.call<{ restoration: Restoration }>('POST', `/wix-data/v2/backups/${id}/restore`, {});
    if (options.wait) {
      restoration = await waitFor(async () => (await all<Restoration>(api, '/wix-data/v2/backups/restorations', 'restorations')).find((r) => r.id === restoration.id), 'COMPLETED', `Restoration ${restoration.id}`);
    }
    if (options.json) process.stdout.write(`${JSON.stringify(restoration)}\n`);
    else process.stdout.write(`Restoration ${restoration.id} of backup ${backupId} ${restoration.status}: ${restoration.restorationCollections.map((c) => c.dataCollectionId).join(', ')}.\n`);
  });

  addRemoteOptions(
    backups
      .command('restorations')
      .description('list the restorations, newest first')
      .option('--json', 'print them as a JSON array'),
  ).action(async (options: RemoteOptions & { json?: boolean }) => {
    const list = await all<Restoration>(apiOf(options), '/wix-data/v2/backups/restorations', 'restorations');
    if (options.json) process.stdout.write(`${JSON.stringify(list)}\n`);
    else if (list.length === 0) process.stdout.write('No restorations.\n');
    else {
      process.stdout.write(
        table(['ID', 'BACKUP', 'STATUS', 'REQUESTED', 'COLLECTIONS'], list.map((r) => [r.id, r.backup.id, r.status, r.requestedDate, r.restorationCollections.map((c) => c.dataCollectionId).join(',')])),
      );
    }
  });

  addRemoteOptions(backups.command('delete').description('delete a backup').argument('<backupId>', 'the backup id')).action(async (backupId: string, options: RemoteOptions) => {
    await apiOf(options).call('DELETE', `/wix-data/v2/backups/${encodeURIComponent(backupId)}`);
    process.stdout.write(`Deleted backup ${backupId}.\n`);
  });
}
