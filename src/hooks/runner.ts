/**
 * Calls hooks: finds a collection's hooks, builds the context they receive, turns what a hook
 * throws into WDE0078, and runs onFailure (whose own errors are logged and ignored). What a hook
 * returns is checked by the caller (src/hooks/items.ts), which knows what it should be.
 */
import { WixError } from '../errors.js';
import type { WriteContext } from '../items/writer.js';
import { actsAsAdmin, memberOf } from '../auth/identity.js';
import type { CollectionHooks, HookContext, HookName, HookRegistry } from './model.js';

export interface HookLogger {
  warn(msg: string): void;
  error(obj: object, msg: string): void;
}

export class HookRunner {
  constructor(
    readonly registry: HookRegistry,
    private readonly log?: HookLogger,
  ) {
    for (const w of registry.warnings) log?.warn(w);
  }

  /** The collection's hooks, or undefined when it has none: one map lookup. */
  for(collectionId: unknown): CollectionHooks | undefined {
    return typeof collectionId === 'string' ? this.registry.collections.get(collectionId) : undefined;
  }

  /** The context every hook of one call receives (the only place it is built). */
  context(collectionId: string, write: WriteContext): HookContext {
    const role = actsAsAdmin(write.identity) ? 'ADMIN' : memberOf(write.identity) !== undefined ? 'SITE_MEMBER' : 'ANYONE';
    return { collectionName: collectionId, userId: write.ownerId, userRole: role };
  }

  /**
   * Calls the hook (sync or async) and returns what it returned; the caller has checked that the
   * collection has it. Whatever it throws or rejects with becomes WDE0078.
   */
  async call(hooks: CollectionHooks, name: Exclude<HookName, 'onFailure'>, value: unknown, context: HookContext): Promise<unknown> {
    const fn = hooks[name];
    if (!fn) return undefined;
    try {
      return await fn(value, context);
    } catch (e) {
      throw hookError(name, context.collectionName, e);
    }
  }

  /** onFailure(error, context), awaited; its own errors are logged and otherwise ignored. */
  async failure(hooks: CollectionHooks, error: unknown, context: HookContext): Promise<void> {
    const fn = hooks.onFailure;
    if (!fn) return;
    try {
      await fn(error, context);
    } catch (e) {
      this.log?.error({ err: e, collectionId: context.collectionName }, 'onFailure hook failed (ignored)');
    }
  }
}

/** WDE0078, with the thrown value in `data.jsErrorValue` (an Error as {message, name}). */
export function hookError(name: HookName, collectionId: string, thrown: unknown): WixError {
  const value = jsErrorValue(thrown);
  const message = thrown instanceof Error ? thrown.message : typeof thrown === 'string' ? thrown : safeJson(value);
  return new WixError('WDE0078', `${name} hook of collection [${collectionId}] failed: ${message}`, { jsErrorValue: value });
}

/** A problem with what a hook returned (not a JSON value, not the kind of value it must return). */
export function hookResultError(name: HookName, collectionId: string, problem: string): WixError {
  return new WixError('WDE0078', `${name} hook of collection [${collectionId}] ${problem}`, {
    jsErrorValue: { name: 'TypeError', message: `${name} ${problem}` },
  });
}

function jsErrorValue(thrown: unknown): unknown {
  if (thrown instanceof Error) return { message: thrown.message, name: thrown.name };
  try {
    // As JSON carries it: a value the reply could not carry (a BigInt, a cycle) becomes its text.
    const text = JSON.stringify(thrown);
    return text === undefined ? null : (JSON.parse(text) as unknown);
  } catch {
    return String(thrown);
  }
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
