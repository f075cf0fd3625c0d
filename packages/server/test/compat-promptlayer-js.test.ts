import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import type { StoredRequest } from '../src/store/types.js';
import { BACKENDS } from './helpers/backends.js';
import { createLiveApp, type LiveApp } from './helpers/live-app.js';
import { STUB_CHUNKS, STUB_USAGE, startOpenAIStub, type OpenAIStub } from './helpers/openai-stub.js';
import { logRequest as logViaHttp } from './helpers/test-app.js';

// The official SDK, unmodified (pinned to 1.3.6 in package.json). Its ESM build cannot load
// `openai` for `promptLayer.OpenAI` (it calls `require`, which ESM lacks), so the test loads the
// CommonJS build, which is what CommonJS apps and most bundlers get.
const require = createRequire(import.meta.url);
const { PromptLayer } = require('promptlayer') as typeof import('promptlayer');
type PromptLayerClient = InstanceType<typeof PromptLayer>;

// What the SDK prints on its own (retry notices, warnings) is not part of what is checked here.
const quietly = async <T>(fn: () => Promise<T>): Promise<T> => {
  const { warn, info } = console;
  console.warn = () => {};
  console.info = () => {};
  try {
    return await fn();
  } finally {
    console.warn = warn;
    console.info = info;
  }
};

/** Reads an error's message, failing the test when the promise resolves instead. */
async function rejection(promise: Promise<unknown>): Promise<string> {
  const outcome = await promise.then(
    (value) => ({ ok: true as const, value }),
    (err: unknown) => ({ ok: false as const, err }),
  );
  assert.equal(outcome.ok, false, `expected a rejection, got ${JSON.stringify(outcome.ok ? outcome.value : null)}`);
  assert.ok(!outcome.ok && outcome.err instanceof Error);
  return outcome.err.message;
}

for (const backend of BACKENDS) {
  describe(`official promptlayer JS SDK 1.3.6 against a live Tally [${backend}]`, () => {
    let t: LiveApp;
    let stub: OpenAIStub;
    let pl: PromptLayerClient;

    before(async () => {
      t = await createLiveApp(backend);
      stub = await startOpenAIStub();
      pl = new PromptLayer({ apiKey: t.alpha.key, baseURL: t.baseURL });
    });
    after(async () => {
      await stub.close();
      await t.close();
    });

    const landed = async (id: number): Promise<StoredRequest> => {
      const r = await t.store.requests.get(t.alpha.workspace.id, id);
      assert.ok(r, `request ${id} should be stored in workspace alpha`);
      return r;
    };

    describe('track.score', () => {
      it('stores the score under "default" when no name is given and resolves true', async () => {
        const id = await logViaHttp(t);
        assert.equal(await pl.track.score({ request_id: id, score: 87 }), true);
        assert.deepEqual((await landed(id)).scores, { default: 87 });
        const history = await t.store.scores.history(t.alpha.workspace.id, id);
        assert.deepEqual(
          history.map((e) => [e.name, e.oldValue, e.newValue, e.actor]),
          [['default', null, 87, `key:${t.alpha.keyId}`]],
        );
      });

      it('stores a named score, and a second call replaces it', async () => {
        const id = await logViaHttp(t);
        assert.equal(await pl.track.score({ request_id: id, score: 42, name: 'accuracy' }), true);
        assert.equal(await pl.track.score({ request_id: id, score: 64, name: 'accuracy' }), true);
        assert.equal(await pl.track.score({ request_id: id, score: 9 }), true);
        assert.deepEqual((await landed(id)).scores, { accuracy: 64, default: 9 });
      });

      it('refuses 101 inside the SDK, before any call, and nothing lands', async () => {
        const id = await logViaHttp(t);
        assert.throws(() => pl.track.score({ request_id: id, score: 101 }), { message: 'Score must be a number between 0 and 100.' });
        assert.deepEqual((await landed(id)).scores, {});
      });

      it('works with a base URL given with a trailing slash', async () => {
        const id = await logViaHttp(t);
        const slashed = new PromptLayer({ apiKey: t.alpha.key, baseURL: `${t.baseURL}/` });
        assert.equal(await slashed.track.score({ request_id: id, score: 33, name: 'slash' }), true);
        assert.deepEqual((await landed(id)).scores, { slash: 33 });
      });

      it("surfaces Tally's message for 50.5 (which the SDK lets through) as the Error message", async () => {
        const id = await logViaHttp(t);
        const message = await rejection(pl.track.score({ request_id: id, score: 50.5 }));
        assert.equal(message, 'score: must be an integer from 0 to 100');
        assert.deepEqual((await landed(id)).scores, {});
      });

      it("surfaces an unknown request id as Tally's not-found message", async () => {
        assert.equal(await rejection(pl.track.score({ request_id: 987654321, score: 5 })), 'request_id: no request with this id');
      });

      it('surfaces a wrong key as an Error, or as false with throwOnError: false', async () => {
        const id = await logViaHttp(t);
        const wrong = new PromptLayer({ apiKey: 'tl_wrongwrongwrongwrong', baseURL: t.baseURL });
        assert.equal(await rejection(wrong.track.score({ request_id: id, score: 5 })), 'the API key is not valid or has been revoked');
        const lenient = new PromptLayer({ apiKey: 'tl_wrongwrongwrongwrong', baseURL: t.baseURL, throwOnError: false });
        assert.equal(await quietly(() => lenient.track.score({ request_id: id, score: 5 })), false);
        assert.deepEqual((await landed(id)).scores, {});
      });

      it("cannot score another workspace's request: it answers like a missing one", async () => {
        const foreign = await logViaHttp(t, {}, t.other.key);
        assert.equal(await rejection(pl.track.score({ request_id: foreign, score: 5 })), 'request_id: no request with this id');
        assert.deepEqual((await t.store.requests.get(t.other.workspace.id, foreign))?.scores, {});
      });
    });

    describe('track.metadata, track.prompt, group', () => {
      it('track.metadata attaches string pairs; a key tracked again is replaced', async () => {
        const id = await logViaHttp(t, { metadata: { team: 'search' } });
        assert.equal(await pl.track.metadata({ request_id: id, metadata: { user_id: 'u-1', team: 'ranking' } }), true);
        assert.deepEqual((await landed(id)).metadata, { team: 'ranking', user_id: 'u-1' });
      });

      it('track.prompt links a prompt name, version and input variables', async () => {
        const id = await logViaHttp(t);
        assert.equal(await pl.track.prompt({ request_id: id, prompt_name: 'greeting', prompt_input_variables: { who: 'Ada' }, version: 3 }), true);
        const r = await landed(id);
        assert.deepEqual([r.promptName, r.promptVersion, r.promptLabel, r.promptInputVariables], ['greeting', 3, null, { who: 'Ada' }]);
      });

      it('track.prompt links a release label instead of a version', async () => {
        const id = await logViaHttp(t);
        assert.equal(await pl.track.prompt({ request_id: id, prompt_name: 'greeting', prompt_input_variables: {}, label: 'prod' }), true);
        const r = await landed(id);
        assert.deepEqual([r.promptName, r.promptVersion, r.promptLabel], ['greeting', null, 'prod']);
      });

      it('track.prompt surfaces "version and label both given" as an Error', async () => {
        const id = await logViaHttp(t);
        const message = await rejection(pl.track.prompt({ request_id: id, prompt_name: 'greeting', prompt_input_variables: {}, version: 1, label: 'prod' }));
        assert.equal(message, 'version: give either version or label, not both');
        assert.equal((await landed(id)).promptName, null);
      });

      it('group.create returns an integer id, and track.group adds requests to it', async () => {
        const groupId = await pl.group.create();
        assert.equal(typeof groupId, 'number');
        assert.ok(Number.isInteger(groupId) && (groupId as number) > 0);
        const first = await logViaHttp(t);
        const second = await logViaHttp(t);
        assert.equal(await pl.track.group({ request_id: first, group_id: groupId as number }), true);
        assert.equal(await pl.track.group({ request_id: second, group_id: groupId as number }), true);
        assert.deepEqual((await landed(first)).groupIds, [groupId]);
        assert.deepEqual((await landed(second)).groupIds, [groupId]);
      });

      it('track.group surfaces an unknown group as an Error', async () => {
        const id = await logViaHttp(t);
        const message = await rejection(pl.track.group({ request_id: id, group_id: 987654321 }));
        assert.match(message, /^group_id: /);
        assert.deepEqual((await landed(id)).groupIds, []);
      });
    });

    describe('logRequest', () => {
      const base = {
        provider: 'openai',
        model: 'gpt-4o-mini',
        input: { type: 'chat' as const, messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'Say hello' }] }] },
        output: { type: 'chat' as const, messages: [{ role: 'assistant' as const, content: [{ type: 'text' as const, text: 'Hello!' }] }] },
      };

      it('logs with epoch-second timestamps and returns the body with the new id', async () => {
        const res = (await pl.logRequest({
          ...base,
          request_start_time: 1732712345.25,
          request_end_time: 1732712346.75,
          tags: ['compat', 'epoch'],
          metadata: { env: 'test' },
          input_tokens: 7,
          output_tokens: 3,
          price: 0.0012,
          parameters: { temperature: 0.5 },
          prompt_name: 'greeting',
          prompt_version_number: 2,
          score: 90,
          score_name: 'helpfulness',
        })) as unknown as { id: number; request_id: number; status: string };
        assert.equal(typeof res.id, 'number');
        assert.equal(res.request_id, res.id);
        assert.equal(res.status, 'SUCCESS');
        const r = await landed(res.id);
        assert.equal(r.startMs, 1732712345250);
        assert.equal(r.endMs, 1732712346750);
        assert.equal(r.latencyMs, 1500);
        assert.deepEqual(r.tags, ['compat', 'epoch']);
        assert.deepEqual(r.metadata, { env: 'test' });
        assert.deepEqual([r.provider, r.model, r.inputTokens, r.outputTokens, r.price], ['openai', 'gpt-4o-mini', 7, 3, 0.0012]);
        assert.deepEqual(r.input, base.input);
        assert.deepEqual(r.output, base.output);
        assert.deepEqual(r.parameters, { temperature: 0.5 });
        assert.deepEqual([r.promptName, r.promptVersion], ['greeting', 2]);
        assert.deepEqual(r.scores, { helpfulness: 90 });
      });

      it('logs with ISO 8601 timestamps (what a Date serialises to)', async () => {
        const start = new Date('2024-11-27T12:59:05.123Z');
        const end = new Date('2024-11-27T12:59:06.000Z');
        // The SDK's type says number, but JSON.stringify sends a Date as its ISO string.
        const res = (await pl.logRequest({ ...base, request_start_time: start as unknown as number, request_end_time: end.toISOString() as unknown as number })) as unknown as { id: number };
        const r = await landed(res.id);
        assert.equal(r.startMs, start.getTime());
        assert.equal(r.endMs, end.getTime());
        assert.deepEqual(r.scores, {});
      });

      it("surfaces a bad field, or end before start, as Tally's message naming the field", async () => {
        const message = await rejection(pl.logRequest({ ...base, model: '', request_start_time: 1732712345, request_end_time: 1732712346 }));
        assert.match(message, /^model: /);
        const timing = await rejection(pl.logRequest({ ...base, request_start_time: 1732712346, request_end_time: 1732712345 }));
        assert.equal(timing, 'request_end_time: must not be before request_start_time');
      });

      it('surfaces a wrong key as an Error, or null with throwOnError: false', async () => {
        const wrong = new PromptLayer({ apiKey: 'tl_wrongwrongwrongwrong', baseURL: t.baseURL });
        const body = { ...base, request_start_time: 1732712345, request_end_time: 1732712346 };
        assert.equal(await rejection(wrong.logRequest(body)), 'the API key is not valid or has been revoked');
        const lenient = new PromptLayer({ apiKey: 'tl_wrongwrongwrongwrong', baseURL: t.baseURL, throwOnError: false });
        assert.equal(await quietly(() => lenient.logRequest(body)), null);
      });
    });

    describe('promptLayer.OpenAI pointed at a local OpenAI stub', () => {
      const messages = [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Say hello' },
      ];
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the SDK types the wrapped client as any
      const wrappedClient = (p: PromptLayerClient): any => {
        const OpenAI = p.OpenAI;
        assert.equal(typeof OpenAI, 'function', 'promptLayer.OpenAI should load the installed openai package');
        return new OpenAI({ apiKey: 'sk-stub-not-a-real-key', baseURL: stub.baseURL, maxRetries: 0 });
      };

      it('a plain chat completion with return_pl_id returns [response, id] and logs it with its tags', async () => {
        const callsBefore = stub.calls.length;
        const client = wrappedClient(pl);
        const [response, plId] = (await client.chat.completions.create({
          model: 'gpt-4o-mini',
          messages,
          temperature: 0.2,
          return_pl_id: true,
          pl_tags: ['compat', 'plain'],
        })) as [{ choices: { message: { content: string } }[] }, number];
        assert.equal(response.choices[0]?.message.content, STUB_CHUNKS.join(''));
        assert.equal(typeof plId, 'number');

        // The provider saw the call without PromptLayer's own arguments.
        const call = stub.calls[callsBefore];
        assert.equal(call?.path, '/v1/chat/completions');
        assert.deepEqual(call?.body, { model: 'gpt-4o-mini', messages, temperature: 0.2 });

        const r = await landed(plId);
        assert.deepEqual([r.provider, r.model, r.functionName, r.status], ['openai', 'gpt-4o-mini', 'openai.chat.completions.create', 'SUCCESS']);
        assert.deepEqual(r.tags, ['compat', 'plain']);
        assert.deepEqual(r.input, {
          type: 'chat',
          messages: [
            { role: 'system', content: [{ type: 'text', text: 'You are terse.' }] },
            { role: 'user', content: [{ type: 'text', text: 'Say hello' }] },
          ],
        });
        assert.deepEqual(r.output, { type: 'chat', messages: [{ role: 'assistant', refusal: null, content: [{ type: 'text', text: STUB_CHUNKS.join('') }] }] });
        assert.deepEqual([r.inputTokens, r.outputTokens], [STUB_USAGE.prompt_tokens, STUB_USAGE.completion_tokens]);
        assert.deepEqual(r.parameters, { model: 'gpt-4o-mini', temperature: 0.2 });
        assert.ok(r.endMs >= r.startMs && r.startMs > Date.now() - 60_000, 'times come from the SDK clock (ISO strings)');
        assert.deepEqual(r.scores, {});

        // The id it returned is the one to score with.
        assert.equal(await pl.track.score({ request_id: plId, score: 77 }), true);
        assert.deepEqual((await landed(plId)).scores, { default: 77 });
      });

      it('a streamed chat completion yields [chunk, null] per chunk, then [last, id], and logs the joined text', async () => {
        const client = wrappedClient(pl);
        const stream = (await client.chat.completions.create({
          model: 'gpt-4o-mini',
          messages,
          stream: true,
          stream_options: { include_usage: true },
          return_pl_id: true,
          pl_tags: ['compat', 'stream'],
        })) as AsyncIterable<[{ choices: { delta?: { content?: string } }[] }, number | null]>;
        let text = '';
        const ids: (number | null)[] = [];
        for await (const [chunk, id] of stream) {
          ids.push(id);
          if (id === null) text += chunk.choices[0]?.delta?.content ?? '';
        }
        assert.equal(text, STUB_CHUNKS.join(''));
        const plId = ids.at(-1);
        assert.equal(typeof plId, 'number', 'the last item carries the request id');
        assert.ok(ids.slice(0, -1).every((id) => id === null));

        const r = await landed(plId as number);
        assert.deepEqual(r.tags, ['compat', 'stream']);
        assert.equal(r.functionName, 'openai.chat.completions.create');
        const output = r.output as { type: string; messages: { role: string; content: unknown }[] };
        assert.equal(output.type, 'chat');
        assert.equal(output.messages.length, 1);
        assert.equal(output.messages[0]?.role, 'assistant');
        assert.deepEqual(output.messages[0]?.content, [{ type: 'text', text: STUB_CHUNKS.join('') }]);
        assert.deepEqual([r.inputTokens, r.outputTokens], [STUB_USAGE.prompt_tokens, STUB_USAGE.completion_tokens]);
        assert.equal(r.parameters.stream, true);
        assert.equal('pl_tags' in r.parameters || 'return_pl_id' in r.parameters, false);
      });

      it('without return_pl_id it returns the provider response unchanged', async () => {
        const client = wrappedClient(pl);
        const response = (await client.chat.completions.create({ model: 'gpt-4o-mini', messages, pl_tags: ['compat', 'no-id'] })) as { id: string; choices: unknown[] };
        assert.match(response.id, /^chatcmpl-stub-/);
        assert.equal(response.choices.length, 1);
      });

      it("surfaces a wrong Tally key after the provider call as Tally's message", async () => {
        const wrong = new PromptLayer({ apiKey: 'tl_wrongwrongwrongwrong', baseURL: t.baseURL });
        const client = wrappedClient(wrong);
        const message = await rejection(client.chat.completions.create({ model: 'gpt-4o-mini', messages, return_pl_id: true }));
        assert.equal(message, 'the API key is not valid or has been revoked');
      });
    });
  });
}
