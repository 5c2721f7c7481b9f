/**
 * `cairn export <collection>`: a collection's items as JSON Lines or CSV, to a file or stdout,
 * streamed page by page and written with backpressure, so memory stays flat whatever the size.
 *
 * Paging. By default the export pages by key: `_id` ascending, pages of 1000, each asking for
 * `_id > <last id seen>` within the filter, which is a primary-key range scan per page and never
 * repeats or skips an item that exists throughout. With --sort the export follows the API's
 * cursors instead (`cursorPaging`, pages of 100, only the cursor sent after the first page), in
 * the order asked for: they are keyset cursors too (docs/query-language.md), but a sort on a JSON
 * field has no index, so each page still reads the matching rows after the cursor and sorts them.
 *
 * CSV columns must be known before the first row is written. They are `--columns` when given;
 * otherwise `_id`, the collection's declared fields, the other fields found in the first page (in
 * the order they appear), then `_createdDate`, `_updatedDate`, `_owner`. A field that shows up only
 * in later pages is left out, and the export says so at the end (JSON Lines keeps everything).
 */
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { stringify } from 'csv-stringify';
import { valueCell } from './csv-values.js';
import { formatOfPath, type Format } from './import.js';
import { startProgress } from './progress.js';
import { addRemoteOptions, ApiError, apiOf, intArg, jsonObjectArg, type Api, type RemoteOptions } from './remote.js';

type Item = Record<string, unknown>;

interface QueryReply {
  dataItems: { data: Item }[];
  pagingMetadata: { count: number; hasNext?: boolean; total?: number; cursors?: { next?: string } };
}

interface ExportOptions extends RemoteOptions {
  format?: Format;
  out?: string;
  filter?: Record<string, unknown>;
  sort?: { fieldName: string; order: 'ASC' | 'DESC' }[];
  columns?: string[];
  environment?: string;
  includeDrafts?: boolean;
  quiet?: boolean;
}

function collectSort(value: string, previous: ExportOptions['sort']): NonNullable<ExportOptions['sort']> {
  const m = /^([^:]+?)(?::(asc|desc))?$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError('Expected <field> or <field>:asc|desc.');
  return [...(previous ?? []), { fieldName: m[1] as string, order: (m[2] ?? 'asc').toUpperCase() as 'ASC' | 'DESC' }];
}

const columnList = (value: string): string[] => {
  const cols = value.split(',').map((c) => c.trim()).filter((c) => c !== '');
  if (cols.length === 0) throw new InvalidArgumentError('Expected a comma-separated list of field names.');
  return cols;
};

/** The pages of the export, each an array of item data, with the total when the first page can tell it. */
async function* pages(api: Api, collection: string, options: ExportOptions, onTotal: (n: number) => void): AsyncGenerator<Item[]> {
  // Sent with every request: draft visibility is not carried by the cursor.
  const env = {
    ...(options.environment ? { environment: options.environment } : {}),
    ...(options.includeDrafts ? { publishPluginOptions: { includeDraftItems: true } } : {}),
  };
  const filter = options.filter ?? {};
  if (options.sort) {
    onTotal((await api.call<{ totalCount: number }>('POST', '/wix-data/v2/items/count', { dataCollectionId: collection, filter, ...env })).totalCount);
    let reply = await api.call<QueryReply>('POST', '/wix-data/v2/items/query', {
      dataCollectionId: collection,
      query: { filter, sort: options.sort, cursorPaging: { limit: 100 } },
      ...env,
    });
    for (;;) {
      yield reply.dataItems.map((d) => d.data);
      const next = reply.pagingMetadata.cursors?.next;
      if (!next || !reply.pagingMetadata.hasNext) return;
      reply = await api.call<QueryReply>('POST', '/wix-data/v2/items/query', { dataCollectionId: collection, query: { cursorPaging: { cursor: next, limit: 100 } }, ...env });
    }
  }
  let last: string | undefined;
  for (let first = true; ; first = false) {
    const keyed = last === undefined ? filter : Object.keys(filter).length === 0 ? { _id: { $gt: last } } : { $and: [filter, { _id: { $gt: last } }] };
    const reply = await api.call<QueryReply>('POST', '/wix-data/v2/items/query', {
      dataCollectionId: collection,
      query: { filter: keyed, sort: [{ fieldName: '_id', order: 'ASC' }], paging: { limit: 1000 } },
      ...(first ? { returnTotalCount: true } : {}),
      ...env,
    });
    if (first && typeof reply.pagingMetadata.total === 'number') onTotal(reply.pagingMetadata.total);
    const items = reply.dataItems.map((d) => d.data);
    yield items;
    const lastId = items.at(-1)?._id;
    if (!reply.pagingMetadata.hasNext || typeof lastId !== 'string') return;
    last = lastId;
  }
}

const SYSTEM_FIRST = ['_id'];
const SYSTEM_LAST = ['_createdDate', '_updatedDate', '_owner'];

async function declaredFields(api: Api, collection: string, withKey: boolean): Promise<string[]> {
  try {
    const { collection: c } = await api.call<{ collection: { fields?: { key: string }[] } }>('GET', `/wix-data/v2/collections/${encodeURIComponent(collection)}`);
    return (c.fields ?? []).map((f) => f.key).filter((k) => !k.startsWith('_'));
  } catch (e) {
    // A caller that may read items but not schemas (a data-only key, or no key on a collection
    // anyone reads): the first page decides alone. A key that was given and refused is final.
    if (e instanceof ApiError && (e.status === 403 || (e.status === 401 && !withKey))) return [];
    throw e;
  }
}

function csvColumns(declared: string[], firstPage: Item[]): string[] {
  const cols = [...SYSTEM_FIRST, ...declared];
  const seen = new Set([...cols, ...SYSTEM_LAST]);
  for (const item of firstPage) {
    for (const k of Object.keys(item)) {
      if (!seen.has(k)) {
        seen.add(k);
        cols.push(k);
      }
    }
  }
  return [...cols, ...SYSTEM_LAST];
}

/** Resolves once `stream` may take more (backpressure), or rejects if it fails first. */
function drained(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      stream.off('error', failed);
      resolve();
    };
    const failed = (e: Error) => {
      stream.off('drain', done);
      reject(e);
    };
    stream.once('drain', done);
    stream.once('error', failed);
  });
}

const EPIPE = (e: unknown) => (e as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';

export async function runExport(collection: string, options: ExportOptions): Promise<void> {
  const format: Format = options.format ?? (options.out ? formatOfPath(options.out) : undefined) ?? 'jsonl';
  const api = apiOf(options);
  const declared = format === 'csv' && !options.columns ? await declaredFields(api, collection, Boolean(options.key)) : [];
  const toStdout = !options.out;
  const started = Date.now();
  const progress = startProgress({ label: `export ${collection}`, unit: 'items', basis: 'count', quiet: options.quiet === true });

  const out: Writable = toStdout ? process.stdout : createWriteStream(options.out as string);
  let outError: Error | undefined;
  const onOutError = (e: Error) => (outError = e);
  out.on('error', onOutError);
  let sink: Writable = out;
  let columns: string[] | undefined = options.columns;
  const dropped = new Set<string>();
  let count = 0;
  let total: number | undefined;
  const write = async (chunk: unknown) => {
    if (outError) throw outError;
    if (!sink.write(chunk)) await drained(sink);
  };

  try {
    for await (const page of pages(api, collection, options, (n) => {
      total = n;
      progress.setTotal(n);
    })) {
      if (format === 'jsonl') {
        let text = '';
        for (const item of page) text += `${JSON.stringify(item)}\n`;
        if (text) await write(text);
      } else {
        if (sink === out) {
          columns ??= csvColumns(declared, page);
          const csv = stringify({ header: true, columns, eof: true });
          csv.on('error', onOutError);
          csv.pipe(out, { end: !toStdout });
          sink = csv;
        }
        const known = new Set(columns);
        for (const item of page) {
          for (const k of Object.keys(item)) if (!known.has(k)) dropped.add(k);
          await write((columns as string[]).map((c) => valueCell(item[c])));
        }
      }
      count += page.length;
      progress.update(count, count);
    }
    // An empty CSV export still has its header row.
    if (format === 'csv' && sink === out) {
      const csv = stringify({ header: true, columns: columns ?? csvColumns(declared, []), eof: true });
      csv.pipe(out, { end: !toStdout });
      sink = csv;
    }
    if (outError) throw outError;
    // Standard output is never ended (the process ends it); a file is done once it has flushed.
    if (!toStdout || sink !== out) {
      await new Promise<void>((resolve, reject) => {
        const target: Writable = toStdout ? sink : out;
        target.once(toStdout ? 'end' : 'finish', resolve);
        target.once('error', reject);
        sink.end();
      });
    }
  } catch (e) {
    // The reader went away (`cairn export ... | head`): that is the reader's choice, not a failure.
    if (toStdout && EPIPE(e)) return;
    throw e;
  } finally {
    progress.stop();
  }

  const seconds = (Date.now() - started) / 1000;
  if (!options.quiet) {
    process.stderr.write(
      `Exported ${count}${total !== undefined && total !== count ? ` (of ${total} counted at the start)` : ''} items from ${collection}${options.out ? ` to ${options.out}` : ''} in ${seconds.toFixed(1)} s (${seconds > 0 ? Math.round(count / seconds) : count} items/s).\n`,
    );
  }
  if (dropped.size > 0 && !options.columns) {
    process.stderr.write(`warning: fields not in the CSV columns were left out: ${[...dropped].slice(0, 20).join(', ')}${dropped.size > 20 ? ', ...' : ''} (use --columns, or --format jsonl)\n`);
  }
}

export function registerExport(program: Command): void {
  addRemoteOptions(
    program
      .command('export')
      .description("export a collection's items as JSON Lines or CSV, streamed (any size)")
      .argument('<collection>', 'the collection id')
      .addOption(new Option('--format <format>', 'output format (default: from --out, else jsonl)').choices(['csv', 'jsonl']))
      .option('--out <file>', 'write to this file (default: standard output)')
      .option('--filter <json>', 'only items matching this filter (the query language of items/query)', jsonObjectArg)
      .option('--sort <field[:desc]>', 'order by this field (repeat for more); default _id ascending', collectSort)
      .option('--columns <list>', 'CSV: these columns, comma-separated, in this order', columnList)
      .addOption(new Option('--environment <env>', 'the environment to read').choices(['LIVE', 'SANDBOX', 'SANDBOX_PREFERRED']))
      .option('--include-drafts', 'with the Publish plugin: draft items too (else published items only, as queries see them)')
      .option('--quiet', 'no progress output and no summary'),
  ).action(async (collection: string, options: ExportOptions) => runExport(collection, options));
}
