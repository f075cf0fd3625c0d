/**
 * CLI start-up (`npm run bench:cli`): wall time of `tally --help`, `tally serve --help` and
 * `tally keys list --help` from the built CLI (bin/tally.js), with `node -e 0` beside them as
 * the floor a Node process costs on this machine. Each command runs `--runs` times one after
 * another (hyperfine's way, after one warm-up run); the median, fastest and slowest are printed.
 * Issue 32's target: `tally --help` under 300 ms. Build first (`npm run build -w @tally/server`).
 *
 *   npm run bench:cli -- [--runs 10]
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from './lib/processes.js';

const { values: opts } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
const runs = Number(opts.runs);
const BIN = fileURLToPath(new URL('../packages/server/bin/tally.js', import.meta.url));

function time(args: string[]): number[] {
  const run = () => {
    const t = process.hrtime.bigint();
    const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.status !== 0) throw new Error(`node ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return Number(process.hrtime.bigint() - t) / 1e6;
  };
  run();
  return Array.from({ length: runs }, run);
}

const cases: [string, string[]][] = [
  ['node -e 0 (floor)', ['-e', '0']],
  ['tally --help', [BIN, '--help']],
  ['tally serve --help', [BIN, 'serve', '--help']],
  ['tally keys list --help', [BIN, 'keys', 'list', '--help']],
];
console.log(`${runs} runs each; wall milliseconds`);
for (const [name, args] of cases) {
  const ms = time(args);
  console.log(`${name.padEnd(24)} median ${median(ms).toFixed(0).padStart(5)}   min ${Math.min(...ms).toFixed(0).padStart(5)}   max ${Math.max(...ms).toFixed(0).padStart(5)}`);
}
