/**
 * What an API key may do, beyond the collection permissions that govern data. The two data scopes
 * and backups' are Wix's own names; the others are Cairn's, for its admin surfaces. The admin key holds all.
 */
export const SCOPES = {
  dataRead: 'SCOPE.DC-DATA.READ',
  dataWrite: 'SCOPE.DC-DATA.WRITE',
  collections: 'SCOPE.CAIRN.COLLECTIONS',
  tasks: 'SCOPE.CAIRN.TASKS',
  webhooks: 'SCOPE.CAIRN.WEBHOOKS',
  keys: 'SCOPE.CAIRN.KEYS',
  /** Wix's own name for "Manage Data Backups" (the backups client's permission scope). */
  backups: 'SCOPE.DC-DATA.MANAGE-BACKUPS',
} as const;

export type Scope = (typeof SCOPES)[keyof typeof SCOPES];

export const ALL_SCOPES: readonly Scope[] = Object.values(SCOPES);

export function isScope(s: unknown): s is Scope {
  return typeof s === 'string' && (ALL_SCOPES as readonly string[]).includes(s);
}
