import type { CompiledQuery, Kysely } from 'kysely';
import { notFound } from '../domain/errors.js';
import { computedPrice, overridesQuery, toOverride } from './pricing.js';
import type { Database } from './schema.js';
import type { Actor, ScoreChange, ScoreChangeOptions } from './types.js';
import { requestRow, type StatementName } from './write-statements.js';
import type { InsertedSpans, InsertRequestCommand, InsertSpansCommand, ResultOf, SetModelPriceCommand, SetScoreCommand, WriteCommand } from './write-commands.js';

/**
 * Each write command as a program written once for both dialects: a generator that yields the
 * statements to run and receives what each gives. A dialect runs it its own way: SQLite's writer
 * thread synchronously (`runNow`), every other connection through Kysely (`runAwaiting`), so
 * neither pays for the other's way of waiting. A program checks before it writes: one refused by
 * its checks (a TallyError) has written nothing, and the transaction stays usable.
 */
export type Step =
  /** One of WRITE_STATEMENTS; gives its one value, or undefined. */
  | { statement: StatementName; params: Readonly<Record<string, unknown>> }
  /** A query Kysely built and compiled for the dialect; gives its rows. */
  | { query: CompiledQuery };

export type Program<T> = Generator<Step, T, unknown>;

/** What a program needs beyond its command: Kysely to compile the few queries built per call. */
export interface ProgramContext {
  compiler: Kysely<Database>;
}

export function runNow<T>(program: Program<T>, exec: (step: Step) => unknown): T {
  let next = program.next();
  while (!next.done) next = program.next(exec(next.value));
  return next.value;
}

export async function runAwaiting<T>(program: Program<T>, exec: (step: Step) => Promise<unknown>): Promise<T> {
  let next = program.next();
  while (!next.done) next = program.next(await exec(next.value));
  return next.value;
}

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
      return setScore(c);
    case 'setScores':
      return setScores(c, ctx);
    case 'deleteScore':
      return deleteScore(c);
    case 'setMetadata':
      return setMetadata(c);
    case 'setPrompt':
      return setPrompt(c);
    case 'createGroup':
      return createGroup(c.workspaceId);
    case 'addToGroup':
      return addToGroup(c);
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

const upsertScore = (t: ScoreTarget, value: number, at: number): Step =>
  run('upsertScore', { workspace_id: t.workspaceId, request_id: t.requestId, name: t.name, value, at, actor: t.actor.id, source: t.actor.source });

/** The history row of a change from `change.oldValue` to `change.newValue`. */
const appendEvent = (t: ScoreTarget, change: { oldValue: number | null; newValue: number | null }, at: number): Step =>
  run('appendEvent', {
    workspace_id: t.workspaceId,
    request_id: t.requestId,
    name: t.name,
    old_value: change.oldValue,
    new_value: change.newValue,
    actor: t.actor.id,
    source: t.actor.source,
    comment: t.opts?.comment ?? null,
    batch_id: t.opts?.batchId ?? null,
    at,
  });

function* insertRequest(c: InsertRequestCommand, ctx: ProgramContext): Program<number> {
  const { workspaceId, request: r } = c;
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
  if (r.score) {
    const target: ScoreTarget = { workspaceId, requestId: id, name: r.score.name, actor: c.actor };
    yield upsertScore(target, r.score.value, now);
    yield appendEvent(target, { oldValue: null, newValue: r.score.value }, now);
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

function* setScore(c: SetScoreCommand): Program<ScoreChange> {
  if ((yield requireRequest(c.workspaceId, c.requestId)) === undefined) throw requestMissing();
  const change: ScoreChange = { requestId: c.requestId, name: c.name, oldValue: ((yield oldScore(c)) as number | undefined) ?? null, newValue: c.value };
  const at = Date.now();
  yield upsertScore(c, c.value, at);
  yield appendEvent(c, change, at);
  return change;
}

// Keeps each IN list well under SQLite's and PostgreSQL's bound-parameter limits.
const CHUNK = 500;

/** Several scores, all or none: every request is checked before anything is written. */
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
  const out: ScoreChange[] = [];
  for (const item of c.items) {
    const target: ScoreTarget = { workspaceId: c.workspaceId, requestId: item.requestId, name: item.name, actor: c.actor, opts: c.opts };
    const change: ScoreChange = { requestId: item.requestId, name: item.name, oldValue: ((yield oldScore(target)) as number | undefined) ?? null, newValue: item.value };
    const at = Date.now();
    yield upsertScore(target, item.value, at);
    yield appendEvent(target, change, at);
    out.push(change);
  }
  return out;
}

/** Gives null when the request has no score of that name (nothing is recorded then). */
function* deleteScore(c: Extract<WriteCommand, { op: 'deleteScore' }>): Program<ScoreChange | null> {
  if ((yield requireRequest(c.workspaceId, c.requestId)) === undefined) throw requestMissing();
  const old = (yield run('deleteScore', { request_id: c.requestId, name: c.name })) as number | undefined;
  if (old === undefined) return null;
  const change: ScoreChange = { requestId: c.requestId, name: c.name, oldValue: old, newValue: null };
  yield appendEvent(c, change, Date.now());
  return change;
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
