import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from './helpers/backends.js';
import { createTestApp, logRequest, type TestApp } from './helpers/test-app.js';

function assertFieldError(res: { statusCode: number; json(): unknown }, status: number, field: string): void {
  assert.equal(res.statusCode, status);
  const body = res.json() as { success: boolean; message: string };
  assert.equal(body.success, false);
  assert.ok(body.message.startsWith(`${field}:`), `"${body.message}" should name ${field}`);
}

for (const backend of BACKENDS) {
  describe(`track-metadata, track-prompt, groups [${backend}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend);
    });
    after(() => t.close());

    for (const path of ['/rest/track-metadata', '/library-track-metadata']) {
      it(`${path} adds keys and replaces a key tracked again`, async () => {
        const id = await logRequest(t, { metadata: { team: 'search', stage: 'dev' } });
        const res = await t.post(path, { request_id: id, metadata: { stage: 'prod', user: 'u-42' } });
        assert.equal(res.statusCode, 200);
        assert.deepEqual(res.json(), { success: true, message: 'metadata tracked' });
        const stored = await t.store.requests.get(t.alpha.workspace.id, id);
        assert.deepEqual(stored?.metadata, { team: 'search', stage: 'prod', user: 'u-42' });
      });
    }

    it('rejects metadata values that are not strings, naming the key, and writes nothing', async () => {
      const id = await logRequest(t);
      const res = await t.post('/library-track-metadata', { request_id: id, metadata: { ok: 'yes', count: 3 } });
      assertFieldError(res, 400, 'metadata.count');
      assert.deepEqual((await t.store.requests.get(t.alpha.workspace.id, id))?.metadata, {});
    });

    it('takes metadata keys of up to 1024 characters and rejects longer ones, writing nothing', async () => {
      const id = await logRequest(t);
      const longest = 'k'.repeat(1024);
      const res = await t.post('/library-track-metadata', { request_id: id, metadata: { ok: 'yes', ['k'.repeat(1025)]: 'v' } });
      assertFieldError(res, 400, 'metadata');
      assert.deepEqual((await t.store.requests.get(t.alpha.workspace.id, id))?.metadata, {});
      const fits = await t.post('/library-track-metadata', { request_id: id, metadata: { [longest]: 'v' } });
      assert.equal(fits.statusCode, 200, fits.body);
      assert.deepEqual((await t.store.requests.get(t.alpha.workspace.id, id))?.metadata, { [longest]: 'v' });
    });

    it('rejects metadata that is not an object', async () => {
      const id = await logRequest(t);
      assertFieldError(await t.post('/library-track-metadata', { request_id: id, metadata: ['a'] }), 400, 'metadata');
      assertFieldError(await t.post('/library-track-metadata', { request_id: id }), 400, 'metadata');
    });

    for (const path of ['/rest/track-prompt', '/library-track-prompt']) {
      it(`${path} links a prompt name, version and input variables`, async () => {
        const id = await logRequest(t);
        const res = await t.post(path, { request_id: id, prompt_name: 'greeter', prompt_input_variables: { who: 'Ada' }, version: 3 });
        assert.equal(res.statusCode, 200);
        assert.deepEqual(res.json(), { success: true, message: 'prompt tracked' });
        const stored = await t.store.requests.get(t.alpha.workspace.id, id);
        assert.equal(stored?.promptName, 'greeter');
        assert.equal(stored?.promptVersion, 3);
        assert.equal(stored?.promptLabel, null);
        assert.deepEqual(stored?.promptInputVariables, { who: 'Ada' });
      });
    }

    it('track-prompt accepts a version given as a string, and a label instead of a version', async () => {
      const id = await logRequest(t);
      assert.equal((await t.post('/library-track-prompt', { request_id: id, prompt_name: 'p', prompt_input_variables: {}, version: '7' })).statusCode, 200);
      assert.equal((await t.store.requests.get(t.alpha.workspace.id, id))?.promptVersion, 7);
      assert.equal((await t.post('/library-track-prompt', { request_id: id, prompt_name: 'p', prompt_input_variables: {}, version: null, label: 'prod' })).statusCode, 200);
      const stored = await t.store.requests.get(t.alpha.workspace.id, id);
      assert.equal(stored?.promptLabel, 'prod');
      assert.equal(stored?.promptVersion, null);
    });

    it('track-prompt refuses both a version and a label', async () => {
      const id = await logRequest(t);
      assertFieldError(await t.post('/library-track-prompt', { request_id: id, prompt_name: 'p', version: 2, label: 'prod' }), 400, 'version');
      assert.equal((await t.store.requests.get(t.alpha.workspace.id, id))?.promptName, null);
    });

    it('track-prompt answers a boolean request_id (the Python SDK async bug) with 400, writing nothing', async () => {
      const res = await t.post('/library-track-prompt', { request_id: true, prompt_name: 'p', prompt_input_variables: {} });
      assertFieldError(res, 400, 'request_id');
    });

    it('track-prompt refuses a missing prompt_name', async () => {
      const id = await logRequest(t);
      assertFieldError(await t.post('/library-track-prompt', { request_id: id, prompt_input_variables: {} }), 400, 'prompt_name');
    });

    it('create-group answers an integer id, and track-group links requests to it (both paths, idempotent)', async () => {
      const created = await t.post('/create-group', { api_key: t.alpha.key }, { key: null });
      assert.equal(created.statusCode, 200);
      const body = created.json() as { success: boolean; id: number };
      assert.equal(body.success, true);
      assert.ok(Number.isInteger(body.id) && body.id > 0);
      const a = await logRequest(t);
      const b = await logRequest(t);
      for (const [path, id] of [['/rest/track-group', a], ['/track-group', b], ['/track-group', b]] as const) {
        const res = await t.post(path, { request_id: id, group_id: body.id });
        assert.equal(res.statusCode, 200);
        assert.deepEqual(res.json(), { success: true, message: 'group tracked' });
      }
      assert.deepEqual((await t.store.requests.get(t.alpha.workspace.id, a))?.groupIds, [body.id]);
      assert.deepEqual((await t.store.requests.get(t.alpha.workspace.id, b))?.groupIds, [body.id]);
    });

    it("track-group answers another workspace's group like a missing one", async () => {
      const foreignGroup = (await t.post('/create-group', {}, { key: t.other.key })).json() as { id: number };
      const id = await logRequest(t);
      const foreign = await t.post('/track-group', { request_id: id, group_id: foreignGroup.id });
      const missing = await t.post('/track-group', { request_id: id, group_id: 99_999_999 });
      assertFieldError(foreign, 404, 'group_id');
      assert.deepEqual(foreign.json(), missing.json());
      assert.deepEqual((await t.store.requests.get(t.alpha.workspace.id, id))?.groupIds, []);
    });

    it("track-metadata and track-prompt answer another workspace's request like a missing one", async () => {
      const foreign = await logRequest(t, {}, t.other.key);
      for (const [path, body] of [
        ['/library-track-metadata', { metadata: { a: 'b' } }],
        ['/library-track-prompt', { prompt_name: 'p', prompt_input_variables: {} }],
        ['/track-group', { group_id: 1 }],
      ] as const) {
        const res = await t.post(path, { request_id: foreign, ...body });
        const missing = await t.post(path, { request_id: 99_999_999, ...body });
        assert.equal(res.statusCode, 404, path);
        assert.deepEqual(res.json(), missing.json(), path);
      }
      const stored = await t.store.requests.get(t.other.workspace.id, foreign);
      assert.deepEqual(stored?.metadata, {});
      assert.equal(stored?.promptName, null);
    });
  });
}
