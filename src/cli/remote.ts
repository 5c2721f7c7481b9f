/**
 * The HTTP side of the CLI: commands that work on data (collections, import, export, tasks) call
 * the API of a running Cairn, so every write takes the server's single mutation path (events,
 * hooks, permissions) and the commands work against a remote server as well as a local one.
 * API errors become one line, `<code>: <description>`; an unreachable server says so in one line.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';

export const DEFAULT_URL = 'http://127.0.0.1:8080';

export interface RemoteOptions {
  url: string;
  key?: string;
}

/** --url and --key on a command (each also read from its environment variable). */
export function addRemoteOptions(command: Command): Command {
  return command
    .addOption(new Option('--url <url>', 'the Cairn server to talk to').env('CAIRN_URL').default(DEFAULT_URL))
    .addOption(new Option('--key <key>', 'API key, sent as `Authorization: <key>`').env('CAIRN_KEY'));
}

/** An error from the server, in the Wix envelope: `code` is the applicationError code when there is one. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly description: string,
    readonly retryAfterMs?: number,
  ) {
    super(`${code}: ${description}`);
  }
}

interface Envelope {
  message?: unknown;
  details?: { applicationError?: { code?: unknown; description?: unknown } };
}

async function apiErrorOf(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => '');
  let env: Envelope | undefined;
  try {
    env = JSON.parse(text) as Envelope;
  } catch {
    env = undefined;
  }
  const app = env?.details?.applicationError;
  const code = typeof app?.code === 'string' ? app.code : `HTTP ${res.status}`;
  const description =
    typeof app?.description === 'string' ? app.description : typeof env?.message === 'string' ? env.message : res.statusText || text.slice(0, 200);
  const retry = Number(res.headers.get('retry-after'));
  return new ApiError(res.status, code, description.replace(/\s+/g, ' ').trim(), Number.isFinite(retry) && retry > 0 ? retry * 1000 : undefined);
}

/** `fetch failed` says nothing: name the server and the socket error instead. */
function connectionMessage(url: string, e: unknown): string {
  let cause: unknown = e instanceof Error ? e.cause : undefined;
  if (cause instanceof AggregateError && cause.errors.length > 0) cause = cause.errors[0];
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ECONNREFUSED') return `cannot reach Cairn at ${url}: connection refused (is the server running? set --url or CAIRN_URL)`;
  if (code === 'ENOTFOUND') return `cannot reach Cairn at ${url}: unknown host`;
  const detail = code ?? (cause instanceof Error ? cause.message : e instanceof Error ? e.message : String(e));
  return `cannot reach Cairn at ${url}: ${detail}`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Api {
  readonly base: string;

  constructor(private readonly options: RemoteOptions) {
    let u: URL;
    try {
      u = new URL(options.url);
    } catch {
      throw new Error(`--url is not a URL: ${JSON.stringify(options.url)}`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`--url must be http or https: ${JSON.stringify(options.url)}`);
    this.base = u.href.replace(/\/+$/, '');
  }

  /**
   * One request; the parsed JSON reply, or an ApiError. A 429 (rate limit) is waited out and
   * retried a few times, so a long import or export with a limited key slows down instead of failing.
   */
  async call<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(this.base + path, {
          method,
          headers: {
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(this.options.key ? { authorization: this.options.key } : {}),
          },
          ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
        });
      } catch (e) {
        throw new Error(connectionMessage(this.base, e));
      }
      if (res.ok) return (await res.json()) as T;
      const error = await apiErrorOf(res);
      if (res.status === 429 && attempt < 5) {
        await sleep(error.retryAfterMs ?? 1000 * (attempt + 1));
        continue;
      }
      throw error;
    }
  }
}

export function apiOf(options: RemoteOptions): Api {
  return new Api(options);
}

/** A commander argument parser for a JSON object option (a filter): anything else is a usage error (exit 2). */
export function jsonObjectArg(value: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (e) {
    throw new InvalidArgumentError(`Not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new InvalidArgumentError('Expected a JSON object.');
  return parsed as Record<string, unknown>;
}

/** A whole number option within bounds, else a usage error. */
export function intArg(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`Expected a whole number from ${min} to ${max}.`);
    return n;
  };
}
