/** `cairn collections list|create|delete|deleted|restore|purge|sync-sandbox`, through the Data Collections API of a running server. */
import { InvalidArgumentError, type Command } from 'commander';
import { FIELD_TYPES, ROLES } from '../collections/model.js';
import { table } from './keys.js';
import { addRemoteOptions, apiOf, type RemoteOptions } from './remote.js';

interface WireCollection {
  id: string;
  displayName?: string;
  fields?: { key: string; type?: string; systemField?: boolean }[];
  permissions?: Record<string, string>;
  revision?: string | number;
}

const PERMISSION_KEYS = ['read', 'insert', 'update', 'remove'] as const;

/** --field key:TYPE, repeatable; the type is checked here, so a typo is a usage error. */
function collectField(value: string, previous: { key: string; type: string }[] | undefined): { key: string; type: string }[] {
  const m = /^([^:]+):([A-Za-z_]+)$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError('Expected key:TYPE, e.g. title:TEXT.');
  const type = (m[2] as string).toUpperCase();
  if (!(FIELD_TYPES as readonly string[]).includes(type)) throw new InvalidArgumentError(`Unknown field type ${type}; expected one of ${FIELD_TYPES.join(', ')}.`);
  return [...(previous ?? []), { key: m[1] as string, type }];
}

/** --permissions read=ANYONE,insert=ADMIN,...: the ones left out keep Cairn's defaults. */
function parsePermissions(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of value.split(',').map((p) => p.trim()).filter((p) => p !== '')) {
    const [k, v] = part.split('=').map((s) => s.trim());
    if (!k || !(PERMISSION_KEYS as readonly string[]).includes(k)) throw new InvalidArgumentError(`Expected ${PERMISSION_KEYS.join('|')}=ROLE, got ${JSON.stringify(part)}.`);
    const role = (v ?? '').toUpperCase();
    if (!(ROLES as readonly string[]).includes(role)) throw new InvalidArgumentError(`Unknown role ${JSON.stringify(v ?? '')}; expected one of ${ROLES.join(', ')}.`);
    out[k] = role;
  }
  return out;
}

const userFields = (c: WireCollection) => (c.fields ?? []).filter((f) => !f.systemField && !f.key.startsWith('_'));
const permissionsText = (c: WireCollection) => PERMISSION_KEYS.map((k) => `${k}=${c.permissions?.[k] ?? '?'}`).join(',');

export function registerCollections(program: Command): void {
  const collections = program.command('collections').description('list, create, delete, restore and purge collections on a running server (--url, --key)');

  addRemoteOptions(
    collections
      .command('list')
      .description('list every collection: id, display name, fields, permissions')
      .option('--json', 'print the collections as a JSON array (as the API gives them)'),
  ).action(async (options: RemoteOptions & { json?: boolean }) => {
    const api = apiOf(options);
    const all: WireCollection[] = [];
    for (let offset = 0; ; ) {
      const page = await api.call<{ collections: WireCollection[]; pagingMetadata: { hasNext?: boolean } }>(
        'GET',
        `/wix-data/v2/collections?paging.limit=100&paging.offset=${offset}`,
      );
      all.push(...page.collections);
      offset += page.collections.length;
      if (!page.pagingMetadata.hasNext || page.collections.length === 0) break;
    }
    if (options.json) process.stdout.write(`${JSON.stringify(all)}\n`);
    else if (all.length === 0) process.stdout.write('No collections.\n');
    else {
      process.stdout.write(
        table(
          ['ID', 'NAME', 'FIELDS', 'PERMISSIONS'],
          all.map((c) => [c.id, c.displayName || '-', userFields(c).map((f) => `${f.key}:${f.type ?? '?'}`).join(',') || '-', permissionsText(c)]),
        ),
      );
    }
  });

  addRemoteOptions(
    collections
      .command('create')
      .description('create a collection')
      .argument('<id>', 'the collection id (letters, digits and _ - / . @)')
      .option('--field <key:TYPE>', `a field (repeat for more); TYPE is one of ${FIELD_TYPES.slice(0, 8).join(', ')}, ...`, collectField)
      .option('--display-name <name>', 'the display name (default: the id)')
      .option('--permissions <list>', `e.g. read=ANYONE,insert=SITE_MEMBER; roles ${ROLES.join(', ')}; default read=ANYONE and ADMIN for the rest`, parsePermissions)
      .option('--json', 'print the created collection as JSON'),
  ).action(
    async (
      id: string,
      options: RemoteOptions & { field?: { key: string; type: string }[]; displayName?: string; permissions?: Record<string, string>; json?: boolean },
    ) => {
      const collection = {
        id,
        ...(options.displayName !== undefined ? { displayName: options.displayName } : {}),
        fields: (options.field ?? []).map((f) => ({ key: f.key, type: f.type })),
        ...(options.permissions ? { permissions: options.permissions } : {}),
      };
      const { collection: created } = await apiOf(options).call<{ collection: WireCollection }>('POST', '/wix-data/v2/collections', { collection });
      if (options.json) process.stdout.write(`${JSON.stringify(created)}\n`);
      else {
        const fields = userFields(created);
        process.stdout.write(
          `Created collection ${created.id} (${fields.length} field${fields.length === 1 ? '' : 's'}${fields.length > 0 ? `: ${fields.map((f) => `${f.key}:${f.type ?? '?'}`).join(', ')}` : ''}; ${permissionsText(created)}).\n`,
        );
      }
    },
  );
  addRemoteOptions(
    collections
      .command('delete')
      .description('delete a collection with its items (restorable for the retention, CAIRN_COLLECTION_RETENTION_HOURS)')
      .argument('<id>', 'the collection id'),
  ).action(async (id: string, options: RemoteOptions) => {
    await apiOf(options).call('DELETE', `/wix-data/v2/collections/${encodeURIComponent(id)}`);
    process.stdout.write(`Deleted collection ${id}; \`cairn collections restore ${id}\` brings it back.\n`);
  });

  addRemoteOptions(
    collections
      .command('deleted')
      .description('list the deleted collections that can still be restored, most recent first')
      .option('--json', 'print them as a JSON array ({collection, deletedDate, restorableUntil})'),
  ).action(async (options: RemoteOptions & { json?: boolean }) => {
    const api = apiOf(options);
    const all: { collection: WireCollection; deletedDate: string; restorableUntil: string }[] = [];
    for (let offset = 0; ; ) {
      const page = await api.call<{ deletedCollections: typeof all; pagingMetadata: { hasNext?: boolean } }>('GET', `/cairn/v1/collections/deleted?paging.limit=100&paging.offset=${offset}`);
      all.push(...page.deletedCollections);
      offset += page.deletedCollections.length;
      if (!page.pagingMetadata.hasNext || page.deletedCollections.length === 0) break;
    }
    if (options.json) process.stdout.write(`${JSON.stringify(all)}\n`);
    else if (all.length === 0) process.stdout.write('No deleted collections.\n');
    else process.stdout.write(table(['ID', 'DELETED', 'RESTORABLE UNTIL'], all.map((d) => [d.collection.id, d.deletedDate, d.restorableUntil])));
  });

  addRemoteOptions(
    collections
      .command('restore')
      .description('restore a deleted collection with its items, indexes and references')
      .argument('<id>', 'the collection id')
      .option('--json', 'print the restored collection as JSON'),
  ).action(async (id: string, options: RemoteOptions & { json?: boolean }) => {
    const { dataCollection: collection } = await apiOf(options).call<{ dataCollection: WireCollection }>('POST', `/wix-data/v2/collections/restore/${encodeURIComponent(id)}`, {});
    if (options.json) process.stdout.write(`${JSON.stringify(collection)}\n`);
    else process.stdout.write(`Restored collection ${collection.id}.\n`);
  });
  addRemoteOptions(
    collections
      .command('purge')
      .description('purge a deleted collection now, before its retention ends: its items go for good')
      .argument('<id>', 'the deleted collection id'),
  ).action(async (id: string, options: RemoteOptions) => {
    await apiOf(options).call('DELETE', `/cairn/v1/collections/deleted/${encodeURIComponent(id)}`);
    process.stdout.write(`Purged deleted collection ${id}.\n`);
  });
  addRemoteOptions(
    collections
      .command('sync-sandbox')
      .description("copy a collection's sandbox items into its live environment (sandbox items overwrite live ones of the same id)")
      .argument('<id>', 'the collection id')
      .option('--replace', 'also remove the live items the sandbox does not have')
      .option('--json', 'print {inserted, updated, removed}'),
  ).action(async (id: string, options: RemoteOptions & { replace?: boolean; json?: boolean }) => {
    const counts = await apiOf(options).call<{ inserted: number; updated: number; removed: number }>('POST', `/cairn/v1/collections/${encodeURIComponent(id)}/sandbox/sync`, {
      replace: options.replace === true,
    });
    if (options.json) process.stdout.write(`${JSON.stringify(counts)}\n`);
    else process.stdout.write(`Synced the sandbox of ${id} to live: ${counts.inserted} inserted, ${counts.updated} updated, ${counts.removed} removed.\n`);
  });
}
