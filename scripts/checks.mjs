#!/usr/bin/env node
/**
 * Runs the checks `npm test` starts with, as many at once as there are cores, printing each one's
 * output whole when it ends:
 *
 *   node scripts/checks.mjs [build] [typecheck] [imports]
 *
 * Without names: all three. The builds run first, one after the other, since the server and the
 * typechecks of the SDK's users read its compiled declarations; each type check is a compiler
 * process of its own, one core each, so side by side they take the time of the longest.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = (project) => ['node', ['node_modules/typescript/bin/tsc', '-p', project, '--noEmit']];

const STEPS = {
  // In this order, one after the other: the server's CLI compiles against the SDK's declarations.
  build: [
    ['npm', ['run', 'build', '-w', '@tally/sdk']],
    ['npm', ['run', 'build', '-w', '@tally/server']],
  ],
  // Longest first, so the short ones fill in beside them instead of one long one ending alone.
  typecheck: [
    tsc('packages/server/tsconfig.json'),
    tsc('packages/dashboard/tsconfig.json'),
    tsc('packages/sdk/test/tsconfig.json'),
    tsc('bench/tsconfig.json'),
    tsc('packages/sdk/tsconfig.json'),
    tsc('scripts/tsconfig.json'),
  ],
  imports: [['node', ['--import', 'tsx', 'scripts/check-imports.ts']]],
};

const names = process.argv.slice(2);
for (const n of names) {
  if (!(n in STEPS)) {
    console.error(`usage: checks.mjs [${Object.keys(STEPS).join('] [')}]`);
    process.exit(2);
  }
}
const wanted = names.length > 0 ? names : Object.keys(STEPS);

function run([cmd, args]) {
  return new Promise((done) => {
    const started = Date.now();
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks = [];
    child.stdout.on('data', (d) => chunks.push(d));
    child.stderr.on('data', (d) => chunks.push(d));
    child.on('close', (code) => {
      const line = `${cmd} ${args.join(' ')}`;
      const output = Buffer.concat(chunks).toString().trim();
      process.stdout.write(`━━ ${line}: ${code === 0 ? 'ok' : `FAILED (exit ${code})`} in ${((Date.now() - started) / 1000).toFixed(1)} s\n${output ? `${output}\n` : ''}`);
      done(code === 0);
    });
  });
}

async function pool(steps, width) {
  const queue = [...steps];
  const results = [];
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) results.push(await run(next));
  };
  await Promise.all(Array.from({ length: Math.min(width, queue.length) }, worker));
  return results.every(Boolean);
}

const width = availableParallelism();
let ok = true;
if (wanted.includes('build')) ok = (await pool(STEPS.build, 1)) && ok;
if (ok) ok = (await pool(wanted.filter((n) => n !== 'build').flatMap((n) => STEPS[n]), width)) && ok;
process.exit(ok ? 0 : 1);
