import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BACKENDS } from './helpers/backends.js';
import { BASE, bulkInsert, loadFixture, type Fixture } from './helpers/search-fixtures.js';
import { createTestApp, type TestApp } from './helpers/test-app.js';

const URL = '/api/public/v2/requests/search';
const iso = (s: number) => new Date(s * 1000).toISOString();

interface PlPage {
  success: true;
  items: { id: number; [k: string]: unknown }[];
  page: number;
  pages: number;
  per_page: number;
  total: number;
  has_next: boolean;
  has_prev: boolean;
  next_num: number | null;
  prev_num: number | null;
}

for (const backend of BACKENDS) {
  describe(`PromptLayer POST ${URL} [${backend}]`, () => {
    let t: TestApp;
    let f: Fixture;
    let r: number[];
    let bulk: number[];
    before(async () => {
      t = await createTestApp(backend);
      f = await loadFixture(t);
      r = f.r;
      bulk = await bulkInsert(t, 23, 'plbulk', BASE + 50_000);
    });
    after(() => t.close());

    const search = async (body: Record<string, unknown>, key?: string): Promise<PlPage> => {
      const res = await t.post(URL, body, { key });
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as PlPage;
    };
    const onFixture = (filter: unknown) => ({ logic: 'AND', filters: [filter, { field: 'id', operator: 'in', value: r.slice(1) }] });
    const ids = async (filter: unknown, extra: Record<string, unknown> = {}) =>
      (await search({ filter_group: onFixture(filter), per_page: 25, ...extra })).items.map((i) => i.id).sort((a, b) => a - b);
    const expect = (...n: number[]) => n.map((i) => r[i]!).sort((a, b) => a - b);

    it('pages with page/per_page (default 10) and reports page, pages, total and neighbours', async () => {
      const filter_group = { logic: 'AND', filters: [{ field: 'tags', operator: 'contains', value: 'plbulk' }] };
      const first = await search({ filter_group });
      assert.equal(first.success, true);
      assert.equal(first.items.length, 10);
      assert.deepEqual(
        { page: first.page, pages: first.pages, per_page: first.per_page, total: first.total, has_next: first.has_next, has_prev: first.has_prev, next_num: first.next_num, prev_num: first.prev_num },
        { page: 1, pages: 3, per_page: 10, total: 23, has_next: true, has_prev: false, next_num: 2, prev_num: null },
      );
      const last = await search({ filter_group, page: 3 });
      assert.equal(last.items.length, 3);
      assert.deepEqual([last.has_next, last.has_prev, last.next_num, last.prev_num], [false, true, null, 2]);
      const beyond = await search({ filter_group, page: 4 });
      assert.deepEqual(beyond.items, []);
      assert.equal(beyond.total, 23);
      const all = [];
      for (let page = 1; page <= 3; page++) all.push(...(await search({ filter_group, page })).items.map((i) => i.id));
      assert.deepEqual(all, [...bulk].reverse(), 'newest first, every request once');
      const max = await search({ filter_group, per_page: 25 });
      assert.equal(max.items.length, 23);
      assert.equal(max.pages, 1);
    });

    it('items carry PromptLayer fields and their scores', async () => {
      const page = await search({ filter_group: { logic: 'AND', filters: [{ field: 'request_id', operator: 'is', value: r[1] }] } });
      assert.deepEqual(page.items, [
        {
          id: r[1],
          engine: 'gpt-4o',
          provider_type: 'openai',
          input_tokens: 10,
          output_tokens: 5,
          price: 0.01,
          request_start_time: iso(BASE + 10),
          request_end_time: iso(BASE + 11),
          latency: 1,
          tags_array: ['eu', 'prod'],
          metadata: { env: 'prod', team: 'search' },
          scores: { default: 50, quality: 90 },
          prompt_name: 'summarize',
          prompt_version: 1,
          status: 'SUCCESS',
        },
      ]);
    });

    const cases: [string, unknown, number[]][] = [
      ['engine is gpt-4o', { field: 'engine', operator: 'is', value: 'gpt-4o' }, [1, 5]],
      ['model is_not gpt-4o', { field: 'model', operator: 'is_not', value: 'gpt-4o' }, [2, 3, 4]],
      ['provider_type in anthropic', { field: 'provider_type', operator: 'in', value: ['anthropic'] }, [3, 4]],
      ['engine starts_with gpt', { field: 'engine', operator: 'starts_with', value: 'gpt' }, [1, 2, 5]],
      ['engine ends_with mini', { field: 'engine', operator: 'ends_with', value: 'mini' }, [2]],
      ['tags contains eu', { field: 'tags', operator: 'contains', value: 'eu' }, [1, 3]],
      ['tags contains [prod, eu] (all)', { field: 'tags', operator: 'contains', value: ['prod', 'eu'] }, [1]],
      ['tags in [eu, staging]', { field: 'tags', operator: 'in', value: ['eu', 'staging'] }, [1, 3, 5]],
      ['tags not_in [prod]', { field: 'tags', operator: 'not_in', value: ['prod'] }, [3, 4, 5]],
      ['tags is_empty', { field: 'tags', operator: 'is_empty' }, [4]],
      ['metadata team key_equals search', { field: 'metadata', nested_key: 'team', operator: 'key_equals', value: 'search' }, [1, 4]],
      ['metadata team key_not_equals search', { field: 'metadata', nested_key: 'team', operator: 'key_not_equals', value: 'search' }, [2, 3, 5]],
      ['metadata team key_contains infra', { field: 'metadata', nested_key: 'team', operator: 'key_contains', value: 'infra' }, [5]],
      ['metadata team is_null', { field: 'metadata', nested_key: 'team', operator: 'is_null' }, [3]],
      ['metadata team is_not_empty', { field: 'metadata', nested_key: 'team', operator: 'is_not_empty' }, [1, 2, 4, 5]],
      ['request_start_time after', { field: 'request_start_time', operator: 'after', value: iso(BASE + 30) }, [4, 5]],
      ['request_start_time before', { field: 'request_start_time', operator: 'before', value: iso(BASE + 30) }, [1, 2]],
      ['request_start_time between', { field: 'request_start_time', operator: 'between', value: [iso(BASE + 20), iso(BASE + 30)] }, [2, 3]],
      ['input_tokens gte 50', { field: 'input_tokens', operator: 'gte', value: 50 }, [2, 5]],
      ['output_tokens eq 20', { field: 'output_tokens', operator: 'eq', value: 20 }, [3]],
      ['cost lt 0.05', { field: 'cost', operator: 'lt', value: 0.05 }, [1, 4]],
      ['price gt 0.05', { field: 'price', operator: 'gt', value: 0.05 }, [2, 5]],
      ['latency_ms between 1000 and 2000', { field: 'latency_ms', operator: 'between', value: [1000, 2000] }, [1, 4, 5]],
      ['status is ERROR', { field: 'status', operator: 'is', value: 'ERROR' }, [2]],
      ['status not_in [SUCCESS]', { field: 'status', operator: 'not_in', value: ['SUCCESS'] }, [2, 4]],
      ['prompt_name is summarize', { field: 'prompt_name', operator: 'is', value: 'summarize' }, [1, 2, 4]],
      ['prompt_name is_null', { field: 'prompt_name', operator: 'is_null' }, [3, 5]],
      ['score quality gte 80 (Tally extension)', { field: 'score', nested_key: 'quality', operator: 'gte', value: 80 }, [1, 5]],
      ['score quality is_null', { field: 'score', nested_key: 'quality', operator: 'is_null' }, [4]],
      ['OR group nested in AND', { logic: 'OR', filters: [{ field: 'engine', operator: 'is', value: 'claude-3' }, { field: 'tags', operator: 'contains', value: 'staging' }] }, [3, 4, 5]],
    ];
    for (const [what, filter, expected] of cases) {
      it(`maps ${what}`, async () => {
        assert.deepEqual(await ids(filter), expect(...expected));
      });
    }

    it('q searches input and output text', async () => {
      assert.deepEqual((await search({ q: 'greetings' })).items.map((i) => i.id), [r[1]]);
    });

    it('accepts the legacy scores filter, all conditions holding; no name means "default"', async () => {
      assert.deepEqual(await ids({ logic: 'AND', filters: [] }, { scores: [{ name: 'quality', operator: '>=', value: 70 }] }), expect(1, 3, 5));
      assert.deepEqual(await ids({ logic: 'AND', filters: [] }, { scores: [{ name: 'quality', operator: '>', value: 40 }, { name: 'quality', operator: '<', value: 90 }] }), expect(3));
      assert.deepEqual(await ids({ logic: 'AND', filters: [] }, { scores: [{ operator: '>=', value: 50 }] }), expect(1, 3));
    });

    describe('sorting', () => {
      const order = async (extra: Record<string, unknown>) =>
        (await search({ filter_group: { logic: 'AND', filters: [{ field: 'id', operator: 'in', value: r.slice(1) }] }, ...extra })).items.map((i) => r.indexOf(i.id));
      it('sort_by score uses score_name, unscored last', async () => assert.deepEqual(await order({ sort_by: 'score', score_name: 'quality', sort_order: 'desc' }), [5, 1, 3, 2, 4]));
      it('sort_by score without score_name uses "default"', async () => assert.deepEqual(await order({ sort_by: 'score', sort_order: 'asc' }), [5, 1, 3, 2, 4]));
      it('sort_by cost asc', async () => assert.deepEqual(await order({ sort_by: 'cost', sort_order: 'asc' }), [4, 1, 3, 5, 2]));
      it('sort_by latency_ms desc', async () => assert.deepEqual(await order({ sort_by: 'latency_ms', sort_order: 'desc' }), [2, 4, 5, 1, 3]));
      it('sort_by input_tokens desc', async () => assert.deepEqual(await order({ sort_by: 'input_tokens' }), [2, 5, 3, 1, 4]));
      it('sort_by request_start_time asc', async () => assert.deepEqual(await order({ sort_by: 'request_start_time', sort_order: 'ASC' }), [1, 2, 3, 4, 5]));
      it('sort_by score pages with page numbers', async () => {
        const pages = [];
        for (let page = 1; page <= 3; page++) pages.push(...(await order({ sort_by: 'score', score_name: 'quality', per_page: 2, page })));
        assert.deepEqual(pages, [5, 1, 3, 2, 4]);
      });
    });

    describe('bad input: 400 naming the offending part', () => {
      const bad: [string, Record<string, unknown>, string][] = [
        ['per_page 26', { per_page: 26 }, 'per_page'],
        ['per_page 0', { per_page: 0 }, 'per_page'],
        ['page 0', { page: 0 }, 'page'],
        ['an unknown field', { filter_group: { logic: 'AND', filters: [{ field: 'colour', operator: 'is', value: 'red' }] } }, 'filter_group.filters.0.field'],
        ['an unknown operator', { filter_group: { logic: 'AND', filters: [{ field: 'engine', operator: 'resembles', value: 'x' }] } }, 'filter_group.filters.0.operator'],
        ['a numeric operator on text', { filter_group: { logic: 'AND', filters: [{ field: 'engine', operator: 'gt', value: 'x' }] } }, 'filter_group.filters.0.operator'],
        ['metadata without nested_key', { filter_group: { logic: 'AND', filters: [{ field: 'metadata', operator: 'key_equals', value: 'x' }] } }, 'filter_group.filters.0.nested_key'],
        ['a logic of XOR', { filter_group: { logic: 'XOR', filters: [] } }, 'filter_group.logic'],
        ['a number compared with text', { filter_group: { logic: 'AND', filters: [{ field: 'cost', operator: 'gt', value: 'cheap' }] } }, 'filter_group.filters.0.value'],
        ['an unknown sort_by', { sort_by: 'colour' }, 'sort_by'],
        ['an unknown sort_order', { sort_order: 'up' }, 'sort_order'],
        ['a legacy score operator ~', { scores: [{ name: 'q', operator: '~', value: 1 }] }, 'scores.0.operator'],
      ];
      for (const [what, body, field] of bad) {
        it(`rejects ${what} naming "${field}"`, async () => {
          const res = await t.post(URL, body);
          assert.equal(res.statusCode, 400, res.body);
          const json = res.json() as { success: boolean; message: string };
          assert.equal(json.success, false);
          assert.ok(json.message.startsWith(`${field}: `), `message "${json.message}" should start with "${field}: "`);
        });
      }
    });

    describe('workspace isolation and auth', () => {
      it("never returns another workspace's requests, and counts only the caller's", async () => {
        const mine = await search({ filter_group: { logic: 'AND', filters: [{ field: 'score', nested_key: 'quality', operator: 'eq', value: 90 }] } });
        assert.deepEqual(mine.items.map((i) => i.id).sort((a, b) => a - b), expect(1, 5));
        assert.equal(mine.total, 2);
        const theirs = await search({ filter_group: { logic: 'AND', filters: [{ field: 'tags', operator: 'contains', value: 'prod' }] } }, t.other.key);
        assert.deepEqual(theirs.items.map((i) => i.id), [f.foreign]);
        assert.equal(theirs.total, 1);
      });

      it('takes the key from the body api_key too, and refuses a call without one', async () => {
        const res = await t.post(URL, { api_key: t.other.key }, { key: null });
        assert.equal(res.statusCode, 200);
        assert.deepEqual((res.json() as PlPage).items.map((i) => i.id), [f.foreign]);
        const none = await t.post(URL, {}, { key: null });
        assert.equal(none.statusCode, 401);
        assert.equal(none.json().success, false);
      });
    });
  });
}
