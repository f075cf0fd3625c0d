import { useEffect, useState } from 'react';
import { api, type ApiKeyItem } from '../api.js';
import { Link } from '../router.js';

/**
 * What a new workspace shows instead of an empty table: the workspace's newest live key (its
 * prefix only: the secret is shown once, at creation), and a curl and an SDK snippet that log a
 * first request to this very server.
 */
export function FirstRequest() {
  const [keys, setKeys] = useState<ApiKeyItem[] | null>(null);
  useEffect(() => {
    api<{ keys: ApiKeyItem[] }>('GET', '/ui/api/keys').then(
      (r) => setKeys(r.keys),
      () => setKeys([]),
    );
  }, []);
  const live = (keys ?? []).filter((k) => !k.revoked_at).sort((a, b) => b.created_at.localeCompare(a.created_at));
  const key = live[0];
  const keyText = key ? `${key.prefix}…` : 'YOUR_API_KEY';
  const origin = window.location.origin;
  const curl = [
    `curl -s ${origin}/log-request \\`,
    `  -H "X-API-KEY: ${keyText}" -H 'content-type: application/json' \\`,
    `  -d '{"provider": "openai", "model": "gpt-4o-mini",`,
    `       "input": {"type": "chat", "messages": [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]},`,
    `       "output": {"type": "chat", "messages": [{"role": "assistant", "content": [{"type": "text", "text": "Hello!"}]}]},`,
    `       "request_start_time": ${Math.floor(Date.now() / 1000) - 1}, "request_end_time": ${Math.floor(Date.now() / 1000)}}'`,
  ].join('\n');
  const sdk = [
    `import { Tally } from '@tally/sdk';`,
    ``,
    `const tally = new Tally({ apiKey: '${keyText}', baseURL: '${origin}' });`,
    `const started = new Date();`,
    `const { id } = await tally.logRequest({`,
    `  provider: 'openai',`,
    `  model: 'gpt-4o-mini',`,
    `  input: { type: 'chat', messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }] },`,
    `  output: { type: 'chat', messages: [{ role: 'assistant', content: [{ type: 'text', text: 'Hello!' }] }] },`,
    `  request_start_time: started.toISOString(),`,
    `  request_end_time: new Date().toISOString(),`,
    `});`,
    `await tally.track.score({ request_id: id, score: 87 });`,
  ].join('\n');
  return (
    <section className="card first-request" aria-label="Log your first request">
      <h2>Log your first request</h2>
      <p>This workspace has no requests yet.</p>
      {keys === null ? (
        <p className="muted">Loading…</p>
      ) : key ? (
        <p>
          Log one with this workspace's API key <code data-testid="key-prefix">{key.prefix}…</code>
          {key.label ? ` (${key.label})` : ''}: put the whole key in its place below. Only its start is shown here, as the whole key was shown once, when it was created. Lost
          it? <Link to="/keys">Create another on API keys</Link>.
        </p>
      ) : (
        <p>
          This workspace has no API key yet: <Link to="/keys">create one on API keys</Link>, then put it in place of <code>YOUR_API_KEY</code> below.
        </p>
      )}
      <div className="snippets">
        <div>
          <h3>With curl</h3>
          <pre className="snippet" aria-label="curl example">
            {curl}
          </pre>
        </div>
        <div>
          <h3>With the TypeScript SDK</h3>
          <pre className="snippet" aria-label="SDK example">
            {sdk}
          </pre>
        </div>
      </div>
      <p>
        Requests appear here as they are logged. Every endpoint is described in the <a href="/docs">API reference</a>; the repository's <code>README.md</code>,{' '}
        <code>docs/api.md</code> and <code>packages/sdk/README.md</code> walk through logging, scoring and searching.
      </p>
    </section>
  );
}
