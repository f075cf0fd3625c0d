import type { Backend } from '../../src/store/types.js';
import { createTestApp, type TestApp, type TestAppOptions } from './test-app.js';

export interface LiveApp extends TestApp {
  /** `http://127.0.0.1:<port>`, no trailing slash: what an SDK's base URL option takes. */
  baseURL: string;
}

/**
 * A test app that also listens on a free loopback port, for clients that speak real HTTP (the
 * official SDKs, our SDK). `close` stops the listener and drops the store.
 */
export async function createLiveApp(backend: Backend, deps: TestAppOptions = {}): Promise<LiveApp> {
  const t = await createTestApp(backend, deps);
  try {
    const baseURL = await t.app.listen({ port: 0, host: '127.0.0.1' });
    return { ...t, baseURL };
  } catch (err) {
    await t.close();
    throw err;
  }
}
