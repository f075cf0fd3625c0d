import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from '../../server/test/helpers/backends.js';
import { createLiveApp, type LiveApp } from '../../server/test/helpers/live-app.js';
import { startReceiver, type Receiver } from '../../server/test/helpers/webhook-receiver.js';
import { Tally, TallyError, verifyWebhookSignature } from '../src/node.js';

describe('verifyWebhookSignature', () => {
  const secret = 'whsec_test';
  const body = '{"id":"sev_1","type":"score.created"}';
  const sign = (t: number, b = body, s = secret) => `t=${t},v1=${createHmac('sha256', s).update(`${t}.${b}`).digest('hex')}`;
  const now = 1_750_000_000;

  it('accepts a fresh signature of the exact body, and refuses anything else', () => {
    assert.equal(verifyWebhookSignature(secret, sign(now), body, { now }), true);
    assert.equal(verifyWebhookSignature(secret, sign(now), Buffer.from(body), { now }), true);
    assert.equal(verifyWebhookSignature(secret, sign(now), body + ' ', { now }), false, 'another body');
    assert.equal(verifyWebhookSignature(secret, sign(now, body, 'whsec_other'), body, { now }), false, 'another secret');
    assert.equal(verifyWebhookSignature(secret, sign(now - 301), body, { now }), false, 'too old: a replay');
    assert.equal(verifyWebhookSignature(secret, sign(now - 301), body, { now, toleranceSeconds: 600 }), true, 'within a wider tolerance');
    assert.equal(verifyWebhookSignature(secret, sign(now).replace(/t=\d+/, `t=${now + 1}`), body, { now }), false, 'the time is signed');
    assert.equal(verifyWebhookSignature(secret, `t=${now},v1=zz`, body, { now }), false);
    assert.equal(verifyWebhookSignature(secret, undefined, body, { now }), false);
    assert.equal(verifyWebhookSignature(secret, `${sign(now, body, 'whsec_old')},${sign(now).split(',')[1]}`, body, { now }), true, 'any of several v1 entries');
  });
});

for (const backend of BACKENDS) {
  describe(`tally.webhooks and tally.alerts against a live server [${backend}]`, () => {
    let t: LiveApp;
    let tally: Tally;
    let rx: Receiver;
    before(async () => {
      t = await createLiveApp(backend, { webhookPollMs: 20, alertIntervalMs: 0 });
      tally = new Tally({ apiKey: t.alpha.key, baseURL: t.baseURL, maxRetries: 0 });
      rx = await startReceiver();
    });
    after(async () => {
      await t.close();
      await rx.close();
    });

    it('creates, tests and lists deliveries of a webhook whose signature verifies', async () => {
      const { webhook, secret } = await tally.webhooks.create({ url: rx.url, events: ['score.created'], description: 'sdk' });
      assert.equal((await tally.webhooks.list()).some((w) => w.id === webhook.id), true);
      const delivery = await tally.webhooks.test(webhook.id);
      assert.equal(delivery.type, 'webhook.test');
      await rx.until(() => rx.received.length >= 1, 'the test event');
      assert.equal(verifyWebhookSignature(secret, rx.received[0]!.headers['tally-signature'], rx.received[0]!.body), true);
      const page = await tally.webhooks.deliveries(webhook.id);
      assert.equal(page.deliveries[0]!.event_id, delivery.event_id);
      const off = await tally.webhooks.update(webhook.id, { enabled: false });
      assert.equal(off.enabled, false);
      const err = await tally.webhooks.get(999_999).catch((e: unknown) => e);
      assert.ok(err instanceof TallyError && err.status === 404);
      await tally.webhooks.delete(webhook.id);
    });

    it('creates an alert and evaluates it', async () => {
      const alert = await tally.alerts.create({ name: 'q', score_name: 'quality', window: '1h', min_count: 5, threshold: 60, direction: 'below' });
      assert.equal(alert.state, 'ok');
      const e = await tally.alerts.evaluate(alert.id);
      assert.deepEqual([e.state, e.reason, e.count], ['ok', 'too_few_scores', 0]);
      const { history } = await tally.alerts.get(alert.id);
      assert.equal(history.length, 1);
      assert.equal((await tally.alerts.list()).length, 1);
    });
  });
}
