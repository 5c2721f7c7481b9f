/**
 * API keys: created, listed and revoked by an admin (routes/keys.ts, the CLI), each with scopes
 * and an optional site member it acts as. The secret is shown once, at creation; only its
 * SHA-256 is stored. Keys carry 256 random bits, so a fast hash loses nothing to guessing and
 * keeps authentication to one indexed lookup, which a short cache removes from most requests.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock.js';
import { WixError } from '../errors.js';
import { timeOrderedId } from '../ids.js';
import type { Db } from '../store/db.js';
import { sql } from '../store/sql.js';
import { asArray, asObject, requireString } from '../validate.js';
import { hasScope, type Identity } from './identity.js';
import { ALL_SCOPES, isScope, type Scope } from './scopes.js';

export interface ApiKeyInfo {
  id: string;
  name: string;
  /** The first characters of the key, to tell keys apart; never enough to use it. */
  prefix: string;
  scopes: Scope[];
  memberId?: string;
  admin: boolean;
  createdDate: string;
  revokedDate?: string;
}

interface KeyRow {
  id: string;
  name: string;
  key_hash: string;
  prefix: string;
  scopes: string;
  member_id: string | null;
  admin: number;
  created_date: string;
  revoked_date: string | null;
}

export const KEY_PREFIX = 'cairn_';

export function hashKey(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

function newSecret(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64url');
}

function info(r: KeyRow): ApiKeyInfo {
  const out: ApiKeyInfo = { id: r.id, name: r.name, prefix: r.prefix, scopes: JSON.parse(r.scopes) as Scope[], admin: r.admin === 1, createdDate: r.created_date };
  if (r.member_id !== null) out.memberId = r.member_id;
  if (r.revoked_date !== null) out.revokedDate = r.revoked_date;
  return out;
}

function identityOf(r: KeyRow): Identity {
  if (r.admin === 1) return { kind: 'admin', keyId: r.id };
  return { kind: 'key', keyId: r.id, scopes: new Set(JSON.parse(r.scopes) as Scope[]), memberId: r.member_id ?? undefined };
}

export interface KeyServiceOptions {
  /**
   * How long a looked-up key is trusted without asking the store again. A key revoked by another
   * process stops working within this time; in the revoking process, at once.
   */
  cacheMs?: number;
}

/** Cache bound: enough for every real key; guessing random keys only churns it. */
const CACHE_LIMIT = 10_000;
/** Unknown keys are remembered briefly, so a flood of guesses does not become a flood of queries. */
const NEGATIVE_CACHE_MS = 1000;

export class KeyService {
  private readonly cache = new Map<string, { identity: Identity | null; until: number }>();
  private readonly cacheMs: number;

  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    options: KeyServiceOptions = {},
  ) {
    this.cacheMs = options.cacheMs ?? 5000;
  }

  /** Validates a create request (`{name, scopes[], memberId?}`) and creates the key; `granter` may only hand on scopes it holds. */
  async create(body: unknown, granter: Identity): Promise<{ key: ApiKeyInfo; secret: string }> {
    const b = asObject(body ?? {}, 'request body', 'WDE0075');
    const name = requireString(b.name, 'name', 'WDE0075', 200);
    const list = asArray(b.scopes, 'scopes', 'WDE0075');
    if (list.length === 0) throw new WixError('WDE0075', `scopes must name at least one of ${ALL_SCOPES.join(', ')}`);
    const scopes: Scope[] = [];
    for (const s of list) {
      if (!isScope(s)) throw new WixError('WDE0075', `Unknown scope ${JSON.stringify(s)}: expected one of ${ALL_SCOPES.join(', ')}`);
      if (!scopes.includes(s)) scopes.push(s);
    }
    for (const s of scopes) {
      if (!hasScope(granter, s)) throw new WixError('WDE0027', `Permission denied: a key can only grant scopes its creator holds, and the caller does not hold ${s}`);
    }
    const memberId = b.memberId === undefined || b.memberId === null ? undefined : requireString(b.memberId, 'memberId', 'WDE0075', 256);
    return this.insert(name, scopes, memberId, false);
  }

  private async insert(name: string, scopes: readonly Scope[], memberId: string | undefined, admin: boolean): Promise<{ key: ApiKeyInfo; secret: string }> {
    const secret = newSecret();
    const row: KeyRow = {
      id: timeOrderedId(),
      name,
      key_hash: hashKey(secret),
      prefix: secret.slice(0, KEY_PREFIX.length + 6),
      scopes: JSON.stringify(scopes),
      member_id: memberId ?? null,
      admin: admin ? 1 : 0,
      created_date: this.clock.now().toISOString(),
      revoked_date: null,
    };
    await this.db.run(
      sql`INSERT INTO api_keys (id, name, key_hash, prefix, scopes, member_id, admin, created_date)
          VALUES (${row.id}, ${row.name}, ${row.key_hash}, ${row.prefix}, ${row.scopes}, ${row.member_id}, ${row.admin}, ${row.created_date})`,
    );
    this.cache.clear();
    return { key: info(row), secret };
  }

  async list(): Promise<ApiKeyInfo[]> {
    const rows = await this.db.all<KeyRow>(sql`SELECT * FROM api_keys ORDER BY id`);
    return rows.map(info);
  }

  async get(id: string): Promise<ApiKeyInfo> {
    const row = await this.db.get<KeyRow>(sql`SELECT * FROM api_keys WHERE id = ${id}`);
    if (!row) throw new WixError('WDE0073', `API key [${id}] does not exist`, { keyId: id });
    return info(row);
  }

  /** Revokes a key: it stops working at once here, and within the cache time in other processes. */
  async revoke(id: string): Promise<ApiKeyInfo> {
    const now = this.clock.now().toISOString();
    const changed = await this.db.run(sql`UPDATE api_keys SET revoked_date = ${now} WHERE id = ${id} AND revoked_date IS NULL`);
    this.cache.clear();
    const key = await this.get(id);
    if (changed === 0 && key.revokedDate === undefined) throw new Error('revoke changed nothing');
    return key;
  }

  /**
   * The admin key generated on first start when CAIRN_ADMIN_KEY is unset: made once, its secret
   * returned (for the caller to print) only then. Undefined when an admin key already exists.
   */
  async ensureAdminKey(): Promise<string | undefined> {
    return this.db.transaction(async (tx) => {
      const existing = await tx.get(sql`SELECT id FROM api_keys WHERE admin = 1 AND revoked_date IS NULL`);
      if (existing) return undefined;
      const secret = newSecret();
      const now = this.clock.now().toISOString();
      await tx.run(
        sql`INSERT INTO api_keys (id, name, key_hash, prefix, scopes, member_id, admin, created_date)
            VALUES (${timeOrderedId()}, ${'admin (generated on first start)'}, ${hashKey(secret)}, ${secret.slice(0, KEY_PREFIX.length + 6)}, ${JSON.stringify(ALL_SCOPES)}, ${null}, ${1}, ${now})`,
      );
      return secret;
    });
  }

  /** The identity a key stands for, or undefined for an unknown or revoked key. */
  async authenticate(secret: string): Promise<Identity | undefined> {
    const hash = hashKey(secret);
    const now = Date.now();
    const cached = this.cache.get(hash);
    if (cached && cached.until > now) return cached.identity ?? undefined;
    const row = await this.db.get<KeyRow>(sql`SELECT * FROM api_keys WHERE key_hash = ${hash}`);
    // The lookup found the row by its hash; comparing the hashes again in constant time keeps
    // the decision itself free of early exits, whatever the store's comparison does.
    const valid = row !== undefined && row.revoked_date === null && timingSafeEqual(Buffer.from(row.key_hash, 'hex'), Buffer.from(hash, 'hex'));
    const identity = valid ? identityOf(row) : null;
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(hash, { identity, until: now + (identity ? this.cacheMs : Math.min(this.cacheMs, NEGATIVE_CACHE_MS)) });
    return identity ?? undefined;
  }
}

