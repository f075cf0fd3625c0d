import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from './helpers/backends.js';
import { BASE, chat, reply, score } from './helpers/search-fixtures.js';
import { createTestApp, logRequest, type TestApp } from './helpers/test-app.js';

for (const backend of BACKENDS) {
  describe(`GET /v1/requests/{id} [${backend}]`, () => {
    let t: TestApp;
    let id: number;
    let groupId: number;
    before(async () => {
      t = await createTestApp(backend);
      const group = await t.post('/create-group', {});
      assert.equal(group.statusCode, 200);
      groupId = (group.json() as { id: number }).id;
      id = await logRequest(t, {
        provider: 'openai',
        model: 'gpt-4o',
        input: chat('Summarize: "a, b"\nthen stop'),
        output: reply('A and B.'),
        parameters: { temperature: 0.2 },
        tags: ['prod', 'eu'],
        metadata: { team: 'search' },
        prompt_name: 'summarize',
        prompt_version_number: 3,
        prompt_input_variables: { text: 'a, b' },
        input_tokens: 12,
        output_tokens: 4,
        price: 0.003,
        function_name: 'openai.chat.completions.create',
        status: 'WARNING',
        error_type: 'PROVIDER_PARTIAL_RESPONSE',
        error_message: 'cut short',
        group_id: groupId,
        span_id: 'span-7',
        request_start_time: BASE,
        request_end_time: BASE + 1.25,
      });
      await score(t, id, 'quality', 77);
      await score(t, id, 'default', 10);
    });
    after(() => t.close());

    it('answers everything logged and the current scores', async () => {
      const res = await t.get(`/v1/requests/${id}`);
      assert.equal(res.statusCode, 200, res.body);
      const { success, request } = res.json() as { success: boolean; request: Record<string, unknown> };
      assert.equal(success, true);
      const createdAt = request.created_at;
      assert.equal(typeof createdAt, 'string');
      const details = request.score_details as Record<string, { updated_at: string; ratings: { at: string }[] }>;
      const rater = `key:${t.alpha.keyId}`;
      const detail = (name: string, value: number) => ({
        value,
        label: null,
        comment: null,
        reasons: null,
        source: 'api',
        actor: rater,
        rater,
        updated_at: details[name]!.updated_at,
        schema_version: null,
        ratings: [{ rater, value, label: null, comment: null, reasons: null, source: 'api', at: details[name]!.ratings[0]!.at }],
      });
      assert.deepEqual(request, {
        id,
        provider: 'openai',
        model: 'gpt-4o',
        function_name: 'openai.chat.completions.create',
        api_type: null,
        input: chat('Summarize: "a, b"\nthen stop'),
        output: reply('A and B.'),
        parameters: { temperature: 0.2 },
        prompt_name: 'summarize',
        prompt_id: null,
        prompt_version: 3,
        prompt_label: null,
        prompt_input_variables: { text: 'a, b' },
        input_tokens: 12,
        output_tokens: 4,
        tokens: 16,
        price: 0.003,
        status: 'WARNING',
        error_type: 'PROVIDER_PARTIAL_RESPONSE',
        error_message: 'cut short',
        request_start_time: new Date(BASE * 1000).toISOString(),
        request_end_time: new Date((BASE + 1.25) * 1000).toISOString(),
        latency_ms: 1250,
        span_id: 'span-7',
        group_ids: [groupId],
        tags: ['eu', 'prod'],
        metadata: { team: 'search' },
        scores: { default: 10, quality: 77 },
        created_at: createdAt,
        score_details: { default: detail('default', 10), quality: detail('quality', 77) },
      });
    });

    it('shows a score the moment its write is acknowledged, and a prompt label tracked later', async () => {
      await score(t, id, 'quality', 78);
      const tracked = await t.post('/rest/track-prompt', { request_id: id, prompt_name: 'summarize', label: 'prod', prompt_input_variables: { text: 'x' } });
      assert.equal(tracked.statusCode, 200);
      const res = await t.get(`/v1/requests/${id}`);
      const request = (res.json() as { request: Record<string, unknown> }).request;
      assert.equal((request.scores as Record<string, number>).quality, 78);
      assert.equal(request.prompt_label, 'prod');
      assert.equal(request.prompt_version, null);
    });

    it("answers another workspace's request exactly like a missing one", async () => {
      const foreign = await logRequest(t, {}, t.other.key);
      const res = await t.get(`/v1/requests/${foreign}`);
      const missing = await t.get('/v1/requests/987654321');
      assert.equal(res.statusCode, 404);
      assert.equal(missing.statusCode, 404);
      assert.deepEqual(res.json(), missing.json());
      assert.deepEqual(res.json(), { success: false, message: 'id: no request with this id', code: 'not_found' });
      const own = await t.get(`/v1/requests/${foreign}`, { key: t.other.key });
      assert.equal(own.statusCode, 200);
    });

    it('rejects an id that is not a positive integer with 400 naming "id"', async () => {
      for (const bad of ['abc', '0', '-1', '1.5']) {
        const res = await t.get(`/v1/requests/${bad}`);
        assert.equal(res.statusCode, 400, `${bad}: ${res.body}`);
        assert.match(res.json().message, /^id: /);
      }
    });

    it('refuses a call without a key', async () => {
      const res = await t.get(`/v1/requests/${id}`, { key: null });
      assert.equal(res.statusCode, 401);
    });
  });
}
