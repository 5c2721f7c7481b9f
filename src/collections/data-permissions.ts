/**
 * Data permissions (the published client's `permissions` module; docs/security.md, "Data
 * permissions"): a collection's permissions as access levels, and special permissions that let
 * one user do an action whatever the level.
 *
 * One source of truth: the collection's `permissions` roles, which itemAccess enforces. Access
 * levels map onto them: ANYONE, SITE_MEMBER and SITE_MEMBER_AUTHOR are the roles of the same
 * name; CMS_EDITOR and PRIVILEGED are both ADMIN (Cairn has no collaborators: admins are the
 * admin key and API keys). The levels last set are kept in the collection's `dataPermissions`
 * property, so that CMS_EDITOR and PRIVILEGED read back as set; a level whose role the
 * `permissions` since changed reads as the role's level (ADMIN: CMS_EDITOR, Wix's default for
 * writes).
 */
import { randomUUID } from 'node:crypto';
import { WixError } from '../errors.js';
import { describe } from '../query/parse.js';
import { asObject, optionalString } from '../validate.js';
import { isPlainObject, type JsonObject } from '../wire/json.js';
import type { Collection, Permissions, Role } from './model.js';

export const ACCESS_LEVELS = ['ANYONE', 'SITE_MEMBER', 'SITE_MEMBER_AUTHOR', 'CMS_EDITOR', 'PRIVILEGED'] as const;
export type AccessLevel = (typeof ACCESS_LEVELS)[number];

/** The four actions: the data permissions' key and the `permissions` key of each. */
export const ACTIONS = [
  ['itemRead', 'read'],
  ['itemInsert', 'insert'],
  ['itemUpdate', 'update'],
  ['itemRemove', 'remove'],
] as const satisfies readonly (readonly [string, keyof Permissions])[];

export type ActionKey = (typeof ACTIONS)[number][0];

const roleOf = (level: AccessLevel): Role => (level === 'CMS_EDITOR' || level === 'PRIVILEGED' ? 'ADMIN' : level);
const levelOf = (role: Role): AccessLevel => (role === 'ADMIN' ? 'CMS_EDITOR' : role);

/** A special permissions set: one user (or role) allowed some actions on one collection. */
export interface SpecialPermissions {
  id: string;
  userId?: string;
  policyId?: string;
  itemRead: 'ALLOWED' | 'UNSPECIFIED';
  itemInsert: 'ALLOWED' | 'UNSPECIFIED';
  itemUpdate: 'ALLOWED' | 'UNSPECIFIED';
  itemRemove: 'ALLOWED' | 'UNSPECIFIED';
}

/** The collection's access levels (see the module comment for how they follow `permissions`). */
export function accessLevelsOf(c: Collection): Record<ActionKey, AccessLevel> {
  const kept = isPlainObject(c.extras.dataPermissions) ? c.extras.dataPermissions : {};
  const out = {} as Record<ActionKey, AccessLevel>;
  for (const [key, op] of ACTIONS) {
    const level = kept[key];
    const valid = typeof level === 'string' && (ACCESS_LEVELS as readonly string[]).includes(level);
    out[key] = valid && roleOf(level as AccessLevel) === c.permissions[op] ? (level as AccessLevel) : levelOf(c.permissions[op]);
  }
  return out;
}

/** Get Permissions' `dataPermissions`. */
export function dataPermissionsToWire(c: Collection): JsonObject {
  return { id: c.id, ...accessLevelsOf(c), specialPermissions: (c.specialPermissions ?? []).map(specialToWire) };
}

export function specialToWire(sp: SpecialPermissions): JsonObject {
  return {
    id: sp.id,
    ...(sp.userId !== undefined ? { userId: sp.userId } : {}),
    ...(sp.policyId !== undefined ? { policyId: sp.policyId } : {}),
    itemRead: sp.itemRead,
    itemInsert: sp.itemInsert,
    itemUpdate: sp.itemUpdate,
    itemRemove: sp.itemRemove,
  };
}

/**
 * The collection with the access levels `raw` sets (`itemRead` ... `itemRemove`; those left out
 * stay as they are): its `permissions` roles follow, and the levels are kept as given. A value
 * that is not a level is WDE0075.
 */
export function withAccessLevels(c: Collection, raw: unknown, what: string): Collection {
  const given = asObject(raw, what, 'WDE0075');
  const levels = accessLevelsOf(c);
  const permissions = { ...c.permissions };
  for (const [key, op] of ACTIONS) {
    const v = given[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string' || !(ACCESS_LEVELS as readonly string[]).includes(v)) {
      throw new WixError('WDE0075', `${what}.${key} must be one of ${ACCESS_LEVELS.join(', ')}, got ${describe(v)}`);
    }
    levels[key] = v as AccessLevel;
    permissions[op] = roleOf(v as AccessLevel);
  }
  return { ...c, permissions, extras: { ...c.extras, dataPermissions: levels } };
}

const ACCESS = ['ALLOWED', 'UNSPECIFIED'] as const;

/**
 * A special permissions set as sent: exactly one of `userId` (Cairn: a member id, as member tokens
 * and member-bound API keys carry) and `policyId` (a role; Cairn has none, so it is kept but
 * matches no one), and each action ALLOWED or UNSPECIFIED (default). `base` is the set being
 * updated: its subject cannot change.
 */
export function specialPermissionsFrom(raw: unknown, what: string, base?: SpecialPermissions): SpecialPermissions {
  const sp = asObject(raw, what, 'WDE0075');
  const userId = optionalString(sp.userId, `${what}.userId`, 64);
  const policyId = optionalString(sp.policyId, `${what}.policyId`, 64);
  if (base) {
    if ((userId !== undefined && userId !== base.userId) || (policyId !== undefined && policyId !== base.policyId)) {
      throw new WixError('WDE0075', `${what}: the user or role of a special permissions set cannot change`);
    }
  } else if ((userId === undefined) === (policyId === undefined)) {
    throw new WixError('WDE0075', `${what} must name exactly one of userId and policyId`);
  }
  const action = (key: ActionKey) => {
    const v = sp[key];
    if (v === undefined || v === null) return base?.[key] ?? 'UNSPECIFIED';
    if (typeof v !== 'string' || !(ACCESS as readonly string[]).includes(v)) throw new WixError('WDE0075', `${what}.${key} must be ALLOWED or UNSPECIFIED, got ${describe(v)}`);
    return v as 'ALLOWED' | 'UNSPECIFIED';
  };
  return {
    id: base?.id ?? randomUUID(),
    ...(base ? (base.userId !== undefined ? { userId: base.userId } : { policyId: base.policyId as string }) : userId !== undefined ? { userId } : { policyId: policyId as string }),
    itemRead: action('itemRead'),
    itemInsert: action('itemInsert'),
    itemUpdate: action('itemUpdate'),
    itemRemove: action('itemRemove'),
  };
}

/** Whether a special permissions set of the collection lets this member do `op`. */
export function allowedSpecially(c: Collection, member: string | undefined, op: keyof Permissions): boolean {
  if (member === undefined || !c.specialPermissions?.length) return false;
  const key = ACTIONS.find(([, o]) => o === op)?.[0] as ActionKey;
  return c.specialPermissions.some((sp) => sp.userId === member && sp[key] === 'ALLOWED');
}
