import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SDK = fileURLToPath(new URL('../..', import.meta.url));
/** packages/sdk/dist: what `npm install` builds and what users import. */
export const DIST = join(SDK, 'dist');
/** The shared scenario, the test page and the Node client (plain JavaScript, served or run as is). */
export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/**
 * The tests that run the SDK outside this process (a browser, Node 18) run the build, not the
 * sources: rebuild it when it is missing or older than src/. Returns the file URL of dist/index.js.
 */
export function ensureSdkBuilt(): string {
  const index = join(DIST, 'index.js');
  if (!existsSync(index) || statSync(index).mtimeMs < newestMtime(join(SDK, 'src'))) {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: SDK, stdio: 'inherit' });
  }
  return pathToFileURL(index).href;
}
