import { useEffect, useState } from 'react';

/**
 * A very small client router over the History API: the dashboard has a handful of pages, and the
 * URL (path and query) is the whole navigation state, so views can be bookmarked and shared.
 */
export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (opts.replace) history.replaceState(null, '', to);
  else history.pushState(null, '', to);
  window.dispatchEvent(new PopStateEvent('popstate'));
}

export interface Location {
  path: string;
  query: URLSearchParams;
  search: string;
}

export function useLocation(): Location {
  const read = (): Location => ({ path: window.location.pathname, query: new URLSearchParams(window.location.search), search: window.location.search });
  const [loc, setLoc] = useState(read);
  useEffect(() => {
    const on = () => setLoc(read());
    window.addEventListener('popstate', on);
    return () => window.removeEventListener('popstate', on);
  }, []);
  return loc;
}

/** Matches `/requests/:id` style patterns; returns the params or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/');
  const s = path.replace(/\/+$/, '').split('/');
  if (pattern === '/' ) return path === '/' || path === '' ? {} : null;
  if (p.length !== s.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    const a = p[i]!;
    const b = s[i]!;
    if (a.startsWith(':')) out[a.slice(1)] = decodeURIComponent(b);
    else if (a !== b) return null;
  }
  return out;
}

/** An in-app link: a real `<a href>` (open in new tab works) that navigates without a reload. */
export function Link(props: { to: string; children: React.ReactNode; className?: string; 'aria-label'?: string }) {
  return (
    <a
      href={props.to}
      className={props.className}
      aria-label={props['aria-label']}
      onClick={(e) => {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        navigate(props.to);
      }}
    >
      {props.children}
    </a>
  );
}
