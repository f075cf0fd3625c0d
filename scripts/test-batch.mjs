/**
 * Runs several test files in one process, for scripts/run-tests.mjs:
 *
 *   node --import tsx --test-reporter=spec scripts/test-batch.mjs test/a.test.ts test/b.test.ts
 *
 * Each file declares its tests when imported; node:test runs them in the order declared, one file's
 * after another's, and the reporter names a failing test's file and line.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

for (const file of process.argv.slice(2)) await import(pathToFileURL(resolve(file)).href);
