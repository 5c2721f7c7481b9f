/** The collections list, and a form that creates one with its fields. */
import { useState, type FormEvent } from 'react';
import { api, enc, FIELD_TYPES, type Collection } from '../api';
import { ErrorText, useLoad } from '../ui';

export function CollectionsView() {
  const { data, error, reload } = useLoad(() => api<{ collections: Collection[] }>('GET', '/wix-data/v2/collections?paging.limit=1000'), []);
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
            </tr>
          ))}
          {data && data.collections.length === 0 && (
            <tr>
              <td colSpan={4} className="muted">
                No collections yet.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      <CreateCollection onCreated={reload} />
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
