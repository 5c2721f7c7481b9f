/**
 * Calls to Cairn's HTTP API with the signed-in key. The key lives in sessionStorage (this tab
 * only, gone when it closes) and goes out as `Authorization: <key>` on every request, the way the
 * published client sends it. Errors come back in the Wix envelope; ApiError carries its code.
 */

const KEY_STORAGE = 'cairn.apiKey';
/** Dispatched on window when a call finds the stored key refused. */
export const SIGNED_OUT = 'cairn:signed-out';

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function storeKey(key: string | null): void {
  if (key === null) sessionStorage.removeItem(KEY_STORAGE);
  else sessionStorage.setItem(KEY_STORAGE, key);
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Sends one request; `key` defaults to the stored one. Resolves to the parsed JSON reply. */
export async function api<T = any>(method: string, path: string, body?: unknown, key = storedKey()): Promise<T> {
  const headers: Record<string, string> = {};
  if (key) headers.authorization = key;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : {};
  } catch {
    json = { message: text };
  }
  if (res.status === 401 && key !== null && key === storedKey()) {
    // The signed-in key stopped working (revoked): back to the sign-in screen.
    storeKey(null);
    dispatchEvent(new Event(SIGNED_OUT));
  }
  if (!res.ok) {
    const code = json?.details?.applicationError?.code ?? String(res.status);
    throw new ApiError(res.status, code, `${code}: ${json?.message ?? res.statusText}`);
  }
  return json as T;
}

export const enc = encodeURIComponent;

// The shapes the dashboard reads (the Wix wire format; README "API surface").

export interface Field {
  key: string;
  displayName?: string;
  type: string;
  systemField?: boolean;
}

export interface Collection {
  id: string;
  displayName?: string;
  fields: Field[];
  permissions?: Record<string, string>;
  revision?: string;
}

export interface DataItem {
  id: string;
  dataCollectionId: string;
  data: Record<string, unknown>;
}

export interface Failure {
  code: string;
  description?: string;
  data?: Record<string, unknown>;
}

export interface Task {
  id: string;
  type: string;
  status: 'NEW' | 'RUNNING' | 'COMPLETED' | 'FAILED';
  estimatedItemCount?: number;
  itemsSucceeded?: number;
  itemsFailed?: number;
  failures?: Failure[];
  createdDate?: string;
  startedAt?: string;
  finishedAt?: string;
  [options: string]: unknown;
}

export interface Webhook {
  id: string;
  url: string;
  events: string[];
  dataCollectionId?: string;
  createdDate: string;
  source: string;
}

export interface Delivery {
  eventId: string | null;
  eventType: string | null;
  entityId: string | null;
  entityEventSequence: string;
  status: string;
  attempts: number;
  nextAttemptAt: string | null;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: string | null;
  createdDate: string;
}

export interface ApiKey {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  memberId?: string | null;
  admin?: boolean;
  createdDate: string;
  revokedDate?: string | null;
}

export interface Backup {
  id: string;
  status: 'PENDING' | 'READY' | 'FAILED' | 'DELETED' | 'CANCELED';
  type: 'ON_DEMAND' | 'AUTO';
  requestedDate: string;
  finishedDate?: string;
  sizeInBytes?: string;
  collections: { id: string; displayName: string }[];
}

export interface Restoration {
  id: string;
  status: 'PENDING' | 'COMPLETED' | 'FAILED';
  requestedDate: string;
  finishedDate?: string;
  backup: Backup;
  restorationCollections: { dataCollectionId: string; restoreDestination?: { dataCollectionId?: string } }[];
}

export const SCOPES = [
  'SCOPE.DC-DATA.READ',
  'SCOPE.DC-DATA.WRITE',
  'SCOPE.CAIRN.COLLECTIONS',
  'SCOPE.CAIRN.TASKS',
  'SCOPE.CAIRN.WEBHOOKS',
  'SCOPE.CAIRN.KEYS',
  'SCOPE.DC-DATA.MANAGE-BACKUPS',
] as const;

export const FIELD_TYPES = ['TEXT', 'NUMBER', 'BOOLEAN', 'DATE', 'DATETIME', 'URL', 'IMAGE', 'RICH_TEXT', 'OBJECT', 'ARRAY', 'ARRAY_STRING', 'ANY'] as const;
