/**
 * Backups (docs/backups.md): take one, restore one (the collections ticked, after a
 * confirmation: all of them, or a partial restore), delete one; the restorations below. Backups and restorations start PENDING and the task runner
 * finishes them, so the view polls while any is pending.
 */
import { useEffect, useState } from 'react';
import { api, enc, type Backup, type Restoration } from '../api';
import { ErrorText, useLoad, when } from '../ui';

const size = (b: Backup) => (b.sizeInBytes === undefined ? '' : `${(Number(b.sizeInBytes) / 1024).toFixed(1)} KB`);

export function BackupsView() {
  const backups = useLoad(() => api<{ backups: Backup[] }>('GET', '/wix-data/v2/backups?paging.limit=100'), []);
  const restorations = useLoad(() => api<{ restorations: Restoration[] }>('GET', '/wix-data/v2/backups/restorations?paging.limit=20'), []);
  const [error, setError] = useState<unknown>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  /** The collections of the backup being restored that are ticked. */
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const pending = backups.data?.backups.some((b) => b.status === 'PENDING') || restorations.data?.restorations.some((r) => r.status === 'PENDING');

  useEffect(() => {
    if (!pending) return;
    const timer = setTimeout(() => void Promise.all([backups.reload(), restorations.reload()]), 500);
    return () => clearTimeout(timer);
  }, [pending, backups.data, restorations.data]);

  /** Every collection ticked: Restore Backup; some: Restore Partial Backup, each into itself. */
  function restore(b: Backup) {
    const id = enc(b.id);
    if (chosen.size === b.collections.length) return api('POST', `/wix-data/v2/backups/${id}/restore`, {});
    return api('POST', `/wix-data/v2/backups/${id}/partial-restore`, { restorationCollections: [...chosen].map((dataCollectionId) => ({ dataCollectionId })) });
  }

  async function act(fn: () => Promise<unknown>) {
    setError(null);
    try {
      await fn();
    } catch (e) {
      setError(e);
    }
    setConfirming(null);
    await Promise.all([backups.reload(), restorations.reload()]);
  }

  return (
    <>
      <h2>Backups</h2>
      <p className="muted">A backup holds every collection's live items and references. Restoring makes the collections' live items the backup's again.</p>
      <ErrorText error={backups.error} />
      <ErrorText error={error} />
      <button onClick={() => void act(() => api('POST', '/wix-data/v2/backups', {}))}>Take a backup</button>
      <table aria-label="Backups">
        <thead>
          <tr>
            <th>Backup</th>
            <th>Type</th>
            <th>Status</th>
            <th>Requested</th>
            <th>Collections</th>
            <th>Size</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {backups.data?.backups.map((b) => (
            <tr key={b.id}>
              <td>
                <code>{b.id.slice(0, 8)}…</code>
              </td>
              <td>{b.type}</td>
              <td>
                <span className={`status status-${b.status}`}>{b.status}</span>
              </td>
              <td>{when(b.requestedDate)}</td>
              <td>{b.collections.map((c) => c.id).join(', ')}</td>
              <td>{size(b)}</td>
              <td>
                {b.status === 'READY' &&
                  (confirming === b.id ? (
                    <span className="row">
                      {b.collections.map((c) => (
                        <label key={c.id}>
                          <input
                            type="checkbox"
                            checked={chosen.has(c.id)}
                            onChange={(e) => {
                              const next = new Set(chosen);
                              if (e.target.checked) next.add(c.id);
                              else next.delete(c.id);
                              setChosen(next);
                            }}
                          />
                          {c.id}
                        </label>
                      ))}
                      <button className="danger" disabled={chosen.size === 0} onClick={() => void act(() => restore(b))}>
                        Really restore {chosen.size === b.collections.length ? 'every collection' : `${chosen.size} of ${b.collections.length}`}
                      </button>
                    </span>
                  ) : (
                    <button
                      className="link"
                      onClick={() => {
                        setConfirming(b.id);
                        setChosen(new Set(b.collections.map((c) => c.id)));
                      }}
                    >
                      Restore
                    </button>
                  ))}{' '}
                <button className="link" onClick={() => void act(() => api('DELETE', `/wix-data/v2/backups/${enc(b.id)}`))}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
          {backups.data && backups.data.backups.length === 0 && (
            <tr>
              <td colSpan={7} className="muted">
                No backups yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <h3>Restorations</h3>
      <ErrorText error={restorations.error} />
      <table aria-label="Restorations">
        <thead>
          <tr>
            <th>Restoration</th>
            <th>Backup</th>
            <th>Status</th>
            <th>Requested</th>
            <th>Collections</th>
          </tr>
        </thead>
        <tbody>
          {restorations.data?.restorations.map((r) => (
            <tr key={r.id}>
              <td>
                <code>{r.id.slice(0, 8)}…</code>
              </td>
              <td>
                <code>{r.backup.id.slice(0, 8)}…</code>
              </td>
              <td>
                <span className={`status status-${r.status}`}>{r.status}</span>
              </td>
              <td>{when(r.requestedDate)}</td>
              <td>{r.restorationCollections.map((c) => c.dataCollectionId).join(', ')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
