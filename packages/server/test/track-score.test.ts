import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from './helpers/backends.js';
import { createTestApp, logRequest, type TestApp } from './helpers/test-app.js';

for (const backend of BACKENDS) {
  describe(`track-score [${backend}]`, () => {
    let t: TestApp;
    let requestId: number;
    before(async () => {
      t = await createTestApp(backend);
      requestId = await logRequest(t);
    });
    after(() => t.close());

    for (const path of ['/rest/track-score', '/library-track-score']) {
      it(`${path} stores a score under "default" when no name is given`, async () => {
        const id = await logRequest(t);
        const res = await t.post(path, { request_id: id, score: 87 });
        assert.equal(res.statusCode, 200);
        assert.deepEqual(res.json(), { success: true, message: 'score tracked' });
        const stored = await t.store.requests.get(t.alpha.workspace.id, id);
        assert.deepEqual(stored?.scores, { default: 87 });
      });
    }

    it('takes the key from the body api_key, as the SDKs send it', async () => {
      const res = await t.post('/library-track-score', { api_key: t.alpha.key, request_id: requestId, score: 40, name: 'body-key' }, { key: null });
      assert.equal(res.statusCode, 200);
      assert.equal((await t.store.requests.get(t.alpha.workspace.id, requestId))?.scores['body-key'], 40);
    });

    it('accepts request_id as a decimal string', async () => {
      const res = await t.post('/library-track-score', { request_id: String(requestId), score: 12, name: 'stringy' });
      assert.equal(res.statusCode, 200);
      assert.equal((await t.store.requests.get(t.alpha.workspace.id, requestId))?.scores.stringy, 12);
    });

    it('accepts the bounds 0 and 100', async () => {
      for (const score of [0, 100]) {
        const res = await t.post('/library-track-score', { request_id: requestId, score, name: `bound-${score}` });
        assert.equal(res.statusCode, 200, res.body);
      }
      const scores = (await t.store.requests.get(t.alpha.workspace.id, requestId))?.scores;
      assert.equal(scores?.['bound-0'], 0);
      assert.equal(scores?.['bound-100'], 100);
    });

    it('replaces the value on a second score of the same name and records both changes in history', async () => {
      const id = await logRequest(t);
      assert.equal((await t.post('/rest/track-score', { request_id: id, score: 30, name: 'quality' })).statusCode, 200);
      assert.equal((await t.post('/rest/track-score', { request_id: id, score: 75, name: 'quality' })).statusCode, 200);
      assert.deepEqual((await t.store.requests.get(t.alpha.workspace.id, id))?.scores, { quality: 75 });
      const history = await t.store.scores.history(t.alpha.workspace.id, id);
      assert.deepEqual(
        history.map((e) => [e.name, e.oldValue, e.newValue, e.actor, e.source]),
        [
          ['quality', null, 30, `key:${t.alpha.keyId}`, 'api'],
          ['quality', 30, 75, `key:${t.alpha.keyId}`, 'api'],
        ],
      );
      assert.ok(history.every((e) => e.at > 0 && e.at <= Date.now()));
    });

    const bad: [string, Record<string, unknown>, string][] = [
      ['a score of 101', { score: 101 }, 'score'],
      ['a score of -1', { score: -1 }, 'score'],
      ['a score of 50.5', { score: 50.5 }, 'score'],
      ['a score of "abc"', { score: 'abc' }, 'score'],
      ['a score of null', { score: null }, 'score'],
      ['a score given as the string "50"', { score: '50' }, 'score'],
      ['a missing score', { score: undefined }, 'score'],
      ['a missing request_id', { request_id: undefined }, 'request_id'],
      ['a boolean request_id', { request_id: true }, 'request_id'],
      ['a float request_id', { request_id: 1.5 }, 'request_id'],
      ['a negative request_id', { request_id: -3 }, 'request_id'],
      ['a non-numeric string request_id', { request_id: '12abc' }, 'request_id'],
      ['an empty name', { name: '' }, 'name'],
      ['a name of 513 characters', { name: 'n'.repeat(513) }, 'name'],
      ['a numeric name', { name: 5 }, 'name'],
    ];
    for (const [what, patch, field] of bad) {
      it(`rejects ${what} with a 400 naming "${field}" and writes nothing`, async () => {
        const id = await logRequest(t);
        const body = { request_id: id, score: 50, name: 'badcase', ...patch };
        const res = await t.post('/library-track-score', body);
        assert.equal(res.statusCode, 400, res.body);
        const json = res.json() as { success: boolean; message: string; code: string };
        assert.equal(json.success, false);
        assert.equal(json.code, 'invalid_field');
        assert.ok(json.message.startsWith(`${field}:`), `message "${json.message}" should start with "${field}:"`);
        const stored = await t.store.requests.get(t.alpha.workspace.id, id);
        assert.deepEqual(stored?.scores, {});
        assert.deepEqual(await t.store.scores.history(t.alpha.workspace.id, id), []);
      });
    }

    it('answers an unknown request id with 404 naming request_id', async () => {
      const res = await t.post('/library-track-score', { request_id: 987654321, score: 5 });
      assert.equal(res.statusCode, 404);
      assert.deepEqual(res.json(), { success: false, message: 'request_id: no request with this id', code: 'not_found' });
    });

    it("answers another workspace's request id exactly like a missing one, and changes nothing", async () => {
      const foreign = await logRequest(t, {}, t.other.key);
      const res = await t.post('/library-track-score', { request_id: foreign, score: 5 });
      const missing = await t.post('/library-track-score', { request_id: 987654321, score: 5 });
      assert.equal(res.statusCode, missing.statusCode);
      assert.deepEqual(res.json(), missing.json());
      assert.deepEqual((await t.store.requests.get(t.other.workspace.id, foreign))?.scores, {});
    });

    it('refuses a call with no key, and one with a wrong key, with 401', async () => {
      const none = await t.post('/library-track-score', { request_id: requestId, score: 5 }, { key: null });
      assert.equal(none.statusCode, 401);
      assert.equal(none.json().code, 'unauthorized');
      const wrong = await t.post('/library-track-score', { request_id: requestId, score: 5 }, { key: 'tl_notarealkey' });
      assert.equal(wrong.statusCode, 401);
      assert.equal(wrong.json().success, false);
    });
  });
}
