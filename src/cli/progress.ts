/**
 * Progress for long commands (import, export, tasks watch), always on stderr so stdout stays for
 * data and summaries. On a terminal: a cli-progress bar with rate and ETA. Otherwise (a pipe, a CI
 * log): a plain line every few seconds, nothing with --quiet. The bar's basis (`value` of `total`)
 * may differ from what is counted (`count`, e.g. items): an import advances by bytes read of the
 * file's size, so the ETA needs no pre-count, while the rate is in items per second.
 */
import cliProgress from 'cli-progress';

export interface ProgressOptions {
  /** What is going on, e.g. `import books`. */
  label: string;
  /** The unit counted, plural: `items`. */
  unit: string;
  /** The basis's end (bytes of a file, items of a task), if known: without it there is no bar and no ETA. */
  total?: number;
  /** How the basis is shown beside the count in plain lines: bytes as MB, or not at all. */
  basis?: 'bytes' | 'count';
  quiet?: boolean;
  /** Seconds between plain lines (not on a terminal). */
  plainEverySeconds?: number;
  stream?: NodeJS.WriteStream;
}

export interface Progress {
  /** `value`: how far along the basis; `count`: units done so far. */
  update(value: number, count: number): void;
  setTotal(total: number): void;
  stop(): void;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export function formatRate(count: number, seconds: number): string {
  const rate = seconds > 0 ? count / seconds : 0;
  return rate >= 100 ? String(Math.round(rate)) : rate.toFixed(1);
}

/** Time left at the average pace so far (cli-progress's own ETA shows garbage before the first step). */
function eta(value: number, total: number | undefined, seconds: number): string {
  if (total === undefined || total <= 0) return '?';
  const fraction = Math.min(1, value / total);
  return fraction > 0 ? formatDuration((seconds * (1 - fraction)) / fraction) : '?';
}

const mb = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MB`;

/** Seconds between plain progress lines: CAIRN_PROGRESS_INTERVAL, default 5. */
function plainInterval(): number {
  const v = Number(process.env.CAIRN_PROGRESS_INTERVAL);
  return Number.isFinite(v) && v > 0 ? v : 5;
}

const NONE: Progress = { update: () => {}, setTotal: () => {}, stop: () => {} };

export function startProgress(options: ProgressOptions): Progress {
  if (options.quiet) return NONE;
  const stream = options.stream ?? process.stderr;
  return stream.isTTY ? barProgress(options, stream) : plainProgress(options, stream);
}

function barProgress(options: ProgressOptions, stream: NodeJS.WriteStream): Progress {
  const started = Date.now();
  let total = options.total;
  const format = () =>
    total !== undefined && total > 0
      ? `${options.label} {bar} {percentage}% | {count} ${options.unit} | {rate} ${options.unit}/s | ETA {eta}`
      : `${options.label} {count} ${options.unit} | {rate} ${options.unit}/s | {duration_formatted}`;
  const bar = new cliProgress.SingleBar(
    { format: format(), stream, hideCursor: false, fps: 5, barsize: 30, clearOnComplete: false },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total ?? 0, 0, { count: 0, rate: '0', eta: '?' });
  let stopped = false;
  return {
    update(value, count) {
      if (stopped) return;
      const seconds = (Date.now() - started) / 1000;
      bar.update(value, { count, rate: formatRate(count, seconds), eta: eta(value, total, seconds) });
    },
    setTotal(t) {
      total = t;
      bar.setTotal(t);
      (bar as unknown as { options: { format: string } }).options.format = format();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}

function plainProgress(options: ProgressOptions, stream: NodeJS.WriteStream): Progress {
  const started = Date.now();
  let total = options.total;
  let value = 0;
  let count = 0;
  const line = () => {
    const seconds = (Date.now() - started) / 1000;
    const parts = [`${options.label}: ${count} ${options.unit}`];
    if (total !== undefined && total > 0) {
      const fraction = Math.min(1, value / total);
      parts[0] += ` (${(fraction * 100).toFixed(1)}%${options.basis === 'bytes' ? ` of ${mb(total)}` : ` of ${total}`})`;
      parts.push(`${formatRate(count, seconds)} ${options.unit}/s`);
      parts.push(`ETA ${eta(value, total, seconds)}`);
    } else {
      parts.push(`${formatRate(count, seconds)} ${options.unit}/s`, `${formatDuration(seconds)} elapsed`);
    }
    stream.write(`${parts.join(', ')}\n`);
  };
  const timer = setInterval(line, (options.plainEverySeconds ?? plainInterval()) * 1000);
  timer.unref();
  return {
    update(v, c) {
      value = v;
      count = c;
    },
    setTotal(t) {
      total = t;
    },
    stop() {
      clearInterval(timer);
    },
  };
}
