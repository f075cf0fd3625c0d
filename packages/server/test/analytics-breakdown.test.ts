import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from './helpers/backends.js';
import { createTestApp, logRequest, type TestApp } from './helpers/test-app.js';

/**
 * Statistics by a metadata key, a score against latency, cost and tokens (Spearman's rho and
 * binned means), and the facets the dashboard's pickers are filled from. Expected figures are
 * worked out by hand in the comments.
 */
const T0 = Date.UTC(2026, 0, 5) / 1000;

// Latencies are quarter seconds, exact in binary: the stored latency is the one written here.
const ROWS = [
  { latency: 250, score: 10, price: 0.4, tokens: [10, 5], tier: 'gold', tags: ['prod'] },
  { latency: 500, score: 20, price: 0.3, tokens: [10, 6], tier: 'gold', tags: ['prod', 'eu'] },
  { latency: 500, score: 40, price: 0.2, tokens: [20, 6], tier: 'silver', tags: [] },
  { latency: 750, score: 30, price: 0.2, tokens: [20, 7], tier: 'silver', tags: ['eu'] },
  { latency: 1000, score: 50, price: 0.1, tokens: [30, 8], tier: null, tags: [] },
  { latency: 1250, score: 50, price: 0.1, tokens: [30, 9], tier: 'gold', tags: ['prod'] },
];

async function seed(t: TestApp): Promise<void> {
  const items: { request_id: number; name: string; score: number }[] = [];
  for (const [i, r] of ROWS.entries()) {
    const id = await logRequest(t, {
      model: i < 3 ? 'm-a' : 'm-b',
      prompt_name: 'greet',
      prompt_version_number: i < 2 ? 1 : 2,
      request_start_time: T0 + i,
      request_end_time: T0 + i + r.latency / 1000,
      price: r.price,
      input_tokens: r.tokens[0],
      output_tokens: r.tokens[1],
      tags: r.tags,
      ...(r.tier === null ? {} : { metadata: { customer_tier: r.tier, region: 'x' } }),
    });
    items.push({ request_id: id, name: 'quality', score: r.score });
  }
  // Unscored: in the facets, in no statistic.
  await logRequest(t, { model: 'm-unscored', prompt_name: 'aaa', prompt_version_number: 7, metadata: { plan: 'free' } });
  const res = await t.post('/v1/scores/batch', { items });
  assert.equal(res.statusCode, 200, res.body);
  // The other workspace: same name, key and tag; values of its own that must not show here.
  const foreign = await logRequest(t, { model: 'm-foreign', prompt_name: 'foreign', prompt_version_number: 9, tags: ['foreign-tag'], metadata: { customer_tier: 'platinum', foreign_key: '1' } }, t.other.key);
  const f = await t.post('/v1/scores/batch', { items: [{ request_id: foreign, name: 'quality', score: 99 }] }, { key: t.other.key });
  assert.equal(f.statusCode, 200, f.body);
}

for (const backend of BACKENDS) {
  describe(`score breakdowns, correlation and facets [${backend}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend);
      await seed(t);
    });
    after(() => t.close());

    const ok = async (url: string) => {
      const res = await t.get(url);
      assert.equal(res.statusCode, 200, res.body);
      return res.json();
    };
    const bad = async (url: string, field: string) => {
      const res = await t.get(url);
      assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
      assert.match((res.json() as { message: string }).message, new RegExp(field.replace('.', '\\.')), res.body);
    };

    it('groups a score by a metadata key: null holds requests without it', async () => {
      const body = (await ok('/v1/scores/stats?name=quality&group_by=metadata.customer_tier')) as {
        group_by: string;
        groups_truncated: boolean;
        scores: { group: Record<string, unknown>; count: number; mean: number }[];
      };
      assert.equal(body.group_by, 'metadata.customer_tier');
      assert.equal(body.groups_truncated, false);
      // null: 50 | gold: 10, 20, 50 -> 80/3 | silver: 40, 30 -> 35. Platinum is the other workspace's.
      assert.deepEqual(
        body.scores.map((e) => [e.group, e.count, Math.round(e.mean * 1e9) / 1e9]),
        [
          [{ metadata_value: null }, 1, 50],
          [{ metadata_value: 'gold' }, 3, Math.round((80 / 3) * 1e9) / 1e9],
          [{ metadata_value: 'silver' }, 2, 35],
        ],
      );
    });

    it('groups by metadata with the other filters, and by tag', async () => {
      const byTier = (await ok('/v1/scores/stats?name=quality&group_by=metadata.customer_tier&model=m-b')) as { scores: { group: Record<string, unknown>; count: number }[] };
      // m-b is rows 3..5: silver (30), none (50), gold (50).
      assert.deepEqual(byTier.scores.map((e) => [e.group.metadata_value, e.count]), [[null, 1], ['gold', 1], ['silver', 1]]);
      const byTag = (await ok('/v1/scores/stats?name=quality&group_by=tag')) as { groups_truncated: boolean; scores: { group: Record<string, unknown>; count: number; mean: number }[] };
      // untagged: 40, 50 | eu: 20, 30 | prod: 10, 20, 50
      assert.deepEqual(byTag.scores.map((e) => [e.group.tag, e.count, e.mean]), [[null, 2, 45], ['eu', 2, 25], ['prod', 3, 80 / 3]]);
      assert.equal(byTag.groups_truncated, false);
    });

    it('counts only the newest `limit` scored requests with limit, and says so in window', async () => {
      // The newest three scored "quality" are rows 3..5: eu 30, untagged 50, prod 50.
      const byTag = (await ok('/v1/scores/stats?name=quality&group_by=tag&limit=3')) as { window: unknown; scores: { group: Record<string, unknown>; count: number; mean: number }[] };
      assert.deepEqual(byTag.window, { limit: 3, truncated: true });
      assert.deepEqual(byTag.scores.map((e) => [e.group.tag, e.count, e.mean]), [[null, 1, 50], ['eu', 1, 30], ['prod', 1, 50]]);
      // Ungrouped, where the totals would answer for every score: rows 4 and 5.
      const two = (await ok('/v1/scores/stats?name=quality&limit=2')) as { window: unknown; scores: { count: number; mean: number }[] };
      assert.deepEqual(two.window, { limit: 2, truncated: true });
      assert.deepEqual(two.scores.map((e) => [e.count, e.mean]), [[2, 50]]);
      const all = (await ok('/v1/scores/stats?name=quality&limit=6')) as { window: unknown; scores: { count: number }[] };
      assert.deepEqual([all.window, all.scores[0]!.count], [{ limit: 6, truncated: false }, 6]);
      const plain = (await ok('/v1/scores/stats?name=quality')) as { window?: unknown };
      assert.equal(plain.window, undefined, 'no window without limit');
      await bad('/v1/scores/stats?limit=3', 'limit');
      await bad('/v1/scores/stats?name=quality&limit=0', 'limit');
    });

    it('keeps the 50 groups with the most scores and says that others were left out', async () => {
      const items: { request_id: number; name: string; score: number }[] = [];
      // 52 users: u00 twice, the rest once. Kept: u00 (most scores), then u01..u49 by value.
      for (let i = 0; i < 53; i++) {
        const user = `u${String(Math.max(0, i - 1)).padStart(2, '0')}`;
        items.push({ request_id: await logRequest(t, { metadata: { user } }), name: 'many', score: i });
      }
      const res = await t.post('/v1/scores/batch', { items });
      assert.equal(res.statusCode, 200, res.body);
      const body = (await ok('/v1/scores/stats?name=many&group_by=metadata.user')) as { groups_truncated: boolean; scores: { group: { metadata_value: string }; count: number }[] };
      assert.equal(body.groups_truncated, true);
      assert.equal(body.scores.length, 50);
      assert.deepEqual(body.scores.map((e) => e.group.metadata_value), Array.from({ length: 50 }, (_, i) => `u${String(i).padStart(2, '0')}`));
      assert.equal(body.scores[0]!.count, 2);
    });

    it("gives Spearman's rho with average ranks and means by bins of x's rank, as worked by hand", async () => {
      const body = (await ok('/v1/scores/correlation?name=quality&x=latency_ms&bins=3')) as {
        n: number;
        spearman: { rho: number; n: number; ties: string };
        bins: { bin: number; count: number; x_min: number; x_max: number; x_mean: number; score_mean: number }[];
      };
      // Ranks of latency: 1, 2.5, 2.5, 4, 5, 6; of score (10 20 40 30 50 50): 1, 2, 4, 3, 5.5, 5.5.
      // Centred on 3.5: dx = -2.5 -1 -1 .5 1.5 2.5, dy = -2.5 -1.5 .5 -.5 2 2.
      // sum dx*dy = 6.25 + 1.5 - .5 - .25 + 3 + 5 = 15; sum dx^2 = sum dy^2 = 17; rho = 15/17.
      assert.equal(body.n, 6);
      assert.equal(body.spearman.n, 6);
      assert.equal(body.spearman.ties, 'average');
      assert.ok(Math.abs(body.spearman.rho - 15 / 17) < 1e-12, String(body.spearman.rho));
      // bin = floor((rank - .5) * 3 / 6): ranks 1 | 2.5 2.5 4 | 5 6.
      assert.deepEqual(
        body.bins.map((b) => [b.bin, b.count, b.x_min, b.x_max, Math.round(b.x_mean * 1000) / 1000, b.score_mean]),
        [
          [0, 1, 250, 250, 250, 10],
          [1, 3, 500, 750, 583.333, 30],
          [2, 2, 1000, 1250, 1125, 50],
        ],
      );
    });

    it('sets the score against cost and tokens, with the filters', async () => {
      // Cost .4 .3 .2 .2 .1 .1 falls as the score rises: ranks 6 5 3.5 3.5 1.5 1.5 against 1 2 4 3 5.5 5.5.
      // dx = 2.5 1.5 0 0 -2 -2, dy = -2.5 -1.5 .5 -.5 2 2: sum dx*dy = -6.25 - 2.25 - 4 - 4 = -16.5;
      // sum dx^2 = 6.25 + 2.25 + 4 + 4 = 16.5, sum dy^2 = 17: rho = -16.5 / sqrt(16.5 * 17).
      const cost = (await ok('/v1/scores/correlation?name=quality&x=cost')) as { spearman: { rho: number } };
      assert.ok(Math.abs(cost.spearman.rho - -16.5 / Math.sqrt(16.5 * 17)) < 1e-12, String(cost.spearman.rho));
      // Tokens 15 16 26 27 38 39 rise with latency's order without its tie: rho against score
      // (ranks 1..6 against 1 2 4 3 5.5 5.5): dx = -2.5 -1.5 -.5 .5 1.5 2.5; sum dx*dy = 6.25 + 2.25 - .25 - .25 + 3 + 5 = 16;
      // sum dx^2 = 17.5: rho = 16 / sqrt(17.5 * 17).
      const tokens = (await ok('/v1/scores/correlation?name=quality&x=tokens')) as { spearman: { rho: number }; bins: unknown[] };
      assert.ok(Math.abs(tokens.spearman.rho - 16 / Math.sqrt(17.5 * 17)) < 1e-12, String(tokens.spearman.rho));
      assert.equal(tokens.bins.length, 6, 'ten bins of six distinct ranks: six non-empty');
      // Filtered to m-a (rows 0..2): latency 250 500 500, score 10 20 40: dx = -1 .5 .5, dy = -1 0 1:
      // sum dx*dy = 1 + 0 + .5 = 1.5; rho = 1.5 / sqrt(1.5 * 2).
      const filtered = (await ok('/v1/scores/correlation?name=quality&x=latency_ms&model=m-a')) as { n: number; spearman: { rho: number } };
      assert.equal(filtered.n, 3);
      assert.ok(Math.abs(filtered.spearman.rho - 1.5 / Math.sqrt(3)) < 1e-12, String(filtered.spearman.rho));
      // One pair: no rho.
      const one = (await ok('/v1/scores/correlation?name=quality&x=latency_ms&model=m-b&metadata.customer_tier=gold')) as { n: number; spearman: { rho: number | null } };
      assert.deepEqual([one.n, one.spearman.rho], [1, null]);
    });

    it('reads the pairs of the newest `limit` scored requests and says whether older ones were left out', async () => {
      const all = (await ok('/v1/scores/correlation?name=quality&x=latency_ms')) as { n: number; window: { limit: number; truncated: boolean } };
      assert.deepEqual([all.n, all.window], [6, { limit: 10000, truncated: false }]);
      // The newest four (rows 2..5; the newer unscored request and the other workspace's are not
      // pairs): latency 500 750 1000 1250, score 40 30 50 50. Ranks 1 2 3 4 and 2 1 3.5 3.5, centred
      // on 2.5: dx = -1.5 -.5 .5 1.5, dy = -.5 -1.5 1 1: sum dx*dy = 3.5, sum dx^2 = 5, sum dy^2 = 4.5.
      const four = (await ok('/v1/scores/correlation?name=quality&x=latency_ms&limit=4')) as { n: number; window: { limit: number; truncated: boolean }; spearman: { rho: number }; bins: { x_min: number }[] };
      assert.deepEqual([four.n, four.window], [4, { limit: 4, truncated: true }]);
      assert.ok(Math.abs(four.spearman.rho - 3.5 / Math.sqrt(22.5)) < 1e-12, String(four.spearman.rho));
      assert.equal(Math.min(...four.bins.map((b) => b.x_min)), 500);
      const six = (await ok('/v1/scores/correlation?name=quality&x=latency_ms&limit=6')) as { n: number; window: { limit: number; truncated: boolean } };
      assert.deepEqual([six.n, six.window], [6, { limit: 6, truncated: false }]);
    });

    it('lists prompts with their versions, models, tags and metadata keys of this workspace only', async () => {
      const body = (await ok('/v1/requests/facets')) as Record<string, { values: unknown[]; truncated: boolean }>;
      assert.deepEqual(body.prompts, { values: [{ prompt_name: 'aaa', versions: [7] }, { prompt_name: 'greet', versions: [1, 2] }], truncated: false });
      assert.deepEqual(body.models!.values.filter((m) => m !== 'gpt-4o-mini'), ['m-a', 'm-b', 'm-unscored']);
      assert.deepEqual(body.tags, { values: ['eu', 'prod'], truncated: false });
      assert.deepEqual(body.metadata_keys, { values: ['customer_tier', 'plan', 'region', 'user'], truncated: false });
      assert.deepEqual(body.score_names, { values: ['many', 'quality'], truncated: false });
      const cut = (await ok('/v1/requests/facets?limit=1')) as Record<string, { values: unknown[]; truncated: boolean }>;
      assert.deepEqual(cut.tags, { values: ['eu'], truncated: true });
      assert.deepEqual(cut.prompts, { values: [{ prompt_name: 'aaa', versions: [7] }], truncated: true });
    });

    it('refuses bad input with a 400 naming the field', async () => {
      await bad('/v1/scores/stats?group_by=metadata.', 'group_by');
      await bad('/v1/scores/stats?group_by=meta.tier', 'group_by');
      await bad('/v1/scores/correlation?name=quality&x=speed', 'x');
      await bad('/v1/scores/correlation?name=quality', 'x');
      await bad('/v1/scores/correlation?name=quality&x=cost&bins=1', 'bins');
      await bad('/v1/scores/correlation?name=quality&x=cost&limit=1', 'limit');
      await bad('/v1/scores/correlation?name=quality&x=cost&limit=1000001', 'limit');
      await bad('/v1/scores/correlation?name=nope&x=cost', 'name');
      await bad('/v1/scores/correlation?name=quality&x=cost&min_latency=abc', 'min_latency');
      await bad('/v1/requests/facets?limit=0', 'limit');
      await bad('/v1/requests/facets?model=m-a', 'model');
    });
  });
}
