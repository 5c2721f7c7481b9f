/**
 * Item reads: get, query (offset and cursor paging) and count. Filtering, sorting and paging all
 * happen in SQL; JS only shapes the page of rows that comes back (projection, wire form).
 *
 * Cursors are opaque base64url JSON that carry everything a follow-up request needs (the client
 * sends only `cursorPaging.cursor` then): the raw filter, sort and projection, which are parsed
 * and validated again, the page size, the offset, and the last row's sort values, after which the
 * next page starts (a keyset; docs/ARCHITECTURE.md, Cursors).
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { WixError } from '../errors.js';
import { compilerFor, type FilterCompiler, type KeyValue, type OrderTerm } from '../query/compile.js';
import { fieldName, TRUE, type FieldPath, type FilterNode, type SortSpec } from '../query/ast.js';
import { describe, parseFields, parseFilter, parseSort } from '../query/parse.js';
import type { Db } from '../store/db.js';
import { join, raw, sql, type Sql } from '../store/sql.js';
import { distinctSource, distinctValue } from './distinct.js';
import { aggregateResult, aggregateSource, type AggregatePlan } from './aggregate.js';
import { searchFilter } from './search.js';
import { onlyRowWise, pipelineSql, rowWisePage } from '../query/pipeline/compile.js';
import type { PipelinePlan } from './pipeline.js';
import { asObject, optionalBoolean, optionalInt } from '../validate.js';
import { canonicalise, isPlainObject, setOwn, type JsonObject, type JsonValue } from '../wire/json.js';
import { toWireItem, wireItemJson, type WireItem } from './codec.js';
import { PointReads, scopeKey, type ItemRow } from './point-reads.js';
import type { ItemReadCache } from './read-cache.js';
import { documentWithStatus, scopeWhere, shownStatus, type ItemScope } from './scope.js';

export const PAGING = { defaultLimit: 50, defaultSearchLimit: 100, maxOffsetLimit: 1000, maxCursorLimit: 100 } as const;

/** Wix's default order: newest first. `_id` ascending always breaks ties. */
const DEFAULT_SORT: SortSpec[] = [{ field: { segments: ['_createdDate'] }, order: 'DESC' }];

interface ItemRowWithForm extends ItemRow {
  canon: number;
}

/** What a plan (and its cursors) reads: items, one field's distinct values (distinct.ts), or aggregation results (aggregate.ts). */
export type PlanKind = 'query' | 'distinct' | 'aggregate' | 'search' | 'pipeline';

export interface QueryPlan {
  kind: PlanKind;
  filter: FilterNode;
  sort: SortSpec[];
  fields: FieldPath[];
  limit: number;
  offset: number;
  mode: 'offset' | 'cursor';
  returnTotalCount: boolean;
  /** The raw pieces, re-encoded into the next cursor. */
  raw: { filter: unknown; sort: unknown; fields: unknown };
  /** A keyset cursor's start: the sort values of the row before this page (one per ORDER BY term). */
  after?: KeyValue[];
}

interface CursorState {
  v: 1;
  /** 'distinct' or 'aggregate' in those endpoints' cursors; absent in a query's. */
  t?: 'distinct' | 'aggregate' | 'search' | 'pipeline';
  c: string;
  e: string;
  f: unknown;
  s: unknown;
  p: unknown;
  o: number;
  l: number;
  /**
   * The sort values (one per ORDER BY term, `id` last) of the last row of the page before: the
   * next page starts after that row. Absent in `prev` cursors and in cursors from before keysets,
   * which page by the offset `o`.
   */
  k?: KeyValue[];
}

/** Integers past 2^53 do not survive a round trip through a double: such a page pages by offset. */
const isKeyValue = (v: unknown): v is KeyValue =>
  v === null || typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v) && (!Number.isInteger(v) || Number.isSafeInteger(v)));

/** The sort values of a row read with the `k0`, `k1`, ... columns; undefined when one cannot travel. */
function keyValues(row: Record<string, unknown>, n: number): KeyValue[] | undefined {
  const values: KeyValue[] = [];
  for (let i = 0; i < n; i++) {
    const v = row[`k${i}`];
    if (!isKeyValue(v)) return undefined;
    values.push(v);
  }
  return values;
}

const CURSOR_NAMES: Record<PlanKind, string> = { query: 'a query cursor', distinct: 'a distinct values cursor', aggregate: 'an aggregation cursor', search: 'a search cursor', pipeline: 'an aggregation pipeline cursor' };

/**
 * A search's `filter` slot carries its filter and its search details (search.ts), parsed
 * together; a pipeline's carries its stages, which pipeline.ts parses.
 */
const filterOf = (raw: unknown, kind: PlanKind): FilterNode => (kind === 'search' ? searchFilter(raw) : kind === 'pipeline' ? TRUE : parseFilter(raw));

/** Search pages hold 100 items unless told otherwise, queries 50 (Wix's defaults). */
const defaultLimit = (kind: PlanKind): number => (kind === 'search' ? PAGING.defaultSearchLimit : PAGING.defaultLimit);

/** An aggregation's `fields` slot carries its aggregation and finalFilter (aggregate.ts), not a projection. */
const fieldsOf = (raw: unknown, kind: PlanKind): FieldPath[] => (kind === 'aggregate' || kind === 'pipeline' ? [] : parseFields(raw));

function encodeCursor(state: CursorState): string {
  return Buffer.from(JSON.stringify(state)).toString('base64url');
}

function decodeCursor(cursor: string, scope: ItemScope, kind: PlanKind): CursorState {
  let state: unknown;
  try {
    state = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new WixError('WDE0165', 'Invalid cursor');
  }
  if (!isPlainObject(state) || state.v !== 1 || typeof state.o !== 'number' || typeof state.l !== 'number') {
    throw new WixError('WDE0165', 'Invalid cursor');
  }
  if (state.k !== undefined && !(Array.isArray(state.k) && state.k.length > 0 && state.k.every(isKeyValue))) {
    throw new WixError('WDE0165', 'Invalid cursor');
  }
  if (state.c !== scope.collection.id || state.e !== scope.env) {
    throw new WixError('WDE0165', 'The cursor belongs to another collection or environment');
  }
  if ((state.t ?? 'query') !== kind) throw new WixError('WDE0165', `Invalid cursor: not ${CURSOR_NAMES[kind]}`);
  return state as unknown as CursorState;
}

/**
 * Reads a Wix `query` object ({filter, sort, fields, paging | cursorPaging}). A distinct-values
 * request comes here in the same shape (distinct.ts), with `kind` 'distinct'.
 */
export function planQuery(rawQuery: unknown, returnTotalCount: unknown, scope: ItemScope, kind: PlanKind = 'query'): QueryPlan {
  const q = rawQuery === undefined || rawQuery === null ? {} : asObject(rawQuery, 'query');
  const total = optionalBoolean(returnTotalCount, 'returnTotalCount') ?? false;
  if (q.paging !== undefined && q.paging !== null && q.cursorPaging !== undefined && q.cursorPaging !== null) {
    throw new WixError('WDE0080', 'Use either paging or cursorPaging, not both');
  }
  if (q.cursorPaging !== undefined && q.cursorPaging !== null) {
    const cp = asObject(q.cursorPaging, 'query.cursorPaging');
    const limitArg = optionalInt(cp.limit, 'cursorPaging.limit', 0, PAGING.maxCursorLimit);
    if (cp.cursor !== undefined && cp.cursor !== null && typeof cp.cursor !== 'string') {
      throw new WixError('WDE0080', `cursorPaging.cursor must be a string, got ${describe(cp.cursor)}`);
    }
    if (typeof cp.cursor === 'string' && cp.cursor.length > 0) {
      const state = decodeCursor(cp.cursor, scope, kind);
      return {
        kind,
        filter: filterOf(state.f, kind),
        sort: parseSort(state.s),
        fields: fieldsOf(state.p, kind),
        limit: limitArg ?? optionalInt(state.l, 'cursor limit', 0, PAGING.maxCursorLimit) ?? defaultLimit(kind),
        offset: optionalInt(state.o, 'cursor offset', 0, Number.MAX_SAFE_INTEGER) ?? 0,
        mode: 'cursor',
        returnTotalCount: total,
        raw: { filter: state.f, sort: state.s, fields: state.p },
        ...(state.k ? { after: state.k } : {}),
      };
    }
    return {
      kind,
      filter: filterOf(q.filter, kind),
      sort: parseSort(q.sort),
      fields: fieldsOf(q.fields, kind),
      limit: limitArg ?? defaultLimit(kind),
      offset: 0,
      mode: 'cursor',
      returnTotalCount: total,
      raw: { filter: q.filter ?? null, sort: q.sort ?? null, fields: q.fields ?? null },
    };
  }
  const paging = q.paging === undefined || q.paging === null ? {} : asObject(q.paging, 'query.paging');
  return {
    kind,
    filter: filterOf(q.filter, kind),
    sort: parseSort(q.sort),
    fields: fieldsOf(q.fields, kind),
    limit: optionalInt(paging.limit, 'paging.limit', 0, PAGING.maxOffsetLimit) ?? defaultLimit(kind),
    offset: optionalInt(paging.offset, 'paging.offset', 0, Number.MAX_SAFE_INTEGER) ?? 0,
    mode: 'offset',
    returnTotalCount: total,
    raw: { filter: q.filter ?? null, sort: q.sort ?? null, fields: q.fields ?? null },
  };
}

/**
 * The start of a request whose paging sits at its root beside its other parts (distinct values,
 * aggregation): that paging as a query object's, and whether the request resumes from a cursor,
 * which then carries the rest (the SDK's follow-up sends only `cursorPaging`).
 */
export function rootPaging(p: JsonObject): { query: JsonObject; resumes: boolean } {
  const cursorPaging = p.cursorPaging === undefined || p.cursorPaging === null ? undefined : asObject(p.cursorPaging, 'cursorPaging');
  const query: JsonObject = {};
  if (p.paging !== undefined) query.paging = p.paging;
  if (p.cursorPaging !== undefined) query.cursorPaging = p.cursorPaging;
  return { query, resumes: typeof cursorPaging?.cursor === 'string' && cursorPaging.cursor.length > 0 };
}

/** Keeps only the projected paths (and `_id`); nested paths keep their parent objects. */
export function project(data: JsonObject, fields: readonly FieldPath[]): JsonObject {
  if (fields.length === 0) return data;
  const out: JsonObject = { _id: data._id as JsonValue };
  for (const f of fields) {
    let src: JsonValue | undefined = data;
    for (const s of f.segments) src = isPlainObject(src) && Object.hasOwn(src, s) ? src[s] : undefined;
    if (src === undefined) continue;
    let dst = out;
    f.segments.forEach((s, i) => {
      if (i === f.segments.length - 1) setOwn(dst, s, src);
      else {
        if (!Object.hasOwn(dst, s) || !isPlainObject(dst[s])) setOwn(dst, s, {});
        dst = dst[s] as JsonObject;
      }
    });
  }
  return out;
}

export interface PagingMetadata {
  count: number;
  offset?: number;
  total?: number;
  tooManyToCount?: boolean;
  hasNext: boolean;
  cursors: { next?: string; prev?: string };
}

export class ItemReader {
  /** PostgreSQL: concurrent reads by id share statements (point-reads.ts says why). */
  private readonly pointReads: PointReads | undefined;

  /**
   * `cache`: replies by id (read-cache.ts says when it serves): eventually consistent on
   * PostgreSQL, exact on SQLite files (checked against the store's change counter first).
   */
  constructor(
    private readonly db: Db,
    private readonly cache?: ItemReadCache,
  ) {
    this.pointReads = db.dialect === 'postgres' ? new PointReads(db) : undefined;
  }

  private where(scope: ItemScope, filter: FilterNode) {
    const compiler = compilerFor(this.db.dialect);
    return filter.kind === 'true' ? scopeWhere(scope) : sql`${scopeWhere(scope)} AND ${compiler.compile(filter)}`;
  }

  private toWire(scope: ItemScope, row: ItemRow, fields: readonly FieldPath[] = []): WireItem {
    const item = toWireItem(scope.collection.id, row.data, shownStatus(scope, row.publish_status));
    return fields.length ? { ...item, data: project(item.data, fields) } : item;
  }

  async get(scope: ItemScope, id: string, fields: readonly FieldPath[] = []): Promise<WireItem> {
    const row = this.pointReads
      ? await this.pointReads.get(scope, id)
      : await this.db.get<ItemRow>(sql`SELECT id, data, publish_status FROM items WHERE ${scopeWhere(scope)} AND id = ${id}`);
    if (!row) throw notFound(id, scope);
    return this.toWire(scope, row, fields);
  }

  /**
   * The item as the JSON text of a wire DataItem. `consistent` skips an eventually consistent
   * cache (PostgreSQL); SQLite's is exact, so it serves those reads too.
   */
  async getJson(scope: ItemScope, id: string, fields: readonly FieldPath[] = [], consistent = false): Promise<string> {
    const cache = this.cache;
    if (cache === undefined || fields.length > 0) return this.readJson(scope, id, fields);
    if (this.db.changeVersion) cache.sync(this.db.changeVersion());
    else if (consistent) return this.readJson(scope, id, fields);
    // Everything the reply depends on besides the row: the collection as this process knows it
    // (its revision changes with its plugins), the environment, drafts, the owner restriction.
    const c = scope.collection;
    const key = `${c.revision}\u0000${scopeKey(scope)}\u0000${id}`;
    const hit = cache.lookup(c.id, key);
    if (hit !== undefined) return hit;
    const ticket = cache.ticket(c.id);
    const json = await this.readJson(scope, id, fields);
    if (ticket) cache.store(ticket, key, json);
    return json;
  }

  /**
   * From the store. When the stored text is already in wire form (SQLite, written by Cairn's
   * serialiser, nothing to add or leave out) it is sent as it is: parsing, re-ordering and
   * re-serialising a document costs more than finding it.
   */
  private async readJson(scope: ItemScope, id: string, fields: readonly FieldPath[]): Promise<string> {
    if (this.db.dialect !== 'sqlite' || fields.length > 0 || shownStatus(scope, 'PUBLISHED') !== undefined) {
      return JSON.stringify(await this.get(scope, id, fields));
    }
    const row = await this.db.get<ItemRowWithForm>(sql`SELECT id, data, publish_status, canon FROM items WHERE ${scopeWhere(scope)} AND id = ${id}`);
    if (!row) throw notFound(id, scope);
    return row.canon === 1 ? wireItemJson(scope.collection.id, row.id, row.data) : JSON.stringify(this.toWire(scope, row));
  }

  async query(scope: ItemScope, plan: QueryPlan): Promise<{ dataItems: WireItem[]; pagingMetadata: PagingMetadata }> {
    const compiler = compilerFor(this.db.dialect);
    const terms = compiler.orderTerms(plan.sort.length ? plan.sort : DEFAULT_SORT);
    const { rows, pagingMetadata } = await this.page<ItemRow>(compiler, scope, plan, terms, {
      select: sql`id, data, publish_status`,
      from: sql`items`,
      where: this.where(scope, plan.filter),
      count: () => this.count(scope, plan.filter),
    });
    return { dataItems: rows.map((r) => this.toWire(scope, r, plan.fields)), pagingMetadata };
  }

  /** One field's distinct values among the matching items (distinct.ts says how they are read). */
  async distinct(scope: ItemScope, plan: QueryPlan): Promise<{ distinctValues: JsonValue[]; pagingMetadata: PagingMetadata }> {
    const compiler = compilerFor(this.db.dialect);
    const { source, sort } = distinctSource(this.db.dialect, plan, this.where(scope, plan.filter));
    const { rows, pagingMetadata } = await this.page<{ id: string }>(compiler, scope, plan, compiler.orderTerms(sort), {
      select: sql`id`,
      from: sql`(${source}) AS d`,
      count: async () => Number((await this.db.get<{ n: number }>(sql`SELECT count(*) AS n FROM (${source}) AS d`))?.n ?? 0),
    });
    return { distinctValues: rows.map((r) => distinctValue(r.id)), pagingMetadata };
  }

  /** Aggregation results (aggregate.ts says how they are computed). */
  async aggregate(scope: ItemScope, a: AggregatePlan): Promise<{ results: JsonValue[]; pagingMetadata: PagingMetadata }> {
    const compiler = compilerFor(this.db.dialect);
    const { source, finalWhere, sort } = aggregateSource(this.db.dialect, a, this.where(scope, a.plan.filter));
    const filtered = finalWhere ? sql`(${source}) AS d WHERE ${finalWhere}` : sql`(${source}) AS d`;
    const { rows, pagingMetadata } = await this.page<{ data: string }>(compiler, scope, a.plan, compiler.orderTerms(sort), {
      select: sql`data`,
      from: sql`(${source}) AS d`,
      ...(finalWhere ? { where: finalWhere } : {}),
      count: async () => Number((await this.db.get<{ n: number }>(sql`SELECT count(*) AS n FROM ${filtered}`))?.n ?? 0),
    });
    return { results: rows.map((r) => aggregateResult(r.data)), pagingMetadata };
  }

  /**
   * An aggregation pipeline's results (src/query/pipeline/ says how they are computed), in the
   * order of its last stage. The leading filter stages select the items, as a query's filter.
   */
  async pipeline(scope: ItemScope, pp: PipelinePlan): Promise<{ results: JsonValue[]; pagingMetadata: PagingMetadata }> {
    const compiler = compilerFor(this.db.dialect);
    const document = documentWithStatus(scope.collection, this.db.dialect, raw('data'), raw('publish_status'));
    const where = this.where(scope, pp.leading);
    try {
      // Stages that only reshape documents keep the items' own order: page the items as a query
      // does (an index serves the order and the keyset), and run the stages on the page alone.
      // Otherwise each document is numbered in its stage's order, and the page read by number.
      const { rows, pagingMetadata } = onlyRowWise(pp.stages)
        ? await this.page<{ data: unknown }>(compiler, scope, pp.plan, compiler.orderTerms(DEFAULT_SORT), {
            select: sql`data`,
            from: sql`items`,
            where,
            count: async () => Number((await this.db.get<{ n: number }>(sql`SELECT count(*) AS n FROM items WHERE ${where}`))?.n ?? 0),
            mapPage: (page) => rowWisePage(this.db.dialect, pp.stages, document, page),
          })
        : await this.pageNumbered(compiler, scope, pp, document, where);
      return { results: rows.map((r) => canonicalise((typeof r.data === 'string' ? JSON.parse(r.data) : r.data) as JsonValue)), pagingMetadata };
    } catch (e) {
      // PostgreSQL's float8 arithmetic fails past the range of a double, where the evaluator
      // (and SQLite's cairn_px) answer the same error.
      if ((e as { code?: unknown }).code === '22003') throw new WixError('WDE0080', 'A number computed by the pipeline is out of range');
      throw e;
    }
  }

  /** A pipeline's page read by each document's number (`ord`) in the order of its last reordering stage. */
  private pageNumbered(compiler: FilterCompiler, scope: ItemScope, pp: PipelinePlan, document: Sql, where: Sql) {
    const { source, mapPage } = pipelineSql(this.db.dialect, where, pp.stages, document);
    const terms: OrderTerm[] = [{ expr: raw('ord'), dir: 'ASC', nullsFirst: false, explicitNulls: false, notNull: true }];
    return this.page<{ data: unknown }>(compiler, scope, pp.plan, terms, {
      select: sql`data`,
      from: sql`(${source}) AS d`,
      count: async () => Number((await this.db.get<{ n: number }>(sql`SELECT count(*) AS n FROM (${source}) AS d`))?.n ?? 0),
      ...(mapPage ? { mapPage } : {}),
    });
  }

  /**
   * One page of `from` in the order of `terms`, and its paging metadata: offset pages with
   * `LIMIT n+1 OFFSET k`, cursor pages after a keyset (the cursor carries the previous page's last
   * sort values). `from` is `items` for a query, the derived table of distinct values for those.
   */
  private async page<R>(
    compiler: FilterCompiler,
    scope: ItemScope,
    plan: QueryPlan,
    terms: readonly OrderTerm[],
    src: {
      select: Sql;
      from: Sql;
      where?: Sql;
      count: () => Promise<number>;
      /** Row-wise work done on the page's rows only (columns kept); the page is then read in order again. */
      mapPage?: (page: Sql) => Sql;
    },
  ): Promise<{ rows: R[]; pagingMetadata: PagingMetadata }> {
    let where = src.where;
    // A keyset cursor starts its page right after the previous page's last row, found by its sort
    // values: no OFFSET, so page n costs what page 1 does, and items removed or added before the
    // cursor meanwhile shift nothing.
    const after = plan.after;
    if (after !== undefined) {
      if (after.length !== terms.length) throw new WixError('WDE0165', 'Invalid cursor');
      const keyset = compiler.keysetAfter(terms, after);
      where = where ? sql`${where} AND ${keyset}` : keyset;
    }
    // Cursor pages also read each row's sort values, for the next cursor.
    const keyColumns = plan.mode === 'cursor' ? sql`, ${join(terms.map((t, i) => sql`${t.expr} AS ${raw(`k${i}`)}`), ', ')}` : sql``;
    // One row more than the page tells whether there is a next page without counting.
    const order = compiler.renderOrder(terms);
    const window = sql` ORDER BY ${order} LIMIT ${plan.limit + 1} OFFSET ${after === undefined ? plan.offset : 0}`;
    const rows = await this.db.all<R & Record<string, unknown>>(
      src.mapPage
        ? sql`SELECT ${src.select}${keyColumns} FROM (${src.mapPage(sql`SELECT * FROM ${src.from}${where ? sql` WHERE ${where}` : sql``}${window}`)}) AS m ORDER BY ${order}`
        : sql`SELECT ${src.select}${keyColumns} FROM ${src.from}${where ? sql` WHERE ${where}` : sql``}${window}`,
    );
    // A page of 0 items can never move a pager forward: answer it with no next page (and no
    // cursors), so a client that loops on hasNext/cursors.next stops.
    const hasNext = plan.limit > 0 && rows.length > plan.limit;
    const page = rows.length > plan.limit ? rows.slice(0, plan.limit) : rows;
    const meta: PagingMetadata = { count: page.length, hasNext, cursors: {} };
    if (plan.mode === 'offset') {
      meta.offset = plan.offset;
      if (plan.returnTotalCount) {
        meta.total = await src.count();
        meta.tooManyToCount = false;
      }
    } else {
      const state = (o: number, k?: KeyValue[]): CursorState => ({
        v: 1,
        ...(plan.kind === 'query' ? {} : { t: plan.kind }),
        c: scope.collection.id,
        e: scope.env,
        f: plan.raw.filter,
        s: plan.raw.sort,
        p: plan.raw.fields,
        o,
        l: plan.limit,
        ...(k ? { k } : {}),
      });
      if (hasNext) meta.cursors.next = encodeCursor(state(plan.offset + plan.limit, keyValues(page[page.length - 1] as Record<string, unknown>, terms.length)));
      // Going back is by offset: the previous page's first row is not known here.
      if (plan.offset > 0 && plan.limit > 0) meta.cursors.prev = encodeCursor(state(Math.max(0, plan.offset - plan.limit)));
    }
    return { rows: page, pagingMetadata: meta };
  }

  async count(scope: ItemScope, filter: FilterNode): Promise<number> {
    const row = await this.db.get<{ n: number }>(sql`SELECT count(*) AS n FROM items WHERE ${this.where(scope, filter)}`);
    return Number(row?.n ?? 0);
  }

  /**
   * How many items match, for a task's `estimatedItemCount`. On SQLite a statement runs on the
   * event loop, and one count over a large collection holds every other request for as long as
   * it takes: about 0.3 s for a million items without a filter, seconds with a filter on a field
   * with no index (a task created under read load showed it as its slowest GET). There it counts
   * ESTIMATE_SLICE ids at a time in id order, as the runner's batches walk them, and lets the
   * event loop turn between slices. The slices are read at different moments, so a write landing
   * meanwhile may be counted or not: an estimate, as the field's name says, and exact otherwise.
   */
  async estimateCount(scope: ItemScope, filter: FilterNode): Promise<number> {
    if (this.db.dialect !== 'sqlite') return this.count(scope, filter);
    const where = this.where(scope, filter);
    let total = 0;
    let after: string | undefined;
    for (;;) {
      const from = after === undefined ? sql`` : sql` AND id > ${after}`;
      const bound = await this.db.get<{ id: string }>(
        sql`SELECT id FROM items WHERE ${scopeWhere(scope)}${from} ORDER BY id LIMIT 1 OFFSET ${ESTIMATE_SLICE - 1}`,
      );
      const upTo = bound === undefined ? sql`` : sql` AND id <= ${bound.id}`;
      const row = await this.db.get<{ n: number }>(sql`SELECT count(*) AS n FROM items WHERE ${where}${from}${upTo}`);
      total += Number(row?.n ?? 0);
      if (bound === undefined) return total;
      after = bound.id;
      await yieldToEventLoop();
    }
  }
}

/** Ids per slice of an estimate's count on SQLite: a few milliseconds each, with a filter. */
export const ESTIMATE_SLICE = 10_000;

export function notFound(id: string, scope: ItemScope): WixError {
  return new WixError('WDE0073', `Item [${id}] does not exist in collection [${scope.collection.id}]`, {
    itemId: id,
    collectionId: scope.collection.id,
  });
}

export { fieldName };
