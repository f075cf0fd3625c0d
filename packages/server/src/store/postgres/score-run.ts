import { CompiledQuery, type Kysely } from 'kysely';
import { notFound, TallyError } from '../../domain/errors.js';
import { checkRating, isAdjudicatedRater, labelOf, type CheckedRating } from '../../domain/score-schema.js';
import type { Database } from '../schema.js';
import { rulesFromRow } from '../score-schemas.js';
import type { Outcome, SetScoreCommand } from '../write-commands.js';
import type { RatingRulesRow } from '../write-statements.js';
import { preparedStatement } from './prepared-statements.js';

// Each lookup is a lateral subquery kept apart (`offset 0`), so that its generic plan, made once per
// connection, is a primary-key probe per command whatever the tables' sizes (see migration 006).
const FIND_SCORES = preparedStatement(
  'find_scores',
  `select i.ord, s.value as old_value, s.rater as old_rater, r.named, r.pname, r.pversion, r.model, r.start, w.strict_score_names as strict, ss.version, ss.kind, ss.min_value, ss.max_value, ss.labels, ss.reasons, ss.comment_required_below, ss.aggregate
  from unnest($1::int8[], $2::int8[], $3::text[]) with ordinality as i(workspace_id, request_id, name, ord)
  cross join lateral (
    select (r.prompt_name is not null)::int as named, coalesce(r.prompt_name, '') as pname, coalesce(r.prompt_version, 0) as pversion, r.model, r.request_start_time as start
    from requests r where r.id = i.request_id and r.workspace_id = i.workspace_id offset 0
  ) r
  cross join lateral (select w.strict_score_names from workspaces w where w.id = i.workspace_id offset 0) w
  left join lateral (select s.value, s.rater from scores s where s.request_id = i.request_id and s.name = i.name offset 0) s on true
  left join lateral (select v.* from score_schemas v where v.workspace_id = i.workspace_id and v.name = i.name order by v.version desc limit 1) ss
    on ss.archived_at is null`,
);

// The scores upserted, their history rows appended in command order, and the score totals of
// migration 007 changed by one upsert per group (the batch's sums, from scoreTotals), in one
// statement. Its scores upsert marks the statement first (the WHERE clause runs before any row is
// written), so the totals triggers skip it (migration 015).
const GROUP_COLUMNS = 'workspace_id, name, prompt_named, prompt_name, prompt_version, model';
const WRITE_SCORES = preparedStatement(
  'write_scores',
  `with upserted as (
    insert into scores (workspace_id, request_id, name, value, updated_at, updated_by, source, label, comment, reasons, rater, schema_version)
    select workspace_id, request_id, name, rating, $15::int8, actor, source, label, comment, reasons, rater, schema_version
    from unnest($1::int8[], $2::int8[], $3::text[], $4::int4[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::int4[])
      as i(workspace_id, request_id, name, rating, actor, source, label, comment, reasons, rater, schema_version)
    where set_config('tally.score_totals', statement_timestamp()::text, true) is not null
    on conflict (request_id, name) do update
      set value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by, source = excluded.source,
        label = excluded.label, comment = excluded.comment, reasons = excluded.reasons, rater = excluded.rater, schema_version = excluded.schema_version
      where coalesce(substr(scores.rater, 1, 12), '') <> 'adjudicated:'
  ), hour_totals as (
    insert into score_hours (${GROUP_COLUMNS}, hour_start, count, sum)
    select * from unnest($16::int8[], $17::text[], $18::int4[], $19::text[], $20::int4[], $21::text[], $22::int8[], $23::int8[], $24::int8[])
    on conflict (${GROUP_COLUMNS}, hour_start) do update set count = score_hours.count + excluded.count, sum = score_hours.sum + excluded.sum
  ), value_totals as (
    insert into score_values (${GROUP_COLUMNS}, value, count)
    select * from unnest($25::int8[], $26::text[], $27::int4[], $28::text[], $29::int4[], $30::text[], $31::int4[], $32::int8[])
    on conflict (${GROUP_COLUMNS}, value) do update set count = score_values.count + excluded.count
  )
  insert into score_events (workspace_id, request_id, name, old_value, new_value, actor, source, comment, batch_id, at, rater, rating, label, reasons, schema_version, kind)
  select workspace_id, request_id, name, old_value, new_value, actor, source, comment, batch_id, $15::int8, rater, rating, label, reasons, schema_version, 'rating'
  from unnest($1::int8[], $2::int8[], $3::text[], $5::int4[], $6::int4[], $4::int4[], $7::text[], $8::text[], $10::text[], $14::text[], $12::text[], $9::text[], $11::text[], $13::int4[])
    with ordinality as i(workspace_id, request_id, name, old_value, new_value, rating, actor, source, comment, batch_id, rater, label, reasons, schema_version, ord)
  order by ord`,
);

/**
 * Many score writes in two prepared statements instead of five round trips per score: one reads
 * which requests exist in their workspaces with their old values, the columns the score totals
 * group by, and the rules of their names (the workspace's strictness and the schema in force, as
 * the `ratingRules` statement reads them); one upserts the scores, appends a history row per
 * command in command order and adds to the totals. A command whose request is not in its
 * workspace, or that its name's schema refuses, writes nothing and is refused alone. A command
 * whose schema aggregates ratings other than by the latest one needs the name's history:
 * `runProgram` runs it on its own (after the set-based ones; no two commands of a run share a
 * request and name). The caller ensures that; the write transaction's advisory lock keeps the old
 * values read here current. An adjudicated score (its row's rater carries ADJUDICATED_MARK) stays
 * as it is, as in the `upsertScore` statement: the upsert leaves its row (and the totals) alone and
 * the history row records the rating.
 */
export async function setEachScore(trx: Kysely<Database>, cmds: readonly SetScoreCommand[], runProgram: (c: SetScoreCommand) => Promise<Outcome>): Promise<Outcome[]> {
  type Found = RatingRulesRow & ScoredRequest & { ord: number; old_value: number | null; old_rater: string | null };
  const { rows: found } = await trx.executeQuery<Found>(CompiledQuery.raw(FIND_SCORES, [cmds.map((c) => c.workspaceId), cmds.map((c) => c.requestId), cmds.map((c) => c.name)]));
  const rowAt = new Map(found.map((r) => [Number(r.ord) - 1, r]));
  const outcomes: (Outcome | null)[] = cmds.map(() => null);
  const plain: { i: number; c: SetScoreCommand; old: number | null; rating: CheckedRating; value: number; label: string | null; request: ScoredRequest; kept: boolean }[] = [];
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
      const kept = old !== null && isAdjudicatedRater(row.old_rater);
      const score = kept ? { value: old, label: labelOf(rules, old) } : rating;
      if (rating.aggregate === 'latest') plain.push({ i, c, old, rating, value: score.value, label: score.label, request: row, kept });
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
    await trx.executeQuery(
      CompiledQuery.raw(WRITE_SCORES, [
        col((p) => p.c.workspaceId),
        col((p) => p.c.requestId),
        col((p) => p.c.name),
        col((p) => p.rating.value),
        col((p) => p.old),
        col((p) => p.value),
        col((p) => p.c.actor.id),
        col((p) => p.c.actor.source),
        col((p) => p.rating.label),
        col((p) => p.c.opts?.comment ?? null),
        col((p) => reasons(p.rating)),
        col((p) => rater(p.c)),
        col((p) => p.rating.schemaVersion),
        col((p) => p.c.opts?.batchId ?? null),
        at,
        // An adjudicated score's row is left as it is: its totals too.
        ...scoreTotals(plain.filter((p) => !p.kept).map((p) => ({ workspaceId: p.c.workspaceId, name: p.c.name, request: p.request, old: p.old, value: p.rating.value }))),
      ]),
    );
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

/** The request columns the score totals are grouped by (migration 007), as the lookup reads them. */
interface ScoredRequest {
  named: number;
  pname: string;
  pversion: number;
  model: string;
  start: number;
}

const HOUR_MS = 3_600_000;

/**
 * What the totals triggers of migration 007 would add for these score writes, summed per group:
 * a new score adds (1, value) to its hour and 1 to its value; a changed one moves its value (the
 * hour's count stays). The hours, then the values, each as the columns of WRITE_SCORES' unnest.
 * Sums that come to nothing are left out: a group a change takes from exists already.
 */
function scoreTotals(writes: readonly { workspaceId: number; name: string; request: ScoredRequest; old: number | null; value: number }[]): unknown[][] {
  const hours = new Map<string, { key: unknown[]; count: number; sum: number }>();
  const values = new Map<string, { key: unknown[]; count: number }>();
  const add = <T extends { key: unknown[] }>(m: Map<string, T>, key: unknown[], fresh: () => T, f: (t: T) => void) => {
    const k = JSON.stringify(key);
    let t = m.get(k);
    if (t === undefined) m.set(k, (t = fresh()));
    f(t);
  };
  for (const w of writes) {
    const r = w.request;
    const group = [w.workspaceId, w.name, Number(r.named), r.pname, Number(r.pversion), r.model];
    const start = Number(r.start);
    const hour = [...group, start - (start % HOUR_MS)];
    add(hours, hour, () => ({ key: hour, count: 0, sum: 0 }), (t) => {
      t.count += w.old === null ? 1 : 0;
      t.sum += w.value - (w.old ?? 0);
    });
    const at = (value: number, n: number) => {
      const key = [...group, value];
      add(values, key, () => ({ key, count: 0 }), (t) => (t.count += n));
    };
    if (w.old !== null) at(w.old, -1);
    at(w.value, 1);
  }
  const hourRows = [...hours.values()].filter((t) => t.count !== 0 || t.sum !== 0).map((t) => [...t.key, t.count, t.sum]);
  const valueRows = [...values.values()].filter((t) => t.count !== 0).map((t) => [...t.key, t.count]);
  const columns = (rows: unknown[][], width: number) => Array.from({ length: width }, (_, i) => rows.map((row) => row[i]));
  return [...columns(hourRows, 9), ...columns(valueRows, 8)];
}
