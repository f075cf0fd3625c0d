/**
 * The screenshots in docs/: each main page at 1280x800 over a workspace of realistic data,
 * written to docs/images/ only when TALLY_SCREENSHOTS=1 (run by hand after a visible change, then
 * look at each picture and commit them). Without it the file starts no browser.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { inviteToWorkspace } from '../../server/src/auth/invites.js';
import { startHarness, type Harness } from './helpers/browser.js';

const WANTED = process.env.TALLY_SCREENSHOTS === '1';
const IMAGES = fileURLToPath(new URL('../../../docs/images/', import.meta.url));

/** A small deterministic generator, so the pictures change only when the pages do. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

const QUESTIONS = [
  'How do I reset my password if I no longer have access to my email?',
  'Can I change the billing currency on an annual plan?',
  'Why was my card declined when upgrading to the team plan?',
  'Summarise this ticket: customer reports the export stops at 10,000 rows.',
  'Does the API support pagination on the invoices endpoint?',
  'What is your refund policy for unused seats?',
  'Translate the release notes into German for the EU newsletter.',
  'The dashboard shows a blank page after the upgrade. What should I try?',
];
const ANSWERS = [
  'You can reset it from the sign-in page: choose "Forgot password" and follow the link we send to your recovery address.',
  'Yes. Open Billing, choose "Change currency" and the new currency applies from your next invoice.',
  'Cards are declined most often by the issuing bank. Please check with your bank, then retry from Billing.',
  'The customer cannot export more than 10,000 rows; they need the full history for an audit this week.',
  'Yes: every list endpoint takes `limit` and `cursor`, and answers `next_cursor` while more remain.',
  'Unused seats are refunded pro rata when you lower the seat count within 30 days of renewal.',
  'Hier sind die Versionshinweise auf Deutsch: schnellere Exporte, neue Rollen, und eine Seite für Mitglieder.',
  'A hard refresh (Ctrl+Shift+R) loads the new version; if it persists, clear the site data.',
];

describe('docs screenshots', { skip: WANTED ? false : 'set TALLY_SCREENSHOTS=1 to write docs/images', timeout: 300_000 }, () => {
  let h: Harness;
  let firstId = 0;
  let queueId = 0;

  before(async () => {
    // No webhook deliveries nor scheduled alert runs: the example hook's host is not to be called.
    h = await startHarness('docs', { webhookPollMs: 0, alertIntervalMs: 0 });
    const call = async (method: string, path: string, body?: unknown, want = [200, 201]) => {
      const r = await h.apiCall(method, path, body);
      assert.ok(want.includes(r.status), `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    };
    await call('PUT', '/v1/score-schemas/quality', {
      kind: 'categorical',
      description: 'Is the answer correct and complete?',
      rubric: 'good: correct and complete.\nok: correct, missing detail.\nwrong: any false claim.',
      labels: [
        { label: 'good', value: 100 },
        { label: 'ok', value: 50 },
        { label: 'wrong', value: 0 },
      ],
      reasons: ['hallucination', 'too long', 'off topic'],
      comment_required_below: 50,
    });
    await call('PUT', '/v1/score-schemas/helpfulness', { kind: 'numeric', min: 0, max: 100, description: 'How much the answer helped, 0 to 100.' });

    const rand = rng(42);
    const models = [
      ['openai', 'gpt-4o'],
      ['openai', 'gpt-4o-mini'],
      ['anthropic', 'claude-3-5-sonnet'],
    ] as const;
    const now = Math.floor(Date.now() / 1000);
    const ids: { id: number; model: string }[] = [];
    for (let i = 0; i < 240; i++) {
      const [provider, model] = models[i % 7 < 3 ? 0 : i % 7 < 6 ? 1 : 2]!;
      const q = Math.floor(rand() * QUESTIONS.length);
      const start = now - (240 - i) * 4800 - Math.floor(rand() * 600);
      const latency = 0.4 + rand() * (model === 'gpt-4o-mini' ? 1.2 : 2.6);
      const failed = rand() < 0.03;
      const inputTokens = 120 + Math.floor(rand() * 900);
      const outputTokens = failed ? 0 : 40 + Math.floor(rand() * 400);
      const body = await call('POST', '/log-request', {
        provider,
        model,
        input: { type: 'chat', messages: [{ role: 'system', content: [{ type: 'text', text: 'You are the support assistant of Acme Cloud. Answer briefly.' }] }, { role: 'user', content: [{ type: 'text', text: QUESTIONS[q] }] }] },
        output: failed ? { type: 'chat', messages: [] } : { type: 'chat', messages: [{ role: 'assistant', content: [{ type: 'text', text: ANSWERS[q] }] }] },
        request_start_time: start,
        request_end_time: start + latency,
        prompt_name: q === 3 ? 'summarize-ticket' : 'support-answer',
        prompt_version_number: q === 3 ? 2 : i < 120 ? 3 : 4,
        input_tokens: inputTokens,
        output_tokens: outputTokens,
        price: Number(((inputTokens * 2.5 + outputTokens * 10) / 1e6 / (model === 'gpt-4o-mini' ? 16 : 1)).toFixed(6)),
        tags: i % 5 === 0 ? ['prod', 'eu'] : ['prod'],
        metadata: { customer_tier: ['free', 'team', 'enterprise'][i % 3], region: i % 5 === 0 ? 'eu-west' : 'us-east' },
        ...(failed ? { status: 'ERROR', error_type: 'PROVIDER_TIMEOUT', error_message: 'upstream timed out after 30 s' } : {}),
      });
      ids.push({ id: body.id as number, model });
    }
    // The request page shows the newest request with both scores.
    firstId = ids[[...ids.keys()].reverse().find((n) => n % 3 === 0 && n % 4 !== 3)!]!.id;
    // Scores: helpfulness from an automatic judge on most requests, quality from two raters on some.
    for (const [n, { id, model }] of ids.entries()) {
      const good = model === 'gpt-4o-mini' ? 0.55 : 0.75;
      if (n % 4 !== 3) await call('PUT', `/v1/requests/${id}/scores/helpfulness`, { score: Math.round(Math.min(100, Math.max(0, (good + (rand() - 0.5) * 0.6) * 100))), rater: 'judge-gpt-4o' });
      if (n % 3 === 0) {
        const pick = () => (rand() < good ? 'good' : rand() < 0.6 ? 'ok' : 'wrong');
        const a = pick();
        await call('PUT', `/v1/requests/${id}/scores/quality`, { label: a, rater: 'vendor-a', ...(a === 'wrong' ? { comment: 'states a policy we do not have', reasons: ['hallucination'] } : {}) });
        const b = rand() < 0.8 ? a : pick();
        await call('PUT', `/v1/requests/${id}/scores/quality`, { label: b, rater: 'vendor-b', ...(b === 'wrong' ? { comment: 'wrong answer', reasons: ['off topic'] } : {}) });
      }
    }
    const q = await call('POST', '/v1/review-queues', {
      name: 'gpt-4o-mini answers, week 49',
      score_name: 'quality',
      filter: { field: 'model', op: '=', value: 'gpt-4o-mini' },
      sample: { count: 40, seed: 7, by: 'prompt_version' },
      raters_per_item: 2,
      instructions: 'Rate correctness only; use the rubric.',
    });
    queueId = (q.queue as { id: number }).id;
    await call('POST', '/v1/review-queues', { name: 'Failed requests triage', score_name: 'quality', filter: { field: 'status', op: '=', value: 'ERROR' }, raters_per_item: 1, include_new: true });
    await call('POST', '/v1/webhooks', { url: 'https://hooks.example.com/tally', events: ['score.created', 'score.updated'], description: 'Quality dashboard sync' });
    await call('POST', '/v1/alerts', {
      name: 'support helpfulness',
      score_name: 'helpfulness',
      filter: { field: 'prompt_name', op: '=', value: 'support-answer' },
      window: '1d',
      min_count: 10,
      threshold: 60,
      direction: 'below',
    });
    const ws = (await h.store.workspaces.find('default'))!;
    const grace = await inviteToWorkspace(h.store.accounts, ws.id, 'grace@example.com', 'owner');
    await h.store.accounts.setPassword(grace.userId, 'not a real hash');
    await inviteToWorkspace(h.store.accounts, ws.id, 'linus@example.com', 'member');
    mkdirSync(IMAGES, { recursive: true });
    await h.page.setViewportSize({ width: 1280, height: 800 });
  });
  after(async () => h?.close());

  const shoot = async (name: string, path: string, ready: () => Promise<unknown>) => {
    await h.page.goto(`${h.base}${path}`);
    await ready();
    await h.page.waitForLoadState('networkidle');
    await h.page.waitForTimeout(400);
    await h.page.screenshot({ path: join(IMAGES, `${name}.png`) });
    // The same page must hold at 1,024 px: no sideways scroll (looked at in ${h.shotsDir}).
    await h.page.setViewportSize({ width: 1024, height: 800 });
    await h.page.waitForTimeout(200);
    await h.page.screenshot({ path: join(h.shotsDir, `docs-${name}-1024.png`), fullPage: true });
    const wide = await h.page.evaluate(() => document.documentElement.scrollWidth);
    await h.page.setViewportSize({ width: 1280, height: 800 });
    assert.ok(wide <= 1024, `${name}: no horizontal scroll at 1,024 px (${wide})`);
  };

  it('writes each main page', async () => {
    const { page } = h;
    const rows = (sel: string) => () => page.waitForFunction((s) => document.querySelectorAll(s).length > 0, sel);
    await shoot('dashboard', '/requests', rows('table.log tbody tr'));
    await shoot('request-page', `/requests/${firstId}`, () => page.getByRole('region', { name: 'Input' }).waitFor());
    await shoot('review', '/review?name=helpfulness', () => page.getByRole('link', { name: /^Open request \d+$/ }).waitFor());
    await shoot('analytics', '/analytics?name=helpfulness', () => page.locator('.recharts-surface').first().waitFor());
    await shoot('score-schemas', '/score-schemas?name=quality', () => page.getByRole('heading', { name: 'Score schemas' }).waitFor());
    await shoot('queues', '/queues', () => page.getByText('gpt-4o-mini answers, week 49').first().waitFor());
    await shoot('agreement', '/agreement?name=quality', () => page.getByRole('heading', { name: /Agreement/ }).first().waitFor());
    await shoot('webhooks', '/webhooks', () => page.getByText('hooks.example.com').first().waitFor());
    await shoot('alerts', '/alerts', () => page.getByText('support helpfulness').first().waitFor());
    await shoot('members', '/members', () => page.getByText('linus@example.com').waitFor());
    assert.ok(queueId > 0);
  });
});
