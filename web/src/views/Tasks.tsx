/** Recent background tasks (newest first); a selected one is shown live with its failures. */
import { api, enc, type Task } from '../api';
import { ErrorText, useLoad, when } from '../ui';
import { TaskProgress } from './TaskProgress';

function collectionOf(task: Task): string {
  const options = Object.entries(task).find(([k]) => k.endsWith('Options'))?.[1] as { dataCollectionId?: string } | undefined;
  return options?.dataCollectionId ?? '';
}

export function TasksView({ selected }: { selected: string | undefined }) {
  const { data, error, reload } = useLoad(() => api<{ tasks: Task[] }>('GET', '/cms/v1/tasks?paging.limit=50'), []);
  return (
    <>
      <h2>Tasks</h2>
      {selected && <TaskProgress key={selected} taskId={selected} onEnded={reload} />}
      <ErrorText error={error} />
      <table>
        <thead>
          <tr>
            <th>Task</th>
            <th>Type</th>
            <th>Collection</th>
            <th>Status</th>
            <th>Succeeded</th>
            <th>Failed</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {data?.tasks.map((t) => (
            <tr key={t.id} className={t.id === selected ? 'selected' : ''}>
              <td>
                <a href={`#/tasks/${enc(t.id)}`}>
                  <code>{t.id.slice(0, 13)}…</code>
                </a>
              </td>
              <td>{t.type}</td>
              <td>{collectionOf(t)}</td>
              <td>
                <span className={`status status-${t.status}`}>{t.status}</span>
              </td>
              <td>{t.itemsSucceeded ?? 0}</td>
              <td>{t.itemsFailed ?? 0}</td>
              <td>{when(t.createdDate)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <button className="link" onClick={() => void reload()}>
        Refresh
      </button>
    </>
  );
}
