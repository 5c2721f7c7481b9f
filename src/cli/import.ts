/**
 * `cairn import <collection> <file>`: CSV or JSON Lines into a collection through the bulk API,
 * streamed. The file is read as it is sent: at most `concurrency` batches (of up to 1000 items)
 * are in flight, so memory stays flat whatever the file's size. Batches are acknowledged in file
 * order, so failures are reported in file order too. Progress is bytes read of the file's size
 * (no pre-count); standard input has no size, hence no ETA.
 *
 * A batch the server refuses as a whole for its content (400 or 413: one bad item makes the
 * request invalid, and a 400 means nothing of it was written) is split in halves until the bad
 * items stand alone, so each one is reported as a failure of its own and the rest is written.
 */
import { createReadStream, createWriteStream, fstatSync, statSync, type WriteStream } from 'node:fs';
import { extname } from 'node:path';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { Option, type Command } from 'commander';
import { parse as parseCsv, type CsvError } from 'csv-parse';
import { cellTypeOf, cellValue, type CellType } from './csv-values.js';
import { startProgress } from './progress.js';
import { addRemoteOptions, ApiError, apiOf, intArg, type Api, type RemoteOptions } from './remote.js';

export type Format = 'csv' | 'jsonl';

/** The format a file name implies: .csv, or .jsonl / .ndjson; undefined for anything else. */
export function formatOfPath(path: string): Format | undefined {
  const ext = extname(path).toLowerCase();
  if (ext === '.csv') return 'csv';
  if (ext === '.jsonl' || ext === '.ndjson') return 'jsonl';
  return undefined;
}

/** One record of the file: the item it makes, or why it makes none. */
interface Row {
  line: number;
  item?: Record<string, unknown>;
  error?: { code: string; description: string };
}

interface Failure {
  line: number;
  id?: string;
  code: string;
  description: string;
}

interface Source {
  rows: AsyncGenerator<Row>;
  /** Bytes read so far. */
  bytes(): number;
  size?: number;
  close(): void;
}

function openInput(file: string): { stream: Readable; size?: number } {
  if (file === '-') {
    const st = fstatSync(0);
    return { stream: process.stdin, ...(st.isFile() ? { size: st.size } : {}) };
  }
  let size: number;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Error(`cannot read ${file}: not a file`);
    size = st.size;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`cannot read ${file}: no such file`);
    if (code === 'EACCES') throw new Error(`cannot read ${file}: permission denied`);
    throw e;
  }
  return { stream: createReadStream(file, { highWaterMark: 256 * 1024 }), size };
}

function jsonlSource(stream: Readable, size: number | undefined): Source {
  let bytes = 0;
  async function* rows(): AsyncGenerator<Row> {
    const decoder = new StringDecoder('utf8');
    let rest = '';
    let line = 0;
    const row = (text: string): Row | undefined => {
      line++;
      if (line === 1 && text.startsWith('\uFEFF')) text = text.slice(1);
      if (text.endsWith('\r')) text = text.slice(0, -1);
      if (text.trim() === '') return undefined;
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch (e) {
        return { line, error: { code: 'INVALID_JSON', description: e instanceof Error ? e.message : String(e) } };
      }
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return { line, error: { code: 'INVALID_JSON', description: 'a line must hold a JSON object' } };
      return { line, item: v as Record<string, unknown> };
    };
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      const parts = (rest + decoder.write(chunk)).split('\n');
      rest = parts.pop() ?? '';
      for (const p of parts) {
        const r = row(p);
        if (r) yield r;
      }
    }
    rest += decoder.end();
    if (rest !== '') {
      const r = row(rest);
      if (r) yield r;
    }
  }
  return { rows: rows(), bytes: () => bytes, ...(size !== undefined ? { size } : {}), close: () => stream.destroy() };
}

function csvSource(stream: Readable, size: number | undefined, types: (field: string) => CellType): Source {
  let bytes = 0;
  const skipped: Row[] = [];
  const parser = parseCsv({
    bom: true,
    info: true,
    skip_empty_lines: true,
    // A record with the wrong number of cells is that record's failure, not the file's.
    skip_records_with_error: true,
    columns: (header: string[]) => {
      const seen = new Set<string>();
      return header.map((h, i) => {
        const name = h.trim();
        if (name === '') throw new Error(`CSV header: column ${i + 1} has no name`);
        if (name.startsWith('$')) throw new Error(`CSV header: field names cannot start with $ (column ${i + 1}, ${JSON.stringify(name)})`);
        if (seen.has(name)) throw new Error(`CSV header: column ${JSON.stringify(name)} appears twice`);
        seen.add(name);
        return name;
      });
    },
  });
  parser.on('skip', (e: CsvError & { lines?: number }) => skipped.push({ line: e.lines ?? 0, error: { code: 'INVALID_CSV', description: e.message } }));
  stream.on('data', (c: Buffer) => (bytes += c.length));
  stream.on('error', (e) => parser.destroy(e));
  stream.pipe(parser);
  async function* rows(): AsyncGenerator<Row> {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      while (skipped.length > 0) yield skipped.shift() as Row;
      const item: Record<string, unknown> = {};
      for (const [k, cell] of Object.entries(record)) {
        const v = cellValue(cell, types(k));
        if (v !== undefined) item[k] = v;
      }
      yield { line: info.lines, item };
    }
    while (skipped.length > 0) yield skipped.shift() as Row;
  }
  return { rows: rows(), bytes: () => bytes, ...(size !== undefined ? { size } : {}), close: () => stream.destroy() };
}

/** Request-level codes: splitting the batch would only repeat them. Any other 400/413 is some item's fault. */
const REQUEST_CODES = new Set(['WDE0001', 'WDE0005', 'WDE0006', 'WDE0119', 'UNAUTHENTICATED']);

interface Outcome {
  ok: boolean;
  action?: string;
  id?: string;
  error?: { code: string; description: string };
}

/** Larger batches are cut at this many bytes of JSON, well under the server's default 16 MiB body limit. */
const BATCH_BYTES = 8 * 1024 * 1024;

interface ImportOptions extends RemoteOptions {
  format?: Format;
  mode: 'save' | 'insert';
  batchSize: number;
  concurrency: number;
  errors?: string;
  strings?: boolean;
  environment?: string;
  quiet?: boolean;
  json?: boolean;
  showErrors: number;
}

async function sendBatch(api: Api, collection: string, options: ImportOptions, items: Record<string, unknown>[]): Promise<Outcome[]> {
  try {
    const res = await api.call<{ results: { action?: string; itemMetadata: { id?: string; success: boolean; error?: { code: string; description: string } } }[] }>(
      'POST',
      `/wix-data/v2/bulk/items/${options.mode}`,
      {
        dataCollectionId: collection,
        dataItems: items.map((data) => ({ data })),
        ...(options.environment ? { environment: options.environment } : {}),
      },
    );
    return res.results.map((r) => ({
      ok: r.itemMetadata.success,
      ...(r.action !== undefined ? { action: r.action } : {}),
      ...(r.itemMetadata.id !== undefined ? { id: r.itemMetadata.id } : {}),
      ...(r.itemMetadata.error ? { error: { code: r.itemMetadata.error.code, description: r.itemMetadata.error.description } } : {}),
    }));
  } catch (e) {
    if (!(e instanceof ApiError) || (e.status !== 400 && e.status !== 413) || REQUEST_CODES.has(e.code)) throw e;
    if (items.length === 1) return [{ ok: false, error: { code: e.code, description: e.description } }];
    const half = Math.ceil(items.length / 2);
    return [...(await sendBatch(api, collection, options, items.slice(0, half))), ...(await sendBatch(api, collection, options, items.slice(half)))];
  }
}

/** Declared field types of the collection; none when the caller may not read schemas. */
async function fieldTypes(api: Api, collection: string, withKey: boolean): Promise<Map<string, CellType>> {
  const out = new Map<string, CellType>([
    ['_id', 'text'],
    ['_owner', 'text'],
  ]);
  try {
    const { collection: c } = await api.call<{ collection: { fields?: { key: string; type?: string }[] } }>(
      'GET',
      `/wix-data/v2/collections/${encodeURIComponent(collection)}`,
    );
    for (const f of c.fields ?? []) if (!f.key.startsWith('_')) out.set(f.key, cellTypeOf(f.type));
  } catch (e) {
    // Schemas need a key with a read or collections scope; without one the writes may still be
    // allowed (insert=ANYONE), so only a refused key that was given is final here.
    if (!(e instanceof ApiError) || !(e.status === 403 || (e.status === 401 && !withKey))) throw e;
  }
  return out;
}

function writeLine(out: WriteStream, line: string): Promise<void> {
  return out.write(line) ? Promise.resolve() : new Promise((r) => out.once('drain', r));
}

export async function runImport(collection: string, file: string, options: ImportOptions): Promise<void> {
  const format = options.format ?? (file === '-' ? undefined : formatOfPath(file));
  if (!format) throw new Error(`cannot tell the format of ${file}: name it .csv, .jsonl or .ndjson, or give --format csv|jsonl`);
  const api = apiOf(options);
  // Fails early on an unknown collection or a bad key, before any of the file is read.
  const types = await fieldTypes(api, collection, Boolean(options.key));
  const input = openInput(file);
  const source = format === 'csv' ? csvSource(input.stream, input.size, (k) => (options.strings ? 'text' : (types.get(k) ?? 'auto'))) : jsonlSource(input.stream, input.size);

  const errorsOut = options.errors ? createWriteStream(options.errors) : undefined;
  const shown: Failure[] = [];
  let failed = 0;
  let inserted = 0;
  let updated = 0;
  let read = 0;
  const started = Date.now();
  const progress = startProgress({
    label: `import ${collection}`,
    unit: 'items',
    basis: 'bytes',
    quiet: options.quiet === true,
    ...(source.size !== undefined ? { total: source.size } : {}),
  });
  const fail = async (f: Failure) => {
    failed++;
    if (shown.length < options.showErrors) shown.push(f);
    if (errorsOut) await writeLine(errorsOut, `${JSON.stringify(f)}\n`);
  };

  type Batch = { rows: Row[]; result: Promise<Outcome[] | { error: unknown }> };
  const queue: Batch[] = [];
  const settle = async (b: Batch) => {
    const result = await b.result;
    if (!Array.isArray(result)) throw result.error;
    for (const [i, o] of result.entries()) {
      const row = b.rows[i] as Row;
      if (o.ok) {
        if (o.action === 'UPDATE') updated++;
        else inserted++;
      } else {
        const id = o.id ?? (typeof row.item?._id === 'string' ? row.item._id : undefined);
        await fail({ line: row.line, ...(id !== undefined ? { id } : {}), code: o.error?.code ?? 'UNKNOWN', description: o.error?.description ?? 'failed' });
      }
    }
    progress.update(source.bytes(), inserted + updated + failed);
  };
  const flush = async (rows: Row[]) => {
    const items = rows.map((r) => r.item as Record<string, unknown>);
    // Caught here and rethrown in order by settle, so no rejection is ever left unhandled.
    queue.push({ rows, result: sendBatch(api, collection, options, items).catch((error: unknown) => ({ error })) });
    while (queue.length >= options.concurrency) await settle(queue.shift() as Batch);
  };

  try {
    let batch: Row[] = [];
    let batchBytes = 0;
    for await (const row of source.rows) {
      read++;
      if (!row.item) {
        await fail({ line: row.line, code: row.error?.code ?? 'INVALID', description: row.error?.description ?? 'invalid record' });
        continue;
      }
      const size = JSON.stringify(row.item).length;
      if (batch.length > 0 && batchBytes + size > BATCH_BYTES) {
        await flush(batch);
        batch = [];
        batchBytes = 0;
      }
      batch.push(row);
      batchBytes += size;
      if (batch.length >= options.batchSize) {
        await flush(batch);
        batch = [];
        batchBytes = 0;
      }
    }
    if (batch.length > 0) await flush(batch);
    while (queue.length > 0) await settle(queue.shift() as Batch);
  } catch (e) {
    source.close();
    throw e;
  } finally {
    progress.stop();
    if (errorsOut) await new Promise<void>((resolve) => errorsOut.end(resolve));
  }

  const seconds = (Date.now() - started) / 1000;
  const succeeded = inserted + updated;
  const rate = seconds > 0 ? Math.round(succeeded / seconds) : succeeded;
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ collection, read, succeeded, inserted, updated, failed, seconds, itemsPerSecond: rate })}\n`);
  } else {
    process.stdout.write(
      `Imported ${succeeded} of ${read} items into ${collection} in ${seconds.toFixed(1)} s (${rate} items/s): ${inserted} inserted, ${updated} updated, ${failed} failed.\n`,
    );
  }
  if (failed > 0) {
    for (const f of shown) process.stderr.write(`line ${f.line}${f.id !== undefined ? ` (_id ${f.id})` : ''}: ${f.code}: ${f.description}\n`);
    if (failed > shown.length) process.stderr.write(`... and ${failed - shown.length} more${options.errors ? ` (all in ${options.errors})` : ' (--errors <file> writes them all)'}\n`);
    throw new Error(`${failed} of ${read} items failed to import`);
  }
}

export function registerImport(program: Command): void {
  addRemoteOptions(
    program
      .command('import')
      .description('import a CSV or JSON Lines file into a collection through the bulk API, streamed (any size)')
      .argument('<collection>', 'the collection id')
      .argument('<file>', 'a .csv, .jsonl or .ndjson file, or - for standard input')
      .addOption(new Option('--format <format>', 'the file format (default: from the extension)').choices(['csv', 'jsonl']))
      .addOption(new Option('--mode <mode>', 'save replaces items with the same _id; insert fails them (WDE0074)').choices(['save', 'insert']).default('save'))
      .option('--batch-size <n>', 'items per request (at most 1000)', intArg(1, 1000), 1000)
      .option('--concurrency <n>', 'requests in flight; 1 writes strictly in file order', intArg(1, 16), 3)
      .option('--errors <file>', 'write every failure to this file as JSON Lines ({line, id?, code, description})')
      .option('--show-errors <n>', 'failures printed on stderr', intArg(0, 1_000_000), 10)
      .option('--strings', 'CSV: keep every cell as text (no numbers, booleans, JSON or dates)')
      .addOption(new Option('--environment <env>', 'the environment to write to').choices(['LIVE', 'SANDBOX', 'SANDBOX_PREFERRED']))
      .option('--quiet', 'no progress output')
      .option('--json', 'print the summary as JSON'),
  ).action(async (collection: string, file: string, options: ImportOptions, command: Command) => {
    if (!options.format && (file === '-' || !formatOfPath(file))) command.error(`error: cannot tell the format of ${file}: name it .csv, .jsonl or .ndjson, or give --format csv|jsonl`);
    await runImport(collection, file, options);
  });
}
