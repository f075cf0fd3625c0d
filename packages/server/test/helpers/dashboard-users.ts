import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { inviteUser } from '../../src/commands/users.js';
import type { Workspace } from '../../src/store/types.js';
import type { TestApp } from './test-app.js';

/** What a signed-in browser carries: the session cookie's value and the session's CSRF token. */
export interface Browser {
  cookie: string;
  csrf: string;
}

/** The `tally_session` cookie an answer sets (asserted present). */
export function sessionCookieOf(res: LightMyRequestResponse): { value: string; header: string } {
  const raw = res.headers['set-cookie'];
  const all = Array.isArray(raw) ? raw : raw ? [raw] : [];
  const header = all.find((c) => c.startsWith('tally_session='));
  assert.ok(header, `a tally_session cookie is set: ${JSON.stringify(all)}`);
  return { value: header.split(';')[0]!.slice('tally_session='.length), header };
}

/** The headers a browser sends on every dashboard call: its cookie and (for writes) its CSRF token. */
export const browserHeaders = (b: Browser): Record<string, string> => ({ cookie: `tally_session=${b.cookie}`, 'x-csrf-token': b.csrf });

/** Signs in through `/ui/api/login`; the session starts in the user's first workspace by name. */
export async function signIn(t: TestApp, email: string, password: string): Promise<Browser> {
  const res = await t.inject({ method: 'POST', url: '/ui/api/login', payload: { email, password } });
  assert.equal(res.statusCode, 200, `login as ${email}: ${res.body}`);
  return { cookie: sessionCookieOf(res).value, csrf: (res.json() as { csrf_token: string }).csrf_token };
}

/**
 * Adds a person to a workspace the way `tally users create` does. A new email sets its password
 * through the one-time link (which signs it in); an existing account just gains the workspace and
 * signs in again.
 */
export async function addDashboardUser(t: TestApp, ws: Workspace, email: string, password: string): Promise<{ userId: number; email: string; browser: Browser }> {
  const { userId, token } = await inviteUser(t.store, ws, email);
  if (token === null) return { userId, email, browser: await signIn(t, email, password) };
  const res = await t.inject({ method: 'POST', url: `/ui/api/setup/${token}`, payload: { password } });
  assert.equal(res.statusCode, 200, `setup link for ${email}: ${res.body}`);
  return { userId, email, browser: { cookie: sessionCookieOf(res).value, csrf: (res.json() as { csrf_token: string }).csrf_token } };
}
