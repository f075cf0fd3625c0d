/**
 * The README's "Your first hour", run as written, in order, against a fresh server (issue 32): the
 * test reads the section's fenced blocks from README.md itself, so the README cannot drift from
 * what works. Step 1's block (`npm install && npm start`) is the one the test does its own way: it
 * starts the built server in an empty folder, on a free port, and checks the start-up lines the
 * README shows. Then, like the reader's second terminal, the `export` block with the printed key
 * and the server's address put in for `tl_...` and `http://127.0.0.1:8787`, and every later `sh`
 * block, one paragraph (commands between blank lines) at a time, from the repository root, in bash.
 *
 * What a paragraph prints is checked against the README:
 * - a `# ...` line right after the command is its output (`...` stands for anything);
 * - a description naming requests, `(request 2)` or `(requests 1 and 3)`, names what a search finds;
 * - no JSON answer may say `"success": false`.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const README_URL = 'http://127.0.0.1:8787';

interface Block {
  lang: string;
  text: string;
}

/** The fenced blocks of the README's "Your first hour" section, in order. */
function walkthroughBlocks(readme: string): Block[] {
  const start = readme.indexOf('\n## Your first hour\n');
  assert.ok(start >= 0, 'the README has a "Your first hour" section');
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1]!, text: m[2]! }));
}

/** A block's paragraphs: leading `#` lines describe, then commands, then `#` lines show the output. */
function paragraphs(text: string): { description: string; command: string; output: string | null }[] {
  return text
    .split(/\n\s*\n/)
    .map((p) => p.split('\n').filter((l) => l !== ''))
    .filter((lines) => lines.length > 0)
    .map((lines) => {
      let first = 0;
      while (first < lines.length && lines[first]!.startsWith('#')) first++;
      let last = lines.length;
      while (last > first && lines[last - 1]!.startsWith('# ')) last--;
      const output = last < lines.length ? lines.slice(last).map((l) => l.slice(2)).join('\n') : null;
      return { description: lines.slice(0, first).join('\n'), command: lines.slice(first, last).join('\n'), output };
    })
    .filter((p) => p.command !== '');
}

/** `...` in the README's shown output stands for anything. */
const shownAsRegExp = (shown: string) => new RegExp(`^${shown.split('...').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*')}$`);

/** `(request 2)`, `(requests 1 and 3)`, `(requests 1, 2 and 3)` in a description: those ids, sorted. */
function namedRequests(description: string): number[] | null {
  const m = /\(requests? ([\d, and]+)\)/.exec(description);
  return m ? [...m[1]!.matchAll(/\d+/g)].map((d) => Number(d[0])).sort((a, b) => a - b) : null;
}

describe("the README's first hour, step by step, on a fresh server", { timeout: 180_000 }, () => {
  let dir: string;
  let server: ReturnType<typeof spawn>;
  let out = '';
  let url = '';
  let key = '';
  const blocks = walkthroughBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tally-readme-'));
    // `npm start` is `tally serve`: here from an empty folder, so ./data is new, on a free port.
    server = spawn(process.execPath, [join(ROOT, 'packages/server/bin/tally.js'), 'serve', '--port', '0'], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    server.stdout!.on('data', (d) => (out += d));
    server.stderr!.on('data', (d) => (out += d));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no setup link in 30 s:\n${out}`)), 30_000);
      server.stdout!.on('data', () => {
        if (/\/setup\/\S+\n/.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      });
      server.once('close', (code) => reject(new Error(`tally serve exited ${code}:\n${out}`)));
    });
    url = /Tally listening on (http:\/\/\S+)/.exec(out)![1]!;
    key = /^(tl_[0-9A-Za-z]+)$/m.exec(out)![1]!;
  });
  after(async () => {
    if (server.exitCode === null) {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('close', r));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('step 1 starts the server with `npm install && npm start`, which prints what the README shows', () => {
    assert.equal(blocks[0]?.text.trim(), 'npm install && npm start');
    assert.equal(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts.start, 'node packages/server/bin/tally.js serve');
    const shown = blocks[1]!;
    assert.equal(shown.lang, 'text');
    // The reader's server listens on 8787; this one on a free port.
    const printed = out.split('\n').filter((l) => !l.startsWith('{'));
    const expected = shown.text.trimEnd().split('\n').map((l) => l.replace(README_URL, url));
    for (const line of expected) assert.ok(printed.some((p) => shownAsRegExp(line).test(p)), `the server printed "${line}":\n${printed.join('\n')}`);
  });

  it('every later command runs in order and prints what the README says', () => {
    const exportsBlock = blocks[2]!;
    assert.match(exportsBlock.text, /^export KEY=tl_\.\.\./m);
    const session = exportsBlock.text.replace('tl_...', key).replaceAll(README_URL, url);
    const steps = blocks.slice(3).filter((b) => b.lang === 'sh');
    assert.ok(steps.length >= 5, `the walkthrough has its steps: ${steps.length}`);
    let ran = 0;
    for (const block of steps) {
      for (const p of paragraphs(block.text)) {
        const r = spawnSync('bash', ['-e', '-o', 'pipefail', '-c', `${session}\n${p.command}`], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
        const what = `${p.description}\n${p.command}\n--- printed:\n${r.stdout}${r.stderr}`;
        assert.equal(r.status, 0, what);
        ran++;
        const printed = r.stdout.trim();
        for (const line of printed.split('\n')) {
          if (!line.startsWith('{')) continue;
          const body = JSON.parse(line) as { success?: boolean };
          assert.notEqual(body.success, false, what);
        }
        if (p.output !== null) assert.match(printed, shownAsRegExp(p.output), what);
        const named = namedRequests(p.description);
        if (named !== null) {
          const items = (JSON.parse(printed) as { items: { id: number }[] }).items;
          assert.deepEqual(items.map((i) => i.id).sort((a, b) => a - b), named, what);
        }
      }
    }
    assert.ok(ran >= 10, `ran the walkthrough's commands: ${ran}`);
  });
});
