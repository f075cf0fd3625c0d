import type { Kysely } from 'kysely';
import { notFound } from '../domain/errors.js';
import type { NewRequest } from '../domain/request-shape.js';
import type { Database } from './schema.js';
import { selectExistingRequestIds } from './score-events.js';
import type { Outcome, SetScoreCommand } from './write-commands.js';
import type { Actor, PromptLink, ScoreChange, ScoreChangeOptions, StoreWriter } from './store.js';

/**
 * The writes, inside one transaction. Kept apart from the rest of the store so SQLite's writer
 * thread loads only what it runs.
 */
export class SqlWriter implements StoreWriter {
  readonly setEachScore?: (cmds: readonly SetScoreCommand[]) => Promise<Outcome[]>;

  constructor(
    private readonly trx: Kysely<Database>,
    /** The backend's way of writing many scores at once, if it has one. */
    eachScore?: (trx: Kysely<Database>, cmds: readonly SetScoreCommand[]) => Promise<Outcome[]>,
  ) {
    if (eachScore) this.setEachScore = (cmds) => eachScore(trx, cmds);
  }

  /** Checks that the request is in the workspace (a foreign id answers like a missing one). */
  private async requireRequest(workspaceId: number, requestId: number): Promise<void> {
    const row = await this.trx.selectFrom('requests').select('id').where('id', '=', requestId).where('workspace_id', '=', workspaceId).executeTakeFirst();
    if (!row) throw notFound('request_id', 'request');
  }

  async insertRequest(workspaceId: number, r: NewRequest, actor: Actor): Promise<number> {
    if (r.groupId !== null) await this.requireGroup(workspaceId, r.groupId);
    const now = Date.now();
    const row = await this.trx
      .insertInto('requests')
      .values({
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
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const id = Number(row.id);
    if (r.tags.length > 0) {
      await this.trx
        .insertInto('request_tags')
        .values(r.tags.map((tag) => ({ workspace_id: workspaceId, request_id: id, tag })))
        .execute();
    }
    const meta = Object.entries(r.metadata);
    if (meta.length > 0) {
      await this.trx
        .insertInto('request_metadata')
        .values(meta.map(([key, value]) => ({ workspace_id: workspaceId, request_id: id, key, value })))
        .execute();
    }
    if (r.groupId !== null) {
      await this.trx.insertInto('request_groups').values({ workspace_id: workspaceId, request_id: id, group_id: r.groupId }).execute();
    }
    if (r.score) await this.writeScore(workspaceId, id, r.score.name, r.score.value, actor, {}, null, now);
    return id;
  }

  async setScore(workspaceId: number, requestId: number, name: string, value: number, actor: Actor, opts: ScoreChangeOptions = {}): Promise<ScoreChange> {
    await this.requireRequest(workspaceId, requestId);
    const old = await this.trx
      .selectFrom('scores')
      .select('value')
      .where('request_id', '=', requestId)
      .where('name', '=', name)
      .executeTakeFirst();
    return this.writeScore(workspaceId, requestId, name, value, actor, opts, old ? old.value : null, Date.now());
  }

  async setScores(workspaceId: number, items: readonly { requestId: number; name: string; value: number }[], actor: Actor, opts: ScoreChangeOptions = {}): Promise<ScoreChange[]> {
    const existing = await selectExistingRequestIds(this.trx, workspaceId, items.map((i) => i.requestId));
    if (items.some((i) => !existing.has(i.requestId))) throw notFound('request_id', 'request');
    const out: ScoreChange[] = [];
    for (const i of items) out.push(await this.setScore(workspaceId, i.requestId, i.name, i.value, actor, opts));
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
    await this.trx
      .insertInto('scores')
      .values({ workspace_id: workspaceId, request_id: requestId, name, value, updated_at: at, updated_by: actor.id, source: actor.source })
      .onConflict((oc) => oc.columns(['request_id', 'name']).doUpdateSet({ value, updated_at: at, updated_by: actor.id, source: actor.source }))
      .execute();
    await this.appendEvent(workspaceId, requestId, name, oldValue, value, actor, opts, at);
    return { requestId, name, oldValue, newValue: value };
  }

  private async appendEvent(
    workspaceId: number,
    requestId: number,
    name: string,
    oldValue: number | null,
    newValue: number | null,
    actor: Actor,
    opts: ScoreChangeOptions,
    at: number,
  ): Promise<void> {
    await this.trx
      .insertInto('score_events')
      .values({
        workspace_id: workspaceId,
        request_id: requestId,
        name,
        old_value: oldValue,
        new_value: newValue,
        actor: actor.id,
        source: actor.source,
        comment: opts.comment ?? null,
        batch_id: opts.batchId ?? null,
        at,
      })
      .execute();
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
