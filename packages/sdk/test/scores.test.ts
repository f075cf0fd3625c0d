import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from '../../server/test/helpers/backends.js';
import { createLiveApp, type LiveApp } from '../../server/test/helpers/live-app.js';
import { logRequest } from '../../server/test/helpers/test-app.js';
import { Tally, TallyError } from '../src/index.js';

async function rejects(p: Promise<unknown>): Promise<TallyError> {
  const r = await p.then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(r instanceof TallyError, `expected a TallyError, got ${String(r)}`);
  return r;
}

const chat = (text: string) => ({ type: 'chat' as const, messages: [{ role: 'user', content: [{ type: 'text', text }] }] });

for (const backend of BACKENDS) {
  describe(`@tally/sdk against a live server: track, group, logRequest, scores [${backend}]`, () => {
    let t: LiveApp;
    let tally: Tally;
    before(async () => {
      t = await createLiveApp(backend);
      tally = new Tally({ apiKey: t.alpha.key, baseURL: t.baseURL, maxRetries: 0 });
    });
    after(() => t.close());
    const scoresOf = async (id: number) => (await t.store.requests.get(t.alpha.workspace.id, id))?.scores;

    it('logRequest returns the new id; track.score stores default and named scores', async () => {
      const res = await tally.logRequest({ provider: 'openai', model: 'gpt-4o-mini', input: chat('Hi'), output: chat('Hello'), request_start_time: new Date(Date.now() - 900).toISOString(), request_end_time: Date.now() / 1000, tags: ['sdk'] });
      assert.equal(res.request_id, res.id);
      assert.equal(await tally.track.score({ request_id: res.id, score: 87 }), true);
      assert.equal(await tally.track.score({ request_id: String(res.id), score: 12, name: 'toxicity' }), true);
      assert.deepEqual(await scoresOf(res.id), { default: 87, toxicity: 12 });
      const stored = await t.store.requests.get(t.alpha.workspace.id, res.id);
      assert.deepEqual(stored?.tags, ['sdk']);
    });

    it('track.metadata, track.prompt and group.create + track.group land', async () => {
      const id = await logRequest(t);
      assert.equal(await tally.track.metadata({ request_id: id, metadata: { team: 'search' } }), true);
      assert.equal(await tally.track.prompt({ request_id: id, prompt_name: 'greeting', version: 2, prompt_input_variables: { who: 'Ada' } }), true);
      const groupId = await tally.group.create();
      assert.equal(await tally.track.group({ request_id: id, group_id: groupId }), true);
      const r = await t.store.requests.get(t.alpha.workspace.id, id);
      assert.deepEqual([r?.metadata, r?.promptName, r?.promptVersion, r?.groupIds], [{ team: 'search' }, 'greeting', 2, [groupId]]);
    });

    it("surfaces the server's errors as TallyError with status, code and message", async () => {
      const missing = await rejects(tally.track.score({ request_id: 987654321, score: 5 }));
      assert.deepEqual([missing.status, missing.code, missing.message], [404, 'not_found', 'request_id: no request with this id']);
      const wrongKey = await rejects(new Tally({ apiKey: 'tl_wrong', baseURL: t.baseURL, maxRetries: 0 }).track.score({ request_id: 1, score: 5 }));
      assert.deepEqual([wrongKey.status, wrongKey.code], [401, 'unauthorized']);
      const bad = await rejects(tally.logRequest({ provider: 'openai', model: 'm', input: chat('a'), output: chat('b'), request_start_time: 10, request_end_time: 5 }));
      assert.deepEqual([bad.status, bad.code, bad.message], [400, 'invalid_field', 'request_end_time: must not be before request_start_time']);
    });

    it('scores.set and scores.delete return the change; history lists them with comments', async () => {
      const id = await logRequest(t);
      const rater = `key:${t.alpha.keyId}`;
      const plain = { label: null, rater, schema_version: null };
      assert.deepEqual(await tally.scores.set(id, 'quality', 70), { request_id: id, name: 'quality', old_value: null, new_value: 70, rating: 70, ...plain });
      assert.deepEqual(await tally.scores.set(id, 'quality', 90, { comment: 'reviewed' }), { request_id: id, name: 'quality', old_value: 70, new_value: 90, rating: 90, ...plain });
      assert.deepEqual(await tally.scores.delete(id, 'quality', { comment: 'wrong request' }), { request_id: id, name: 'quality', old_value: 90, new_value: null, rating: null, ...plain });
      assert.deepEqual(await scoresOf(id), {});
      const history = await tally.scores.history(id);
      assert.deepEqual(
        history.map((e) => [e.name, e.old_value, e.new_value, e.comment, e.actor]),
        [
          ['quality', null, 70, null, `key:${t.alpha.keyId}`],
          ['quality', 70, 90, 'reviewed', `key:${t.alpha.keyId}`],
          ['quality', 90, null, 'wrong request', `key:${t.alpha.keyId}`],
        ],
      );
      const again = await rejects(tally.scores.delete(id, 'quality'));
      assert.equal(again.status, 404);
    });

    it('a score name with slashes and spaces survives the URL', async () => {
      const id = await logRequest(t);
      await tally.scores.set(id, 'eval/v2 helpfulness', 55);
      assert.deepEqual(await scoresOf(id), { 'eval/v2 helpfulness': 55 });
    });

    it('scores.events pages through the feed with next_cursor', async () => {
      const id = await logRequest(t);
      for (const v of [1, 2, 3]) await tally.scores.set(id, 'feed', v);
      const first = await tally.scores.events({ request_id: id, limit: 2 });
      assert.deepEqual(first.events.map((e) => e.new_value), [1, 2]);
      assert.equal(first.has_more, true);
      const second = await tally.scores.events({ request_id: id, limit: 2, after: first.next_cursor ?? undefined });
      assert.deepEqual(second.events.map((e) => e.new_value), [3]);
      assert.equal(second.has_more, false);
    });

    it('scores.batch writes all items with one batch id; a server-side bad item writes nothing and lists it', async () => {
      const a = await logRequest(t);
      const b = await logRequest(t);
      const res = await tally.scores.batch([{ request_id: a, score: 10 }, { request_id: b, name: 'q', score: 20 }], { comment: 'nightly' });
      assert.equal(res.count, 2);
      assert.deepEqual(await scoresOf(a), { default: 10 });
      assert.deepEqual(await scoresOf(b), { q: 20 });
      const history = await tally.scores.history(b);
      assert.deepEqual([history[0]?.batch_id, history[0]?.source, history[0]?.comment], [res.batch_id, 'batch', 'nightly']);

      const err = await rejects(tally.scores.batch([{ request_id: a, score: 99 }, { request_id: 987654321, score: 1 }]));
      assert.equal(err.status, 400);
      assert.deepEqual(err.errors, [{ index: 1, field: 'request_id', message: 'request_id: no request with this id' }]);
      assert.deepEqual(await scoresOf(a), { default: 10 });
    });

    it('scores.stats and scores.compare answer for a score name', async () => {
      const ids = [];
      for (const [version, value] of [[1, 40], [1, 50], [1, 60], [2, 80], [2, 90], [2, 100]] as const) {
        const id = await logRequest(t, { prompt_name: 'cmp', prompt_version_number: version });
        await tally.scores.set(id, 'cmp_quality', value);
        ids.push(id);
      }
      const stats = await tally.scores.stats({ name: 'cmp_quality' });
      assert.equal(stats.scores.length, 1);
      assert.deepEqual([stats.scores[0]?.count, stats.scores[0]?.mean, stats.scores[0]?.min, stats.scores[0]?.max], [6, 70, 40, 100]);
      const byPrompt = await tally.scores.stats({ name: 'cmp_quality', group_by: 'prompt' });
      assert.deepEqual(byPrompt.scores.map((s) => [s.group?.prompt_version, s.mean]).sort(), [[1, 50], [2, 90]]);
      const cmp = await tally.scores.compare({ name: 'cmp_quality', a: { prompt_name: 'cmp', prompt_version: 1 }, b: { prompt_name: 'cmp', prompt_version: 2 } });
      assert.deepEqual([cmp.a.mean, cmp.b.mean, cmp.difference, cmp.test], [50, 90, 40, 'welch_t']);
      assert.ok(['b_better', 'no_significant_difference', 'not_enough_data'].includes(cmp.verdict));
    });

    it('scores.stats by a metadata key, scores.correlation and requests.facets', async () => {
      // Tokens 10, 20, 30 against scores 30, 10, 20: ranks 1 2 3 against 3 1 2, rho = -.5.
      for (const [tokens, value, tier] of [[10, 30, 'gold'], [20, 10, 'gold'], [30, 20, 'free']] as const) {
        const id = await logRequest(t, { input_tokens: tokens, metadata: { sdk_tier: tier }, model: 'sdk-model' });
        await tally.scores.set(id, 'sdk_corr', value);
      }
      const byTier = await tally.scores.stats({ name: 'sdk_corr', group_by: 'metadata.sdk_tier' });
      assert.deepEqual(byTier.scores.map((s) => [s.group?.metadata_value, s.mean]), [['free', 20], ['gold', 20]]);
      const c = await tally.scores.correlation({ name: 'sdk_corr', x: 'input_tokens', bins: 3 });
      assert.deepEqual([c.n, c.spearman.rho, c.bins.map((b) => b.score_mean)], [3, -0.5, [30, 10, 20]]);
      assert.deepEqual(c.window, { limit: 10000, truncated: false });
      const newest = await tally.scores.correlation({ name: 'sdk_corr', x: 'input_tokens', limit: 2 });
      assert.deepEqual([newest.n, newest.window], [2, { limit: 2, truncated: true }]);
      const windowed = await tally.scores.stats({ name: 'sdk_corr', limit: 2 });
      assert.deepEqual([windowed.window, windowed.scores[0]?.count], [{ limit: 2, truncated: true }, 2]);
      const f = await tally.requests.facets({ limit: 500 });
      assert.ok(f.models.values.includes('sdk-model') && f.metadata_keys.values.includes('sdk_tier'), JSON.stringify(f));
      assert.ok(f.score_names.values.includes('sdk_corr'), JSON.stringify(f.score_names));
    });
  });
}
