/** Configuration from the environment (README lists every variable). */
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
  /** Record item, collection and task events (CAIRN_EVENTS=off turns the outbox off). */
  events: boolean;
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
    events: !(env.CAIRN_EVENTS === 'off' || env.CAIRN_EVENTS === '0' || env.CAIRN_EVENTS === 'false'),
  };
}
