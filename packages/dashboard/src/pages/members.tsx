import { useEffect, useId, useState } from 'react';
import { api, type Member } from '../api.js';
import { useSession } from '../app.js';

const ROLES = ['member', 'owner'] as const;

/** A one-time setup link, shown once after an invite, with a copy button. */
function SetupLink({ email, url, onDone }: { email: string; url: string; onDone(): void }) {
  const [copied, setCopied] = useState(false);
  const id = useId();
  return (
    <div className="card new-key" role="region" aria-label="Setup link">
      <p>
        <strong>Send this link to {email}.</strong> It lets them choose a password, works once, for 7 days, and is shown only now.
      </p>
      <div className="key-row">
        <label htmlFor={id} className="sr-only">
          Setup link for {email}
        </label>
        <input id={id} className="link-box" data-testid="setup-link" readOnly value={url} onFocus={(e) => e.target.select()} />
        <button
          type="button"
          onClick={async () => {
            try {
              await navigator.clipboard.writeText(url);
              setCopied(true);
            } catch {
              // Without clipboard permission, select the text so Ctrl+C works.
              const box = document.getElementById(id) as HTMLInputElement | null;
              box?.focus();
              box?.select();
            }
          }}
        >
          {copied ? 'Copied' : 'Copy link'}
        </button>
        <button type="button" onClick={onDone}>
          Done
        </button>
      </div>
    </div>
  );
}

export function MembersPage() {
  const { session } = useSession();
  const isOwner = session.workspace.role === 'owner';
  const [members, setMembers] = useState<Member[] | null>(null);
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<(typeof ROLES)[number]>('member');
  const [link, setLink] = useState<{ email: string; url: string } | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const load = () => api<{ members: Member[] }>('GET', '/ui/api/members').then((r) => setMembers(r.members), (e: Error) => setError(e.message));
  useEffect(() => void load(), []);

  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    setNote(null);
    try {
      await fn();
    } catch (err) {
      setError((err as Error).message);
    }
    await load();
  };

  return (
    <div className="page">
      <div className="page-head">
        <h1>Members</h1>
        <span className="muted">
          Workspace {session.workspace.name}
          {isOwner ? '' : ' · only owners can invite, change roles or remove people'}
        </span>
      </div>
      {isOwner && (
        <form
          className="card inline-form members-invite"
          aria-label="Invite someone"
          onSubmit={(e) => {
            e.preventDefault();
            void act(async () => {
              const r = await api<{ member: Member; setup_url: string | null }>('POST', '/ui/api/members', { email, role });
              setLink(r.setup_url ? { email: r.member.email, url: r.setup_url } : null);
              if (!r.setup_url) setNote(`${r.member.email} already has an account: they can now switch to this workspace.`);
              setEmail('');
            });
          }}
        >
          <label>
            Email
            <input type="email" required value={email} onChange={(e) => setEmail(e.target.value)} maxLength={254} placeholder="name@example.com" />
          </label>
          <label>
            Role
            <select value={role} onChange={(e) => setRole(e.target.value as (typeof ROLES)[number])}>
              {ROLES.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" className="primary">
            Invite
          </button>
        </form>
      )}
      {link && <SetupLink email={link.email} url={link.url} onDone={() => setLink(null)} />}
      {note && (
        <p role="status" className="muted">
          {note}
        </p>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {members === null && !error ? (
        <p className="loading">Loading…</p>
      ) : (
        <table className="card members">
          <thead>
            <tr>
              <th scope="col">Email</th>
              <th scope="col">Role</th>
              <th scope="col">Password</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {(members ?? []).map((m) => {
              const me = m.id === session.user.id;
              return (
                <tr key={m.id}>
                  <td>
                    {m.email}
                    {me && <span className="muted"> (you)</span>}
                  </td>
                  <td>
                    {isOwner ? (
                      <select
                        aria-label={`Role of ${m.email}`}
                        value={m.role}
                        onChange={(e) =>
                          void act(async () => {
                            await api('PATCH', `/ui/api/members/${m.id}`, { role: e.target.value });
                            // Stepping down as owner: the whole dashboard must see the new role.
                            if (me) window.location.reload();
                          })
                        }
                      >
                        {ROLES.map((r) => (
                          <option key={r} value={r}>
                            {r}
                          </option>
                        ))}
                      </select>
                    ) : (
                      m.role
                    )}
                  </td>
                  <td>{m.has_password ? 'set' : <span className="muted">not yet (invite pending)</span>}</td>
                  <td>
                    {isOwner && (
                      <button
                        type="button"
                        aria-label={`Remove ${m.email}`}
                        onClick={() => {
                          if (!window.confirm(`Remove ${m.email} from ${session.workspace.name}? They lose access at once.`)) return;
                          void act(() => api('DELETE', `/ui/api/members/${m.id}`));
                        }}
                      >
                        Remove
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
