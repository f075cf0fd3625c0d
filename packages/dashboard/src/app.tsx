import { createContext, lazy, Suspense, useCallback, useContext, useEffect, useRef, useState } from 'react';
import { api, setCsrfToken, setUnauthorizedHandler, type SessionInfo } from './api.js';
import { LoginPage } from './pages/login.js';
import { SetupPage } from './pages/setup.js';
import { Link, match, navigate, useLocation } from './router.js';

// Each signed-in page is its own chunk, fetched the first time it is shown: the analytics charts
// (recharts) are most of the bundle and no other page needs them. Sign-in and setup stay in the
// entry chunk, since a signed-out visitor sees them first.
const loadAnalytics = () => import('./pages/analytics.js');
const loadRequestLog = () => import('./pages/request-log.js');
const loadRequestPage = () => import('./pages/request-page.js');
const loadReview = () => import('./pages/review.js');
const loadQueues = () => import('./pages/queues.js');
const loadAgreement = () => import('./pages/agreement.js');
const AnalyticsPage = lazy(() => loadAnalytics().then((m) => ({ default: m.AnalyticsPage })));
const MembersPage = lazy(() => import('./pages/members.js').then((m) => ({ default: m.MembersPage })));
const KeysPage = lazy(() => import('./pages/keys.js').then((m) => ({ default: m.KeysPage })));
const RequestLogPage = lazy(() => loadRequestLog().then((m) => ({ default: m.RequestLogPage })));
const RequestPage = lazy(() => loadRequestPage().then((m) => ({ default: m.RequestPage })));
const ReviewPage = lazy(() => loadReview().then((m) => ({ default: m.ReviewPage })));
const WebhooksPage = lazy(() => import('./pages/webhooks.js').then((m) => ({ default: m.WebhooksPage })));
const AlertsPage = lazy(() => import('./pages/alerts.js').then((m) => ({ default: m.AlertsPage })));
const ScoreSchemasPage = lazy(() => import('./pages/score-schemas.js').then((m) => ({ default: m.ScoreSchemasPage })));
const QueuesPage = lazy(() => loadQueues().then((m) => ({ default: m.QueuesPage })));
const QueueReviewPage = lazy(() => import('./pages/queue-review.js').then((m) => ({ default: m.QueueReviewPage })));
const AgreementPage = lazy(() => loadAgreement().then((m) => ({ default: m.AgreementPage })));

// The chunk of the page a visit opens on starts loading with the entry chunk, beside the session
// read, not after it: the analytics chunk alone takes a few hundred milliseconds to fetch and parse.
// (import() loads a module once; lazy() then finds it loaded.)
const OPENING: [RegExp, () => Promise<unknown>][] = [
  [/^\/(requests)?$/, loadRequestLog],
  [/^\/requests\/\d+$/, loadRequestPage],
  [/^\/review$/, loadReview],
  [/^\/analytics$/, loadAnalytics],
  [/^\/queues$/, loadQueues],
  [/^\/agreement$/, loadAgreement],
];
void OPENING.find(([path]) => path.test(window.location.pathname))?.[1]().catch(() => undefined);

/** The pages used every day, in the bar; the rest under "Settings". */
const NAV = [
  ['/requests', 'Requests'],
  ['/review', 'Review'],
  ['/queues', 'Queues'],
  ['/agreement', 'Agreement'],
  ['/analytics', 'Analytics'],
] as const;
const SETTINGS = [
  ['/score-schemas', 'Schemas'],
  ['/alerts', 'Alerts'],
  ['/webhooks', 'Webhooks'],
  ['/keys', 'API keys'],
  ['/members', 'Members'],
] as const;

/**
 * The less used pages in a disclosure (a native details/summary: Enter or Space opens it, Tab
 * walks its links); it closes on Escape, on a click elsewhere and when a page is chosen.
 */
function SettingsMenu({ path }: { path: string }) {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLDetailsElement>(null);
  useEffect(() => setOpen(false), [path]);
  useEffect(() => {
    if (!open) return;
    const away = (e: MouseEvent) => ref.current && !ref.current.contains(e.target as Node) && setOpen(false);
    const esc = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      setOpen(false);
      ref.current?.querySelector('summary')?.focus();
    };
    document.addEventListener('mousedown', away);
    document.addEventListener('keydown', esc);
    return () => {
      document.removeEventListener('mousedown', away);
      document.removeEventListener('keydown', esc);
    };
  }, [open]);
  const active = SETTINGS.some(([to]) => to === path);
  return (
    <details ref={ref} className={`menu${active ? ' active' : ''}`} open={open} onToggle={(e) => setOpen((e.target as HTMLDetailsElement).open)}>
      <summary>Settings</summary>
      {/* Only while open: Chromium lays out a closed details' content, so its links would count as on the page. */}
      {open && (
        <ul>
          {SETTINGS.map(([to, label]) => (
            <li key={to} className={path === to ? 'active' : ''}>
              <Link to={to}>{label}</Link>
            </li>
          ))}
          <li>
            <a href="/docs">API docs</a>
          </li>
        </ul>
      )}
    </details>
  );
}

interface SessionContext {
  session: SessionInfo;
  /** Bumped on a workspace switch, so pages reload their data. */
  epoch: number;
}

const Ctx = createContext<SessionContext | null>(null);
export const useSession = (): SessionContext => useContext(Ctx)!;

export function App() {
  const loc = useLocation();
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);
  const [epoch, setEpoch] = useState(0);

  const signedIn = useCallback((s: SessionInfo | null) => {
    setCsrfToken(s?.csrf_token ?? null);
    setSession(s);
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(() => signedIn(null));
    api<SessionInfo>('GET', '/ui/api/session').then(signedIn, () => signedIn(null));
  }, [signedIn]);

  const setup = match('/setup/:token', loc.path);
  if (setup) return <SetupPage token={setup.token!} onSignedIn={(s) => (signedIn(s), navigate('/requests', { replace: true }))} />;
  if (session === undefined) return <p className="loading">Loading…</p>;
  if (session === null || loc.path === '/login') {
    if (session) {
      navigate('/requests', { replace: true });
      return null;
    }
    const next = loc.path === '/login' ? (loc.query.get('next') ?? '/requests') : loc.path + loc.search;
    return <LoginPage onSignedIn={(s) => (signedIn(s), navigate(next.startsWith('/') && !next.startsWith('//') ? next : '/requests', { replace: true }))} />;
  }

  let page: React.ReactNode;
  let m: Record<string, string> | null;
  if (loc.path === '/' || loc.path === '/requests') page = <RequestLogPage />;
  else if ((m = match('/requests/:id', loc.path))) page = <RequestPage id={Number(m.id)} />;
  else if (loc.path === '/review') page = <ReviewPage />;
  else if (loc.path === '/analytics') page = <AnalyticsPage />;
  else if (loc.path === '/keys') page = <KeysPage />;
  else if (loc.path === '/members') page = <MembersPage />;
  else if (loc.path === '/webhooks') page = <WebhooksPage />;
  else if (loc.path === '/alerts') page = <AlertsPage />;
  else if (loc.path === '/score-schemas') page = <ScoreSchemasPage />;
  else if (loc.path === '/queues') page = <QueuesPage />;
  else if ((m = match('/queues/:id/review', loc.path))) page = <QueueReviewPage key={m.id} id={Number(m.id)} />;
  else if (loc.path === '/agreement') page = <AgreementPage />;
  else page = <p>Nothing here. <Link to="/requests">Back to the request log</Link></p>;

  const isActive = (to: string) => loc.path === to || (to === '/requests' && loc.path === '/') || ((to === '/requests' || to === '/queues') && loc.path.startsWith(`${to}/`));
  return (
    <Ctx.Provider value={{ session, epoch }}>
      <header className="topbar">
        <span className="brand">Tally</span>
        <nav aria-label="Main">
          {NAV.map(([to, label]) => (
            <span key={to} className={isActive(to) ? 'active' : ''}>
              <Link to={to}>{label}</Link>
            </span>
          ))}
          <SettingsMenu path={loc.path} />
        </nav>
        <div className="spacer" />
        <label className="workspace">
          Workspace{' '}
          <select
            value={session.workspace.id}
            disabled={session.workspaces.length < 2}
            onChange={async (e) => {
              const s = await api<SessionInfo>('PUT', '/ui/api/session/workspace', { workspace_id: Number(e.target.value) });
              signedIn(s);
              setEpoch((n) => n + 1);
              navigate('/requests');
            }}
          >
            {session.workspaces.map((w) => (
              <option key={w.id} value={w.id}>
                {w.name}
              </option>
            ))}
          </select>
        </label>
        <span className="user">{session.user.email}</span>
        <button
          type="button"
          onClick={async () => {
            await api('POST', '/ui/api/logout').catch(() => undefined);
            signedIn(null);
            navigate('/login');
          }}
        >
          Sign out
        </button>
      </header>
      <main key={epoch}>
        <Suspense fallback={<p className="loading">Loading…</p>}>{page}</Suspense>
      </main>
    </Ctx.Provider>
  );
}
