import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from './helpers/backends.js';
import { createTestApp, logRequest, type TestApp } from './helpers/test-app.js';

interface Entry {
  name: string;
  group: Record<string, string | number | null> | null;
  count: number;
  mean: number | null;
  stddev: number | null;
  min: number | null;
  max: number | null;
  p50: number | null;
  p90: number | null;
  histogram: { from: number; to: number; count: number }[];
  series: { start: string; count: number; mean: number }[];
}

// Reference statistics, computed here from the raw scores the test inserted.
const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const sampleSd = (xs: number[]) => {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) * (x - m), 0) / (xs.length - 1));
};
/** Linear interpolation between closest ranks (the definition the API documents). */
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  const h = (s.length - 1) * p;
  const lo = Math.floor(h);
  return s[lo]! + (h - lo) * (s[Math.ceil(h)]! - s[lo]!);
};
const close = (actual: number | null, expected: number, what: string) => {
  assert.notEqual(actual, null, `${what} is null`);
  assert.ok(Math.abs(actual! - expected) < 1e-9, `${what}: ${actual} != ${expected}`);
};

const HOUR = 3_600_000;
const T0 = Date.UTC(2024, 0, 1, 0, 10); // 2024-01-01T00:10Z

interface Row {
  at: number;
  model: string;
  prompt: [string, number] | null;
  tags: string[];
  scores: Record<string, number>;
  text?: string;
}

// Histogram edges (0, 9, 10, 99, 100) and a spread of values, over three hours and two days.
const ROWS: Row[] = [
  { at: T0, model: 'm1', prompt: ['summarize', 1], tags: ['prod'], scores: { quality: 0, tone: 5 } },
  { at: T0 + 30 * 60_000, model: 'm1', prompt: ['summarize', 1], tags: ['prod', 'eu'], scores: { quality: 9 } },
  { at: T0 + HOUR, model: 'm1', prompt: ['summarize', 2], tags: ['prod'], scores: { quality: 10, tone: 50 } },
  { at: T0 + HOUR + 5 * 60_000, model: 'm2', prompt: ['summarize', 2], tags: [], scores: { quality: 99 } },
  { at: T0 + 2 * HOUR, model: 'm2', prompt: ['summarize', 2], tags: ['eu'], scores: { quality: 100, tone: 100 } },
  { at: T0 + 2 * HOUR + 1, model: 'm2', prompt: null, tags: ['eu'], scores: { quality: 50 }, text: 'needle in output' },
  { at: T0 + 26 * HOUR, model: 'm1', prompt: ['summarize', 1], tags: [], scores: { quality: 73 } },
  { at: T0 + 27 * HOUR, model: 'm2', prompt: ['summarize', 2], tags: ['prod'], scores: { quality: 21, tone: 21 } },
];

const valuesOf = (name: string, pick: (r: Row) => boolean = () => true) => ROWS.filter((r) => pick(r) && r.scores[name] !== undefined).map((r) => r.scores[name]!);

function expectSummary(e: Entry | undefined, xs: number[], what: string) {
  assert.ok(e, `${what}: no entry`);
  assert.equal(e.count, xs.length, `${what}: count`);
  close(e.mean, mean(xs), `${what}: mean`);
  if (xs.length > 1) close(e.stddev, sampleSd(xs), `${what}: stddev`);
  else assert.equal(e.stddev, null);
  assert.equal(e.min, Math.min(...xs));
  assert.equal(e.max, Math.max(...xs));
  close(e.p50, pct(xs, 0.5), `${what}: p50`);
  close(e.p90, pct(xs, 0.9), `${what}: p90`);
}

/** Logs ROWS in alpha with their scores, and one request with scores in the other workspace. */
async function seed(t: TestApp): Promise<void> {
  const items: { request_id: number; name: string; score: number }[] = [];
  for (const r of ROWS) {
    const id = await logRequest(t, {
      model: r.model,
      tags: r.tags,
      request_start_time: r.at / 1000,
      request_end_time: r.at / 1000 + 1,
      ...(r.prompt ? { prompt_name: r.prompt[0], prompt_version_number: r.prompt[1] } : {}),
      ...(r.text ? { output: { type: 'chat', messages: [{ role: 'assistant', content: [{ type: 'text', text: r.text }] }] } } : {}),
    });
    for (const [name, score] of Object.entries(r.scores)) items.push({ request_id: id, name, score });
  }
  const res = await t.post('/v1/scores/batch', { items });
  assert.equal(res.statusCode, 200, res.body);
  // Another workspace with the same score names: none of it may leak into alpha's statistics.
  const foreign = await logRequest(t, { model: 'm1', request_start_time: T0 / 1000, request_end_time: T0 / 1000 + 1 }, t.other.key);
  const f = await t.post('/v1/scores/batch', { items: [{ request_id: foreign, name: 'quality', score: 1 }, { request_id: foreign, name: 'secret', score: 2 }] }, { key: t.other.key });
  assert.equal(f.statusCode, 200, f.body);
}

for (const backend of BACKENDS) {
  describe(`GET /v1/scores/stats [${backend}]`, () => {
    let t: TestApp;
    before(async () => {
      t = await createTestApp(backend);
      await seed(t);
    });
    after(() => t.close());

    const stats = async (query: string, key?: string) => {
      const res = await t.get(`/v1/scores/stats${query ? `?${query}` : ''}`, { key });
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as { stddev: string; percentiles: string; interval: string; group_by: string | null; scores: Entry[] };
    };
    const entry = (body: { scores: Entry[] }, name: string, group: Entry['group'] = null) =>
      body.scores.find((e) => e.name === name && JSON.stringify(e.group) === JSON.stringify(group));

    it('gives count, mean, sample stddev, min, max, p50 and p90 per score name, as computed from the raw scores', async () => {
      const body = await stats('');
      assert.equal(body.stddev, 'sample');
      assert.equal(body.percentiles, 'linear');
      assert.deepEqual(body.scores.map((e) => e.name), ['quality', 'tone']);
      expectSummary(entry(body, 'quality'), valuesOf('quality'), 'quality');
      expectSummary(entry(body, 'tone'), valuesOf('tone'), 'tone');
    });

    it('puts 0 and 9 in [0,10), 10 in [10,20), and both 99 and 100 in the last bucket [90,100]', async () => {
      const body = await stats('name=quality');
      assert.equal(body.scores.length, 1);
      const h = body.scores[0]!.histogram;
      assert.equal(h.length, 10);
      assert.deepEqual(h.map((b) => [b.from, b.to]), Array.from({ length: 10 }, (_, i) => [i * 10, i * 10 + 10]));
      const expected = new Array<number>(10).fill(0);
      for (const v of valuesOf('quality')) expected[v === 100 ? 9 : Math.floor(v / 10)]!++;
      assert.deepEqual(h.map((b) => b.count), expected);
      assert.deepEqual(expected, [2, 1, 1, 0, 0, 1, 0, 1, 0, 2]);
    });

    it('takes another bucket count: 4 buckets of 25, the last closed at 100', async () => {
      const body = await stats('name=quality&buckets=4');
      const h = body.scores[0]!.histogram;
      assert.deepEqual(h.map((b) => [b.from, b.to]), [[0, 25], [25, 50], [50, 75], [75, 100]]);
      // 0 9 10 21 | - | 50 73 | 99 100
      assert.deepEqual(h.map((b) => b.count), [4, 0, 2, 2]);
    });

    it('gives a series of count and mean per UTC hour of the request start time', async () => {
      const body = await stats('name=quality&interval=hour');
      assert.equal(body.interval, 'hour');
      const expected = new Map<number, number[]>();
      for (const r of ROWS) {
        const start = r.at - (r.at % HOUR);
        expected.set(start, [...(expected.get(start) ?? []), r.scores.quality!]);
      }
      const series = body.scores[0]!.series;
      assert.deepEqual(
        series.map((p) => [p.start, p.count]),
        [...expected.entries()].sort((a, b) => a[0] - b[0]).map(([s, xs]) => [new Date(s).toISOString(), xs.length]),
      );
      for (const p of series) close(p.mean, mean(expected.get(Date.parse(p.start))!), `mean at ${p.start}`);
      assert.deepEqual(series.slice(0, 3).map((p) => p.start), ['2024-01-01T00:00:00.000Z', '2024-01-01T01:00:00.000Z', '2024-01-01T02:00:00.000Z']);
    });

    it('gives a series by UTC day, the default interval', async () => {
      const body = await stats('name=quality');
      assert.equal(body.interval, 'day');
      const day1 = valuesOf('quality', (r) => r.at < Date.UTC(2024, 0, 2));
      const day2 = valuesOf('quality', (r) => r.at >= Date.UTC(2024, 0, 2));
      const series = body.scores[0]!.series;
      assert.deepEqual(series.map((p) => [p.start, p.count]), [['2024-01-01T00:00:00.000Z', day1.length], ['2024-01-02T00:00:00.000Z', day2.length]]);
      close(series[0]!.mean, mean(day1), 'day 1 mean');
      close(series[1]!.mean, mean(day2), 'day 2 mean');
    });

    it('groups by prompt name and version, requests without a prompt first', async () => {
      const body = await stats('name=quality&group_by=prompt');
      assert.equal(body.group_by, 'prompt');
      assert.deepEqual(
        body.scores.map((e) => [e.group, e.count]),
        [
          [{ prompt_name: null, prompt_version: null }, 1],
          [{ prompt_name: 'summarize', prompt_version: 1 }, 3],
          [{ prompt_name: 'summarize', prompt_version: 2 }, 4],
        ],
      );
      expectSummary(entry(body, 'quality', { prompt_name: 'summarize', prompt_version: 2 }), valuesOf('quality', (r) => r.prompt?.[1] === 2), 'v2');
      expectSummary(entry(body, 'quality', { prompt_name: 'summarize', prompt_version: 1 }), valuesOf('quality', (r) => r.prompt?.[1] === 1), 'v1');
    });

    it('groups by model', async () => {
      const body = await stats('group_by=model');
      assert.deepEqual(body.scores.map((e) => [e.name, e.group]), [
        ['quality', { model: 'm1' }],
        ['quality', { model: 'm2' }],
        ['tone', { model: 'm1' }],
        ['tone', { model: 'm2' }],
      ]);
      for (const m of ['m1', 'm2']) {
        expectSummary(entry(body, 'quality', { model: m }), valuesOf('quality', (r) => r.model === m), `quality ${m}`);
        expectSummary(entry(body, 'tone', { model: m }), valuesOf('tone', (r) => r.model === m), `tone ${m}`);
      }
      // The histogram and the series are per group too.
      const m2 = entry(body, 'quality', { model: 'm2' })!;
      assert.equal(m2.histogram.reduce((s, b) => s + b.count, 0), m2.count);
      assert.equal(m2.series.reduce((s, p) => s + p.count, 0), m2.count);
    });

    it('groups by tag: a request counts under each of its tags, untagged ones under tag null', async () => {
      const body = await stats('name=quality&group_by=tag');
      const byTag = Object.fromEntries(body.scores.map((e) => [String(e.group!.tag), e]));
      // Untagged first, then by tag, on both backends (PostgreSQL sorts NULL last by default).
      assert.deepEqual(body.scores.map((e) => e.group!.tag), [null, 'eu', 'prod']);
      assert.deepEqual(Object.keys(byTag).sort(), ['eu', 'null', 'prod']);
      expectSummary(byTag.prod, valuesOf('quality', (r) => r.tags.includes('prod')), 'prod');
      expectSummary(byTag.eu, valuesOf('quality', (r) => r.tags.includes('eu')), 'eu');
      expectSummary(byTag.null, valuesOf('quality', (r) => r.tags.length === 0), 'untagged');
    });

    it('applies the filters: time range, model, prompt version, tag, a JSON filter and text', async () => {
      const cases: [string, (r: Row) => boolean][] = [
        [`from=${new Date(T0 + HOUR).toISOString()}&to=${(T0 + 26 * HOUR) / 1000}`, (r) => r.at >= T0 + HOUR && r.at < T0 + 26 * HOUR],
        ['model=m2', (r) => r.model === 'm2'],
        ['prompt_name=summarize&prompt_version=1', (r) => r.prompt?.[1] === 1],
        ['tag=eu', (r) => r.tags.includes('eu')],
        [`filter=${encodeURIComponent(JSON.stringify({ field: 'score', name: 'tone', op: '>=', value: 50 }))}`, (r) => (r.scores.tone ?? -1) >= 50],
        [`filter=${encodeURIComponent(JSON.stringify({ logic: 'or', filters: [{ field: 'model', op: '=', value: 'm1' }, { field: 'tags', op: 'any', value: ['eu'] }] }))}`, (r) => r.model === 'm1' || r.tags.includes('eu')],
        ['q=needle', (r) => r.text !== undefined],
        // The query-parameter filters of GET /v1/requests/search mean the same here.
        ['score.tone=gte:50', (r) => (r.scores.tone ?? -1) >= 50],
        ['has_score=tone', (r) => r.scores.tone !== undefined],
        ['no_score=tone', (r) => r.scores.tone === undefined],
        ['tag=prod&tag=eu&tag_match=any', (r) => r.tags.includes('prod') || r.tags.includes('eu')],
        ['model=m1&model=m2&prompt_version=2', (r) => r.prompt?.[1] === 2],
      ];
      for (const [query, pick] of cases) {
        const body = await stats(`name=quality&${query}`);
        expectSummary(entry(body, 'quality'), valuesOf('quality', pick), query);
      }
      const none = await stats('name=quality&model=nothing-like-this');
      assert.deepEqual(none.scores, []);
    });

    it("sees only the caller's workspace", async () => {
      const alpha = await stats('');
      assert.ok(!alpha.scores.some((e) => e.name === 'secret'));
      assert.equal(entry(alpha, 'quality')!.count, valuesOf('quality').length);
      const other = await stats('', t.other.key);
      assert.deepEqual(other.scores.map((e) => [e.name, e.count, e.mean]), [['quality', 1, 1], ['secret', 1, 2]]);
      const res = await t.get('/v1/scores/stats?name=secret');
      assert.equal(res.statusCode, 400);
      assert.ok((res.json().message as string).startsWith('name:'), res.body);
    });

    for (const [what, query, field] of [
      ['an unknown score name', 'name=nope', 'name'],
      ['buckets=0', 'buckets=0', 'buckets'],
      ['buckets=101', 'buckets=101', 'buckets'],
      ['interval=week', 'interval=week', 'interval'],
      ['group_by=color', 'group_by=color', 'group_by'],
      ['an unknown parameter', 'colour=red', 'colour'],
      ['a filter that is not JSON', 'filter=%7Bnope', 'filter'],
      ['a filter with an unknown field', `filter=${encodeURIComponent('{"field":"colour","op":"=","value":1}')}`, 'filter'],
      ['a malformed from', 'from=yesterday', 'from'],
      ['to before from', 'from=1700000000&to=1600000000', 'to'],
    ] as const) {
      it(`answers ${what} with 400 naming "${field}"`, async () => {
        const res = await t.get(`/v1/scores/stats?${query}`);
        assert.equal(res.statusCode, 400, res.body);
        assert.equal(res.json().code, 'invalid_field');
        assert.ok((res.json().message as string).startsWith(field), res.body);
      });
    }

    it('refuses a call without a key with 401', async () => {
      const res = await t.get('/v1/scores/stats', { key: null });
      assert.equal(res.statusCode, 401);
    });
  });
}

if (BACKENDS.includes('sqlite') && BACKENDS.includes('postgres')) {
  describe('GET /v1/scores/stats gives identical answers on SQLite and PostgreSQL', () => {
    const apps: TestApp[] = [];
    before(async () => {
      for (const backend of ['sqlite', 'postgres'] as const) {
        const t = await createTestApp(backend);
        apps.push(t);
        await seed(t);
      }
    });
    after(async () => {
      for (const t of apps) await t.close();
    });

    for (const query of ['', 'interval=hour', 'group_by=prompt', 'group_by=model&buckets=7', 'group_by=tag&interval=hour', 'name=quality&tag=prod']) {
      it(`for "${query}"`, async () => {
        const [a, b] = await Promise.all(apps.map((t) => t.get(`/v1/scores/stats?${query}`)));
        assert.equal(a!.statusCode, 200, a!.body);
        assert.equal(b!.statusCode, 200, b!.body);
        assert.deepEqual(a!.json(), b!.json());
      });
    }
  });
}
