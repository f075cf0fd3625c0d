import { useEffect, useState } from 'react';
import { api, type ApiKeyItem } from '../api.js';
import { fmtTime } from '../format.js';

export function KeysPage() {
  const [keys, setKeys] = useState<ApiKeyItem[] | null>(null);
  const [label, setLabel] = useState('');
  const [created, setCreated] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const load = () => api<{ keys: ApiKeyItem[] }>('GET', '/ui/api/keys').then((r) => setKeys(r.keys), (e: Error) => setError(e.message));
  useEffect(() => void load(), []);

  return (
    <div className="page">
      <div className="page-head">
        <h1>API keys</h1>
      </div>
      <form
        className="card inline-form"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(null);
          try {
            const r = await api<{ key: string }>('POST', '/ui/api/keys', { label });
            setCreated(r.key);
            setCopied(false);
            setLabel('');
            await load();
          } catch (err) {
            setError((err as Error).message);
          }
        }}
      >
        <label>
          Label
          <input value={label} onChange={(e) => setLabel(e.target.value)} maxLength={256} placeholder="e.g. production logger" />
        </label>
        <button type="submit" className="primary">
          Create key
        </button>
      </form>
      {created && (
        <div className="card new-key" role="region" aria-label="New API key">
          <p>
            <strong>Copy this key now.</strong> It is shown only this once.
          </p>
          <div className="key-row">
            <code data-testid="new-key">{created}</code>
            <button
              type="button"
              onClick={async () => {
                try {
                  await navigator.clipboard.writeText(created);
                  setCopied(true);
                } catch {
                  // Without clipboard permission, select the text so Ctrl+C works.
                  const range = document.createRange();
                  range.selectNodeContents(document.querySelector('[data-testid="new-key"]')!);
                  window.getSelection()?.removeAllRanges();
                  window.getSelection()?.addRange(range);
                }
              }}
            >
              {copied ? 'Copied' : 'Copy'}
            </button>
            <button type="button" onClick={() => setCreated(null)}>
              Done
            </button>
          </div>
        </div>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      <table className="card">
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Label</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">Status</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(keys ?? []).map((k) => (
            <tr key={k.id}>
              <td>
                <code>{k.prefix}…</code>
              </td>
              <td>{k.label || '–'}</td>
              <td>{fmtTime(k.created_at)}</td>
              <td>{k.last_used_at ? fmtTime(k.last_used_at) : 'never'}</td>
              <td>{k.revoked_at ? `revoked ${fmtTime(k.revoked_at)}` : 'active'}</td>
              <td>
                {!k.revoked_at && (
                  <button
                    type="button"
                    aria-label={`Revoke key ${k.prefix}${k.label ? ` (${k.label})` : ''}`}
                    onClick={async () => {
                      if (!window.confirm(`Revoke ${k.prefix}…? Programs using it stop working at once.`)) return;
                      await api('DELETE', `/ui/api/keys/${k.id}`);
                      await load();
                    }}
                  >
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
