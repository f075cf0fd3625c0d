import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApp } from '../src/app.js';
import { configWith } from '../src/config.js';
import { createSetupToken } from '../src/auth/sessions.js';
import { inviteUser, ownerSetupToken } from '../src/commands/users.js';
import { openStore } from '../src/store/open-store.js';
import type { SqlStore } from '../src/store/sql-store.js';
import { BACKENDS, freshLocation } from './helpers/backends.js';
import { sessionCookieOf, type Browser } from './helpers/dashboard-users.js';
import { runCli, startServer } from './helpers/process.js';
import { createTestApp, logRequest, type TestApp } from './helpers/test-app.js';

const PASSWORD = 'correct horse battery';

for (const backend of BACKENDS) {
  describe(`dashboard accounts and sessions [${backend}]`, () => {
    let t: TestApp;
    let owner: Browser;
    let ownerId: number;
    before(async () => {
      t = await createTestApp(backend);
    });
    after(() => t.close());

    const as = (b: Browser | null, method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: object, opts: { csrf?: string | null } = {}) =>
      t.inject({
        method,
        url,
        headers: {
          ...(b ? { cookie: `tally_session=${b.cookie}` } : {}),
          ...(b && opts.csrf !== null ? { 'x-csrf-token': opts.csrf ?? b.csrf } : {}),
        },
        ...(payload ? { payload } : {}),
      });

    it('the owner setup link creates the first account, signs it in, and works only once', async () => {
      const token = await ownerSetupToken(t.store);
      assert.ok(token, 'no users yet, so a link is made');
      const info = await t.inject({ method: 'GET', url: `/ui/api/setup/${token}` });
      assert.equal(info.statusCode, 200);
      assert.deepEqual(info.json(), { success: true, purpose: 'owner', email: null, workspace: 'alpha' });

      const weak = await t.inject({ method: 'POST', url: `/ui/api/setup/${token}`, payload: { email: 'owner@example.com', password: 'short' } });
      assert.equal(weak.statusCode, 400);
      assert.match(weak.json().message, /^password: must be at least 15 characters/);

      const res = await t.inject({ method: 'POST', url: `/ui/api/setup/${token}`, payload: { email: 'Owner@Example.com', password: PASSWORD } });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      assert.equal(body.user.email, 'owner@example.com');
      assert.deepEqual(body.workspace, { id: t.alpha.workspace.id, name: 'alpha', role: 'owner' });
      const cookie = sessionCookieOf(res);
      assert.match(cookie.header, /HttpOnly/i);
      assert.match(cookie.header, /SameSite=Lax/i);
      assert.doesNotMatch(cookie.header, /Secure/i, 'plain http: no Secure flag');
      owner = { cookie: cookie.value, csrf: body.csrf_token };
      ownerId = body.user.id;

      const again = await t.inject({ method: 'POST', url: `/ui/api/setup/${token}`, payload: { email: 'x@example.com', password: PASSWORD } });
      assert.equal(again.statusCode, 404);
      assert.equal((await t.inject({ method: 'GET', url: `/ui/api/setup/${token}` })).statusCode, 404);
      assert.equal(await ownerSetupToken(t.store), null, 'no new owner link once an account exists');
    });

    it('stores the password as a salted scrypt hash, never the password', async () => {
      const user = await t.store.accounts.findUserByEmail('owner@example.com');
      assert.match(user!.passwordHash!, /^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
      assert.ok(!user!.passwordHash!.includes(PASSWORD));
    });

    it('GET /ui/api/session answers the user, workspace and CSRF token', async () => {
      const res = await as(owner, 'GET', '/ui/api/session');
      assert.equal(res.statusCode, 200);
      assert.equal(res.json().user.email, 'owner@example.com');
      assert.equal(res.json().csrf_token, owner.csrf);
    });

    it('login with a wrong password or unknown email answers the same 401', async () => {
      const wrong = await t.inject({ method: 'POST', url: '/ui/api/login', payload: { email: 'owner@example.com', password: 'not the password' } });
      const unknown = await t.inject({ method: 'POST', url: '/ui/api/login', payload: { email: 'nobody@example.com', password: 'not the password' } });
      assert.equal(wrong.statusCode, 401);
      assert.equal(unknown.statusCode, 401);
      assert.equal(wrong.json().message, unknown.json().message);
      assert.equal(wrong.headers['set-cookie'], undefined);
    });

    it('login replaces the session id the browser carried (no fixation)', async () => {
      const before = owner.cookie;
      const res = await t.inject({ method: 'POST', url: '/ui/api/login', headers: { cookie: `tally_session=${before}` }, payload: { email: 'owner@example.com', password: PASSWORD } });
      assert.equal(res.statusCode, 200);
      const fresh = sessionCookieOf(res).value;
      assert.notEqual(fresh, before);
      assert.equal((await as({ cookie: before, csrf: owner.csrf }, 'GET', '/ui/api/session')).statusCode, 401, 'the old id is dead');
      owner = { cookie: fresh, csrf: res.json().csrf_token };
      assert.equal((await as(owner, 'GET', '/ui/api/session')).statusCode, 200);
    });

    it('a session reads and writes /v1 as user:<id> with source dashboard', async () => {
      const id = await logRequest(t);
      const put = await as(owner, 'PUT', `/v1/requests/${id}/scores/default`, { score: 64 });
      assert.equal(put.statusCode, 200, put.body);
      const history = await as(owner, 'GET', `/v1/requests/${id}/scores/history`);
      assert.equal(history.statusCode, 200);
      const events = history.json().events as { actor: string; source: string; new_value: number }[];
      assert.deepEqual(events.map((e) => [e.actor, e.source, e.new_value]), [[`user:${ownerId}`, 'dashboard', 64]]);
    });

    it('refuses a state-changing /v1 call whose CSRF token is missing or wrong, and writes nothing', async () => {
      const id = await logRequest(t);
      const missing = await as(owner, 'PUT', `/v1/requests/${id}/scores/default`, { score: 10 }, { csrf: null });
      assert.equal(missing.statusCode, 401);
      assert.match(missing.json().message, /^x-csrf-token: /);
      const wrong = await as(owner, 'PUT', `/v1/requests/${id}/scores/default`, { score: 10 }, { csrf: 'f'.repeat(64) });
      assert.equal(wrong.statusCode, 401);
      const keysPost = await as(owner, 'POST', '/ui/api/keys', { label: 'x' }, { csrf: null });
      assert.equal(keysPost.statusCode, 401);
      assert.deepEqual((await t.store.requests.get(t.alpha.workspace.id, id))?.scores, {});
    });

    it('unauthenticated calls answer 401 and carry no data', async () => {
      for (const url of ['/ui/api/session', '/ui/api/keys', '/v1/score-events', '/v1/scores/stats']) {
        const res = await t.inject({ method: 'GET', url });
        assert.equal(res.statusCode, 401, url);
        assert.deepEqual(Object.keys(res.json()).sort(), ['code', 'message', 'success'], url);
      }
      const bogus = await as({ cookie: 'a'.repeat(64), csrf: 'x' }, 'GET', '/v1/score-events');
      assert.equal(bogus.statusCode, 401);
    });

    it('the PromptLayer routes stay key-only: a session cookie is not enough', async () => {
      const id = await logRequest(t);
      const res = await t.inject({
        method: 'POST',
        url: '/rest/track-score',
        headers: { cookie: `tally_session=${owner.cookie}`, 'x-csrf-token': owner.csrf },
        payload: { request_id: id, score: 5 },
      });
      assert.equal(res.statusCode, 401);
    });

    it('the keys page creates a key shown once, lists it without the secret, and revokes it', async () => {
      const created = await as(owner, 'POST', '/ui/api/keys', { label: 'from the dashboard' });
      assert.equal(created.statusCode, 200, created.body);
      const { key, item } = created.json();
      assert.match(key, /^tl_[0-9A-Za-z]{43}$/);
      const list = await as(owner, 'GET', '/ui/api/keys');
      assert.equal(list.statusCode, 200);
      assert.ok(list.json().keys.some((k: { id: number; label: string }) => k.id === item.id && k.label === 'from the dashboard'));
      assert.ok(!list.body.includes(key), 'the secret is never listed');
      assert.equal((await t.get('/v1/score-events', { key })).statusCode, 200, 'the new key works');

      const foreign = await as(owner, 'DELETE', `/ui/api/keys/${t.other.keyId}`);
      assert.equal(foreign.statusCode, 404, "another workspace's key answers like a missing one");
      assert.equal((await t.get('/v1/score-events', { key: t.other.key })).statusCode, 200);

      const revoked = await as(owner, 'DELETE', `/ui/api/keys/${item.id}`);
      assert.equal(revoked.statusCode, 200);
      assert.ok(revoked.json().item.revoked_at);
      assert.equal((await t.get('/v1/score-events', { key })).statusCode, 401, 'a revoked key is refused');
    });

    it('an invited user sets a password through their link and switches between workspaces', async () => {
      const invite = await inviteUser(t.store, t.other.workspace, 'member@example.com');
      assert.ok(invite.token);
      const info = await t.inject({ method: 'GET', url: `/ui/api/setup/${invite.token}` });
      assert.deepEqual(info.json(), { success: true, purpose: 'invite', email: 'member@example.com', workspace: 'other' });
      const set = await t.inject({ method: 'POST', url: `/ui/api/setup/${invite.token}`, payload: { password: PASSWORD } });
      assert.equal(set.statusCode, 200, set.body);
      assert.equal(set.json().workspace.name, 'other');

      // Adding the same person to a second workspace needs no new link.
      const second = await inviteUser(t.store, t.alpha.workspace, 'member@example.com');
      assert.equal(second.token, null);
      const login = await t.inject({ method: 'POST', url: '/ui/api/login', payload: { email: 'member@example.com', password: PASSWORD } });
      assert.equal(login.statusCode, 200);
      const member: Browser = { cookie: sessionCookieOf(login).value, csrf: login.json().csrf_token };
      assert.deepEqual(login.json().workspaces.map((w: { name: string }) => w.name), ['alpha', 'other']);

      const alphaRequest = await logRequest(t);
      const otherRequest = await logRequest(t, {}, t.other.key);
      await as(member, 'PUT', '/ui/api/session/workspace', { workspace_id: t.other.workspace.id });
      assert.equal((await as(member, 'GET', `/v1/requests/${alphaRequest}/scores/history`)).statusCode, 404, 'alpha is a wall while in other');
      assert.equal((await as(member, 'GET', `/v1/requests/${otherRequest}/scores/history`)).statusCode, 200);

      const sw = await as(member, 'PUT', '/ui/api/session/workspace', { workspace_id: t.alpha.workspace.id });
      assert.equal(sw.statusCode, 200);
      assert.equal(sw.json().workspace.name, 'alpha');
      assert.equal((await as(member, 'GET', `/v1/requests/${alphaRequest}/scores/history`)).statusCode, 200);

      const foreign = await t.store.workspaces.create('not-theirs');
      const denied = await as(member, 'PUT', '/ui/api/session/workspace', { workspace_id: foreign.id });
      assert.equal(denied.statusCode, 404);
    });

    it('logout ends the session; its cookie no longer works', async () => {
      const login = await t.inject({ method: 'POST', url: '/ui/api/login', payload: { email: 'owner@example.com', password: PASSWORD } });
      const b: Browser = { cookie: sessionCookieOf(login).value, csrf: login.json().csrf_token };
      assert.equal((await as(b, 'POST', '/ui/api/logout', undefined, { csrf: null })).statusCode, 401, 'logout needs the CSRF token too');
      const out = await as(b, 'POST', '/ui/api/logout');
      assert.equal(out.statusCode, 200);
      assert.match(String(out.headers['set-cookie']), /tally_session=;/);
      assert.equal((await as(b, 'GET', '/ui/api/session')).statusCode, 401);
    });

    it('an expired setup link is refused', async () => {
      const token = await createSetupToken(t.store.accounts, { purpose: 'owner', workspaceId: t.alpha.workspace.id, ttlMs: -1 });
      assert.equal((await t.inject({ method: 'GET', url: `/ui/api/setup/${token}` })).statusCode, 404);
    });

    it('expired sessions and setup links are deleted when the next one is made', async () => {
      const db = (t.store as SqlStore).db;
      const ws = t.alpha.workspace.id;
      await t.store.accounts.createSession({ idHash: 'expired-session', userId: ownerId, workspaceId: ws, csrfToken: 'x', expiresAt: Date.now() - 1 });
      await t.store.accounts.createSession({ idHash: 'live-session', userId: ownerId, workspaceId: ws, csrfToken: 'x', expiresAt: Date.now() + 60_000 });
      const expiredLink = await createSetupToken(t.store.accounts, { purpose: 'owner', workspaceId: ws, ttlMs: -1 });
      assert.equal((await t.inject({ method: 'GET', url: `/ui/api/setup/${expiredLink}` })).statusCode, 404);
      const countOf = async (table: 'sessions' | 'setup_tokens', expired: boolean) => {
        const { rows } = await sql<{ n: number }>`select count(*) as n from ${sql.table(table)} where ${expired ? sql`expires_at <= ${Date.now()}` : sql`expires_at > ${Date.now()}`}`.execute(db);
        return Number(rows[0]!.n);
      };
      const named = async (idHash: string) => Number((await sql<{ n: number }>`select count(*) as n from sessions where id_hash = ${idHash}`.execute(db)).rows[0]!.n);
      assert.ok((await countOf('setup_tokens', true)) >= 1);

      const login = await t.inject({ method: 'POST', url: '/ui/api/login', payload: { email: 'owner@example.com', password: PASSWORD } });
      assert.equal(login.statusCode, 200);
      assert.equal(await countOf('sessions', true), 0);
      assert.equal(await named('expired-session'), 0);
      assert.equal(await named('live-session'), 1, 'a live session stays');

      await createSetupToken(t.store.accounts, { purpose: 'owner', workspaceId: ws });
      assert.equal(await countOf('setup_tokens', true), 0);
      assert.ok((await countOf('setup_tokens', false)) >= 1);
    });

    it('private dashboard pages answer 401 without a session and 200 with one; /login is public', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tally-dash-'));
      writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Tally</title><div id="root"></div>');
      const app = await buildApp(configWith(), { store: t.store, logger: false, dashboardDir: dir });
      try {
        const anon = await app.inject({ method: 'GET', url: '/requests' });
        assert.equal(anon.statusCode, 401);
        assert.ok(!anon.body.includes('owner@example.com'));
        assert.match(String(anon.headers['content-security-policy']), /script-src 'self'/);
        assert.equal((await app.inject({ method: 'GET', url: '/login' })).statusCode, 200);
        const signedIn = await app.inject({ method: 'GET', url: '/requests/12', headers: { cookie: `tally_session=${owner.cookie}` } });
        assert.equal(signedIn.statusCode, 200);
        assert.match(signedIn.body, /<div id="root">/);
      } finally {
        await app.close();
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe(`first start prints the owner setup link [${backend}]`, () => {
    it('prints /setup/<token> after the listening line; the link opens the owner form', async () => {
      const loc = await freshLocation(backend);
      const server = await startServer(loc.args);
      try {
        // The link follows the listening line; give the process a moment to print it.
        for (let i = 0; i < 50 && !/\/setup\//.test(server.stdout()); i++) await new Promise((r) => setTimeout(r, 50));
        const m = new RegExp(`^${server.url.replace(/[.]/g, '\\.')}/setup/([0-9a-f]{64})$`, 'm').exec(server.stdout());
        assert.ok(m, `a setup link on the server's own address:\n${server.stdout()}`);
        const info = await fetch(`${server.url}/ui/api/setup/${m[1]}`);
        assert.equal(info.status, 200);
        assert.deepEqual(await info.json(), { success: true, purpose: 'owner', email: null, workspace: 'default' });
      } finally {
        server.child.kill('SIGTERM');
        await server.exited;
        await loc.drop();
      }
    });
  });

  describe(`tally users create [${backend}]`, () => {
    it('prints a one-time link, alone on its last line, that opens the invite for that email', async () => {
      const loc = await freshLocation(backend);
      try {
        // Only `tally serve` creates a store; the CLI's other commands need one.
        await (await openStore({ databaseUrl: loc.databaseUrl, dataDir: loc.dataDir })).close();
        assert.equal((await runCli(['workspaces', 'create', 'team', ...loc.args])).code, 0);
        const res = await runCli(['users', 'create', '--workspace', 'team', '--email', 'Dana@Example.com', '--public-url', 'http://tally.test:9000/', ...loc.args]);
        assert.equal(res.code, 0, res.stderr);
        const last = res.stdout.trim().split('\n').at(-1)!;
        const m = /^http:\/\/tally\.test:9000\/setup\/([0-9a-f]{64})$/.exec(last);
        assert.ok(m, `the link is the last line: ${res.stdout}`);
        const missing = await runCli(['users', 'create', '--workspace', 'nope', '--email', 'a@b.c', ...loc.args]);
        assert.equal(missing.code, 2);
        assert.match(missing.stderr, /--workspace: no workspace named "nope"/);

        const store = await openStore({ databaseUrl: loc.databaseUrl, dataDir: loc.dataDir });
        const app = await buildApp(configWith(), { store, logger: false });
        try {
          const info = await app.inject({ method: 'GET', url: `/ui/api/setup/${m[1]}` });
          assert.equal(info.statusCode, 200);
          assert.deepEqual(info.json(), { success: true, purpose: 'invite', email: 'dana@example.com', workspace: 'team' });
        } finally {
          await app.close();
          await store.close();
        }
      } finally {
        await loc.drop();
      }
    });
  });
}
