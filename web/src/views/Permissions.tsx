/**
 * A collection's data permissions (docs/security.md, "Data permissions"): the access level of
 * each action, and the special permissions sets that let one member do some actions anyway.
 */
import { useState, type FormEvent } from 'react';
import { api, enc } from '../api';
import { ErrorText, useLoad } from '../ui';

const LEVELS = ['ANYONE', 'SITE_MEMBER', 'SITE_MEMBER_AUTHOR', 'CMS_EDITOR', 'PRIVILEGED'] as const;
const ACTIONS = [
  ['itemRead', 'Read'],
  ['itemInsert', 'Insert'],
  ['itemUpdate', 'Update'],
  ['itemRemove', 'Remove'],
] as const;
type Action = (typeof ACTIONS)[number][0];

interface Special extends Record<Action, 'ALLOWED' | 'UNSPECIFIED'> {
  id: string;
  userId?: string;
  policyId?: string;
}

interface DataPermissions extends Record<Action, string> {
  id: string;
  specialPermissions: Special[];
}

export function PermissionsPanel({ collectionId }: { collectionId: string }) {
  const loaded = useLoad(() => api<{ dataPermissions: DataPermissions }>('GET', `/wix-data/v1/permissions?dataCollectionId=${enc(collectionId)}`), [collectionId]);
  const [levels, setLevels] = useState<Partial<Record<Action, string>>>({});
  const [member, setMember] = useState('');
  const [allowed, setAllowed] = useState<Partial<Record<Action, boolean>>>({});
  const [error, setError] = useState<unknown>(null);
  const current = loaded.data?.dataPermissions;

  async function act(fn: () => Promise<unknown>) {
    setError(null);
    try {
      await fn();
      await loaded.reload();
      return true;
    } catch (e) {
      setError(e);
      return false;
    }
  }
  async function save(e: FormEvent) {
    e.preventDefault();
    if (await act(() => api('POST', '/wix-data/v1/permissions', { dataPermissions: { id: collectionId, ...levels } }))) setLevels({});
  }
  async function add(e: FormEvent) {
    e.preventDefault();
    const specialPermissions = { userId: member.trim(), ...Object.fromEntries(ACTIONS.map(([k]) => [k, allowed[k] ? 'ALLOWED' : 'UNSPECIFIED'])) };
    if (await act(() => api('POST', '/wix-data/v1/permissions/special', { dataCollectionId: collectionId, specialPermissions }))) {
      setMember('');
      setAllowed({});
    }
  }

  return (
    <details>
      <summary>Permissions</summary>
      <ErrorText error={loaded.error} />
      <ErrorText error={error} />
      {current && (
        <>
          <form className="row" aria-label="Access levels" onSubmit={save}>
            {ACTIONS.map(([key, label]) => (
              <label key={key}>
                {label}
                <select aria-label={`${label} level`} value={levels[key] ?? current[key]} onChange={(e) => setLevels({ ...levels, [key]: e.target.value })}>
                  {LEVELS.map((l) => (
                    <option key={l}>{l}</option>
                  ))}
                </select>
              </label>
            ))}
            <button type="submit" disabled={Object.keys(levels).length === 0}>
              Save levels
            </button>
          </form>
          <p className="muted">CMS_EDITOR and PRIVILEGED mean admins (API keys). A special permissions set lets one member (by member id) do the actions it allows on every item.</p>
          <table aria-label="Special permissions">
            <thead>
              <tr>
                <th>Member or role</th>
                {ACTIONS.map(([key, label]) => (
                  <th key={key}>{label}</th>
                ))}
                <th />
              </tr>
            </thead>
            <tbody>
              {current.specialPermissions.map((sp) => (
                <tr key={sp.id}>
                  <td>{sp.userId ?? `role ${sp.policyId}`}</td>
                  {ACTIONS.map(([key]) => (
                    <td key={key}>{sp[key] === 'ALLOWED' ? 'allowed' : ''}</td>
                  ))}
                  <td>
                    <button className="link" onClick={() => void act(() => api('DELETE', `/wix-data/v1/permissions/special/${enc(sp.id)}`))}>
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <form className="row" aria-label="New special permissions" onSubmit={add}>
            <input aria-label="Member id" value={member} onChange={(e) => setMember(e.target.value)} placeholder="member id" />
            {ACTIONS.map(([key, label]) => (
              <label key={key}>
                <input type="checkbox" checked={allowed[key] ?? false} onChange={(e) => setAllowed({ ...allowed, [key]: e.target.checked })} />
                {label}
              </label>
            ))}
            <button type="submit" disabled={member.trim() === ''}>
              Allow
            </button>
          </form>
        </>
      )}
    </details>
  );
}
