import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ExportProgress } from '../src/commands/export-progress.js';
import { BACKENDS } from './helpers/backends.js';
import { createLiveApp, type LiveApp } from './helpers/live-app.js';
import { parseCsv } from './helpers/parse-csv.js';
import { CLI, runCli } from './helpers/process.js';
import { BASE, bulkInsert, chat, reply, score } from './helpers/search-fixtures.js';
import { logRequest } from './helpers/test-app.js';

const TRICKY = 'He said "hi, there"\nthen, on a new line: "bye"\r\nend';
const BULK = 1203; // several export pages (EXPORT_PAGE_ROWS)

const inputText = (input: unknown) => (input as { messages: { content: { text: string }[] }[] }).messages[0]!.content[0]!.text;

for (const backend of BACKENDS) {
  describe(`tally export (a real process) [${backend}]`, () => {
    let t: LiveApp;
    let tricky: number;
    let plain: number;
    let dir: string;
    let bulk: number[];
    before(async () => {
      t = await createLiveApp(backend);
      dir = mkdtempSync(join(tmpdir(), 'tally-cli-export-'));
      tricky = await logRequest(t, {
        tags: ['exp', 'a,b'],
        metadata: { note: 'x, "y"\nz' },
        input: chat(TRICKY),
        output: reply('Sure, "ok"'),
        prompt_name: 'sum, mary',
        request_start_time: BASE + 2,
        request_end_time: BASE + 3,
      });
      plain = await logRequest(t, { tags: ['exp'], request_start_time: BASE + 1, request_end_time: BASE + 2 });
      await score(t, tricky, 'quality', 91);
      await score(t, tricky, 'with,comma', 5);
      await score(t, plain, 'quality', 12);
      await logRequest(t, { tags: ['exp'] }, t.other.key);
      bulk = await bulkInsert(t, BULK, 'bulk', BASE + 1000);
    });
    after(async () => {
      rmSync(dir, { recursive: true, force: true });
      await t.close();
    });

    const modes = {
      store: () => [...t.location.args, '--workspace', 'alpha'],
      remote: () => ['--url', t.baseURL, '--key', t.alpha.key],
    };

    for (const [mode, target] of Object.entries(modes)) {
      const exportCli = (...args: string[]) => runCli(['export', ...args, ...target()]);

      it(`[${mode}] writes CSV to stdout byte for byte as the API does; prompt text with commas, quotes and newlines reads back`, async () => {
        const [res, api] = await Promise.all([exportCli('--format', 'csv', '--tag', 'exp'), t.get('/v1/requests/export?format=csv&tag=exp')]);
        assert.equal(res.code, 0, res.stderr);
        assert.equal(res.stderr, '', 'no progress line when stderr is not a terminal');
        assert.equal(res.stdout, api.body);
        const [header, ...rows] = parseCsv(res.stdout);
        const col = (name: string) => header!.indexOf(name);
        assert.deepEqual(rows.map((r) => Number(r[col('id')])), [tricky, plain], 'newest first, the other workspace left out');
        const row = rows[0]!;
        assert.equal(inputText(JSON.parse(row[col('input')]!)), TRICKY);
        assert.equal(row[col('prompt_name')], 'sum, mary');
        assert.deepEqual(JSON.parse(row[col('metadata')]!), { note: 'x, "y"\nz' });
        assert.deepEqual(JSON.parse(row[col('tags')]!), ['a,b', 'exp']);
        assert.deepEqual([row[col('score:quality')], row[col('score:with,comma')]], ['91', '5']);
        assert.deepEqual([rows[1]![col('score:quality')], rows[1]![col('score:with,comma')]], ['12', '']);
      });

      it(`[${mode}] writes JSON Lines, one request per line as GET /v1/requests/{id} gives it`, async () => {
        const res = await exportCli('--format', 'jsonl', '--tag', 'exp', '--sort', 'id', '--order', 'asc');
        assert.equal(res.code, 0, res.stderr);
        assert.ok(res.stdout.endsWith('\n'));
        const lines = res.stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
        assert.deepEqual(lines.map((l) => l.id), [tricky, plain].sort((a, b) => a - b));
        const one = lines.find((l) => l.id === tricky)!;
        const viaApi = (await t.get(`/v1/requests/${tricky}`)).json() as { request: Record<string, unknown> };
        assert.deepEqual(one, viaApi.request);
        assert.equal(inputText(one.input), TRICKY);
      });

      it(`[${mode}] -o FILE writes the file (and nothing half-written beside it) and says how many requests`, async () => {
        const file = join(dir, `${mode}-out.csv`);
        const res = await exportCli('--format', 'csv', '--tag', 'exp', '--score', 'quality>50', '-o', file);
        assert.equal(res.code, 0, res.stderr);
        assert.equal(res.stdout.trim(), `exported 1 request to ${file}`);
        assert.equal(res.stderr, '');
        const rows = parseCsv(readFileSync(file, 'utf8'));
        assert.equal(rows.length, 2, 'header and one row');
        assert.equal(Number(rows[1]![0]), tricky);
        assert.deepEqual(readdirSync(dir).filter((n) => n.includes('partial')), []);
      });

      it(`[${mode}] streams more than one page: every bulk request exactly once, in order`, async () => {
        const res = await exportCli('--format', 'jsonl', '--tag', 'bulk', '--sort', 'request_start_time', '--order', 'asc');
        assert.equal(res.code, 0, res.stderr);
        const ids = res.stdout.trimEnd().split('\n').map((l) => (JSON.parse(l) as { id: number }).id);
        assert.equal(ids.length, BULK);
        assert.deepEqual(ids, bulk);
      });

      // The flags are checked before any I/O, whatever the backend: the first backend runs this.
      if (backend === BACKENDS[0]) it(`[${mode}] refuses a bad filter or format with exit code 2 naming the flag, and creates no file`, async () => {
        const file = join(dir, `${mode}-refused.csv`);
        const [badScore, badFormat, badTime] = await Promise.all([
          exportCli('--score', 'quality>=high', '-o', file),
          exportCli('--format', 'xlsx', '-o', file),
          exportCli('--to', 'tomorrow', '-o', file),
        ]);
        assert.deepEqual([badScore.code, badScore.stderr.trim()], [2, 'tally: --score (score.quality): "high" is not a number']);
        assert.deepEqual([badFormat.code, badFormat.stderr.trim()], [2, 'tally: --format: must be "csv" or "jsonl"']);
        assert.deepEqual([badTime.code, badTime.stderr.trim()], [2, 'tally: --to: must be epoch seconds or an ISO 8601 date-time']);
        assert.equal(existsSync(file), false);
        assert.deepEqual(readdirSync(dir).filter((n) => n.includes('refused')), []);
      });
    }

    it('[remote] a wrong key exits 2 and leaves no file', async () => {
      const file = join(dir, 'wrong-key.csv');
      const res = await runCli(['export', '--url', t.baseURL, '--key', 'tl_wrong', '-o', file]);
      assert.equal(res.code, 2);
      assert.equal(res.stderr.trim(), 'tally: the API key is not valid or has been revoked');
      assert.equal(existsSync(file), false);
    });

    it('[store] on a terminal, stderr shows a bar with rows and rate; stdout keeps only the data', { skip: !existsSync('/usr/bin/script') && 'needs script(1) for a terminal' }, async () => {
      const file = join(dir, 'tty.jsonl');
      const cli = [process.execPath, ...CLI, 'export', '--format', 'jsonl', '--tag', 'bulk', '-o', file, ...modes.store()];
      // script(1) runs the CLI on a pseudo-terminal, so its stderr is a TTY as for a person.
      const out = await new Promise<string>((resolve, reject) => {
        const child = spawn('script', ['-qefc', cli.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' '), '/dev/null'], {
          cwd: fileURLToPath(new URL('..', import.meta.url)),
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let text = '';
        child.stdout.on('data', (d) => (text += d));
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`exit ${code}: ${text}`))));
      });
      assert.match(out, new RegExp(`\\r\\u001b\\[2K\\[#{24}\\] 100%  ${BULK.toLocaleString('en-US')}/${BULK.toLocaleString('en-US')} rows  [\\d,]+ rows/s`));
      assert.match(out, new RegExp(`exported ${BULK} requests to `));
      assert.equal(readFileSync(file, 'utf8').trimEnd().split('\n').length, BULK);
    });
  });
}

describe('export progress line', () => {
  const fakeTty = (isTTY: boolean) => {
    const writes: string[] = [];
    return { stream: { isTTY, columns: 200, write: (s: string) => writes.push(s) }, writes };
  };

  it('draws rows, rate and a bar with the total, at most every interval, and ends the line', () => {
    let now = 0;
    const { stream, writes } = fakeTty(true);
    const p = new ExportProgress(stream, { now: () => now, intervalMs: 100 });
    p.setTotal(400);
    for (let i = 0; i < 200; i++) {
      now += 1;
      p.add();
    }
    assert.equal(writes.length, 2, 'drawn at 1 ms and 101 ms, not on every row');
    assert.equal(p.line(), '[############............]  50%  200/400 rows  1,000 rows/s');
    p.finish();
    assert.equal(writes.at(-2), '\r\u001b[2K[############............]  50%  200/400 rows  1,000 rows/s');
    assert.equal(writes.at(-1), '\n');
  });

  it('without a total shows rows and rate only', () => {
    let now = 0;
    const { stream } = fakeTty(true);
    const p = new ExportProgress(stream, { now: () => now });
    now = 2000;
    for (let i = 0; i < 5000; i++) p.add();
    assert.equal(p.line(), 'exported 5,000 rows  2,500 rows/s');
  });

  it('writes nothing when the stream is not a terminal', () => {
    const { stream, writes } = fakeTty(false);
    const p = new ExportProgress(stream);
    p.setTotal(3);
    p.add();
    p.finish();
    assert.deepEqual(writes, []);
    assert.equal(p.rows, 1);
  });
});

describe('tally export --help', () => {
  it('lists the format, output, filter flags and both modes', async () => {
    const res = await runCli(['export', '--help']);
    assert.equal(res.code, 0);
    assert.match(res.stdout, /Usage: tally export \[options\]/);
    for (const flag of ['--format <format>', '-o, --output <file>', '--score <name[op]value>', '--tag <tag>', '--sort <field>', '--url <url>', '--key <key>', '--data <dir>']) {
      assert.ok(res.stdout.includes(flag), flag);
    }
  });
});
