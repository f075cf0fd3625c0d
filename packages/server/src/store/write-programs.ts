import { notFound, TallyError, type ItemProblem } from '../domain/errors.js';
import { adjudicatedRater, aggregateOf, checkRating, labelOf, reduceRatings, sameDefinition, type CheckedRating, type RatingRules, type ScoreEventKind } from '../domain/score-schema.js';
import { setOriginsQuery } from './feedback.js';
import { computedPrice, overridesQuery, toOverride } from './pricing.js';
import type { Program, ProgramContext, Step } from './program-steps.js';
import { rateReviewItem, reviewProgram } from './review-programs.js';
import type { ScoreSchemasTable } from './schema.js';
import { definitionOf, rulesFromRow, schemaRow, toSchemaVersion } from './score-schemas.js';
import type { Actor, ScoreChange, ScoreChangeOptions, ScoreSchemaWrite, WorkspaceSettings } from './types.js';
import { requestRow, type RatingRulesRow, type StatementName } from './write-statements.js';
import type { InsertedSpans, InsertRequestCommand, InsertSpansCommand, RatingFields, ResultOf, SetModelPriceCommand, SetScoreCommand, WriteCommand } from './write-commands.js';

export { runAwaiting, runNow, type Program, type ProgramContext, type Step } from './program-steps.js';

const run = (statement: StatementName, params: Readonly<Record<string, unknown>>): Step => ({ statement, params });

/** The program of one command; it resolves to the command's result. */
export function programOf<C extends WriteCommand>(c: C, ctx: ProgramContext): Program<ResultOf<C>> {
  return commandProgram(c, ctx) as Program<ResultOf<C>>;
}

function commandProgram(c: WriteCommand, ctx: ProgramContext): Program<unknown> {
  switch (c.op) {
    case 'insertRequest':
      return insertRequest(c, ctx);
    case 'insertSpans':
      return insertSpans(c, ctx);
    case 'setModelPrice':
      return setModelPrice(c);
    case 'deleteModelPrice':
      return deleteModelPrice(c, ctx);
    case 'setScore':
      return setScore(c, ctx);
    case 'setScores':
      return setScores(c, ctx);
    case 'deleteScore':
      return c.rater === undefined || c.rater === null ? deleteScore(c) : withdrawRating(c, c.rater, ctx);
    case 'adjudicate':
      return adjudicate(c);
    case 'putScoreSchema':
      return putScoreSchema(c, ctx);
    case 'archiveScoreSchema':
      return archiveScoreSchema(c, ctx);
    case 'updateWorkspace':
      return updateWorkspace(c, ctx);
    case 'setMetadata':
      return setMetadata(c);
    case 'setPrompt':
      return setPrompt(c);
    case 'createGroup':
      return createGroup(c.workspaceId);
    case 'addToGroup':
      return addToGroup(c);
    case 'createReviewQueue':
    case 'addReviewItems':
    case 'claimReviewItem':
    case 'skipReviewItem':
    case 'archiveReviewQueue':
      return reviewProgram(c, ctx);
    case 'rateReviewItem':
      return rateReviewItem({ workspaceId: c.workspaceId, queueId: c.queueId, requestId: c.rating.requestId, name: c.rating.name, rater: c.rating.rater }, ctx, setScore({ ...c.rating, workspaceId: c.workspaceId }, ctx));
  }
}

// The programs are flat generators that yield steps built by plain functions: delegating to
// nested generators (`yield*`) costs more per statement than SQLite takes to run one.

const requireRequest = (workspaceId: number, requestId: number): Step => run('requireRequest', { request_id: requestId, workspace_id: workspaceId });
const requireGroup = (workspaceId: number, groupId: number): Step => run('requireGroup', { group_id: groupId, workspace_id: workspaceId });
const requestMissing = () => notFound('request_id', 'request');
const groupMissing = () => notFound('group_id', 'group');

/** Which score a write changes, by whom. */
interface ScoreTarget {
  workspaceId: number;
  requestId: number;
  name: string;
  actor: Actor;
  opts?: ScoreChangeOptions | undefined;
}

const oldScore = (t: ScoreTarget): Step => run('oldScore', { request_id: t.requestId, name: t.name });

/** The workspace's strictness and the schema in force for a name (write-statements.ts ratingRules). */
const ratingRules = (workspaceId: number, name: string): Step => run('ratingRules', { workspace_id: workspaceId, name });

const reasonsText = (reasons: readonly string[] | null | undefined): string | null => (reasons === null || reasons === undefined || reasons.length === 0 ? null : JSON.stringify(reasons));

/** What the scores row holds beside its value: what the latest rating gave. */
interface ScoreRowFields {
  value: number;
  label: string | null;
  comment: string | null;
  reasons: readonly string[] | null;
  rater: string;
  schemaVersion: number | null;
}

const upsertScore = (t: ScoreTarget, f: ScoreRowFields, at: number): Step =>
  run('upsertScore', {
    workspace_id: t.workspaceId,
    request_id: t.requestId,
    name: t.name,
    value: f.value,
    at,
    actor: t.actor.id,
    source: t.actor.source,
    label: f.label,
    comment: f.comment,
    reasons: reasonsText(f.reasons),
    rater: f.rater,
    schema_version: f.schemaVersion,
  });

/** A history row: the score from `oldValue` to `newValue`, and the rating (or deletion) that moved it. */
interface EventFields {
  oldValue: number | null;
  newValue: number | null;
  kind: ScoreEventKind;
  rater: string;
  rating: number | null;
  label: string | null;
  reasons: readonly string[] | null;
  schemaVersion: number | null;
  comment?: string | null | undefined;
}

const appendEvent = (t: ScoreTarget, e: EventFields, at: number): Step =>
  run('appendEvent', {
    workspace_id: t.workspaceId,
    request_id: t.requestId,
    name: t.name,
    old_value: e.oldValue,
    new_value: e.newValue,
    actor: t.actor.id,
    source: t.actor.source,
    comment: e.comment === undefined ? (t.opts?.comment ?? null) : e.comment,
    batch_id: t.opts?.batchId ?? null,
    at,
    rater: e.rater,
    rating: e.rating,
    label: e.label,
    reasons: reasonsText(e.reasons),
    schema_version: e.schemaVersion,
    kind: e.kind,
  });

/** A rating's history row columns, as the aggregates read them. */
interface RatingRow {
  id: number;
  kind: ScoreEventKind;
  rater: string | null;
  rating: number | null;
  label: string | null;
  comment: string | null;
  reasons: string | null;
  schema_version: number | null;
}

/** The history rows of one request and name, oldest first (score_events_request: request_id, id). */
const ratingEvents = (ctx: ProgramContext, requestId: number, name: string): Step => ({
  query: ctx.compiler
    .selectFrom('score_events')
    .select(['id', 'kind', 'rater', 'rating', 'label', 'comment', 'reasons', 'schema_version'])
    .where('request_id', '=', requestId)
    .where('name', '=', name)
    .orderBy('id')
    .compile(),
});

const toRatingRows = (rows: unknown): RatingRow[] =>
  (rows as RatingRow[]).map((r) => ({ ...r, id: Number(r.id), rating: r.rating === null ? null : Number(r.rating), kind: r.kind }));

/** Checks a write's value, label, reasons and comment against the rules of its name. */
const checked = (rules: RatingRules, name: string, f: RatingFields, comment: string | null | undefined): CheckedRating =>
  checkRating(rules, name, { value: f.value, label: f.label, comment, reasons: f.reasons }, f.valueField);

function* insertRequest(c: InsertRequestCommand, ctx: ProgramContext): Program<number> {
  const { workspaceId, request: r } = c;
  // The inline score is checked before anything is written.
  const rating = r.score ? checkRating(rulesFromRow((yield ratingRules(workspaceId, r.score.name)) as RatingRulesRow | undefined), r.score.name, { value: r.score.value }) : null;
  if (r.groupId !== null && (yield requireGroup(workspaceId, r.groupId)) === undefined) throw groupMissing();
  // Only a request logged without a price but with a model and tokens reads the overrides.
  let price: number | null = null;
  if (r.price === 0 && r.inputTokens + r.outputTokens > 0 && r.model !== '') {
    const rows = (yield { query: overridesQuery(ctx.compiler, workspaceId, r.model) }) as Parameters<typeof toOverride>[0][];
    price = computedPrice(r, rows.map(toOverride));
  }
  const now = Date.now();
  const id = Number(yield run('insertRequest', requestRow(workspaceId, r, now, price)));
  for (const tag of r.tags) yield run('insertTag', { workspace_id: workspaceId, request_id: id, tag });
  for (const [key, value] of Object.entries(r.metadata)) yield run('insertMetadata', { workspace_id: workspaceId, request_id: id, key, value });
  if (r.groupId !== null) yield run('linkGroup', { workspace_id: workspaceId, request_id: id, group_id: r.groupId });
  if (r.score && rating) {
    // A new request has no other rating: every aggregate gives this one.
    const target: ScoreTarget = { workspaceId, requestId: id, name: r.score.name, actor: c.actor };
    const rater = c.actor.id;
    yield upsertScore(target, { value: rating.value, label: rating.label, comment: null, reasons: null, rater, schemaVersion: rating.schemaVersion }, now);
    yield appendEvent(target, { oldValue: null, newValue: rating.value, kind: 'rating', rater, rating: rating.value, label: rating.label, reasons: null, schemaVersion: rating.schemaVersion }, now);
  }
  return id;
}

/**
 * An export's LLM spans: each becomes a request in its trace's group (created with the trace's
 * first span), unless that span (workspace, trace and span id) is stored already. Nothing here
 * refuses a span after another was written: the checks are lookups, the group always exists.
 */
function* insertSpans(c: InsertSpansCommand, ctx: ProgramContext): Program<InsertedSpans> {
  const { workspaceId } = c;
  const out: InsertedSpans = { ids: [], duplicates: 0 };
  const groups = new Map<string, number>();
  for (const s of c.spans) {
    const key = { workspace_id: workspaceId, trace_id: s.traceId, span_id: s.spanId };
    const stored = yield run('traceSpan', key);
    if (stored !== undefined) {
      out.ids.push(Number(stored));
      out.duplicates++;
      continue;
    }
    let groupId = groups.get(s.traceId);
    if (groupId === undefined) {
      const found = yield run('traceGroup', key);
      if (found !== undefined) groupId = Number(found);
      else {
        groupId = Number(yield run('createGroup', { workspace_id: workspaceId, created_at: Date.now() }));
        yield run('insertTraceGroup', { ...key, group_id: groupId });
      }
      groups.set(s.traceId, groupId);
    }
    const id: number = yield* insertRequest({ op: 'insertRequest', workspaceId, request: { ...s.request, groupId }, actor: c.actor }, ctx);
    yield run('insertTraceSpan', { ...key, request_id: id });
    out.ids.push(id);
  }
  return out;
}

function* setModelPrice(c: SetModelPriceCommand): Program<void> {
  yield run('upsertModelPrice', {
    workspace_id: c.workspaceId,
    model: c.model,
    effective_from: c.effectiveFrom,
    input: c.input,
    output: c.output,
    cached_input: c.cachedInput,
    updated_at: Date.now(),
  });
}

/** Deletes one effective time's price of a model, or all of them; gives how many were deleted. */
function* deleteModelPrice(c: Extract<WriteCommand, { op: 'deleteModelPrice' }>, ctx: ProgramContext): Program<number> {
  let q = ctx.compiler.deleteFrom('model_prices').where('workspace_id', '=', c.workspaceId).where('model', '=', c.model);
  if (c.effectiveFrom !== null) q = q.where('effective_from', '=', c.effectiveFrom);
  return ((yield { query: q.returning('model').compile() }) as unknown[]).length;
}

/**
 * Writes one checked rating. Under `latest` (no schema, PromptLayer's semantics) the score is the
 * rating: one read of the old value, one upsert, one history row. Under the other aggregates the
 * name's history is read to find the current ratings and the score is computed from them. An
 * adjudicated score stays as it is under every aggregate: the upsert leaves its row alone (it
 * gives undefined then) and the history row records the rating beside the unchanged score.
 */
function* writeRating(t: ScoreTarget, rating: CheckedRating, rules: RatingRules, rater: string, comment: string | null, ctx: ProgramContext): Program<ScoreChange> {
  let row: ScoreRowFields = { value: rating.value, label: rating.label, comment, reasons: rating.reasons, rater, schemaVersion: rating.schemaVersion };
  if (rating.aggregate !== 'latest') {
    const events = toRatingRows(yield ratingEvents(ctx, t.requestId, t.name));
    events.push({ id: Number.MAX_SAFE_INTEGER, kind: 'rating', rater, rating: rating.value, label: rating.label, comment, reasons: null, schema_version: rating.schemaVersion });
    const { ratings, adjudication } = reduceRatings(events);
    const value = aggregateOf(rating.aggregate, ratings.map((r) => r.rating!), adjudication?.rating ?? null)!;
    row = { ...row, value, label: labelOf(rules, value) };
  }
  const oldValue = ((yield oldScore(t)) as number | undefined) ?? null;
  const at = Date.now();
  const { value, label } = (yield upsertScore(t, row, at)) === undefined ? adjudicatedScore(rules, oldValue!) : row;
  yield appendEvent(t, { oldValue, newValue: value, kind: 'rating', rater, rating: rating.value, label: rating.label, reasons: rating.reasons, schemaVersion: rating.schemaVersion, comment }, at);
  return { requestId: t.requestId, name: t.name, oldValue, newValue: value, label, rater, rating: rating.value, schemaVersion: rating.schemaVersion };
}

/** The score a rating write left as it was because it is adjudicated: its value, read before the write. */
const adjudicatedScore = (rules: RatingRules, value: number) => ({ value, label: labelOf(rules, value) });

function* setScore(c: SetScoreCommand, ctx: ProgramContext): Program<ScoreChange> {
  if ((yield requireRequest(c.workspaceId, c.requestId)) === undefined) throw requestMissing();
  const rules = rulesFromRow((yield ratingRules(c.workspaceId, c.name)) as RatingRulesRow | undefined);
  const comment = c.opts?.comment ?? null;
  const rating = checked(rules, c.name, c, comment);
  const rater = c.rater ?? c.actor.id;
  if (rating.aggregate !== 'latest') return yield* writeRating(c, rating, rules, rater, comment, ctx);
  // The PromptLayer path, flat: one read of the old value, one upsert, one history row. The upsert
  // leaves an adjudicated score alone (and gives undefined): the rating is recorded beside it.
  const oldValue = ((yield oldScore(c)) as number | undefined) ?? null;
  const at = Date.now();
  const written = yield upsertScore(c, { value: rating.value, label: rating.label, comment, reasons: rating.reasons, rater, schemaVersion: rating.schemaVersion }, at);
  const { value, label } = written === undefined ? adjudicatedScore(rules, oldValue!) : rating;
  yield appendEvent(c, { oldValue, newValue: value, kind: 'rating', rater, rating: rating.value, label: rating.label, reasons: rating.reasons, schemaVersion: rating.schemaVersion }, at);
  return { requestId: c.requestId, name: c.name, oldValue, newValue: value, label, rater, rating: rating.value, schemaVersion: rating.schemaVersion };
}

// Keeps each IN list well under SQLite's and PostgreSQL's bound-parameter limits.
const CHUNK = 500;

/**
 * Several scores, all or none: every request is checked, then every item against the rules of its
 * name, before anything is written. Bad items are refused together: one 400 whose `errors` lists
 * each ({ index, field, message }).
 */
function* setScores(c: Extract<WriteCommand, { op: 'setScores' }>, ctx: ProgramContext): Program<ScoreChange[]> {
  const unique = [...new Set(c.items.map((i) => i.requestId))];
  const existing = new Set<number>();
  for (let i = 0; i < unique.length; i += CHUNK) {
    const query = ctx.compiler
      .selectFrom('requests')
      .select('id')
      .where('workspace_id', '=', c.workspaceId)
      .where('id', 'in', unique.slice(i, i + CHUNK))
      .compile();
    for (const row of (yield { query }) as { id: unknown }[]) existing.add(Number(row.id));
  }
  if (unique.some((id) => !existing.has(id))) throw requestMissing();
  const rulesOf = new Map<string, RatingRules>();
  const problems: ItemProblem[] = [];
  const ratings: (CheckedRating | null)[] = [];
  for (const [index, item] of c.items.entries()) {
    let rules = rulesOf.get(item.name);
    if (rules === undefined) {
      rules = rulesFromRow((yield ratingRules(c.workspaceId, item.name)) as RatingRulesRow | undefined);
      rulesOf.set(item.name, rules);
    }
    try {
      ratings.push(checked(rules, item.name, item, item.comment ?? c.opts?.comment));
    } catch (err) {
      if (!(err instanceof TallyError)) throw err;
      problems.push({ index, field: err.field ?? 'item', message: err.message });
      ratings.push(null);
    }
  }
  if (problems.length > 0) {
    const first = problems[0]!;
    const bad = new Set(problems.map((p) => p.index)).size;
    throw new TallyError('invalid_field', `items: ${bad} of ${c.items.length} items are invalid and nothing was written (first: items.${first.index}.${first.message})`, {
      field: 'items',
      errors: problems,
    });
  }
  const out: ScoreChange[] = [];
  for (const [index, item] of c.items.entries()) {
    const comment = item.comment ?? c.opts?.comment ?? null;
    const target: ScoreTarget = { workspaceId: c.workspaceId, requestId: item.requestId, name: item.name, actor: c.actor, opts: { ...c.opts, comment } };
    out.push(yield* writeRating(target, ratings[index]!, rulesOf.get(item.name)!, item.rater ?? c.actor.id, comment, ctx));
  }
  return out;
}

/** Deletes the score and every rating; gives null when the request has no score of that name (nothing is recorded then). */
function* deleteScore(c: Extract<WriteCommand, { op: 'deleteScore' }>): Program<ScoreChange | null> {
  if ((yield requireRequest(c.workspaceId, c.requestId)) === undefined) throw requestMissing();
  const old = (yield run('deleteScore', { request_id: c.requestId, name: c.name })) as number | undefined;
  if (old === undefined) return null;
  const change: ScoreChange = { requestId: c.requestId, name: c.name, oldValue: old, newValue: null, label: null, rater: c.actor.id, rating: null, schemaVersion: null };
  yield appendEvent(c, { oldValue: old, newValue: null, kind: 'delete', rater: c.actor.id, rating: null, label: null, reasons: null, schemaVersion: null }, Date.now());
  return change;
}

/**
 * Withdraws one rater's rating and recomputes the score from the ratings left (deleted when none
 * is left); the scores row then carries the latest remaining rating's label, comment and reasons.
 * An adjudicated score stays (its row is left alone). Gives null when the rater has no current rating.
 */
function* withdrawRating(c: Extract<WriteCommand, { op: 'deleteScore' }>, rater: string, ctx: ProgramContext): Program<ScoreChange | null> {
  if ((yield requireRequest(c.workspaceId, c.requestId)) === undefined) throw requestMissing();
  const rules = rulesFromRow((yield ratingRules(c.workspaceId, c.name)) as RatingRulesRow | undefined);
  const events = toRatingRows(yield ratingEvents(ctx, c.requestId, c.name));
  if (!reduceRatings(events).ratings.some((r) => r.rater === rater)) return null;
  events.push({ id: Number.MAX_SAFE_INTEGER, kind: 'rating', rater, rating: null, label: null, comment: null, reasons: null, schema_version: null });
  const { ratings, adjudication } = reduceRatings(events);
  const aggregate = rules.schema?.aggregate ?? 'latest';
  const value = aggregateOf(aggregate, ratings.map((r) => r.rating!), adjudication?.rating ?? null);
  const oldValue = ((yield oldScore(c)) as number | undefined) ?? null;
  const at = Date.now();
  const schemaVersion = rules.schema?.version ?? null;
  if (value === null) {
    yield run('deleteScore', { request_id: c.requestId, name: c.name });
  } else {
    const latest = ratings.at(-1) ?? adjudication!;
    yield upsertScore(
      c,
      { value, label: labelOf(rules, value), comment: latest.comment, reasons: latest.reasons === null ? null : (JSON.parse(latest.reasons) as string[]), rater: latest.rater ?? rater, schemaVersion },
      at,
    );
  }
  yield appendEvent(c, { oldValue, newValue: value, kind: 'rating', rater, rating: null, label: null, reasons: null, schemaVersion }, at);
  return { requestId: c.requestId, name: c.name, oldValue, newValue: value, label: value === null ? null : labelOf(rules, value), rater, rating: null, schemaVersion };
}

/**
 * The adjudicated value of a score, under any aggregate (and without a schema): it is the score
 * from now on, until a newer adjudication or a delete of the score. Later ratings are recorded
 * but leave it: the scores row's rater carries the adjudicator with ADJUDICATED_MARK.
 */
function* adjudicate(c: Extract<WriteCommand, { op: 'adjudicate' }>): Program<ScoreChange> {
  if ((yield requireRequest(c.workspaceId, c.requestId)) === undefined) throw requestMissing();
  const rules = rulesFromRow((yield ratingRules(c.workspaceId, c.name)) as RatingRulesRow | undefined);
  const comment = c.opts?.comment ?? null;
  const rating = checked(rules, c.name, { value: c.value, label: c.label ?? null }, comment);
  const oldValue = ((yield oldScore(c)) as number | undefined) ?? null;
  const at = Date.now();
  const rater = c.actor.id;
  yield upsertScore(c, { value: rating.value, label: rating.label, comment, reasons: null, rater: adjudicatedRater(rater), schemaVersion: rating.schemaVersion }, at);
  yield appendEvent(c, { oldValue, newValue: rating.value, kind: 'adjudication', rater, rating: rating.value, label: rating.label, reasons: null, schemaVersion: rating.schemaVersion }, at);
  return { requestId: c.requestId, name: c.name, oldValue, newValue: rating.value, label: rating.label, rater, rating: rating.value, schemaVersion: rating.schemaVersion };
}

/** A new version of a name's schema, unless the definition in force is identical (then that one). */
function* putScoreSchema(c: Extract<WriteCommand, { op: 'putScoreSchema' }>, ctx: ProgramContext): Program<ScoreSchemaWrite> {
  const latestQuery = ctx.compiler.selectFrom('score_schemas').selectAll().where('workspace_id', '=', c.workspaceId).where('name', '=', c.name).orderBy('version', 'desc').limit(1).compile();
  const [latest] = (yield { query: latestQuery }) as ScoreSchemasTable[];
  if (latest && latest.archived_at === null) {
    const current = toSchemaVersion(latest);
    if (sameDefinition(definitionOf(current), c.definition)) return { schema: current, created: false };
  }
  const version = latest ? Number(latest.version) + 1 : 1;
  const row = schemaRow(c.workspaceId, c.name, version, c.definition, c.actor.id, Date.now());
  yield { query: ctx.compiler.insertInto('score_schemas').values(row).compile() };
  return { schema: toSchemaVersion(row), created: true };
}

function* archiveScoreSchema(c: Extract<WriteCommand, { op: 'archiveScoreSchema' }>, ctx: ProgramContext): Program<ScoreSchemaWrite | null> {
  const latestQuery = ctx.compiler.selectFrom('score_schemas').selectAll().where('workspace_id', '=', c.workspaceId).where('name', '=', c.name).orderBy('version', 'desc').limit(1).compile();
  const [latest] = (yield { query: latestQuery }) as ScoreSchemasTable[];
  if (!latest || latest.archived_at !== null) return null;
  const now = Date.now();
  yield {
    query: ctx.compiler
      .updateTable('score_schemas')
      .set({ archived_at: now })
      .where('workspace_id', '=', c.workspaceId)
      .where('name', '=', c.name)
      .where('version', '=', Number(latest.version))
      .compile(),
  };
  return { schema: toSchemaVersion({ ...latest, archived_at: now }), created: false };
}

function* updateWorkspace(c: Extract<WriteCommand, { op: 'updateWorkspace' }>, ctx: ProgramContext): Program<WorkspaceSettings> {
  if (c.settings.strictScoreNames !== undefined) {
    yield { query: ctx.compiler.updateTable('workspaces').set({ strict_score_names: c.settings.strictScoreNames ? 1 : 0 }).where('id', '=', c.workspaceId).compile() };
  }
  if (c.settings.feedbackOrigins !== undefined) yield { query: setOriginsQuery(ctx.compiler, c.workspaceId, c.settings.feedbackOrigins) };
  const [row] = (yield { query: ctx.compiler.selectFrom('workspaces').select('strict_score_names').where('id', '=', c.workspaceId).compile() }) as { strict_score_names: unknown }[];
  if (!row) throw notFound('workspace', 'workspace');
  return { strictScoreNames: Number(row.strict_score_names) === 1 };
}

function* setMetadata(c: Extract<WriteCommand, { op: 'setMetadata' }>): Program<void> {
  if ((yield requireRequest(c.workspaceId, c.requestId)) === undefined) throw requestMissing();
  for (const [key, value] of Object.entries(c.metadata)) yield run('upsertMetadata', { workspace_id: c.workspaceId, request_id: c.requestId, key, value });
}

function* setPrompt(c: Extract<WriteCommand, { op: 'setPrompt' }>): Program<void> {
  if ((yield requireRequest(c.workspaceId, c.requestId)) === undefined) throw requestMissing();
  const p = c.prompt;
  yield run('setPrompt', {
    prompt_name: p.name,
    prompt_version: p.version,
    prompt_label: p.label,
    prompt_input_variables: JSON.stringify(p.inputVariables),
    request_id: c.requestId,
    workspace_id: c.workspaceId,
  });
}

function* createGroup(workspaceId: number): Program<number> {
  return Number(yield run('createGroup', { workspace_id: workspaceId, created_at: Date.now() }));
}

function* addToGroup(c: Extract<WriteCommand, { op: 'addToGroup' }>): Program<void> {
  if ((yield requireRequest(c.workspaceId, c.requestId)) === undefined) throw requestMissing();
  if ((yield requireGroup(c.workspaceId, c.groupId)) === undefined) throw groupMissing();
  yield run('linkGroup', { workspace_id: c.workspaceId, request_id: c.requestId, group_id: c.groupId });
}
