import { sql, type Kysely } from 'kysely';
import { notFound, TallyError } from '../../domain/errors.js';
import { checkRating, isAdjudicatedRater, labelOf, type CheckedRating } from '../../domain/score-schema.js';
import type { Database } from '../schema.js';
import { rulesFromRow } from '../score-schemas.js';
import type { Outcome, SetScoreCommand } from '../write-commands.js';
import type { RatingRulesRow } from '../write-statements.js';

/**
 * Many score writes in three statements instead of five round trips per score: one reads which
 * requests exist in their workspaces with their old values and the rules of their names (the
 * workspace's strictness and the schema in force, as the `ratingRules` statement reads them), one
 * upserts the scores, one appends a history row per command in command order. Plain statements
 * over `unnest` arrays plan in a fraction of a millisecond (one statement with data-modifying CTEs
 * took longer to plan than to run). A command whose request is not in its workspace, or that its
 * name's schema refuses, writes nothing and is refused alone. A command whose schema aggregates
 * ratings other than by the latest one needs the name's history: `runProgram` runs it on its own
 * (after the set-based ones; no two commands of a run share a request and name). The caller
 * ensures that; the write transaction's advisory lock keeps the old values read here current.
 * An adjudicated score (its row's rater carries ADJUDICATED_MARK) stays as it is, as in the
 * `upsertScore` statement: the upsert leaves its row alone and the history row records the rating.
 */
export async function setEachScore(trx: Kysely<Database>, cmds: readonly SetScoreCommand[], runProgram: (c: SetScoreCommand) => Promise<Outcome>): Promise<Outcome[]> {
  const { rows: found } = await sql<RatingRulesRow & { ord: number; old_value: number | null; old_rater: string | null }>`
    select i.ord, s.value as old_value, s.rater as old_rater, w.strict_score_names as strict, ss.version, ss.kind, ss.min_value, ss.max_value, ss.labels, ss.reasons, ss.comment_required_below, ss.aggregate
    from unnest(${cmds.map((c) => c.workspaceId)}::int8[], ${cmds.map((c) => c.requestId)}::int8[], ${cmds.map((c) => c.name)}::text[])
      with ordinality as i(workspace_id, request_id, name, ord)
    join requests r on r.id = i.request_id and r.workspace_id = i.workspace_id
    join workspaces w on w.id = i.workspace_id
    left join scores s on s.request_id = i.request_id and s.name = i.name
    left join score_schemas ss on ss.workspace_id = i.workspace_id and ss.name = i.name and ss.archived_at is null
      and ss.version = (select max(v.version) from score_schemas v where v.workspace_id = i.workspace_id and v.name = i.name)
  `.execute(trx);
  const rowAt = new Map(found.map((r) => [Number(r.ord) - 1, r]));
  const outcomes: (Outcome | null)[] = cmds.map(() => null);
  const plain: { i: number; c: SetScoreCommand; old: number | null; rating: CheckedRating; value: number; label: string | null }[] = [];
  const aggregated: number[] = [];
  cmds.forEach((c, i) => {
    const row = rowAt.get(i);
    if (!row) {
      outcomes[i] = { ok: false, error: notFound('request_id', 'request') };
      return;
    }
    try {
      const rules = rulesFromRow(row);
      const rating = checkRating(rules, c.name, { value: c.value, label: c.label, comment: c.opts?.comment, reasons: c.reasons }, c.valueField);
      const old = row.old_value === null ? null : Number(row.old_value);
      // An adjudicated score stays: its value and label are the score's, not the rating's.
      const score = old !== null && isAdjudicatedRater(row.old_rater) ? { value: old, label: labelOf(rules, old) } : rating;
      if (rating.aggregate === 'latest') plain.push({ i, c, old, rating, value: score.value, label: score.label });
      else aggregated.push(i);
    } catch (error) {
      if (!(error instanceof TallyError)) throw error;
      outcomes[i] = { ok: false, error };
    }
  });
  if (plain.length > 0) {
    const at = Date.now();
    const col = <T>(f: (p: (typeof plain)[number]) => T) => plain.map(f);
    const rater = (c: SetScoreCommand) => c.rater ?? c.actor.id;
    const reasons = (r: CheckedRating) => (r.reasons === null ? null : JSON.stringify(r.reasons));
    await sql`
      insert into scores (workspace_id, request_id, name, value, updated_at, updated_by, source, label, comment, reasons, rater, schema_version)
      select workspace_id, request_id, name, value, ${at}::int8, actor, source, label, comment, reasons, rater, schema_version
      from unnest(${col((p) => p.c.workspaceId)}::int8[], ${col((p) => p.c.requestId)}::int8[], ${col((p) => p.c.name)}::text[], ${col((p) => p.rating.value)}::int4[],
        ${col((p) => p.c.actor.id)}::text[], ${col((p) => p.c.actor.source)}::text[], ${col((p) => p.rating.label)}::text[], ${col((p) => p.c.opts?.comment ?? null)}::text[],
        ${col((p) => reasons(p.rating))}::text[], ${col((p) => rater(p.c))}::text[], ${col((p) => p.rating.schemaVersion)}::int4[])
        as i(workspace_id, request_id, name, value, actor, source, label, comment, reasons, rater, schema_version)
      on conflict (request_id, name) do update
        set value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by, source = excluded.source,
          label = excluded.label, comment = excluded.comment, reasons = excluded.reasons, rater = excluded.rater, schema_version = excluded.schema_version
        where coalesce(substr(scores.rater, 1, 12), '') <> 'adjudicated:'
    `.execute(trx);
    await sql`
      insert into score_events (workspace_id, request_id, name, old_value, new_value, actor, source, comment, batch_id, at, rater, rating, label, reasons, schema_version, kind)
      select workspace_id, request_id, name, old_value, new_value, actor, source, comment, batch_id, ${at}::int8, rater, rating, label, reasons, schema_version, 'rating'
      from unnest(${col((p) => p.c.workspaceId)}::int8[], ${col((p) => p.c.requestId)}::int8[], ${col((p) => p.c.name)}::text[], ${col((p) => p.old)}::int4[], ${col((p) => p.value)}::int4[], ${col((p) => p.rating.value)}::int4[],
        ${col((p) => p.c.actor.id)}::text[], ${col((p) => p.c.actor.source)}::text[], ${col((p) => p.c.opts?.comment ?? null)}::text[], ${col((p) => p.c.opts?.batchId ?? null)}::text[],
        ${col((p) => rater(p.c))}::text[], ${col((p) => p.rating.label)}::text[], ${col((p) => reasons(p.rating))}::text[], ${col((p) => p.rating.schemaVersion)}::int4[])
        with ordinality as i(workspace_id, request_id, name, old_value, new_value, rating, actor, source, comment, batch_id, rater, label, reasons, schema_version, ord)
      order by ord
    `.execute(trx);
    for (const p of plain) {
      outcomes[p.i] = {
        ok: true,
        value: { requestId: p.c.requestId, name: p.c.name, oldValue: p.old, newValue: p.value, label: p.label, rater: rater(p.c), rating: p.rating.value, schemaVersion: p.rating.schemaVersion },
      };
    }
  }
  for (const i of aggregated) outcomes[i] = await runProgram(cmds[i]!);
  return outcomes.map((o) => o!);
}
