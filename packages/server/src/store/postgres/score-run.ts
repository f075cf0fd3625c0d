import { sql, type Kysely } from 'kysely';
import { notFound } from '../../domain/errors.js';
import type { Database } from '../schema.js';
import type { Outcome, SetScoreCommand } from '../write-commands.js';

/**
 * Many score writes in one statement (one round trip instead of four per score): each command is
 * checked against its workspace's requests, the old values are read from the statement's snapshot,
 * scores are upserted and one history row per command is appended in command order. A command
 * whose request is not in its workspace writes nothing and is refused alone. The caller ensures
 * no two commands share a request and name (one statement cannot change a row twice).
 */
export async function setEachScore(trx: Kysely<Database>, cmds: readonly SetScoreCommand[]): Promise<Outcome[]> {
  const at = Date.now();
  const col = <T>(f: (c: SetScoreCommand) => T) => cmds.map(f);
  const { rows } = await sql<{ ord: number; old_value: number | null }>`
    with input as (
      select * from unnest(
        ${col((c) => c.workspaceId)}::int8[], ${col((c) => c.requestId)}::int8[], ${col((c) => c.name)}::text[], ${col((c) => c.value)}::int4[],
        ${col((c) => c.actor.id)}::text[], ${col((c) => c.actor.source)}::text[], ${col((c) => c.opts?.comment ?? null)}::text[], ${col((c) => c.opts?.batchId ?? null)}::text[]
      ) with ordinality as t(workspace_id, request_id, name, value, actor, source, comment, batch_id, ord)
    ),
    valid as (
      select i.* from input i join requests r on r.id = i.request_id and r.workspace_id = i.workspace_id
    ),
    old as (
      select v.ord, s.value as old_value from valid v join scores s on s.request_id = v.request_id and s.name = v.name
    ),
    upserted as (
      insert into scores (workspace_id, request_id, name, value, updated_at, updated_by, source)
      select workspace_id, request_id, name, value, ${at}, actor, source from valid
      on conflict (request_id, name) do update
        set value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by, source = excluded.source
    ),
    events as (
      insert into score_events (workspace_id, request_id, name, old_value, new_value, actor, source, comment, batch_id, at)
      select v.workspace_id, v.request_id, v.name, o.old_value, v.value, v.actor, v.source, v.comment, v.batch_id, ${at}
      from valid v left join old o on o.ord = v.ord
      order by v.ord
    )
    select v.ord, o.old_value from valid v left join old o on o.ord = v.ord
  `.execute(trx);
  const done = new Map(rows.map((r) => [Number(r.ord), r.old_value]));
  return cmds.map((c, i) => {
    const old = done.get(i + 1);
    if (old === undefined) return { ok: false, error: notFound('request_id', 'request') };
    return { ok: true, value: { requestId: c.requestId, name: c.name, oldValue: old, newValue: c.value } };
  });
}
