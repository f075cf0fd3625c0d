import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import type { NewRequest } from '../src/domain/request-shape.js';
import { openStore } from '../src/store/open-store.js';
import { openPostgresStore } from '../src/store/postgres/postgres-store.js';
import type { WriteCommand } from '../src/store/write-commands.js';
import { BACKENDS, freshLocation } from './helpers/backends.js';

const actor = { id: 'key:1', source: 'api' } as const;
const request: NewRequest = {
  provider: 'openai', model: 'm', functionName: '', apiType: null, input: { type: 'chat', messages: [] }, output: { type: 'chat', messages: [] },
  parameters: {}, promptName: null, promptId: null, promptVersion: null, promptInputVariables: {}, inputTokens: 0, outputTokens: 0, price: 0,
  status: 'SUCCESS', errorType: null, errorMessage: null, startMs: 1_700_000_000_000, endMs: 1_700_000_000_250, tags: ['a', 'b'], metadata: { k: 'v' },
  groupId: null, spanId: null, score: null,
};

const PREPARED = ['request_run_ids', 'request_run_metadata', 'request_run_requests', 'request_run_tags', 'score_run_events', 'score_run_upsert'];

/**
 * The write batches' insert statements are kept prepared on each PostgreSQL connection
 * (named-statements.ts); everything else is sent as plain text, planned on every run.
 */
describe('named statements of the write batches [postgres]', { skip: BACKENDS.includes('postgres') ? false : 'PostgreSQL not among TALLY_TEST_BACKENDS' }, () => {
  it('are prepared once per connection and reused by later batches; other statements are not prepared', async () => {
    const loc = await freshLocation('postgres');
    // Migrated by a store of the usual kind (its migration lock holds a connection of its own) ...
    const setup = await openStore({ databaseUrl: loc.databaseUrl, dataDir: loc.dataDir });
    const ws = await setup.createWorkspace('w');
    await setup.close();
    // ... then used by one with one connection, so the prepared statements seen below are the batches'.
    const store = openPostgresStore({ connectionString: loc.databaseUrl!, maxConnections: 1 });
    try {
      const log = (): WriteCommand => ({ op: 'insertRequest', workspaceId: ws.id, request, actor });
      const ids: number[] = [];
      for (let round = 0; round < 8; round++) {
        const logged = await store.writeBatch([log(), log(), log()]);
        ids.push(...logged.map((o) => (o.ok ? (o.value as number) : assert.fail(String(o.error)))));
        const scored = await store.writeBatch(ids.slice(-3).map((requestId, i): WriteCommand => ({ op: 'setScore', workspaceId: ws.id, requestId, name: `s${i}`, value: round * 10 + i, actor })));
        assert.deepEqual(scored.map((o) => o.ok), [true, true, true]);
      }
      const { rows } = await sql<{ name: string; generic: number; custom: number }>`
        select name, generic_plans::int as generic, custom_plans::int as custom from pg_prepared_statements order by name`.execute(store.db);
      assert.deepEqual(rows.map((r) => r.name), PREPARED);
      // Each ran once per batch of its kind, from one preparation: eight runs each.
      for (const r of rows) assert.equal(r.generic + r.custom, 8, `${r.name}: ${r.generic} generic + ${r.custom} custom plans`);
      // What they wrote reads back: 24 requests with 2 tags and 1 metadata entry each, 3 scores per round.
      const counts = await sql<{ requests: number; tags: number; metadata: number; scores: number; events: number }>`
        select (select count(*)::int from requests) as requests, (select count(*)::int from request_tags) as tags,
          (select count(*)::int from request_metadata) as metadata, (select count(*)::int from scores) as scores,
          (select count(*)::int from score_events) as events`.execute(store.db);
      assert.deepEqual(counts.rows[0], { requests: 24, tags: 48, metadata: 24, scores: 24, events: 24 });
      const last = await store.getRequest(ws.id, ids.at(-1)!);
      assert.deepEqual(last?.scores, { s2: 72 });
    } finally {
      await store.close();
      await loc.drop();
    }
  });
});
