import type { Program, ProgramContext, Step } from './program-steps.js';
import { notFound } from '../domain/errors.js';
import type { Actor, ScoreChange, ScoreChangeOptions } from './types.js';
import { reviewProgram } from './review-programs.js';
import { requestRow, type StatementName } from './write-statements.js';
import type { InsertRequestCommand, ResultOf, SetScoreCommand, WriteCommand } from './write-commands.js';

export { runAwaiting, runNow, type Program, type ProgramContext, type Step } from './program-steps.js';

const run = (statement: StatementName, params: Readonly<Record<string, unknown>>): Step => ({ statement, params });

/** The program of one command; it resolves to the command's result. */
export function programOf<C extends WriteCommand>(c: C, ctx: ProgramContext): Program<ResultOf<C>> {
  return commandProgram(c, ctx) as Program<ResultOf<C>>;
}

function commandProgram(c: WriteCommand, ctx: ProgramContext): Program<unknown> {
  switch (c.op) {
    case 'insertRequest':
      return insertRequest(c);
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
    case 'createReviewQueue':
    case 'addReviewItems':
    case 'claimReviewItem':
    case 'skipReviewItem':
    case 'archiveReviewQueue':
      return reviewProgram(c, ctx);
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

function* insertRequest(c: InsertRequestCommand): Program<number> {
  const { workspaceId, request: r } = c;
  if (r.groupId !== null && (yield requireGroup(workspaceId, r.groupId)) === undefined) throw groupMissing();
  const now = Date.now();
  const id = Number(yield run('insertRequest', requestRow(workspaceId, r, now)));
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
