import { CompiledQuery, type Insertable, type Kysely } from 'kysely';
import { notFound } from '../domain/errors.js';
import type { NewRequest } from '../domain/request-shape.js';
import type { Database, RequestsTable } from './schema.js';
import { selectExistingRequestIds } from './requests.js';
import type { InsertRequestCommand, Outcome, SetScoreCommand } from './write-commands.js';
import type { Actor, PromptLink, ScoreChange, ScoreChangeOptions } from './types.js';
import type { StoreWriter } from './write-commands.js';

/**
 * The statements every logged request and every score write runs, as SQL text written once
 * instead of built by Kysely's query builder on every call: building costs more than SQLite takes
 * to run them (bench/writer.ts). `?` placeholders; PostgreSQL gets `$n` (see `numbered`).
 */
export const REQUEST_COLUMNS = [
  'workspace_id', 'provider', 'model', 'function_name', 'api_type', 'input', 'output', 'parameters', 'prompt_name', 'prompt_id',
  'prompt_version', 'prompt_label', 'prompt_input_variables', 'input_tokens', 'output_tokens', 'price', 'status', 'error_type',
  'error_message', 'request_start_time', 'request_end_time', 'latency_ms', 'span_id', 'created_at',
] as const satisfies readonly (keyof Insertable<RequestsTable>)[];

export const HOT_SQL = {
  insertRequest: `insert into requests (${REQUEST_COLUMNS.join(', ')}) values (${REQUEST_COLUMNS.map(() => '?').join(', ')}) returning id`,
  insertTag: 'insert into request_tags (workspace_id, request_id, tag) values (?, ?, ?)',
  insertMetadata: 'insert into request_metadata (workspace_id, request_id, key, value) values (?, ?, ?, ?)',
  requireRequest: 'select id from requests where id = ? and workspace_id = ?',
  oldScore: 'select value from scores where request_id = ? and name = ?',
  upsertScore:
    'insert into scores (workspace_id, request_id, name, value, updated_at, updated_by, source) values (?, ?, ?, ?, ?, ?, ?) ' +
    'on conflict (request_id, name) do update set value = excluded.value, updated_at = excluded.updated_at, updated_by = excluded.updated_by, source = excluded.source',
  appendEvent: 'insert into score_events (workspace_id, request_id, name, old_value, new_value, actor, source, comment, batch_id, at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
};
type HotSql = typeof HOT_SQL;
export type HotStatement = keyof HotSql;

/**
 * Runs one of the hot statements with its parameters in placeholder order, inside the writer's
 * transaction. Each returns at most one row of one column, and that value is what it gives:
 * `undefined` when there is no row, and for a statement that returns nothing.
 */
export type HotRunner = (statement: HotStatement, parameters: readonly unknown[]) => unknown;

/** The first column of the first row, as a HotRunner gives it. */
const firstValue = (rows: readonly unknown[]): unknown => {
  const row = rows[0] as Record<string, unknown> | undefined;
  return row === undefined ? undefined : Object.values(row)[0];
};

/** requireRequest's verdict on what its statement gave. */
const requireFound = (found: unknown): void => {
  if (found === undefined) throw notFound('request_id', 'request');
};

/** The parameters of each hot statement, in the order of its placeholders. */
export const hotParams = {
  insertRequest: (row: Insertable<RequestsTable>) => REQUEST_COLUMNS.map((c) => row[c] ?? null),
  upsertScore: (workspaceId: number, requestId: number, name: string, value: number, at: number, actor: Actor) => [workspaceId, requestId, name, value, at, actor.id, actor.source],
  appendEvent: (workspaceId: number, requestId: number, name: string, oldValue: number | null, newValue: number | null, actor: Actor, opts: ScoreChangeOptions, at: number) => [
    workspaceId, requestId, name, oldValue, newValue, actor.id, actor.source, opts.comment ?? null, opts.batchId ?? null, at,
  ],
};
const numbered = (q: string) => {
  let n = 0;
  return q.replace(/\?/g, () => `$${++n}`);
};
const HOT_SQL_DOLLAR = Object.fromEntries(Object.entries(HOT_SQL).map(([k, q]) => [k, numbered(q)])) as HotSql;

/** The row of a logged request, as stored (content as JSON text). */
export function requestRow(workspaceId: number, r: NewRequest, now: number): Insertable<RequestsTable> {
  return {
    workspace_id: workspaceId,
    provider: r.provider,
    model: r.model,
    function_name: r.functionName,
    api_type: r.apiType,
    input: JSON.stringify(r.input),
    output: JSON.stringify(r.output),
    parameters: JSON.stringify(r.parameters),
    prompt_name: r.promptName,
    prompt_id: r.promptId,
    prompt_version: r.promptVersion,
    prompt_label: null,
    prompt_input_variables: JSON.stringify(r.promptInputVariables),
    input_tokens: r.inputTokens,
    output_tokens: r.outputTokens,
    price: r.price,
    status: r.status,
    error_type: r.errorType,
    error_message: r.errorMessage,
    request_start_time: r.startMs,
    request_end_time: r.endMs,
    latency_ms: r.endMs - r.startMs,
    span_id: r.spanId,
    created_at: now,
  };
}

export interface SqlWriterOptions {
  /** PostgreSQL numbers its parameters (`$1`); SQLite takes `?`. */
  numberedParameters: boolean;
  /**
   * Runs the hot statements (HOT_SQL) on the transaction's connection without Kysely, where the
   * backend can: SQLite's writer thread calls statements prepared once on its connection. By
   * default they run through Kysely like every other statement.
   */
  runHot?: HotRunner;
  /** The backend's way of writing many scores at once, if it has one. */
  eachScore?: (trx: Kysely<Database>, cmds: readonly SetScoreCommand[]) => Promise<Outcome[]>;
  /** The backend's way of inserting many logged requests at once, if it has one. */
  eachRequest?: (trx: Kysely<Database>, cmds: readonly InsertRequestCommand[]) => Promise<Outcome[]>;
}

/**
 * The writes, inside one transaction. Kept apart from the rest of the store so SQLite's writer
 * thread loads only what it runs.
 */
export class SqlWriter implements StoreWriter {
  readonly setEachScore?: (cmds: readonly SetScoreCommand[]) => Promise<Outcome[]>;
  readonly insertEachRequest?: (cmds: readonly InsertRequestCommand[]) => Promise<Outcome[]>;

  private readonly runHot: HotRunner;

  constructor(
    private readonly trx: Kysely<Database>,
    opts: SqlWriterOptions,
  ) {
    const sql = opts.numberedParameters ? HOT_SQL_DOLLAR : HOT_SQL;
    this.runHot = opts.runHot ?? (async (statement, parameters) => firstValue((await trx.executeQuery(CompiledQuery.raw(sql[statement], parameters as unknown[]))).rows));
    const eachScore = opts.eachScore;
    if (eachScore) this.setEachScore = (cmds) => eachScore(trx, cmds);
    const eachRequest = opts.eachRequest;
    if (eachRequest) this.insertEachRequest = (cmds) => eachRequest(trx, cmds);
  }

  /**
   * One hot statement's value. SQLite's writer thread answers synchronously, and awaiting a plain
   * value still costs a turn of the microtask queue, so the hot paths below await only promises.
   * In a scratch loop of batches of 50 (alternated with the separate path this replaced, which
   * made plain calls), awaiting every statement made a logged request about 2.5 µs dearer, on a
   * writer thread that spends about 40 µs on one, and awaiting only promises about 1 µs;
   * `npm run bench:writer` then showed the two level (the README's write figures).
   */
  private run<R>(statement: HotStatement, parameters: readonly unknown[]): R | undefined | Promise<R | undefined> {
    return this.runHot(statement, parameters) as R | undefined | Promise<R | undefined>;
  }

  /**
   * Checks that the request is in the workspace (a foreign id answers like a missing one). Plain,
   * not async, so that the score path can skip the await when the check answered synchronously.
   */
  private requireRequest(workspaceId: number, requestId: number): void | Promise<void> {
    const found = this.run('requireRequest', [requestId, workspaceId]);
    if (found instanceof Promise) return found.then(requireFound);
    requireFound(found);
  }

  async insertRequest(workspaceId: number, r: NewRequest, actor: Actor): Promise<number> {
    if (r.groupId !== null) await this.requireGroup(workspaceId, r.groupId);
    const now = Date.now();
    const inserted = this.run<number | bigint>('insertRequest', hotParams.insertRequest(requestRow(workspaceId, r, now)));
    const id = Number(inserted instanceof Promise ? await inserted : inserted);
    for (const tag of r.tags) {
      const done = this.run('insertTag', [workspaceId, id, tag]);
      if (done instanceof Promise) await done;
    }
    for (const [key, value] of Object.entries(r.metadata)) {
      const done = this.run('insertMetadata', [workspaceId, id, key, value]);
      if (done instanceof Promise) await done;
    }
    if (r.groupId !== null) {
      await this.trx.insertInto('request_groups').values({ workspace_id: workspaceId, request_id: id, group_id: r.groupId }).execute();
    }
    if (r.score) await this.writeScore(workspaceId, id, r.score.name, r.score.value, actor, {}, null, now);
    return id;
  }

  async setScore(workspaceId: number, requestId: number, name: string, value: number, actor: Actor, opts: ScoreChangeOptions = {}): Promise<ScoreChange> {
    const checked = this.requireRequest(workspaceId, requestId);
    if (checked instanceof Promise) await checked;
    return this.replaceScore(workspaceId, requestId, name, value, actor, opts);
  }

  /** Sets a score of a request already checked to be in the workspace, recording the old value. */
  private async replaceScore(workspaceId: number, requestId: number, name: string, value: number, actor: Actor, opts: ScoreChangeOptions): Promise<ScoreChange> {
    const old = this.run<number>('oldScore', [requestId, name]);
    return this.writeScore(workspaceId, requestId, name, value, actor, opts, (old instanceof Promise ? await old : old) ?? null, Date.now());
  }

  async setScores(workspaceId: number, items: readonly { requestId: number; name: string; value: number }[], actor: Actor, opts: ScoreChangeOptions = {}): Promise<ScoreChange[]> {
    const existing = await selectExistingRequestIds(this.trx, workspaceId, items.map((i) => i.requestId));
    if (items.some((i) => !existing.has(i.requestId))) throw notFound('request_id', 'request');
    const out: ScoreChange[] = [];
    // Every request was checked above; no second lookup per item.
    for (const i of items) out.push(await this.replaceScore(workspaceId, i.requestId, i.name, i.value, actor, opts));
    return out;
  }

  private async writeScore(
    workspaceId: number,
    requestId: number,
    name: string,
    value: number,
    actor: Actor,
    opts: ScoreChangeOptions,
    oldValue: number | null,
    at: number,
  ): Promise<ScoreChange> {
    const upserted = this.run('upsertScore', hotParams.upsertScore(workspaceId, requestId, name, value, at, actor));
    if (upserted instanceof Promise) await upserted;
    const appended = this.appendEvent(workspaceId, requestId, name, oldValue, value, actor, opts, at);
    if (appended instanceof Promise) await appended;
    return { requestId, name, oldValue, newValue: value };
  }

  private appendEvent(
    workspaceId: number,
    requestId: number,
    name: string,
    oldValue: number | null,
    newValue: number | null,
    actor: Actor,
    opts: ScoreChangeOptions,
    at: number,
  ): unknown {
    return this.run('appendEvent', hotParams.appendEvent(workspaceId, requestId, name, oldValue, newValue, actor, opts, at));
  }

  async deleteScore(workspaceId: number, requestId: number, name: string, actor: Actor, opts: ScoreChangeOptions = {}): Promise<ScoreChange | null> {
    await this.requireRequest(workspaceId, requestId);
    const old = await this.trx
      .deleteFrom('scores')
      .where('request_id', '=', requestId)
      .where('name', '=', name)
      .returning('value')
      .executeTakeFirst();
    if (!old) return null;
    await this.appendEvent(workspaceId, requestId, name, old.value, null, actor, opts, Date.now());
    return { requestId, name, oldValue: old.value, newValue: null };
  }

  async setMetadata(workspaceId: number, requestId: number, metadata: Record<string, string>): Promise<void> {
    await this.requireRequest(workspaceId, requestId);
    const entries = Object.entries(metadata);
    if (entries.length === 0) return;
    await this.trx
      .insertInto('request_metadata')
      .values(entries.map(([key, value]) => ({ workspace_id: workspaceId, request_id: requestId, key, value })))
      .onConflict((oc) => oc.columns(['request_id', 'key']).doUpdateSet((eb) => ({ value: eb.ref('excluded.value') })))
      .execute();
  }

  async setPrompt(workspaceId: number, requestId: number, p: PromptLink): Promise<void> {
    await this.requireRequest(workspaceId, requestId);
    await this.trx
      .updateTable('requests')
      .set({
        prompt_name: p.name,
        prompt_version: p.version,
        prompt_label: p.label,
        prompt_input_variables: JSON.stringify(p.inputVariables),
      })
      .where('id', '=', requestId)
      .where('workspace_id', '=', workspaceId)
      .execute();
  }

  async createGroup(workspaceId: number): Promise<number> {
    const row = await this.trx.insertInto('groups').values({ workspace_id: workspaceId, created_at: Date.now() }).returning('id').executeTakeFirstOrThrow();
    return Number(row.id);
  }

  private async requireGroup(workspaceId: number, groupId: number): Promise<void> {
    const row = await this.trx.selectFrom('groups').select('id').where('id', '=', groupId).where('workspace_id', '=', workspaceId).executeTakeFirst();
    if (!row) throw notFound('group_id', 'group');
  }

  async addToGroup(workspaceId: number, requestId: number, groupId: number): Promise<void> {
    await this.requireRequest(workspaceId, requestId);
    await this.requireGroup(workspaceId, groupId);
    await this.trx
      .insertInto('request_groups')
      .values({ workspace_id: workspaceId, request_id: requestId, group_id: groupId })
      .onConflict((oc) => oc.columns(['request_id', 'group_id']).doNothing())
      .execute();
  }
}
