/**
 * Forward-only, numbered schema migrations, one script per dialect. Each runs in its own
 * transaction together with the row that records it, so a crash never leaves one half-applied.
 * On PostgreSQL an advisory lock makes concurrent starters (several API processes and workers on
 * one database) take turns; the ones that come second find nothing left to do.
 */
import type { Db, Executor } from './db.js';
import { raw, sql } from './sql.js';
import { rebuildRegularIndexesPostgres } from '../collections/indexes.js';

interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sqlite: string;
  readonly postgres: string;
  /** Steps that need to read the database first, after the script. */
  readonly sqliteSteps?: (tx: Executor) => Promise<void>;
  readonly postgresSteps?: (tx: Executor) => Promise<void>;
}

const ITEM_COLUMNS = 'collection_id, env, id, data, created_date, updated_date, owner, publish_status';

/**
 * SQLite: items stored in primary-key order (WITHOUT ROWID). In a rowid table rows lie in
 * insertion order, so walking a collection in id order (task batches, cursor reads) with random
 * ids touches a different page for nearly every row: a 1000-item batch read ~1000 scattered
 * pages. Clustered by (collection_id, env, id), a batch is a few neighbouring pages, and a get by
 * id is one b-tree search instead of two. Every index on items (the built-in ones and users'
 * expression indexes) is recreated from its own definition.
 */
async function clusterSqliteItems(tx: Executor): Promise<void> {
  const indexes = await tx.all<{ sql: string }>(
    sql`SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'items' AND sql IS NOT NULL`,
  );
  await tx.run(
    raw(`CREATE TABLE items_clustered (
        collection_id TEXT NOT NULL,
        env TEXT NOT NULL,
        id TEXT NOT NULL,
        data TEXT NOT NULL,
        created_date TEXT NOT NULL,
        updated_date TEXT NOT NULL,
        owner TEXT,
        publish_status TEXT NOT NULL DEFAULT 'PUBLISHED',
        PRIMARY KEY (collection_id, env, id)
      ) WITHOUT ROWID`),
  );
  await tx.run(raw(`INSERT INTO items_clustered (${ITEM_COLUMNS}) SELECT ${ITEM_COLUMNS} FROM items ORDER BY collection_id, env, id`));
  await tx.run(raw('DROP TABLE items'));
  await tx.run(raw('ALTER TABLE items_clustered RENAME TO items'));
  for (const index of indexes) await tx.run(raw(index.sql));
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'collections, items, indexes',
    sqlite: `
      CREATE TABLE collections (
        id TEXT PRIMARY KEY,
        doc TEXT NOT NULL,
        revision INTEGER NOT NULL,
        sandbox_enabled INTEGER NOT NULL DEFAULT 0,
        created_date TEXT NOT NULL,
        updated_date TEXT NOT NULL
      );
      CREATE TABLE items (
        collection_id TEXT NOT NULL,
        env TEXT NOT NULL,
        id TEXT NOT NULL,
        data TEXT NOT NULL,
        created_date TEXT NOT NULL,
        updated_date TEXT NOT NULL,
        owner TEXT,
        publish_status TEXT NOT NULL DEFAULT 'PUBLISHED',
        PRIMARY KEY (collection_id, env, id)
      );
      CREATE INDEX items_created ON items (collection_id, env, created_date);
      CREATE TABLE item_indexes (
        collection_id TEXT NOT NULL,
        name TEXT NOT NULL,
        doc TEXT NOT NULL,
        status TEXT NOT NULL,
        sql_names TEXT NOT NULL,
        created_date TEXT NOT NULL,
        PRIMARY KEY (collection_id, name)
      );`,
    postgres: `
      CREATE TABLE collections (
        id TEXT COLLATE "C" PRIMARY KEY,
        doc JSONB NOT NULL,
        revision INTEGER NOT NULL,
        sandbox_enabled BOOLEAN NOT NULL DEFAULT FALSE,
        created_date TEXT COLLATE "C" NOT NULL,
        updated_date TEXT COLLATE "C" NOT NULL
      );
      CREATE TABLE items (
        collection_id TEXT COLLATE "C" NOT NULL,
        env TEXT COLLATE "C" NOT NULL,
        id TEXT COLLATE "C" NOT NULL,
        data JSONB NOT NULL,
        created_date TEXT COLLATE "C" NOT NULL,
        updated_date TEXT COLLATE "C" NOT NULL,
        owner TEXT COLLATE "C",
        publish_status TEXT NOT NULL DEFAULT 'PUBLISHED',
        PRIMARY KEY (collection_id, env, id)
      );
      CREATE INDEX items_created ON items (collection_id, env, created_date);
      CREATE TABLE item_indexes (
        collection_id TEXT COLLATE "C" NOT NULL,
        name TEXT COLLATE "C" NOT NULL,
        doc JSONB NOT NULL,
        status TEXT NOT NULL,
        sql_names TEXT NOT NULL,
        created_date TEXT NOT NULL,
        PRIMARY KEY (collection_id, name)
      );`,
  },
  {
    version: 2,
    name: 'tasks, task failures, publish schedules',
    sqlite: `
      CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        type TEXT NOT NULL,
        options TEXT NOT NULL,
        collection_id TEXT NOT NULL,
        env TEXT NOT NULL,
        status TEXT NOT NULL,
        created_date TEXT NOT NULL,
        updated_date TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        estimated_item_count INTEGER NOT NULL DEFAULT 0,
        items_succeeded INTEGER NOT NULL DEFAULT 0,
        items_failed INTEGER NOT NULL DEFAULT 0,
        failure_count INTEGER NOT NULL DEFAULT 0,
        cursor TEXT,
        cancel_requested INTEGER NOT NULL DEFAULT 0,
        locked_by TEXT,
        locked_until TEXT,
        attempts INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX tasks_ready ON tasks (status, created_date);
      CREATE INDEX tasks_listing ON tasks (kind, created_date);
      CREATE TABLE task_failures (
        task_id TEXT NOT NULL,
        seq INTEGER NOT NULL,
        item_id TEXT,
        code TEXT NOT NULL,
        description TEXT NOT NULL,
        data TEXT,
        PRIMARY KEY (task_id, seq)
      );
      CREATE TABLE item_schedules (
        collection_id TEXT NOT NULL,
        env TEXT NOT NULL,
        item_id TEXT NOT NULL,
        target_status TEXT NOT NULL,
        run_at TEXT NOT NULL,
        task_id TEXT NOT NULL,
        PRIMARY KEY (collection_id, env, item_id, target_status)
      );
      CREATE INDEX item_schedules_due ON item_schedules (run_at)`,
    postgres: `
      CREATE TABLE tasks (
        id TEXT COLLATE "C" PRIMARY KEY,
        kind TEXT NOT NULL,
        type TEXT NOT NULL,
        options JSONB NOT NULL,
        collection_id TEXT COLLATE "C" NOT NULL,
        env TEXT NOT NULL,
        status TEXT NOT NULL,
        created_date TEXT COLLATE "C" NOT NULL,
        updated_date TEXT COLLATE "C" NOT NULL,
        started_at TEXT,
        finished_at TEXT,
        estimated_item_count BIGINT NOT NULL DEFAULT 0,
        items_succeeded BIGINT NOT NULL DEFAULT 0,
        items_failed BIGINT NOT NULL DEFAULT 0,
        failure_count BIGINT NOT NULL DEFAULT 0,
        cursor TEXT COLLATE "C",
        cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
        locked_by TEXT,
        locked_until TEXT COLLATE "C",
        attempts INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX tasks_ready ON tasks (status, created_date);
      CREATE INDEX tasks_listing ON tasks (kind, created_date);
      CREATE TABLE task_failures (
        task_id TEXT COLLATE "C" NOT NULL,
        seq BIGINT NOT NULL,
        item_id TEXT COLLATE "C",
        code TEXT NOT NULL,
        description TEXT NOT NULL,
        data JSONB,
        PRIMARY KEY (task_id, seq)
      );
      CREATE TABLE item_schedules (
        collection_id TEXT COLLATE "C" NOT NULL,
        env TEXT NOT NULL,
        item_id TEXT COLLATE "C" NOT NULL,
        target_status TEXT NOT NULL,
        run_at TEXT COLLATE "C" NOT NULL,
        task_id TEXT NOT NULL,
        PRIMARY KEY (collection_id, env, item_id, target_status)
      );
      CREATE INDEX item_schedules_due ON item_schedules (run_at)`,
  },
  {
    version: 3,
    name: 'items clustered by key on SQLite',
    sqlite: '',
    postgres: '',
    sqliteSteps: clusterSqliteItems,
  },
  {
    // 1 when \`data\` is the text Cairn's own serialiser wrote (keys in canonical order, as
    // JSON.stringify writes values): SQLite can then send it as it is (ItemReader.getJson).
    // Writes that edit the document in SQL (json_set) leave text in SQLite's own layout: 0.
    // PostgreSQL keeps jsonb, whose text is never the wire's; the column is kept in step there
    // only so that both stores share the writer's statements.
    version: 4,
    name: 'items.canon: data text is already in wire form',
    sqlite: 'ALTER TABLE items ADD COLUMN canon INTEGER NOT NULL DEFAULT 0',
    postgres: 'ALTER TABLE items ADD COLUMN canon SMALLINT NOT NULL DEFAULT 0',
  },
  {
    // The outbox (src/events/outbox.ts): one row per change, written in the change's own
    // transaction; `seq` orders them and is each event's entityEventSequence. Webhook
    // subscriptions, the event types each takes ('*' for all), and one delivery row per
    // (subscription, event), fanned out in the same transaction as the event.
    version: 5,
    name: 'events outbox, webhooks, deliveries',
    sqlite: `
      CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL,
        type TEXT NOT NULL,
        collection_id TEXT,
        env TEXT,
        entity_id TEXT NOT NULL,
        event_time TEXT NOT NULL,
        data TEXT
      );
      CREATE INDEX events_time ON events (event_time);
      CREATE TABLE webhooks (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        collection_id TEXT,
        secret TEXT NOT NULL,
        source TEXT NOT NULL,
        created_date TEXT NOT NULL
      );
      CREATE TABLE webhook_event_types (
        webhook_id TEXT NOT NULL,
        type TEXT NOT NULL,
        PRIMARY KEY (type, webhook_id)
      );
      CREATE TABLE webhook_deliveries (
        webhook_id TEXT NOT NULL,
        event_seq INTEGER NOT NULL,
        entity_key TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        locked_until TEXT,
        locked_by TEXT,
        last_status INTEGER,
        last_error TEXT,
        delivered_at TEXT,
        created_date TEXT NOT NULL,
        PRIMARY KEY (webhook_id, event_seq)
      );
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
      CREATE INDEX webhook_deliveries_entity ON webhook_deliveries (webhook_id, entity_key, event_seq)`,
    postgres: `
      CREATE TABLE events (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL,
        type TEXT COLLATE "C" NOT NULL,
        collection_id TEXT COLLATE "C",
        env TEXT,
        entity_id TEXT COLLATE "C" NOT NULL,
        event_time TEXT COLLATE "C" NOT NULL,
        data JSONB
      );
      CREATE INDEX events_time ON events (event_time);
      CREATE TABLE webhooks (
        id TEXT COLLATE "C" PRIMARY KEY,
        url TEXT NOT NULL,
        collection_id TEXT COLLATE "C",
        secret TEXT NOT NULL,
        source TEXT NOT NULL,
        created_date TEXT NOT NULL
      );
      CREATE TABLE webhook_event_types (
        webhook_id TEXT COLLATE "C" NOT NULL,
        type TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (type, webhook_id)
      );
      CREATE TABLE webhook_deliveries (
        webhook_id TEXT COLLATE "C" NOT NULL,
        event_seq BIGINT NOT NULL,
        entity_key TEXT COLLATE "C" NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT COLLATE "C" NOT NULL,
        locked_until TEXT COLLATE "C",
        locked_by TEXT,
        last_status INTEGER,
        last_error TEXT,
        delivered_at TEXT COLLATE "C",
        created_date TEXT NOT NULL,
        PRIMARY KEY (webhook_id, event_seq)
      );
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
      CREATE INDEX webhook_deliveries_entity ON webhook_deliveries (webhook_id, entity_key, event_seq)`,
  },
  {
    // Delivery keeps each entity's events in order by asking "is an earlier delivery of this
    // entity still PENDING?" for every row it claims. Over the full index that walks the entity's
    // whole delivered history (an item updated 20,000 times made one claim take over a second);
    // over pending rows only it is one seek. The full index had no other reader.
    version: 6,
    name: 'pending deliveries by entity',
    sqlite: `
      DROP INDEX webhook_deliveries_entity;
      CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id, entity_key, event_seq) WHERE status = 'PENDING'`,
    postgres: `
      DROP INDEX webhook_deliveries_entity;
      CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id, entity_key, event_seq) WHERE status = 'PENDING'`,
  },
  {
    // API keys (src/auth/keys.ts): only a SHA-256 of each key is kept (keys are 256 random bits,
    // so a fast hash is enough; a slow one would only slow every request). `prefix` is the key's
    // first characters, shown in lists so people can tell keys apart. `admin` marks the key
    // generated on first start when CAIRN_ADMIN_KEY is unset.
    version: 7,
    name: 'api keys',
    sqlite: `
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        key_hash TEXT NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        scopes TEXT NOT NULL,
        member_id TEXT,
        admin INTEGER NOT NULL DEFAULT 0,
        created_date TEXT NOT NULL,
        revoked_date TEXT
      )`,
    postgres: `
      CREATE TABLE api_keys (
        id TEXT COLLATE "C" PRIMARY KEY,
        name TEXT NOT NULL,
        key_hash TEXT COLLATE "C" NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        scopes TEXT NOT NULL,
        member_id TEXT,
        admin INTEGER NOT NULL DEFAULT 0,
        created_date TEXT NOT NULL,
        revoked_date TEXT
      )`,
  },
  {
    // Delivery rows are fanned out in the write's transaction, but enter the per-entity ordering
    // index (webhook_deliveries_pending) only when a delivery worker admits them (delivery.ts,
    // admitDeliveries). That index is keyed by entity, so a batch of 1,000 inserts into it
    // dirtied nearly one page per row (on SQLite about 550 of a 1,000-item BulkPatch's 1,630 WAL
    // pages with a backlog pending); `webhook_deliveries_fresh` is appended to in seq order.
    // Rows already there are admitted (the default 1).
    version: 8,
    name: 'deliveries admitted to the ordering index by the worker',
    sqlite: `
      ALTER TABLE webhook_deliveries ADD COLUMN admitted INTEGER NOT NULL DEFAULT 1;
      DROP INDEX webhook_deliveries_pending;
      CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id, entity_key, event_seq) WHERE status = 'PENDING' AND admitted = 1;
      CREATE INDEX webhook_deliveries_fresh ON webhook_deliveries (event_seq) WHERE admitted = 0`,
    postgres: `
      ALTER TABLE webhook_deliveries ADD COLUMN admitted SMALLINT NOT NULL DEFAULT 1;
      DROP INDEX webhook_deliveries_pending;
      CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id, entity_key, event_seq) WHERE status = 'PENDING' AND admitted = 1;
      CREATE INDEX webhook_deliveries_fresh ON webhook_deliveries (event_seq) WHERE admitted = 0`,
  },
  {
    // The due index (claims by next_attempt_at, the retention sweep) holds admitted rows only:
    // a delivery row enters it when the worker admits it (migration 8), so the item write that
    // fans out a thousand deliveries no longer updates it as well. Claims and the sweep both
    // name `admitted = 1`, so both stores use the partial index.
    version: 9,
    name: 'due index over admitted deliveries',
    sqlite: `
      DROP INDEX webhook_deliveries_due;
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at) WHERE admitted = 1`,
    postgres: `
      DROP INDEX webhook_deliveries_due;
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at) WHERE admitted = 1`,
  },
  {
    // Fan-out markers (src/events/outbox.ts): an item write records, per matching webhook, one
    // row naming its events (`seqs`), instead of one delivery row per event; the delivery worker
    // expands markers into delivery rows (delivery.ts, admitDeliveries). `first_seq` pins the
    // events a marker still needs against the retention sweep. Rows the previous scheme left
    // not yet admitted are admitted here (nothing is delivering while migrations run).
    version: 10,
    name: 'webhook fan-out markers',
    sqlite: `
      UPDATE webhook_deliveries SET admitted = 1 WHERE admitted = 0;
      DROP INDEX webhook_deliveries_fresh;
      CREATE TABLE webhook_fanout (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        webhook_id TEXT NOT NULL,
        first_seq INTEGER NOT NULL,
        seqs TEXT NOT NULL
      );
      CREATE INDEX webhook_fanout_webhook ON webhook_fanout (webhook_id)`,
    postgres: `
      UPDATE webhook_deliveries SET admitted = 1 WHERE admitted = 0;
      DROP INDEX webhook_deliveries_fresh;
      CREATE TABLE webhook_fanout (
        id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        webhook_id TEXT COLLATE "C" NOT NULL,
        first_seq BIGINT NOT NULL,
        seqs BIGINT[] NOT NULL
      );
      CREATE INDEX webhook_fanout_webhook ON webhook_fanout (webhook_id)`,
  },
  {
    // PostgreSQL: a collection's regular indexes cover its own rows only (indexes.ts, indexDdl).
    version: 11,
    name: 'regular indexes per collection (PostgreSQL)',
    sqlite: '',
    postgres: '',
    postgresSteps: rebuildRegularIndexesPostgres,
  },
  {
    // PostgreSQL: every committed change to `items`, whoever makes it (any API process, a task
    // worker, the CLI, plain SQL), notifies ITEM_CHANGES_CHANNEL with the collection's id, for the
    // read caches of the API processes (src/items/read-cache.ts). Statement triggers over the
    // statement's rows: one notification per collection a statement touched, and PostgreSQL
    // folds repeats within a transaction, so a 1,000-item write sends one. An empty payload (a
    // TRUNCATE) means every collection.
    version: 12,
    name: 'item change notifications (PostgreSQL)',
    sqlite: '',
    postgres: '',
    postgresSteps: createItemChangeTriggers,
  },
  {
    // Multi-reference fields (src/items/references.ts): one row per reference, in the referring
    // item's collection and environment. `seq` orders a field's references by when they were
    // made (the order query-referenced and includeReferences return them); the target index
    // finds the references to an item when it is removed.
    version: 13,
    name: 'item references',
    sqlite: itemReferencesDdl('INTEGER PRIMARY KEY'),
    postgres: itemReferencesDdl('BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY'),
  },
  {
    // The aggregation pipeline's expression helpers on PostgreSQL (src/query/pipeline/compile.ts):
    // SQL functions the planner inlines, so an operand is written once however often it is read.
    // SQLite registers its own in JS (src/store/sqlite/db.ts).
    version: 14,
    name: 'aggregation pipeline functions (PostgreSQL)',
    sqlite: '',
    postgres: '',
    postgresSteps: createPipelineFunctions,
  },
  {
    // The pipeline's remainder as a - b * trunc(a / b) in float8, the evaluator's definition
    // (migration 14 went through decimal text, which differs from doubles' arithmetic).
    version: 15,
    name: 'aggregation pipeline remainder (PostgreSQL)',
    sqlite: '',
    postgres: '',
    postgresSteps: (tx) => createPipelineMod(tx),
  },
  {
    // Deleted collections (src/collections/deletion.ts): the collection row moves here and its
    // items, indexes and own references stay where they are until the deletion is purged, so a
    // restore puts the row back. `deletion_id` groups the collections one deletion took (a
    // collection and its drafts collection). References other collections made to them are
    // parked aside, since those would otherwise show through the referring items.
    version: 16,
    name: 'deleted collections',
    sqlite: deletedCollectionsDdl('TEXT', 'INTEGER', 'TEXT', ''),
    postgres: deletedCollectionsDdl('JSONB', 'BOOLEAN', 'BIGINT', ' COLLATE "C"'),
  },
  {
    // Backups and restorations (src/backups/): a backup copies every collection's live items,
    // their references and the collection's definition into these tables in one transaction; a
    // restoration copies them back. `backups.status` and `restorations.status` are the Wix
    // enums; a PENDING row is work for the task runner.
    version: 17,
    name: 'backups',
    sqlite: backupsDdl('TEXT', 'INTEGER', 'INTEGER PRIMARY KEY', '', ' WITHOUT ROWID'),
    postgres: backupsDdl('JSONB', 'SMALLINT', 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY', ' COLLATE "C"', ''),
  },
];

/** Migration 17's tables; `clustered` makes SQLite store backup items in key order, as items are. */
function backupsDdl(json: string, small: string, seq: string, c: string, clustered: string): string {
  return `
      CREATE TABLE backups (
        id TEXT${c} PRIMARY KEY,
        type TEXT NOT NULL,
        status TEXT NOT NULL,
        requested_date TEXT${c} NOT NULL,
        started_date TEXT${c},
        finished_date TEXT${c},
        deleted_date TEXT${c},
        size_bytes BIGINT,
        only_collections ${json},
        error TEXT,
        attempts INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX backups_status ON backups (status, requested_date);
      CREATE TABLE backup_collections (
        backup_id TEXT${c} NOT NULL,
        collection_id TEXT${c} NOT NULL,
        doc ${json} NOT NULL,
        PRIMARY KEY (backup_id, collection_id)
      );
      CREATE TABLE backup_items (
        backup_id TEXT${c} NOT NULL,
        collection_id TEXT${c} NOT NULL,
        id TEXT${c} NOT NULL,
        data ${json} NOT NULL,
        created_date TEXT${c} NOT NULL,
        updated_date TEXT${c} NOT NULL,
        owner TEXT${c},
        publish_status TEXT NOT NULL,
        canon ${small} NOT NULL,
        PRIMARY KEY (backup_id, collection_id, id)
      )${clustered};
      CREATE TABLE backup_references (
        seq ${seq},
        backup_id TEXT${c} NOT NULL,
        collection_id TEXT${c} NOT NULL,
        field TEXT${c} NOT NULL,
        referring_id TEXT${c} NOT NULL,
        referenced_collection_id TEXT${c} NOT NULL,
        referenced_id TEXT${c} NOT NULL
      );
      CREATE INDEX backup_references_collection ON backup_references (backup_id, collection_id, seq);
      CREATE INDEX backup_references_target ON backup_references (backup_id, referenced_collection_id);
      CREATE TABLE restorations (
        id TEXT${c} PRIMARY KEY,
        backup_id TEXT${c} NOT NULL,
        status TEXT NOT NULL,
        collections ${json} NOT NULL,
        requested_date TEXT${c} NOT NULL,
        started_date TEXT${c},
        finished_date TEXT${c},
        error TEXT,
        attempts INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX restorations_status ON restorations (status, requested_date)`;
}

function deletedCollectionsDdl(doc: string, bool: string, bigint: string, c: string): string {
  return `
      CREATE TABLE deleted_collections (
        id TEXT${c} PRIMARY KEY,
        deletion_id TEXT${c} NOT NULL,
        doc ${doc} NOT NULL,
        revision INTEGER NOT NULL,
        sandbox_enabled ${bool} NOT NULL,
        created_date TEXT${c} NOT NULL,
        updated_date TEXT${c} NOT NULL,
        deleted_date TEXT${c} NOT NULL
      );
      CREATE INDEX deleted_collections_deletion ON deleted_collections (deletion_id);
      CREATE INDEX deleted_collections_date ON deleted_collections (deleted_date);
      CREATE TABLE deleted_references (
        deletion_id TEXT${c} NOT NULL,
        seq ${bigint} NOT NULL,
        collection_id TEXT${c} NOT NULL,
        env TEXT${c} NOT NULL,
        field TEXT${c} NOT NULL,
        referring_id TEXT${c} NOT NULL,
        referenced_collection_id TEXT${c} NOT NULL,
        referenced_id TEXT${c} NOT NULL
      );
      CREATE INDEX deleted_references_deletion ON deleted_references (deletion_id, seq)`;
}

/**
 * Migration 14. What each means is the evaluator's (src/query/pipeline/evaluate.ts):
 * - cairn_num / cairn_str: a JSON number as float8, a JSON string as text, else NULL;
 * - cairn_mod: the remainder with the dividend's sign, a - b * trunc(a / b) in float8 (the
 *   evaluator's steps), NULL for a zero divisor;
 * - cairn_substr: code points from a zero-based start, NULL unless both are whole and >= 0;
 * - cairn_stringify: text as it is, numbers as JavaScript writes them (exponent form below 1e-6
 *   and from 1e21), booleans, a date's ISO text; NULL for anything else.
 */
/** Migrations 14 and 15: cairn_mod, the remainder with the dividend's sign (NULL for a zero divisor). */
async function createPipelineMod(tx: Executor): Promise<void> {
  await tx.run(
    raw(`CREATE OR REPLACE FUNCTION cairn_mod(a double precision, b double precision) RETURNS double precision LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ SELECT CASE WHEN b <> 0 THEN a - b * trunc(a / b) END $f$`),
  );
}

async function createPipelineFunctions(tx: Executor): Promise<void> {
  const fn = (signature: string, returns: string, body: string) =>
    tx.run(raw(`CREATE OR REPLACE FUNCTION ${signature} RETURNS ${returns} LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ ${body} $f$`));
  await fn('cairn_num(v jsonb)', 'double precision', `SELECT CASE WHEN jsonb_typeof(v) = 'number' THEN (v)::float8 END`);
  await fn('cairn_str(v jsonb)', 'text', `SELECT CASE WHEN jsonb_typeof(v) = 'string' THEN v #>> '{}' END`);
  await createPipelineMod(tx);
  await fn(
    'cairn_substr(s text, start double precision, len double precision)',
    'text',
    `SELECT CASE WHEN start >= 0 AND len >= 0 AND start = trunc(start) AND len = trunc(len) THEN substr(s, (LEAST(start, 1e9) + 1)::int, LEAST(len, 1e9)::int) END`,
  );
  await fn(
    'cairn_stringify(v jsonb)',
    'text',
    `SELECT CASE jsonb_typeof(v)
       WHEN 'string' THEN v #>> '{}'
       WHEN 'boolean' THEN v::text
       WHEN 'number' THEN (CASE
         WHEN (v)::numeric = 0 THEN '0'
         WHEN abs((v)::numeric) >= 1e21 OR abs((v)::numeric) < 1e-6 THEN regexp_replace(((v)::float8)::text, 'e([+-])0*([0-9])', 'e\\1\\2')
         ELSE ((v)::numeric)::text END)
       WHEN 'object' THEN (CASE WHEN jsonb_typeof(v -> '$date') = 'string' THEN v ->> '$date' END)
     END`,
  );
}

/** Migration 13's table; `seq` is the rowid on SQLite, an identity on PostgreSQL. */
function itemReferencesDdl(seq: string): string {
  return `
      CREATE TABLE item_references (
        seq ${seq},
        collection_id TEXT NOT NULL,
        env TEXT NOT NULL,
        field TEXT NOT NULL,
        referring_id TEXT NOT NULL,
        referenced_collection_id TEXT NOT NULL,
        referenced_id TEXT NOT NULL
      );
      CREATE UNIQUE INDEX item_references_pair ON item_references (collection_id, env, field, referring_id, referenced_id);
      CREATE INDEX item_references_order ON item_references (collection_id, env, field, referring_id, seq);
      CREATE INDEX item_references_target ON item_references (referenced_collection_id, env, referenced_id)`;
}

/** The channel migration 12's triggers notify; the payload is a collection id, or '' for all. */
export const ITEM_CHANGES_CHANNEL = 'cairn_item_changes';

async function createItemChangeTriggers(tx: Executor): Promise<void> {
  // One statement each: the function body holds semicolons, which splitStatements would cut.
  await tx.run(
    raw(`CREATE FUNCTION cairn_items_changed() RETURNS trigger LANGUAGE plpgsql AS $body$
      DECLARE c text;
      BEGIN
        IF TG_OP = 'TRUNCATE' THEN
          PERFORM pg_notify('${ITEM_CHANGES_CHANNEL}', '');
        ELSE
          FOR c IN SELECT DISTINCT collection_id FROM changed_rows LOOP
            PERFORM pg_notify('${ITEM_CHANGES_CHANNEL}', c);
          END LOOP;
        END IF;
        RETURN NULL;
      END
    $body$`),
  );
  await tx.run(raw('CREATE TRIGGER items_inserted AFTER INSERT ON items REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION cairn_items_changed()'));
  await tx.run(raw('CREATE TRIGGER items_updated AFTER UPDATE ON items REFERENCING NEW TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION cairn_items_changed()'));
  await tx.run(raw('CREATE TRIGGER items_deleted AFTER DELETE ON items REFERENCING OLD TABLE AS changed_rows FOR EACH STATEMENT EXECUTE FUNCTION cairn_items_changed()'));
  await tx.run(raw('CREATE TRIGGER items_truncated AFTER TRUNCATE ON items FOR EACH STATEMENT EXECUTE FUNCTION cairn_items_changed()'));
}

const LOCK_KEY = 0x63616972; // "cair": one advisory lock for Cairn's migrations

export async function migrate(db: Db): Promise<number> {
  await db.transaction(async (tx) => {
    // Two processes creating the table at once would clash on PostgreSQL's catalog; the lock
    // makes the second one wait and then find the table there.
    if (tx.dialect === 'postgres') await tx.run(sql`SELECT pg_advisory_xact_lock(${LOCK_KEY})`);
    await tx.run(raw('CREATE TABLE IF NOT EXISTS cairn_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_date TEXT NOT NULL)'));
  });
  let applied = 0;
  for (const m of MIGRATIONS) {
    const done = await db.transaction(async (tx) => {
      if (tx.dialect === 'postgres') await tx.run(sql`SELECT pg_advisory_xact_lock(${LOCK_KEY})`);
      const row = await tx.get(sql`SELECT version FROM cairn_migrations WHERE version = ${m.version}`);
      if (row) return false;
      await tx.run(sql`INSERT INTO cairn_migrations (version, name, applied_date) VALUES (${m.version}, ${m.name}, ${new Date().toISOString()})`);
      for (const statement of splitStatements(tx.dialect === 'sqlite' ? m.sqlite : m.postgres)) {
        await tx.run(raw(statement));
      }
      if (tx.dialect === 'sqlite' && m.sqliteSteps) await m.sqliteSteps(tx);
      if (tx.dialect === 'postgres' && m.postgresSteps) await m.postgresSteps(tx);
      return true;
    });
    if (done) applied++;
  }
  return applied;
}

/** Migration scripts hold no semicolons inside literals, so splitting on `;` is exact. */
function splitStatements(script: string): string[] {
  return script
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}
