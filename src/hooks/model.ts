/**
 * Data hooks (docs/hooks.md): the Velo-style functions a user's hooks module supplies per
 * collection, and the context every hook receives.
 */

/** Every hook Cairn fires, by its Velo name. */
export const HOOK_NAMES = [
  'beforeInsert',
  'afterInsert',
  'beforeUpdate',
  'afterUpdate',
  'beforeRemove',
  'afterRemove',
  'beforeGet',
  'afterGet',
  'beforeQuery',
  'afterQuery',
  'beforeCount',
  'afterCount',
  'beforeDistinct',
  'afterDistinct',
  'onFailure',
] as const;

export type HookName = (typeof HOOK_NAMES)[number];

const KNOWN: ReadonlySet<string> = new Set(HOOK_NAMES);
export const isHookName = (s: string): s is HookName => KNOWN.has(s);

/**
 * What every hook receives as its second argument. Built in one place (HookRunner.context) from
 * the caller's identity (src/auth/identity.ts).
 */
export interface HookContext {
  /** The collection id. */
  readonly collectionName: string;
  /** The caller's id: the member for members, the site owner (CAIRN_OWNER_ID) for admins, null for visitors. */
  readonly userId: string | null;
  /** ADMIN for the admin key and API keys that act for the site, SITE_MEMBER for members, ANYONE for visitors. */
  readonly userRole: 'ADMIN' | 'SITE_MEMBER' | 'ANYONE';
}

// Hooks are user code: their arguments and results are checked where they are used.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type HookFunction = (value: any, context: HookContext) => unknown;

export type CollectionHooks = Readonly<Partial<Record<HookName, HookFunction>>>;

export interface HookRegistry {
  /** Collection id -> its hooks; a collection with no hooks has no entry. */
  readonly collections: ReadonlyMap<string, CollectionHooks>;
  /** Exports that look like hooks but are not fired (logged when the server starts). */
  readonly warnings: readonly string[];
}

/** A hooks module: its path (absolute, or relative to the working directory), or the module object itself. */
export type HooksSource = string | Record<string, unknown>;
