/**
 * One collection: its schema and permissions, an items table over POST /items/query (filter, sort, offset
 * paging with the total count), an editor that inserts, updates and removes items, and a form
 * that starts a background task over the table's current filter and shows it live.
 */
import { useState, type FormEvent } from 'react';
import { api, enc, type Collection, type DataItem, type Task } from '../api';
import { cell, ErrorText, useLoad } from '../ui';
import { TaskProgress } from './TaskProgress';
import { PermissionsPanel } from './Permissions';

interface Query {
  filter: Record<string, unknown>;
  sort: { fieldName: string; order: 'ASC' | 'DESC' } | null;
  offset: number;
  limit: number;
}

const SYSTEM_COLUMNS = ['_id', '_createdDate', '_updatedDate', '_owner'];

export function CollectionView({ id }: { id: string }) {
  const schema = useLoad(() => api<{ collection: Collection }>('GET', `/wix-data/v2/collections/${enc(id)}`), [id]);
  const [query, setQuery] = useState<Query>({ filter: {}, sort: null, offset: 0, limit: 25 });
  const items = useLoad(
    () =>
      api<{ dataItems: DataItem[]; pagingMetadata: { total?: number; hasNext: boolean } }>('POST', '/wix-data/v2/items/query', {
        dataCollectionId: id,
        query: { filter: query.filter, sort: query.sort ? [query.sort] : [], paging: { limit: query.limit, offset: query.offset } },
        returnTotalCount: true,
      }),
    [id, query],
  );
  const [editing, setEditing] = useState<DataItem | 'new' | null>(null);
  const collection = schema.data?.collection;
  const userFields = collection?.fields.filter((f) => !f.systemField).map((f) => f.key) ?? [];
  // Items may hold keys the schema does not declare (Wix collections are schemaless): show them too.
  const extra = [...new Set((items.data?.dataItems ?? []).flatMap((it) => Object.keys(it.data)))].filter((k) => !k.startsWith('_') && !userFields.includes(k));
  const columns = ['_id', ...userFields, ...extra];
  const total = items.data?.pagingMetadata.total;
  const count = items.data?.dataItems.length ?? 0;

  return (
    <>
      <h2>
        <a href="#/collections">Collections</a> / {id}
      </h2>
      <ErrorText error={schema.error} />
      {collection && (
        <details>
          <summary>Schema ({collection.fields.length} fields)</summary>
          <table>
            <thead>
              <tr>
                <th>Key</th>
                <th>Type</th>
                <th>Name</th>
              </tr>
            </thead>
            <tbody>
              {collection.fields.map((f) => (
                <tr key={f.key} className={f.systemField ? 'muted' : ''}>
                  <td>{f.key}</td>
                  <td>{f.type}</td>
                  <td>{f.displayName}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
      {collection && <PermissionsPanel collectionId={id} />}
      <QueryForm fields={[...columns, ...SYSTEM_COLUMNS.slice(1)]} query={query} onApply={(q) => setQuery({ ...query, ...q, offset: 0 })} />
      <div className="row">
        <button onClick={() => setEditing('new')}>Insert item</button>
        <span className="muted" data-testid="item-range">
          {count === 0 ? 'No items' : `${query.offset + 1}–${query.offset + count}${total === undefined ? '' : ` of ${total}`}`}
        </span>
        <button disabled={query.offset === 0} onClick={() => setQuery({ ...query, offset: Math.max(0, query.offset - query.limit) })}>
          Previous
        </button>
        <button disabled={!items.data?.pagingMetadata.hasNext} onClick={() => setQuery({ ...query, offset: query.offset + query.limit })}>
          Next
        </button>
        <button className="link" onClick={() => void items.reload()}>
          Refresh
        </button>
      </div>
      <ErrorText error={items.error} />
      {editing && (
        <ItemEditor
          collectionId={id}
          item={editing === 'new' ? null : editing}
          fields={userFields}
          onDone={(changed) => {
            setEditing(null);
            if (changed) void items.reload();
          }}
        />
      )}
      <table className="items">
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c}>{c}</th>
            ))}
            <th />
          </tr>
        </thead>
        <tbody>
          {items.data?.dataItems.map((it) => (
            <tr key={it.id}>
              {columns.map((c) => (
                <td key={c}>{cell(it.data[c])}</td>
              ))}
              <td className="actions">
                <button className="link" onClick={() => setEditing(it)}>
                  Edit
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <TaskLauncher
        collectionId={id}
        filter={query.filter}
        // Array fields first: EDIT_FIELD_DATA edits arrays.
        fields={[...(collection?.fields ?? [])].filter((f) => !f.systemField).sort((a, b) => Number(b.type.startsWith('ARRAY')) - Number(a.type.startsWith('ARRAY'))).map((f) => f.key)}
        onEnded={() => void items.reload()}
      />
    </>
  );
}

function QueryForm({ fields, query, onApply }: { fields: string[]; query: Query; onApply: (q: Partial<Query>) => void }) {
  const [filter, setFilter] = useState(() => (Object.keys(query.filter).length ? JSON.stringify(query.filter) : ''));
  const [sortField, setSortField] = useState(query.sort?.fieldName ?? '');
  const [order, setOrder] = useState<'ASC' | 'DESC'>(query.sort?.order ?? 'ASC');
  const [limit, setLimit] = useState(query.limit);
  const [error, setError] = useState<unknown>(null);
  function submit(e: FormEvent) {
    e.preventDefault();
    let parsed: unknown = {};
    try {
      parsed = filter.trim() === '' ? {} : JSON.parse(filter);
    } catch {
      setError(new Error('The filter is not valid JSON'));
      return;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      setError(new Error('The filter must be a JSON object, like {"year": {"$gt": 2000}}'));
      return;
    }
    setError(null);
    onApply({ filter: parsed as Record<string, unknown>, sort: sortField ? { fieldName: sortField, order } : null, limit });
  }
  return (
    <form className="panel query" onSubmit={submit} aria-label="Query">
      <label className="grow">
        Filter
        <input name="filter" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder='{"year": {"$gt": 2000}}  (Wix query language)' spellCheck={false} />
      </label>
      <label>
        Sort by
        <select name="sort" aria-label="Sort by" value={sortField} onChange={(e) => setSortField(e.target.value)}>
          <option value="">(insertion order)</option>
          {fields.map((f) => (
            <option key={f}>{f}</option>
          ))}
        </select>
      </label>
      <label>
        Order
        <select name="order" aria-label="Order" value={order} onChange={(e) => setOrder(e.target.value as 'ASC' | 'DESC')}>
          <option>ASC</option>
          <option>DESC</option>
        </select>
      </label>
      <label>
        Page size
        <select name="limit" aria-label="Page size" value={limit} onChange={(e) => setLimit(Number(e.target.value))}>
          {[10, 25, 50, 100].map((n) => (
            <option key={n}>{n}</option>
          ))}
        </select>
      </label>
      <button type="submit">Apply</button>
      <ErrorText error={error} />
    </form>
  );
}

/** Without Cairn's own fields, which the server sets: what an editor may change. */
function editable(data: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(data).filter(([k]) => !SYSTEM_COLUMNS.includes(k)));
}

function ItemEditor({ collectionId, item, fields, onDone }: { collectionId: string; item: DataItem | null; fields: string[]; onDone: (changed: boolean) => void }) {
  const [text, setText] = useState(() => JSON.stringify(item ? editable(item.data) : Object.fromEntries(fields.map((f) => [f, null])), null, 2));
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [error, setError] = useState<unknown>(null);
  async function run(action: () => Promise<unknown>) {
    setError(null);
    try {
      await action();
      onDone(true);
    } catch (e) {
      setError(e);
    }
  }
  function parse(): Record<string, unknown> {
    const data = JSON.parse(text);
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error('The item must be a JSON object');
    return data;
  }
  const save = () =>
    run(() =>
      item
        ? api('POST', '/wix-data/v2/items/update', { dataCollectionId: collectionId, dataItem: { id: item.id, data: { ...parse(), _id: item.id } } })
        : api('POST', '/wix-data/v2/items', { dataCollectionId: collectionId, dataItem: { data: parse() } }),
    );
  return (
    <div className="panel editor" role="dialog" aria-label={item ? `Edit item ${item.id}` : 'New item'}>
      <h3>{item ? `Item ${item.id}` : 'New item'}</h3>
      <textarea name="item" rows={Math.min(20, text.split('\n').length + 1)} value={text} onChange={(e) => setText(e.target.value)} spellCheck={false} />
      <div className="row">
        <button onClick={save}>{item ? 'Save' : 'Insert'}</button>
        <button className="link" onClick={() => onDone(false)}>
          Cancel
        </button>
        {item &&
          (confirmDelete ? (
            <button className="danger" onClick={() => run(() => api('DELETE', `/wix-data/v2/items/${enc(item.id)}?dataCollectionId=${enc(collectionId)}`))}>
              Really delete
            </button>
          ) : (
            <button className="danger" onClick={() => setConfirmDelete(true)}>
              Delete
            </button>
          ))}
      </div>
      <ErrorText error={error} />
    </div>
  );
}

const OPERATIONS_EXAMPLE = '{"addItems": ["reviewed"]}';

function TaskLauncher({ collectionId, filter, fields, onEnded }: { collectionId: string; filter: Record<string, unknown>; fields: string[]; onEnded: () => void }) {
  const [type, setType] = useState<'DELETE_BY_QUERY' | 'EDIT_FIELD_DATA'>('EDIT_FIELD_DATA');
  const [fieldKey, setFieldKey] = useState('');
  const [operations, setOperations] = useState(OPERATIONS_EXAMPLE);
  const [taskIds, setTaskIds] = useState<string[]>([]);
  const [error, setError] = useState<unknown>(null);
  async function start(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      const task =
        type === 'DELETE_BY_QUERY'
          ? { type, deleteByQueryOptions: { dataCollectionId: collectionId, filter } }
          : { type, editFieldDataOptions: { dataCollectionId: collectionId, filter, fieldKey: fieldKey || fields[0], operations: JSON.parse(operations) } };
      const created = await api<{ task: Task }>('POST', '/cms/v1/tasks', { task });
      setTaskIds([created.task.id, ...taskIds]);
    } catch (err) {
      setError(err);
    }
  }
  const filterText = Object.keys(filter).length ? JSON.stringify(filter) : 'every item';
  return (
    <section className="panel">
      <form onSubmit={start} aria-label="Background task">
        <h3>Background task over the current filter</h3>
        <p className="muted">
          Filter: <code>{filterText}</code>
        </p>
        <div className="row">
          <label>
            Type
            <select name="taskType" aria-label="Type" value={type} onChange={(e) => setType(e.target.value as typeof type)}>
              <option value="EDIT_FIELD_DATA">EDIT_FIELD_DATA (edit an array field)</option>
              <option value="DELETE_BY_QUERY">DELETE_BY_QUERY (remove the matching items)</option>
            </select>
          </label>
          {type === 'EDIT_FIELD_DATA' && (
            <>
              <label>
                Field
                <select name="fieldKey" aria-label="Field" value={fieldKey || fields[0] || ''} onChange={(e) => setFieldKey(e.target.value)}>
                  {fields.map((f) => (
                    <option key={f}>{f}</option>
                  ))}
                </select>
              </label>
              <label className="grow">
                Operations
                <input name="operations" value={operations} onChange={(e) => setOperations(e.target.value)} spellCheck={false} />
              </label>
            </>
          )}
          <button type="submit">Start task</button>
        </div>
        <ErrorText error={error} />
      </form>
      {taskIds.map((t) => (
        <TaskProgress key={t} taskId={t} onEnded={onEnded} />
      ))}
    </section>
  );
}
