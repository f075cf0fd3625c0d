import { useEffect, useState } from 'react';
import { api, type SessionInfo } from '../api.js';

interface SetupInfo {
  purpose: 'owner' | 'invite';
  email: string | null;
  workspace: string;
}

/** The one-time link: the first owner picks email and password; an invited person a password. */
export function SetupPage({ token, onSignedIn }: { token: string; onSignedIn: (s: SessionInfo) => void }) {
  const [info, setInfo] = useState<SetupInfo | null | undefined>(undefined);
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    api<SetupInfo>('GET', `/ui/api/setup/${encodeURIComponent(token)}`).then(setInfo, () => setInfo(null));
  }, [token]);

  if (info === undefined) return <p className="loading">Loading…</p>;
  if (info === null)
    return (
      <div className="auth-card">
        <h1>This link is not valid</h1>
        <p>It may have been used already or expired. Ask for a new one, or <a href="/login">sign in</a>.</p>
      </div>
    );
  return (
    <div className="auth-card">
      <h1>{info.purpose === 'owner' ? 'Create the owner account' : 'Choose your password'}</h1>
      <p>
        Workspace <strong>{info.workspace}</strong>
        {info.email && (
          <>
            {' '}
            · signing in as <strong>{info.email}</strong>
          </>
        )}
      </p>
      <form
        onSubmit={async (e) => {
          e.preventDefault();
          if (password !== confirm) return setError('The two passwords differ.');
          setError(null);
          try {
            onSignedIn(await api<SessionInfo>('POST', `/ui/api/setup/${encodeURIComponent(token)}`, info.purpose === 'owner' ? { email, password } : { password }));
          } catch (err) {
            setError((err as Error).message);
          }
        }}
      >
        {info.purpose === 'owner' && (
          <label>
            Email
            <input type="email" name="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
          </label>
        )}
        <label>
          Password (at least 15 characters; a phrase of your own)
          <input type="password" name="password" autoComplete="new-password" required minLength={15} value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <label>
          Repeat the password
          <input type="password" name="confirm" autoComplete="new-password" required value={confirm} onChange={(e) => setConfirm(e.target.value)} />
        </label>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button type="submit" className="primary">
          {info.purpose === 'owner' ? 'Create account' : 'Set password'}
        </button>
      </form>
    </div>
  );
}
