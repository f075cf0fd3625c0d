import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { BACKENDS, freshLocation, openUnmigrated } from './helpers/backends.js';

const T0 = Date.UTC(2024, 0, 1);

for (const backend of BACKENDS) {
  describe(`migration 009 [${backend}]`, () => {
    it('keeps every score and history row, and derives ratings from the history written before it', async () => {
      const loc = await freshLocation(backend);
      const open = () => openUnmigrated(loc);
      let store = open();
      try {
        await store.migrate('008-text-index');
        const ws = await store.workspaces.create('w');
        const insertRequest = async () => {
          const { rows } = await sql<{ id: number }>`
            insert into requests (workspace_id, provider, model, function_name, input, output, parameters, prompt_input_variables,
              input_tokens, output_tokens, price, status, request_start_time, request_end_time, latency_ms, created_at)
            values (${ws.id}, 'openai', 'm', '', '{}', '{}', '{}', '{}', 0, 0, 0, 'SUCCESS', ${T0}, ${T0 + 1}, 1, 0) returning id`.execute(store.db);
          return Number(rows[0]!.id);
        };
        const a = await insertRequest();
        const b = await insertRequest();
        const event = (request: number, name: string, oldValue: number | null, newValue: number | null, actor: string, at: number, comment: string | null = null) =>
          sql`insert into score_events (workspace_id, request_id, name, old_value, new_value, actor, source, comment, batch_id, at)
            values (${ws.id}, ${request}, ${name}, ${oldValue}, ${newValue}, ${actor}, 'api', ${comment}, null, ${at})`.execute(store.db);
        const score = (request: number, name: string, value: number, actor: string, at: number) =>
          sql`insert into scores (workspace_id, request_id, name, value, updated_at, updated_by, source) values (${ws.id}, ${request}, ${name}, ${value}, ${at}, ${actor}, 'api')`.execute(store.db);
        // Request a, "quality": key 1 rates 40, key 2 rates 70, someone deletes it, key 2 rates 90, user 3 rates 60.
        await event(a, 'quality', null, 40, 'key:1', T0 + 1);
        await event(a, 'quality', 40, 70, 'key:2', T0 + 2, 'second look');
        await event(a, 'quality', 70, null, 'key:1', T0 + 3, 'wrong request');
        await event(a, 'quality', null, 90, 'key:2', T0 + 4);
        await event(a, 'quality', 90, 60, 'user:3', T0 + 5);
        await score(a, 'quality', 60, 'user:3', T0 + 5);
        // Request b, "tone": one rating.
        await event(b, 'tone', null, 5, 'key:1', T0 + 6);
        await score(b, 'tone', 5, 'key:1', T0 + 6);
        const eventsBefore = await sql<Record<string, unknown>>`select id, request_id, name, old_value, new_value, actor, source, comment, at from score_events order by id`.execute(store.db);
        const scoresBefore = await sql<Record<string, unknown>>`select request_id, name, value, updated_at, updated_by, source from scores order by request_id, name`.execute(store.db);
        await store.close();

        store = open();
        await store.migrate();
        const eventsAfter = await sql<Record<string, unknown>>`select id, request_id, name, old_value, new_value, actor, source, comment, at from score_events order by id`.execute(store.db);
        const scoresAfter = await sql<Record<string, unknown>>`select request_id, name, value, updated_at, updated_by, source from scores order by request_id, name`.execute(store.db);
        assert.deepEqual(eventsAfter.rows, eventsBefore.rows);
        assert.deepEqual(scoresAfter.rows, scoresBefore.rows);

        const history = await store.scores.history(ws.id, a);
        assert.deepEqual(
          history.map((e) => [e.kind, e.rater, e.rating, e.oldValue, e.newValue, e.schemaVersion, e.label, e.reasons]),
          [
            ['rating', 'key:1', 40, null, 40, null, null, null],
            ['rating', 'key:2', 70, 40, 70, null, null, null],
            ['delete', 'key:1', null, 70, null, null, null, null],
            ['rating', 'key:2', 90, null, 90, null, null, null],
            ['rating', 'user:3', 60, 90, 60, null, null, null],
          ],
        );
        // The ratings after the last delete: key 2's 90 and user 3's 60 (key 1's 40 was deleted with the score).
        const ratings = await store.scores.currentRatings(ws.id, [a, b]);
        assert.deepEqual(ratings.map((r) => [r.requestId, r.name, r.rater, r.value]), [
          [a, 'quality', 'key:2', 90],
          [a, 'quality', 'user:3', 60],
          [b, 'tone', 'key:1', 5],
        ]);
        const read = await store.requests.get(ws.id, a);
        assert.deepEqual(read?.scores, { quality: 60 });
        assert.deepEqual(read?.scoreDetails?.quality, {
          value: 60,
          label: null,
          comment: null,
          reasons: null,
          source: 'api',
          actor: 'user:3',
          rater: 'user:3',
          updatedAt: T0 + 5,
          schemaVersion: null,
        });
        assert.deepEqual(await store.workspaces.get(ws.id).then((w) => w?.strictScoreNames), false);

        // A mean schema from here on averages the ratings carried over with the new one.
        const actor = { id: 'key:1', source: 'api' as const };
        const put = await store.writeBatch([
          { op: 'putScoreSchema', workspaceId: ws.id, name: 'quality', actor, definition: { kind: 'numeric', description: null, rubric: null, higherIsBetter: true, min: 0, max: 100, labels: null, reasons: [], commentRequiredBelow: null, aggregate: 'mean' } },
        ]);
        assert.equal(put[0]!.ok, true, String((put[0] as { error?: unknown }).error));
        const [set] = await store.writeBatch([{ op: 'setScore', workspaceId: ws.id, requestId: a, name: 'quality', value: 0, actor }]);
        assert.equal(set!.ok, true, String((set as { error?: unknown }).error));
        // (90 + 60 + 0) / 3
        assert.deepEqual([(set as { value: { oldValue: number; newValue: number } }).value.oldValue, (set as { value: { newValue: number } }).value.newValue], [60, 50]);
        assert.equal((await store.requests.get(ws.id, a))?.scores.quality, 50);
      } finally {
        await store.close();
        await loc.drop();
      }
    });
  });
}
