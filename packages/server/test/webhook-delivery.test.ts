import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildApp } from '../src/app.js';
import { configWith } from '../src/config.js';
import { openStore } from '../src/store/open-store.js';
import { BACKENDS, freshLocation } from './helpers/backends.js';
import { startServer } from './helpers/process.js';
import { addWorkspace, logBody } from './helpers/test-app.js';
import { startReceiver } from './helpers/webhook-receiver.js';

const json = async (res: Response) => (await res.json()) as Record<string, unknown>;
const call = (url: string, key: string, method: string, body?: unknown) =>
  fetch(url, { method, headers: { 'content-type': 'application/json', 'x-api-key': key }, body: body === undefined ? undefined : JSON.stringify(body) });

for (const backend of BACKENDS) {
  describe(`webhook delivery across a kill -9 [${backend}]`, () => {
    it('delivers a score acknowledged right before the server is killed, after a restart', async () => {
      const loc = await freshLocation(backend);
      const rx = await startReceiver();
      try {
        // The first server looks at its outbox once at start and then only after ten minutes: the
        // score below is acknowledged and the process killed before any delivery of it exists.
        const first = await startServer([...loc.args, '--webhook-poll-ms', '600000']);
        const key = first.firstKey!;
        assert.equal((await call(`${first.url}/v1/webhooks`, key, 'POST', { url: rx.url, events: ['score.created'] })).status, 201);
        const logged = await call(`${first.url}/log-request`, key, 'POST', logBody());
        const id = (await json(logged)).id as number;
        const put = await call(`${first.url}/v1/requests/${id}/scores/quality`, key, 'PUT', { score: 42 });
        assert.equal(put.status, 200);
        first.child.kill('SIGKILL');
        await first.exited;
        assert.equal(rx.received.length, 0, 'nothing was sent before the kill');

        const second = await startServer([...loc.args, '--webhook-poll-ms', '50']);
        try {
          await rx.until(() => rx.received.length >= 1, 'the score event after the restart');
          const event = JSON.parse(rx.received[0]!.body) as { type: string; data: { request_id: number; new_value: number } };
          assert.deepEqual([event.type, event.data.request_id, event.data.new_value], ['score.created', id, 42]);
        } finally {
          second.child.kill('SIGTERM');
          assert.equal(await second.exited, 0, 'the worker stops cleanly on SIGTERM');
        }
      } finally {
        await rx.close();
        await loc.drop();
      }
    });
  });
}

describe('two instances on one PostgreSQL', { skip: !BACKENDS.includes('postgres') }, () => {
  it('deliver each event once', async () => {
    const loc = await freshLocation('postgres');
    // A slow receiver keeps deliveries in flight while the other instance looks for due ones.
    const rx = await startReceiver(async () => {
      await new Promise((r) => setTimeout(r, 15));
      return 200;
    });
    const stores = [await openStore({ databaseUrl: loc.databaseUrl, dataDir: loc.dataDir }), await openStore({ databaseUrl: loc.databaseUrl, dataDir: loc.dataDir })];
    const config = configWith({ webhookPollMs: 10, alertIntervalMs: 0, webhookConcurrency: 4 });
    const apps = await Promise.all(stores.map((store) => buildApp(config, { store, logger: false })));
    try {
      const ws = await addWorkspace(stores[0]!, 'alpha');
      const inject = (i: number, method: 'POST' | 'PUT', url: string, payload: object) => apps[i % 2]!.inject({ method, url, headers: { 'x-api-key': ws.key }, payload });
      assert.equal((await inject(0, 'POST', '/v1/webhooks', { url: rx.url, events: ['score.created', 'score.updated'] })).statusCode, 201);
      const ids: number[] = [];
      for (let i = 0; i < 10; i++) ids.push((await inject(i, 'POST', '/log-request', logBody())).json().id as number);
      const writes: Promise<unknown>[] = [];
      for (let round = 0; round < 4; round++) for (const [i, id] of ids.entries()) writes.push(inject(i + round, 'PUT', `/v1/requests/${id}/scores/q`, { score: round * 10 + i }));
      await Promise.all(writes);
      await rx.until(() => rx.received.length >= 40, 'forty events');
      // Time for a duplicate to arrive, if one were sent.
      await new Promise((r) => setTimeout(r, 300));
      const eventIds = rx.received.map((r) => r.headers['tally-event-id']);
      assert.equal(eventIds.length, 40, 'forty deliveries');
      assert.equal(new Set(eventIds).size, 40, 'each event once');
      // In order per request: the order of its history (the writes raced, so that is commit order).
      for (const id of ids) {
        const history = rx.received.map((r) => JSON.parse(r.body) as { data: { request_id: number; history_id: number } }).filter((e) => e.data.request_id === id).map((e) => e.data.history_id);
        assert.equal(history.length, 4);
        assert.deepEqual(history, [...history].sort((a, b) => a - b), `request ${id} in order`);
      }
    } finally {
      await Promise.all(apps.map((a) => a.close()));
      await Promise.all(stores.map((s) => s.close()));
      await rx.close();
      await loc.drop();
    }
  });
});
