import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { evaluateAlert, meanInterval, normalQuantile, parseWindow, wilsonInterval } from '../src/domain/alert-rule.js';
import { BACKENDS } from './helpers/backends.js';
import { createTestApp, logRequest, type TestApp } from './helpers/test-app.js';
import { startReceiver, type Receiver } from './helpers/webhook-receiver.js';

describe('alert rule (domain)', () => {
  it('computes the normal quantile, the t-interval and the Wilson interval as published', () => {
    assert.ok(Math.abs(normalQuantile(0.975) - 1.959964) < 1e-6);
    assert.ok(Math.abs(normalQuantile(0.005) + 2.575829) < 1e-6);
    // Values 1..5: mean 3, s = 1.5811, t(0.975, 4) = 2.776445 → 3 ± 1.963243.
    const m = meanInterval([1, 2, 3, 4, 5].map((value) => ({ value, count: 1 })), 0.95);
    assert.ok(Math.abs(m.low! - 1.036757) < 1e-5 && Math.abs(m.high! - 4.963243) < 1e-5, JSON.stringify(m));
    // 2 of 10 at 95%: Wilson [0.0567, 0.5098].
    const w = wilsonInterval(2, 10, 0.95);
    assert.ok(Math.abs(w.low! - 0.05668) < 1e-4 && Math.abs(w.high! - 0.50984) < 1e-4, JSON.stringify(w));
  });

  it('fires only past the threshold with enough scores, and resolves only wholly back (hysteresis)', () => {
    const rule = { kind: 'mean' as const, shareValue: null, minCount: 10, threshold: 60, direction: 'below' as const, confidence: 0.95 };
    const many = (value: number, count: number) => [{ value, count }];
    assert.equal(evaluateAlert(rule, 'ok', many(10, 5)).reason, 'too_few_scores');
    const fire = evaluateAlert(rule, 'ok', [{ value: 10, count: 15 }, { value: 30, count: 15 }]);
    assert.deepEqual([fire.state, fire.changed], ['firing', true]);
    // A wide interval straddling the threshold changes nothing, either way.
    const noisy = [{ value: 0, count: 6 }, { value: 100, count: 6 }];
    assert.deepEqual([evaluateAlert(rule, 'ok', noisy).state, evaluateAlert(rule, 'ok', noisy).reason], ['ok', 'undecided']);
    assert.deepEqual([evaluateAlert(rule, 'firing', noisy).state, evaluateAlert(rule, 'firing', noisy).changed], ['firing', false]);
    const back = evaluateAlert(rule, 'firing', [{ value: 90, count: 10 }, { value: 80, count: 10 }]);
    assert.deepEqual([back.state, back.changed], ['ok', true]);
    const share = { kind: 'share' as const, shareValue: 0, minCount: 20, threshold: 0.2, direction: 'above' as const, confidence: 0.95 };
    assert.equal(evaluateAlert(share, 'ok', [{ value: 0, count: 8 }, { value: 100, count: 22 }]).state, 'ok', '27% of 30: the interval still reaches below 20%');
    assert.equal(evaluateAlert(share, 'ok', [{ value: 0, count: 60 }, { value: 100, count: 60 }]).state, 'firing', '50% of 120');
  });

  it('reads windows as seconds or durations', () => {
    assert.equal(parseWindow('1h'), 3600_000);
    assert.equal(parseWindow(90), 90_000);
    assert.throws(() => parseWindow('1y'), /window: /);
    assert.throws(() => parseWindow(5), /window: /);
  });
});

interface Evaluated {
  state: string;
  changed: boolean;
  reason: string;
  count: number;
  mean: number | null;
  interval: { low: number; high: number } | null;
}

for (const backend of BACKENDS) {
  describe(`alerts [${backend}]`, () => {
    let t: TestApp;
    let rx: Receiver;
    before(async () => {
      t = await createTestApp(backend, { webhookPollMs: 20, webhookBackoffMs: 20, alertIntervalMs: 0, publicUrl: 'https://tally.example.com' });
      rx = await startReceiver();
    });
    after(async () => {
      await t.close();
      await rx.close();
    });
    const evaluate = async (id: number) => {
      const res = await t.post(`/v1/alerts/${id}/evaluate`, {});
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as Evaluated;
    };
    const scoreAll = async (ids: number[], value: (i: number) => number) => {
      const res = await t.post('/v1/scores/batch', { items: ids.map((request_id, i) => ({ request_id, name: 'helpfulness', score: value(i) })) });
      assert.equal(res.statusCode, 200, res.body);
    };

    it('does not fire on a few low scores, fires once on many, resolves once when they recover', async () => {
      const hook = await t.post('/v1/webhooks', { url: rx.url, events: ['alert.fired', 'alert.resolved'] });
      assert.equal(hook.statusCode, 201, hook.body);
      const created = await t.post('/v1/alerts', {
        name: 'support helpfulness',
        score_name: 'helpfulness',
        filter: { field: 'prompt_name', op: '=', value: 'support-answer' },
        window: '1h',
        min_count: 10,
        threshold: 60,
        direction: 'below',
      });
      assert.equal(created.statusCode, 201, created.body);
      const alert = created.json().alert as { id: number; state: string; confidence: number; request_log_url: string };
      assert.deepEqual([alert.state, alert.confidence], ['ok', 0.95]);
      assert.match(alert.request_log_url, /^https:\/\/tally\.example\.com\/requests\?filter=/);

      const support = await Promise.all(Array.from({ length: 30 }, () => logRequest(t, { prompt_name: 'support-answer' })));
      const other = await Promise.all(Array.from({ length: 30 }, () => logRequest(t, { prompt_name: 'other' })));
      await scoreAll(support.slice(0, 4), () => 5);
      // Low scores of another prompt are outside the filter.
      await scoreAll(other, () => 0);
      const few = await evaluate(alert.id);
      assert.deepEqual([few.state, few.reason, few.count], ['ok', 'too_few_scores', 4]);

      await scoreAll(support, (i) => 20 + (i % 10));
      const fired = await evaluate(alert.id);
      assert.deepEqual([fired.state, fired.changed, fired.count], ['firing', true, 30]);
      assert.ok(fired.interval!.high < 60);
      const again = await evaluate(alert.id);
      assert.deepEqual([again.state, again.changed], ['firing', false]);

      await scoreAll(support, (i) => 85 + (i % 10));
      const resolved = await evaluate(alert.id);
      assert.deepEqual([resolved.state, resolved.changed], ['ok', true]);
      assert.ok(resolved.interval!.low >= 60);
      assert.equal((await evaluate(alert.id)).changed, false);

      await rx.until(() => rx.received.length >= 2, 'alert.fired and alert.resolved');
      // Give a duplicate time to show up, if one were queued.
      await t.post(`/v1/webhooks/${hook.json().webhook.id}/test`, {});
      await rx.until(() => rx.received.length >= 3, 'the test event after them');
      const types = rx.received.map((r) => (JSON.parse(r.body) as { type: string }).type);
      assert.deepEqual(types, ['alert.fired', 'alert.resolved', 'webhook.test']);
      const firedEvent = JSON.parse(rx.received[0]!.body) as { data: { alert: { name: string }; count: number; value: number; low: number; high: number } };
      assert.equal(firedEvent.data.alert.name, 'support helpfulness');
      assert.equal(firedEvent.data.count, 30);

      const detail = await t.get(`/v1/alerts/${alert.id}`);
      assert.equal(detail.statusCode, 200);
      const history = detail.json().history as { state: string; changed: boolean }[];
      assert.equal(history.length, 5);
      assert.deepEqual(history.filter((h) => h.changed).map((h) => h.state), ['ok', 'firing']);
      assert.equal((await t.get(`/v1/alerts/${alert.id}`, { key: t.other.key })).statusCode, 404);
    });

    it('a share alert counts one value with a Wilson interval', async () => {
      const created = await t.post('/v1/alerts', { name: 'thumbs down', score_name: 'thumb', window: 3600, min_count: 20, threshold: 0.2, direction: 'above', kind: 'share', value: 0 });
      assert.equal(created.statusCode, 201, created.body);
      const id = created.json().alert.id as number;
      const reqs = await Promise.all(Array.from({ length: 60 }, () => logRequest(t)));
      const res = await t.post('/v1/scores/batch', { items: reqs.map((request_id, i) => ({ request_id, name: 'thumb', score: i % 2 === 0 ? 0 : 100 })) });
      assert.equal(res.statusCode, 200);
      const e = (await t.post(`/v1/alerts/${id}/evaluate`, {})).json() as Evaluated & { share: number };
      assert.deepEqual([e.state, e.share], ['firing', 0.5]);
    });

    it("a share alert takes a label of the score name's schema, stored as its value; 400 naming label otherwise", async () => {
      const labels = [
        { label: 'up', value: 100 },
        { label: 'down', value: 0 },
      ];
      const put = await t.inject({ method: 'PUT', url: '/v1/score-schemas/verdict', headers: { 'x-api-key': t.alpha.key }, payload: { kind: 'categorical', labels } });
      assert.ok(put.statusCode === 200 || put.statusCode === 201, put.body);
      const base = { name: 'downs', score_name: 'verdict', window: 3600, min_count: 20, threshold: 0.2, direction: 'above', kind: 'share' };
      for (const [label, value] of [['down', 0], ['up', 100]] as const) {
        const created = await t.post('/v1/alerts', { ...base, label });
        assert.equal(created.statusCode, 201, created.body);
        assert.equal(created.json().alert.value, value);
        assert.equal((await t.store.alerts.get(t.alpha.workspace.id, created.json().alert.id))?.shareValue, value);
      }
      const before = (await t.store.alerts.list(t.alpha.workspace.id)).length;
      for (const [body, field] of [
        [{ ...base, label: 'sideways' }, 'label'],
        [{ ...base, score_name: 'no-schema-here', label: 'down' }, 'label'],
        [{ ...base, label: 'down', value: 0 }, 'label'],
        [{ ...base, kind: 'mean', threshold: 50, label: 'down' }, 'label'],
      ] as const) {
        const res = await t.post('/v1/alerts', body);
        assert.equal(res.statusCode, 400, `${field}: ${res.body}`);
        assert.match(res.json().message, new RegExp(`^${field}: `));
      }
      assert.equal((await t.store.alerts.list(t.alpha.workspace.id)).length, before);
    });

    it('answers 400 naming the field for a bad window, filter, threshold or share without value', async () => {
      const base = { name: 'x', score_name: 'q', window: '1h', min_count: 5, threshold: 50, direction: 'below' };
      for (const [body, field] of [
        [{ ...base, window: 'soon' }, 'window'],
        [{ ...base, filter: { field: 'nope', op: '=', value: 1 } }, 'filter'],
        [{ ...base, threshold: 150 }, 'threshold'],
        [{ ...base, kind: 'share', threshold: 0.2 }, 'value'],
        [{ ...base, direction: 'sideways' }, 'direction'],
      ] as const) {
        const res = await t.post('/v1/alerts', body);
        assert.equal(res.statusCode, 400, `${field}: ${res.body}`);
        assert.match(res.json().message, new RegExp(`^${field}`));
      }
    });

    it('one evaluation per interval among instances: a due alert is claimed once', async () => {
      const created = await t.post('/v1/alerts', { name: 'claim', score_name: 'q', window: '1h', min_count: 5, threshold: 50, direction: 'below' });
      const id = created.json().alert.id as number;
      const now = Date.now() + 1000;
      const [a, b] = await Promise.all([t.store.alerts.claimDue(now, 60_000, 100), t.store.alerts.claimDue(now, 60_000, 100)]);
      const claims = [...a!, ...b!].filter((x) => x.id === id);
      assert.equal(claims.length, 1);
      assert.equal((await t.store.alerts.claimDue(now + 1000, 60_000, 100)).some((x) => x.id === id), false, 'not due again within the interval');
    });
  });
}
