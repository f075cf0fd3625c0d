import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateApiKey } from '../src/auth/api-keys.js';
import { BACKENDS } from './helpers/backends.js';
import { createLiveApp, type LiveApp } from './helpers/live-app.js';
import { runCli } from './helpers/process.js';
import { BASE, loadFixture, type Fixture } from './helpers/search-fixtures.js';
import { logRequest } from './helpers/test-app.js';

interface Page {
  items: { id: number; model: string; scores: Record<string, number>; tags: string[]; latency_ms: number; prompt_name: string | null; request_start_time: string }[];
  next_cursor: string | null;
  has_more: boolean;
}

const time = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString().slice(0, 19).replace('T', ' ');
/** The ids in the first column of a table, header and footer left out. */
const tableIds = (stdout: string) =>
  stdout
    .trim()
    .split('\n')
    .slice(1, -1)
    .map((line) => Number(line.trim().split(/\s+/)[0]));

for (const backend of BACKENDS) {
  describe(`tally requests search (a real process) [${backend}]`, () => {
    let t: LiveApp;
    let f: Fixture;
    before(async () => {
      t = await createLiveApp(backend);
      f = await loadFixture(t);
    });
    after(() => t.close());

    // Both modes read the same data: the store directly, or the live server through @tally/sdk.
    const modes = {
      store: () => [...t.location.args, '--workspace', 'alpha'],
      remote: () => ['--url', t.baseURL, '--key', t.alpha.key],
    };

    for (const [mode, target] of Object.entries(modes)) {
      const search = (...args: string[]) => runCli(['requests', 'search', ...args, ...target()]);
      const searchJson = async (...args: string[]): Promise<Page> => {
        const res = await search(...args, '--json');
        assert.equal(res.code, 0, res.stderr);
        return JSON.parse(res.stdout) as Page;
      };
      const r = (...n: number[]) => n.map((i) => f.r[i]!);

      it(`[${mode}] prints a table: newest first, one line per request with time, model, prompt, latency, cost, tags and scores`, async () => {
        const res = await search();
        assert.equal(res.code, 0, res.stderr);
        assert.equal(res.stderr, '');
        const lines = res.stdout.trimEnd().split('\n');
        assert.match(lines[0]!, /^\s*ID\s+TIME \(UTC\)\s+PROVIDER\/MODEL\s+PROMPT\s+LATENCY\s+COST\s+TAGS\s+SCORES$/);
        assert.deepEqual(tableIds(res.stdout), r(5, 4, 3, 2, 1), 'the other workspace\'s look-alike is not listed');
        assert.equal(lines.at(-1), '5 requests');
        const first = lines.find((l) => l.trim().startsWith(`${f.r[1]} `))!;
        assert.deepEqual(first.trim().split(/\s{2,}/), [String(f.r[1]), time(BASE + 10), 'openai/gpt-4o', 'summarize@1', '1000 ms', '$0.01', 'eu,prod', 'default=50 quality=90']);
        const fourth = lines.find((l) => l.trim().startsWith(`${f.r[4]} `))!;
        assert.deepEqual(fourth.trim().split(/\s{2,}/), [String(f.r[4]), time(BASE + 40), 'anthropic/claude-3', 'summarize@2', '2000 ms', '$0', '-', '-']);
      });

      it(`[${mode}] --json prints the page as the API gives it`, async () => {
        const page = await searchJson();
        assert.deepEqual(page.items.map((i) => i.id), r(5, 4, 3, 2, 1));
        assert.equal(page.has_more, false);
        assert.equal(page.next_cursor, null);
        const one = page.items.find((i) => i.id === f.r[1])!;
        assert.deepEqual([one.model, one.scores, one.tags, one.latency_ms, one.prompt_name, one.request_start_time], ['gpt-4o', { default: 50, quality: 90 }, ['eu', 'prod'], 1000, 'summarize', new Date((BASE + 10) * 1000).toISOString()]);
      });

      it(`[${mode}] applies every kind of filter flag and the sort`, async () => {
        // Both modes parse the flags with the same code; the remote mode runs the cases that prove
        // each kind of query parameter (families, repeats, JSON) survives the trip through the SDK.
        const all: [string[], number[], 'both' | 'store'][] = [
          [['--score', 'quality>=70', '--tag', 'eu', '--metadata', 'team=search'], r(1), 'both'],
          [['--score', 'quality=between:40,70'], r(3, 2), 'store'],
          [['--score', 'quality<50'], r(2), 'store'],
          [['--provider', 'anthropic', '--status', 'warning', '--without-score', 'quality'], r(4), 'both'],
          [['--model', 'gpt-4o', '--model', 'claude-3', '--tag', 'prod', '--tag', 'staging', '--tag-match', 'any'], r(5, 1), 'both'],
          [['--metadata', 'team=search'], r(4, 1), 'store'],
          [['--has-metadata', 'env'], r(1), 'store'],
          [['--prompt-name', 'summarize', '--prompt-version', '2'], r(4, 2), 'store'],
          [['--has-score', 'default', '--without-score', 'nothing'], r(5, 3, 1), 'store'],
          [['-q', 'STORY'], r(3), 'store'],
          [['--from', String(BASE + 20), '--to', new Date((BASE + 40) * 1000).toISOString(), '--max-tokens', '100'], r(3), 'both'],
          [['--min-latency-ms', '1500', '--sort', 'latency_ms', '--order', 'asc'], r(5, 4, 2), 'store'],
          [['--min-cost', '0.05', '--max-cost', '0.1', '--min-tokens', '50'], r(5), 'store'],
          [['--sort', 'score.quality', '--order', 'asc'], r(2, 3, 1, 5, 4), 'both'],
          [['--filter', JSON.stringify({ logic: 'or', filters: [{ field: 'model', op: '=', value: 'gpt-4o-mini' }, { field: 'score', name: 'default', op: '>', value: 60 }] }), '-q', 'rank'], r(2), 'both'],
        ];
        const cases = all.filter(([, , where]) => mode === 'store' || where === 'both');
        const results = await Promise.all(cases.map(([args]) => searchJson(...args)));
        cases.forEach(([args, want], i) => assert.deepEqual(results[i]!.items.map((x) => x.id), want, args.join(' ')));
      });

      it(`[${mode}] --limit pages, and --cursor continues after the last request printed`, async () => {
        const first = await searchJson('--limit', '2', '--sort', 'id', '--order', 'asc');
        assert.deepEqual(first.items.map((i) => i.id), r(1, 2));
        assert.equal(first.has_more, true);
        assert.ok(first.next_cursor);
        const rest = await searchJson('--limit', '10', '--sort', 'id', '--order', 'asc', '--cursor', first.next_cursor);
        assert.deepEqual(rest.items.map((i) => i.id), r(3, 4, 5));
        assert.equal(rest.has_more, false);
        const table = await search('--limit', '2', '--sort', 'id', '--order', 'asc');
        assert.equal(table.code, 0, table.stderr);
        assert.equal(table.stdout.trimEnd().split('\n').at(-1), `2 requests shown; more match: continue with --cursor ${first.next_cursor}`);
      });

      // The flags are checked before any I/O, whatever the backend: the first backend runs this.
      if (backend === BACKENDS[0]) it(`[${mode}] refuses a bad filter with exit code 2 and a message naming the flag`, async () => {
        const all: [string[], RegExp][] = [
          [['--score', 'quality>=high'], /^tally: --score \(score\.quality\): "high" is not a number$/],
          [['--score', 'quality=about:5'], /^tally: --score \(score\.quality\): unknown operator "about"/],
          [['--min-latency-ms', 'fast'], /^tally: --min-latency-ms: must be a number of 0 or more, not "fast"$/],
          [['--from', 'yesterday'], /^tally: --from: must be epoch seconds or an ISO 8601 date-time$/],
          [['--status', 'FINE'], /^tally: --status: must be one of SUCCESS, WARNING, ERROR$/],
          [['--tag-match', 'some'], /^tally: --tag-match: must be "any" or "all"$/],
          [['--metadata', 'team'], /^tally: --metadata: "team" is not KEY=VALUE$/],
          [['--filter', '{"field":"colour","op":"=","value":"red"}'], /^tally: --filter \(filter\.field\): unknown field "colour"/],
          [['--sort', 'fame'], /^tally: --sort: unknown sort key "fame"/],
          [['--cursor', 'not-a-cursor'], /^tally: --cursor: is not a cursor this server issued/],
          [['--limit', '0'], /^tally: --limit: must be an integer from 1 to 10000/],
        ];
        // Checked before any I/O, alike in both modes: the remote mode runs a few.
        const cases = mode === 'store' ? all : all.slice(0, 2);
        const results = await Promise.all(cases.map(([args]) => search(...args)));
        cases.forEach(([args, want], i) => {
          const res = results[i]!;
          assert.equal(res.code, 2, `${args.join(' ')}: ${res.stderr}`);
          assert.match(res.stderr.trim(), want, args.join(' '));
          assert.equal(res.stdout, '', args.join(' '));
        });
      });
    }

    it('[store] names an unknown --workspace', async () => {
      const res = await runCli(['requests', 'search', ...t.location.args, '--workspace', 'nope']);
      assert.equal(res.code, 2);
      assert.equal(res.stderr.trim(), 'tally: --workspace: no workspace named "nope"');
    });

    it('[remote] reports a wrong key with exit code 2, and --url without a key naming --key', async () => {
      const wrong = await runCli(['requests', 'search', '--url', t.baseURL, '--key', generateApiKey().key]);
      assert.equal(wrong.code, 2);
      assert.equal(wrong.stderr.trim(), 'tally: the API key is not valid or has been revoked');
      const keyless = await runCli(['requests', 'search', '--url', t.baseURL], { TALLY_API_KEY: '' });
      assert.equal(keyless.code, 2);
      assert.equal(keyless.stderr.trim(), 'tally: --key: an API key is required with --url (or env TALLY_API_KEY)');
    });

    // Last: it logs one more request.
    it('shows untrusted logged text without control characters, in both modes', async () => {
      const id = await logRequest(t, { model: 'evil\u001b[2J\nmodel', tags: ['ansi', 'bell\u0007'] });
      for (const target of Object.values(modes)) {
        const res = await runCli(['requests', 'search', '--tag', 'ansi', ...target()]);
        assert.equal(res.code, 0, res.stderr);
        assert.doesNotMatch(res.stdout, /[\u0000-\u0009\u000b-\u001f]/);
        const lines = res.stdout.trimEnd().split('\n');
        assert.equal(lines.length, 3, 'header, one row, footer');
        assert.match(lines[1]!, new RegExp(`^\\s*${id}\\s.*openai/evil\\?\\[2J\\?model .*ansi,bell\\?`));
      }
    });
  });
}

describe('tally requests search --help', () => {
  it('lists the filter flags, sort, limit, --json and both modes', async () => {
    const res = await runCli(['requests', 'search', '--help']);
    assert.equal(res.code, 0);
    assert.match(res.stdout, /Usage: tally requests search \[options\]/);
    for (const flag of ['--score <name[op]value>', '--tag <tag>', '--metadata <key=value>', '--from <time>', '--sort <field>', '--order <order>', '--limit <n>', '--json', '--url <url>', '--key <key>', '--data <dir>', '--database-url <url>']) {
      assert.ok(res.stdout.includes(flag), flag);
    }
  });
});
