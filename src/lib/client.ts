/**
 * The published `@wix/sdk` client, pointed at a Cairn server. The SDK always builds
 * `https://www.wixapis.com<path>` (or `edge.wixapis.com`); its `fetch` is given one that swaps
 * that origin for Cairn's and keeps the path, which Cairn serves as it is (README, "Pointing the
 * Wix client at Cairn").
 */
import { ApiKeyStrategy, createClient } from '@wix/sdk';
import { backups, collections, items, tasks } from '@wix/data';

const WIX_ORIGIN = /^https:\/\/(www|edge)\.wixapis\.com/;

export interface WixClientOptions {
  /** The API key sent as `Authorization` (the admin key, or one from POST /cairn/v1/keys). */
  apiKey: string;
  /** Sent as the SDK's site id; Cairn serves one site and ignores it. */
  siteId?: string;
}

/** A `fetch` that sends the SDK's Wix requests to `url` (an origin such as http://127.0.0.1:8080). */
export function cairnFetch(url: string): typeof fetch {
  const origin = url.replace(/\/+$/, '');
  return ((input: RequestInfo | URL, init?: RequestInit) =>
    fetch(String(input instanceof Request ? input.url : input).replace(WIX_ORIGIN, origin), init)) as typeof fetch;
}

/**
 * `createClient` with the `items`, `collections`, `tasks` and `backups` modules of `@wix/data`, talking to
 * the Cairn server at `url` with `apiKey`.
 */
export function wixClientFor(url: string, options: WixClientOptions) {
  return createClient({
    modules: { items, collections, tasks, backups },
    auth: ApiKeyStrategy({ apiKey: options.apiKey, siteId: options.siteId ?? 'local' }),
    useCDN: false,
    fetch: cairnFetch(url),
  });
}

export type WixClient = ReturnType<typeof wixClientFor>;
