import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import type { NewRequest } from '../src/domain/request-shape.js';
import { DatabaseUnavailableError } from '../src/store/database-errors.js';
import { openStore } from '../src/store/open-store.js';
import { sqliteRuns } from '../src/store/sqlite/sqlite-runs.js';
import type { InsertRequestCommand, SetScoreCommand } from '../src/store/write-commands.js';

const actor = { id: 'key:1', source: 'api' } as const;
const request: NewRequest = {
  provider: 'openai', model: 'm', functionName: '', apiType: null, input: { type: 'chat', messages: [] }, output: { type: 'chat', messages: [] },
  parameters: {}, promptName: null, promptId: null, promptVersion: null, promptInputVariables: {}, inputTokens: 0, outputTokens: 0, price: 0,
  status: 'SUCCESS', errorType: null, errorMessage: null, startMs: 1_700_000_000_000, endMs: 1_700_000_000_250, tags: ['t'], metadata: { k: 'v' },
  groupId: null, spanId: null, score: null,
};

/**
 * The writer thread's runs call better-sqlite3 directly, not through Kysely's driver, so they map
 * outage errors themselves: a write the file refuses answers 503 (DatabaseUnavailableError) like
 * every other write, not 500. (Their outcomes are covered through store.writeBatch in
 * write-batch.test.ts.)
 */
describe('SQLite write runs on the writer thread', () => {
  it('turn a write the database refuses into DatabaseUnavailableError naming the problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-runs-'));
    const store = await openStore({ dataDir: dir });
    const conn = new SQLite(join(dir, 'tally.db'), { readonly: true });
    try {
      const ws = await store.createWorkspace('w');
      const [logged] = await store.writeBatch([{ op: 'insertRequest', workspaceId: ws.id, request, actor }]);
      assert.ok(logged?.ok);
      const runs = sqliteRuns(conn);
      const score: SetScoreCommand = { op: 'setScore', workspaceId: ws.id, requestId: logged.value as number, name: 'q', value: 5, actor };
      const insert: InsertRequestCommand = { op: 'insertRequest', workspaceId: ws.id, request, actor };
      for (const attempt of [() => runs.eachScore(null, [score]), () => runs.eachRequest(null, [insert, insert])]) {
        await assert.rejects(attempt(), (err: unknown) => {
          assert.ok(err instanceof DatabaseUnavailableError, String(err));
          assert.equal(err.problem, 'database file is read-only');
          assert.match(err.driverCode, /^SQLITE_READONLY/);
          return true;
        });
      }
      // A request that is not there is refused alone, before any write is tried.
      assert.deepEqual(
        (await runs.eachScore(null, [{ ...score, requestId: 999_999 }])).map((o) => (o.ok ? 'ok' : (o.error as Error).message)),
        ['request_id: no request with this id'],
      );
    } finally {
      conn.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
