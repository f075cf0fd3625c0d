import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { verifyWebhookSignature } from '../../sdk/src/node.js';
import { BACKENDS } from './helpers/backends.js';
import { createTestApp, logRequest, type TestApp } from './helpers/test-app.js';
import { startReceiver, type Receiver } from './helpers/webhook-receiver.js';

interface Envelope {
  id: string;
  type: string;
  created_at: string;
  workspace: { id: number; name: string };
  data: Record<string, unknown>;
}

const FAST = { webhookPollMs: 20, webhookBackoffMs: 20, alertIntervalMs: 0 };
const events = (r: Receiver) => r.received.map((x) => JSON.parse(x.body) as Envelope);

for (const backend of BACKENDS) {
  describe(`webhooks [${backend}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend, FAST);
    });
    after(() => t.close());

    const createHook = async (url: string, evts: string[], extra: Record<string, unknown> = {}) => {
      const res = await t.post('/v1/webhooks', { url, events: evts, ...extra });
      assert.equal(res.statusCode, 201, res.body);
      return res.json() as { webhook: { id: number; events: string[]; enabled: boolean }; secret: string };
    };
    const put = (id: number, name: string, score: number) => t.inject({ method: 'PUT', url: `/v1/requests/${id}/scores/${name}`, headers: { 'x-api-key': t.alpha.key }, payload: { score, comment: 'c' } });

    it('delivers score.created, updated and deleted in order, signed so the SDK helper verifies it', async () => {
      const rx = await startReceiver();
      try {
        const { webhook, secret } = await createHook(rx.url, ['score.created', 'score.updated', 'score.deleted']);
        assert.match(secret, /^whsec_/);
        const id = await logRequest(t);
        assert.equal((await put(id, 'quality', 40)).statusCode, 200);
        assert.equal((await put(id, 'quality', 80)).statusCode, 200);
        const del = await t.inject({ method: 'DELETE', url: `/v1/requests/${id}/scores/quality`, headers: { 'x-api-key': t.alpha.key } });
        assert.equal(del.statusCode, 200);
        await rx.until(() => rx.received.length >= 3, 'three deliveries');
        const got = events(rx);
        assert.deepEqual(got.map((e) => e.type), ['score.created', 'score.updated', 'score.deleted']);
        assert.deepEqual(got.map((e) => [e.data.old_value, e.data.new_value]), [[null, 40], [40, 80], [80, null]]);
        for (const [i, r] of rx.received.entries()) {
          assert.equal(r.headers['tally-event-id'], got[i]!.id);
          assert.equal(verifyWebhookSignature(secret, r.headers['tally-signature'], r.body), true, 'signature verifies');
          assert.equal(verifyWebhookSignature(secret, r.headers['tally-signature'], r.body.replace('quality', 'qualitx')), false, 'a changed body does not');
          assert.equal(verifyWebhookSignature('whsec_other', r.headers['tally-signature'], r.body), false, 'another secret does not');
        }
        const first = got[0]!;
        assert.equal(first.workspace.name, 'alpha');
        assert.equal(first.data.request_id, id);
        assert.equal(first.data.name, 'quality');
        assert.equal(first.data.comment, 'c');
        assert.equal(typeof first.data.history_id, 'number');
        assert.equal(first.data.source, 'api');
        // The signed time is checked: a replay an hour later is refused.
        const later = Math.floor(Date.now() / 1000) + 3600;
        assert.equal(verifyWebhookSignature(secret, rx.received[0]!.headers['tally-signature'], rx.received[0]!.body, { now: later }), false);
        // The receiver has the third POST before the worker records its answer: wait for that.
        type Page = { deliveries: { status: string; attempts: number; last_status_code: number }[] };
        let deliveries = (await t.get(`/v1/webhooks/${webhook.id}/deliveries`)).json() as Page;
        // A deadline, not a count of polls: under load the worker can take longer than 200 short sleeps.
        for (const end = Date.now() + 20_000; Date.now() < end && deliveries.deliveries.some((d) => d.status === 'pending'); ) {
          await new Promise((r) => setTimeout(r, 10));
          deliveries = (await t.get(`/v1/webhooks/${webhook.id}/deliveries`)).json() as Page;
        }
        assert.equal(deliveries.deliveries.length, 3);
        for (const d of deliveries.deliveries) assert.deepEqual([d.status, d.attempts, d.last_status_code], ['delivered', 1, 200]);
        assert.equal((await t.inject({ method: 'DELETE', url: `/v1/webhooks/${webhook.id}`, headers: { 'x-api-key': t.alpha.key } })).statusCode, 200);
      } finally {
        await rx.close();
      }
    });

    it('a receiver that fails twice gets the event on the third attempt, and the next event of the request waits for it', async () => {
      const rx = await startReceiver((n) => (n < 2 ? 503 : 200));
      try {
        const { webhook } = await createHook(rx.url, ['score.created', 'score.updated']);
        const id = await logRequest(t);
        await put(id, 'q', 10);
        await put(id, 'q', 20);
        await rx.until(() => rx.received.filter((r) => r.status === 200).length >= 2, 'both events delivered');
        const got = events(rx);
        assert.deepEqual(
          got.map((e, i) => `${e.type}:${rx.received[i]!.status}`),
          ['score.created:503', 'score.created:503', 'score.created:200', 'score.updated:200'],
        );
        assert.equal(new Set(got.slice(0, 3).map((e) => e.id)).size, 1, 'the retries carry the same event id');
        const { deliveries } = (await t.get(`/v1/webhooks/${webhook.id}/deliveries`)).json() as { deliveries: { type: string; status: string; attempts: number; last_status_code: number }[] };
        const created = deliveries.find((d) => d.type === 'score.created')!;
        assert.deepEqual([created.status, created.attempts, created.last_status_code], ['delivered', 3, 200]);
        await t.inject({ method: 'DELETE', url: `/v1/webhooks/${webhook.id}`, headers: { 'x-api-key': t.alpha.key } });
      } finally {
        await rx.close();
      }
    });

    it('request.logged is opt-in; test, redeliver and Slack format', async () => {
      const tallyRx = await startReceiver();
      const slackRx = await startReceiver();
      try {
        const scoresOnly = await createHook(tallyRx.url, ['score.created']);
        const logged = await createHook(tallyRx.url, ['request.logged']);
        const slack = await createHook(slackRx.url, ['score.created'], { format: 'slack' });
        const id = await logRequest(t, { model: 'gpt-4o', score: 55, score_name: 'helpful' });
        await tallyRx.until(() => tallyRx.received.length >= 2, 'request.logged and score.created');
        await slackRx.until(() => slackRx.received.length >= 1, 'the Slack message');
        const types = events(tallyRx).map((e) => e.type).sort();
        assert.deepEqual(types, ['request.logged', 'score.created']);
        const req = events(tallyRx).find((e) => e.type === 'request.logged')!;
        assert.equal(req.data.request_id, id);
        assert.equal(req.data.model, 'gpt-4o');
        assert.equal('input' in req.data, false, 'summary fields only');
        const msg = JSON.parse(slackRx.received[0]!.body) as { text: string; blocks: unknown[] };
        assert.match(msg.text, new RegExp(`Request ${id} scored "helpful" = 55`));
        assert.ok(Array.isArray(msg.blocks));

        const test = await t.post(`/v1/webhooks/${scoresOnly.webhook.id}/test`, {});
        assert.equal(test.statusCode, 200, test.body);
        await tallyRx.until(() => events(tallyRx).some((e) => e.type === 'webhook.test'), 'the test event');
        const redo = await t.post(`/v1/webhooks/${logged.webhook.id}/deliveries/${(((await t.get(`/v1/webhooks/${logged.webhook.id}/deliveries`)).json()) as { deliveries: { id: number }[] }).deliveries[0]!.id}/redeliver`, {});
        assert.equal(redo.statusCode, 200, redo.body);
        await tallyRx.until(() => events(tallyRx).filter((e) => e.type === 'request.logged').length === 2, 'the redelivery');
        const ids = events(tallyRx).filter((e) => e.type === 'request.logged').map((e) => e.id);
        assert.equal(ids[0], ids[1], 'a redelivery keeps the event id');
        for (const h of [scoresOnly, logged, slack]) await t.inject({ method: 'DELETE', url: `/v1/webhooks/${h.webhook.id}`, headers: { 'x-api-key': t.alpha.key } });
      } finally {
        await tallyRx.close();
        await slackRx.close();
      }
    });

    it('answers 400 naming the field for a bad url or event, 404 for another workspace, and never shows the secret again', async () => {
      const bad = await t.post('/v1/webhooks', { url: 'ftp://example.com/x', events: ['score.created'] });
      assert.equal(bad.statusCode, 400);
      assert.match(bad.json().message, /^url: /);
      const badEvent = await t.post('/v1/webhooks', { url: 'http://127.0.0.1:9/x', events: ['score.exploded'] });
      assert.equal(badEvent.statusCode, 400);
      assert.match(badEvent.json().message, /^events: /);
      const none = await t.post('/v1/webhooks', { url: 'http://127.0.0.1:9/x', events: [] });
      assert.equal(none.statusCode, 400);
      const { webhook } = await createHook('http://127.0.0.1:9/x', ['score.created']);
      const listed = await t.get('/v1/webhooks');
      assert.equal(listed.statusCode, 200);
      assert.doesNotMatch(listed.body, /whsec_/);
      assert.equal((await t.get(`/v1/webhooks/${webhook.id}`, { key: t.other.key })).statusCode, 404);
      assert.equal((await t.inject({ method: 'PATCH', url: `/v1/webhooks/${webhook.id}`, headers: { 'x-api-key': t.other.key }, payload: { enabled: false } })).statusCode, 404);
      const off = await t.inject({ method: 'PATCH', url: `/v1/webhooks/${webhook.id}`, headers: { 'x-api-key': t.alpha.key }, payload: { enabled: false } });
      assert.equal(off.statusCode, 200);
      assert.deepEqual([off.json().webhook.enabled, off.json().webhook.disabled_reason], [false, 'manual']);
      const rotated = await t.post(`/v1/webhooks/${webhook.id}/rotate-secret`, {});
      assert.match(rotated.json().secret, /^whsec_/);
      await t.inject({ method: 'DELETE', url: `/v1/webhooks/${webhook.id}`, headers: { 'x-api-key': t.alpha.key } });
      assert.equal((await t.get(`/v1/webhooks/${webhook.id}`)).statusCode, 404);
    });

    it('gives a delivery up after its retry period, and the next one of the request goes then', async () => {
      const { webhook } = await createHook('http://127.0.0.1:9/never', ['score.created']);
      const hook = (await t.store.webhooks.get(t.alpha.workspace.id, webhook.id))!;
      // Due far in the future: this app's own worker, claiming at the present time, never takes them.
      const F = Date.now() + 1e9;
      const first = await t.store.webhooks.enqueue(hook, { eventId: 'o1', type: 'score.created', orderKey: 'request:1', payload: '{}' }, F, 10_000);
      const second = await t.store.webhooks.enqueue(hook, { eventId: 'o2', type: 'score.created', orderKey: 'request:1', payload: '{}' }, F, 10_000);
      const mine = (claims: { id: number }[]) => claims.map((c) => c.id).filter((id) => id === first.id || id === second.id);
      assert.deepEqual(mine(await t.store.webhooks.claimDue(F + 1000, 10, 100)), [first.id], 'the second waits for the first');
      await t.store.webhooks.recordAttempt({ deliveryId: first.id, webhookId: webhook.id, at: F + 1005, ok: false, statusCode: 500, error: 'HTTP 500', retryAt: null, disableIfFailingSince: 0 });
      const [failed] = await t.store.webhooks.deliveries(t.alpha.workspace.id, webhook.id, { status: 'failed', limit: 10 });
      assert.deepEqual([failed?.id, failed?.attempts], [first.id, 1]);
      assert.deepEqual(mine(await t.store.webhooks.claimDue(F + 1020, 10, 100)), [second.id], 'given up: the next one goes');
      await t.inject({ method: 'DELETE', url: `/v1/webhooks/${webhook.id}`, headers: { 'x-api-key': t.alpha.key } });
    });

    it('disables a webhook whose attempts have all failed for the disable period, and shows it', async () => {
      const { webhook } = await createHook('http://127.0.0.1:9/never', ['score.created']);
      await t.inject({ method: 'PATCH', url: `/v1/webhooks/${webhook.id}`, headers: { 'x-api-key': t.alpha.key }, payload: { enabled: false } });
      const hook = (await t.store.webhooks.get(t.alpha.workspace.id, webhook.id))!;
      // Due, and retried, far in the future: this app's own worker, claiming at the present time,
      // must not attempt it (an attempt now would count three days of failures since day 10).
      const F = Date.now() + 1e9;
      const d = await t.store.webhooks.enqueue(hook, { eventId: 'x1', type: 'webhook.test', orderKey: null, payload: '{}' }, F, 10_000);
      const DAY = 86_400_000;
      const attempt = (at: number) =>
        t.store.webhooks.recordAttempt({ deliveryId: d.id, webhookId: webhook.id, at, ok: false, statusCode: 500, error: 'HTTP 500', retryAt: F, disableIfFailingSince: at - 3 * DAY });
      await t.store.webhooks.update(t.alpha.workspace.id, webhook.id, { enabled: true });
      await attempt(10 * DAY);
      await attempt(12 * DAY);
      assert.equal((await t.get(`/v1/webhooks/${webhook.id}`)).json().webhook.enabled, true, 'two days of failures: still on');
      await attempt(13 * DAY);
      const shown = (await t.get(`/v1/webhooks/${webhook.id}`)).json().webhook;
      assert.deepEqual([shown.enabled, shown.disabled_reason], [false, 'failing']);
      await t.inject({ method: 'DELETE', url: `/v1/webhooks/${webhook.id}`, headers: { 'x-api-key': t.alpha.key } });
    });
  });
}
