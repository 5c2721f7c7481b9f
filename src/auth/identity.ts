/**
 * Who a request is from, resolved once per request (authenticate.ts) from its Authorization
 * header, and what that makes them for collection permissions.
 *
 * - The admin key (CAIRN_ADMIN_KEY, or the one generated on first start): every scope, ADMIN.
 * - An API key without a member: its scopes, and ADMIN for collection permissions (as a Wix API
 *   key acts for the site); the data scopes say whether it may read and write at all.
 * - An API key with a member id, or a member token (JWT): that site member.
 * - No credentials: an anonymous visitor.
 */
import type { Scope } from './scopes.js';

export type Identity =
  | { readonly kind: 'admin'; readonly keyId: string | undefined }
  | { readonly kind: 'key'; readonly keyId: string; readonly scopes: ReadonlySet<Scope>; readonly memberId: string | undefined }
  | { readonly kind: 'member'; readonly memberId: string }
  | { readonly kind: 'anonymous' };

export const ANONYMOUS: Identity = { kind: 'anonymous' };
export const ADMIN: Identity = { kind: 'admin', keyId: undefined };

/** True when the identity holds `scope` (members and visitors hold none: collection permissions govern them). */
export function hasScope(identity: Identity, scope: Scope): boolean {
  if (identity.kind === 'admin') return true;
  return identity.kind === 'key' && identity.scopes.has(scope);
}

/** The site member the identity acts as, if any. */
export function memberOf(identity: Identity): string | undefined {
  if (identity.kind === 'member') return identity.memberId;
  if (identity.kind === 'key') return identity.memberId;
  return undefined;
}

/** True for identities that act with the site's own authority (ADMIN in collection permissions). */
export function actsAsAdmin(identity: Identity): boolean {
  return identity.kind === 'admin' || (identity.kind === 'key' && identity.memberId === undefined);
}

/** A stable name for rate limiting and logs: never the secret itself. */
export function principalOf(identity: Identity): string | undefined {
  switch (identity.kind) {
    case 'admin':
      return `admin:${identity.keyId ?? 'env'}`;
    case 'key':
      return `key:${identity.keyId}`;
    case 'member':
      return `member:${identity.memberId}`;
    default:
      return undefined;
  }
}
