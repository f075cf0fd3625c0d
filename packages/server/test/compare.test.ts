import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from './helpers/backends.js';
import { createTestApp, logRequest, type TestApp } from './helpers/test-app.js';

interface Cohort {
  criteria: Record<string, string | number>;
  count: number;
  mean: number | null;
  stddev: number | null;
}
interface Comparison {
  success: true;
  name: string;
  test: string;
  confidence: number;
  a: Cohort;
  b: Cohort;
  difference: number | null;
  ci: { low: number; high: number } | null;
  t: number | null;
  df: number | null;
  p_value: number | null;
  verdict: string;
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const variance = (xs: number[]) => {
  const m = mean(xs);
  return xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1);
};
/** Welch's t statistic and Welch-Satterthwaite degrees of freedom of b against a, from the raw scores. */
function welch(a: number[], b: number[]) {
  const va = variance(a) / a.length;
  const vb = variance(b) / b.length;
  return { t: (mean(b) - mean(a)) / Math.sqrt(va + vb), df: (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1)) };
}
const near = (actual: number | null, expected: number, tolerance: number, what: string) => {
  assert.notEqual(actual, null, `${what} is null`);
  assert.ok(Math.abs(actual! - expected) <= tolerance, `${what}: ${actual} != ${expected}`);
};

// Cohorts with a clear difference (prompt version 2 better than 3), and two that barely differ.
const V2 = [70, 75, 80, 85, 90];
const V3 = [60, 62, 65, 58, 61, 64];
const SAME_A = [50, 52, 48, 51, 49, 50];
const SAME_B = [51, 49, 50, 52, 48, 50, 53];
// Reference values from SciPy 1.x: scipy.stats.ttest_ind(b, a, equal_var=False) and its
// confidence_interval(0.95), computed outside Tally.
const SCIPY_V3_VS_V2 = { t: -4.9692934659788826, df: 4.712925704190794, p: 0.004952603063736766, low: -27.993455524220092, high: -8.67321114244658 };
const SCIPY_SAME = { t: 0.49319696191607426, df: 10.992386843513948, p: 0.6315781056777643, low: -1.4841716335404913, high: 2.3413144906833523 };

const DAY1 = Date.UTC(2024, 0, 1) / 1000;
const DAY2 = Date.UTC(2024, 0, 2) / 1000;

for (const backend of BACKENDS) {
  describe(`GET /v1/scores/compare [${backend}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend);
      const items: { request_id: number; name: string; score: number }[] = [];
      const add = async (values: number[], fields: Record<string, unknown>, at: number, key?: string) => {
        for (const score of values) {
          const id = await logRequest(t, { request_start_time: at, request_end_time: at + 1, ...fields }, key);
          items.push({ request_id: id, name: 'quality', score });
        }
      };
      await add(V2, { prompt_name: 'summarize', prompt_version_number: 2, tags: ['v2'], model: 'gpt-a' }, DAY1);
      await add(V3, { prompt_name: 'summarize', prompt_version_number: 3, tags: ['v3'], model: 'gpt-b' }, DAY2);
      await add(SAME_A, { model: 'same-a' }, DAY1 - 86_400);
      await add(SAME_B, { model: 'same-b' }, DAY1 - 86_400);
      await add([77], { model: 'lonely' }, DAY1 - 86_400);
      await add([80, 80], { model: 'flat-a' }, DAY1 - 86_400);
      await add([80, 80, 80], { model: 'flat-b' }, DAY1 - 86_400);
      const res = await t.post('/v1/scores/batch', { items });
      assert.equal(res.statusCode, 200, res.body);

      // The other workspace has the same prompt versions with very different scores, and its own
      // score name: none of it may show up in alpha's comparisons.
      items.length = 0;
      await add([0, 0, 1], { prompt_name: 'summarize', prompt_version_number: 2 }, DAY1, t.other.key);
      const other = await t.post('/v1/scores/batch', { items: [...items, ...items.map((i) => ({ ...i, name: 'secret' }))] }, { key: t.other.key });
      assert.equal(other.statusCode, 200, other.body);
    });
    after(() => t.close());

    const compare = async (query: string, key?: string) => {
      const res = await t.get(`/v1/scores/compare?${query}`, { key });
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as Comparison;
    };

    function expectV3WorseThanV2(c: Comparison) {
      assert.equal(c.test, 'welch_t');
      assert.equal(c.confidence, 0.95);
      assert.equal(c.a.count, V2.length);
      assert.equal(c.b.count, V3.length);
      near(c.a.mean, mean(V2), 1e-9, 'mean a');
      near(c.b.mean, mean(V3), 1e-9, 'mean b');
      near(c.a.stddev, Math.sqrt(variance(V2)), 1e-9, 'stddev a');
      near(c.difference, mean(V3) - mean(V2), 1e-9, 'difference');
      const ref = welch(V2, V3);
      near(c.t, ref.t, 1e-9, 't');
      near(c.df, ref.df, 1e-9, 'df');
      near(c.t, SCIPY_V3_VS_V2.t, 1e-9, 't against SciPy');
      near(c.p_value, SCIPY_V3_VS_V2.p, 1e-9, 'p against SciPy');
      near(c.ci?.low ?? null, SCIPY_V3_VS_V2.low, 1e-6, 'ci low against SciPy');
      near(c.ci?.high ?? null, SCIPY_V3_VS_V2.high, 1e-6, 'ci high against SciPy');
      assert.equal(c.verdict, 'a_better');
    }

    it('compares two prompt versions with Welch t: means, difference, 95% interval, p-value and verdict', async () => {
      const c = await compare('name=quality&a.prompt_name=summarize&a.prompt_version=2&b.prompt_name=summarize&b.prompt_version=3');
      assert.equal(c.name, 'quality');
      assert.deepEqual(c.a.criteria, { prompt_name: 'summarize', prompt_version: 2 });
      assert.deepEqual(c.b.criteria, { prompt_name: 'summarize', prompt_version: 3 });
      expectV3WorseThanV2(c);
    });

    it('says b_better when the cohorts are swapped', async () => {
      const c = await compare('name=quality&a.prompt_version=3&b.prompt_version=2');
      near(c.t, -SCIPY_V3_VS_V2.t, 1e-9, 't');
      near(c.p_value, SCIPY_V3_VS_V2.p, 1e-9, 'p');
      assert.equal(c.verdict, 'b_better');
    });

    it('takes cohorts by model, by tag and by time range, with the same answer for the same scores', async () => {
      expectV3WorseThanV2(await compare('name=quality&a.model=gpt-a&b.model=gpt-b'));
      expectV3WorseThanV2(await compare('name=quality&a.tag=v2&b.tag=v3'));
      const range = `name=quality&a.from=${DAY1}&a.to=${DAY2}&b.from=${new Date(DAY2 * 1000).toISOString()}&b.to=${DAY2 + 86_400}`;
      expectV3WorseThanV2(await compare(range));
    });

    it('says no_significant_difference when p >= 0.05', async () => {
      const c = await compare('name=quality&a.model=same-a&b.model=same-b');
      near(c.t, SCIPY_SAME.t, 1e-9, 't');
      near(c.df, SCIPY_SAME.df, 1e-9, 'df');
      near(c.p_value, SCIPY_SAME.p, 1e-9, 'p');
      near(c.ci?.low ?? null, SCIPY_SAME.low, 1e-6, 'ci low');
      near(c.ci?.high ?? null, SCIPY_SAME.high, 1e-6, 'ci high');
      assert.equal(c.verdict, 'no_significant_difference');
    });

    it('says not_enough_data for a cohort of one score, and gives no test', async () => {
      const c = await compare('name=quality&a.model=lonely&b.model=same-b');
      assert.equal(c.verdict, 'not_enough_data');
      assert.equal(c.a.count, 1);
      assert.equal(c.a.mean, 77);
      assert.equal(c.a.stddev, null);
      near(c.difference, mean(SAME_B) - 77, 1e-9, 'difference');
      assert.equal(c.p_value, null);
      assert.equal(c.ci, null);
      assert.equal(c.t, null);
    });

    it('says not_enough_data for an empty cohort', async () => {
      const c = await compare('name=quality&a.model=nobody&b.model=same-b');
      assert.equal(c.verdict, 'not_enough_data');
      assert.deepEqual([c.a.count, c.a.mean, c.difference], [0, null, null]);
    });

    it('says not_enough_data when neither cohort has any variance', async () => {
      const c = await compare('name=quality&a.model=flat-a&b.model=flat-b');
      assert.equal(c.verdict, 'not_enough_data');
      assert.deepEqual([c.a.count, c.b.count, c.a.stddev, c.b.stddev, c.difference, c.p_value], [2, 3, 0, 0, 0, null]);
    });

    it("uses only the caller's workspace", async () => {
      const c = await compare('name=quality&a.prompt_version=2&b.prompt_version=3');
      assert.equal(c.a.count, V2.length);
      const theirs = await compare('name=quality&a.prompt_version=2&b.prompt_version=3', t.other.key);
      assert.deepEqual([theirs.a.count, theirs.b.count, theirs.verdict], [3, 0, 'not_enough_data']);
    });

    it('answers an unknown score name with 400 naming it, also when only another workspace has it', async () => {
      for (const name of ['nope', 'secret']) {
        const res = await t.get(`/v1/scores/compare?name=${name}&a.model=gpt-a&b.model=gpt-b`);
        assert.equal(res.statusCode, 400, res.body);
        assert.deepEqual(res.json(), { success: false, code: 'invalid_field', message: `name: no score named "${name}" in this workspace` });
      }
    });

    for (const [what, query, field] of [
      ['a missing name', 'a.model=gpt-a&b.model=gpt-b', 'name'],
      ['a cohort without criteria', 'name=quality&a.model=gpt-a', 'b'],
      ['an unknown cohort field', 'name=quality&a.version=2&b.prompt_version=3', 'a.version'],
      ['a prompt version that is not a number', 'name=quality&a.prompt_version=two&b.prompt_version=3', 'a.prompt_version'],
      ['a malformed time', 'name=quality&a.from=soon&b.model=gpt-b', 'a.from'],
      ['a time range that ends before it starts', `name=quality&a.from=${DAY2}&a.to=${DAY1}&b.model=gpt-b`, 'a.to'],
    ] as const) {
      it(`answers ${what} with 400 naming "${field}"`, async () => {
        const res = await t.get(`/v1/scores/compare?${query}`);
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(res.json().code, 'invalid_field');
        assert.ok((res.json().message as string).startsWith(`${field}:`), res.body);
      });
    }
  });
}
