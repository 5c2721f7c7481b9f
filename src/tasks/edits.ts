/**
 * Per-item edits of COPY_FIELD_DATA and EDIT_FIELD_DATA, as pure functions of the item's user
 * fields: a new object, `null` when nothing changes, or a WixError for a type clash.
 *
 * EDIT_FIELD_DATA applies its operations in this order (docs/tasks.md):
 *   1. replaceItems: every array element (or the value itself, for a non-array field) equal to a
 *      `from` becomes its `to` (the first rule that matches wins);
 *   2. removeItems: every element equal to a listed value is removed;
 *   3. addItems: the values are appended in order (a missing or null field becomes an array);
 *   4. removeDuplicates: later duplicates are dropped, the first of each stays.
 * Equality is deep JSON equality with object key order ignored, with one addition: a stored date
 * also equals its ISO string, because the published client sends a `Date` in these lists as that
 * string (and a replacement `to` in the same form then stays a date). addItems are stored as sent.
 * addItems/removeItems on a field that holds a non-array value are a per-item WDE0075 failure;
 * the item is left unchanged.
 */
import { WixError } from '../errors.js';
import { getPath } from '../query/evaluate.js';
import { applyModifications } from '../items/patch.js';
import { compileArrayAppend } from '../items/patch-sql.js';
import type { SqlEdit } from '../items/writer.js';
import { canonicalJson, dateValue, isDateValue, isSentDateString, type JsonObject, type JsonValue } from '../wire/json.js';
import type { TaskPlan } from './model.js';

const pathOf = (segments: string[]) => ({ segments });

function setField(fields: JsonObject, segments: string[], value: JsonValue): JsonObject | WixError {
  return applyModifications(fields, [{ action: 'SET_FIELD', path: pathOf(segments), value }]);
}

export function copyField(plan: Extract<TaskPlan, { type: 'COPY_FIELD_DATA' }>) {
  return (fields: JsonObject): JsonObject | WixError | null => {
    const value = getPath(fields, pathOf(plan.source));
    if (value === undefined) return null; // nothing to copy: the target is left as it is
    return setField(fields, plan.target, value);
  };
}

/** The keys a value is matched by: its canonical JSON, and for a date its ISO string's too. */
function matchKeys(v: JsonValue): string[] {
  return isDateValue(v) ? [canonicalJson(v), JSON.stringify(v.$date)] : [canonicalJson(v)];
}

/** A replacement for a stored date: an ISO string in the form a `Date` is sent in becomes a date. */
function asDateIfSent(to: JsonValue): JsonValue {
  return typeof to === 'string' && isSentDateString(to) ? dateValue(to) : to;
}

export function editField(plan: Extract<TaskPlan, { type: 'EDIT_FIELD_DATA' }>) {
  const replace = plan.replaceItems.map((r) => ({ from: canonicalJson(r.from), to: r.to }));
  const remove = new Set(plan.removeItems.map(canonicalJson));
  return (fields: JsonObject): JsonObject | WixError | null => {
    const current = getPath(fields, pathOf(plan.field));
    const before = current === undefined ? undefined : canonicalJson(current);
    let value: JsonValue | undefined = current;
    const replaced = (v: JsonValue): JsonValue => {
      const [key, iso] = matchKeys(v);
      const rule = replace.find((r) => r.from === key || r.from === iso);
      if (!rule) return v;
      return rule.from === key ? rule.to : asDateIfSent(rule.to);
    };
    if (Array.isArray(value)) {
      value = value.map(replaced);
      if (remove.size) value = value.filter((e) => !matchKeys(e).some((k) => remove.has(k)));
      value.push(...plan.addItems);
      if (plan.removeDuplicates) {
        const seen = new Set<string>();
        value = value.filter((e) => {
          const k = canonicalJson(e);
          if (seen.has(k)) return false;
          seen.add(k);
          return true;
        });
      }
    } else if (value === undefined || value === null) {
      if (plan.addItems.length) {
        value = [...plan.addItems];
        if (plan.removeDuplicates) value = [...new Map(value.map((e) => [canonicalJson(e), e])).values()];
      } else if (value === null && replace.length) value = replaced(null);
    } else {
      if (plan.addItems.length || plan.removeItems.length) {
        return new WixError('WDE0075', `Field ${plan.field.join('.')} is not an array: cannot add or remove elements`, {
          fieldKey: plan.field.join('.'),
        });
      }
      value = replaced(value);
    }
    if (value === undefined || canonicalJson(value) === before) return null;
    return setField(fields, plan.field, value);
  };
}

/**
 * EDIT_FIELD_DATA's set-based form, when SQL can express it: addItems alone (no replace, remove
 * or dedupe) is an append to an array. Items the SQL guards turn away fall back to editField.
 */
export function editFieldSql(plan: Extract<TaskPlan, { type: 'EDIT_FIELD_DATA' }>): SqlEdit | undefined {
  if (plan.addItems.length === 0 || plan.removeItems.length || plan.replaceItems.length || plan.removeDuplicates) return undefined;
  return (dialect, now) => compileArrayAppend(dialect, plan.field, plan.addItems, now);
}
