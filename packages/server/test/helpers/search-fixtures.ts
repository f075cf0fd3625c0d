import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { configWith } from '../../src/config.js';
import { fromLogRequest } from '../../src/domain/request-shape.js';
import { FILTER_LIMITS } from '../../src/domain/search-query.js';
import type { LogRequestBody } from '../../src/schemas/promptlayer.js';
import { openStore, type StoreLocation } from '../../src/store/open-store.js';
import type { Store } from '../../src/store/store.js';
import type { Backend } from '../../src/store/types.js';
import { freshLocation, type StoreLocationForTest } from './backends.js';
import { addWorkspace, logBody, logRequest, type TestApp, type TestWorkspace } from './test-app.js';

/** Epoch seconds of the first fixture request; request i starts `BASE + 10 * i`. */
export const BASE = 1_732_700_000;

export const chat = (text: string) => ({ type: 'chat', messages: [{ role: 'user', content: [{ type: 'text', text }] }] });
export const reply = (text: string) => ({ type: 'chat', messages: [{ role: 'assistant', content: [{ type: 'text', text }] }] });

export interface Fixture {
  /** r[1]..r[5]: the request ids, in logging (and start time) order. */
  r: number[];
  /** A request of the other workspace that matches most filters (tag prod, quality 90, model gpt-4o). */
  foreign: number;
}

interface Spec {
  body: Record<string, unknown>;
  latencyMs: number;
  scores: Record<string, number>;
}

// Five requests covering every filter; see the comments in the tests for which match what.
const SPECS: Spec[] = [
  {
    body: { provider: 'openai', model: 'gpt-4o', tags: ['prod', 'eu'], metadata: { team: 'search', env: 'prod' }, prompt_name: 'summarize', prompt_version_number: 1, input_tokens: 10, output_tokens: 5, price: 0.01, input: chat('Say hello, world'), output: reply('Greetings') },
    latencyMs: 1000,
    scores: { quality: 90, default: 50 },
  },
  {
    body: { provider: 'openai', model: 'gpt-4o-mini', tags: ['prod'], metadata: { team: 'ranking' }, prompt_name: 'summarize', prompt_version_number: 2, input_tokens: 100, output_tokens: 50, price: 0.2, status: 'ERROR', error_type: 'PROVIDER_ERROR', error_message: 'boom', input: chat('Rank these'), output: reply('') },
    latencyMs: 3000,
    scores: { quality: 40 },
  },
  {
    body: { provider: 'anthropic', model: 'claude-3', tags: ['eu'], input_tokens: 20, output_tokens: 20, price: 0.05, input: chat('Tell a story'), output: reply('He said "hi", then left\nnew line') },
    latencyMs: 500,
    scores: { quality: 70, default: 80 },
  },
  {
    body: { provider: 'anthropic', model: 'claude-3', metadata: { team: 'search' }, prompt_name: 'summarize', prompt_version_number: 2, input_tokens: 0, output_tokens: 0, price: 0, status: 'WARNING', input: chat('100% sure_thing'), output: reply('ok') },
    latencyMs: 2000,
    scores: {},
  },
  {
    body: { provider: 'openai', model: 'gpt-4o', tags: ['staging'], metadata: { team: 'search-infra' }, input_tokens: 50, output_tokens: 50, price: 0.1, input: chat('Translate'), output: reply('Traduire') },
    latencyMs: 1500,
    scores: { quality: 90, default: 20 },
  },
];

async function score(t: TestApp, id: number, name: string, value: number, key?: string): Promise<void> {
  const res = await t.post('/rest/track-score', { request_id: id, score: value, name }, { key });
  if (res.statusCode !== 200) throw new Error(`track-score failed: ${res.statusCode} ${res.body}`);
}

/** Logs the five fixture requests in alpha (and one look-alike in the other workspace). */
export async function loadFixture(t: TestApp): Promise<Fixture> {
  const r: number[] = [0];
  for (const [i, spec] of SPECS.entries()) {
    const start = BASE + 10 * (i + 1);
    const id = await logRequest(t, { ...spec.body, request_start_time: start, request_end_time: start + spec.latencyMs / 1000 });
    for (const [name, value] of Object.entries(spec.scores)) await score(t, id, name, value);
    r.push(id);
  }
  const foreign = await logRequest(t, { ...SPECS[0]!.body, request_start_time: BASE + 15, request_end_time: BASE + 16 }, t.other.key);
  await score(t, foreign, 'quality', 90, t.other.key);
  return { r, foreign };
}

/** Inserts many requests in one transaction (fast); each gets `tag` and start time `start + i`. */
export async function bulkInsert(t: TestApp, count: number, tag: string, start: number, overrides: (i: number) => Record<string, unknown> = () => ({})): Promise<number[]> {
  const ws = t.alpha.workspace.id;
  return t.store.write(async (w) => {
    const ids: number[] = [];
    for (let i = 0; i < count; i++) {
      const body = logBody({ tags: [tag], request_start_time: start + i, request_end_time: start + i + 1, ...overrides(i) }) as LogRequestBody;
      ids.push(await w.run({ op: 'insertRequest', workspaceId: ws, request: fromLogRequest(body), actor: { id: 'test', source: 'api' } }));
    }
    return ids;
  });
}

export { score };

/**
 * The heaviest text filter a client may send: as many OR'd 256-character terms as allowed, each
 * almost matching a run of 'a' at every position, so a scan spends milliseconds a row and no row
 * matches.
 */
export const heaviestTextFilter = (): { logic: 'or'; filters: { field: 'text'; op: 'contains'; value: string }[] } => ({
  logic: 'or',
  filters: Array.from({ length: FILTER_LIMITS.textConditions }, (_, i) => ({ field: 'text', op: 'contains', value: `${'a'.repeat(240)}c${String(i).padStart(2, '0')}${'a'.repeat(13)}` })),
});

/** A store and an app over it, with workspace A holding one short log and B many long ones. */
export interface HeavyReadsFixture {
  location: StoreLocationForTest;
  store: Store;
  app: FastifyInstance;
  /** One log, its input 'a short one'. */
  a: TestWorkspace;
  /** `rows` logs whose input is 8,000 'a's: heaviestTextFilter() reads milliseconds a row of them and matches none. */
  b: TestWorkspace;
  close(): Promise<void>;
}

/**
 * The setup of the tests of one workspace's reads against another's: a migrated store opened with
 * the read options given, and an app over it with no rate limit and no webhook or alert worker
 * (their polls would be reads of their own). `prepare` runs on the location before the store opens.
 */
export async function heavyReadsFixture(
  backend: Backend,
  opts: { store: Omit<StoreLocation, 'dataDir' | 'databaseUrl'>; rows: number; prepare?: (location: StoreLocationForTest) => Promise<void> },
): Promise<HeavyReadsFixture> {
  const location = await freshLocation(backend, { migrated: true });
  await opts.prepare?.(location);
  const store = await openStore({ databaseUrl: location.databaseUrl, dataDir: location.dataDir, ...opts.store });
  const app = await buildApp(configWith({ rateLimitPerKey: 0, webhookPollMs: 0, alertIntervalMs: 0 }), { store, logger: false });
  const a = await addWorkspace(store, 'a');
  const b = await addWorkspace(store, 'b');
  const log = (key: string, text: string) => app.inject({ method: 'POST', url: '/log-request', headers: { 'x-api-key': key }, payload: logBody({ input: chat(text) }) });
  assert.equal((await log(a.key, 'a short one')).statusCode, 201);
  for (let i = 0; i < opts.rows; i += 20) {
    for (const r of await Promise.all(Array.from({ length: Math.min(20, opts.rows - i) }, () => log(b.key, 'a'.repeat(8000))))) assert.equal(r.statusCode, 201, r.body);
  }
  return {
    location,
    store,
    app,
    a,
    b,
    close: async () => {
      await app.close();
      await store.close();
      await location.drop();
    },
  };
}
