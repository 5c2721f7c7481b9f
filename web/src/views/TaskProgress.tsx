/**
 * One task, watched live: its status and counters come from the event stream's
 * `cairn.tasks.v1.task_status_changed` and `task_progress` events (each carries the whole task),
 * and its failures from /cairn/v1/tasks/{id}/failures once it has ended. The stream is opened
 * before the task is read, so nothing between the read and the first event is missed; should the
 * stream fail (a key without the webhooks scope), the task is polled instead.
 */
import { useEffect, useState } from 'react';
import { api, enc, type Failure, type Task } from '../api';
import { openEventStream } from '../events';
import { ErrorText } from '../ui';

const TASK_EVENTS = ['cairn.tasks.v1.task_status_changed', 'cairn.tasks.v1.task_progress'];
const RANK = { NEW: 0, RUNNING: 1, COMPLETED: 2, FAILED: 2 } as const;

/** Events and reads can cross: keep whichever view of the task is further along. */
function newer(a: Task | undefined, b: Task): Task {
  if (!a) return b;
  const progress = (t: Task) => (t.itemsSucceeded ?? 0) + (t.itemsFailed ?? 0);
  const ra = RANK[a.status] ?? 0;
  const rb = RANK[b.status] ?? 0;
  return rb > ra || (rb === ra && progress(b) >= progress(a)) ? b : a;
}

const ended = (t: Task | undefined) => t?.status === 'COMPLETED' || t?.status === 'FAILED';

export function useTask(taskId: string) {
  const [task, setTask] = useState<Task>();
  const [live, setLive] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    let closed = false;
    let poll: ReturnType<typeof setInterval> | undefined;
    const read = async () => {
      try {
        const { task } = await api<{ task: Task }>('GET', `/cms/v1/tasks/${enc(taskId)}`);
        if (!closed) setTask((t) => newer(t, task));
      } catch (e) {
        if (!closed) setError(e);
      }
    };
    const close = openEventStream({
      types: TASK_EVENTS,
      onOpen: () => {
        setLive(true);
        void read();
      },
      onEvent: (e) => {
        const body = e.envelope.data?.actionEvent?.body as Task | undefined;
        if (body?.id === taskId) setTask((t) => newer(t, body));
      },
      onError: () => {
        setLive(false);
        poll ??= setInterval(read, 1000);
      },
    });
    return () => {
      closed = true;
      close();
      if (poll) clearInterval(poll);
    };
  }, [taskId]);
  return { task, live, error };
}

export function TaskProgress({ taskId, onEnded }: { taskId: string; onEnded?: () => void }) {
  const { task, live, error } = useTask(taskId);
  const [failures, setFailures] = useState<{ failures: Failure[]; total: number }>();
  const done = ended(task);
  const failed = task?.itemsFailed ?? 0;
  useEffect(() => {
    if (!done || (failed === 0 && task?.status !== 'FAILED')) return;
    api<{ failures: Failure[]; pagingMetadata: { total: number } }>('GET', `/cairn/v1/tasks/${enc(taskId)}/failures?paging.limit=100`).then(
      (r) => setFailures({ failures: r.failures, total: r.pagingMetadata.total }),
      () => setFailures({ failures: task?.failures ?? [], total: task?.failures?.length ?? 0 }),
    );
  }, [done, failed, taskId]);
  useEffect(() => {
    if (done) onEnded?.();
    // Once, when the task ends.
  }, [done]);
  if (!task) return <ErrorText error={error} />;
  const processed = (task.itemsSucceeded ?? 0) + failed;
  const estimated = task.estimatedItemCount ?? 0;
  const percent = done ? 100 : estimated > 0 ? Math.min(100, Math.round((processed / estimated) * 100)) : 0;
  return (
    <div className="task" data-task-id={task.id}>
      <div className="row">
        <span className={`status status-${task.status}`} data-testid="task-status">
          {task.status}
        </span>
        <span>{task.type}</span>
        <code className="muted">{task.id}</code>
        <span className="muted">{live ? 'live' : 'polling'}</span>
      </div>
      <progress max={100} value={percent} />
      <div className="muted" data-testid="task-counts">
        {task.itemsSucceeded ?? 0} succeeded, {failed} failed, of about {estimated}
      </div>
      {failures && failures.failures.length > 0 && (
        <details open={failures.total <= 10}>
          <summary>
            Failures ({failures.total}
            {failures.total > failures.failures.length ? `, first ${failures.failures.length} shown` : ''})
          </summary>
          <table>
            <thead>
              <tr>
                <th>Code</th>
                <th>Item</th>
                <th>Description</th>
              </tr>
            </thead>
            <tbody>
              {failures.failures.map((f, i) => (
                <tr key={i}>
                  <td>{f.code}</td>
                  <td>{String(f.data?.itemId ?? '')}</td>
                  <td>{f.description}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
      <ErrorText error={error} />
    </div>
  );
}
