import { Migrator, sql, type Kysely, type Selectable } from 'kysely';
import { notFound, TallyError } from '../domain/errors.js';
import type { RequestFilter } from '../domain/search-query.js';
import type { NewRequest } from '../domain/request-shape.js';
import { SqlAccounts } from './accounts.js';
import type { MigrationDialect } from './migrations/index.js';
import { TallyMigrations } from './migrations/index.js';
import { countMatchingRequests, readRequest, selectRequestContentPage, selectRequestPage, selectScoreNamesOf, type RequestContentText, type RequestPage, type RequestSearch, type RequestSummary } from './search.js';
import type { ApiKeysTable, Database, ScoreEventsTable, WorkspacesTable } from './schema.js';
import { selectExistingRequestIds, selectScoreEvents, selectScoreNameExists, type ScoreEventQuery } from './score-events.js';
import { selectScoreDistribution, selectScoreSeries, type DistributionRow, type ScoreAggregateQuery, type SeriesRow, type StatsInterval } from './score-stats.js';
import type {
  Actor,
  ApiKeyInfo,
  Backend,
  PromptLink,
  ScoreChange,
  ScoreChangeOptions,
  ScoreEvent,
  Store,
  StoreWriter,
  StoredRequest,
  Workspace,
} from './store.js';

/** What a backend folder supplies; everything else is shared SQL through Kysely. */
export interface BackendTraits {
  backend: Backend;
  migrationDialect: MigrationDialect;
  /**
   * Runs `fn` in one write transaction that no other write transaction overlaps, whatever process
   * runs it (SQLite: BEGIN IMMEDIATE; PostgreSQL: an advisory lock taken first). So a score's old
   * value cannot change between reading and replacing it, and history ids are handed out in commit
   * order: a feed reader never sees event N+1 before event N.
   */
  writeTransaction<T>(fn: (trx: Kysely<Database>) => Promise<T>): Promise<T>;
  /** Runs migrations, holding whatever lock keeps concurrent starts apart. */
  withMigrationLock<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

// Row converters: snake_case columns and JSON text stop here.
const toWorkspace = (r: Selectable<WorkspacesTable>): Workspace => ({ id: r.id, name: r.name, createdAt: Number(r.created_at) });

const toApiKey = (r: Selectable<ApiKeysTable>): ApiKeyInfo => ({
  id: r.id,
  workspaceId: Number(r.workspace_id),
  label: r.label,
  prefix: r.prefix,
  createdAt: Number(r.created_at),
  lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
  revokedAt: r.revoked_at === null ? null : Number(r.revoked_at),
});

const toScoreEvent = (r: Selectable<ScoreEventsTable>): ScoreEvent => ({
  id: r.id,
  requestId: Number(r.request_id),
  name: r.name,
  oldValue: r.old_value,
  newValue: r.new_value,
  actor: r.actor,
  source: r.source,
  comment: r.comment,
  batchId: r.batch_id,
  at: Number(r.at),
});


class SqlWriter implements StoreWriter {
  constructor(private readonly trx: Kysely<Database>) {}

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

/** The Store over Kysely; the backend folders supply the connection and their few differences. */
export class SqlStore implements Store {
  readonly backend: Backend;
  readonly accounts: SqlAccounts;

  constructor(
    readonly db: Kysely<Database>,
    private readonly traits: BackendTraits,
  ) {
    this.backend = traits.backend;
    this.accounts = new SqlAccounts(db);
  }

  async migrate(): Promise<void> {
    await this.traits.withMigrationLock(async () => {
      const migrator = new Migrator({ db: this.db, provider: new TallyMigrations(this.traits.migrationDialect) });
      const { error, results } = await migrator.migrateToLatest();
      if (error) {
        const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
        throw new Error(`migration ${failed} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  }

  close(): Promise<void> {
    return this.traits.close();
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  write<T>(fn: (w: StoreWriter) => Promise<T>): Promise<T> {
    return this.traits.writeTransaction((trx) => fn(new SqlWriter(trx)));
  }

  async bootstrapDefaultWorkspace(): Promise<Workspace | null> {
    const any = await this.db.selectFrom('workspaces').select('id').limit(1).executeTakeFirst();
    if (any) return null;
    // Two instances starting at once on one PostgreSQL: the unique name lets exactly one win.
    const row = await this.db
      .insertInto('workspaces')
      .values({ name: 'default', created_at: Date.now() })
      .onConflict((oc) => oc.column('name').doNothing())
      .returningAll()
      .executeTakeFirst();
    return row ? toWorkspace(row) : null;
  }

  async createWorkspace(name: string): Promise<Workspace> {
    const existing = await this.findWorkspace(name);
    if (existing) throw new TallyError('conflict', `name: a workspace named "${name}" already exists`, { field: 'name' });
    const row = await this.db
      .insertInto('workspaces')
      .values({ name, created_at: Date.now() })
      .onConflict((oc) => oc.column('name').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!row) throw new TallyError('conflict', `name: a workspace named "${name}" already exists`, { field: 'name' });
    return toWorkspace(row);
  }

  async listWorkspaces(): Promise<Workspace[]> {
    const rows = await this.db.selectFrom('workspaces').selectAll().orderBy('id').execute();
    return rows.map(toWorkspace);
  }

  async findWorkspace(name: string): Promise<Workspace | null> {
    const row = await this.db.selectFrom('workspaces').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toWorkspace(row) : null;
  }

  async createApiKey(workspaceId: number, label: string, prefix: string, secretHash: string): Promise<ApiKeyInfo> {
    const row = await this.db
      .insertInto('api_keys')
      .values({ workspace_id: workspaceId, label, prefix, secret_hash: secretHash, created_at: Date.now() })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toApiKey(row);
  }

  async listApiKeys(workspaceId: number): Promise<ApiKeyInfo[]> {
    const rows = await this.db.selectFrom('api_keys').selectAll().where('workspace_id', '=', workspaceId).orderBy('id').execute();
    return rows.map(toApiKey);
  }

  async revokeApiKey(id: number): Promise<boolean> {
    const res = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: Date.now() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) > 0;
  }

  async findApiKey(secretHash: string): Promise<ApiKeyInfo | null> {
    const row = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('secret_hash', '=', secretHash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return row ? toApiKey(row) : null;
  }

  async touchApiKey(id: number, at: number): Promise<void> {
    await this.db.updateTable('api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
  }

  getRequest(workspaceId: number, id: number): Promise<StoredRequest | null> {
    return readRequest(this.db, workspaceId, id);
  }

  searchRequests(workspaceId: number, query: RequestSearch): Promise<RequestPage<RequestSummary>> {
    return selectRequestPage(this.db, workspaceId, query);
  }

  searchRequestContents(workspaceId: number, query: RequestSearch): Promise<RequestPage<RequestContentText>> {
    return selectRequestContentPage(this.db, workspaceId, query);
  }

  countRequests(workspaceId: number, filter: RequestFilter | null): Promise<number> {
    return countMatchingRequests(this.db, workspaceId, filter);
  }

  scoreNamesOf(workspaceId: number, filter: RequestFilter | null): Promise<string[]> {
    return selectScoreNamesOf(this.db, workspaceId, filter);
  }

  async scoreHistory(workspaceId: number, requestId: number): Promise<ScoreEvent[]> {
    const rows = await this.db
      .selectFrom('score_events')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('request_id', '=', requestId)
      .orderBy('id')
      .execute();
    return rows.map(toScoreEvent);
  }

  async scoreEvents(workspaceId: number, query: ScoreEventQuery): Promise<ScoreEvent[]> {
    return (await selectScoreEvents(this.db, workspaceId, query)).map(toScoreEvent);
  }

  existingRequestIds(workspaceId: number, ids: readonly number[]): Promise<Set<number>> {
    return selectExistingRequestIds(this.db, workspaceId, ids);
  }

  scoreNameExists(workspaceId: number, name: string): Promise<boolean> {
    return selectScoreNameExists(this.db, workspaceId, name);
  }

  scoreDistribution(workspaceId: number, query: ScoreAggregateQuery): Promise<DistributionRow[]> {
    return selectScoreDistribution(this.db, workspaceId, query);
  }

  scoreSeries(workspaceId: number, query: ScoreAggregateQuery & { interval: StatsInterval }): Promise<SeriesRow[]> {
    return selectScoreSeries(this.db, workspaceId, query);
  }
}
