/** Generated identifiers. */
import { randomBytes } from 'node:crypto';

let lastIdMs = 0;
let idSeq = 0;

/**
 * A UUID version 7: 48 bits of real time in ms, then a 12-bit sequence that counts up within
 * one millisecond, then random bits. Ids created by this process sort in creation order.
 *
 * Tasks: this breaks ties between tasks with the same created_date (the business clock may stand
 * still, as in tests), so that listing is newest first and claiming oldest first.
 * Items without a caller's `_id`: new items land at the end of the (collection, env, id) key
 * order, so bulk inserts append to the primary-key b-tree instead of splitting pages all over
 * it, and items inserted together sit together for the id-ordered walks of tasks and cursors.
 */
export function timeOrderedId(): string {
  let ms = Date.now();
  if (ms <= lastIdMs) {
    ms = lastIdMs;
    if (++idSeq > 0xfff) {
      ms += 1;
      idSeq = 0;
    }
  } else idSeq = 0;
  lastIdMs = ms;
  return uuidV7(ms, idSeq);
}

/**
 * The UUID version 7 for a time (ms since the epoch) and a 12-bit sequence within that
 * millisecond, the remaining bits random. The benchmarks use it to load items with the ids
 * Cairn would have given them when they were created.
 */
export function uuidV7(ms: number, seq: number): string {
  const b = randomBytes(16);
  b.writeUIntBE(ms, 0, 6);
  b[6] = 0x70 | ((seq >> 8) & 0x0f);
  b[7] = seq & 0xff;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
