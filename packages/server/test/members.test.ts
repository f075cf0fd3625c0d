import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from './helpers/backends.js';
import { addDashboardUser, browserHeaders, type Browser } from './helpers/dashboard-users.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';

const PASSWORD = 'correct horse battery';

for (const backend of BACKENDS) {
  describe(`members routes [${backend}]`, () => {
    let t: TestApp;
    let owner: { userId: number; browser: Browser };
    let member: { userId: number; browser: Browser };
    before(async () => {
      t = await createTestApp(backend, { publicUrl: 'https://tally.example.com/' });
      owner = await addDashboardUser(t, t.alpha.workspace, 'owner@example.com', PASSWORD);
      assert.equal(await t.store.accounts.changeMembership(owner.userId, t.alpha.workspace.id, 'owner'), 'done');
      member = await addDashboardUser(t, t.alpha.workspace, 'member@example.com', PASSWORD);
    });
    after(() => t.close());

    const as = (b: Browser, method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object) =>
      t.inject({ method, url, headers: browserHeaders(b), ...(payload ? { payload } : {}) });
    const members = async (b: Browser) => {
      const res = await as(b, 'GET', '/ui/api/members');
      assert.equal(res.statusCode, 200, res.body);
      return (res.json() as { members: { id: number; email: string; role: string; has_password: boolean }[] }).members;
    };

    it('an owner invites by email: a new account, a one-time link under the public URL, listed without a password', async () => {
      const res = await as(owner.browser, 'POST', '/ui/api/members', { email: ' New@Example.com ', role: 'member' });
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      assert.equal(body.member.email, 'new@example.com');
      assert.equal(body.member.role, 'member');
      assert.equal(body.member.has_password, false);
      const m = /^https:\/\/tally\.example\.com\/setup\/([0-9a-f]{64})$/.exec(body.setup_url);
      assert.ok(m, `setup link under --public-url: ${body.setup_url}`);
      const info = await t.inject({ method: 'GET', url: `/ui/api/setup/${m[1]}` });
      assert.deepEqual(info.json(), { success: true, purpose: 'invite', email: 'new@example.com', workspace: 'alpha' });
      const listed = (await members(owner.browser)).find((x) => x.email === 'new@example.com');
      assert.deepEqual(listed, { id: body.member.id, email: 'new@example.com', role: 'member', has_password: false });
      assert.equal((await members(owner.browser)).find((x) => x.id === owner.userId)?.has_password, true);

      // An account that has a password just gains the workspace, with the role asked for.
      const ext = await addDashboardUser(t, t.other.workspace, 'ext@example.com', PASSWORD);
      const again = await as(owner.browser, 'POST', '/ui/api/members', { email: 'ext@example.com', role: 'owner' });
      assert.equal(again.statusCode, 200, again.body);
      assert.equal(again.json().setup_url, null);
      assert.deepEqual(again.json().member, { id: ext.userId, email: 'ext@example.com', role: 'owner', has_password: true });
      const dup = await as(owner.browser, 'POST', '/ui/api/members', { email: 'ext@example.com', role: 'member' });
      assert.equal(dup.statusCode, 409);
      assert.match(dup.json().message, /^email: already a member/);
      assert.equal((await as(owner.browser, 'DELETE', `/ui/api/members/${ext.userId}`)).statusCode, 200);
    });

    it('a member may list but not invite, change roles or remove: 403 in the error shape', async () => {
      assert.equal((await members(member.browser)).length >= 2, true);
      const tries = [
        await as(member.browser, 'POST', '/ui/api/members', { email: 'x@example.com', role: 'member' }),
        await as(member.browser, 'PATCH', `/ui/api/members/${member.userId}`, { role: 'owner' }),
        await as(member.browser, 'DELETE', `/ui/api/members/${owner.userId}`),
      ];
      for (const res of tries) {
        assert.equal(res.statusCode, 403, res.body);
        assert.equal(res.json().success, false);
        assert.equal(res.json().code, 'forbidden');
        assert.match(res.json().message, /only an owner/);
      }
      assert.equal(await t.store.accounts.findUserByEmail('x@example.com'), null, 'nothing written');
      assert.equal((await members(owner.browser)).find((x) => x.id === owner.userId)?.role, 'owner');
    });

    it('the last owner can be neither demoted nor removed (409); with a second owner, both work', async () => {
      const demote = await as(owner.browser, 'PATCH', `/ui/api/members/${owner.userId}`, { role: 'member' });
      assert.equal(demote.statusCode, 409, demote.body);
      assert.match(demote.json().message, /last owner/);
      const remove = await as(owner.browser, 'DELETE', `/ui/api/members/${owner.userId}`);
      assert.equal(remove.statusCode, 409, remove.body);
      assert.match(remove.json().message, /last owner/);
      assert.equal((await members(owner.browser)).find((x) => x.id === owner.userId)?.role, 'owner');

      const promote = await as(owner.browser, 'PATCH', `/ui/api/members/${member.userId}`, { role: 'owner' });
      assert.equal(promote.statusCode, 200, promote.body);
      assert.equal(promote.json().member.role, 'owner');
      // Now the member may act as an owner, and demote the first owner; then only they are left.
      const back = await as(member.browser, 'PATCH', `/ui/api/members/${owner.userId}`, { role: 'member' });
      assert.equal(back.statusCode, 200, back.body);
      assert.equal((await as(member.browser, 'PATCH', `/ui/api/members/${member.userId}`, { role: 'member' })).statusCode, 409);
      assert.equal((await as(member.browser, 'PATCH', `/ui/api/members/${owner.userId}`, { role: 'owner' })).statusCode, 200);
      assert.equal((await as(owner.browser, 'PATCH', `/ui/api/members/${member.userId}`, { role: 'member' })).statusCode, 200);
    });

    it('removing a member ends their access to the workspace at once, sessions included', async () => {
      const gone = await addDashboardUser(t, t.alpha.workspace, 'gone@example.com', PASSWORD);
      const read = () => t.inject({ method: 'GET', url: '/v1/requests/search', headers: browserHeaders(gone.browser) });
      assert.equal((await read()).statusCode, 200);
      const res = await as(owner.browser, 'DELETE', `/ui/api/members/${gone.userId}`);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal((await read()).statusCode, 401, 'the removed user\'s session no longer reads the workspace');
      assert.equal((await as(gone.browser, 'GET', '/ui/api/session')).statusCode, 401);
      // Invited again, the old browser's session does not come back to life.
      assert.equal((await as(owner.browser, 'POST', '/ui/api/members', { email: 'gone@example.com', role: 'member' })).statusCode, 200);
      assert.equal((await read()).statusCode, 401);
      assert.equal((await as(owner.browser, 'DELETE', `/ui/api/members/${gone.userId}`)).statusCode, 200);
      const twice = await as(owner.browser, 'DELETE', `/ui/api/members/${gone.userId}`);
      assert.equal(twice.statusCode, 404);
      assert.match(twice.json().message, /^id: /);
    });

    it('a member of another workspace is out of reach: 404, nothing changed', async () => {
      const stranger = await addDashboardUser(t, t.other.workspace, 'stranger@example.com', PASSWORD);
      assert.equal((await as(owner.browser, 'PATCH', `/ui/api/members/${stranger.userId}`, { role: 'owner' })).statusCode, 404);
      assert.equal((await as(owner.browser, 'DELETE', `/ui/api/members/${stranger.userId}`)).statusCode, 404);
      assert.equal((await t.store.accounts.memberships(stranger.userId)).length, 1);
    });

    it('bad input answers 400 naming the field; a missing CSRF token 401', async () => {
      const cases: [string, 'POST' | 'PATCH' | 'DELETE', string, object | undefined, RegExp][] = [
        ['bad email', 'POST', '/ui/api/members', { email: 'not-an-email', role: 'member' }, /^email/],
        ['bad role', 'POST', '/ui/api/members', { email: 'a@example.com', role: 'admin' }, /role/],
        ['no role', 'POST', '/ui/api/members', { email: 'a@example.com' }, /role/],
        ['extra field', 'POST', '/ui/api/members', { email: 'a@example.com', role: 'member', password: 'x' }, /password/],
        ['patch bad role', 'PATCH', `/ui/api/members/${member.userId}`, { role: 'boss' }, /role/],
        ['patch bad id', 'PATCH', '/ui/api/members/abc', { role: 'member' }, /id/],
        ['delete bad id', 'DELETE', '/ui/api/members/0', undefined, /id/],
      ];
      for (const [what, method, url, payload, field] of cases) {
        const res = await as(owner.browser, method, url, payload);
        assert.equal(res.statusCode, 400, `${what}: ${res.body}`);
        assert.equal(res.json().success, false);
        assert.match(res.json().message, field, what);
      }
      assert.equal(await t.store.accounts.findUserByEmail('a@example.com'), null, 'nothing written');
      const noCsrf = await t.inject({ method: 'POST', url: '/ui/api/members', headers: { cookie: `tally_session=${owner.browser.cookie}` }, payload: { email: 'b@example.com', role: 'member' } });
      assert.equal(noCsrf.statusCode, 401);
      assert.equal(await t.store.accounts.findUserByEmail('b@example.com'), null);
    });
  });
}
