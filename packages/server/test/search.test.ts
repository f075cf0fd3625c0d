import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from './helpers/backends.js';
import { BASE, bulkInsert, loadFixture, score, type Fixture } from './helpers/search-fixtures.js';
import { createTestApp, logRequest, type TestApp } from './helpers/test-app.js';

interface Item {
  id: number;
  scores: Record<string, number>;
  tags: string[];
  metadata: Record<string, string>;
  [k: string]: unknown;
}
interface Page {
  success: true;
  items: Item[];
  next_cursor: string | null;
  has_more: boolean;
}

const iso = (s: number) => new Date(s * 1000).toISOString();

for (const backend of BACKENDS) {
  describe(`POST/GET /v1/requests/search [${backend}]`, () => {
    let t: TestApp;
    let f: Fixture;
    let r: number[];
    before(async () => {
      t = await createTestApp(backend);
      f = await loadFixture(t);
      r = f.r;
    });
    after(() => t.close());

    const search = async (body: Record<string, unknown>, key?: string): Promise<Page> => {
      const res = await t.post('/v1/requests/search', body, { key });
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as Page;
    };
    /** The ids matching a filter, among the five fixture requests (other tests add more rows). */
    const ids = async (filter: unknown): Promise<number[]> => {
      const page = await search({ filter: { logic: 'and', filters: [filter, { field: 'id', op: 'in', value: r.slice(1) }] }, limit: 500 });
      return page.items.map((i) => i.id).sort((a, b) => a - b);
    };
    const expect = (...n: number[]) => n.map((i) => r[i]!).sort((a, b) => a - b);

    const cases: [string, unknown, number[]][] = [
      // Named scores: quality is 90, 40, 70, none, 90.
      ['score quality >= 70', { field: 'score', name: 'quality', op: '>=', value: 70 }, [1, 3, 5]],
      ['score quality = 90', { field: 'score', name: 'quality', op: '=', value: 90 }, [1, 5]],
      ['score quality != 90 (the complement: unscored included)', { field: 'score', name: 'quality', op: '!=', value: 90 }, [2, 3, 4]],
      ['score quality < 70', { field: 'score', name: 'quality', op: '<', value: 70 }, [2]],
      ['score quality <= 70', { field: 'score', name: 'quality', op: '<=', value: 70 }, [2, 3]],
      ['score quality > 40', { field: 'score', name: 'quality', op: '>', value: 40 }, [1, 3, 5]],
      ['score quality between 40 and 70', { field: 'score', name: 'quality', op: 'between', value: [40, 70] }, [2, 3]],
      ['score quality with word operator gte', { field: 'score', name: 'quality', op: 'gte', value: 90 }, [1, 5]],
      ['has score quality', { field: 'score', name: 'quality', op: 'exists' }, [1, 2, 3, 5]],
      ['has no score quality', { field: 'score', name: 'quality', op: 'not_exists' }, [4]],
      ['score without a name means "default" (50, -, 80, -, 20)', { field: 'score', op: '>=', value: 50 }, [1, 3]],
      ['score in a list', { field: 'score', name: 'quality', op: 'in', value: [40, 70] }, [2, 3]],
      // Tags: [prod, eu], [prod], [eu], [], [staging].
      ['tags any of eu, staging', { field: 'tags', op: 'any', value: ['eu', 'staging'] }, [1, 3, 5]],
      ['tags all of prod, eu', { field: 'tags', op: 'all', value: ['prod', 'eu'] }, [1]],
      ['tags none of prod', { field: 'tags', op: 'none', value: ['prod'] }, [3, 4, 5]],
      ['no tags at all', { field: 'tags', op: 'empty' }, [4]],
      ['some tag', { field: 'tags', op: 'not_empty' }, [1, 2, 3, 5]],
      // Metadata team: search, ranking, -, search, search-infra.
      ['metadata team = search', { field: 'metadata', key: 'team', op: '=', value: 'search' }, [1, 4]],
      ['metadata team != search', { field: 'metadata', key: 'team', op: '!=', value: 'search' }, [2, 3, 5]],
      ['metadata has key team', { field: 'metadata', key: 'team', op: 'exists' }, [1, 2, 4, 5]],
      ['metadata lacks key team', { field: 'metadata', key: 'team', op: 'not_exists' }, [3]],
      ['metadata team contains search', { field: 'metadata', key: 'team', op: 'contains', value: 'search' }, [1, 4, 5]],
      ['metadata team starts with search-', { field: 'metadata', key: 'team', op: 'starts_with', value: 'search-' }, [5]],
      ['metadata team in ranking, search', { field: 'metadata', key: 'team', op: 'in', value: ['ranking', 'search'] }, [1, 2, 4]],
      ['metadata env = prod', { field: 'metadata', key: 'env', op: '=', value: 'prod' }, [1]],
      // Columns.
      ['provider = anthropic', { field: 'provider', op: '=', value: 'anthropic' }, [3, 4]],
      ['model in gpt-4o, claude-3', { field: 'model', op: 'in', value: ['gpt-4o', 'claude-3'] }, [1, 3, 4, 5]],
      ['model not in gpt-4o', { field: 'model', op: 'not_in', value: ['gpt-4o'] }, [2, 3, 4]],
      ['model starts with gpt', { field: 'model', op: 'starts_with', value: 'gpt' }, [1, 2, 5]],
      ['model contains MINI (ignoring case)', { field: 'model', op: 'contains', value: 'MINI' }, [2]],
      ['model ends with 4o', { field: 'model', op: 'ends_with', value: '4o' }, [1, 5]],
      ['model does not contain gpt', { field: 'model', op: 'not_contains', value: 'gpt' }, [3, 4]],
      ['prompt_name = summarize', { field: 'prompt_name', op: '=', value: 'summarize' }, [1, 2, 4]],
      ['prompt_name != summarize (requests without a prompt included)', { field: 'prompt_name', op: '!=', value: 'summarize' }, [3, 5]],
      ['no prompt_name', { field: 'prompt_name', op: 'not_exists' }, [3, 5]],
      ['prompt_version = 2', { field: 'prompt_version', op: '=', value: 2 }, [2, 4]],
      ['prompt_version < 2', { field: 'prompt_version', op: '<', value: 2 }, [1]],
      ['status = ERROR', { field: 'status', op: '=', value: 'ERROR' }, [2]],
      ['status given in lower case', { field: 'status', op: '=', value: 'error' }, [2]],
      ['status in WARNING, ERROR', { field: 'status', op: 'in', value: ['WARNING', 'ERROR'] }, [2, 4]],
      ['error_type = PROVIDER_ERROR', { field: 'error_type', op: '=', value: 'PROVIDER_ERROR' }, [2]],
      // Time range, latency, cost, tokens.
      ['request_start_time between two ISO times', { field: 'request_start_time', op: 'between', value: [iso(BASE + 20), iso(BASE + 40)] }, [2, 3, 4]],
      ['request_start_time >= epoch seconds', { field: 'request_start_time', op: '>=', value: BASE + 40 }, [4, 5]],
      ['request_start_time < ISO', { field: 'request_start_time', op: '<', value: iso(BASE + 20) }, [1]],
      ['request_end_time > epoch seconds', { field: 'request_end_time', op: '>', value: BASE + 42 }, [5]],
      ['latency_ms > 1500', { field: 'latency_ms', op: '>', value: 1500 }, [2, 4]],
      ['latency_ms <= 1000', { field: 'latency_ms', op: '<=', value: 1000 }, [1, 3]],
      ['cost >= 0.1', { field: 'cost', op: '>=', value: 0.1 }, [2, 5]],
      ['price = 0', { field: 'price', op: '=', value: 0 }, [4]],
      ['tokens >= 100 (input + output)', { field: 'tokens', op: '>=', value: 100 }, [2, 5]],
      ['input_tokens = 20', { field: 'input_tokens', op: '=', value: 20 }, [3]],
      ['output_tokens < 5', { field: 'output_tokens', op: '<', value: 5 }, [4]],
      // Text over input and output.
      ['text contains hello (input)', { field: 'text', op: 'contains', value: 'HELLO' }, [1]],
      ['text contains a quote', { field: 'text', op: 'contains', value: 'said "hi"' }, [3]],
      ['text contains a newline', { field: 'text', op: 'contains', value: 'left\nnew' }, [3]],
      ['text contains % and _ literally', { field: 'text', op: 'contains', value: '0% sure_' }, [4]],
      ['text "%" alone is not a wildcard', { field: 'text', op: 'contains', value: '%' }, [4]],
      ['input contains traduire: no (it is in the output)', { field: 'input', op: 'contains', value: 'traduire' }, []],
      ['output contains traduire', { field: 'output', op: 'contains', value: 'traduire' }, [5]],
      ['text does not contain hello', { field: 'text', op: 'not_contains', value: 'hello' }, [2, 3, 4, 5]],
      // Groups.
      [
        'nested OR of AND',
        { logic: 'or', filters: [{ field: 'provider', op: '=', value: 'anthropic' }, { logic: 'and', filters: [{ field: 'tags', op: 'any', value: ['prod'] }, { field: 'score', name: 'quality', op: '>=', value: 80 }] }] },
        [1, 3, 4],
      ],
      ['AND given in upper case', { logic: 'AND', filters: [{ field: 'model', op: '=', value: 'gpt-4o' }, { field: 'score', name: 'default', op: '<', value: 30 }] }, [5]],
      ['an empty AND group matches everything', { logic: 'and', filters: [] }, [1, 2, 3, 4, 5]],
      ['an empty OR group matches nothing', { logic: 'or', filters: [] }, []],
    ];
    for (const [what, filter, expected] of cases) {
      it(`filters: ${what}`, async () => {
        assert.deepEqual(await ids(filter), expect(...expected));
      });
    }

    it('q searches input and output text', async () => {
      const page = await search({ q: 'greetings' });
      assert.deepEqual(page.items.map((i) => i.id), [r[1]]);
    });

    it('items carry scores, tags, metadata and the request fields', async () => {
      const page = await search({ filter: { field: 'id', op: '=', value: r[1] } });
      assert.equal(page.items.length, 1);
      const item = page.items[0]!;
      assert.deepEqual(item.scores, { default: 50, quality: 90 });
      assert.deepEqual(item.tags, ['eu', 'prod']);
      assert.deepEqual(item.metadata, { env: 'prod', team: 'search' });
      assert.equal(item.provider, 'openai');
      assert.equal(item.model, 'gpt-4o');
      assert.equal(item.prompt_name, 'summarize');
      assert.equal(item.prompt_version, 1);
      assert.equal(item.tokens, 15);
      assert.equal(item.price, 0.01);
      assert.equal(item.latency_ms, 1000);
      assert.equal(item.request_start_time, iso(BASE + 10));
      assert.equal(item.status, 'SUCCESS');
      assert.equal('input' in item, false);
      assert.equal(page.next_cursor, null);
      assert.equal(page.has_more, false);
    });

    describe('sorting', () => {
      const order = async (sort_by?: string, sort_order?: string) => {
        const page = await search({ filter: { field: 'id', op: 'in', value: r.slice(1) }, ...(sort_by ? { sort_by } : {}), ...(sort_order ? { sort_order } : {}) });
        return page.items.map((i) => r.indexOf(i.id));
      };
      it('defaults to request time, newest first', async () => assert.deepEqual(await order(), [5, 4, 3, 2, 1]));
      it('by request time ascending', async () => assert.deepEqual(await order('request_start_time', 'asc'), [1, 2, 3, 4, 5]));
      it('by latency ascending', async () => assert.deepEqual(await order('latency_ms', 'asc'), [3, 1, 5, 4, 2]));
      it('by cost descending', async () => assert.deepEqual(await order('cost', 'desc'), [2, 5, 3, 1, 4]));
      it('by tokens descending', async () => assert.deepEqual(await order('tokens'), [2, 5, 3, 1, 4]));
      it('by a named score descending: ties by id, unscored last', async () => assert.deepEqual(await order('score.quality', 'desc'), [5, 1, 3, 2, 4]));
      it('by a named score ascending: unscored still last', async () => assert.deepEqual(await order('score.quality', 'asc'), [2, 3, 1, 5, 4]));
      it('by "score" means the default score', async () => assert.deepEqual(await order('score'), [3, 1, 5, 4, 2]));
      it('by status', async () => assert.deepEqual(await order('status', 'asc'), [2, 1, 3, 5, 4]));
    });

    describe('cursor paging', () => {
      const all = async (body: Record<string, unknown>, limit: number): Promise<number[]> => {
        const out: number[] = [];
        let cursor: string | null = null;
        for (let guard = 0; guard < 100; guard++) {
          const page: Page = await search({ ...body, limit, ...(cursor ? { cursor } : {}) });
          assert.ok(page.items.length <= limit);
          out.push(...page.items.map((i) => i.id));
          assert.equal(page.has_more, page.next_cursor !== null);
          if (!page.next_cursor) return out;
          cursor = page.next_cursor;
        }
        throw new Error('paging did not end');
      };

      const sorts: [string, string][] = [];
      for (const by of ['request_start_time', 'latency_ms', 'cost', 'tokens', 'input_tokens', 'output_tokens', 'status', 'score.quality', 'score', 'score.missing']) {
        for (const dir of ['asc', 'desc']) sorts.push([by, dir]);
      }
      for (const [by, dir] of sorts) {
        it(`pages by ${by} ${dir} give the unpaged order, at every page size`, async () => {
          const body = { filter: { field: 'id', op: 'in', value: r.slice(1) }, sort_by: by, sort_order: dir };
          const whole = (await search(body)).items.map((i) => i.id);
          assert.equal(whole.length, 5);
          for (const limit of [1, 2, 3, 5]) assert.deepEqual(await all(body, limit), whole, `limit ${limit}`);
        });
      }

      it('pages through ties on the sort key by id, without duplicates or gaps', async () => {
        const tied = await bulkInsert(t, 7, 'tie', BASE + 5_000, () => ({ request_start_time: BASE + 5_000, request_end_time: BASE + 5_001 }));
        const got = await all({ filter: { field: 'tags', op: 'any', value: ['tie'] } }, 2);
        assert.deepEqual(got, [...tied].sort((a, b) => b - a));
      });

      it('stays stable while new requests arrive between pages', async () => {
        const start = BASE + 10_000;
        const original = await bulkInsert(t, 6, 'arrive', start);
        const body = { filter: { field: 'tags', op: 'any', value: ['arrive'] }, limit: 2 };
        const first = await search(body);
        assert.deepEqual(first.items.map((i) => i.id), [original[5], original[4]]);
        // Newer, older and tied with the last row seen: none may shift what the next pages hold.
        const newer = await logRequest(t, { tags: ['arrive'], request_start_time: start + 100, request_end_time: start + 101 });
        const older = await logRequest(t, { tags: ['arrive'], request_start_time: start - 100, request_end_time: start - 99 });
        const tiedWithSeen = await logRequest(t, { tags: ['arrive'], request_start_time: start + 4, request_end_time: start + 5 });
        const rest: number[] = [];
        let cursor = first.next_cursor;
        while (cursor) {
          const page = await search({ ...body, cursor });
          rest.push(...page.items.map((i) => i.id));
          cursor = page.next_cursor;
        }
        const seen = [...first.items.map((i) => i.id), ...rest];
        assert.equal(new Set(seen).size, seen.length, 'no request twice');
        for (const id of original) assert.equal(seen.filter((s) => s === id).length, 1, `original ${id} exactly once`);
        assert.ok(!seen.includes(newer), 'a newer request is before the cursor');
        assert.ok(seen.includes(older), 'an older request is after the cursor');
        // Same start time as the last row seen but a higher id: it sorts before it in desc order.
        assert.ok(!seen.includes(tiedWithSeen));
      });

      it('stays stable by score while new scored and unscored requests arrive', async () => {
        const start = BASE + 20_000;
        const original = await bulkInsert(t, 6, 'arrive-score', start);
        for (const [i, id] of original.entries()) if (i < 4) await score(t, id, 'rank', 10 * (i % 2));
        // rank: 0, 10, 0, 10, -, -  -> desc: [3, 1] (10s by id desc), [2, 0], then unscored [5, 4]
        const body = { filter: { field: 'tags', op: 'any', value: ['arrive-score'] }, sort_by: 'score.rank', limit: 2 };
        const first = await search(body);
        assert.deepEqual(first.items.map((i) => i.id), [original[3], original[1]]);
        const low = await logRequest(t, { tags: ['arrive-score'] });
        await score(t, low, 'rank', 5);
        const high = await logRequest(t, { tags: ['arrive-score'] });
        await score(t, high, 'rank', 99);
        const unscored = await logRequest(t, { tags: ['arrive-score'] });
        const rest: number[] = [];
        let cursor = first.next_cursor;
        while (cursor) {
          const page = await search({ ...body, cursor });
          rest.push(...page.items.map((i) => i.id));
          cursor = page.next_cursor;
        }
        assert.deepEqual(rest, [low, original[2], original[0], unscored, original[5], original[4]]);
        assert.ok(!rest.includes(high));
      });

      it('pages by a score filtered on that same score give every match once, in order', async () => {
        // The range of a filter on the sorted score bounds the index walk, and a filter that needs
        // the score skips the unscored phase: every shape of test must still give exactly the matches.
        const ids = await bulkInsert(t, 14, 'band', BASE + 40_000);
        const band = new Map<number, number>();
        for (const [i, id] of ids.entries()) {
          if (i % 5 === 4) continue; // unscored
          const v = [10, 40, 40, 55, 60, 60, 90, 100, 0, 70, 55, 30][band.size]!;
          band.set(id, v);
          await score(t, id, 'band', v);
        }
        const tag = { field: 'tags', op: 'any', value: ['band'] };
        const s = (op: string, value?: unknown) => ({ field: 'score', name: 'band', op, ...(value === undefined ? {} : { value }) });
        const cases: [string, unknown, (v: number | undefined) => boolean][] = [
          ['between', s('between', [40, 60]), (v) => v !== undefined && v >= 40 && v <= 60],
          ['>=', s('>=', 60), (v) => v !== undefined && v >= 60],
          ['<', s('<', 55), (v) => v !== undefined && v < 55],
          ['=', s('=', 40), (v) => v === 40],
          ['in', s('in', [0, 55, 100]), (v) => v === 0 || v === 55 || v === 100],
          ['exists', s('exists'), (v) => v !== undefined],
          ['!= (unscored included)', s('!=', 60), (v) => v !== 60],
          ['not_exists', s('not_exists'), (v) => v === undefined],
          ['two ranges', { logic: 'and', filters: [s('>', 10), { logic: 'and', filters: [s('<=', 90)] }] }, (v) => v !== undefined && v > 10 && v <= 90],
          ['a range inside OR (not a bound)', { logic: 'or', filters: [s('>=', 90), s('not_exists')] }, (v) => v === undefined || v >= 90],
        ];
        for (const [what, filter, keep] of cases) {
          for (const dir of ['desc', 'asc'] as const) {
            const sign = dir === 'desc' ? -1 : 1;
            const matching = ids.filter((id) => keep(band.get(id)));
            const scored = matching.filter((id) => band.has(id)).sort((a, b) => sign * (band.get(a)! - band.get(b)! || a - b));
            const unscored = matching.filter((id) => !band.has(id)).sort((a, b) => sign * (a - b));
            const body = { filter: { logic: 'and', filters: [tag, filter] }, sort_by: 'score.band', sort_order: dir };
            for (const limit of [1, 3, 50]) assert.deepEqual(await all(body, limit), [...scored, ...unscored], `${what}, ${dir}, limit ${limit}`);
          }
        }
      });

      it('serves at most 500 items a page, 50 by default', async () => {
        await bulkInsert(t, 520, 'bulk', BASE + 30_000);
        const filter = { field: 'tags', op: 'any', value: ['bulk'] };
        const dflt = await search({ filter });
        assert.equal(dflt.items.length, 50);
        assert.equal(dflt.has_more, true);
        const max = await search({ filter, limit: 500 });
        assert.equal(max.items.length, 500);
        const rest = await search({ filter, limit: 500, cursor: max.next_cursor });
        assert.equal(rest.items.length, 20);
        assert.equal(rest.next_cursor, null);
        const over = await t.post('/v1/requests/search', { filter, limit: 501 });
        assert.equal(over.statusCode, 400);
        assert.match(over.json().message, /^limit: /);
      });
    });

    describe('GET with query parameters', () => {
      const get = async (qs: string, key?: string) => {
        const res = await t.get(`/v1/requests/search?${qs}`, { key });
        assert.equal(res.statusCode, 200, res.body);
        return res.json() as Page;
      };
      const getIds = async (qs: string) => {
        const scoped = `${qs}&filter=${encodeURIComponent(JSON.stringify({ field: 'id', op: 'in', value: r.slice(1) }))}&limit=500`;
        return (await get(scoped)).items.map((i) => i.id).sort((a, b) => a - b);
      };
      const cases: [string, number[]][] = [
        ['score.quality=gte:70', [1, 3, 5]],
        ['score.quality=90', [1, 5]],
        ['score.quality=between:40,70', [2, 3]],
        [`score.quality=${encodeURIComponent('<=')}:70`, [2, 3]],
        ['score.quality=not_exists', [4]],
        ['has_score=quality&has_score=default', [1, 3, 5]],
        ['no_score=default', [2, 4]],
        ['tag=prod&tag=eu', [1]],
        ['tag=eu&tag=staging&tag_match=any', [1, 3, 5]],
        ['metadata.team=search', [1, 4]],
        ['metadata.team=search&metadata.team=ranking', [1, 2, 4]],
        ['has_metadata=env', [1]],
        ['provider=anthropic', [3, 4]],
        ['model=gpt-4o&model=claude-3', [1, 3, 4, 5]],
        ['prompt_name=summarize&prompt_version=2', [2, 4]],
        ['status=error', [2]],
        [`from=${BASE + 20}&to=${encodeURIComponent(iso(BASE + 40))}`, [2, 3]],
        ['min_latency_ms=1000&max_latency_ms=2000', [1, 4, 5]],
        ['min_cost=0.05&max_cost=0.1', [3, 5]],
        ['min_tokens=40', [2, 3, 5]],
        ['max_tokens=15', [1, 4]],
        ['q=hello', [1]],
      ];
      for (const [qs, expected] of cases) {
        it(`filters: ${decodeURIComponent(qs)}`, async () => {
          assert.deepEqual(await getIds(qs), expect(...expected));
        });
      }

      it('sorts and pages like POST', async () => {
        const filter = encodeURIComponent(JSON.stringify({ field: 'id', op: 'in', value: r.slice(1) }));
        const first = await get(`filter=${filter}&sort_by=score.quality&sort_order=asc&limit=3`);
        assert.deepEqual(first.items.map((i) => r.indexOf(i.id)), [2, 3, 1]);
        const second = await get(`filter=${filter}&sort_by=score.quality&sort_order=asc&limit=3&cursor=${first.next_cursor}`);
        assert.deepEqual(second.items.map((i) => r.indexOf(i.id)), [5, 4]);
        assert.equal(second.next_cursor, null);
      });
    });

    describe('bad input: 400 naming the offending part', () => {
      const bad: [string, Record<string, unknown>, string][] = [
        ['an unknown filter field', { filter: { field: 'colour', op: '=', value: 'red' } }, 'filter.field'],
        ['an unknown operator deep in a group', { filter: { logic: 'and', filters: [{ field: 'model', op: '=', value: 'x' }, { logic: 'or', filters: [{ field: 'model', op: '~', value: 'x' }] }] } }, 'filter.filters.1.filters.0.op'],
        ['an operator that does not fit the field', { filter: { field: 'tags', op: '>=', value: 3 } }, 'filter.op'],
        ['an unknown property of a condition', { filter: { field: 'model', op: '=', value: 'x', colour: 1 } }, 'filter.colour'],
        ['a missing field', { filter: { op: '=', value: 1 } }, 'filter.field'],
        ['a missing op', { filter: { field: 'model', value: 1 } }, 'filter.op'],
        ['a logic other than and/or', { filter: { logic: 'xor', filters: [] } }, 'filter.logic'],
        ['a between with one bound', { filter: { field: 'score', name: 'q', op: 'between', value: [1] } }, 'filter.value'],
        ['a between with min > max', { filter: { field: 'score', name: 'q', op: 'between', value: [9, 1] } }, 'filter.value'],
        ['a score compared with text', { filter: { field: 'score', name: 'q', op: '>', value: 'high' } }, 'filter.value'],
        ['an unknown status', { filter: { field: 'status', op: '=', value: 'DONE' } }, 'filter.value'],
        ['a metadata condition without key', { filter: { field: 'metadata', op: '=', value: 'x' } }, 'filter.key'],
        ['a bad time', { filter: { field: 'request_start_time', op: '>', value: 'yesterday' } }, 'filter.value'],
        ['an empty in-list', { filter: { field: 'model', op: 'in', value: [] } }, 'filter.value'],
        ['a filter that is not an object', { filter: 'model=x' }, 'filter'],
        ['a malformed cursor', { cursor: 'not a cursor!' }, 'cursor'],
        ['a cursor of base64 garbage', { cursor: Buffer.from('{"k":1}').toString('base64url') }, 'cursor'],
        ['a cursor that is not JSON', { cursor: 'aGVsbG8' }, 'cursor'],
        ['a page size of 501', { limit: 501 }, 'limit'],
        ['a page size of 0', { limit: 0 }, 'limit'],
        ['an unknown sort key', { sort_by: 'colour' }, 'sort_by'],
        ['an unknown sort order', { sort_order: 'sideways' }, 'sort_order'],
        ['an unknown body property', { filters: [] }, 'filters'],
      ];
      for (const [what, body, field] of bad) {
        it(`rejects ${what} naming "${field}"`, async () => {
          const res = await t.post('/v1/requests/search', body);
          assert.equal(res.statusCode, 400, res.body);
          const json = res.json() as { success: boolean; message: string; code: string };
          assert.equal(json.success, false);
          assert.equal(json.code, 'invalid_field');
          assert.ok(json.message.startsWith(`${field}: `), `message "${json.message}" should start with "${field}: "`);
        });
      }

      it('rejects groups nested deeper than 8', async () => {
        let filter: Record<string, unknown> = { field: 'model', op: '=', value: 'x' };
        for (let i = 0; i < 9; i++) filter = { logic: 'and', filters: [filter] };
        const res = await t.post('/v1/requests/search', { filter });
        assert.equal(res.statusCode, 400);
        assert.match(res.json().message, /nest at most 8/);
      });

      it('rejects more than 100 conditions', async () => {
        const filters = Array.from({ length: 101 }, () => ({ field: 'model', op: '=', value: 'x' }));
        const res = await t.post('/v1/requests/search', { filter: { logic: 'or', filters } });
        assert.equal(res.statusCode, 400);
        assert.match(res.json().message, /^filter/);
      });

      it('rejects a cursor issued for another sort', async () => {
        const page = await search({ limit: 1 });
        assert.ok(page.next_cursor);
        const res = await t.post('/v1/requests/search', { limit: 1, cursor: page.next_cursor, sort_by: 'latency_ms' });
        assert.equal(res.statusCode, 400);
        assert.match(res.json().message, /^cursor: was issued for another sort/);
      });

      const badGet: [string, string][] = [
        ['colour=red', 'colour'],
        ['score.quality=about:5', 'score.quality'],
        ['score.quality=gte:high', 'score.quality'],
        ['score.=5', 'score.'],
        ['limit=501', 'limit'],
        ['limit=many', 'limit'],
        ['cursor=%24%24%24', 'cursor'],
        ['filter=%7Bnot-json', 'filter'],
        [`filter=${encodeURIComponent('{"field":"nope","op":"=","value":1}')}`, 'filter.field'],
        ['from=soon', 'from'],
        ['tag_match=some', 'tag_match'],
        ['sort_by=colour', 'sort_by'],
        ['prompt_version=two', 'prompt_version'],
      ];
      for (const [qs, field] of badGet) {
        it(`GET rejects ${decodeURIComponent(qs)} naming "${field}"`, async () => {
          const res = await t.get(`/v1/requests/search?${qs}`);
          assert.equal(res.statusCode, 400, res.body);
          const json = res.json() as { message: string; code: string };
          assert.equal(json.code, 'invalid_field');
          assert.ok(json.message.startsWith(`${field}: `) || json.message.startsWith(`${field}.0: `), `message "${json.message}" should name "${field}"`);
        });
      }
    });

    describe('workspace isolation', () => {
      it("never returns another workspace's requests, even when they match", async () => {
        const page = await search({ filter: { field: 'score', name: 'quality', op: '=', value: 90 }, limit: 500 });
        assert.ok(page.items.length >= 2);
        assert.ok(!page.items.some((i) => i.id === f.foreign));
        const byId = await search({ filter: { field: 'id', op: '=', value: f.foreign } });
        assert.deepEqual(byId.items, []);
      });

      it('shows the other workspace only its own requests', async () => {
        const page = await search({ filter: { field: 'tags', op: 'any', value: ['prod'] }, limit: 500 }, t.other.key);
        assert.deepEqual(page.items.map((i) => i.id), [f.foreign]);
        assert.deepEqual(page.items[0]!.scores, { quality: 90 });
        const get = await t.get('/v1/requests/search?tag=prod', { key: t.other.key });
        assert.deepEqual((get.json() as Page).items.map((i) => i.id), [f.foreign]);
      });

      it('refuses a call without a key', async () => {
        const res = await t.post('/v1/requests/search', {}, { key: null });
        assert.equal(res.statusCode, 401);
        const get = await t.get('/v1/requests/search', { key: null });
        assert.equal(get.statusCode, 401);
      });
    });
  });
}
