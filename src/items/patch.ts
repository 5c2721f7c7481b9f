/**
 * Field modifications (Patch / BulkPatch): parsing, with request-level errors for shapes that are
 * invalid as a whole, and applying them to one item, with per-item errors for type clashes.
 *
 * Semantics (docs/patch.md says the same for users):
 * - Modifications apply in order; an item gets all of them or none (a clash leaves it unchanged).
 * - SET_FIELD sets the value, creating missing parent objects.
 * - REMOVE_FIELD deletes the field; a missing field or parent is not an error.
 * - INCREMENT_FIELD adds a number (negative to decrement); a missing field counts as 0.
 * - APPEND_TO_ARRAY appends the value as one element; a missing field becomes a one-element array.
 * - REMOVE_FROM_ARRAY removes the first element equal to the value (deep equality, object key
 *   order ignored); a missing field or no equal element is not an error.
 * - A path that runs through a value that is not an object, incrementing a non-number and
 *   appending to / removing from a non-array are per-item WDE0075 failures.
 * - System fields (_id, _createdDate, _updatedDate, _owner, _publishStatus) cannot be patched.
 */
import { WixError } from '../errors.js';
import type { FieldPath } from '../query/ast.js';
import { parseFieldPath } from '../query/parse.js';
import { asArray, asObject, oneOf } from '../validate.js';
import { canonicalJson, isDateValue, isPlainObject, setOwn, type JsonObject, type JsonValue } from '../wire/json.js';
import { normaliseData } from './codec.js';

export const PATCH_ACTIONS = ['SET_FIELD', 'REMOVE_FIELD', 'INCREMENT_FIELD', 'APPEND_TO_ARRAY', 'REMOVE_FROM_ARRAY'] as const;
export type PatchAction = (typeof PATCH_ACTIONS)[number];

export type FieldModification =
  | { readonly action: 'SET_FIELD'; readonly path: FieldPath; readonly value: JsonValue }
  | { readonly action: 'REMOVE_FIELD'; readonly path: FieldPath }
  | { readonly action: 'INCREMENT_FIELD'; readonly path: FieldPath; readonly by: number }
  | { readonly action: 'APPEND_TO_ARRAY'; readonly path: FieldPath; readonly value: JsonValue }
  | { readonly action: 'REMOVE_FROM_ARRAY'; readonly path: FieldPath; readonly value: JsonValue };

export interface ItemPatch {
  readonly id: string;
  readonly modifications: readonly FieldModification[];
}

const OPTIONS_KEY: Record<PatchAction, string | undefined> = {
  SET_FIELD: 'setFieldOptions',
  REMOVE_FIELD: undefined,
  INCREMENT_FIELD: 'incrementFieldOptions',
  APPEND_TO_ARRAY: 'appendToArrayOptions',
  REMOVE_FROM_ARRAY: 'removeFromArrayOptions',
};
const ALL_OPTION_KEYS = Object.values(OPTIONS_KEY).filter((k): k is string => k !== undefined);

const PROTECTED = new Set(['_id', '_createdDate', '_updatedDate', '_owner', '_publishStatus']);

export const MAX_MODIFICATIONS = 100;

export function parseModification(raw: unknown, where: string): FieldModification {
  const m = asObject(raw, where);
  const action = oneOf(m.action, PATCH_ACTIONS, `${where}.action`);
  const fieldPath = m.fieldPath;
  const path = parseFieldPath(fieldPath, `${where}.fieldPath`);
  if (PROTECTED.has(path.segments[0] as string)) {
    throw new WixError('WDE0080', `${where}: system field ${String(fieldPath)} cannot be patched`);
  }
  const expected = OPTIONS_KEY[action];
  for (const key of ALL_OPTION_KEYS) {
    if (key !== expected && m[key] !== undefined && m[key] !== null) {
      throw new WixError('WDE0080', `${where}: ${key} does not go with action ${action}`);
    }
  }
  if (action === 'REMOVE_FIELD') return { action, path };
  const opts = m[expected as string];
  if (!isPlainObject(opts) || !('value' in opts)) {
    throw new WixError('WDE0080', `${where}: action ${action} needs ${expected}.value`);
  }
  if (action === 'INCREMENT_FIELD') {
    if (typeof opts.value !== 'number' || !Number.isFinite(opts.value)) {
      throw new WixError('WDE0080', `${where}: incrementFieldOptions.value must be a number`);
    }
    return { action, path, by: opts.value };
  }
  const value = normaliseData(opts.value ?? null);
  return { action, path, value } as FieldModification;
}

export function parseModifications(raw: unknown, where: string): FieldModification[] {
  const list = asArray(raw, `${where}.fieldModifications`);
  if (list.length === 0) throw new WixError('WDE0080', `${where}.fieldModifications must not be empty`);
  if (list.length > MAX_MODIFICATIONS) throw new WixError('WDE0080', `${where} has more than ${MAX_MODIFICATIONS} field modifications`);
  return list.map((m, i) => parseModification(m, `${where}.fieldModifications[${i}]`));
}

export function parsePatch(raw: unknown, where: string): ItemPatch {
  const p = asObject(raw, where);
  const id = p.dataItemId;
  if (typeof id !== 'string' || id.length === 0) throw new WixError('WDE0002', `${where}.dataItemId must be a non-empty string`);
  return { id, modifications: parseModifications(p.fieldModifications, where) };
}

function clash(m: FieldModification, reason: string): WixError {
  const path = m.path.segments.join('.');
  return new WixError('WDE0075', `Cannot ${m.action} at ${path}: ${reason}`, { fieldPath: path, action: m.action });
}

/**
 * Applies the modifications to a copy of the item's user data. Returns the new data, or the
 * per-item error (the item is then left as it was).
 */
/**
 * A field's own value: a field named like an Object.prototype member (`constructor`, `toString`,
 * `__proto__`) is missing unless the item has it, as on the SQL paths.
 */
function ownValue(o: JsonObject, k: string): JsonValue | undefined {
  return Object.hasOwn(o, k) ? o[k] : undefined;
}

export function applyModifications(data: JsonObject, modifications: readonly FieldModification[]): JsonObject | WixError {
  // Copy-on-write: every object on a modified path and every modified array is copied before it
  // changes, so `data` itself is never touched and a clash can simply return.
  const root: JsonObject = { ...data };
  for (const m of modifications) {
    const segments = m.path.segments;
    let parent: JsonObject = root;
    for (let i = 0; i < segments.length - 1; i++) {
      const s = segments[i] as string;
      const next = ownValue(parent, s);
      if (next === undefined || next === null) {
        if (m.action === 'REMOVE_FIELD' || m.action === 'REMOVE_FROM_ARRAY') {
          parent = {};
          break;
        }
        const created: JsonObject = {};
        setOwn(parent, s, created);
        parent = created;
      } else if (isPlainObject(next) && !isDateValue(next)) {
        const copy: JsonObject = { ...next };
        setOwn(parent, s, copy);
        parent = copy;
      } else {
        return clash(m, `${segments.slice(0, i + 1).join('.')} is not an object`);
      }
    }
    const key = segments[segments.length - 1] as string;
    const current = ownValue(parent, key);
    switch (m.action) {
      case 'SET_FIELD':
        // Values are fresh from the request and never mutated in place (arrays are copied below).
        setOwn(parent, key, m.value);
        break;
      case 'REMOVE_FIELD':
        delete parent[key];
        break;
      case 'INCREMENT_FIELD': {
        if (current !== undefined && current !== null && typeof current !== 'number') return clash(m, 'the field is not a number');
        const next = ((current as number | null | undefined) ?? 0) + m.by;
        if (!Number.isFinite(next)) return clash(m, 'the result is not a finite number');
        setOwn(parent, key, next);
        break;
      }
      case 'APPEND_TO_ARRAY':
        if (current === undefined || current === null) setOwn(parent, key, [m.value]);
        else if (Array.isArray(current)) setOwn(parent, key, [...current, m.value]);
        else return clash(m, 'the field is not an array');
        break;
      case 'REMOVE_FROM_ARRAY': {
        if (current === undefined || current === null) break;
        if (!Array.isArray(current)) return clash(m, 'the field is not an array');
        const target = canonicalJson(m.value);
        const at = current.findIndex((e) => canonicalJson(e) === target);
        if (at >= 0) setOwn(parent, key, [...current.slice(0, at), ...current.slice(at + 1)]);
        break;
      }
    }
  }
  return root;
}
