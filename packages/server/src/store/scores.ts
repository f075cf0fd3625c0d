import { sql, type Kysely, type Selectable } from 'kysely';
import type { RequestFilter } from '../domain/search-query.js';
import type { Database, ScoreEventsTable } from './schema.js';
import { readFor } from './read-scope.js';
import { applyRequestFilter, planTextSearch } from './search-filter.js';
import { selectScoreDistribution, selectScoreStats, type StatsSource } from './score-stats.js';
import type { DistributionRow, ScoreAggregateQuery, ScoreEvent, ScoreEventQuery, ScoreStatsRows, StatsInterval } from './types.js';

/** Reads of scores: a request's history, the workspace's event feed, statistics and comparisons. Writes go through the write queue. */
export interface ScoreStore {
  /** Every change of a request's scores, oldest first. */
  history(workspaceId: number, requestId: number): Promise<ScoreEvent[]>;
  /** The workspace's score events after a keyset cursor, oldest first. */
  events(workspaceId: number, query: ScoreEventQuery): Promise<ScoreEvent[]>;
  /** Whether any request of the workspace has ever held a current score of this name. */
  nameExists(workspaceId: number, name: string): Promise<boolean>;
  /** The distinct score names on the matching requests, sorted. */
  namesOf(workspaceId: number, filter: RequestFilter | null): Promise<string[]>;
  /** How many scores have each value, per name and group (comparisons). */
  distribution(workspaceId: number, query: ScoreAggregateQuery): Promise<DistributionRow[]>;
  /** The distribution and the time series together (statistics). */
  stats(workspaceId: number, query: ScoreAggregateQuery & { interval: StatsInterval }): Promise<ScoreStatsRows>;
}

export const toScoreEvent = (r: Selectable<ScoreEventsTable>): ScoreEvent => ({
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

/** The score reads over Kysely; the aggregate queries are built in score-stats.ts. */
export class SqlScores implements ScoreStore {
  private readonly statsSource: StatsSource;

  /**
   * @param reads where the reads that clients' filters steer run, with a deadline (BackendTraits.readDb).
   * @param codePointCollation see StatsSource.
   */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly reads: Kysely<Database>,
    codePointCollation: string | null,
  ) {
    this.statsSource = { db: reads, codePointCollation };
  }

  async history(workspaceId: number, requestId: number): Promise<ScoreEvent[]> {
    const rows = await this.db
      .selectFrom('score_events')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('request_id', '=', requestId)
      .orderBy('id')
      .execute();
    return rows.map(toScoreEvent);
  }

  async events(workspaceId: number, q: ScoreEventQuery): Promise<ScoreEvent[]> {
    const rows = await this.db
      .selectFrom('score_events')
      .selectAll()
      .where('workspace_id', '=', workspaceId)
      .where('id', '>', q.afterId)
      .$if(q.name !== undefined, (qb) => qb.where('name', '=', q.name!))
      .$if(q.requestId !== undefined, (qb) => qb.where('request_id', '=', q.requestId!))
      .orderBy('id')
      .limit(q.limit)
      .execute();
    return rows.map(toScoreEvent);
  }

  async nameExists(workspaceId: number, name: string): Promise<boolean> {
    const row = await this.db.selectFrom('scores').select('request_id').where('workspace_id', '=', workspaceId).where('name', '=', name).limit(1).executeTakeFirst();
    return row !== undefined;
  }

  /**
   * The score names present on matching requests, sorted. For the whole workspace, a skip scan of
   * scores(workspace_id, name, ...): one index seek per distinct name (a recursive query, the same on
   * both backends), where DISTINCT reads every score row. With a filter, one DISTINCT query over
   * the matching requests' scores.
   */
  namesOf(workspaceId: number, filter: RequestFilter | null): Promise<string[]> {
    return readFor(workspaceId, () => this.selectNamesOf(workspaceId, filter));
  }

  private async selectNamesOf(workspaceId: number, filter: RequestFilter | null): Promise<string[]> {
    const db = this.reads;
    if (filter === null) {
      const { rows } = await sql<{ name: string }>`
        with recursive names(name) as (
          select min(name) from scores where workspace_id = ${workspaceId}
          union all
          select (select min(s.name) from scores as s where s.workspace_id = ${workspaceId} and s.name > names.name) from names where names.name is not null
        )
        select name from names where name is not null`.execute(db);
      return rows.map((r) => r.name);
    }
    await planTextSearch(db, filter);
    const matching = applyRequestFilter(db.selectFrom('requests').select('requests.id'), workspaceId, filter);
    const rows = await db
      .selectFrom('scores')
      .select('scores.name')
      .distinct()
      .where('scores.workspace_id', '=', workspaceId)
      .where('scores.request_id', 'in', matching)
      .orderBy('scores.name')
      .execute();
    return rows.map((r) => r.name);
  }

  distribution(workspaceId: number, query: ScoreAggregateQuery): Promise<DistributionRow[]> {
    return readFor(workspaceId, () => selectScoreDistribution(this.statsSource, workspaceId, query));
  }

  stats(workspaceId: number, query: ScoreAggregateQuery & { interval: StatsInterval }): Promise<ScoreStatsRows> {
    return readFor(workspaceId, () => selectScoreStats(this.statsSource, workspaceId, query));
  }
}
