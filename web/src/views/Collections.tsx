/** The collections list, a form that creates one with its fields, and the deleted ones a restore can bring back. */
import { useState, type FormEvent } from 'react';
import { api, enc, FIELD_TYPES, type Collection } from '../api';
import { ErrorText, useLoad, when } from '../ui';

interface DeletedCollection {
  collection: Collection;
  deletedDate: string;
  restorableUntil: string;
}

export function CollectionsView() {
  const { data, error, reload } = useLoad(() => api<{ collections: Collection[] }>('GET', '/wix-data/v2/collections?paging.limit=1000'), []);
  const deleted = useLoad(() => api<{ deletedCollections: DeletedCollection[] }>('GET', '/cairn/v1/collections/deleted?paging.limit=100'), []);
  const [actionError, setActionError] = useState<unknown>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  /** Runs a change, then reads both lists again. */
  async function act(change: () => Promise<unknown>) {
    setActionError(null);
    try {
      await change();
    } catch (err) {
      setActionError(err);
    }
    setConfirming(null);
    await Promise.all([reload(), deleted.reload()]);
  }
  return (
    <>
      <h2>Collections</h2>
      <ErrorText error={error} />
      <table>
        <thead>
          <tr>
            <th>ID</th>
            <th>Name</th>
            <th>Fields</th>
            <th>Permissions (read / insert / update / remove)</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {data?.collections.map((c) => (
            <tr key={c.id}>
              <td>
                <a href={`#/collections/${enc(c.id)}`}>{c.id}</a>
              </td>
              <td>{c.displayName}</td>
              <td>{c.fields.filter((f) => !f.systemField).map((f) => f.key).join(', ')}</td>
              <td>{c.permissions ? ['read', 'insert', 'update', 'remove'].map((k) => c.permissions?.[k]).join(' / ') : ''}</td>
              <td>
                {confirming === c.id ? (
                  <button className="danger" onClick={() => act(() => api('DELETE', `/wix-data/v2/collections/${enc(c.id)}`))}>
                    Really delete
                  </button>
                ) : (
                  <button className="link" onClick={() => setConfirming(c.id)}>
                    Delete
                  </button>
                )}
              </td>
            </tr>
          ))}
          {data && data.collections.length === 0 && (
            <tr>
              <td colSpan={5} className="muted">
                No collections yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <ErrorText error={actionError} />
      <CreateCollection onCreated={reload} />
      {deleted.data && deleted.data.deletedCollections.length > 0 && (
        <>
          <h3>Deleted collections</h3>
          <p className="muted">A deleted collection can be restored, with its items, indexes and references, until its retention ends.</p>
          <ErrorText error={deleted.error} />
          <table aria-label="Deleted collections">
            <thead>
              <tr>
                <th>ID</th>
                <th>Deleted</th>
                <th>Restorable until</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {deleted.data.deletedCollections.map((d) => (
                <tr key={d.collection.id}>
                  <td>{d.collection.id}</td>
                  <td>{when(d.deletedDate)}</td>
                  <td>{when(d.restorableUntil)}</td>
                  <td>
                    <button onClick={() => act(() => api('POST', `/wix-data/v2/collections/restore/${enc(d.collection.id)}`, {}))}>Restore</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </>
  );
}

interface FieldRow {
  key: string;
  type: string;
}

function CreateCollection({ onCreated }: { onCreated: () => void }) {
  const [id, setId] = useState('');
  const [fields, setFields] = useState<FieldRow[]>([{ key: '', type: 'TEXT' }]);
  const [error, setError] = useState<unknown>(null);
  const setField = (i: number, patch: Partial<FieldRow>) => setFields(fields.map((f, j) => (j === i ? { ...f, ...patch } : f)));
  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      const collection = {
        id: id.trim(),
        fields: fields.filter((f) => f.key.trim() !== '').map((f) => ({ key: f.key.trim(), type: f.type })),
      };
      await api('POST', '/wix-data/v2/collections', { collection });
      setId('');
      setFields([{ key: '', type: 'TEXT' }]);
      onCreated();
    } catch (err) {
      setError(err);
    }
  }
  return (
    <form className="panel" onSubmit={submit} aria-label="New collection">
      <h3>New collection</h3>
      <label>
        ID
        <input name="collectionId" value={id} onChange={(e) => setId(e.target.value)} placeholder="books" />
      </label>
      {fields.map((f, i) => (
        <div className="row" key={i}>
          <input aria-label={`Field ${i + 1} key`} value={f.key} onChange={(e) => setField(i, { key: e.target.value })} placeholder="field key" />
          <select aria-label={`Field ${i + 1} type`} value={f.type} onChange={(e) => setField(i, { type: e.target.value })}>
            {FIELD_TYPES.map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
          <button type="button" className="link" onClick={() => setFields(fields.filter((_, j) => j !== i))} disabled={fields.length === 1}>
            remove
          </button>
        </div>
      ))}
      <div className="row">
        <button type="button" onClick={() => setFields([...fields, { key: '', type: 'TEXT' }])}>
          Add field
        </button>
        <button type="submit" disabled={id.trim() === ''}>
          Create collection
        </button>
      </div>
      <ErrorText error={error} />
    </form>
  );
}
