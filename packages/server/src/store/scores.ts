import { sql, type Kysely, type Selectable } from 'kysely';
import { allOf, type RequestFilter } from '../domain/search-query.js';
import type { Database, ScoreEventsTable } from './schema.js';
import { readFor } from './read-scope.js';
import { applyRequestFilter, planTextSearch } from './search-filter.js';
import { currentRatingsTable, selectScoreDistribution, selectScoreStats, type StatsSource } from './score-stats.js';
import { selectCorrelation } from './score-correlation.js';
import { selectFacets } from './facets.js';
import type { CorrelationQuery, CorrelationRows, FacetRows, CurrentRating, DistributionRow, ReasonRow, ScoreAggregateQuery, ScoreEvent, ScoreEventQuery, ScoreStatsRows, StatsInterval } from './types.js';
import { reduceRatings, type ScoreEventKind } from '../domain/score-schema.js';

/** Reads of scores: a request's history, the workspace's event feed, statistics and comparisons. Writes go through the write queue. */
export interface ScoreStore {
  /**
   * The current ratings of these requests (of one name, or of every name): per request and name,
   * each rater's latest rating after the last deletion of the score, in the order given. The one
   * function every reader of ratings uses (agreement, queues, feedback, score_details). Ids of
   * another workspace give nothing. Reads the history through score_events_request, 500 ids a query.
   */
  currentRatings(workspaceId: number, requestIds: readonly number[], name?: string): Promise<CurrentRating[]>;
  /** Every change of a request's scores, oldest first. */
  history(workspaceId: number, requestId: number): Promise<ScoreEvent[]>;
  /** The workspace's score events after a keyset cursor, oldest first. */
  events(workspaceId: number, query: ScoreEventQuery): Promise<ScoreEvent[]>;
  /**
   * Where a window of the newest `limit` requests (by id) that `filter` matches and that carry a
   * score of `name` starts: the id of the oldest in it (null when fewer match: no bound), and
   * whether older ones were left out.
   */
  windowStart(workspaceId: number, query: { name: string; filter: RequestFilter | null; limit: number }): Promise<{ minRequestId: number | null; truncated: boolean }>;
  /** Whether any request of the workspace has ever held a current score of this name. */
  nameExists(workspaceId: number, name: string): Promise<boolean>;
  /** The distinct score names on the matching requests, sorted. */
  namesOf(workspaceId: number, filter: RequestFilter | null): Promise<string[]>;
  /** How many scores have each value, per name and group (comparisons). */
  distribution(workspaceId: number, query: ScoreAggregateQuery): Promise<DistributionRow[]>;
  /**
   * The current scores that carry reasons, counted per name, value and reason list (statistics'
   * reason counts), for the matching requests. With `raterSources`: the current ratings of raters
   * of those sources instead, each with its own value and reasons.
   */
  reasonRows(workspaceId: number, query: Omit<ScoreAggregateQuery, 'groupBy'>): Promise<ReasonRow[]>;
  /** The distribution and the time series together (statistics). */
  stats(workspaceId: number, query: ScoreAggregateQuery & { interval: StatsInterval }): Promise<ScoreStatsRows>;
  /** A score against a request figure: per bin of x's average rank, counts and the sums of Spearman's rho (score-correlation.ts). */
  correlation(workspaceId: number, query: CorrelationQuery): Promise<CorrelationRows>;
  /** Prompt names, prompt versions, models, tags and metadata keys in use, each at most limit + 1 (facets.ts). */
  facets(workspaceId: number, limit: number): Promise<FacetRows>;
}

const reasonsOf = (text: string | null): string[] | null => (text === null ? null : (JSON.parse(text) as string[]));

export const toScoreEvent = (r: Selectable<ScoreEventsTable>): ScoreEvent => ({
  id: Number(r.id),
  requestId: Number(r.request_id),
  name: r.name,
  oldValue: r.old_value,
  newValue: r.new_value,
  actor: r.actor,
  source: r.source,
  comment: r.comment,
  batchId: r.batch_id,
  at: Number(r.at),
  rater: r.rater ?? r.actor,
  rating: r.rating,
  label: r.label,
  reasons: reasonsOf(r.reasons),
  schemaVersion: r.schema_version,
  kind: r.kind as ScoreEventKind,
});

// Keeps each IN list well under SQLite's and PostgreSQL's bound-parameter limits.
const CHUNK = 500;

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

  async currentRatings(workspaceId: number, requestIds: readonly number[], name?: string): Promise<CurrentRating[]> {
    const unique = [...new Set(requestIds)];
    const found = new Map<number, CurrentRating[]>();
    for (let i = 0; i < unique.length; i += CHUNK) {
      // No workspace_id term: it could steer SQLite's planner to score_events_ws (workspace_id, id)
      // instead of score_events_request; rows of another workspace are dropped below instead.
      const rows = await this.db
        .selectFrom('score_events')
        .select(['id', 'workspace_id', 'request_id', 'name', 'kind', 'rater', 'actor', 'rating', 'label', 'comment', 'reasons', 'source', 'at'])
        .where('request_id', 'in', unique.slice(i, i + CHUNK))
        .$if(name !== undefined, (qb) => qb.where('name', '=', name!))
        .orderBy('request_id')
        .orderBy('id')
        .execute();
      // Rows come grouped by request; each request's are split by name, in id order.
      const byKey = new Map<string, typeof rows>();
      for (const r of rows) {
        if (Number(r.workspace_id) !== workspaceId) continue;
        const key = `${r.request_id}\u0000${r.name}`;
        let list = byKey.get(key);
        if (!list) byKey.set(key, (list = []));
        list.push(r);
      }
      for (const list of byKey.values()) {
        const events = list.map((r) => ({ ...r, id: Number(r.id), kind: r.kind as ScoreEventKind, rater: r.rater ?? r.actor }));
        for (const e of reduceRatings(events).ratings) {
          const requestId = Number(e.request_id);
          let out = found.get(requestId);
          if (!out) found.set(requestId, (out = []));
          out.push({ requestId, name: e.name, rater: e.rater, value: e.rating!, label: e.label, comment: e.comment, reasons: reasonsOf(e.reasons), source: e.source, at: Number(e.at), eventId: e.id });
        }
      }
    }
    return unique.flatMap((id) => (found.get(id) ?? []).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : a.eventId - b.eventId)));
  }

  async history(workspaceId: number, requestId: number): Promise<ScoreEvent[]> {
    // By request_id alone, as in currentRatings: with a workspace_id term SQLite may walk
    // score_events_ws (every event of the workspace) instead of score_events_request. A request
    // belongs to one workspace; another's rows are dropped below.
    const rows = await this.db.selectFrom('score_events').selectAll().where('request_id', '=', requestId).orderBy('id').execute();
    return rows.filter((r) => Number(r.workspace_id) === workspaceId).map(toScoreEvent);
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

  windowStart(workspaceId: number, query: { name: string; filter: RequestFilter | null; limit: number }): Promise<{ minRequestId: number | null; truncated: boolean }> {
    return readFor(workspaceId, async () => {
      const db = this.reads;
      await planTextSearch(db, query.filter);
      const scored = allOf(query.filter, { kind: 'score', name: query.name, test: { op: 'exists' } });
      // A walk of requests by id, newest first: the window's oldest and the one after it, if any.
      const rows = await applyRequestFilter(db.selectFrom('requests').select('requests.id'), workspaceId, scored)
        .orderBy('requests.id', 'desc')
        .limit(2)
        .offset(query.limit - 1)
        .execute();
      return { minRequestId: rows.length === 0 ? null : Number(rows[0]!.id), truncated: rows.length > 1 };
    });
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

  reasonRows(workspaceId: number, query: Omit<ScoreAggregateQuery, 'groupBy'>): Promise<ReasonRow[]> {
    return readFor(workspaceId, async () => {
      const db = this.reads;
      const filter = query.filter ?? null;
      if (filter !== null) await planTextSearch(db, filter);
      // With rater sources, the current ratings of raters of those sources stand in for the scores
      // (their own value and reasons), as in the statistics (score-stats.ts scoredRequests).
      const from =
        query.raterSources === undefined
          ? db.selectFrom('scores')
          : (db.selectFrom(currentRatingsTable(workspaceId, query.name, query.raterSources).as('scores') as never) as unknown as ReturnType<typeof db.selectFrom<'scores'>>);
      const rows = await from
        .select(['scores.name', 'scores.value', 'scores.reasons', (eb) => eb.fn.countAll().as('n')])
        .where('scores.workspace_id', '=', workspaceId)
        .where('scores.reasons', 'is not', null)
        .$if(query.name !== undefined, (qb) => qb.where('scores.name', '=', query.name!))
        .$if(query.minRequestId !== undefined, (qb) => qb.where('scores.request_id', '>=', query.minRequestId!))
        .$if(filter !== null, (qb) => qb.where('scores.request_id', 'in', applyRequestFilter(db.selectFrom('requests').select('requests.id'), workspaceId, filter!)))
        .groupBy(['scores.name', 'scores.value', 'scores.reasons'])
        .orderBy('scores.name')
        .execute();
      return rows.map((r) => ({ name: r.name, value: Number(r.value), reasons: reasonsOf(r.reasons) ?? [], count: Number(r.n) }));
    });
  }

  distribution(workspaceId: number, query: ScoreAggregateQuery): Promise<DistributionRow[]> {
    return readFor(workspaceId, () => selectScoreDistribution(this.statsSource, workspaceId, query));
  }

  stats(workspaceId: number, query: ScoreAggregateQuery & { interval: StatsInterval }): Promise<ScoreStatsRows> {
    return readFor(workspaceId, () => selectScoreStats(this.statsSource, workspaceId, query));
  }

  correlation(workspaceId: number, query: CorrelationQuery): Promise<CorrelationRows> {
    return readFor(workspaceId, () => selectCorrelation(this.statsSource, workspaceId, query));
  }

  facets(workspaceId: number, limit: number): Promise<FacetRows> {
    return readFor(workspaceId, () => selectFacets(this.reads, workspaceId, limit));
  }
}
