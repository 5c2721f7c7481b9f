/**
 * The body of `wix.data.v2.data_collection_data_collection_changed_event` (the collections
 * client's DataCollectionChangedEvent): what an update did to a collection's fields, plugins and
 * data permissions, each in the form GET shows. Fields are matched by key, plugins by type.
 * Properties with nothing in them are left out, as Wix's JSON leaves out empty lists.
 */
import { accessLevelsOf } from './data-permissions.js';
import { canonicalJson, type JsonObject, type JsonValue } from '../wire/json.js';
import type { Collection } from './model.js';

type Named = readonly JsonObject[];

function diff(before: Named, after: Named, name: (x: JsonObject) => string): { added: JsonObject[]; updated: JsonObject[]; removed: JsonObject[] } {
  const old = new Map(before.map((x) => [name(x), x]));
  const now = new Map(after.map((x) => [name(x), x]));
  const added = after.filter((x) => !old.has(name(x)));
  const removed = before.filter((x) => !now.has(name(x)));
  const updated: JsonObject[] = [];
  for (const x of after) {
    const previous = old.get(name(x));
    if (previous && canonicalJson(previous) !== canonicalJson(x)) updated.push({ previous, current: x });
  }
  return { added, updated, removed };
}

export function collectionChanges(before: Collection, after: Collection): JsonObject | undefined {
  const fields = diff(before.fields, after.fields, (f) => String(f.key));
  const plugins = diff(before.plugins, after.plugins, (p) => String(p.type));
  const out: JsonObject = {};
  if (fields.added.length) out.fieldsAdded = fields.added;
  if (fields.updated.length) out.fieldsUpdated = fields.updated;
  if (fields.removed.length) out.fieldsRemoved = fields.removed;
  if (plugins.added.length) out.pluginsAdded = plugins.added;
  if (plugins.updated.length) out.pluginsUpdated = plugins.updated;
  if (plugins.removed.length) out.pluginsRemoved = plugins.removed;
  // The access levels (data-permissions.ts), whichever way they changed: levels or roles.
  const permissions = (c: Collection): JsonValue => accessLevelsOf(c);
  if (canonicalJson(permissions(before)) !== canonicalJson(permissions(after))) {
    out.permissionsUpdated = { previous: permissions(before), current: permissions(after) };
  }
  return Object.keys(out).length ? out : undefined;
}
