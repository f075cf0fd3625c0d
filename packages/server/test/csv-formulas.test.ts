import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseSort, type RequestFilter } from '../src/domain/search-query.js';
import { exportChunks } from '../src/export/export-chunks.js';
import { copyChunks } from '../src/export/export-copy.js';
import { exportPlan, type ExportChunk } from '../src/export/export-lines.js';
import { BACKENDS } from './helpers/backends.js';
import { parseCsv } from './helpers/parse-csv.js';
import { chat, reply, score } from './helpers/search-fixtures.js';
import { createTestApp, logRequest, type TestApp } from './helpers/test-app.js';

// Cells a spreadsheet would run as formulas (OWASP's CSV injection list: = + - @ TAB CR).
const FORMULAS = {
  provider: '=HYPERLINK("http://127.0.0.1/x","click")',
  model: '+SUM(1,1)',
  function_name: '-1+2',
  prompt_name: "=cmd|' /C calc'!A0",
  error_message: '\t=1+1',
  span_id: '@SUM(1,1)',
};
const LABEL = '=2+2';
const SCORE_NAME = '=1+2';
const CR_MODEL = '\r=3+3';

/** Whether a spreadsheet would read the cell as a formula. */
const live = (cell: string) => /^[=+\-@\t\r]/.test(cell) && !/^-?\d+(\.\d+)?([eE][+-]?\d+)?$/.test(cell);

async function text(chunks: AsyncIterable<ExportChunk>): Promise<string> {
  const bytes: Buffer[] = [];
  for await (const chunk of chunks) bytes.push(Buffer.from(chunk.data));
  return Buffer.concat(bytes).toString('utf8');
}

for (const backend of BACKENDS) {
  describe(`CSV export neutralises spreadsheet formulas [${backend}]`, () => {
    let t: TestApp;
    const filter: RequestFilter = { kind: 'tags', match: 'all', tags: ['formula'] };
    before(async () => {
      t = await createTestApp(backend);
      const id = await logRequest(t, { ...FORMULAS, status: 'ERROR', error_type: 'PROVIDER_ERROR', tags: ['formula', '=tag()'], metadata: { '=k': '=v' }, input: chat('=1+1'), output: reply('@x'), request_start_time: 1_700_000_000, request_end_time: 1_700_000_001 });
      const res = await t.post('/library-track-prompt', { request_id: id, prompt_name: FORMULAS.prompt_name, label: LABEL, api_key: t.alpha.key });
      assert.equal(res.statusCode, 200, res.body);
      await score(t, id, SCORE_NAME, 7);
      await logRequest(t, { model: CR_MODEL, provider: '-12', function_name: '-0.5', tags: ['formula'], request_start_time: 1_700_000_002, request_end_time: 1_700_000_003 });
    });
    after(() => t.close());

    /** Every cell of every record: none live, and the formula values are there with a leading quote. */
    function check(csv: string, how: string): void {
      const rows = parseCsv(csv);
      assert.equal(rows.length, 3, `${how}: a header and two rows`);
      const header = rows[0]!;
      for (const row of rows) for (const cell of row) assert.ok(!live(cell), `${how}: ${JSON.stringify(cell)} is a live formula`);
      const col = (name: string) => header.indexOf(name);
      const byProvider = new Map(rows.slice(1).map((r) => [r[col('provider')]!, r]));
      const first = byProvider.get(`'${FORMULAS.provider}`);
      assert.ok(first, `${how}: the provider cell is the value with a quote in front`);
      for (const [field, value] of Object.entries(FORMULAS)) assert.equal(first[col(field)], `'${value}`, `${how}: ${field}`);
      assert.equal(first[col('prompt_label')], `'${LABEL}`, `${how}: prompt_label`);
      assert.ok(header.includes(`score:${SCORE_NAME}`), `${how}: the score column keeps its name (it starts with "s")`);
      assert.equal(first[col(`score:${SCORE_NAME}`)], '7');
      // A number is never a formula, and the JSON cells stay JSON.
      const second = byProvider.get('-12');
      assert.ok(second, `${how}: a numeric provider is left as it is`);
      assert.equal(second[col('function_name')], '-0.5');
      assert.equal(second[col('model')], `'${CR_MODEL}`);
      assert.deepEqual((JSON.parse(first[col('tags')]!) as string[]).sort(), ['=tag()', 'formula']);
      assert.deepEqual(JSON.parse(first[col('metadata')]!), { '=k': '=v' });
    }

    it('over HTTP, sorted by a column (COPY on PostgreSQL) and by a score (pages)', async () => {
      for (const qs of ['tag=formula&sort_by=id&sort_order=asc', `tag=formula&sort_by=score.${encodeURIComponent(SCORE_NAME)}`]) {
        const res = await t.get(`/v1/requests/export?format=csv&${qs}`);
        assert.equal(res.statusCode, 200, res.body);
        check(res.body, qs);
      }
    });

    it('in pages and (PostgreSQL) through COPY, byte for byte alike', async () => {
      const sort = parseSort('id', 'asc');
      const ws = t.alpha.workspace.id;
      const req = { workspaceId: ws, filter, sort, format: 'csv' as const };
      const plan = await exportPlan(t.store, req, 1);
      const paged = await text(exportChunks(t.store, req, { ...plan, copy: false }));
      check(paged, 'pages');
      if (backend === 'postgres') {
        assert.ok(plan.copy);
        const copied = await text(copyChunks(t.store, req, plan.scoreNames));
        check(copied, 'COPY');
        assert.equal(copied, paged);
      }
    });
  });
}
