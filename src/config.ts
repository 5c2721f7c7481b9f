/** Configuration from the environment (README lists every variable). */
import { readFileSync } from 'node:fs';
import { DEFAULT_COLLECTION_RETENTION_HOURS } from './collections/service.js';

export interface Config {
  port: number;
  host: string;
  dataDir: string;
  databaseUrl: string | undefined;
  adminKey: string | undefined;
  /** Largest request body accepted, in bytes (WDE0109 above it). */
  bodyLimit: number;
  logLevel: string;
  /** Log every request (off by default: it costs throughput). */
  logRequests: boolean;
  /** Owner id written on items created without a member identity (the site owner). */
  ownerId: string;
  /** Run background tasks inside the API process (CAIRN_RUN_TASKS=0 leaves them to workers). */
  runTasks: boolean;
  taskLeaseMs: number;
  taskBatchSize: number;
  taskMaxBatchSize: number;
  /** Unset: the runner's default for the store. */
  taskBatchTargetMs: number | undefined;
  workerId: string | undefined;
  /** Path of the data hooks module (CAIRN_HOOKS; docs/hooks.md), relative to the working directory. */
  hooks: string | undefined;
  /** Record item, collection and task events (CAIRN_EVENTS=off turns the outbox off). */
  events: boolean;
  /** CAIRN_WEBHOOKS: the webhooks kept from the configuration (JSON array, or a .json file holding one), unchecked; undefined leaves CONFIG webhooks as they are. */
  webhooks: unknown[] | undefined;
  /** Deliver webhooks inside the API process (CAIRN_DELIVER_WEBHOOKS=0 leaves them to workers). */
  deliverWebhooks: boolean;
  webhookMaxAttempts: number;
  webhookRetryBaseMs: number;
  webhookRetryCapMs: number;
  webhookTimeoutMs: number;
  webhookConcurrency: number;
  /** Unset: the request timeout plus 20 s. */
  webhookLeaseMs: number | undefined;
  eventRetentionHours: number;
  /** How long a deleted collection can be restored (CAIRN_COLLECTION_RETENTION_HOURS; 0: deleting is final). */
  collectionRetentionHours: number;
  /** Take an AUTO backup when the newest is older than this (CAIRN_BACKUP_AUTO_HOURS; 0, the default: never). */
  backupAutoHours: number;
  /** Site-member tokens: HS256 secret (CAIRN_JWT_SECRET) or RS256 public key (CAIRN_JWT_PUBLIC_KEY: PEM or path). */
  jwtSecret: string | undefined;
  jwtPublicKey: string | undefined;
  jwtIssuer: string | undefined;
  jwtAudience: string | undefined;
  /** Requests per minute per API key, member or anonymous address (CAIRN_RATE_LIMIT; 0: none). */
  rateLimit: number;
  /** Failed authentications per minute per address before 429 (CAIRN_AUTH_FAILURE_LIMIT; 0: none). */
  authFailureLimit: number;
  /** How long a looked-up API key is trusted before asking the store again (CAIRN_KEY_CACHE_MS). */
  keyCacheMs: number;
  /**
   * How long a read by id may be answered from this process's cache (CAIRN_READ_CACHE_MS; 0 turns
   * the cache off). PostgreSQL: the longest a reply may lag a write made elsewhere (which usually
   * reaches the cache within milliseconds). SQLite files: replies never lag, this only bounds how
   * long an unused one is kept.
   */
  readCacheMs: number;
  /** Serve /metrics to anyone (CAIRN_METRICS_PUBLIC=1); otherwise it needs the admin key. */
  metricsPublic: boolean;
}

/** CAIRN_WEBHOOKS: a JSON array, or the path of a file holding one. */
function webhooksFrom(v: string | undefined): unknown[] | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  const text = v.trim().startsWith('[') ? v : readFileSync(v.trim(), 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`CAIRN_WEBHOOKS is not valid JSON: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!Array.isArray(parsed)) throw new Error('CAIRN_WEBHOOKS must be a JSON array of {url, events, dataCollectionId?, secret}');
  return parsed;
}

function int(v: string | undefined, fallback: number, name: string): number {
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number, got ${JSON.stringify(v)}`);
  return n;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return {
    port: int(env.PORT, 8080, 'PORT'),
    host: env.HOST || '127.0.0.1',
    dataDir: env.CAIRN_DATA_DIR || './data',
    databaseUrl: env.DATABASE_URL || undefined,
    adminKey: env.CAIRN_ADMIN_KEY || undefined,
    bodyLimit: int(env.CAIRN_BODY_LIMIT, 16 * 1024 * 1024, 'CAIRN_BODY_LIMIT'),
    logLevel: env.CAIRN_LOG_LEVEL || 'info',
    logRequests: env.CAIRN_LOG_REQUESTS === '1' || env.CAIRN_LOG_REQUESTS === 'true',
    ownerId: env.CAIRN_OWNER_ID || '00000000-0000-0000-0000-000000000001',
    runTasks: !(env.CAIRN_RUN_TASKS === '0' || env.CAIRN_RUN_TASKS === 'false'),
    taskLeaseMs: int(env.CAIRN_TASK_LEASE_MS, 30_000, 'CAIRN_TASK_LEASE_MS'),
    taskBatchSize: Math.max(1, int(env.CAIRN_TASK_BATCH_SIZE, 1000, 'CAIRN_TASK_BATCH_SIZE')),
    taskMaxBatchSize: Math.max(1, int(env.CAIRN_TASK_MAX_BATCH_SIZE, 20_000, 'CAIRN_TASK_MAX_BATCH_SIZE')),
    taskBatchTargetMs: env.CAIRN_TASK_BATCH_TARGET_MS ? Math.max(1, int(env.CAIRN_TASK_BATCH_TARGET_MS, 25, 'CAIRN_TASK_BATCH_TARGET_MS')) : undefined,
    workerId: env.CAIRN_WORKER_ID || undefined,
    hooks: env.CAIRN_HOOKS || undefined,
    events: !(env.CAIRN_EVENTS === 'off' || env.CAIRN_EVENTS === '0' || env.CAIRN_EVENTS === 'false'),
    webhooks: webhooksFrom(env.CAIRN_WEBHOOKS),
    deliverWebhooks: !(env.CAIRN_DELIVER_WEBHOOKS === '0' || env.CAIRN_DELIVER_WEBHOOKS === 'false'),
    webhookMaxAttempts: Math.max(1, int(env.CAIRN_WEBHOOK_MAX_ATTEMPTS, 10, 'CAIRN_WEBHOOK_MAX_ATTEMPTS')),
    webhookRetryBaseMs: int(env.CAIRN_WEBHOOK_RETRY_BASE_MS, 1000, 'CAIRN_WEBHOOK_RETRY_BASE_MS'),
    webhookRetryCapMs: int(env.CAIRN_WEBHOOK_RETRY_CAP_MS, 3_600_000, 'CAIRN_WEBHOOK_RETRY_CAP_MS'),
    webhookTimeoutMs: Math.max(1, int(env.CAIRN_WEBHOOK_TIMEOUT_MS, 10_000, 'CAIRN_WEBHOOK_TIMEOUT_MS')),
    webhookConcurrency: Math.max(1, int(env.CAIRN_WEBHOOK_CONCURRENCY, 32, 'CAIRN_WEBHOOK_CONCURRENCY')),
    webhookLeaseMs: env.CAIRN_WEBHOOK_LEASE_MS ? Math.max(1, int(env.CAIRN_WEBHOOK_LEASE_MS, 30_000, 'CAIRN_WEBHOOK_LEASE_MS')) : undefined,
    eventRetentionHours: int(env.CAIRN_EVENT_RETENTION_HOURS, 72, 'CAIRN_EVENT_RETENTION_HOURS'),
    collectionRetentionHours: int(env.CAIRN_COLLECTION_RETENTION_HOURS, DEFAULT_COLLECTION_RETENTION_HOURS, 'CAIRN_COLLECTION_RETENTION_HOURS'),
    backupAutoHours: int(env.CAIRN_BACKUP_AUTO_HOURS, 0, 'CAIRN_BACKUP_AUTO_HOURS'),
    jwtSecret: env.CAIRN_JWT_SECRET || undefined,
    jwtPublicKey: env.CAIRN_JWT_PUBLIC_KEY || undefined,
    jwtIssuer: env.CAIRN_JWT_ISSUER || undefined,
    jwtAudience: env.CAIRN_JWT_AUDIENCE || undefined,
    rateLimit: int(env.CAIRN_RATE_LIMIT, 6000, 'CAIRN_RATE_LIMIT'),
    authFailureLimit: int(env.CAIRN_AUTH_FAILURE_LIMIT, 30, 'CAIRN_AUTH_FAILURE_LIMIT'),
    keyCacheMs: int(env.CAIRN_KEY_CACHE_MS, 5000, 'CAIRN_KEY_CACHE_MS'),
    readCacheMs: int(env.CAIRN_READ_CACHE_MS, 1000, 'CAIRN_READ_CACHE_MS'),
    metricsPublic: env.CAIRN_METRICS_PUBLIC === '1' || env.CAIRN_METRICS_PUBLIC === 'true',
  };
}
