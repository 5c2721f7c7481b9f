/**
 * The dashboard: a sign-in screen, then a few views chosen by the URL's hash (`#/collections`,
 * `#/collections/<id>`, `#/tasks`, `#/backups`, `#/webhooks`, `#/keys`), so the server only ever serves
 * index.html at `/` and needs no fallback route.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { api, SIGNED_OUT, storedKey, storeKey } from './api';
import { CollectionsView } from './views/Collections';
import { CollectionView } from './views/Collection';
import { TasksView } from './views/Tasks';
import { WebhooksView } from './views/Webhooks';
import { KeysView } from './views/Keys';
import { BackupsView } from './views/Backups';
import { ErrorText } from './ui';

function useHash(): string {
  const [hash, setHash] = useState(() => location.hash);
  useEffect(() => {
    const onChange = () => setHash(location.hash);
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return hash;
}

export function App() {
  const [key, setKey] = useState(storedKey);
  useEffect(() => {
    const onSignedOut = () => setKey(null);
    addEventListener(SIGNED_OUT, onSignedOut);
    return () => removeEventListener(SIGNED_OUT, onSignedOut);
  }, []);
  if (!key) return <SignIn onSignedIn={setKey} />;
  return (
    <Shell
      onSignOut={() => {
        storeKey(null);
        setKey(null);
      }}
    />
  );
}

function SignIn({ onSignedIn }: { onSignedIn: (key: string) => void }) {
  const [value, setValue] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // A key that does not check out answers 401 on any endpoint; this one is cheap.
      await api('GET', '/wix-data/v2/collections?paging.limit=1', undefined, value.trim());
      storeKey(value.trim());
      onSignedIn(value.trim());
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <main className="signin">
      <form onSubmit={submit}>
        <h1>Cairn</h1>
        <label>
          API key
          <input name="apiKey" type="password" autoComplete="off" value={value} onChange={(e) => setValue(e.target.value)} placeholder="cairn_…" autoFocus />
        </label>
        <p className="hint">
          The admin key <code>npm start</code> printed on first start, or <code>CAIRN_ADMIN_KEY</code>. It is kept in this tab only.
        </p>
        <button type="submit" disabled={busy || value.trim() === ''}>
          Sign in
        </button>
        <ErrorText error={error} />
      </form>
    </main>
  );
}

const NAV = [
  ['#/collections', 'Collections'],
  ['#/tasks', 'Tasks'],
  ['#/backups', 'Backups'],
  ['#/webhooks', 'Webhooks'],
  ['#/keys', 'API keys'],
] as const;

function Shell({ onSignOut }: { onSignOut: () => void }) {
  const hash = useHash();
  const [, section = 'collections', ...rest] = hash.split('/');
  const arg = rest.length ? decodeURIComponent(rest.join('/')) : undefined;
  let view;
  if (section === 'collections' && arg !== undefined) view = <CollectionView key={arg} id={arg} />;
  else if (section === 'tasks') view = <TasksView selected={arg} />;
  else if (section === 'webhooks') view = <WebhooksView selected={arg} />;
  else if (section === 'keys') view = <KeysView />;
  else if (section === 'backups') view = <BackupsView />;
  else view = <CollectionsView />;
  return (
    <>
      <header>
        <strong>Cairn</strong>
        <nav>
          {NAV.map(([href, label]) => (
            <a key={href} href={href} className={href.slice(2) === section ? 'active' : ''}>
              {label}
            </a>
          ))}
        </nav>
        <button className="link" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main>{view}</main>
    </>
  );
}
