import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { buildApp } from '../src/app.js';
import { configWith } from '../src/config.js';
import { BACKENDS, freshStore } from './helpers/backends.js';
import { addWorkspace, createTestApp, logBody, logRequest, type TestApp } from './helpers/test-app.js';

for (const backend of BACKENDS) {
  describe(`malformed calls and errors [${backend}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend, { trackBodyLimit: 4096, logBodyLimit: 64 * 1024 });
    });
    after(() => t.close());

    it('answers a body that is not JSON with 400 JSON naming the body', async () => {
      const res = await t.inject({ method: 'POST', url: '/library-track-score', headers: { 'content-type': 'application/json', 'x-api-key': t.alpha.key }, payload: '{"request_id": 1, "score": ' });
      assert.equal(res.statusCode, 400);
      assert.match(res.headers['content-type'] as string, /application\/json/);
      assert.deepEqual(res.json(), { success: false, message: 'body: is not valid JSON', code: 'invalid_json' });
    });

    it('answers a JSON body that is not an object with 400', async () => {
      for (const payload of ['[1,2]', '"score"', '42', 'null']) {
        const res = await t.inject({ method: 'POST', url: '/library-track-score', headers: { 'content-type': 'application/json', 'x-api-key': t.alpha.key }, payload });
        assert.equal(res.statusCode, 400, payload);
        assert.equal(res.json().success, false);
      }
    });

    it('answers a form-encoded body with 415 JSON', async () => {
      const res = await t.inject({ method: 'POST', url: '/library-track-score', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-api-key': t.alpha.key }, payload: 'request_id=1&score=5' });
      assert.equal(res.statusCode, 415);
      assert.equal(res.json().code, 'unsupported_media_type');
    });

    it('answers a track body over its configured limit with 413 JSON, and writes nothing', async () => {
      const id = await logRequest(t);
      const res = await t.post('/library-track-metadata', { request_id: id, metadata: { big: 'x'.repeat(5000) } });
      assert.equal(res.statusCode, 413);
      assert.deepEqual(res.json(), { success: false, message: 'body: larger than the limit of 4096 bytes', code: 'body_too_large' });
      assert.deepEqual((await t.store.requests.get(t.alpha.workspace.id, id))?.metadata, {});
    });

    it('gives the log routes their own, larger limit', async () => {
      const text = 'y'.repeat(20_000);
      const ok = await t.post('/log-request', logBody({ output: { type: 'chat', messages: [{ role: 'assistant', content: [{ type: 'text', text }] }] } }));
      assert.equal(ok.statusCode, 201);
      const tooBig = await t.post('/log-request', logBody({ output: { type: 'chat', messages: [{ role: 'assistant', content: [{ type: 'text', text: text.repeat(4) }] }] } }));
      assert.equal(tooBig.statusCode, 413);
      assert.equal(tooBig.json().code, 'body_too_large');
    });

    it('answers an unknown route with 404 JSON', async () => {
      const res = await t.post('/no-such-route', {});
      assert.equal(res.statusCode, 404);
      assert.equal(res.json().success, false);
    });

    it('refuses a body with a __proto__ key with a 4xx JSON error', async () => {
      const res = await t.inject({ method: 'POST', url: '/library-track-metadata', headers: { 'content-type': 'application/json', 'x-api-key': t.alpha.key }, payload: '{"request_id": 1, "metadata": {"__proto__": {"x": "1"}}}' });
      assert.equal(res.statusCode, 400);
      assert.equal(res.json().success, false);
    });

    it('refuses a revoked key from its very next request', async () => {
      const ws = await addWorkspace(t.store, 'revoking');
      const id = await logRequest(t, {}, ws.key);
      assert.equal((await t.post('/library-track-score', { request_id: id, score: 5 }, { key: ws.key })).statusCode, 200);
      assert.equal(await t.store.keys.revoke(ws.keyId), true);
      const res = await t.post('/library-track-score', { request_id: id, score: 6 }, { key: ws.key });
      assert.equal(res.statusCode, 401);
      assert.equal(res.json().code, 'unauthorized');
      assert.deepEqual((await t.store.requests.get(ws.workspace.id, id))?.scores, { default: 5 });
    });
  });

  describe(`unexpected errors and logs [${backend}]`, () => {
    it('answers an unexpected failure with a fixed 500 body and logs the detail server-side only', async () => {
      const fresh = await freshStore(backend);
      const lines: string[] = [];
      const stream = new Writable({ write: (chunk, _enc, done) => { lines.push(String(chunk)); done(); } });
      const broken = Object.create(fresh.store) as typeof fresh.store;
      const requests = Object.create(fresh.store.requests) as typeof fresh.store.requests;
      requests.get = async () => {
        throw new Error('disk on fire: /var/secret/path');
      };
      Object.defineProperty(broken, 'requests', { value: requests });
      const app = await buildApp(configWith(), { store: broken, logger: { level: 'info', stream } });
      try {
        const ws = await addWorkspace(fresh.store, 'w');
        const res = await app.inject({ method: 'GET', url: '/api/public/v2/requests/1', headers: { 'x-api-key': ws.key } });
        assert.equal(res.statusCode, 500);
        assert.deepEqual(res.json(), { success: false, message: 'internal error', code: 'internal' });
        assert.ok(lines.some((l) => l.includes('disk on fire')), 'the detail is logged');
      } finally {
        await app.close();
        await fresh.close();
      }
    });

    it('never writes keys or prompt bodies to the log', async () => {
      const fresh = await freshStore(backend);
      const lines: string[] = [];
      const stream = new Writable({ write: (chunk, _enc, done) => { lines.push(String(chunk)); done(); } });
      const app = await buildApp(configWith(), { store: fresh.store, logger: { level: 'debug', stream } });
      try {
        const ws = await addWorkspace(fresh.store, 'w');
        const secretPrompt = 'PROMPT-BODY-7f3a9c';
        const res = await app.inject({ method: 'POST', url: '/log-request', headers: { 'x-api-key': ws.key }, payload: logBody({ input: { type: 'chat', messages: [{ role: 'user', content: secretPrompt }] } }) });
        assert.equal(res.statusCode, 201);
        await app.inject({ method: 'POST', url: '/library-track-score', payload: { api_key: ws.key, request_id: res.json().id, score: 200 } });
        await app.inject({ method: 'POST', url: '/library-track-score', headers: { 'x-api-key': 'tl_wrong-key-visible' }, payload: {} });
        const all = lines.join('');
        assert.ok(lines.length > 0, 'requests are logged');
        assert.ok(all.includes('/log-request'), 'the route is logged');
        assert.ok(!all.includes(ws.key), 'no API key in logs');
        assert.ok(!all.includes('tl_wrong-key-visible'), 'no rejected key in logs');
        assert.ok(!all.includes(secretPrompt), 'no prompt body in logs');
      } finally {
        await app.close();
        await fresh.close();
      }
    });
  });
}
