/** API keys: the list (records only, never a key), creating one (shown once), revoking. */
import { useState, type FormEvent } from 'react';
import { api, enc, SCOPES, type ApiKey } from '../api';
import { ErrorText, useLoad, when } from '../ui';

export function KeysView() {
  const { data, error, reload } = useLoad(() => api<{ keys: ApiKey[] }>('GET', '/cairn/v1/keys'), []);
  const [revokeError, setRevokeError] = useState<unknown>(null);
  async function revoke(id: string) {
    try {
      await api('DELETE', `/cairn/v1/keys/${enc(id)}`);
      void reload();
    } catch (e) {
      setRevokeError(e);
    }
  }
  return (
    <>
      <h2>API keys</h2>
      <ErrorText error={error ?? revokeError} />
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Prefix</th>
            <th>Scopes</th>
            <th>Member</th>
            <th>Created</th>
            <th>Revoked</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {data?.keys.map((k) => (
            <tr key={k.id} className={k.revokedDate ? 'muted' : ''}>
              <td>
                {k.name}
                {k.admin ? ' (admin)' : ''}
              </td>
              <td>
                <code>{k.prefix}…</code>
              </td>
              <td>{k.scopes.join(', ')}</td>
              <td>{k.memberId ?? ''}</td>
              <td>{when(k.createdDate)}</td>
              <td>{when(k.revokedDate)}</td>
              <td>
                {!k.revokedDate && (
                  <button className="link" onClick={() => void revoke(k.id)}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
          {data && data.keys.length === 0 && (
            <tr>
              <td colSpan={7} className="muted">
                No stored keys (the CAIRN_ADMIN_KEY is not stored).
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <CreateKey onCreated={reload} />
    </>
  );
}

function CreateKey({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['SCOPE.DC-DATA.READ']);
  const [memberId, setMemberId] = useState('');
  const [created, setCreated] = useState<string>();
  const [error, setError] = useState<unknown>(null);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      const r = await api<{ apiKey: string }>('POST', '/cairn/v1/keys', { name, scopes, ...(memberId.trim() ? { memberId: memberId.trim() } : {}) });
      setCreated(r.apiKey);
      setName('');
      onCreated();
    } catch (err) {
      setError(err);
    }
  }
  return (
    <form className="panel" onSubmit={submit} aria-label="New API key">
      <h3>New API key</h3>
      <div className="row">
        <label>
          Name
          <input name="keyName" value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Acting as member (optional)
          <input name="memberId" value={memberId} onChange={(e) => setMemberId(e.target.value)} />
        </label>
      </div>
      <fieldset>
        <legend>Scopes</legend>
        {SCOPES.map((s) => (
          <label key={s} className="check">
            <input type="checkbox" checked={scopes.includes(s)} onChange={(e) => setScopes(e.target.checked ? [...scopes, s] : scopes.filter((x) => x !== s))} />
            {s}
          </label>
        ))}
      </fieldset>
      <button type="submit" disabled={!name.trim() || scopes.length === 0}>
        Create key
      </button>
      {created && (
        <p data-testid="new-key">
          The new key, shown only now: <code>{created}</code>
        </p>
      )}
      <ErrorText error={error} />
    </form>
  );
}
