import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { BACKENDS } from './helpers/backends.js';
import { addDashboardUser, sessionCookieOf } from './helpers/dashboard-users.js';
import { createTestApp, logBody, type TestApp } from './helpers/test-app.js';

const PROXY = '10.0.0.7';
const BAD_KEY = { 'x-api-key': 'tl_not-a-real-key' };

/** A failed authentication from `remoteAddress`, claiming `forwardedFor` (none: no header). */
const failOnce = (t: TestApp, remoteAddress: string, forwardedFor?: string) =>
  t.inject({ method: 'POST', url: '/log-request', remoteAddress, headers: { ...BAD_KEY, ...(forwardedFor ? { 'x-forwarded-for': forwardedFor } : {}) }, payload: logBody() });

const validLog = (t: TestApp, remoteAddress: string, forwardedFor: string) =>
  t.inject({ method: 'POST', url: '/log-request', remoteAddress, headers: { 'x-api-key': t.alpha.key, 'x-forwarded-for': forwardedFor }, payload: logBody() });

const isSecure = (res: LightMyRequestResponse) => /;\s*Secure(;|$)/i.test(sessionCookieOf(res).header);

for (const backend of BACKENDS) {
  describe(`--trust-proxy [${backend}]`, () => {
    describe('with the proxy trusted', () => {
      let t: TestApp;
      before(async () => {
        t = await createTestApp(backend, { authFailuresPerMinute: 3, trustProxy: [PROXY, '192.168.0.0/16'] });
      });
      after(() => t.close());

      it('counts failed keys per forwarded client: one client locked out does not lock out another behind the same proxy', async () => {
        for (let i = 0; i < 3; i++) assert.equal((await failOnce(t, PROXY, '203.0.113.5')).statusCode, 401);
        const locked = await failOnce(t, PROXY, '203.0.113.5');
        assert.equal(locked.statusCode, 429);
        assert.ok(Number(locked.headers['retry-after']) > 0);
        // The same client with a valid key is still refused: the limit is on its address.
        assert.equal((await validLog(t, PROXY, '203.0.113.5')).statusCode, 429);
        assert.equal((await validLog(t, PROXY, '203.0.113.6')).statusCode, 201);
        // A proxy matched by a CIDR range is trusted too.
        assert.equal((await validLog(t, '192.168.4.2', '203.0.113.6')).statusCode, 201);
      });

      it('ignores X-Forwarded-For from an address that is not a trusted proxy', async () => {
        const spoofer = '198.51.100.9';
        for (let i = 0; i < 3; i++) assert.equal((await failOnce(t, spoofer, `203.0.113.${100 + i}`)).statusCode, 401);
        // A fresh forwarded address does not reset the count: the socket's address is the client's.
        assert.equal((await failOnce(t, spoofer, '203.0.113.200')).statusCode, 429);
        assert.equal((await validLog(t, spoofer, '203.0.113.201')).statusCode, 429);
      });

      it('sets a Secure session cookie behind a trusted proxy that received https, not otherwise', async () => {
        const { email } = await addDashboardUser(t, t.alpha.workspace, 'proxy@example.com', 'correct horse battery');
        const login = (remoteAddress: string, proto?: string) =>
          t.inject({
            method: 'POST',
            url: '/ui/api/login',
            remoteAddress,
            headers: { 'x-forwarded-for': '203.0.113.50', ...(proto ? { 'x-forwarded-proto': proto } : {}) },
            payload: { email, password: 'correct horse battery' },
          });
        const viaTls = await login(PROXY, 'https');
        assert.equal(viaTls.statusCode, 200, viaTls.body);
        assert.ok(isSecure(viaTls), sessionCookieOf(viaTls).header);
        const viaPlain = await login(PROXY, 'http');
        assert.equal(viaPlain.statusCode, 200);
        assert.ok(!isSecure(viaPlain), sessionCookieOf(viaPlain).header);
        const spoofed = await login('198.51.100.10', 'https');
        assert.equal(spoofed.statusCode, 200);
        assert.ok(!isSecure(spoofed), 'an untrusted sender cannot claim https');
      });
    });

    describe('off (the default)', () => {
      let t: TestApp;
      before(async () => {
        t = await createTestApp(backend, { authFailuresPerMinute: 3 });
      });
      after(() => t.close());

      it('counts failed keys per socket address, whatever X-Forwarded-For says', async () => {
        for (let i = 0; i < 3; i++) assert.equal((await failOnce(t, PROXY, `203.0.113.${i + 1}`)).statusCode, 401);
        assert.equal((await validLog(t, PROXY, '203.0.113.99')).statusCode, 429);
      });

      it('never sets a Secure cookie from X-Forwarded-Proto', async () => {
        const { email } = await addDashboardUser(t, t.alpha.workspace, 'direct@example.com', 'correct horse battery');
        const res = await t.inject({ method: 'POST', url: '/ui/api/login', remoteAddress: PROXY, headers: { 'x-forwarded-proto': 'https' }, payload: { email, password: 'correct horse battery' } });
        assert.equal(res.statusCode, 200);
        assert.ok(!isSecure(res), sessionCookieOf(res).header);
      });
    });
  });
}
