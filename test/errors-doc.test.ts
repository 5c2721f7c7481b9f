/**
 * docs/errors.md and the error registry (src/errors.ts ERROR_CODES) list the same codes: every
 * registered code has a row in the table with its HTTP status, and the page names no WDE code
 * that Cairn cannot answer with.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ERROR_CODES } from '../src/errors.js';

const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
const registered = Object.keys(ERROR_CODES) as (keyof typeof ERROR_CODES)[];

/** Table rows of the form `| WDE0001 | 400 | ... |`: code -> status as written. */
function tableRows(markdown: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of markdown.split('\n')) {
    const m = /^\|\s*`?(WDE\d{4}|[A-Z_]{3,})`?\s*\|\s*(\d{3})\s*\|/.exec(line);
    if (!m) continue;
    assert.ok(!rows.has(m[1] as string), `docs/errors.md has more than one row for ${m[1]}`);
    rows.set(m[1] as string, m[2] as string);
  }
  return rows;
}

test('every code in ERROR_CODES has a row in docs/errors.md', () => {
  const rows = tableRows(doc);
  const missing = registered.filter((code) => !rows.has(code));
  assert.deepEqual(missing, [], `codes missing from the table in docs/errors.md: ${missing.join(', ')}`);
});

test('the HTTP status in each row of docs/errors.md is the registered one', () => {
  const rows = tableRows(doc);
  for (const code of registered) {
    assert.equal(rows.get(code), String(ERROR_CODES[code].status), `status of ${code} in docs/errors.md`);
  }
});

test('every WDE code named in docs/errors.md is in ERROR_CODES', () => {
  const named = new Set(doc.match(/WDE\d{4}/g) ?? []);
  const unknown = [...named].filter((code) => !(code in ERROR_CODES)).sort();
  assert.deepEqual(unknown, [], `docs/errors.md names codes that are not in ERROR_CODES: ${unknown.join(', ')}`);
});
