import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { build } from 'esbuild';
import { BACKENDS } from '../../server/test/helpers/backends.js';
import { createLiveApp, type LiveApp } from '../../server/test/helpers/live-app.js';
import { logRequest } from '../../server/test/helpers/test-app.js';
import { Tally, TallyError } from '../src/index.js';
import { submitFeedback } from '../src/feedback.js';
import { ensureSdkBuilt } from './helpers/built-sdk.js';

const SDK = fileURLToPath(new URL('..', import.meta.url));

async function rejects(p: Promise<unknown>): Promise<TallyError> {
  const r = await p.then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(r instanceof TallyError, `expected a TallyError, got ${String(r)}`);
  return r;
}

describe('@tally/sdk/feedback, the browser entry', () => {
  it('is exported as its own subpath, resolving to the build', async () => {
    ensureSdkBuilt();
    const pkg = JSON.parse(readFileSync(`${SDK}/package.json`, 'utf8')) as { exports: Record<string, { import: string; types: string }> };
    assert.deepEqual(pkg.exports['./feedback'], { types: './dist/feedback.d.ts', import: './dist/feedback.js' });
    // Through the package's name and export map, as an app imports it (a variable: TypeScript
    // would resolve the literal against the sources).
    const entry = '@tally/sdk/feedback';
    const mod = (await import(entry)) as { submitFeedback: unknown; TallyError: unknown };
    assert.equal(typeof mod.submitFeedback, 'function');
    const mainEntry = '@tally/sdk';
    const main = (await import(mainEntry)) as { TallyError: unknown };
    // One error class for both entries, so `instanceof TallyError` holds whichever was imported.
    assert.equal(mod.TallyError, main.TallyError);
  });

  it('bundles, minified and gzipped, to under 700 bytes with nothing imported from outside', async () => {
    ensureSdkBuilt();
    const out = await build({
      stdin: { contents: "export { submitFeedback } from '@tally/sdk/feedback';", resolveDir: SDK, loader: 'js' },
      bundle: true,
      minify: true,
      format: 'esm',
      platform: 'browser',
      write: false,
      metafile: true,
    });
    const inputs = Object.keys(out.metafile.inputs);
    assert.deepEqual(inputs.filter((f) => !/dist\/(feedback|errors)\.js$/.test(f) && f !== '<stdin>'), [], inputs.join(', '));
    const gz = gzipSync(out.outputFiles[0]!.contents, { level: 9 }).length;
    assert.ok(gz < 700, `${gz} bytes gzipped`);
  });
});

for (const backend of BACKENDS) {
  describe(`tally.feedback and submitFeedback against a live server [${backend}]`, () => {
    let t: LiveApp;
    let tally: Tally;
    before(async () => {
      t = await createLiveApp(backend, { feedbackPerToken: 3 });
      tally = new Tally({ apiKey: t.alpha.key, baseURL: t.baseURL, maxRetries: 0 });
    });
    after(() => t.close());

    const historyOf = (id: number) => t.store.scores.history(t.alpha.workspace.id, id);

    it('createToken mints a token submitFeedback rates with, without a key; a second rating replaces the first', async () => {
      const id = await logRequest(t);
      const minted = await tally.feedback.createToken({ request_id: id, name: 'thumbs', values: [100, 0], end_user: 'u-5' });
      assert.equal(minted.request_id, id);
      assert.equal(minted.name, 'thumbs');
      assert.ok(Date.parse(minted.expires_at) > Date.now());
      assert.deepEqual(await submitFeedback({ baseURL: `${t.baseURL}/`, token: minted.token, value: 100 }), { name: 'thumbs', value: 100 });
      assert.deepEqual(await submitFeedback({ baseURL: t.baseURL, token: minted.token, value: 0, comment: 'no' }), { name: 'thumbs', value: 0 });
      assert.deepEqual((await t.store.requests.get(t.alpha.workspace.id, id))?.scores, { thumbs: 0 });
      assert.deepEqual(
        (await historyOf(id)).map((e) => [e.newValue, e.actor, e.source, e.comment]),
        [
          [100, 'end_user:u-5', 'end_user', null],
          [0, 'end_user:u-5', 'end_user', 'no'],
        ],
      );
    });

    it('submitFeedback rejects with the server\'s code and message: 400 naming value, 401, 429 with retryAfter', async () => {
      const id = await logRequest(t);
      const { token } = await tally.feedback.createToken({ request_id: id, values: [100, 0] });
      const bad = await rejects(submitFeedback({ baseURL: t.baseURL, token, value: 50 }));
      assert.deepEqual([bad.status, bad.code], [400, 'invalid_field']);
      assert.match(bad.message, /^value: must be one of 100, 0$/);
      const forged = await rejects(submitFeedback({ baseURL: t.baseURL, token: `${token.slice(0, -2)}xx`, value: 100 }));
      assert.deepEqual([forged.status, forged.code], [401, 'unauthorized']);
      await submitFeedback({ baseURL: t.baseURL, token, value: 100 });
      await submitFeedback({ baseURL: t.baseURL, token, value: 0 });
      const limited = await rejects(submitFeedback({ baseURL: t.baseURL, token, value: 100 }));
      assert.deepEqual([limited.status, limited.code], [429, 'rate_limited']);
      assert.ok((limited.retryAfter ?? 0) >= 1);
      const offline = await rejects(submitFeedback({ baseURL: 'http://127.0.0.1:1', token, value: 100 }));
      assert.deepEqual([offline.status, offline.code], [0, 'network']);
    });

    it('createTokens mints one per item, in order; logRequest can ask for one', async () => {
      const a = await logRequest(t);
      const b = await logRequest(t);
      const tokens = await tally.feedback.createTokens({ name: 'thumbs', values: [100, 0], items: [{ request_id: b }, { request_id: String(a) as unknown as number }] });
      assert.deepEqual(tokens.map((x) => [x.request_id, x.name]), [[b, 'thumbs'], [a, 'thumbs']]);
      const missing = await rejects(tally.feedback.createTokens({ items: [{ request_id: a }, { request_id: 999_999 }] }));
      assert.equal(missing.status, 404);
      assert.match(missing.message, /^items\.1\.request_id: /);
      const logged = await tally.logRequest({
        provider: 'openai',
        model: 'gpt-4o-mini',
        input: { type: 'chat', messages: [] },
        output: { type: 'chat', messages: [] },
        request_start_time: 1732712345,
        request_end_time: 1732712346,
        feedback_token: { name: 'thumbs', values: [100, 0] },
      });
      assert.ok(logged.feedback_token);
      assert.deepEqual(await submitFeedback({ baseURL: t.baseURL, token: logged.feedback_token.token, value: 100 }), { name: 'thumbs', value: 100 });
    });
  });
}
