/**
 * Fixed planner statistics for the items table (SQLite).
 *
 * SQLite picks among the indexes on `items` by its statistics (sqlite_stat1). Without any, or
 * with ones measured while a collection was small, it judges the (collection_id, env) prefix
 * of `items_created` as selective as a user's field index and may read a whole collection for an
 * indexed equality. Measuring them (ANALYZE) costs a full pass over the table, hundreds of
 * milliseconds at a million items, during which writers wait: a stall for every request.
 *
 * The choice the planner has to make does not depend on the data: a collection is big, a
 * (collection, env) prefix selects all of it, an equality on a user's indexed field selects few
 * rows, an id one. So Cairn writes those proportions itself, once at start and whenever an
 * index is created or dropped, and never runs ANALYZE on items. SQLite documents writing
 * sqlite_stat1 by hand as a way to give plans that do not change with the data.
 */
import type { Executor } from '../db.js';
import { raw, sql } from '../sql.js';

/** The rows the statistics claim: the numbers only matter relative to each other. */
const ROWS = 1_000_000;

/**
 * Rows per key after each column of a user index, beyond (collection_id, env): the JSON type
 * column, then the value. An equality filter compiles to `value = v OR (type = 'array' AND an
 * element = v)`; both sides must look cheap for SQLite to answer it with two index searches, so
 * the type column claims few rows (arrays are rare in an indexed scalar field).
 */
const USER_TAIL = [100, 10, 10, 5, 5, 2, 2, 2];

/**
 * The row size every items index claims (`sz=`). Left to itself SQLite estimates widths from
 * the declared column types, takes a table row (whose JSON is hundreds of bytes) for little more
 * than an index entry, and reads a whole collection through `items_created`, or through a user's
 * index on another field, with a lookup of the row for every entry. Read in key order, the same
 * rows came 2.4–2.8× faster (100,000 items: a filtered count 359 → 129 ms, a filter sorted on
 * another field 359 → 134, distinct values 437 → 192; docs/benchmarks.md, sixth session of
 * 2026-12-05). With one size for all, the choice rests on the row counts above and the lookups:
 * a scan reads the table, an index serves a selective condition or the requested order.
 */
const ROW_SIZE = 100;

export async function writePlannerStats(tx: Executor): Promise<void> {
  // Creates sqlite_stat1 if it is missing, and measures nothing (no table is named).
  await tx.run(raw('ANALYZE sqlite_schema'));
  const indexes = await tx.all<{ name: string; unique: number; origin: string }>(sql`PRAGMA index_list(items)`);
  await tx.run(sql`DELETE FROM sqlite_stat1 WHERE tbl = 'items'`);
  for (const index of indexes) {
    const columns = (await tx.all(raw(`PRAGMA index_info("${index.name.replace(/"/g, '""')}")`))).length;
    let stat: number[];
    if (index.origin === 'pk') {
      // (collection_id, env, id): a collection, then one row.
      stat = [ROWS, ROWS, ROWS, 1];
    } else if (index.name === 'items_created') {
      stat = [ROWS, ROWS, ROWS, 10];
    } else {
      // A user's index: (collection_id, env, type, value, ...), or for a unique one
      // (env, type, value, ...) over one collection; the full key finds one row if unique.
      const tail = Array.from({ length: Math.max(0, columns - 2) }, (_, i) => USER_TAIL[i] ?? 2);
      stat = [ROWS, ROWS, ROWS, ...tail].slice(0, columns + 1);
      if (index.unique === 1) stat[stat.length - 1] = 1;
    }
    // WITHOUT ROWID: SQLite names the primary key's statistics after the table.
    const idx = index.origin === 'pk' ? 'items' : index.name;
    await tx.run(sql`INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('items', ${idx}, ${`${stat.join(' ')} sz=${ROW_SIZE}`})`);
  }
  // Makes the planner read sqlite_stat1 again.
  await tx.run(raw('ANALYZE sqlite_schema'));
}
