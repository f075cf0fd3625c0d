import type { CompiledQuery, Kysely } from 'kysely';
import { notFound } from '../domain/errors.js';
import type { Database } from './schema.js';
import type { Actor, ScoreChange, ScoreChangeOptions } from './types.js';
import { requestRow, type StatementName } from './write-statements.js';
import type { InsertRequestCommand, ResultOf, WriteCommand } from './write-commands.js';

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
  }
}

/** Checks that the request is in the workspace (a foreign id answers like a missing one). */
function* requireRequest(workspaceId: number, requestId: number): Program<void> {
  if ((yield run('requireRequest', { request_id: requestId, workspace_id: workspaceId })) === undefined) throw notFound('request_id', 'request');
}

function* requireGroup(workspaceId: number, groupId: number): Program<void> {
  if ((yield run('requireGroup', { group_id: groupId, workspace_id: workspaceId })) === undefined) throw notFound('group_id', 'group');
}

function* insertRequest(c: InsertRequestCommand): Program<number> {
  const { workspaceId, request: r } = c;
  if (r.groupId !== null) yield* requireGroup(workspaceId, r.groupId);
  const now = Date.now();
  const id = Number(yield run('insertRequest', requestRow(workspaceId, r, now)));
  for (const tag of r.tags) yield run('insertTag', { workspace_id: workspaceId, request_id: id, tag });
  for (const [key, value] of Object.entries(r.metadata)) yield run('insertMetadata', { workspace_id: workspaceId, request_id: id, key, value });
  if (r.groupId !== null) yield run('linkGroup', { workspace_id: workspaceId, request_id: id, group_id: r.groupId });
  if (r.score) yield* writeScore({ workspaceId, requestId: id, name: r.score.name, value: r.score.value, actor: c.actor, oldValue: null, at: now });
  return id;
}

interface ScoreWrite {
  workspaceId: number;
  requestId: number;
  name: string;
  value: number;
  actor: Actor;
  opts?: ScoreChangeOptions | undefined;
}

function* setScore(c: ScoreWrite): Program<ScoreChange> {
  yield* requireRequest(c.workspaceId, c.requestId);
  return yield* replaceScore(c);
}

/** Sets a score of a request already checked to be in the workspace, recording the old value. */
function* replaceScore(c: ScoreWrite): Program<ScoreChange> {
  const old = (yield run('oldScore', { request_id: c.requestId, name: c.name })) as number | undefined;
  return yield* writeScore({ ...c, oldValue: old ?? null, at: Date.now() });
}

function* writeScore(c: ScoreWrite & { oldValue: number | null; at: number }): Program<ScoreChange> {
  const { workspaceId, requestId, name, value, actor, at } = c;
  yield run('upsertScore', { workspace_id: workspaceId, request_id: requestId, name, value, at, actor: actor.id, source: actor.source });
  yield appendEvent({ ...c, newValue: value });
  return { requestId, name, oldValue: c.oldValue, newValue: value };
}

const appendEvent = (e: Omit<ScoreWrite, 'value'> & { oldValue: number | null; newValue: number | null; at: number }): Step =>
  run('appendEvent', {
    workspace_id: e.workspaceId,
    request_id: e.requestId,
    name: e.name,
    old_value: e.oldValue,
    new_value: e.newValue,
    actor: e.actor.id,
    source: e.actor.source,
    comment: e.opts?.comment ?? null,
    batch_id: e.opts?.batchId ?? null,
    at: e.at,
  });

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
  if (unique.some((id) => !existing.has(id))) throw notFound('request_id', 'request');
  const out: ScoreChange[] = [];
  for (const i of c.items) out.push(yield* replaceScore({ ...i, workspaceId: c.workspaceId, actor: c.actor, opts: c.opts }));
  return out;
}

/** Gives null when the request has no score of that name (nothing is recorded then). */
function* deleteScore(c: Extract<WriteCommand, { op: 'deleteScore' }>): Program<ScoreChange | null> {
  yield* requireRequest(c.workspaceId, c.requestId);
  const old = (yield run('deleteScore', { request_id: c.requestId, name: c.name })) as number | undefined;
  if (old === undefined) return null;
  yield appendEvent({ ...c, oldValue: old, newValue: null, at: Date.now() });
  return { requestId: c.requestId, name: c.name, oldValue: old, newValue: null };
}

function* setMetadata(c: Extract<WriteCommand, { op: 'setMetadata' }>): Program<void> {
  yield* requireRequest(c.workspaceId, c.requestId);
  for (const [key, value] of Object.entries(c.metadata)) yield run('upsertMetadata', { workspace_id: c.workspaceId, request_id: c.requestId, key, value });
}

function* setPrompt(c: Extract<WriteCommand, { op: 'setPrompt' }>): Program<void> {
  yield* requireRequest(c.workspaceId, c.requestId);
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
  yield* requireRequest(c.workspaceId, c.requestId);
  yield* requireGroup(c.workspaceId, c.groupId);
  yield run('linkGroup', { workspace_id: c.workspaceId, request_id: c.requestId, group_id: c.groupId });
}
