/** Webhook subscriptions, a form to add one, and the selected webhook's delivery log. */
import { useEffect, useState, type FormEvent } from 'react';
import { api, enc, type Delivery, type Webhook } from '../api';
import { ErrorText, useLoad, when } from '../ui';

const EVENT_TYPES = [
  'wix.data.v2.data_item_created',
  'wix.data.v2.data_item_updated',
  'wix.data.v2.data_item_deleted',
  'wix.data.v2.data_collection_created',
  'wix.data.v2.data_collection_updated',
  'wix.data.v2.data_collection_deleted',
  'cairn.tasks.v1.task_status_changed',
  'cairn.tasks.v1.task_progress',
];

export function WebhooksView({ selected }: { selected: string | undefined }) {
  const { data, error, reload } = useLoad(() => api<{ webhooks: Webhook[] }>('GET', '/cairn/v1/webhooks'), []);
  const [deleteError, setDeleteError] = useState<unknown>(null);
  async function remove(id: string) {
    try {
      await api('DELETE', `/cairn/v1/webhooks/${enc(id)}`);
      if (selected === id) location.hash = '#/webhooks';
      void reload();
    } catch (e) {
      setDeleteError(e);
    }
  }
  return (
    <>
      <h2>Webhooks</h2>
      <ErrorText error={error ?? deleteError} />
      <table>
        <thead>
          <tr>
            <th>URL</th>
            <th>Events</th>
            <th>Collection</th>
            <th>Source</th>
            <th>Created</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {data?.webhooks.map((w) => (
            <tr key={w.id} className={w.id === selected ? 'selected' : ''}>
              <td>
                <a href={`#/webhooks/${enc(w.id)}`}>{w.url}</a>
              </td>
              <td>{w.events.join(', ')}</td>
              <td>{w.dataCollectionId ?? 'all'}</td>
              <td>{w.source}</td>
              <td>{when(w.createdDate)}</td>
              <td>
                {w.source === 'API' && (
                  <button className="link" onClick={() => void remove(w.id)}>
                    Delete
                  </button>
                )}
              </td>
            </tr>
          ))}
          {data && data.webhooks.length === 0 && (
            <tr>
              <td colSpan={6} className="muted">
                No webhooks.
              </td>
            </tr>
          )}
        </tbody>
      </table>
      {selected && <Deliveries key={selected} webhookId={selected} />}
      <CreateWebhook onCreated={reload} />
    </>
  );
}

function Deliveries({ webhookId }: { webhookId: string }) {
  const [status, setStatus] = useState('');
  const { data, error, reload } = useLoad(
    () => api<{ deliveries: Delivery[] }>('GET', `/cairn/v1/webhooks/${enc(webhookId)}/deliveries?limit=100${status ? `&status=${status}` : ''}`),
    [webhookId, status],
  );
  const [replayError, setReplayError] = useState<unknown>(null);
  // Delivery state moves on by itself (retries, the worker): keep the log current while it is open.
  useEffect(() => {
    const timer = setInterval(() => void reload(), 3000);
    return () => clearInterval(timer);
  }, [reload]);
  async function replay(eventId: string) {
    setReplayError(null);
    try {
      await api('POST', `/cairn/v1/webhooks/${enc(webhookId)}/deliveries/replay`, { eventId });
      void reload();
    } catch (e) {
      setReplayError(e);
    }
  }
  return (
    <section className="panel">
      <div className="row">
        <h3>Deliveries</h3>
        <select aria-label="Delivery status" value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">all</option>
          <option>PENDING</option>
          <option>DELIVERED</option>
          <option>DEAD</option>
        </select>
        <button className="link" onClick={() => void reload()}>
          Refresh
        </button>
      </div>
      <ErrorText error={error ?? replayError} />
      <table>
        <thead>
          <tr>
            <th>Seq</th>
            <th>Event</th>
            <th>Entity</th>
            <th>Status</th>
            <th>Attempts</th>
            <th>Last answer</th>
            <th>Next attempt / delivered</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {data?.deliveries.map((d) => (
            <tr key={d.entityEventSequence}>
              <td>{d.entityEventSequence}</td>
              <td>{d.eventType}</td>
              <td>{d.entityId}</td>
              <td>
                <span className={`status status-${d.status}`}>{d.status}</span>
              </td>
              <td>{d.attempts}</td>
              <td>{d.lastStatus ?? ''} {d.lastError ?? ''}</td>
              <td>{when(d.deliveredAt ?? d.nextAttemptAt)}</td>
              <td className="actions">
                {d.eventId && d.status !== 'PENDING' && (
                  <button className="link" onClick={() => void replay(d.eventId!)}>
                    Replay
                  </button>
                )}
              </td>
            </tr>
          ))}
          {data && data.deliveries.length === 0 && (
            <tr>
              <td colSpan={8} className="muted">
                No deliveries.
              </td>
            </tr>
          )}
        </tbody>
      </table>
    </section>
  );
}

function CreateWebhook({ onCreated }: { onCreated: () => void }) {
  const [url, setUrl] = useState('');
  const [collection, setCollection] = useState('');
  const [events, setEvents] = useState<string[]>(EVENT_TYPES.slice(0, 3));
  const [created, setCreated] = useState<Webhook & { secret?: string }>();
  const [error, setError] = useState<unknown>(null);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      const r = await api<{ webhook: Webhook & { secret: string } }>('POST', '/cairn/v1/webhooks', {
        url,
        events,
        ...(collection.trim() ? { dataCollectionId: collection.trim() } : {}),
      });
      setCreated(r.webhook);
      setUrl('');
      onCreated();
    } catch (err) {
      setError(err);
    }
  }
  return (
    <form className="panel" onSubmit={submit} aria-label="New webhook">
      <h3>New webhook</h3>
      <div className="row">
        <label className="grow">
          URL
          <input name="url" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://example.com/hooks/cairn" />
        </label>
        <label>
          Collection (optional)
          <input name="dataCollectionId" value={collection} onChange={(e) => setCollection(e.target.value)} />
        </label>
      </div>
      <fieldset>
        <legend>Events</legend>
        {EVENT_TYPES.map((t) => (
          <label key={t} className="check">
            <input type="checkbox" checked={events.includes(t)} onChange={(e) => setEvents(e.target.checked ? [...events, t] : events.filter((x) => x !== t))} />
            {t}
          </label>
        ))}
      </fieldset>
      <button type="submit" disabled={!url || events.length === 0}>
        Add webhook
      </button>
      {created?.secret && (
        <p>
          Signing secret of the new webhook: <code>{created.secret}</code>
        </p>
      )}
      <ErrorText error={error} />
    </form>
  );
}
