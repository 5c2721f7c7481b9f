/**
 * Bad input, in bulk: hundreds of invalid requests against every route family (items, bulk,
 * patch, collections, indexes, tasks, async jobs), on each store. Every one must answer a 4xx in
 * the Wix error envelope ({message, details: {applicationError: {code: 'WDEnnnn', description,
 * data?}}}) with no stack trace, write nothing, and leave the server serving.
 *
 * The cases are generated from tables: a valid "base" request per route, and for each of its
 * fields a list of wrong values (wrong types, missing, out of range, bad paths, `$` keys, NUL,
 * SQL metacharacters, oversize, deep nesting). The bases write to existing items, so a bad field
 * the server silently ignored would answer 200 and change the store; a control test at the end
 * sends every base, unchanged, to a copy of the collection and expects 200, which shows that each
 * case fails for its bad field alone. After the sweep the whole store (items, collections,
 * indexes, tasks) must be exactly as it was, and /healthz must answer 200.
 */
import { test, describe, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { STORE_NAMES } from './helpers/stores.js';
import { startServer, type TestServer, TEST_ADMIN_KEY } from './helpers/server.js';
import { sql } from '../src/store/sql.js';

const DATA = '/wix-data/v2';
const ALT = '/_api/cloud-data/v2';
const TASKS = '/cms/v1/tasks';
const TASKS_ALT = '/_api/autocms/v1/tasks';
const C = 'things';
const SCRATCH = 'scratch';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

interface Case {
  name: string;
  method: Method;
  /** Path and query string, already encoded. */
  path: string;
  /** A string or bytes are sent as they are (malformed JSON); anything else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  /** The WDE code, where the case pins one. */
  code?: string;
  status?: number;
}

interface Reply {
  status: number;
  text: string;
  body: any;
  contentType: string | null;
}

async function send(url: string, c: Pick<Case, 'method' | 'path' | 'body' | 'headers'>): Promise<Reply> {
  const payload = c.body === undefined ? undefined : typeof c.body === 'string' || c.body instanceof Uint8Array ? c.body : JSON.stringify(c.body);
  const res = await fetch(url + c.path, {
    method: c.method,
    headers: { 'content-type': 'application/json', authorization: TEST_ADMIN_KEY, ...c.headers },
    ...(payload === undefined ? {} : { body: payload as NonNullable<RequestInit['body']> }),
  });
  const text = await res.text();
  let body: any;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, text, body, contentType: res.headers.get('content-type') };
}

/** Every key named `stack` anywhere in a JSON value. */
function hasStackKey(v: unknown): boolean {
  if (Array.isArray(v)) return v.some(hasStackKey);
  if (typeof v === 'object' && v !== null) return Object.entries(v).some(([k, x]) => k === 'stack' || hasStackKey(x));
  return false;
}

/** What is wrong with a reply to a bad request, or undefined when it is a proper rejection. */
function problemWith(c: Case, r: Reply): string | undefined {
  const got = `${r.status} ${r.text.slice(0, 300)}`;
  if (r.status < 400 || r.status > 499) return `expected a 4xx, got ${got}`;
  if (c.status !== undefined && r.status !== c.status) return `expected status ${c.status}, got ${got}`;
  if (!r.contentType?.startsWith('application/json')) return `expected JSON, got content-type ${r.contentType}: ${got}`;
  const b = r.body;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) return `body is not an object: ${got}`;
  if (typeof b.message !== 'string' || b.message.length === 0) return `no message: ${got}`;
  const e = b.details?.applicationError;
  if (typeof e !== 'object' || e === null) return `no details.applicationError: ${got}`;
  if (typeof e.code !== 'string' || !/^WDE\d{4}$/.test(e.code)) return `code is not a WDE code: ${got}`;
  if (typeof e.description !== 'string' || e.description.length === 0) return `no description: ${got}`;
  if (e.data !== undefined && (typeof e.data !== 'object' || e.data === null || Array.isArray(e.data))) return `data is not an object: ${got}`;
  if (Object.keys(b).some((k) => k !== 'message' && k !== 'details')) return `unexpected top-level keys: ${got}`;
  if (hasStackKey(b)) return `a stack in the body: ${got}`;
  if (/\bat .+:\d+:\d+\)?$/m.test(r.text) || r.text.includes('node_modules') || /\.ts:\d+/.test(r.text)) return `a stack trace in the body: ${got}`;
  if (c.code !== undefined && e.code !== c.code) return `expected ${c.code}, got ${got}`;
  return undefined;
}

/**
 * Sends each case in turn; one failure message per case that was not a proper rejection, or that
 * changed the store (its fingerprint, read before and after each request).
 */
async function sweep(url: string, cases: readonly Case[], fingerprint: () => Promise<string>): Promise<string[]> {
  const failures: string[] = [];
  let before = await fingerprint();
  for (const c of cases) {
    const where = `${c.name} [${c.method} ${c.path.slice(0, 120)}]`;
    let r: Reply;
    try {
      r = await send(url, c);
    } catch (e) {
      failures.push(`${where}: request failed: ${String(e)}`);
      continue;
    }
    const p = problemWith(c, r);
    if (p) failures.push(`${where}: ${p}`);
    const after = await fingerprint();
    if (after !== before) failures.push(`${where}: answered ${r.status} but changed the store: ${before} -> ${after}`);
    before = after;
  }
  return failures;
}

function assertSwept(failures: string[], cases: readonly Case[]): void {
  assert.ok(cases.length > 0);
  assert.deepEqual(failures, [], `${failures.length} of ${cases.length} bad requests were not proper 4xx rejections:\n${failures.join('\n')}`);
}

// ---------------------------------------------------------------------------------------------
// Building blocks

const MISSING = Symbol('missing');
type Bad = unknown;

/** A copy of `base` with the value at `path` replaced (or removed, for MISSING). */
function mutate(base: unknown, path: readonly (string | number)[], value: Bad): unknown {
  const copy = structuredClone(base) as any;
  let node = copy;
  for (const p of path.slice(0, -1)) node = node[p] ??= {};
  const last = path[path.length - 1] as string | number;
  if (value === MISSING) {
    if (Array.isArray(node)) node.splice(last as number, 1);
    else delete node[last];
  } else node[last] = value;
  return copy;
}

function label(v: Bad): string {
  if (v === MISSING) return 'missing';
  if (typeof v === 'string') return v.length > 40 ? `string(${v.length})` : JSON.stringify(v);
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/** base64url JSON, as the `.r` query parameter carries it. */
const b64 = (v: unknown): string => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

/** {a: {a: ... {a: leaf}}}, `depth` levels. */
function nest(depth: number, leaf: unknown = 1): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = { a: v };
  return v;
}

function nestArray(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** Paths no store may see: SQL metacharacters, `$`, NUL, empty segments, too many or too long segments. */
const BAD_PATHS: string[] = [
  "a'b",
  'a;DROP TABLE items',
  'a"b',
  'a\\b',
  "x') OR 1=1 --",
  'a b',
  '$a',
  'a.$b',
  'a\u0000b',
  '',
  '.',
  'a..b',
  'a.',
  '.a',
  Array.from({ length: 17 }, (_, i) => `s${i}`).join('.'),
  'x'.repeat(129),
];

/** Collection ids that are invalid (WDE0001) and ids of collections that do not exist (WDE0025). */
const BAD_COLLECTION_IDS: [Bad, string][] = [
  [MISSING, 'WDE0001'],
  ['', 'WDE0001'],
  ['x'.repeat(257), 'WDE0001'],
  ["a'b", 'WDE0001'],
  ['a;DROP TABLE items', 'WDE0001'],
  ['a"b', 'WDE0001'],
  ['a\\b', 'WDE0001'],
  ['a b', 'WDE0001'],
  ['a\u0000b', 'WDE0080'],
  [123, 'WDE0001'],
  [true, 'WDE0001'],
  [[], 'WDE0001'],
  [[C], 'WDE0001'],
  [{}, 'WDE0001'],
  [{ id: C }, 'WDE0001'],
  [null, 'WDE0001'],
  ['nope', 'WDE0025'],
  ['a--', 'WDE0025'],
];

const BAD_ENVIRONMENTS: [Bad, string][] = [
  ['live', 'WDE0075'],
  ['PROD', 'WDE0075'],
  ['', 'WDE0075'],
  [' LIVE', 'WDE0075'],
  [123, 'WDE0075'],
  [true, 'WDE0075'],
  [['LIVE'], 'WDE0075'],
  [{}, 'WDE0075'],
  // The collection has no sandbox environment.
  ['SANDBOX', 'WDE0119'],
];

const NOT_A_BOOLEAN: Bad[] = ['yes', 'TRUE', 1, 0, [], {}, [true]];
const NOT_AN_OBJECT: Bad[] = ['x', 123, true, [], [{}]];
const NOT_AN_ARRAY: Bad[] = ['x', 123, true, {}, { 0: 'a' }];

/** Item data no store may take, with the code each gets. */
function badItemData(): [string, Bad, string][] {
  const longStr = 'x'.repeat(600 * 1024);
  return [
    ['$ key at the top', { $set: { title: 'x' } }, 'WDE0134'],
    ['$ key nested', { nested: { $inc: 1 } }, 'WDE0134'],
    ['$ key in an array element', { list: [{ ok: 1 }, { $where: 'x' }] }, 'WDE0134'],
    ['$date that is not a date', { when: { $date: 'not a date' } }, 'WDE0075'],
    ['$date that is a number', { when: { $date: 12345 } }, 'WDE0075'],
    ['NUL in a key', { 'a\u0000b': 1 }, 'WDE0080'],
    ['NUL in a nested key', { nested: { '\u0000': 1 } }, 'WDE0080'],
    ['NUL in a value', { title: 'x\u0000y' }, 'WDE0080'],
    ['NUL in an array element', { tags: ['a', '\u0000'] }, 'WDE0080'],
    ['nested 2000 levels (objects)', { deep: nest(2000) }, 'WDE0075'],
    ['nested 2000 levels (arrays)', { deep: nestArray(2000) }, 'WDE0075'],
    ['one field over 512 KB', { blob: longStr }, 'WDE0009'],
    ['many fields over 512 KB together', Object.fromEntries(Array.from({ length: 600 }, (_, i) => [`f${i}`, 'y'.repeat(1000)])), 'WDE0009'],
    ['over 512 KB of UTF-8 in fewer UTF-16 units', { blob: '\u00e9'.repeat(270 * 1024) }, 'WDE0009'],
    ['_id that is a number', { _id: 5 }, 'WDE0002'],
    ['_id that is too long', { _id: 'x'.repeat(256) }, 'WDE0002'],
  ];
}

// ---------------------------------------------------------------------------------------------
// Seed and snapshot

const N = 30;
const itemId = (i: number) => `i${String(i).padStart(2, '0')}`;
function seedItem(i: number) {
  return {
    _id: itemId(i),
    title: `Item ${i}`,
    n: i,
    dup: i % 3,
    tags: ['t', `t${i % 4}`],
    nested: { a: { b: i } },
    big: i === N - 1 ? 1e308 : i,
    arr: [1, 2, 3],
    when: { $date: new Date(Date.UTC(2024, 0, 1 + i)).toISOString() },
  };
}

async function seed(url: string): Promise<void> {
  const ok = async (method: Method, path: string, body: unknown) => {
    const r = await send(url, { method, path, body });
    assert.equal(r.status, 200, `${method} ${path}: ${r.text}`);
    return r.body;
  };
  for (const id of [C, SCRATCH]) {
    await ok('POST', `${DATA}/collections`, {
      collection: { id, fields: [{ key: 'title', type: 'TEXT' }, { key: 'n', type: 'NUMBER' }], plugins: [{ type: 'SINGLE_ITEM' }] },
    });
    await ok('POST', `${DATA}/bulk/items/insert`, {
      dataCollectionId: id,
      dataItems: Array.from({ length: N }, (_, i) => ({ id: itemId(i), data: seedItem(i) })),
    });
    await ok('POST', `${DATA}/indexes`, { dataCollectionId: id, index: { name: 'by_n', fields: [{ path: 'n', order: 'ASC' }] } });
  }
  // A collection with the Publish plugin and a unique index, and one only ever "deleted" with bad input.
  await ok('POST', `${DATA}/collections`, { collection: { id: 'pub', plugins: [{ type: 'PUBLISH', publishOptions: { defaultStatus: 'PUBLISHED' } }] } });
  await ok('POST', `${DATA}/bulk/items/insert`, {
    dataCollectionId: 'pub',
    dataItems: Array.from({ length: 5 }, (_, i) => ({ id: `p${i}`, data: { slug: `s${i}`, n: i } })),
  });
  await ok('POST', `${DATA}/indexes`, { dataCollectionId: 'pub', index: { name: 'slug', unique: true, fields: [{ path: 'slug' }] } });
  await ok('POST', `${DATA}/collections`, { collection: { id: 'victim' } });
  await ok('POST', `${DATA}/items`, { dataCollectionId: 'victim', dataItem: { id: 'v1', data: { a: 1 } } });
}

/** The whole store, row by row: what no bad request may change. */
async function storeSnapshot(s: TestServer) {
  const db = s.store.db;
  return {
    items: await db.all(sql`SELECT * FROM items ORDER BY collection_id, env, id`),
    collections: await db.all(sql`SELECT * FROM collections ORDER BY id`),
    indexes: await db.all(sql`SELECT * FROM item_indexes ORDER BY collection_id, name`),
    tasks: await db.all(sql`SELECT * FROM tasks ORDER BY id`),
    taskFailures: await db.all(sql`SELECT * FROM task_failures ORDER BY task_id, seq`),
    schedules: await db.all(sql`SELECT * FROM item_schedules ORDER BY collection_id, env, item_id`),
  };
}

/** Rows added, removed or changed between two snapshots of the items table, for the failure message. */
function rowChanges(before: Record<string, unknown>[], after: Record<string, unknown>[]): string[] {
  const key = (r: Record<string, unknown>) => `${String(r.collection_id)}/${String(r.env)}/${String(r.id)}`;
  const show = (r: Record<string, unknown>) => JSON.stringify(r).slice(0, 300);
  const old = new Map(before.map((r) => [key(r), r]));
  const now = new Map(after.map((r) => [key(r), r]));
  const out: string[] = [];
  for (const [k, r] of now) {
    const o = old.get(k);
    if (!o) out.push(`added ${show(r)}`);
    else if (JSON.stringify(o) !== JSON.stringify(r)) out.push(`changed ${show(o)} -> ${show(r)}`);
  }
  for (const [k, r] of old) if (!now.has(k)) out.push(`removed ${show(r)}`);
  return out;
}

/** The collection through the API: count and every item, in id order. */
async function apiSnapshot(url: string, collectionId: string) {
  const count = await send(url, { method: 'POST', path: `${DATA}/items/count`, body: { dataCollectionId: collectionId } });
  assert.equal(count.status, 200, count.text);
  const q = await send(url, {
    method: 'POST',
    path: `${DATA}/items/query`,
    body: { dataCollectionId: collectionId, query: { sort: [{ fieldName: '_id' }], paging: { limit: 1000 } } },
  });
  assert.equal(q.status, 200, q.text);
  return { total: count.body.totalCount as number, items: q.body.dataItems as unknown[] };
}

// ---------------------------------------------------------------------------------------------
// Valid base requests, and the wrong values for each of their fields

interface Mutation {
  path: (string | number)[];
  value: Bad;
  code?: string;
  /** What the bad value is, when its JSON does not say it well. */
  what?: string;
}

/** A valid request. `params` requests (GET, DELETE) carry their parameters in the query string. */
interface Base {
  name: string;
  method: Method;
  path: string;
  body?: Record<string, unknown>;
  params?: Record<string, unknown>;
  mutations: Mutation[];
}

const bad = (path: (string | number)[], values: readonly Bad[], code?: string): Mutation[] =>
  values.map((value) => (code === undefined ? { path, value } : { path, value, code }));
const badc = (path: (string | number)[], pairs: readonly [Bad, string][]): Mutation[] => pairs.map(([value, code]) => ({ path, value, code }));

/** The code a bad field path gets (as a filter key, `$x` is an operator instead). */
function pathCode(p: string, asFilterKey = false): string {
  const segments = p.split('.');
  // NUL is refused anywhere in a request, before any field is read.
  if (p.includes('\u0000')) return 'WDE0080';
  if (asFilterKey && p.startsWith('$')) return 'WDE0061';
  if (segments.length > 16) return 'WDE0147';
  // The first segment that fails decides.
  for (const s of segments) {
    if (s.startsWith('$')) return 'WDE0134';
    if (!/^[\p{L}\p{N}_-]+$/u.test(s) || s.length > 128) return 'WDE0147';
  }
  return 'none';
}

function badFilters(): [string, Bad, string][] {
  const out: [string, Bad, string][] = [
    ['a string', 'n > 1', 'WDE0016'],
    ['a number', 1, 'WDE0016'],
    ['an array', [{ n: 1 }], 'WDE0016'],
    ['a boolean', true, 'WDE0016'],
    ['$where', { $where: 'this.n > 1' }, 'WDE0061'],
    ['$expr', { $expr: { $gt: ['$n', 1] } }, 'WDE0061'],
    ['$nor', { $nor: [{ n: 1 }] }, 'WDE0061'],
    ['$text', { $text: { $search: 'x' } }, 'WDE0061'],
    ['$regex at the top', { $regex: 'x' }, 'WDE0070'],
    ['$regex on a field', { title: { $regex: '^Item' } }, 'WDE0070'],
    ['$regex inside $or', { $or: [{ n: 1 }, { title: { $regex: '.*' } }] }, 'WDE0070'],
    ['$options', { title: { $options: 'i' } }, 'WDE0061'],
    ['$like', { title: { $like: '%x%' } }, 'WDE0061'],
    ['$elemMatch', { tags: { $elemMatch: { $eq: 't' } } }, 'WDE0061'],
    ['$size', { tags: { $size: 2 } }, 'WDE0061'],
    ['$all', { tags: { $all: ['t'] } }, 'WDE0061'],
    ['$type', { n: { $type: 'number' } }, 'WDE0061'],
    ['$mod', { n: { $mod: [2, 0] } }, 'WDE0061'],
    ['an operator with a different case', { n: { $GT: 1 } }, 'WDE0061'],
    ['operators mixed with field names', { n: { $gt: 1, x: 2 } }, 'WDE0061'],
    ['$in not an array', { n: { $in: 1 } }, 'WDE0057'],
    ['$in with an object', { n: { $in: [{ a: 1 }] } }, 'WDE0060'],
    ['$in with an array', { n: { $in: [[1]] } }, 'WDE0060'],
    ['$in with null', { n: { $in: [null] } }, 'WDE0060'],
    ['$nin a string', { n: { $nin: 'abc' } }, 'WDE0057'],
    ['$hasSome an object', { tags: { $hasSome: {} } }, 'WDE0057'],
    ['$hasAll with objects', { tags: { $hasAll: [{}] } }, 'WDE0060'],
    ['$in with 1001 values', { n: { $in: Array.from({ length: 1001 }, (_, i) => i) } }, 'WDE0080'],
    ['$gt an object', { n: { $gt: {} } }, 'WDE0058'],
    ['$gt null', { n: { $gt: null } }, 'WDE0058'],
    ['$gte a boolean', { n: { $gte: true } }, 'WDE0058'],
    ['$lt an array', { n: { $lt: [1] } }, 'WDE0058'],
    ['$lte a bad date', { when: { $lte: { $date: 'not a date' } } }, 'WDE0058'],
    ['$eq a bad date', { when: { $eq: { $date: 'yesterday-ish' } } }, 'WDE0058'],
    ['$eq an object with a $ key', { nested: { $eq: { $x: 1 } } }, 'WDE0134'],
    ['$ne an object with a $ key', { nested: { $ne: { a: { $x: 1 } } } }, 'WDE0134'],
    ['$startsWith a number', { title: { $startsWith: 1 } }, 'WDE0059'],
    ['$endsWith an array', { title: { $endsWith: ['x'] } }, 'WDE0059'],
    ['$contains null', { title: { $contains: null } }, 'WDE0059'],
    ['$matches a string', { title: { $matches: 'a' } }, 'WDE0059'],
    ['$matches without spec', { title: { $matches: { ignoreCase: true } } }, 'WDE0059'],
    ['$matches with an empty spec', { title: { $matches: { spec: [] } } }, 'WDE0059'],
    ['$matches with an unknown part type', { title: { $matches: { spec: [{ type: 'regex', value: '.*' }] } } }, 'WDE0059'],
    ['$matches with an empty anyOf', { title: { $matches: { spec: [{ type: 'anyOf', value: '' }] } } }, 'WDE0059'],
    ['$matches with a number value', { title: { $matches: { spec: [{ type: 'literal', value: 1 }] } } }, 'WDE0059'],
    ['$matches with ignoreCase a string', { title: { $matches: { ignoreCase: 'yes', spec: [{ type: 'literal', value: 'a' }] } } }, 'WDE0059'],
    ['$matches with an unknown property', { title: { $matches: { spec: [{ type: 'literal', value: 'a' }], flags: 'i' } } }, 'WDE0059'],
    ['$matches with 101 parts', { title: { $matches: { spec: Array.from({ length: 101 }, () => ({ type: 'literal', value: 'a' })) } } }, 'WDE0059'],
    ['$matches with NUL', { title: { $matches: { spec: [{ type: 'literal', value: 'a\u0000' }] } } }, 'WDE0080'],
    ['$urlized an empty string', { title: { $urlized: '' } }, 'WDE0059'],
    ['$urlized a number', { title: { $urlized: 5 } }, 'WDE0059'],
    ['$urlized an empty array', { title: { $urlized: [] } }, 'WDE0059'],
    ['$urlized an array with a number', { title: { $urlized: ['a', 1] } }, 'WDE0059'],
    ['$exists a string', { n: { $exists: 'yes' } }, 'WDE0058'],
    ['$isEmpty a number', { tags: { $isEmpty: 1 } }, 'WDE0058'],
    ['$isNotEmpty null', { tags: { $isNotEmpty: null } }, 'WDE0058'],
    ['$and an object', { $and: { n: 1 } }, 'WDE0057'],
    ['$or a string', { $or: 'n' }, 'WDE0057'],
    ['$or with a number', { $or: [1] }, 'WDE0056'],
    ['$and with an array', { $and: [[{ n: 1 }]] }, 'WDE0056'],
    ['$not with two filters', { $not: [{ n: 1 }, { n: 2 }] }, 'WDE0057'],
    ['$not a string', { $not: 'n' }, 'WDE0056'],
    ['$and nested 2000 levels', nestKey('$and', 2000), 'WDE0080'],
    ['$not nested 40 levels', nestNot(40), 'WDE0080'],
    ['$or nested 33 levels', nestKey('$or', 33), 'WDE0080'],
    ['600 conditions', { $and: Array.from({ length: 600 }, (_, i) => ({ n: i })) }, 'WDE0080'],
    ['a bad field inside $and', { $and: [{ n: 1 }, { "a'b": 1 }] }, 'WDE0147'],
    ['a bad field inside $not', { $not: { 'a;DROP TABLE items': 1 } }, 'WDE0147'],
    ['NUL in a value', { title: 'Item\u0000' }, 'WDE0080'],
    ['NUL in a $in value', { title: { $in: ['a', 'b\u0000'] } }, 'WDE0080'],
  ];
  for (const p of BAD_PATHS) out.push([`field ${label(p)}`, { [p]: 1 }, pathCode(p, true)]);
  for (const p of BAD_PATHS.filter((x) => !x.startsWith('$'))) out.push([`field ${label(p)} with an operator`, { [p]: { $gt: 1 } }, pathCode(p, true)]);
  return out;
}

function nestKey(op: string, depth: number): unknown {
  let v: unknown = { n: 1 };
  for (let i = 0; i < depth; i++) v = { [op]: [v] };
  return v;
}

function nestNot(depth: number): unknown {
  let v: unknown = { n: 1 };
  for (let i = 0; i < depth; i++) v = { $not: v };
  return v;
}

/** Every k-th element, starting at offset: spreads a long list of bad values over several routes. */
function thin<T>(list: readonly T[], k: number, offset: number): T[] {
  return list.filter((_, i) => i % k === offset % k);
}

function filterMutations(path: (string | number)[]): Mutation[] {
  return badFilters().map(([what, value, code]) => ({ path, value, code, what: `filter: ${what}` }));
}

function badSorts(): [Bad, string][] {
  const out: [Bad, string][] = [
    ['n', 'WDE0065'],
    [{ fieldName: 'n' }, 'WDE0065'],
    [1, 'WDE0065'],
    [true, 'WDE0065'],
    [['n'], 'WDE0066'],
    [[1], 'WDE0066'],
    [[null], 'WDE0066'],
    [[[{ fieldName: 'n' }]], 'WDE0066'],
    [[{ fieldName: 'n', order: 'UP' }], 'WDE0067'],
    [[{ fieldName: 'n', order: 'ascending' }], 'WDE0067'],
    [[{ fieldName: 'n', order: 1 }], 'WDE0067'],
    [[{ fieldName: 'n', order: '' }], 'WDE0067'],
    [[{ fieldName: 'n', order: ['ASC'] }], 'WDE0067'],
    [[{ order: 'ASC' }], 'WDE0067'],
    [[{ fieldName: 1 }], 'WDE0067'],
    [[{ fieldName: ['n'] }], 'WDE0067'],
    [[{ fieldName: null }], 'WDE0067'],
    [Array.from({ length: 11 }, (_, i) => ({ fieldName: `f${i}` })), 'WDE0067'],
  ];
  for (const p of BAD_PATHS) out.push([[{ fieldName: p, order: 'ASC' }], pathCode(p)]);
  return out;
}

/** Offset paging ({limit <= 1000, offset}) and cursor paging ({limit <= 100, cursor}). */
function badPaging(): [string, Bad, string][] {
  const out: [string, Bad, string][] = [];
  const limits: [Bad, string][] = [
    [-1, 'WDE0034'],
    ['-5', 'WDE0034'],
    [1.5, 'WDE0035'],
    ['1.5', 'WDE0035'],
    ['abc', 'WDE0035'],
    ['10x', 'WDE0035'],
    [' 5', 'WDE0035'],
    ['0x10', 'WDE0035'],
    ['1e3', 'WDE0035'],
    [true, 'WDE0035'],
    [[], 'WDE0035'],
    [[10], 'WDE0035'],
    [{}, 'WDE0035'],
    [1e20, 'WDE0036'],
    [Number.MAX_SAFE_INTEGER + 2, 'WDE0036'],
  ];
  for (const [v, code] of limits) {
    out.push(['paging', { paging: { limit: v } }, code]);
    out.push(['paging', { paging: { offset: v } }, code]);
    out.push(['cursorPaging', { cursorPaging: { limit: v } }, code]);
  }
  out.push(['paging', { paging: { limit: 1001 } }, 'WDE0036']);
  out.push(['paging', { paging: { limit: '1001' } }, 'WDE0036']);
  out.push(['paging', { paging: { offset: 1e300 } }, 'WDE0036']);
  out.push(['cursorPaging', { cursorPaging: { limit: 101 } }, 'WDE0036']);
  out.push(['cursorPaging', { cursorPaging: { limit: 1000 } }, 'WDE0036']);
  out.push(['paging', { paging: 'x' }, 'WDE0080']);
  out.push(['paging', { paging: 10 }, 'WDE0080']);
  out.push(['paging', { paging: [10] }, 'WDE0080']);
  out.push(['cursorPaging', { cursorPaging: 'abc' }, 'WDE0080']);
  out.push(['cursorPaging', { cursorPaging: [] }, 'WDE0080']);
  out.push(['both', { paging: { limit: 1 }, cursorPaging: { limit: 1 } }, 'WDE0080']);
  const cursor = (state: unknown) => ({ cursorPaging: { cursor: b64(state) } });
  const good = { v: 1, c: C, e: 'LIVE', f: null, s: null, p: null, o: 10, l: 10 };
  out.push(['cursor', { cursorPaging: { cursor: '!!!' } }, 'WDE0165']);
  out.push(['cursor', { cursorPaging: { cursor: 'not-a-cursor' } }, 'WDE0165']);
  out.push(['cursor', cursor('hello'), 'WDE0165']);
  out.push(['cursor', cursor([1, 2]), 'WDE0165']);
  out.push(['cursor', cursor('null'), 'WDE0165']);
  out.push(['cursor', cursor({ ...good, v: 2 }), 'WDE0165']);
  out.push(['cursor', cursor({ ...good, o: '10' }), 'WDE0165']);
  out.push(['cursor', cursor({ ...good, c: 'pub' }), 'WDE0165']);
  out.push(['cursor', cursor({ ...good, e: 'SANDBOX' }), 'WDE0165']);
  out.push(['cursor', cursor({ ...good, o: -10 }), 'WDE0034']);
  out.push(['cursor', cursor({ ...good, o: 1.5 }), 'WDE0035']);
  out.push(['cursor', cursor({ ...good, l: 500 }), 'WDE0036']);
  out.push(['cursor', cursor({ ...good, f: { $where: 'x' } }), 'WDE0061']);
  out.push(['cursor', cursor({ ...good, f: { title: { $regex: 'x' } } }), 'WDE0070']);
  out.push(['cursor', cursor({ ...good, s: 'n' }), 'WDE0065']);
  out.push(['cursor', cursor({ ...good, p: ["a'b"] }), 'WDE0147']);
  out.push(['cursor', { cursorPaging: { cursor: 123 } }, 'WDE0080']);
  out.push(['cursor', { cursorPaging: { cursor: { o: 1 } } }, 'WDE0080']);
  return out;
}

function badFields(): [Bad, string][] {
  const out: [Bad, string][] = [
    ['title', 'WDE0147'],
    [{ title: 1 }, 'WDE0147'],
    [1, 'WDE0147'],
    [[1], 'WDE0147'],
    [[null], 'WDE0147'],
    [[['title']], 'WDE0147'],
    [Array.from({ length: 1001 }, (_, i) => `f${i}`), 'WDE0080'],
  ];
  for (const p of BAD_PATHS) out.push([[p], pathCode(p)]);
  return out;
}

const BAD_ITEM_IDS: [Bad, string][] = [
  [MISSING, 'WDE0002'],
  ['', 'WDE0002'],
  ['x'.repeat(256), 'WDE0002'],
  [123, 'WDE0002'],
  [true, 'WDE0002'],
  [[], 'WDE0002'],
  [['i01'], 'WDE0002'],
  [{}, 'WDE0002'],
  [{ id: 'i01' }, 'WDE0002'],
  [null, 'WDE0002'],
  ['i01\u0000', 'WDE0080'],
];

/** Field modifications that are wrong as a whole (request-level errors). */
function badModifications(): [string, Bad, string][] {
  const set = (fieldPath: unknown, value: unknown = 'x') => [{ action: 'SET_FIELD', fieldPath, setFieldOptions: { value } }];
  const out: [string, Bad, string][] = [
    ['missing', MISSING, 'WDE0080'],
    ['empty', [], 'WDE0080'],
    ['a string', 'SET_FIELD', 'WDE0080'],
    ['an object', { action: 'SET_FIELD' }, 'WDE0080'],
    ['null', null, 'WDE0080'],
    ['101 modifications', Array.from({ length: 101 }, (_, i) => set(`f${i}`)[0]), 'WDE0080'],
    ['a number element', [1], 'WDE0080'],
    ['a null element', [null], 'WDE0080'],
    ['no action', [{ fieldPath: 'title', setFieldOptions: { value: 1 } }], 'WDE0075'],
    ['unknown action', [{ action: 'RENAME_FIELD', fieldPath: 'title' }], 'WDE0075'],
    ['lower-case action', [{ action: 'set_field', fieldPath: 'title', setFieldOptions: { value: 1 } }], 'WDE0075'],
    ['action a number', [{ action: 1, fieldPath: 'title' }], 'WDE0075'],
    ['no fieldPath', [{ action: 'REMOVE_FIELD' }], 'WDE0147'],
    ['fieldPath a number', set(1), 'WDE0147'],
    ['fieldPath an array', set(['title']), 'WDE0147'],
    ['system field _id', set('_id'), 'WDE0080'],
    ['system field _createdDate', set('_createdDate'), 'WDE0080'],
    ['system field _updatedDate', [{ action: 'REMOVE_FIELD', fieldPath: '_updatedDate' }], 'WDE0080'],
    ['system field _owner', set('_owner'), 'WDE0080'],
    ['system field _publishStatus', set('_publishStatus', 'DRAFT'), 'WDE0080'],
    ['nested under a system field', set('_id.x'), 'WDE0080'],
    ['SET_FIELD with no options', [{ action: 'SET_FIELD', fieldPath: 'title' }], 'WDE0080'],
    ['SET_FIELD with options a string', [{ action: 'SET_FIELD', fieldPath: 'title', setFieldOptions: 'x' }], 'WDE0080'],
    ['SET_FIELD with no value', [{ action: 'SET_FIELD', fieldPath: 'title', setFieldOptions: {} }], 'WDE0080'],
    ['SET_FIELD with increment options', [{ action: 'SET_FIELD', fieldPath: 'n', incrementFieldOptions: { value: 1 } }], 'WDE0080'],
    ['REMOVE_FIELD with set options', [{ action: 'REMOVE_FIELD', fieldPath: 'n', setFieldOptions: { value: 1 } }], 'WDE0080'],
    ['INCREMENT_FIELD by a string', [{ action: 'INCREMENT_FIELD', fieldPath: 'n', incrementFieldOptions: { value: '1' } }], 'WDE0080'],
    ['INCREMENT_FIELD by null', [{ action: 'INCREMENT_FIELD', fieldPath: 'n', incrementFieldOptions: { value: null } }], 'WDE0080'],
    ['INCREMENT_FIELD by an object', [{ action: 'INCREMENT_FIELD', fieldPath: 'n', incrementFieldOptions: { value: { $numberLong: '1' } } }], 'WDE0080'],
    ['APPEND_TO_ARRAY with no value', [{ action: 'APPEND_TO_ARRAY', fieldPath: 'arr', appendToArrayOptions: {} }], 'WDE0080'],
    ['REMOVE_FROM_ARRAY with append options', [{ action: 'REMOVE_FROM_ARRAY', fieldPath: 'arr', appendToArrayOptions: { value: 1 } }], 'WDE0080'],
    ['a good one, then a bad one', [set('title')[0], { action: 'SET_FIELD', fieldPath: "a'b", setFieldOptions: { value: 1 } }], 'WDE0147'],
  ];
  for (const p of BAD_PATHS) out.push([`fieldPath ${label(p)}`, set(p), pathCode(p)]);
  for (const [what, data, code] of badItemData()) {
    if (what.startsWith('_id')) continue;
    out.push([`SET_FIELD value: ${what}`, set('title', data), code]);
    if (code !== 'WDE0009') out.push([`APPEND_TO_ARRAY value: ${what}`, [{ action: 'APPEND_TO_ARRAY', fieldPath: 'arr', appendToArrayOptions: { value: data } }], code]);
  }
  return out;
}

/** Modifications that are fine as a request but fail on the item they meet (per-item errors). */
function clashingModifications(): [string, string, Bad, string][] {
  return [
    ['increment a string', itemId(1), [{ action: 'INCREMENT_FIELD', fieldPath: 'title', incrementFieldOptions: { value: 1 } }], 'WDE0075'],
    ['increment to infinity', itemId(N - 1), [{ action: 'INCREMENT_FIELD', fieldPath: 'big', incrementFieldOptions: { value: 1e308 } }], 'WDE0075'],
    ['append to a string', itemId(1), [{ action: 'APPEND_TO_ARRAY', fieldPath: 'title', appendToArrayOptions: { value: 1 } }], 'WDE0075'],
    ['remove from an object', itemId(1), [{ action: 'REMOVE_FROM_ARRAY', fieldPath: 'nested', removeFromArrayOptions: { value: 1 } }], 'WDE0075'],
    ['set through a string', itemId(1), [{ action: 'SET_FIELD', fieldPath: 'title.x', setFieldOptions: { value: 1 } }], 'WDE0075'],
    ['set through a number', itemId(1), [{ action: 'SET_FIELD', fieldPath: 'n.x.y', setFieldOptions: { value: 1 } }], 'WDE0075'],
    [
      'a good change, then a clash: nothing is written',
      itemId(2),
      [
        { action: 'SET_FIELD', fieldPath: 'title', setFieldOptions: { value: 'changed' } },
        { action: 'INCREMENT_FIELD', fieldPath: 'n', incrementFieldOptions: { value: 1 } },
        { action: 'INCREMENT_FIELD', fieldPath: 'title', incrementFieldOptions: { value: 1 } },
      ],
      'WDE0075',
    ],
    ['grow the item over 512 KB', itemId(3), [{ action: 'SET_FIELD', fieldPath: 'blob', setFieldOptions: { value: 'z'.repeat(600 * 1024) } }], 'WDE0009'],
    ['an id that does not exist', 'nope', [{ action: 'SET_FIELD', fieldPath: 'title', setFieldOptions: { value: 1 } }], 'WDE0073'],
  ];
}

/** Every bad item's data in each place an item goes. */
function dataMutations(path: (string | number)[]): Mutation[] {
  return [
    ...badItemData().map(([what, value, code]) => ({ path, value, code, what })),
    ...bad(path, ['x', 123, true, [], [{ title: 'x' }], null], 'WDE0004'),
  ];
}

function scopeMutations(): Mutation[] {
  return [
    ...badc(['dataCollectionId'], BAD_COLLECTION_IDS),
    ...badc(['environment'], BAD_ENVIRONMENTS),
    ...bad(['publishPluginOptions'], NOT_AN_OBJECT, 'WDE0080'),
    ...bad(['publishPluginOptions'], [{ includeDraftItems: 'yes' }, { includeDraftItems: 1 }], 'WDE0080'),
    ...bad(['options'], [{ publishPluginOptions: { showDraftItems: 'no' } }], 'WDE0080'),
  ];
}

/**
 * The items API's requests, each valid as it stands for collection `cid`: the writes touch
 * existing items (i01..i13) and the async jobs, items with n >= 25.
 */
function itemBases(cid: string, prefix = DATA): Base[] {
  const mod = { action: 'SET_FIELD', fieldPath: 'title', setFieldOptions: { value: 'patched' } };
  const filterOk = { n: { $gte: 25 } };
  return [
    {
      name: 'insert',
      method: 'POST',
      path: `${prefix}/items`,
      body: { dataCollectionId: cid, dataItem: { data: { title: 'new' } } },
      mutations: [
        ...scopeMutations(),
        ...badc(['dataItem'], [[MISSING, 'WDE0004'], [null, 'WDE0004'], ['x', 'WDE0004'], [1, 'WDE0004'], [[], 'WDE0004'], [[{ data: {} }], 'WDE0004']]),
        ...dataMutations(['dataItem', 'data']),
        ...badc(['dataItem', 'id'], BAD_ITEM_IDS.filter(([v]) => v !== MISSING && v !== null && v !== '')),
        { path: ['dataItem'], value: { id: 'new1', data: { _id: 'new2' } }, code: 'WDE0075' },
        { path: ['dataItem'], value: { id: itemId(1), data: { title: 'exists' } }, code: 'WDE0074' },
      ],
    },
    {
      name: 'update',
      method: 'POST',
      path: `${prefix}/items/update`,
      body: { dataCollectionId: cid, dataItem: { id: itemId(1), data: { title: 'changed' } } },
      mutations: [
        ...thin(scopeMutations(), 3, 1),
        ...badc(['dataItem'], [[MISSING, 'WDE0004'], [null, 'WDE0004'], ['x', 'WDE0004'], [[], 'WDE0004']]),
        ...thin(dataMutations(['dataItem', 'data']), 2, 0),
        ...badc(['dataItem', 'id'], BAD_ITEM_IDS.filter(([v]) => v !== MISSING && v !== null && v !== '')),
        ...badc(['dataItem', 'id'], [[MISSING, 'WDE0007'], ['nope', 'WDE0073']]),
        { path: ['dataItem', 'data'], value: { _id: itemId(2), title: 'x' }, code: 'WDE0075' },
        ...bad(['condition'], NOT_AN_OBJECT, 'WDE0080'),
        ...filterMutations(['condition', 'filter']),
        { path: ['condition', 'filter'], value: { n: -1 }, code: 'WDE0073' },
      ],
    },
    {
      name: 'update (PUT)',
      method: 'PUT',
      path: `${prefix}/items/${itemId(1)}`,
      body: { dataCollectionId: cid, dataItem: { data: { title: 'changed' } } },
      mutations: [
        ...badc(['dataCollectionId'], BAD_COLLECTION_IDS),
        ...thin(dataMutations(['dataItem', 'data']), 3, 1),
        { path: ['dataItem', 'data'], value: { _id: itemId(2) }, code: 'WDE0075' },
        ...thin(filterMutations(['condition', 'filter']), 6, 2),
      ],
    },
    {
      name: 'save',
      method: 'POST',
      path: `${prefix}/items/save`,
      body: { dataCollectionId: cid, dataItem: { id: itemId(2), data: { title: 'saved' } } },
      mutations: [
        ...thin(scopeMutations(), 3, 2),
        ...badc(['dataItem'], [[MISSING, 'WDE0004'], [null, 'WDE0004'], ['x', 'WDE0004'], [[], 'WDE0004']]),
        ...thin(dataMutations(['dataItem', 'data']), 2, 1),
        ...badc(['dataItem', 'id'], BAD_ITEM_IDS.filter(([v]) => v !== MISSING && v !== null && v !== '')),
      ],
    },
    {
      name: 'get',
      method: 'POST',
      path: `${prefix}/items/get`,
      body: { dataCollectionId: cid, dataItemId: itemId(3), fields: ['title'] },
      mutations: [
        ...thin(scopeMutations(), 3, 0),
        ...badc(['dataItemId'], BAD_ITEM_IDS),
        { path: ['dataItemId'], value: 'nope', code: 'WDE0073' },
        { path: ['dataItemId'], value: "i01' OR '1'='1", code: 'WDE0073' },
        ...badc(['fields'], badFields()),
      ],
    },
    {
      name: 'get (GET)',
      method: 'GET',
      path: `${prefix}/items/${itemId(3)}`,
      params: { dataCollectionId: cid, fields: ['title', 'n'] },
      mutations: [...thin(scopeMutations(), 3, 1), ...badc(['fields'], badFields())],
    },
    {
      name: 'remove',
      method: 'POST',
      path: `${prefix}/items/remove`,
      body: { dataCollectionId: cid, dataItemId: itemId(4) },
      mutations: [
        ...thin(scopeMutations(), 3, 2),
        ...badc(['dataItemId'], BAD_ITEM_IDS),
        { path: ['dataItemId'], value: 'nope', code: 'WDE0073' },
        ...bad(['condition'], NOT_AN_OBJECT, 'WDE0080'),
        ...thin(filterMutations(['condition', 'filter']), 4, 0),
        { path: ['condition', 'filter'], value: { n: -1 }, code: 'WDE0073' },
      ],
    },
    {
      name: 'remove (DELETE)',
      method: 'DELETE',
      path: `${prefix}/items/${itemId(14)}`,
      params: { dataCollectionId: cid },
      mutations: [...thin(scopeMutations(), 3, 0), ...thin(filterMutations(['condition', 'filter']), 6, 3)],
    },
    {
      name: 'truncate',
      method: 'POST',
      path: `${prefix}/items/truncate`,
      body: { dataCollectionId: cid },
      mutations: scopeMutations(),
    },
    {
      name: 'query',
      method: 'POST',
      path: `${prefix}/items/query`,
      body: { dataCollectionId: cid, query: { filter: { n: { $gte: 0 } }, sort: [{ fieldName: 'n', order: 'ASC' }], fields: ['title'], paging: { limit: 10, offset: 0 } }, returnTotalCount: true },
      mutations: [
        ...scopeMutations(),
        ...bad(['query'], ['x', 1, true, [], [{}]], 'WDE0080'),
        ...filterMutations(['query', 'filter']),
        ...badc(['query', 'sort'], badSorts()),
        ...badc(['query', 'fields'], badFields()),
        ...badPaging().flatMap(([, value, code]) => {
          // Replace the paging of the base query with the bad one.
          const v = value as Record<string, unknown>;
          return [{ path: ['query'], value: { filter: { n: { $gte: 0 } }, ...v }, code }];
        }),
        ...bad(['returnTotalCount'], NOT_A_BOOLEAN, 'WDE0080'),
      ],
    },
    {
      name: 'query (GET)',
      method: 'GET',
      path: `${prefix}/items/query`,
      params: { dataCollectionId: cid, query: { filter: { n: { $gte: 0 } }, paging: { limit: 10 } } },
      mutations: [
        ...thin(scopeMutations(), 3, 1),
        ...thin(filterMutations(['query', 'filter']), 3, 1),
        ...badc(['query', 'sort'], thin(badSorts(), 2, 1)),
        ...thin(badPaging(), 2, 0).map(([, value, code]) => ({ path: ['query'], value, code })),
      ],
    },
    {
      name: 'count',
      method: 'POST',
      path: `${prefix}/items/count`,
      body: { dataCollectionId: cid, filter: { n: { $gte: 0 } } },
      mutations: [...thin(scopeMutations(), 3, 2), ...filterMutations(['filter'])],
    },
    {
      name: 'patch',
      method: 'POST',
      path: `${prefix}/items/patch`,
      body: { dataCollectionId: cid, patch: { dataItemId: itemId(5), fieldModifications: [mod] } },
      mutations: [
        ...thin(scopeMutations(), 3, 0),
        ...bad(['patch'], ['x', 1, true, [], [{}]], 'WDE0080'),
        ...badc(['patch', 'dataItemId'], BAD_ITEM_IDS.filter(([v]) => typeof v !== 'string' || v === '')),
        ...bad(['patch', 'dataItemId'], ['x'.repeat(256), 'i01\u0000', 'nope']),
        ...badModifications().map(([what, value, code]) => ({ path: ['patch', 'fieldModifications'], value, code, what })),
        ...clashingModifications().map(([what, id, value, code]) => ({ path: ['patch'], value: { dataItemId: id, fieldModifications: value }, code, what })),
        ...bad(['condition'], NOT_AN_OBJECT, 'WDE0080'),
        ...thin(filterMutations(['condition', 'filter']), 4, 1),
        { path: ['condition', 'filter'], value: { n: -1 }, code: 'WDE0073' },
      ],
    },
    {
      name: 'patch (PATCH)',
      method: 'PATCH',
      path: `${prefix}/items/${itemId(5)}`,
      body: { dataCollectionId: cid, patch: { fieldModifications: [mod] } },
      mutations: [
        ...badc(['dataCollectionId'], BAD_COLLECTION_IDS),
        ...thin(badModifications(), 4, 2).map(([what, value, code]) => ({ path: ['patch', 'fieldModifications'], value, code, what })),
      ],
    },
    {
      name: 'bulk insert',
      method: 'POST',
      path: `${prefix}/bulk/items/insert`,
      body: { dataCollectionId: cid, dataItems: [{ data: { title: 'b1' } }, { data: { title: 'b2' } }], returnEntity: true },
      mutations: bulkItemMutations(),
    },
    {
      name: 'bulk update',
      method: 'POST',
      path: `${prefix}/bulk/items/update`,
      body: { dataCollectionId: cid, dataItems: [{ id: itemId(6), data: { title: 'u6' } }, { id: itemId(7), data: { title: 'u7' } }], returnEntity: false },
      mutations: [
        ...bulkItemMutations(3, 1),
        { path: ['dataItems', 1, 'id'], value: MISSING, code: 'WDE0007' },
        ...bad(['condition'], NOT_AN_OBJECT, 'WDE0080'),
        ...thin(filterMutations(['condition', 'filter']), 4, 2),
      ],
    },
    {
      name: 'bulk save',
      method: 'POST',
      path: `${prefix}/bulk/items/save`,
      body: { dataCollectionId: cid, dataItems: [{ id: itemId(10), data: { title: 's10' } }, { id: 'fresh-save', data: { title: 'new' } }] },
      mutations: bulkItemMutations(3, 2),
    },
    {
      name: 'bulk remove',
      method: 'POST',
      path: `${prefix}/bulk/items/remove`,
      body: { dataCollectionId: cid, dataItemIds: [itemId(8), itemId(9)] },
      mutations: [
        ...scopeMutations(),
        ...badc(['dataItemIds'], [
          [MISSING, 'WDE0068'],
          [null, 'WDE0068'],
          [[], 'WDE0068'],
          ['i08', 'WDE0068'],
          [{ 0: 'i08' }, 'WDE0068'],
          [[itemId(8), 1], 'WDE0068'],
          [[itemId(8), ''], 'WDE0068'],
          [[itemId(8), null], 'WDE0068'],
          [[itemId(8), [itemId(9)]], 'WDE0068'],
          [[{ id: itemId(8) }], 'WDE0068'],
          [Array.from({ length: 1001 }, (_, i) => `r${i}`), 'WDE0069'],
        ]),
        ...bad(['returnEntity'], NOT_A_BOOLEAN, 'WDE0080'),
        ...bad(['condition'], NOT_AN_OBJECT, 'WDE0080'),
        ...thin(filterMutations(['condition', 'filter']), 4, 3),
      ],
    },
    {
      name: 'bulk patch',
      method: 'POST',
      path: `${prefix}/bulk/items/patch`,
      body: { dataCollectionId: cid, patches: [{ dataItemId: itemId(12), fieldModifications: [mod] }, { dataItemId: itemId(13), fieldModifications: [mod] }] },
      mutations: [
        ...thin(scopeMutations(), 3, 1),
        ...badc(['patches'], [
          [MISSING, 'WDE0080'],
          [null, 'WDE0080'],
          [[], 'WDE0080'],
          ['x', 'WDE0080'],
          [{ dataItemId: itemId(12) }, 'WDE0080'],
          [[1], 'WDE0080'],
          [[null], 'WDE0080'],
          [Array.from({ length: 1001 }, (_, i) => ({ dataItemId: `p${i}`, fieldModifications: [mod] })), 'WDE0080'],
        ]),
        ...badc(['patches', 1, 'dataItemId'], BAD_ITEM_IDS.filter(([v]) => typeof v !== 'string' || v === '')),
        ...thin(badModifications(), 3, 0)
          .filter(([, , code]) => code !== 'WDE0009')
          .map(([what, value, code]) => ({ path: ['patches', 1, 'fieldModifications'], value, code, what })),
        ...bad(['returnEntity'], NOT_A_BOOLEAN, 'WDE0080'),
        ...bad(['suppressHooks'], NOT_A_BOOLEAN, 'WDE0080'),
        ...bad(['condition'], NOT_AN_OBJECT, 'WDE0080'),
        ...thin(filterMutations(['condition', 'filter']), 4, 0),
      ],
    },
    {
      name: 'async remove by filter',
      method: 'POST',
      path: `${prefix}/bulk/items/async-remove-by-filter`,
      body: { dataCollectionId: cid, filter: filterOk },
      mutations: [
        ...badc(['dataCollectionId'], BAD_COLLECTION_IDS),
        ...badc(['environment'], BAD_ENVIRONMENTS),
        ...bad(['publishPluginOptions'], NOT_AN_OBJECT),
        ...bad(['publishPluginOptions'], [{ includeDraftItems: 'yes' }]),
        ...thin(filterMutations(['filter']), 3, 1),
      ],
    },
    {
      name: 'async patch by filter',
      method: 'POST',
      path: `${prefix}/bulk/items/async-patch-by-filter`,
      body: { dataCollectionId: cid, filter: filterOk, fieldModifications: [mod] },
      mutations: [
        ...badc(['dataCollectionId'], BAD_COLLECTION_IDS),
        ...badc(['environment'], BAD_ENVIRONMENTS),
        ...thin(filterMutations(['filter']), 3, 2),
        ...thin(badModifications(), 3, 1)
          .filter(([, , code]) => code !== 'WDE0009')
          .map(([what, value, code]) => ({ path: ['fieldModifications'], value, code, what })),
      ],
    },
  ];
}

function bulkItemMutations(k = 1, offset = 0): Mutation[] {
  return [
    ...thin(scopeMutations(), k, offset),
    ...badc(['dataItems'], [
      [MISSING, 'WDE0005'],
      [null, 'WDE0005'],
      [[], 'WDE0005'],
      ['x', 'WDE0005'],
      [{ data: {} }, 'WDE0005'],
      [{ 0: { data: {} } }, 'WDE0005'],
      [Array.from({ length: 1001 }, (_, i) => ({ id: `b${i}`, data: { i } })), 'WDE0006'],
      [Array.from({ length: 5000 }, () => ({})), 'WDE0006'],
    ]),
    ...badc(['dataItems', 1], [[null, 'WDE0004'], ['x', 'WDE0004'], [1, 'WDE0004'], [[], 'WDE0004']]),
    ...thin(dataMutations(['dataItems', 1, 'data']), k, offset),
    ...badc(['dataItems', 1, 'id'], BAD_ITEM_IDS.filter(([v]) => v !== MISSING && v !== null && v !== '')),
    ...bad(['returnEntity'], NOT_A_BOOLEAN, 'WDE0080'),
  ];
}

/** Collection ids that are invalid, for the places where any valid id would do (create). */
const INVALID_COLLECTION_IDS = BAD_COLLECTION_IDS.filter(([, code]) => code === 'WDE0001');

function badFieldDefs(): [Bad, string][] {
  const out: [Bad, string][] = [
    ['title', 'WDE0075'],
    [1, 'WDE0075'],
    [null, 'WDE0075'],
    [[], 'WDE0075'],
    [{ type: 'TEXT' }, 'WDE0075'],
    [{ key: 'a' }, 'WDE0075'],
    [{ key: 'a', type: 'NOPE' }, 'WDE0075'],
    [{ key: 'a', type: 'text' }, 'WDE0075'],
    [{ key: 'a', type: 1 }, 'WDE0075'],
    [{ key: 1, type: 'TEXT' }, 'WDE0075'],
    [{ key: '', type: 'TEXT' }, 'WDE0075'],
    [{ key: 'a.b', type: 'TEXT' }, 'WDE0075'],
    [{ key: 'x'.repeat(129), type: 'TEXT' }, 'WDE0075'],
    [{ key: 'a', type: 'TEXT', displayName: 5 }, 'WDE0080'],
    [{ key: 'a', type: 'TEXT', displayName: '' }, 'WDE0080'],
  ];
  for (const p of BAD_PATHS.filter((x) => x !== '' && x.length <= 128)) out.push([{ key: p, type: 'TEXT' }, pathCode(p)]);
  return out;
}

function badPluginDefs(): [Bad, string][] {
  return [
    ['PUBLISH', 'WDE0075'],
    [1, 'WDE0075'],
    [null, 'WDE0075'],
    [[], 'WDE0075'],
    [{}, 'WDE0075'],
    [{ type: 'NOPE' }, 'WDE0075'],
    [{ type: 'publish' }, 'WDE0075'],
    [{ type: 1 }, 'WDE0075'],
    [{ type: 'PUBLISH', publishOptions: 'x' }, 'WDE0075'],
    [{ type: 'PUBLISH', publishOptions: { defaultStatus: 'MAYBE' } }, 'WDE0075'],
    [{ type: 'PUBLISH', publishOptions: { defaultStatus: 1 } }, 'WDE0075'],
  ];
}

/** Collection and index requests, each valid for collection `cid` (revision: its current one). */
function collectionBases(cid: string, revision: string, prefix = DATA): Base[] {
  const fresh = `${cid}_new`;
  return [
    {
      name: 'create collection',
      method: 'POST',
      path: `${prefix}/collections`,
      body: { collection: { id: fresh, displayName: 'New', fields: [{ key: 'a', type: 'TEXT' }], permissions: { read: 'ANYONE' }, plugins: [] } },
      mutations: [
        ...badc(['collection'], [[MISSING, 'WDE0075'], [null, 'WDE0075'], ['x', 'WDE0075'], [1, 'WDE0075'], [[], 'WDE0075'], [[{ id: fresh }], 'WDE0075']]),
        ...badc(['collection', 'id'], INVALID_COLLECTION_IDS),
        { path: ['collection', 'id'], value: C, code: 'WDE0104' },
        { path: ['collection', 'id'], value: 'pub', code: 'WDE0104' },
        ...bad(['collection', 'displayName'], [1, true, [], {}, '', 'x'.repeat(1025)], 'WDE0080'),
        ...bad(['collection', 'fields'], NOT_AN_ARRAY, 'WDE0075'),
        ...badc(['collection', 'fields', 0], badFieldDefs()),
        { path: ['collection', 'fields'], value: [{ key: 'a', type: 'TEXT' }, { key: 'a', type: 'NUMBER' }], code: 'WDE0075' },
        { path: ['collection', 'fields'], value: Array.from({ length: 1001 }, (_, i) => ({ key: `f${i}`, type: 'TEXT' })), code: 'WDE0075' },
        ...bad(['collection', 'permissions'], NOT_AN_OBJECT, 'WDE0075'),
        ...bad(['collection', 'permissions', 'read'], ['GOD', 'anyone', 1, [], {}], 'WDE0075'),
        ...bad(['collection', 'permissions', 'remove'], ['EVERYONE', true], 'WDE0075'),
        ...bad(['collection', 'plugins'], NOT_AN_ARRAY, 'WDE0075'),
        ...badc(['collection', 'plugins', 0], badPluginDefs()),
        { path: ['collection', 'plugins'], value: [{ type: 'PUBLISH' }, { type: 'PUBLISH' }], code: 'WDE0075' },
      ],
    },
    {
      name: 'replace collection',
      method: 'PUT',
      path: `${prefix}/collections`,
      body: { collection: { id: cid, revision, displayName: 'Replaced', fields: [{ key: 'title', type: 'TEXT' }], permissions: { read: 'ANYONE' } } },
      mutations: [
        ...badc(['collection'], [[MISSING, 'WDE0075'], [null, 'WDE0075'], ['x', 'WDE0075'], [[], 'WDE0075']]),
        ...badc(['collection', 'id'], INVALID_COLLECTION_IDS),
        { path: ['collection', 'id'], value: 'nope', code: 'WDE0025' },
        ...badc(['collection', 'revision'], [[MISSING, 'WDE0075'], ['', 'WDE0075'], [null, 'WDE0075'], ['999', 'WDE0079'], [0, 'WDE0079'], [{}, 'WDE0079'], [[revision], 'WDE0079']]),
        ...bad(['collection', 'displayName'], [1, [], ''], 'WDE0080'),
        ...bad(['collection', 'fields'], NOT_AN_ARRAY, 'WDE0075'),
        ...badc(['collection', 'fields', 0], badFieldDefs()),
        ...bad(['collection', 'permissions'], NOT_AN_OBJECT, 'WDE0075'),
        ...bad(['collection', 'permissions', 'read'], ['GOD', 1], 'WDE0075'),
        ...bad(['collection', 'plugins'], NOT_AN_ARRAY, 'WDE0075'),
        ...badc(['collection', 'plugins'], [[[{ type: 'NOPE' }], 'WDE0075']]),
      ],
    },
    {
      name: 'replace collection (PUT with id)',
      method: 'PUT',
      path: `${prefix}/collections/${cid}`,
      body: { collection: { revision, displayName: 'Replaced' } },
      mutations: [
        ...badc(['collection'], [[MISSING, 'WDE0075'], [null, 'WDE0075'], ['x', 'WDE0075'], [[], 'WDE0075']]),
        ...badc(['collection', 'revision'], [[MISSING, 'WDE0075'], ['999', 'WDE0079']]),
        ...badc(['collection', 'id'], INVALID_COLLECTION_IDS.filter(([v]) => v !== MISSING && v !== null)),
      ],
    },
    {
      name: 'create field',
      method: 'POST',
      path: `${prefix}/collections/create-field`,
      body: { dataCollectionId: cid, field: { key: 'newField', type: 'TEXT' } },
      mutations: [
        ...badc(['dataCollectionId'], BAD_COLLECTION_IDS),
        ...badc(['field'], [[MISSING, 'WDE0075'], ...badFieldDefs()]),
        ...bad(['field', 'key'], ['title', '_id', '_createdDate', '_owner'], 'WDE0075'),
      ],
    },
    {
      name: 'update field',
      method: 'POST',
      path: `${prefix}/collections/update-field`,
      body: { dataCollectionId: cid, field: { key: 'title', type: 'RICH_TEXT' } },
      mutations: [
        ...badc(['dataCollectionId'], BAD_COLLECTION_IDS),
        ...badc(['field'], [[MISSING, 'WDE0075'], ...badFieldDefs()]),
        ...bad(['field', 'key'], ['nope', '_id'], 'WDE0075'),
      ],
    },
    {
      name: 'delete field',
      method: 'POST',
      path: `${prefix}/collections/delete-field`,
      body: { dataCollectionId: cid, fieldKey: 'n' },
      mutations: [
        ...badc(['dataCollectionId'], BAD_COLLECTION_IDS),
        ...bad(['fieldKey'], [MISSING, null, '', 1, ['n'], { key: 'n' }, 'nope', "n'", '_id'], 'WDE0075'),
      ],
    },
    {
      name: 'add plugin',
      method: 'POST',
      path: `${prefix}/collections/add-plugin`,
      body: { dataCollectionId: cid, plugin: { type: 'URLIZED' } },
      mutations: [
        ...badc(['dataCollectionId'], BAD_COLLECTION_IDS),
        ...badc(['plugin'], [[MISSING, 'WDE0075'], ...badPluginDefs()]),
        { path: ['plugin'], value: { type: 'SINGLE_ITEM' }, code: 'WDE0075' },
      ],
    },
    {
      name: 'delete plugin',
      method: 'POST',
      path: `${prefix}/collections/delete-plugin`,
      body: { dataCollectionId: cid, pluginType: 'SINGLE_ITEM' },
      mutations: [
        ...badc(['dataCollectionId'], BAD_COLLECTION_IDS),
        ...bad(['pluginType'], [MISSING, null, '', 1, ['SINGLE_ITEM'], 'single_item', 'PUBLISH', 'NOPE'], 'WDE0075'),
      ],
    },
    {
      name: 'list collections',
      method: 'GET',
      path: `${prefix}/collections`,
      params: { paging: { limit: 10, offset: 0 } },
      mutations: [
        ...bad(['paging'], ['x', 1, [], true], 'WDE0080'),
        ...badPaging()
          .filter(([kind]) => kind === 'paging')
          .map(([, value, code]) => ({ path: ['paging'], value: (value as { paging: unknown }).paging, code })),
      ],
    },
    {
      name: 'sandbox switch',
      method: 'POST',
      path: `/cairn/v1/collections/${cid}/sandbox`,
      body: { enabled: true },
      mutations: bad(['enabled'], [MISSING, null, 'yes', 1, 0, [], {}, [true]], 'WDE0080'),
    },
    {
      name: 'create index',
      method: 'POST',
      path: `${prefix}/indexes`,
      body: { dataCollectionId: cid, index: { name: 'by_title', fields: [{ path: 'title', order: 'ASC' }], unique: false, caseInsensitive: false } },
      mutations: [
        ...badc(['dataCollectionId'], BAD_COLLECTION_IDS),
        ...bad(['index'], [MISSING, null, 'x', 1, [], [{ name: 'a' }]], 'WDE0075'),
        ...bad(['index', 'name'], [MISSING, null, '', 1, ['a'], {}, 'x'.repeat(129), '_id_', '_createdDate_', 'by_n'], 'WDE0075'),
        ...bad(['index', 'fields'], [MISSING, null, [], ...NOT_AN_ARRAY], 'WDE0075'),
        { path: ['index', 'fields'], value: ['a', 'b', 'c', 'd'].map((path) => ({ path })), code: 'WDE0075' },
        ...bad(['index', 'fields', 0], ['title', 1, null, [], {}, { order: 'ASC' }, { path: 1 }, { path: '' }], 'WDE0075'),
        ...bad(['index', 'fields', 0], [{ path: '_id' }, { path: '_createdDate' }, { path: '_owner' }, { path: 'title', order: 'UP' }, { path: 'title', order: 1 }, { path: 'x'.repeat(513) }], 'WDE0075'),
        ...BAD_PATHS.filter((p) => p !== '').map((p) => ({ path: ['index', 'fields', 0], value: { path: p }, code: pathCode(p) })),
        ...bad(['index', 'unique'], NOT_A_BOOLEAN, 'WDE0080'),
        ...bad(['index', 'caseInsensitive'], NOT_A_BOOLEAN, 'WDE0080'),
      ],
    },
    {
      name: 'list indexes',
      method: 'GET',
      path: `${prefix}/indexes`,
      params: { dataCollectionId: cid, paging: { limit: 10 } },
      mutations: [
        ...badc(['dataCollectionId'], BAD_COLLECTION_IDS),
        ...bad(['paging'], ['x', 1, [], true], 'WDE0080'),
        ...badPaging()
          .filter(([kind]) => kind === 'paging')
          .map(([, value, code]) => ({ path: ['paging'], value: (value as { paging: unknown }).paging, code })),
      ],
    },
    {
      name: 'drop index',
      method: 'DELETE',
      path: `${prefix}/indexes`,
      params: { dataCollectionId: cid, indexName: 'by_n' },
      mutations: [
        ...badc(['dataCollectionId'], BAD_COLLECTION_IDS),
        ...bad(['indexName'], [MISSING, null, '', 1, ['by_n'], {}, 'nope', '_id_', '_createdDate_', "by_n'; DROP TABLE items; --", 'x'.repeat(129)], 'WDE0075'),
      ],
    },
  ];
}

/** Task requests, each valid for collection `cid` (and `pubCid`, which has the Publish plugin). */
function taskBases(cid: string, pubCid: string): Base[] {
  const filterOk = { n: { $gte: 25 } };
  const taskMutations = (key: string): Mutation[] => [
    ...bad(['task'], [MISSING, null, 'x', 1, [], [{}]], 'WDE0075'),
    ...bad(['task', 'type'], [MISSING, null, '', 'delete_by_query', 'DELETE', 'DROP_COLLECTION', 1, ['DELETE_BY_QUERY'], {}], 'WDE0075'),
    ...bad(['task', key], [MISSING, null, 'x', 1, [], [{}]], 'WDE0075'),
    ...badc(['task', key, 'dataCollectionId'], BAD_COLLECTION_IDS),
    ...badc(['task', key, 'environment'], BAD_ENVIRONMENTS),
    // Options of another task type alongside.
    ...bad(['task', key === 'copyFieldDataOptions' ? 'deleteByQueryOptions' : 'copyFieldDataOptions'], [{ dataCollectionId: cid }, {}], 'WDE0075'),
  ];
  const pathMutations = (path: (string | number)[]): Mutation[] => [
    ...bad(path, [MISSING, null, '', 1, ['title'], {}], 'WDE0075'),
    ...BAD_PATHS.filter((p) => p !== '').map((p) => ({ path, value: p, code: pathCode(p) })),
  ];
  const dbq = { type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: cid, filter: filterOk } };
  return [
    {
      name: 'task DELETE_BY_QUERY',
      method: 'POST',
      path: TASKS,
      body: { task: dbq },
      mutations: [
        ...taskMutations('deleteByQueryOptions'),
        ...filterMutations(['task', 'deleteByQueryOptions', 'filter']),
        ...bad(['task', 'deleteByQueryOptions', 'publishPluginOptions'], NOT_AN_OBJECT, 'WDE0075'),
        ...bad(['task', 'deleteByQueryOptions', 'publishPluginOptions'], [{ includeDraftItems: 'yes' }, { includeDraftItems: 1 }], 'WDE0080'),
      ],
    },
    {
      name: 'task DELETE_BY_QUERY (autocms prefix)',
      method: 'POST',
      path: TASKS_ALT,
      body: { task: dbq },
      mutations: [...taskMutations('deleteByQueryOptions'), ...thin(filterMutations(['task', 'deleteByQueryOptions', 'filter']), 5, 1)],
    },
    {
      name: 'task COPY_FIELD_DATA',
      method: 'POST',
      path: TASKS,
      body: { task: { type: 'COPY_FIELD_DATA', copyFieldDataOptions: { dataCollectionId: cid, sourceFieldKey: 'title', targetFieldKey: 'title2' } } },
      mutations: [
        ...taskMutations('copyFieldDataOptions'),
        ...pathMutations(['task', 'copyFieldDataOptions', 'sourceFieldKey']),
        ...pathMutations(['task', 'copyFieldDataOptions', 'targetFieldKey']),
        ...bad(['task', 'copyFieldDataOptions', 'targetFieldKey'], ['_id', '_createdDate', '_owner', '_updatedDate'], 'WDE0075'),
      ],
    },
    {
      name: 'task EDIT_FIELD_DATA',
      method: 'POST',
      path: TASKS,
      body: { task: { type: 'EDIT_FIELD_DATA', editFieldDataOptions: { dataCollectionId: cid, filter: filterOk, fieldKey: 'tags', operations: { addItems: ['z'] } } } },
      mutations: [
        ...taskMutations('editFieldDataOptions'),
        ...thin(filterMutations(['task', 'editFieldDataOptions', 'filter']), 3, 0),
        ...pathMutations(['task', 'editFieldDataOptions', 'fieldKey']),
        ...bad(['task', 'editFieldDataOptions', 'fieldKey'], ['_id', '_owner'], 'WDE0075'),
        ...bad(['task', 'editFieldDataOptions', 'operations'], [MISSING, null, 'x', 1, [], {}, { addItems: [] }, { removeDuplicates: false }], 'WDE0075'),
        ...bad(['task', 'editFieldDataOptions', 'operations', 'addItems'], [...NOT_AN_ARRAY, Array.from({ length: 65 }, (_, i) => i)], 'WDE0075'),
        ...badc(['task', 'editFieldDataOptions', 'operations', 'addItems'], [
          [[{ $x: 1 }], 'WDE0134'],
          [[nest(2000)], 'WDE0075'],
          [[{ $date: 'nope' }], 'WDE0075'],
          [['a\u0000b'], 'WDE0080'],
        ]),
        ...bad(['task', 'editFieldDataOptions', 'operations', 'removeItems'], [...NOT_AN_ARRAY, Array.from({ length: 65 }, (_, i) => i)], 'WDE0075'),
        ...bad(['task', 'editFieldDataOptions', 'operations', 'replaceItems'], [...NOT_AN_ARRAY, [1], ['x'], [null], Array.from({ length: 65 }, (_, i) => ({ from: i, to: i + 1 }))], 'WDE0075'),
        ...badc(['task', 'editFieldDataOptions', 'operations', 'replaceItems'], [[[{ from: { $x: 1 }, to: 1 }], 'WDE0134']]),
        ...bad(['task', 'editFieldDataOptions', 'operations', 'removeDuplicates'], NOT_A_BOOLEAN, 'WDE0080'),
      ],
    },
    {
      name: 'task UPDATE_PUBLISH_STATUS',
      method: 'POST',
      path: TASKS,
      body: { task: { type: 'UPDATE_PUBLISH_STATUS', updatePublishStatusOptions: { dataCollectionId: pubCid, filter: { n: { $gte: 3 } }, operation: 'SET_DRAFT_STATUS' } } },
      mutations: [
        ...taskMutations('updatePublishStatusOptions'),
        // A collection without the Publish plugin.
        { path: ['task', 'updatePublishStatusOptions', 'dataCollectionId'], value: cid, code: 'WDE0119' },
        ...thin(filterMutations(['task', 'updatePublishStatusOptions', 'filter']), 3, 2),
        ...bad(['task', 'updatePublishStatusOptions', 'operation'], [MISSING, null, '', 'set_draft_status', 'PUBLISH', 1, ['SET_DRAFT_STATUS']], 'WDE0075'),
        ...bad(['task', 'updatePublishStatusOptions'], [
          { dataCollectionId: pubCid, operation: 'SCHEDULE_PUBLISHED_STATUS' },
          { dataCollectionId: pubCid, operation: 'SCHEDULE_PUBLISHED_STATUS', schedulePublishedStatusOptions: 'tomorrow' },
          { dataCollectionId: pubCid, operation: 'SCHEDULE_PUBLISHED_STATUS', schedulePublishedStatusOptions: { date: 'not a date' } },
          { dataCollectionId: pubCid, operation: 'SCHEDULE_PUBLISHED_STATUS', schedulePublishedStatusOptions: { date: 1700000000000 } },
          { dataCollectionId: pubCid, operation: 'SCHEDULE_DRAFT_STATUS', schedulePublishedStatusOptions: { date: '2030-01-01T00:00:00Z' } },
          { dataCollectionId: pubCid, operation: 'SCHEDULE_DRAFT_STATUS', scheduleDraftStatusOptions: { date: { $date: 'nope' } } },
        ], 'WDE0075'),
      ],
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// From tables to requests

/** `{a: {b: 'x'}, c: ['y', 'z']}` -> `a.b=x&c=y&c=z`; undefined when a value has no query-string form. */
function queryString(params: unknown): string | undefined {
  const parts: string[] = [];
  const walk = (v: unknown, key: string): boolean => {
    if (typeof v === 'string' || typeof v === 'number') {
      parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(String(v))}`);
      return true;
    }
    if (Array.isArray(v)) return v.length > 0 && v.every((x) => (typeof x === 'string' || typeof x === 'number') && walk(x, key));
    if (typeof v === 'object' && v !== null) return Object.entries(v).every(([k, x]) => walk(x, key ? `${key}.${k}` : k));
    return false;
  };
  return walk(params, '') ? parts.join('&') : undefined;
}

/**
 * One case per mutation. Body requests send the mutated body; parameter requests send the
 * mutated parameters as `.r`, and (when the bad value is a string) as a plain query string too.
 */
function casesOf(b: Base): Case[] {
  const out: Case[] = [];
  for (const m of b.mutations) {
    const name = `${b.name}: ${m.path.join('.')} = ${m.what ?? label(m.value)}`;
    const code = m.code === undefined ? {} : { code: m.code };
    if (b.params) {
      const params = mutate(b.params, m.path, m.value);
      out.push({ name: `${name} (.r)`, method: b.method, path: `${b.path}?.r=${b64(params)}`, ...code });
      // In a query string a list of one is a plain value (`fields=title`, as the published client
      // sends it), so a string for `fields` is bad only in `.r`.
      const qs = typeof m.value === 'string' && !(m.path.length === 1 && m.path[0] === 'fields') ? queryString(params) : undefined;
      if (qs !== undefined) out.push({ name: `${name} (query string)`, method: b.method, path: `${b.path}?${qs}`, ...code });
    } else {
      out.push({ name, method: b.method, path: b.path, body: mutate(b.body, m.path, m.value), ...code });
    }
  }
  return out;
}

/** Requests that carry a body, with query parameters that would make them act if the body were ignored. */
function bodyRoutes(prefix: string): [Method, string][] {
  const q = `?dataCollectionId=${C}`;
  return [
    ['POST', `${prefix}/items${q}`],
    ['POST', `${prefix}/items/update${q}`],
    ['PUT', `${prefix}/items/${itemId(1)}${q}`],
    ['POST', `${prefix}/items/save${q}`],
    ['POST', `${prefix}/items/get${q}&dataItemId=${itemId(1)}`],
    ['POST', `${prefix}/items/remove${q}&dataItemId=${itemId(1)}`],
    ['DELETE', `${prefix}/items/${itemId(1)}${q}`],
    ['POST', `${prefix}/items/patch${q}`],
    ['PATCH', `${prefix}/items/${itemId(1)}${q}`],
    ['POST', `${prefix}/items/truncate${q}`],
    ['POST', `${prefix}/items/query${q}`],
    ['POST', `${prefix}/items/count${q}`],
    ['POST', `${prefix}/bulk/items/insert${q}`],
    ['POST', `${prefix}/bulk/items/update${q}`],
    ['POST', `${prefix}/bulk/items/save${q}`],
    ['POST', `${prefix}/bulk/items/remove${q}&dataItemIds=${itemId(1)}`],
    ['POST', `${prefix}/bulk/items/patch${q}`],
    ['POST', `${prefix}/bulk/items/async-remove-by-filter${q}`],
    ['POST', `${prefix}/bulk/items/async-patch-by-filter${q}`],
    ['POST', `${prefix}/collections`],
    ['PUT', `${prefix}/collections`],
    ['PUT', `${prefix}/collections/${C}`],
    ['DELETE', `${prefix}/collections/victim`],
    ['POST', `${prefix}/collections/create-field${q}`],
    ['POST', `${prefix}/collections/update-field${q}`],
    ['POST', `${prefix}/collections/delete-field${q}&fieldKey=n`],
    ['POST', `${prefix}/collections/add-plugin${q}`],
    ['POST', `${prefix}/collections/delete-plugin${q}&pluginType=SINGLE_ITEM`],
    ['POST', `${prefix}/indexes${q}`],
    ['DELETE', `${prefix}/indexes${q}&indexName=by_n`],
  ];
}

const OTHER_BODY_ROUTES: [Method, string][] = [
  ['POST', TASKS],
  ['POST', TASKS_ALT],
  ['DELETE', `${TASKS}/00000000-0000-7000-8000-000000000000`],
  ['POST', `/cairn/v1/collections/${C}/sandbox?enabled=true`],
];

const MALFORMED: [string, string | Uint8Array][] = [
  ['an unclosed object', '{'],
  ['a trailing comma', `{"dataCollectionId": "${C}",}`],
  ['plain text', 'not json'],
  ['two objects', '{"a":1}{"b":2}'],
  ['single quotes', `{'dataCollectionId': '${C}'}`],
  ['NaN', '{"a": NaN}'],
  ['a bad escape', '{"a": "\\x41"}'],
  ['a raw control character in a string', '{"a": "x\u0001y"}'],
  ['invalid UTF-8', new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])],
  ['an array', `[{"dataCollectionId": "${C}"}]`],
  ['a string', `"${C}"`],
  ['a number', '42'],
  ['true', 'true'],
];

function malformedCases(prefixes: readonly string[]): Case[] {
  const out: Case[] = [];
  // Every malformed body on every route under the first prefix; a third of them under the others.
  prefixes.forEach((prefix, p) => {
    const routes = p === 0 ? [...bodyRoutes(prefix), ...OTHER_BODY_ROUTES] : bodyRoutes(prefix);
    routes.forEach(([method, path], r) => {
      for (const [what, body] of p === 0 ? MALFORMED : thin(MALFORMED, 3, r)) out.push({ name: `${method} ${path.split('?')[0]}: ${what}`, method, path, body, code: 'WDE0080' });
    });
  });
  // Other content types are read as JSON too (some clients send none).
  out.push({ name: 'a form-encoded body', method: 'POST', path: `${DATA}/items/truncate`, body: `dataCollectionId=${C}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, code: 'WDE0080' });
  out.push({ name: 'a text/plain body', method: 'POST', path: `${DATA}/items/truncate`, body: `dataCollectionId: ${C}`, headers: { 'content-type': 'text/plain' }, code: 'WDE0080' });
  // Over the 16 MB body limit.
  out.push({
    name: 'a 17 MB body',
    method: 'POST',
    path: `${DATA}/bulk/items/insert`,
    body: JSON.stringify({ dataCollectionId: C, dataItems: [{ data: { blob: 'x'.repeat(17 * 1024 * 1024) } }] }),
    code: 'WDE0109',
    status: 413,
  });
  // Numbers JSON can write but no store can hold.
  for (const n of ['1e400', '-1e400', '1' + '0'.repeat(400)]) {
    out.push({ name: `item number ${n.slice(0, 8)}`, method: 'POST', path: `${DATA}/items`, body: `{"dataCollectionId":"${C}","dataItem":{"data":{"n":${n}}}}`, code: 'WDE0075' });
    out.push({ name: `bulk item number ${n.slice(0, 8)}`, method: 'POST', path: `${DATA}/bulk/items/save`, body: `{"dataCollectionId":"${C}","dataItems":[{"id":"i01","data":{"n":${n}}}]}`, code: 'WDE0075' });
    out.push({ name: `filter number ${n.slice(0, 8)}`, method: 'POST', path: `${DATA}/items/count`, body: `{"dataCollectionId":"${C}","filter":{"n":{"$gt":${n}}}}`, code: 'WDE0058' });
    out.push({ name: `$in number ${n.slice(0, 8)}`, method: 'POST', path: `${DATA}/items/query`, body: `{"dataCollectionId":"${C}","query":{"filter":{"n":{"$in":[1,${n}]}}}}`, code: 'WDE0060' });
    out.push({ name: `paging limit ${n.slice(0, 8)}`, method: 'POST', path: `${DATA}/items/query`, body: `{"dataCollectionId":"${C}","query":{"paging":{"limit":${n}}}}` });
    out.push({
      name: `increment by ${n.slice(0, 8)}`,
      method: 'POST',
      path: `${DATA}/items/patch`,
      body: `{"dataCollectionId":"${C}","patch":{"dataItemId":"i01","fieldModifications":[{"action":"INCREMENT_FIELD","fieldPath":"n","incrementFieldOptions":{"value":${n}}}]}}`,
      code: 'WDE0080',
    });
  }
  // Nesting far deeper than any limit, written out as text.
  const depth = 100_000;
  out.push({ name: `item nested ${depth} levels`, method: 'POST', path: `${DATA}/items`, body: `{"dataCollectionId":"${C}","dataItem":{"data":{"d":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}}}`, code: 'WDE0075' });
  out.push({ name: `filter nested ${depth} levels`, method: 'POST', path: `${DATA}/items/count`, body: `{"dataCollectionId":"${C}","filter":${'{"$and":['.repeat(depth)}{}${']}'.repeat(depth)}}`, code: 'WDE0080' });
  out.push({ name: `arrays nested ${depth} levels`, method: 'POST', path: `${DATA}/items`, body: `{"dataCollectionId":"${C}","dataItem":{"data":{"d":${'['.repeat(depth)}1${']'.repeat(depth)}}}}`, code: 'WDE0075' });
  return out;
}

const BAD_DOT_R: [string, string][] = [
  ['not base64', '!!!'],
  ['percent garbage', '%%%'],
  ['base64 of text', b64('hello')],
  ['base64 of truncated JSON', b64('{"dataCollectionId":')],
  ['JSON array', b64('[1,2]')],
  ['JSON number', b64('42')],
  ['JSON string', b64('"things"')],
  ['JSON null', b64('null')],
  ['JSON true', b64('true')],
  ['empty', ''],
  ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0x7b, 0x7d]).toString('base64url')],
];

function dotRCases(): Case[] {
  const routes: [Method, string, unknown?][] = [
    ['GET', `${DATA}/items/query?dataCollectionId=${C}`],
    ['GET', `${ALT}/items/query?dataCollectionId=${C}`],
    ['GET', `${DATA}/items/${itemId(1)}?dataCollectionId=${C}`],
    ['DELETE', `${DATA}/items/${itemId(1)}?dataCollectionId=${C}`],
    ['GET', `${DATA}/collections`],
    ['GET', `${DATA}/collections/${C}`],
    ['DELETE', `${DATA}/collections/victim`],
    ['GET', `${DATA}/indexes?dataCollectionId=${C}`],
    ['DELETE', `${DATA}/indexes?dataCollectionId=${C}&indexName=by_n`],
    ['GET', TASKS],
    ['GET', `${TASKS_ALT}/00000000-0000-7000-8000-000000000000`],
    ['GET', `${DATA}/async-jobs/00000000-0000-7000-8000-000000000000/status`],
    // A valid body does not make a bad `.r` pass.
    ['POST', `${DATA}/items/truncate`, { dataCollectionId: C }],
    ['POST', `${DATA}/items/remove`, { dataCollectionId: C, dataItemId: itemId(1) }],
    ['POST', `${DATA}/bulk/items/async-remove-by-filter`, { dataCollectionId: C }],
    ['POST', TASKS, { task: { type: 'DELETE_BY_QUERY', deleteByQueryOptions: { dataCollectionId: C } } }],
  ];
  const out: Case[] = [];
  for (const [method, path, body] of routes) {
    const sep = path.includes('?') ? '&' : '?';
    for (const [what, r] of BAD_DOT_R) {
      out.push({ name: `${method} ${path.split('?')[0]}: .r ${what}`, method, path: `${path}${sep}.r=${r}`, body, code: 'WDE0080' });
    }
    out.push({ name: `${method} ${path.split('?')[0]}: .r twice`, method, path: `${path}${sep}.r=${b64({})}&.r=${b64({})}`, body, code: 'WDE0080' });
  }
  return out;
}

/** Ids in paths: too long, NUL, SQL metacharacters, and ids that do not exist. */
function pathIdCases(): Case[] {
  const out: Case[] = [];
  const q = `?dataCollectionId=${C}`;
  const itemIds: [string, string | undefined][] = [
    ['x'.repeat(256), 'WDE0002'],
    ['a%00b', 'WDE0080'],
    ["a'b", 'WDE0073'],
    ['a%3BDROP%20TABLE%20items', 'WDE0073'],
    ['a%22b', 'WDE0073'],
    ['a--', 'WDE0073'],
    ['a%5Cb', 'WDE0073'],
  ];
  for (const [id, code] of itemIds) {
    const c = code === undefined ? {} : { code };
    out.push({ name: `GET item ${id.slice(0, 20)}`, method: 'GET', path: `${DATA}/items/${id}${q}`, ...c });
    out.push({ name: `DELETE item ${id.slice(0, 20)}`, method: 'DELETE', path: `${DATA}/items/${id}${q}`, ...c });
    out.push({ name: `PUT item ${id.slice(0, 20)}`, method: 'PUT', path: `${DATA}/items/${id}${q}`, body: { dataItem: { data: { title: 'x' } } }, ...c });
    out.push({ name: `PATCH item ${id.slice(0, 20)}`, method: 'PATCH', path: `${DATA}/items/${id}${q}`, body: { patch: { fieldModifications: [{ action: 'REMOVE_FIELD', fieldPath: 'title' }] } }, ...c });
  }
  const collectionIds: [string, string][] = [
    ["a'b", 'WDE0001'],
    ['a%3BDROP%20TABLE%20items', 'WDE0001'],
    ['a%22b', 'WDE0001'],
    ['a%5Cb', 'WDE0001'],
    ['a%00b', 'WDE0080'],
    ['a%20b', 'WDE0001'],
    ['x'.repeat(300), 'WDE0001'],
    ['nope', 'WDE0025'],
    ['a--', 'WDE0025'],
  ];
  for (const [id, code] of collectionIds) {
    out.push({ name: `GET collection ${id.slice(0, 20)}`, method: 'GET', path: `${DATA}/collections/${id}`, code });
    out.push({ name: `DELETE collection ${id.slice(0, 20)}`, method: 'DELETE', path: `${DATA}/collections/${id}`, code });
    out.push({ name: `sandbox of collection ${id.slice(0, 20)}`, method: 'POST', path: `/cairn/v1/collections/${id}/sandbox`, body: { enabled: true }, code });
  }
  const taskIds: [string, string][] = [
    ['nope', 'WDE0073'],
    ['00000000-0000-7000-8000-000000000000', 'WDE0073'],
    ["a'b", 'WDE0073'],
    ['a%3BDROP%20TABLE%20tasks', 'WDE0073'],
    ['a%00b', 'WDE0080'],
    ['x'.repeat(1000), 'WDE0073'],
  ];
  for (const [id, code] of taskIds) {
    out.push({ name: `GET task ${id.slice(0, 20)}`, method: 'GET', path: `${TASKS}/${id}`, code });
    out.push({ name: `DELETE task ${id.slice(0, 20)}`, method: 'DELETE', path: `${TASKS_ALT}/${id}`, code });
    out.push({ name: `task failures ${id.slice(0, 20)}`, method: 'GET', path: `/cairn/v1/tasks/${id}/failures`, code });
    out.push({ name: `job status ${id.slice(0, 20)}`, method: 'GET', path: `${DATA}/async-jobs/${id}/status`, code });
  }
  // Requests Node's HTTP parser refuses, and URLs that do not decode.
  out.push({ name: 'a URL over the header size limit', method: 'GET', path: `${DATA}/items/query?.r=${b64({ dataCollectionId: C, pad: 'x'.repeat(20_000) })}`, code: 'WDE0080', status: 431 });
  out.push({ name: 'a header over the size limit', method: 'POST', path: `${DATA}/items/truncate?dataCollectionId=${C}`, headers: { 'x-pad': 'y'.repeat(20_000) }, code: 'WDE0080', status: 431 });
  out.push({ name: 'a path that does not percent-decode', method: 'GET', path: `${DATA}/items/%E0%A4%A?dataCollectionId=${C}`, code: 'WDE0080', status: 400 });
  out.push({ name: 'an item id over the router limit', method: 'GET', path: `${DATA}/items/${'x'.repeat(2000)}?dataCollectionId=${C}`, code: 'WDE0080', status: 414 });
  out.push({ name: 'a task id over the router limit', method: 'DELETE', path: `${TASKS}/${'x'.repeat(2000)}`, code: 'WDE0080', status: 414 });
  out.push({ name: 'a query string that does not percent-decode', method: 'GET', path: `${DATA}/items/query?dataCollectionId=%E0%A4%A` });
  out.push({ name: 'task list with a bad limit', method: 'GET', path: `${TASKS}?paging.limit=-1`, code: 'WDE0034' });
  out.push({ name: 'task list with a huge limit', method: 'GET', path: `${TASKS}?paging.limit=1001`, code: 'WDE0036' });
  out.push({ name: 'task list with a text offset', method: 'GET', path: `${TASKS}?paging.offset=abc`, code: 'WDE0035' });
  out.push({ name: 'task list with paging a string', method: 'GET', path: `${TASKS}?.r=${b64({ paging: 'x' })}`, code: 'WDE0080' });
  return out;
}

/** Bulk requests that are valid as a whole but fail for every item: 200, every item failed, nothing written. */
function perItemCases(): { name: string; path: string; body: unknown; code: string; n: number }[] {
  const bulkPatch = (patches: unknown[]) => ({ dataCollectionId: C, patches, returnEntity: true });
  const out = [
    { name: 'bulk insert of existing ids', path: '/bulk/items/insert', body: { dataCollectionId: C, dataItems: [{ id: itemId(0), data: { title: 'x' } }, { id: itemId(1), data: {} }] }, code: 'WDE0074', n: 2 },
    { name: 'bulk insert of one existing id twice', path: '/bulk/items/insert', body: { dataCollectionId: C, dataItems: [{ id: itemId(0), data: {} }, { data: { _id: itemId(0) } }] }, code: 'WDE0074', n: 2 },
    { name: 'bulk update of missing ids', path: '/bulk/items/update', body: { dataCollectionId: C, dataItems: [{ id: 'nope1', data: {} }, { id: 'nope2', data: {} }] }, code: 'WDE0073', n: 2 },
    { name: 'bulk update with a condition that fails', path: '/bulk/items/update', body: { dataCollectionId: C, dataItems: [{ id: itemId(6), data: {} }, { id: itemId(7), data: {} }], condition: { filter: { n: { $lt: 0 } } } }, code: 'WDE0073', n: 2 },
    { name: 'bulk remove of missing ids', path: '/bulk/items/remove', body: { dataCollectionId: C, dataItemIds: ['nope1', 'nope2', "x'; DELETE FROM items; --"] }, code: 'WDE0073', n: 3 },
    { name: 'bulk remove with a condition that fails', path: '/bulk/items/remove', body: { dataCollectionId: C, dataItemIds: [itemId(8), itemId(9)], condition: { filter: { title: 'nope' } } }, code: 'WDE0073', n: 2 },
    { name: 'bulk patch of missing ids', path: '/bulk/items/patch', body: bulkPatch(['nope1', 'nope2'].map((dataItemId) => ({ dataItemId, fieldModifications: [{ action: 'REMOVE_FIELD', fieldPath: 'title' }] }))), code: 'WDE0073', n: 2 },
  ];
  for (const [what, id, mods, code] of clashingModifications().filter(([, id]) => id !== 'nope')) {
    out.push({ name: `bulk patch: ${what}`, path: '/bulk/items/patch', body: bulkPatch([{ dataItemId: id, fieldModifications: mods }]), code, n: 1 });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

for (const storeName of STORE_NAMES) {
  describe(`bad input gets a clean 4xx and writes nothing (${storeName})`, () => {
    let s: TestServer;
    let storeBefore: Awaited<ReturnType<typeof storeSnapshot>>;
    let apiBefore: Awaited<ReturnType<typeof apiSnapshot>>;
    let revision: string;
    let total = 0;

    before(async () => {
      s = await startServer(storeName);
      await seed(s.url);
      await s.cairn.runner?.whenIdle();
      const rev = async (id: string) => {
        const r = await send(s.url, { method: 'GET', path: `${DATA}/collections/${id}` });
        assert.equal(r.status, 200, r.text);
        return r.body.collection.revision as string;
      };
      revision = await rev(C);
      storeBefore = await storeSnapshot(s);
      apiBefore = await apiSnapshot(s.url, C);
      assert.equal(apiBefore.total, N);
    });
    after(() => s.close());

    /** Item count, latest item change, collections' revisions, indexes, tasks, schedules: any write moves one. */
    const fingerprint = async () =>
      JSON.stringify(
        await s.store.db.get(sql`SELECT (SELECT count(*) FROM items) AS items, (SELECT max(updated_date) FROM items) AS updated,
          (SELECT count(*) FROM collections) AS collections, (SELECT sum(revision) FROM collections) AS revisions,
          (SELECT count(*) FROM item_indexes) AS indexes, (SELECT count(*) FROM tasks) AS tasks,
          (SELECT count(*) FROM item_schedules) AS schedules`),
      );

    async function run(t: TestContext, cases: Case[]) {
      total += cases.length;
      t.diagnostic(`${cases.length} bad requests`);
      assertSwept(await sweep(s.url, cases, fingerprint), cases);
    }

    test('malformed and non-object JSON bodies, other content types, oversize bodies, unrepresentable numbers, extreme nesting', async (t) => {
      await run(t, malformedCases([DATA, ALT]));
    });

    test('a bad .r parameter on GET, DELETE and POST requests', async (t) => {
      await run(t, dotRCases());
    });

    test('items API: every field of every request, wrong', async (t) => {
      await run(t, itemBases(C).flatMap(casesOf));
    });

    test('items API under /_api/cloud-data/v2: bad collection ids and environments', async (t) => {
      const scope = new Set(['dataCollectionId', 'environment']);
      await run(t, itemBases(C, ALT).flatMap((b, i) => casesOf({ ...b, mutations: thin(b.mutations.filter((m) => scope.has(String(m.path[0]))), 4, i) })));
    });

    test('collections and indexes: every field of every request, wrong', async (t) => {
      await run(t, collectionBases(C, revision).flatMap(casesOf));
    });

    test('tasks and async jobs: every field, wrong', async (t) => {
      await run(t, taskBases(C, 'pub').flatMap(casesOf));
    });

    test('ids in paths: too long, NUL, SQL metacharacters, unknown', async (t) => {
      await run(t, pathIdCases());
    });

    test('bulk requests that fail for every item answer 200 with per-item errors', async () => {
      const failures: string[] = [];
      for (const c of perItemCases()) {
        const r = await send(s.url, { method: 'POST', path: DATA + c.path, body: c.body });
        total++;
        const results = r.body?.results as any[] | undefined;
        const codes = results?.map((x) => x.itemMetadata?.error?.code);
        if (r.status !== 200 || r.body.bulkActionMetadata?.totalFailures !== c.n || r.body.bulkActionMetadata?.totalSuccesses !== 0) {
          failures.push(`${c.name}: ${r.status} ${r.text.slice(0, 300)}`);
        } else if (!codes?.every((code) => code === c.code) || results?.some((x) => x.itemMetadata.success !== false || 'dataItem' in x)) {
          failures.push(`${c.name}: expected every item to fail with ${c.code}, got ${JSON.stringify(results).slice(0, 300)}`);
        } else if (hasStackKey(r.body)) failures.push(`${c.name}: a stack in the body`);
      }
      assert.deepEqual(failures, []);
    });

    test('after the sweep: nothing was written, nothing was queued, the server still serves', async (t) => {
      assert.ok(total >= 1000, `only ${total} bad requests were sent`);
      t.diagnostic(`${total} bad requests in all`);
      await s.cairn.runner?.whenIdle();
      const health = await send(s.url, { method: 'GET', path: '/healthz' });
      assert.equal(health.status, 200);
      assert.deepEqual(health.body, { status: 'ok' });
      const storeAfter = await storeSnapshot(s);
      assert.deepEqual(rowChanges(storeBefore.items, storeAfter.items), [], 'items were written');
      assert.deepEqual(storeAfter, storeBefore);
      const apiAfter = await apiSnapshot(s.url, C);
      assert.equal(apiAfter.total, apiBefore.total);
      assert.deepEqual(apiAfter, apiBefore);
    });

    test('names that only look like SQL are plain data: ids, values and legal field names such as a--', async () => {
      const id = "x'); DROP TABLE items; --";
      const data = { 'a--': "v' OR '1'='1", 'b-c_d': 'a;DROP TABLE items', quote: 'a"b', back: 'a\\b' };
      const ins = await send(s.url, { method: 'POST', path: `${DATA}/items`, body: { dataCollectionId: SCRATCH, dataItem: { id, data } } });
      assert.equal(ins.status, 200, ins.text);
      const got = await send(s.url, { method: 'GET', path: `${DATA}/items/${encodeURIComponent(id)}?dataCollectionId=${SCRATCH}` });
      assert.equal(got.status, 200, got.text);
      assert.deepEqual({ ...got.body.dataItem.data, _createdDate: undefined, _updatedDate: undefined, _owner: undefined }, { ...data, _id: id, _createdDate: undefined, _updatedDate: undefined, _owner: undefined });
      for (const filter of [{ 'a--': data['a--'] }, { 'b-c_d': { $startsWith: 'a;drop' } }, { _id: id }]) {
        const q = await send(s.url, {
          method: 'POST',
          path: `${DATA}/items/query`,
          body: { dataCollectionId: SCRATCH, query: { filter, sort: [{ fieldName: 'a--', order: 'DESC' }], fields: ['a--', 'quote'] } },
        });
        assert.equal(q.status, 200, q.text);
        assert.deepEqual(
          q.body.dataItems.map((d: any) => d.data),
          [{ _id: id, 'a--': data['a--'], quote: 'a"b' }],
        );
      }
      const patched = await send(s.url, {
        method: 'POST',
        path: `${DATA}/items/patch`,
        body: { dataCollectionId: SCRATCH, patch: { dataItemId: id, fieldModifications: [{ action: 'SET_FIELD', fieldPath: 'a--', setFieldOptions: { value: "'--" } }] } },
      });
      assert.equal(patched.status, 200, patched.text);
      assert.equal(patched.body.dataItem.data['a--'], "'--");
      // The tables are all still there, the other collections untouched.
      assert.deepEqual(await apiSnapshot(s.url, C), apiBefore);
      const removed = await send(s.url, { method: 'DELETE', path: `${DATA}/items/${encodeURIComponent(id)}?dataCollectionId=${SCRATCH}` });
      assert.equal(removed.status, 200, removed.text);
    });

    test('control: each base request, unchanged, is valid (so every case failed for its bad field)', async () => {
      const bases = [...itemBases(SCRATCH), ...collectionBases(SCRATCH, '?'), ...taskBases(SCRATCH, 'pub')];
      // Truncate empties the collection, and replacing the collection moves its revision: last.
      const last = new Set(['truncate', 'replace collection', 'replace collection (PUT with id)', 'drop index']);
      const ordered = [...bases.filter((b) => !last.has(b.name)), ...bases.filter((b) => last.has(b.name))];
      const failures: string[] = [];
      for (const b of ordered) {
        if (b.name.startsWith('replace collection')) {
          // The edits before it moved the revision on.
          const got = await send(s.url, { method: 'GET', path: `${DATA}/collections/${SCRATCH}` });
          (b.body as { collection: { revision: string } }).collection.revision = got.body.collection.revision;
        }
        const r = await send(s.url, b.params ? { method: b.method, path: `${b.path}?.r=${b64(b.params)}` } : { method: b.method, path: b.path, body: b.body });
        if (r.status !== 200) failures.push(`${b.name}: ${r.status} ${r.text.slice(0, 300)}`);
      }
      assert.deepEqual(failures, []);
      // A repeated id in one bulk insert: the first is written, the later ones fail (docs/errors.md).
      const dup = await send(s.url, {
        method: 'POST',
        path: `${DATA}/bulk/items/insert`,
        body: { dataCollectionId: SCRATCH, dataItems: [{ id: 'dupe', data: { k: 1 } }, { id: 'dupe', data: { k: 2 } }] },
      });
      assert.equal(dup.status, 200, dup.text);
      assert.deepEqual(
        dup.body.results.map((x: any) => [x.itemMetadata.success, x.itemMetadata.error?.code]),
        [
          [true, undefined],
          [false, 'WDE0074'],
        ],
      );
      await s.cairn.runner?.whenIdle();
      const health = await send(s.url, { method: 'GET', path: '/healthz' });
      assert.equal(health.status, 200);
    });
  });
}
