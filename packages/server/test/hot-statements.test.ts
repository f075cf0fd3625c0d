import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import type { NewRequest } from '../src/domain/request-shape.js';
import { DatabaseUnavailableError } from '../src/store/database-errors.js';
import { openStore } from '../src/store/open-store.js';
import { kyselyOver } from '../src/store/sqlite/connection.js';
import { hotStatements } from '../src/store/sqlite/hot-statements.js';
import { SqliteBatchWriter } from '../src/store/sqlite/sqlite-batch-writer.js';
import { programOf, runNow } from '../src/store/write-programs.js';

const actor = { id: 'key:1', source: 'api' } as const;
const request: NewRequest = {
  provider: 'openai', model: 'm', functionName: '', apiType: null, input: { type: 'chat', messages: [] }, output: { type: 'chat', messages: [] },
  parameters: {}, promptName: null, promptId: null, promptVersion: null, promptInputVariables: {}, inputTokens: 0, outputTokens: 0, price: 0,
  status: 'SUCCESS', errorType: null, errorMessage: null, startMs: 1_700_000_000_000, endMs: 1_700_000_000_250, tags: ['t'], metadata: { k: 'v' },
  groupId: null, spanId: null, score: null,
};

/**
 * The writer thread runs the hot statements on better-sqlite3 directly, not through Kysely's
 * driver, so it maps outage errors itself: a write the file refuses answers 503
 * (DatabaseUnavailableError) like every other write, not 500. (The writes' outcomes are covered
 * through store.writeBatch in write-batch.test.ts.)
 */
describe('SQLite hot statements on the writer thread', () => {
  it('turn a write the database refuses into DatabaseUnavailableError naming the problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-hot-'));
    const store = await openStore({ dataDir: dir });
    const conn = new SQLite(join(dir, 'tally.db'), { readonly: true });
    const db = kyselyOver(conn);
    try {
      const ws = await store.workspaces.create('w');
      const [logged] = await store.writeBatch([{ op: 'insertRequest', workspaceId: ws.id, request, actor }]);
      assert.ok(logged?.ok);
      const requestId = logged.value as number;
      const exec = hotStatements(conn);
      const ctx = { compiler: db };
      const setScore = (requestId: number) => ({ op: 'setScore' as const, workspaceId: ws.id, requestId, name: 'q', value: 5, actor });
      const unavailable = (err: unknown) => {
        assert.ok(err instanceof DatabaseUnavailableError, String(err));
        assert.equal(err.problem, 'database file is read-only');
        assert.match(err.driverCode, /^SQLITE_READONLY/);
        return true;
      };
      for (const c of [setScore(requestId), { op: 'insertRequest' as const, workspaceId: ws.id, request, actor }]) {
        assert.throws(() => runNow(programOf(c, ctx), exec), unavailable);
        // The same write in a batch on the writer thread's side of the seam fails the batch alike.
        await assert.rejects(new SqliteBatchWriter(conn, db).commit([c]), unavailable);
      }
      // A request that is not there is refused by its check, before any write is tried.
      assert.throws(() => runNow(programOf(setScore(999_999), ctx), exec), /request_id: no request with this id/);
      // A read gives its one value, or undefined when there is no row.
      assert.equal(exec({ statement: 'requireRequest', params: { request_id: requestId, workspace_id: ws.id } }), requestId);
      assert.equal(exec({ statement: 'requireRequest', params: { request_id: requestId, workspace_id: ws.id + 1 } }), undefined);
    } finally {
      conn.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
