import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from './helpers/backends.js';
import { createTestApp, logRequest, type TestApp } from './helpers/test-app.js';

/*
 * The Python SDK (promptlayer 1.5.x) cannot be installed here (no PyPI), so it is not run: these
 * tests send the bodies it sends (../shared/API.md and the SDK's utils.py), JSON as `requests`/
 * `httpx` serialise a Python dict (None becomes null, floats stay floats), the key in the body as
 * `api_key` on the track calls and `X-API-KEY` only on /log-request, and check the server's
 * answers. What the SDK would then do with each answer is `pythonSdkReads`, its response handling
 * as the SDK's source has it:
 *   - track calls: `status_code == 200` returns True;
 *   - log_request: `status_code == 201`, then `.json()` (a RequestLog with `id`);
 *   - group.create: `.json()["id"]`; wrapped clients (/track-request): `.json().get("request_id")`;
 *   - 429 and 5xx are retried; any other status raises the exception class mapped to that status
 *     (400, 401, 403, 404, 409, 422 each have their own), carrying `message`, `error` or `detail`.
 */

/** `datetime.datetime.now().timestamp()`: float epoch seconds. */
const pyNow = () => Date.now() / 1000 + 0.000123;

/** Every keyword of `PromptLayer.log_request` with the SDK's own defaults. */
function pythonLogRequestBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const start = pyNow() - 1.5;
  return {
    provider: 'openai',
    model: 'gpt-4o-mini',
    input: { type: 'chat', messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi from Python' }] }] },
    output: { type: 'chat', messages: [{ role: 'assistant', content: [{ type: 'text', text: 'Hello!' }] }] },
    request_start_time: start,
    request_end_time: start + 1.25,
    parameters: {},
    tags: [],
    metadata: {},
    prompt_name: null,
    prompt_version_number: null,
    prompt_input_variables: {},
    input_tokens: 0,
    output_tokens: 0,
    price: 0.0,
    function_name: '',
    score: 0,
    prompt_id: null,
    score_name: null,
    status: 'SUCCESS',
    error_type: null,
    error_message: null,
    ...overrides,
  };
}

/** What the SDK's raise_on_bad_response reads from an error body. */
function pythonErrorText(body: unknown): string | undefined {
  const b = body as { message?: unknown; error?: unknown; detail?: unknown };
  const text = b.message ?? b.error ?? b.detail;
  return typeof text === 'string' ? text : undefined;
}

type SdkCall = 'track' | 'log_request' | 'group.create' | 'track_request' | 'get_request';
/** What the SDK returns, raises (by status, with the text it shows) or retries, given an answer. */
type SdkOutcome = { returns: unknown } | { raises: number; message: string | undefined } | { retries: number };

function pythonSdkReads(call: SdkCall, res: { statusCode: number; body: string }): SdkOutcome {
  if (res.statusCode === 429 || res.statusCode >= 500) return { retries: res.statusCode };
  let json: Record<string, unknown> | undefined;
  try {
    json = JSON.parse(res.body) as Record<string, unknown>;
  } catch {
    json = undefined;
  }
  const expected = call === 'log_request' ? 201 : 200;
  if (res.statusCode !== expected || json === undefined) return { raises: res.statusCode, message: json === undefined ? undefined : pythonErrorText(json) };
  if (call === 'track') return { returns: true };
  if (call === 'group.create') return { returns: json.id };
  if (call === 'track_request') return { returns: json.request_id };
  return { returns: json };
}

/** The SDK returned an integer id: a RequestLog's `id`, a group's id, a wrapped call's request_id. */
function returnedId(outcome: SdkOutcome, field?: string): number {
  assert.ok('returns' in outcome, `the SDK would not return: ${JSON.stringify(outcome)}`);
  const id = field === undefined ? outcome.returns : (outcome.returns as Record<string, unknown>)[field];
  assert.ok(typeof id === 'number' && Number.isInteger(id) && id > 0, `an integer id: ${JSON.stringify(outcome)}`);
  return id;
}

for (const backend of BACKENDS) {
  describe(`the server's answers to the Python SDK's request bodies (the SDK itself not run) [${backend}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend);
    });
    after(() => t.close());

    /** POSTs exactly what the Python SDK posts: JSON, no key header unless given. */
    const pyPost = (url: string, body: unknown, headers: Record<string, string> = {}) =>
      t.post(url, body, { key: null, headers: { 'user-agent': 'promptlayer-python/1.5.0 (python 3.12) python-requests/2.32.3', ...headers } });
    const stored = async (id: number) => {
      const r = await t.store.requests.get(t.alpha.workspace.id, id);
      assert.ok(r);
      return r;
    };

    describe('log_request', () => {
      it('answers 201 with id and request_id for the full default body (float epochs, score 0, score_name null)', async () => {
        const body = pythonLogRequestBody();
        const res = await pyPost('/log-request', body, { 'x-api-key': t.alpha.key });
        assert.equal(res.statusCode, 201, res.body);
        returnedId(pythonSdkReads('log_request', res), 'id');
        const json = res.json() as Record<string, unknown>;
        assert.equal(json.request_id, json.id);
        assert.deepEqual([json.status, json.error_type, json.error_message, json.prompt_version], ['SUCCESS', null, null, null]);
        const r = await stored(json.id as number);
        assert.equal(r.startMs, Math.round((body.request_start_time as number) * 1000));
        assert.equal(r.endMs, Math.round((body.request_end_time as number) * 1000));
        assert.deepEqual(r.scores, {}, 'score 0 with score_name null means "no score", so none is created');
        assert.deepEqual(await t.store.scores.history(t.alpha.workspace.id, json.id as number), []);
      });

      it('stores a real score given through log_request: under "default" without a name, under score_name with one', async () => {
        const a = await pyPost('/log-request', pythonLogRequestBody({ score: 80 }), { 'x-api-key': t.alpha.key });
        assert.equal(a.statusCode, 201, a.body);
        assert.deepEqual((await stored(a.json().id)).scores, { default: 80 });
        const b = await pyPost('/log-request', pythonLogRequestBody({ score: 0, score_name: 'toxicity' }), { 'x-api-key': t.alpha.key });
        assert.equal(b.statusCode, 201, b.body);
        assert.deepEqual((await stored(b.json().id)).scores, { toxicity: 0 });
      });

      it('an ERROR log with an error type answers 201 echoing status and error', async () => {
        const res = await pyPost(
          '/log-request',
          pythonLogRequestBody({ status: 'ERROR', error_type: 'PROVIDER_RATE_LIMIT', error_message: 'Rate limit reached', output: { type: 'chat', messages: [] } }),
          { 'x-api-key': t.alpha.key },
        );
        assert.equal(res.statusCode, 201, res.body);
        assert.deepEqual([res.json().status, res.json().error_type, res.json().error_message], ['ERROR', 'PROVIDER_RATE_LIMIT', 'Rate limit reached']);
      });

      it('a bad key answers 401 with a JSON message: the answer the SDK raises its 401 error on, showing that message', async () => {
        const res = await pyPost('/log-request', pythonLogRequestBody(), { 'x-api-key': 'pl_not_a_tally_key' });
        assert.match(String(res.headers['content-type']), /^application\/json/);
        assert.deepEqual(pythonSdkReads('log_request', res), { raises: 401, message: 'the API key is not valid or has been revoked' });
      });
    });

    describe('track calls with the key in the body', () => {
      it('track.score without a name: /library-track-score {request_id, score, api_key} answers 200 and stores "default"', async () => {
        const id = await logRequest(t);
        const res = await pyPost('/library-track-score', { request_id: id, score: 95, api_key: t.alpha.key });
        assert.deepEqual(pythonSdkReads('track', res), { returns: true }, res.body);
        assert.equal(res.json().success, true);
        assert.deepEqual((await stored(id)).scores, { default: 95 });
      });

      it('a base URL given with a trailing slash (//library-track-score) still reaches the route', async () => {
        const id = await logRequest(t);
        const res = await pyPost('//library-track-score', { request_id: id, score: 12, api_key: t.alpha.key });
        assert.deepEqual(pythonSdkReads('track', res), { returns: true }, res.body);
        assert.deepEqual((await stored(id)).scores, { default: 12 });
      });

      it('track.score with score_name sends it as "name" and it is stored under that name', async () => {
        const id = await logRequest(t);
        const res = await pyPost('/library-track-score', { request_id: id, score: 3, api_key: t.alpha.key, name: 'latency_feel' });
        assert.deepEqual(pythonSdkReads('track', res), { returns: true }, res.body);
        assert.deepEqual((await stored(id)).scores, { latency_feel: 3 });
      });

      it('a score out of range sent by raw REST answers 400 with a JSON message naming "score": the answer the SDK raises its 400 error on', async () => {
        const id = await logRequest(t);
        const res = await pyPost('/library-track-score', { request_id: id, score: 101, api_key: t.alpha.key });
        assert.deepEqual(pythonSdkReads('track', res), { raises: 400, message: 'score: must be an integer from 0 to 100' });
        assert.deepEqual((await stored(id)).scores, {});
      });

      it('track.metadata answers 200 and stores the pairs', async () => {
        const id = await logRequest(t);
        const res = await pyPost('/library-track-metadata', { request_id: id, metadata: { session: 'abc', user: 'u-9' }, api_key: t.alpha.key });
        assert.deepEqual(pythonSdkReads('track', res), { returns: true }, res.body);
        assert.deepEqual((await stored(id)).metadata, { session: 'abc', user: 'u-9' });
      });

      it('track.prompt (sync) sends version and label as null when not given, and answers 200', async () => {
        const id = await logRequest(t);
        const res = await pyPost('/library-track-prompt', { request_id: id, prompt_name: 'summary', prompt_input_variables: { topic: 'owls' }, api_key: t.alpha.key, version: null, label: null });
        assert.deepEqual(pythonSdkReads('track', res), { returns: true }, res.body);
        const r = await stored(id);
        assert.deepEqual([r.promptName, r.promptVersion, r.promptLabel, r.promptInputVariables], ['summary', null, null, { topic: 'owls' }]);
      });

      it('track.prompt (sync) with version=2 and label=None answers 200 and stores version 2', async () => {
        const id = await logRequest(t);
        const res = await pyPost('/library-track-prompt', { request_id: id, prompt_name: 'summary', prompt_input_variables: {}, api_key: t.alpha.key, version: 2, label: null });
        assert.deepEqual(pythonSdkReads('track', res), { returns: true }, res.body);
        assert.equal((await stored(id)).promptVersion, 2);
      });

      it('the body of the async track.prompt argument-order bug (request_id=True, the id as prompt_name) answers 400 naming request_id and writes nothing', async () => {
        const id = await logRequest(t);
        // aprompt passes throw_on_error where apromptlayer_track_prompt expects request_id, so every
        // argument after it shifts one place to the right.
        const res = await pyPost('/library-track-prompt', { request_id: true, prompt_name: id, prompt_input_variables: 'summary', api_key: t.alpha.key, version: { topic: 'owls' }, label: null });
        const outcome = pythonSdkReads('track', res);
        assert.ok('raises' in outcome && outcome.raises === 400 && /^request_id: /.test(outcome.message ?? ''), JSON.stringify(outcome));
        assert.equal(res.json().success, false);
        const r = await stored(id);
        assert.equal(r.promptName, null);
      });

      it('group.create answers 200 with an integer "id", and track.group answers 200 and links the request', async () => {
        const created = await pyPost('/create-group', { api_key: t.alpha.key });
        assert.equal(created.statusCode, 200, created.body);
        const groupId = returnedId(pythonSdkReads('group.create', created));
        const id = await logRequest(t);
        const res = await pyPost('/track-group', { request_id: id, group_id: groupId, api_key: t.alpha.key });
        assert.deepEqual(pythonSdkReads('track', res), { returns: true }, res.body);
        assert.deepEqual((await stored(id)).groupIds, [groupId]);
      });

      it('a wrong api_key in the body answers 401 JSON with a message on every track path', async () => {
        const id = await logRequest(t);
        const calls: [string, Record<string, unknown>][] = [
          ['/library-track-score', { request_id: id, score: 5 }],
          ['/library-track-metadata', { request_id: id, metadata: { a: 'b' } }],
          ['/library-track-prompt', { request_id: id, prompt_name: 'p', prompt_input_variables: {}, version: null, label: null }],
          ['/track-group', { request_id: id, group_id: 1 }],
          ['/create-group', {}],
        ];
        for (const [path, body] of calls) {
          const res = await pyPost(path, { ...body, api_key: 'pl_0123456789abcdef' });
          assert.deepEqual(pythonSdkReads(path === '/create-group' ? 'group.create' : 'track', res), { raises: 401, message: 'the API key is not valid or has been revoked' }, path);
        }
        const r = await stored(id);
        assert.deepEqual([r.scores, r.metadata, r.promptName], [{}, {}, null]);
      });
    });

    describe('wrapped clients: /track-request', () => {
      const openaiResponse = {
        id: 'chatcmpl-py-1',
        object: 'chat.completion',
        created: 1732712345,
        model: 'gpt-4o-mini-2024-07-18',
        choices: [{ index: 0, message: { role: 'assistant', content: 'Bonjour', refusal: null }, finish_reason: 'stop', logprobs: null }],
        usage: { prompt_tokens: 12, completion_tokens: 2, total_tokens: 14 },
        system_fingerprint: null,
      };

      it('promptlayer_api_request body (float epochs, tags, metadata None, span_id None) answers 200 with an integer request_id', async () => {
        const start = pyNow();
        const res = await pyPost('/track-request', {
          function_name: 'openai.chat.completions.create',
          provider_type: 'openai',
          args: [],
          kwargs: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say bonjour' }], temperature: 0 },
          tags: ['python', 'wrapped'],
          request_response: openaiResponse,
          request_start_time: start,
          request_end_time: start + 0.4321,
          metadata: null,
          api_key: t.alpha.key,
          span_id: null,
        });
        assert.equal(res.statusCode, 200, res.body);
        const requestId = returnedId(pythonSdkReads('track_request', res));
        const r = await stored(requestId);
        assert.deepEqual([r.provider, r.model, r.functionName, r.inputTokens, r.outputTokens], ['openai', 'gpt-4o-mini', 'openai.chat.completions.create', 12, 2]);
        assert.deepEqual(r.tags, ['python', 'wrapped']);
        assert.deepEqual(r.output, { type: 'chat', messages: [{ role: 'assistant', refusal: null, content: [{ type: 'text', text: 'Bonjour' }] }] });
        assert.equal(r.startMs, Math.round(start * 1000));
      });

      it('tags None (no pl_tags given) answers 200 and stores no tags', async () => {
        const start = pyNow();
        const res = await pyPost('/track-request', {
          function_name: 'openai.chat.completions.create',
          provider_type: 'openai',
          args: [],
          kwargs: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] },
          tags: null,
          request_response: openaiResponse,
          request_start_time: start,
          request_end_time: start + 0.1,
          metadata: null,
          api_key: t.alpha.key,
          span_id: null,
        });
        assert.deepEqual((await stored(returnedId(pythonSdkReads('track_request', res)))).tags, []);
      });

      it('run() style body with return_prompt_blueprint answers 200 with request_id and a prompt_blueprint object', async () => {
        const start = pyNow();
        const res = await pyPost('/track-request', {
          function_name: 'openai.chat.completions.create',
          provider_type: 'openai',
          args: [],
          kwargs: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] },
          tags: null,
          request_start_time: start,
          request_end_time: start + 0.1,
          api_key: t.alpha.key,
          metadata: { run: 'yes' },
          prompt_id: 17,
          prompt_version: 4,
          prompt_input_variables: { name: 'Ada' },
          group_id: null,
          return_prompt_blueprint: true,
          span_id: '8a3c60f7d188f8fa',
          request_response: openaiResponse,
        });
        returnedId(pythonSdkReads('track_request', res));
        const json = res.json() as { request_id: number; prompt_blueprint: Record<string, unknown> | null };
        assert.equal(typeof json.prompt_blueprint, 'object');
        assert.notEqual(json.prompt_blueprint, null);
        const r = await stored(json.request_id);
        assert.deepEqual([r.promptId, r.promptVersion, r.spanId, r.metadata], ['17', 4, '8a3c60f7d188f8fa', { run: 'yes' }]);
      });

      it('a provider error logged with status ERROR and an empty response answers 200', async () => {
        const start = pyNow();
        const res = await pyPost('/track-request', {
          function_name: 'openai.chat.completions.create',
          provider_type: 'openai',
          args: [],
          kwargs: { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] },
          request_response: {},
          request_start_time: start,
          request_end_time: start + 0.1,
          api_key: t.alpha.key,
          status: 'ERROR',
          error_type: 'PROVIDER_AUTH_ERROR',
          error_message: 'Incorrect API key provided',
        });
        const r = await stored(returnedId(pythonSdkReads('track_request', res)));
        assert.deepEqual([r.status, r.errorType, r.errorMessage], ['ERROR', 'PROVIDER_AUTH_ERROR', 'Incorrect API key provided']);
      });
    });

    it('GET /api/public/v2/requests/{id} with X-API-KEY answers the request with its scores; a foreign id answers 404 JSON', async () => {
      const id = await logRequest(t);
      assert.equal((await pyPost('/library-track-score', { request_id: id, score: 61, api_key: t.alpha.key })).statusCode, 200);
      const res = await t.get(`/api/public/v2/requests/${id}`);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(res.json().request_id, id);
      assert.deepEqual(res.json().scores, { default: 61 });
      const foreign = await logRequest(t, {}, t.other.key);
      const missing = await t.get(`/api/public/v2/requests/${foreign}`);
      assert.deepEqual(pythonSdkReads('get_request', missing), { raises: 404, message: 'request_id: no request with this id' });
    });
  });
}
