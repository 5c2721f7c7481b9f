/**
 * Collection permissions (`read`, `insert`, `update`, `remove`, each the lowest role allowed:
 * ANYONE < SITE_MEMBER < SITE_MEMBER_AUTHOR < ADMIN) applied to an identity. Every item call
 * resolves its scope through `itemAccess`, so every path (single, bulk, query, count, patch,
 * hooks) is checked the same way; the result rides on the ItemScope into the SQL:
 *
 * - `ownerOnly`: SITE_MEMBER_AUTHOR for a member: only rows whose owner is that member are in the
 *   scope (scopeWhere adds `owner = ?`), so other members' items are not read, counted, changed
 *   or removed, whatever ids or filter the call names.
 * - `ownerFixed`: the caller may not choose `_owner` (everyone but admins): new items are owned
 *   by the caller, existing items keep their owner.
 *
 * A special permissions set (src/collections/data-permissions.ts) naming the caller's member id
 * with the action ALLOWED lets it do the action whatever the role, on every item.
 */
import type { Collection, Role } from '../collections/model.js';
import { WixError } from '../errors.js';
import { actsAsAdmin, hasScope, memberOf, type Identity } from './identity.js';
import { SCOPES } from './scopes.js';
import { allowedSpecially } from '../collections/data-permissions.js';

export type ItemOperation = 'read' | 'insert' | 'update' | 'remove';

export interface ItemAccess {
  readonly ownerOnly: string | undefined;
  readonly ownerFixed: boolean;
}

const FULL: ItemAccess = { ownerOnly: undefined, ownerFixed: false };

const VERBS: Record<ItemOperation, string> = { read: 'read items of', insert: 'insert items into', update: 'update items of', remove: 'remove items from' };

function denied(op: ItemOperation, collection: Collection, needs: string): WixError {
  return new WixError('WDE0027', `Permission denied: to ${VERBS[op]} collection [${collection.id}] the caller must be ${needs}`, {
    collectionId: collection.id,
    operation: op,
  });
}

/** The access `identity` has for `op` on `collection`, or WDE0027. */
export function itemAccess(identity: Identity, collection: Collection, op: ItemOperation): ItemAccess {
  // An API key must hold the data scope for the kind of call, whoever it acts as.
  if (identity.kind === 'key') {
    const scope = op === 'read' ? SCOPES.dataRead : SCOPES.dataWrite;
    if (!hasScope(identity, scope)) {
      throw new WixError('WDE0027', `Permission denied: this API key does not hold ${scope}`, { collectionId: collection.id, operation: op });
    }
  }
  if (actsAsAdmin(identity)) return FULL;
  const role: Role = collection.permissions[op];
  const member = memberOf(identity);
  // A special permissions set naming this member allows the action on every item (not `_owner`).
  if (allowedSpecially(collection, member, op)) return { ownerOnly: undefined, ownerFixed: true };
  switch (role) {
    case 'ANYONE':
      return { ownerOnly: undefined, ownerFixed: true };
    case 'SITE_MEMBER':
      if (member === undefined) throw denied(op, collection, 'a site member');
      return { ownerOnly: undefined, ownerFixed: true };
    case 'SITE_MEMBER_AUTHOR':
      if (member === undefined) throw denied(op, collection, 'a site member');
      // Inserting makes the member the author; every other operation reaches their own items only.
      return { ownerOnly: op === 'insert' ? undefined : member, ownerFixed: true };
    default:
      throw denied(op, collection, 'an admin');
  }
}

/** Get My Permissions: whether the caller may do each action (on some items at least, for an author). */
export function myPermissions(identity: Identity, collection: Collection): Record<'itemRead' | 'itemInsert' | 'itemUpdate' | 'itemRemove', boolean> {
  const may = (op: ItemOperation) => {
    try {
      itemAccess(identity, collection, op);
      return true;
    } catch (e) {
      if (e instanceof WixError && e.code === 'WDE0027') return false;
      throw e;
    }
  };
  return { itemRead: may('read'), itemInsert: may('insert'), itemUpdate: may('update'), itemRemove: may('remove') };
}

/** Truncate and other whole-collection operations: admins (with the write scope) only. */
export function requireAdmin(identity: Identity, collection: Collection, what: string): void {
  if (identity.kind === 'key' && !hasScope(identity, SCOPES.dataWrite)) {
    throw new WixError('WDE0027', `Permission denied: this API key does not hold ${SCOPES.dataWrite}`, { collectionId: collection.id });
  }
  if (!actsAsAdmin(identity)) throw new WixError('WDE0027', `Permission denied: only an admin may ${what} collection [${collection.id}]`, { collectionId: collection.id });
}
