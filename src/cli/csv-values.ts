/**
 * How CSV cells become item values on import, and item values become cells on export. The two
 * are written together so that export → import gives back the same items (README, CLI section):
 *
 * import, a cell is read as
 *   - empty: the field is left out of the item;
 *   - a JSON string literal (`"42"`, `""`): that string;
 *   - `null`: null; `true` / `false`: a boolean;
 *   - a JSON number (`-1.5`, `2e3`; not `007`, `+1`, `.5`, `1.`): a number;
 *   - starting with `{` or `[` and valid JSON: that value (`{"$date": "..."}` is a date, as in the API);
 *   - a full ISO 8601 timestamp (`2024-05-01T10:00:00Z`, `…T10:00:00.000+02:00`): a date;
 *   - anything else: the text as it is.
 *   A field the collection declares as text (TEXT, URL, EMAIL, ...) keeps every other cell as text;
 *   NUMBER, BOOLEAN, DATE and DATETIME fields only take cells that read as their type, and keep
 *   any other cell as text. (So a declared field round-trips when its values have its type.)
 * export, a value is written as
 *   - a string: as it is, unless import would read it as something else (`42`, `true`, `null`,
 *     `{...}`, an ISO timestamp, an empty string, or text starting with `"`): then JSON-quoted;
 *   - a number or boolean: as JSON; null: `null`; a missing field: an empty cell;
 *   - a date (`{"$date": iso}`) at the top level: its ISO string;
 *   - any other object or array: JSON (dates inside stay `{"$date": ...}`).
 */

export type CellType = 'auto' | 'text' | 'number' | 'boolean' | 'date';

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const ISO_TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})$/;

const TEXT_TYPES = new Set(['TEXT', 'RICH_TEXT', 'URL', 'EMAIL', 'SLUG', 'IMAGE', 'VIDEO', 'AUDIO', 'DOCUMENT', 'TIME', 'LANGUAGE', 'REFERENCE']);

/** The cell type of a declared field (collection `fields[].type`); `auto` for the rest. */
export function cellTypeOf(fieldType: unknown): CellType {
  if (typeof fieldType !== 'string') return 'auto';
  if (TEXT_TYPES.has(fieldType)) return 'text';
  if (fieldType === 'NUMBER') return 'number';
  if (fieldType === 'BOOLEAN') return 'boolean';
  if (fieldType === 'DATE' || fieldType === 'DATETIME') return 'date';
  return 'auto';
}

function jsonString(cell: string): string | undefined {
  if (cell.length < 2 || !cell.startsWith('"') || !cell.endsWith('"')) return undefined;
  try {
    const v: unknown = JSON.parse(cell);
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

function isoDate(cell: string): { $date: string } | undefined {
  if (!ISO_TIMESTAMP.test(cell)) return undefined;
  const t = Date.parse(cell);
  return Number.isNaN(t) ? undefined : { $date: new Date(t).toISOString() };
}

function number(cell: string): number | undefined {
  if (!NUMBER.test(cell)) return undefined;
  const n = Number(cell);
  return Number.isFinite(n) ? n : undefined;
}

/** A cell's value; `undefined` leaves the field out. */
export function cellValue(cell: string, type: CellType = 'auto'): unknown {
  if (cell === '') return undefined;
  const quoted = jsonString(cell);
  if (quoted !== undefined) return quoted;
  // Whatever the column's type: export writes null as `null` and the text "null" quoted.
  if (cell === 'null') return null;
  switch (type) {
    case 'text':
      return cell;
    case 'number':
      return number(cell) ?? cell;
    case 'boolean':
      return cell === 'true' ? true : cell === 'false' ? false : cell;
    case 'date':
      return isoDate(cell) ?? cell;
    case 'auto':
      break;
  }
  if (cell === 'true') return true;
  if (cell === 'false') return false;
  const n = number(cell);
  if (n !== undefined) return n;
  if (cell.startsWith('{') || cell.startsWith('[')) {
    try {
      return JSON.parse(cell) as unknown;
    } catch {
      return cell;
    }
  }
  return isoDate(cell) ?? cell;
}

const isDate = (v: unknown): v is { $date: string } =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { $date?: unknown }).$date === 'string';

/** A value's cell; '' for a missing field. */
export function valueCell(v: unknown): string {
  if (v === undefined) return '';
  if (typeof v === 'string') return cellValue(v) === v ? v : JSON.stringify(v);
  if (v === null || typeof v === 'number' || typeof v === 'boolean') return JSON.stringify(v);
  if (isDate(v)) return v.$date;
  return JSON.stringify(v);
}
