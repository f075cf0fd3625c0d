import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { csvRecord } from '../src/domain/csv.js';
import { parseSort, type RequestFilter, type SortPosition } from '../src/domain/search-query.js';
import { exportChunks, wholeExport } from '../src/export/export-chunks.js';
import { copyChunks } from '../src/export/export-copy.js';
import { EXPORT_PAGE_ROWS, exportPlan, partChunks, type ExportChunk, type ExportFormat, type ExportPlan } from '../src/export/export-lines.js';
import { BACKENDS } from './helpers/backends.js';
import { parseCsv } from './helpers/parse-csv.js';
import { BASE, bulkInsert, chat, reply, score } from './helpers/search-fixtures.js';
import { createTestApp, logRequest, type TestApp } from './helpers/test-app.js';

const TRICKY = 'He said "hi, there"\nthen, on a new line: "bye"\r\nend';

/** An export's chunks as text (decoded whole: a character may span two chunks of bytes), and the rows they said they hold. */
async function collect(chunks: AsyncIterable<ExportChunk>): Promise<{ text: string; rows: number }> {
  const bytes: Buffer[] = [];
  let rows = 0;
  for await (const chunk of chunks) {
    bytes.push(Buffer.from(chunk.data));
    rows += chunk.rows;
  }
  return { text: Buffer.concat(bytes).toString('utf8'), rows };
}

/** Where two long texts first differ, for a failure message. */
function firstDifference(a: string, b: string): string {
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  return `first difference at ${i}: ${JSON.stringify(a.slice(Math.max(0, i - 80), i + 80))} against ${JSON.stringify(b.slice(Math.max(0, i - 80), i + 80))}`;
}

for (const backend of BACKENDS) {
  describe(`GET /v1/requests/export [${backend}]`, () => {
    let t: TestApp;
    let tricky: number;
    let plain: number;
    before(async () => {
      t = await createTestApp(backend);
      tricky = await logRequest(t, {
        tags: ['exp', 'a,b'],
        metadata: { note: 'x, "y"\nz' },
        input: chat(TRICKY),
        output: reply('Sure, "ok"'),
        error_message: 'bad, "very"\nbad',
        status: 'ERROR',
        prompt_name: 'sum, mary',
        request_start_time: BASE + 2,
        request_end_time: BASE + 3,
      });
      plain = await logRequest(t, { tags: ['exp'], request_start_time: BASE + 1, request_end_time: BASE + 2 });
      await score(t, tricky, 'quality', 91);
      await score(t, tricky, 'with,comma', 5);
      await score(t, plain, 'default', 40);
      // A score name only outside the exported set must not get a column.
      const elsewhere = await logRequest(t, { tags: ['other-set'] });
      await score(t, elsewhere, 'unrelated', 1);
    });
    after(() => t.close());

    const exportOf = async (qs: string, key?: string) => {
      const res = await t.get(`/v1/requests/export?${qs}`, { key });
      assert.equal(res.statusCode, 200, res.body);
      return res;
    };

    it('writes CSV that parses back exactly, commas, quotes and newlines included', async () => {
      const res = await exportOf('format=csv&tag=exp');
      assert.match(String(res.headers['content-type']), /^text\/csv/);
      assert.match(String(res.headers['content-disposition']), /attachment; filename="tally-requests-.*\.csv"/);
      const [header, ...rows] = parseCsv(res.body);
      assert.ok(header);
      const scoreColumns = header.filter((h) => h.startsWith('score:'));
      assert.deepEqual(scoreColumns, ['score:default', 'score:quality', 'score:with,comma']);
      assert.equal(rows.length, 2);
      const col = (row: string[], name: string) => row[header.indexOf(name)];
      // Newest first by default.
      const [first, second] = rows as [string[], string[]];
      assert.equal(col(first, 'id'), String(tricky));
      assert.deepEqual(JSON.parse(col(first, 'input')!), chat(TRICKY));
      assert.deepEqual(JSON.parse(col(first, 'output')!), reply('Sure, "ok"'));
      assert.equal(col(first, 'error_message'), 'bad, "very"\nbad');
      assert.equal(col(first, 'prompt_name'), 'sum, mary');
      assert.deepEqual(JSON.parse(col(first, 'tags')!), ['a,b', 'exp']);
      assert.deepEqual(JSON.parse(col(first, 'metadata')!), { note: 'x, "y"\nz' });
      assert.equal(col(first, 'status'), 'ERROR');
      assert.equal(col(first, 'score:quality'), '91');
      assert.equal(col(first, 'score:with,comma'), '5');
      assert.equal(col(first, 'score:default'), '');
      assert.equal(col(second, 'id'), String(plain));
      assert.equal(col(second, 'score:default'), '40');
      assert.equal(col(second, 'score:quality'), '');
      assert.equal(col(first, 'request_start_time'), new Date((BASE + 2) * 1000).toISOString());
    });

    it('writes every cell as csvRecord writes the value GET /v1/requests/{id} shows, byte for byte', async () => {
      // csvRecord is the reference writer; the export formats its records cell by cell on its own.
      const odd = ['plain', 'a,b', 'say "hi"', 'two\nlines', 'cr\ronly', 'crlf\r\nend', ' padded ', 'ünïcödé ✓ 🎉', '"', ',', 'tab\there', '=1+2', "it's", '\\back\\slash'];
      const prices = [0.1 + 0.2, 1e-7, 12345.678, 0, 2.5e21];
      const ids: number[] = [];
      for (let i = 0; i < odd.length; i++) {
        const s = odd[i]!;
        const next = odd[(i + 1) % odd.length]!;
        ids.push(
          await logRequest(t, {
            provider: s,
            model: next,
            function_name: `fn ${s}`,
            prompt_name: i % 3 === 0 ? null : s,
            ...(i % 2 === 0 ? { prompt_version_number: i + 1 } : {}),
            status: (['SUCCESS', 'WARNING', 'ERROR'] as const)[i % 3],
            ...(i % 3 === 2 ? { error_type: 'PROVIDER_ERROR', error_message: s } : {}),
            ...(i % 4 === 1 ? { span_id: s } : {}),
            price: prices[i % prices.length],
            input_tokens: i * 1000,
            output_tokens: i,
            input: chat(s),
            output: i % 5 === 4 ? { type: 'completion', text: next } : reply(next),
            parameters: i % 2 === 0 ? {} : { temperature: 0.5, stop: [s, ','] },
            prompt_input_variables: { v: s },
            tags: ['bytes', s],
            metadata: { k: s, [next]: 'x' },
            request_start_time: BASE + 200_000 + i,
            request_end_time: BASE + 200_000 + i + 0.25,
          }),
        );
      }
      const labelled = await t.post('/rest/track-prompt', { request_id: ids[1], prompt_name: 'p, "q"', label: 'prod\r\n"x"', prompt_input_variables: {} });
      assert.equal(labelled.statusCode, 200, labelled.body);
      await score(t, ids[2]!, 'bytes, "s"', 7);
      await score(t, ids[3]!, 'quality', 0);
      // A comment of odd text: the score comment column after the score's.
      const commented = await t.inject({ method: 'PUT', url: `/v1/requests/${ids[4]}/scores/quality`, headers: { 'x-api-key': t.alpha.key }, payload: { score: 5, comment: 'ünï, "c"\r\n=x' } });
      assert.equal(commented.statusCode, 200, commented.body);

      const res = await exportOf('format=csv&tag=bytes&sort_by=id&sort_order=asc');
      const header = [
        ...['id', 'request_start_time', 'request_end_time', 'latency_ms', 'provider', 'model', 'function_name', 'prompt_name', 'prompt_version', 'prompt_label', 'status'],
        ...['error_type', 'error_message', 'input_tokens', 'output_tokens', 'price', 'span_id', 'group_ids', 'tags', 'metadata', 'parameters', 'prompt_input_variables', 'input', 'output'],
      ];
      const names = ['bytes, "s"', 'quality'];
      let expected = csvRecord([...header, ...names.flatMap((n) => [`score:${n}`, `score_comment:${n}`])]);
      for (const id of ids) {
        const got = await t.get(`/v1/requests/${id}`);
        assert.equal(got.statusCode, 200, got.body);
        const r = (got.json() as { request: Record<string, unknown> & { scores: Record<string, number>; score_details: Record<string, { comment: string | null }> } }).request;
        const json = (name: string) => JSON.stringify(r[name]);
        expected += csvRecord([
          ...header.slice(0, 17).map((name) => r[name] as string | number | null),
          ...header.slice(17).map(json),
          ...names.flatMap((n) => [r.scores[n], r.score_details[n]?.comment ?? null]),
        ]);
      }
      assert.equal(res.body, expected);
    });

    it('writes JSON Lines holding each request as GET /v1/requests/{id} does', async () => {
      const res = await exportOf('format=jsonl&tag=exp&sort_order=asc');
      assert.match(String(res.headers['content-type']), /^application\/x-ndjson/);
      const lines = res.body.split('\n');
      assert.equal(lines.pop(), '', 'ends in a newline');
      const items = lines.map((l) => JSON.parse(l) as { id: number });
      assert.deepEqual(items.map((i) => i.id), [plain, tricky]);
      for (const item of items) {
        const one = await t.get(`/v1/requests/${item.id}`);
        assert.deepEqual(item, (one.json() as { request: unknown }).request);
      }
    });

    it('applies the search filters and sort', async () => {
      const scored = await exportOf('format=jsonl&score.quality=gte:90');
      assert.deepEqual(scored.body.trim().split('\n').map((l) => (JSON.parse(l) as { id: number }).id), [tricky]);
      const json = await exportOf(`format=jsonl&filter=${encodeURIComponent(JSON.stringify({ field: 'text', op: 'contains', value: 'then, on a new line' }))}`);
      assert.deepEqual(json.body.trim().split('\n').map((l) => (JSON.parse(l) as { id: number }).id), [tricky]);
      const none = await exportOf('format=csv&tag=nothing-has-this');
      assert.deepEqual(parseCsv(none.body).length, 1, 'only the header');
      const byScore = await exportOf('format=jsonl&tag=exp&sort_by=score.default&sort_order=desc');
      assert.deepEqual(byScore.body.trim().split('\n').map((l) => (JSON.parse(l) as { id: number }).id), [plain, tricky]);
    });

    it(`walks large exports in keyset pages of ${EXPORT_PAGE_ROWS} rows, each row once`, async () => {
      const count = 2 * EXPORT_PAGE_ROWS + 100;
      // Times repeat three by three, so pages must break ties by id.
      const ids = await bulkInsert(t, count, 'many', BASE + 100_000, (i) => ({ request_start_time: BASE + 100_000 + Math.floor(i / 3), request_end_time: BASE + 100_001 + Math.floor(i / 3) }));
      const res = await exportOf('format=csv&tag=many');
      const [header, ...rows] = parseCsv(res.body);
      const idCol = header!.indexOf('id');
      const got = rows.map((r) => Number(r[idCol]));
      assert.equal(got.length, count);
      assert.equal(new Set(got).size, count);
      assert.deepEqual([...got].sort((a, b) => a - b), [...ids].sort((a, b) => a - b));

      // The pages themselves, as an export read in pages asks for them (the HTTP export does on its own thread).
      const limits: number[] = [];
      const original = t.store.requests.searchContents.bind(t.store.requests);
      t.store.requests.searchContents = async (ws, q) => {
        limits.push(q.limit);
        return original(ws, q);
      };
      try {
        const filter: RequestFilter = { kind: 'tags', match: 'all', tags: ['many'] };
        const sort = parseSort(undefined, undefined);
        const plan = await exportPlan(t.store, { workspaceId: t.alpha.workspace.id, filter, sort, format: 'csv' }, 1);
        const paged = await collect(exportChunks(t.store, { workspaceId: t.alpha.workspace.id, filter, sort, format: 'csv' }, { ...plan, copy: false }));
        assert.equal(paged.text, res.body);
        assert.equal(paged.rows, count, 'the chunks count every row, not the header');
        assert.deepEqual(limits, [EXPORT_PAGE_ROWS, EXPORT_PAGE_ROWS, EXPORT_PAGE_ROWS]);
      } finally {
        t.store.requests.searchContents = original;
      }
    });

    describe('an export split among parts (as export threads run it)', () => {
      /** Sorts by a column (the only ones an export splits on): a time, a number, a sum, text, the id. */
      const SPLIT_SORTS = [
        [undefined, undefined],
        ['latency_ms', 'asc'],
        ['tokens', 'desc'],
        ['status', 'asc'],
        ['id', 'asc'],
      ] as const;
      const SPLIT = 3 * EXPORT_PAGE_ROWS + 10;
      const split: RequestFilter = { kind: 'tags', match: 'all', tags: ['split'] };
      let ids: number[];
      before(async () => {
        // Ties in every sort key, so pages break them by id.
        ids = await bulkInsert(t, SPLIT, 'split', BASE + 200_000, (i) => ({
          request_start_time: BASE + 200_000 + Math.floor(i / 4),
          request_end_time: BASE + 200_000 + Math.floor(i / 4) + (i % 7),
          input_tokens: i % 5,
          output_tokens: i % 3,
          status: i % 4 === 0 ? 'WARNING' : 'SUCCESS',
        }));
      });

      /** Every part's pages, each part read at once, put back in page order: page k is part k % parts's. */
      async function assembled(sort: ReturnType<typeof parseSort>, format: ExportFormat, plan: ExportPlan, parts: number): Promise<string> {
        const ws = t.alpha.workspace.id;
        const pagesOf = await Promise.all(
          Array.from({ length: parts }, async (_, part) => {
            const pages: string[] = [];
            let page = '';
            for await (const chunk of partChunks(t.store, { workspaceId: ws, filter: split, sort, format }, plan, { part, parts })) {
              page += chunk.data;
              if (chunk.pageEnd) {
                pages.push(page);
                page = '';
              }
            }
            assert.equal(page, '', 'a part ends with the end of a page');
            return pages;
          }),
        );
        const pages = pagesOf.flat().length;
        let text = '';
        for (let k = 0; k < pages; k++) text += pagesOf[k % parts]![Math.floor(k / parts)]!;
        return text;
      }

      /** The export read whole on one thread (on PostgreSQL a CSV export is read through COPY). */
      const whole = async (sort: ReturnType<typeof parseSort>, format: ExportFormat) => {
        const { text, rows } = await collect(await wholeExport(t.store, { workspaceId: t.alpha.workspace.id, filter: split, sort, format }));
        assert.equal(rows, SPLIT);
        return text;
      };

      for (const [by, order] of SPLIT_SORTS) {
        it(`gives the export's bytes in 1, 2 or 3 parts, sorted by ${by ?? 'start time'} ${order ?? 'desc'}`, async () => {
          const sort = parseSort(by, order);
          for (const format of ['csv', 'jsonl'] as const) {
            const plan = await exportPlan(t.store, { workspaceId: t.alpha.workspace.id, filter: split, sort, format }, 3);
            // A CSV export PostgreSQL can COPY is read whole on one thread (see the COPY tests below).
            const splits = !(format === 'csv' && t.store.capabilities.copyCsv);
            assert.equal(plan.ends?.length, splits ? Math.floor(SPLIT / EXPORT_PAGE_ROWS) : undefined);
            const expected = await whole(sort, format);
            assert.equal(expected.split('\n').length - 1, SPLIT + (format === 'csv' ? 1 : 0));
            for (const parts of splits ? [1, 2, 3] : [1]) assert.ok((await assembled(sort, format, plan, parts)) === expected, `${format} in ${parts} parts`);
          }
        });
      }

      for (const [by, order] of SPLIT_SORTS) {
        it(`finds where every page ends as a walk of the pages does, sorted by ${by ?? 'start time'} ${order ?? 'desc'}`, async () => {
          const sort = parseSort(by, order);
          // Neither page size divides the rows, so every full page is followed by another.
          for (const rows of [EXPORT_PAGE_ROWS, 7]) {
            const walked: SortPosition[] = [];
            let after: SortPosition | null = null;
            for (;;) {
              const page: Awaited<ReturnType<typeof t.store.requests.search>> = await t.store.requests.search(t.alpha.workspace.id, { filter: split, sort, after, limit: rows });
              if (page.next === null) break;
              walked.push(page.next);
              after = page.next;
            }
            assert.equal(walked.length, Math.floor(SPLIT / rows));
            assert.deepEqual(await t.store.requests.pageEnds({ workspaceId: t.alpha.workspace.id, filter: split, sort, rows }), walked);
          }
        });
      }

      it('does not split for one thread, a score sort or an export of one page', async () => {
        assert.equal((await exportPlan(t.store, { workspaceId: t.alpha.workspace.id, filter: split, sort: parseSort(undefined, undefined), format: 'csv' }, 1)).ends, null);
        assert.equal((await exportPlan(t.store, { workspaceId: t.alpha.workspace.id, filter: split, sort: parseSort('score.quality', undefined), format: 'csv' }, 2)).ends, null);
        assert.equal((await exportPlan(t.store, { workspaceId: t.alpha.workspace.id, filter: { kind: 'tags', match: 'all', tags: ['exp'] }, sort: parseSort(undefined, undefined), format: 'csv' }, 2)).ends, null);
      });

      it('exports every row once when rows are written into a page after the plan was made', async () => {
        const sort = parseSort(undefined, undefined);
        const plan = await exportPlan(t.store, { workspaceId: t.alpha.workspace.id, filter: split, sort, format: 'jsonl' }, 2);
        // Newest first, so page 1 runs after ends[0] up to ends[1]. Forty late rows start at the same
        // time as ends[1], with higher ids: they sort just before it, inside page 1, which then holds
        // 290 rows. Read as 250 rows after ends[0], it would leave out the 40 before ends[1].
        const at = Number(plan.ends![1]!.value) / 1000;
        const late = await bulkInsert(t, 40, 'split', at, () => ({ request_start_time: at, request_end_time: at + 1 }));
        const got = (await assembled(sort, 'jsonl', plan, 2))
          .trim()
          .split('\n')
          .map((l) => (JSON.parse(l) as { id: number }).id);
        assert.equal(new Set(got).size, got.length, 'no row twice');
        assert.deepEqual(
          ids.filter((id) => !got.includes(id)),
          [],
          'no row left out',
        );
        assert.deepEqual(
          late.filter((id) => !got.includes(id)),
          [],
          'the late rows are in page 1',
        );
        assert.equal(got.length, SPLIT + late.length);
      });
    });

    describe('read through COPY (PostgreSQL), the same bytes as read in pages', () => {
      const copy: RequestFilter = { kind: 'tags', match: 'all', tags: ['copy'] };
      // Strings a literal written into the COPY's SQL must keep as they are.
      const QUOTED = ["it's", "o''neil", 'back\\slash', '\\\'', '%_', '$1', '"dq"'];
      // A row longer than the chunks COPY's output arrives in (64 KB), so it spans several.
      const LONG = 'long text, "quoted" '.repeat(20_000);
      before(async () => {
        const odd = ['', 'a,b', 'say "hi"', 'two\nlines', 'cr\ronly', ' padded ', 'ünïcödé ✓ 🎉', '"', ',', '""', ...QUOTED];
        const prices = [0.1 + 0.2, 1e-7, 5e-5, 12345.678, 0, 2.5e21, 1e21, 123456789012345680000];
        for (let i = 0; i < odd.length; i++) {
          const s = odd[i]!;
          await logRequest(t, {
            // Empty strings where a field takes them (prompt names, error messages, ...).
            provider: s || 'p',
            model: odd[(i + 1) % odd.length] || 'm',
            function_name: s,
            prompt_name: i % 3 === 0 ? null : s,
            ...(i % 2 === 0 ? { prompt_version_number: i + 1 } : {}),
            ...(i % 3 !== 1 ? { status: 'ERROR', error_type: 'PROVIDER_ERROR', error_message: s } : {}),
            ...(i % 4 === 1 ? { span_id: s } : {}),
            price: prices[i % prices.length],
            input: chat(s),
            output: reply(i === 3 ? LONG : s),
            tags: ['copy', s].filter((tag) => tag !== ''),
            metadata: { k: s, [s]: 'v' },
            request_start_time: BASE + 300_000 + i,
            request_end_time: BASE + 300_000 + i + 0.125,
          });
        }
        const scored = await logRequest(t, { tags: ['copy'], request_start_time: BASE + 300_000, request_end_time: BASE + 300_001 });
        await score(t, scored, 'quality', 3);
        // A score column's name is in the header, in UTF-8.
        await score(t, scored, 'qualité ✓', 4);
      });

      const ws = () => t.alpha.workspace.id;
      /** The export's bytes from COPY. */
      async function copied(filter: RequestFilter, sort: ReturnType<typeof parseSort>): Promise<string> {
        const { scoreNames, copy: viaCopy } = await exportPlan(t.store, { workspaceId: ws(), filter, sort, format: 'csv' }, 1);
        assert.ok(viaCopy, 'PostgreSQL exports through COPY');
        let ended = false;
        const { text, rows } = await collect(
          (async function* () {
            for await (const chunk of copyChunks(t.store, { workspaceId: ws(), filter, sort }, scoreNames)) {
              assert.ok(!ended, 'nothing after the chunk that ends the export');
              ended = chunk.pageEnd;
              yield chunk;
            }
          })(),
        );
        assert.ok(ended, 'the last chunk ends the export');
        assert.equal(rows, parseCsv(text).length - 1, 'the chunks count every row, not the header');
        return text;
      }
      /** The export's bytes read in pages. */
      const paged = async (filter: RequestFilter, sort: ReturnType<typeof parseSort>) => {
        const plan = await exportPlan(t.store, { workspaceId: ws(), filter, sort, format: 'csv' }, 1);
        return (await collect(exportChunks(t.store, { workspaceId: ws(), filter, sort, format: 'csv' }, { ...plan, copy: false }))).text;
      };

      it(backend === 'postgres' ? 'is how a CSV export sorted by a column is read, on one thread, not split' : 'is not used on SQLite', async () => {
        const sort = parseSort('latency_ms', 'asc');
        assert.equal((await exportPlan(t.store, { workspaceId: ws(), filter: copy, sort, format: 'csv' }, 1)).copy, backend === 'postgres');
        // A score sort walks scored rows, then unscored ones: pages, on both backends; so does JSON Lines.
        assert.equal((await exportPlan(t.store, { workspaceId: ws(), filter: copy, sort: parseSort('score.quality', undefined), format: 'csv' }, 1)).copy, false);
        assert.equal((await exportPlan(t.store, { workspaceId: ws(), filter: copy, sort, format: 'jsonl' }, 1)).copy, false);
        // One COPY outruns pages read on several threads; JSON Lines is still split.
        const bulk: RequestFilter = { kind: 'tags', match: 'all', tags: ['copy-bulk'] };
        await bulkInsert(t, EXPORT_PAGE_ROWS + 1, 'copy-bulk', BASE + 400_000);
        assert.equal((await exportPlan(t.store, { workspaceId: ws(), filter: bulk, sort, format: 'csv' }, 2)).ends === null, backend === 'postgres');
        assert.notEqual((await exportPlan(t.store, { workspaceId: ws(), filter: bulk, sort, format: 'jsonl' }, 2)).ends, null);
      });

      if (backend === 'postgres') {
        it('writes every cell as the paged export does: empty strings, quotes, line breaks, prices, a row of 400 KB', async () => {
          for (const [by, order] of [[undefined, undefined], ['id', 'asc'], ['price', 'desc'], ['status', 'asc'], ['tokens', 'desc']] as const) {
            const sort = parseSort(by, order);
            const expected = await paged(copy, sort);
            assert.equal(expected.split('\r\n').length - 1, 2 + 10 + QUOTED.length, 'a header and every row');
            assert.ok(expected.length > LONG.length, 'the long row is in');
            const got = await copied(copy, sort);
            assert.ok(got === expected, `sorted by ${by ?? 'start time'}: ${firstDifference(got, expected)}`);
          }
        });

        it('is also how an export read whole where it runs (the event loop, `tally export`) is read, asking for no page', async () => {
          const sort = parseSort('id', 'asc');
          const calls = { pages: 0, copies: 0 };
          const store = t.store.requests;
          const { searchContents, copyCsv } = store;
          store.searchContents = (...args) => (calls.pages++, searchContents.apply(store, args));
          store.copyCsv = (...args) => (calls.copies++, copyCsv.apply(store, args));
          try {
            const whole = await collect(await wholeExport(t.store, { workspaceId: ws(), filter: copy, sort, format: 'csv' }));
            assert.deepEqual(calls, { pages: 0, copies: 1 });
            assert.equal(whole.text, await copied(copy, sort));
            assert.equal(whole.rows, 1 + 10 + QUOTED.length, 'every row, and the header not counted');
          } finally {
            Object.assign(store, { searchContents, copyCsv });
          }
        });

        it('keeps quotes, backslashes and dollar signs of filter values as they are in the COPY query', async () => {
          const sort = parseSort('id', 'asc');
          const filters: RequestFilter[] = [
            { kind: 'tags', match: 'any', tags: QUOTED },
            { kind: 'group', logic: 'and', filters: [copy, { kind: 'string', column: 'model', test: { op: 'in', values: QUOTED } }] },
            { kind: 'group', logic: 'and', filters: [copy, { kind: 'metadata', key: "it's", test: { op: 'eq', value: 'v' } }] },
            { kind: 'group', logic: 'and', filters: [copy, { kind: 'text', target: 'any', op: 'contains', value: "\\'" }] },
            { kind: 'group', logic: 'or', filters: [{ kind: 'string', column: 'provider', test: { op: 'eq', value: "'; drop table requests; --" } }, { kind: 'string', column: 'provider', test: { op: 'eq', value: '$1' } }] },
          ];
          for (const filter of filters) {
            const expected = await paged(filter, sort);
            assert.ok(expected.split('\r\n').length - 1 > 1, `${JSON.stringify(filter)} matches rows`);
            assert.equal(await copied(filter, sort), expected, JSON.stringify(filter));
          }
          // Nothing matches: the header alone.
          const none: RequestFilter = { kind: 'tags', match: 'all', tags: ["no one's tag"] };
          const header = await paged(none, sort);
          assert.equal(header.split('\r\n').length - 1, 1);
          assert.equal(await copied(none, sort), header);
        });
      }
    });

    describe('bad input: 400 naming the offending part, before any row is sent', () => {
      const bad: [string, string][] = [
        ['format=xml', 'format'],
        ['colour=red', 'colour'],
        ['score.quality=about:3', 'score.quality'],
        ['sort_by=colour', 'sort_by'],
        ['filter=%5B', 'filter'],
        ['to=never', 'to'],
      ];
      for (const [qs, field] of bad) {
        it(`rejects ${qs} naming "${field}"`, async () => {
          const res = await t.get(`/v1/requests/export?${qs}`);
          assert.equal(res.statusCode, 400, res.body);
          const json = res.json() as { success: boolean; message: string };
          assert.equal(json.success, false);
          assert.ok(json.message.startsWith(`${field}: `), `message "${json.message}" should start with "${field}: "`);
        });
      }
    });

    describe('workspace isolation', () => {
      it("exports only the caller's requests and score names", async () => {
        const foreign = await logRequest(t, { tags: ['exp'] }, t.other.key);
        await t.post('/rest/track-score', { request_id: foreign, score: 3, name: 'secret-name' }, { key: t.other.key });
        const mine = await exportOf('format=csv&tag=exp');
        const [header, ...rows] = parseCsv(mine.body);
        assert.ok(!header!.includes('score:secret-name'));
        assert.deepEqual(rows.map((r) => Number(r[0])).sort((a, b) => a - b), [plain, tricky].sort((a, b) => a - b));
        const theirs = await exportOf('format=jsonl', t.other.key);
        assert.deepEqual(theirs.body.trim().split('\n').map((l) => (JSON.parse(l) as { id: number }).id), [foreign]);
      });

      it('refuses a call without a key', async () => {
        const res = await t.get('/v1/requests/export?format=csv', { key: null });
        assert.equal(res.statusCode, 401);
      });
    });
  });
}
