/**
 * Loads a hooks module (docs/hooks.md) and reads its hooks. Two export shapes, which may be mixed:
 *
 * 1. Velo names: `export function products_beforeInsert(item, context)`. The name is split at its
 *    last underscore into the collection id and the hook name; exports whose suffix is not a hook
 *    name (helpers such as `format_title`) are left alone.
 * 2. `export const hooks = { products: { beforeInsert(item, context) {...} } }`, also accepted as
 *    the default export's `hooks` property. Here every function must be named after a hook and
 *    every hook name must hold a function: a misspelt hook stops the server from starting
 *    instead of silently firing nothing. Other values (data the methods read through `this`)
 *    are left alone.
 *
 * A CommonJS module's `module.exports` arrives as the default export; its Velo-named functions are
 * read from there too. The same function found twice (as a named export and on the default
 * export) counts once; two different functions for one collection and hook are an error.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { HOOK_NAMES, isHookName, type CollectionHooks, type HookFunction, type HookName, type HookRegistry, type HooksSource } from './model.js';

type Obj = Record<string, unknown>;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Imports the module at `source` (a path; TypeScript works under tsx) or reads a module object. */
export async function loadHooks(source: HooksSource, cwd: string = process.cwd()): Promise<HookRegistry> {
  if (typeof source !== 'string') {
    if (!isObject(source)) throw new Error('hooks: expected the path of a hooks module or a module object');
    return hooksFromModule(source, 'the hooks module');
  }
  if (source.trim() === '') throw new Error('hooks: the module path is empty');
  const abs = resolve(cwd, source);
  if (!existsSync(abs)) throw new Error(`hooks: module ${abs} does not exist`);
  let mod: unknown;
  try {
    mod = await import(pathToFileURL(abs).href);
  } catch (e) {
    throw new Error(`hooks: cannot load ${abs}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
  return hooksFromModule(mod as Obj, abs);
}

/** The hooks a module (namespace or plain object) defines, in either shape. */
export function hooksFromModule(mod: Obj, where: string): HookRegistry {
  const found = new Map<string, Partial<Record<HookName, { original: HookFunction; call: HookFunction }>>>();
  const warnings: string[] = [];

  const add = (collectionId: string, name: HookName, fn: HookFunction, self: unknown, what: string): void => {
    let c = found.get(collectionId);
    if (!c) found.set(collectionId, (c = {}));
    const previous = c[name];
    if (previous) {
      if (previous.original === fn) return;
      throw new Error(`hooks: ${where} defines ${name} for collection [${collectionId}] twice (${what})`);
    }
    // Methods of a `hooks` object are called on it, so they may use `this`.
    c[name] = { original: fn, call: self === undefined ? fn : (value, context) => fn.call(self, value, context) };
  };

  const veloNames = (exports: Obj, what: string): void => {
    for (const key of Object.keys(exports)) {
      if (key === 'hooks' || key === 'default') continue;
      const value = exports[key];
      const at = key.lastIndexOf('_');
      if (typeof value !== 'function' || at <= 0) continue;
      const name = key.slice(at + 1);
      const collectionId = key.slice(0, at);
      if (isHookName(name)) add(collectionId, name, value as HookFunction, undefined, `${what}${key}`);
    }
  };

  const hooksObject = (hooks: unknown, what: string): void => {
    if (!isObject(hooks)) throw new Error(`hooks: ${where}: ${what} must be an object of collection ids to hook objects`);
    for (const [collectionId, perCollection] of Object.entries(hooks)) {
      if (!isObject(perCollection)) throw new Error(`hooks: ${where}: ${what}.${collectionId} must be an object of hook functions`);
      for (const [name, fn] of Object.entries(perCollection)) {
        if (!isHookName(name)) {
          // Data the hooks share through `this` may sit beside them; a function is a misspelt hook.
          if (typeof fn !== 'function') continue;
          throw new Error(`hooks: ${where}: ${what}.${collectionId}.${name} is not a hook Cairn fires (one of ${HOOK_NAMES.join(', ')})`);
        }
        if (typeof fn !== 'function') throw new Error(`hooks: ${where}: ${what}.${collectionId}.${name} must be a function`);
        add(collectionId, name, fn as HookFunction, perCollection, `${what}.${collectionId}.${name}`);
      }
    }
  };

  veloNames(mod, '');
  const dflt = mod.default;
  if (isObject(dflt)) veloNames(dflt, 'default.');
  if (mod.hooks !== undefined) hooksObject(mod.hooks, 'hooks');
  if (isObject(dflt) && dflt.hooks !== undefined && dflt.hooks !== mod.hooks) hooksObject(dflt.hooks, 'default.hooks');

  const collections = new Map<string, CollectionHooks>();
  for (const [collectionId, hooks] of found) {
    const out: Partial<Record<HookName, HookFunction>> = {};
    for (const name of HOOK_NAMES) {
      const h = hooks[name];
      if (h) out[name] = h.call;
    }
    collections.set(collectionId, Object.freeze(out));
  }
  if (collections.size === 0) warnings.push(`hooks: ${where} defines no hooks`);
  return { collections, warnings };
}
