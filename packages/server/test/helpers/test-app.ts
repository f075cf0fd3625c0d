import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { buildApp, type AppDeps } from '../../src/app.js';
import { generateApiKey } from '../../src/auth/api-keys.js';
import { configWith, SETTINGS, type Config } from '../../src/config.js';
import type { Store } from '../../src/store/store.js';
import type { Backend, Workspace } from '../../src/store/types.js';
import { freshStore, type StoreLocationForTest } from './backends.js';

export interface TestWorkspace {
  workspace: Workspace;
  key: string;
  keyId: number;
}

export interface TestApp {
  app: FastifyInstance;
  store: Store;
  /** Where the store lives: `location.args` selects it for a CLI process. */
  location: StoreLocationForTest;
  /** Workspace `alpha` and its key; `other` is a second workspace for isolation checks. */
  alpha: TestWorkspace;
  other: TestWorkspace;
  /** POST JSON with the alpha key in `X-API-KEY` unless `key` is given (null sends none). */
  post(url: string, body: unknown, opts?: { key?: string | null; headers?: Record<string, string> }): Promise<LightMyRequestResponse>;
  get(url: string, opts?: { key?: string | null }): Promise<LightMyRequestResponse>;
  inject(opts: InjectOptions): Promise<LightMyRequestResponse>;
  close(): Promise<void>;
}

/** A new live API key of a workspace: the secret and the key's id. */
export async function addApiKey(store: Store, workspaceId: number, label: string): Promise<{ key: string; keyId: number }> {
  const { key, display, hash } = generateApiKey();
  const info = await store.keys.create({ workspaceId, label, prefix: display, secretHash: hash });
  return { key, keyId: info.id };
}

export async function addWorkspace(store: Store, name: string): Promise<TestWorkspace> {
  const workspace = await store.workspaces.create(name);
  return { workspace, ...(await addApiKey(store, workspace.id, 'test')) };
}

/** Settings that differ from the defaults, and the app's other dependencies besides its store. */
export type TestAppOptions = Partial<Config> & Omit<Partial<AppDeps>, 'store'>;

/** Splits test options into the configuration (defaults, validated) and the other dependencies. */
export function splitTestOptions(opts: TestAppOptions): { config: Config; deps: Omit<AppDeps, 'store'> } {
  const settings: Record<string, unknown> = {};
  const deps: Record<string, unknown> = { logger: false };
  for (const [k, v] of Object.entries(opts)) (k in SETTINGS ? settings : deps)[k] = v;
  return { config: configWith(settings as Partial<Config>), deps: deps as Omit<AppDeps, 'store'> };
}

/** An in-process app (no port) over a fresh store of the given backend, with two workspaces. */
export async function createTestApp(backend: Backend, opts: TestAppOptions = {}): Promise<TestApp> {
  const { config, deps } = splitTestOptions(opts);
  // The store opens with the whole resolved configuration, as `tally serve` opens it, at a fresh location.
  const fresh = await freshStore(backend, config);
  const app = await buildApp(config, { store: fresh.store, ...deps });
  const alpha = await addWorkspace(fresh.store, 'alpha');
  const other = await addWorkspace(fresh.store, 'other');
  const headersFor = (key: string | null | undefined) => (key === null ? {} : { 'x-api-key': key ?? alpha.key });
  return {
    app,
    store: fresh.store,
    location: fresh.location,
    alpha,
    other,
    post: (url, body, opts = {}) =>
      app.inject({ method: 'POST', url, headers: { ...headersFor(opts.key), ...opts.headers }, payload: body as object }),
    get: (url, opts = {}) => app.inject({ method: 'GET', url, headers: headersFor(opts.key) }),
    inject: (opts) => app.inject(opts),
    close: async () => {
      await app.close();
      await fresh.close();
    },
  };
}

/** A valid `/log-request` body; override any field. */
export function logBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    provider: 'openai',
    model: 'gpt-4o-mini',
    input: { type: 'chat', messages: [{ role: 'user', content: [{ type: 'text', text: 'Say hello' }] }] },
    output: { type: 'chat', messages: [{ role: 'assistant', content: [{ type: 'text', text: 'Hello!' }] }] },
    request_start_time: 1732712345.123,
    request_end_time: 1732712346.5,
    ...overrides,
  };
}

/** Logs a request through `/log-request` and returns its id. */
export async function logRequest(t: TestApp, overrides: Record<string, unknown> = {}, key?: string): Promise<number> {
  const res = await t.post('/log-request', logBody(overrides), { key });
  if (res.statusCode !== 201) throw new Error(`log-request failed: ${res.statusCode} ${res.body}`);
  return (res.json() as { id: number }).id;
}
