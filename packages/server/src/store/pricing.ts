import { sql, type CompiledQuery, type Kysely } from 'kysely';
import { computePrice, needsPrice, overrideNames, type PriceOverride } from '../domain/model-prices.js';
import type { NewRequest } from '../domain/request-shape.js';
import type { RequestFilter } from '../domain/search-query.js';
import { readFor } from './read-scope.js';
import type { Database } from './schema.js';
import { applyRequestFilter, planTextSearch } from './search-filter.js';

/**
 * Prices computed at write time: a request logged without a price (absent or 0) but with a model
 * and tokens is priced, in its insert's transaction, at the workspace's override in force at the
 * request's start time or else the shipped table (domain/model-prices.ts), and stored with
 * `price_source` 'computed'. An override set later does not re-price rows already stored.
 */

/** A stored override row as a query gives it (PostgreSQL's int8 and float8 arrive as numbers or text). */
interface PriceRow {
  workspace_id?: unknown;
  model: unknown;
  effective_from: unknown;
  input: unknown;
  output: unknown;
  cached_input: unknown;
}

export const toOverride = (r: PriceRow): PriceOverride => ({
  model: String(r.model),
  effectiveFrom: Number(r.effective_from),
  input: Number(r.input),
  output: Number(r.output),
  cachedInput: r.cached_input === null || r.cached_input === undefined ? null : Number(r.cached_input),
});

const PRICE_COLUMNS = ['workspace_id', 'model', 'effective_from', 'input', 'output', 'cached_input'] as const;

/** The workspace's overrides that may apply to `model` (the program's step before pricing). */
export function overridesQuery(db: Kysely<Database>, workspaceId: number, model: string): CompiledQuery {
  return db.selectFrom('model_prices').select(PRICE_COLUMNS).where('workspace_id', '=', workspaceId).where('model', 'in', overrideNames(model)).compile();
}

/** Every override that may apply to any of these requests, in one query (PostgreSQL's set-based insert). */
export async function overridesFor(db: Kysely<Database>, requests: readonly { workspaceId: number; request: NewRequest }[]): Promise<Map<number, PriceOverride[]>> {
  const byWorkspace = new Map<number, PriceOverride[]>();
  const priced = requests.filter((c) => needsPrice(c.request));
  if (priced.length === 0) return byWorkspace;
  const workspaces = [...new Set(priced.map((c) => c.workspaceId))];
  const models = [...new Set(priced.flatMap((c) => overrideNames(c.request.model)))];
  const rows = await db.selectFrom('model_prices').select(PRICE_COLUMNS).where('workspace_id', 'in', workspaces).where('model', 'in', models).execute();
  for (const r of rows) {
    const ws = Number(r.workspace_id);
    byWorkspace.set(ws, [...(byWorkspace.get(ws) ?? []), toOverride(r)]);
  }
  return byWorkspace;
}

/** The price Tally computes for `r`, or null: it logged one, or nothing prices its model. */
export function computedPrice(r: NewRequest, overrides: readonly PriceOverride[]): number | null {
  if (!needsPrice(r)) return null;
  return computePrice({ model: r.model, startMs: r.startMs, inputTokens: r.inputTokens, outputTokens: r.outputTokens, cachedInputTokens: r.cachedInputTokens ?? 0 }, overrides);
}

/** A workspace's price overrides, as `GET /v1/model-prices` lists them. */
export interface StoredPrice extends PriceOverride {
  updatedAt: number;
}

export interface PriceStore {
  /** The workspace's overrides, by model and then effective time. */
  list(workspaceId: number): Promise<StoredPrice[]>;
  /** Cost totals of the matching requests (see selectCostStats). */
  costStats(workspaceId: number, query: CostStatsQuery): Promise<CostStatsRow[]>;
}

export class SqlPrices implements PriceStore {
  /** @param reads where reads steered by a client's filter run, with a deadline (BackendTraits.readDb). */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly reads: Kysely<Database>,
  ) {}

  costStats(workspaceId: number, query: CostStatsQuery): Promise<CostStatsRow[]> {
    return readFor(workspaceId, () => selectCostStats(this.reads, workspaceId, query));
  }

  list(workspaceId: number): Promise<StoredPrice[]> {
    return readFor(workspaceId, async () => {
      const rows = await this.db
        .selectFrom('model_prices')
        .select([...PRICE_COLUMNS, 'updated_at'])
        .where('workspace_id', '=', workspaceId)
        .orderBy('model')
        .orderBy('effective_from')
        .execute();
      return rows.map((r) => ({ ...toOverride(r), updatedAt: Number(r.updated_at) }));
    });
  }
}

/** Cost statistics of matching requests, per model or prompt version, with a score's per-dollar figure. */
export interface CostStatsQuery {
  filter: RequestFilter | null;
  groupBy: 'model' | 'prompt' | null;
  /** A score name: adds how many requests have it, their score sum and their cost. */
  scoreName: string | null;
}

export interface CostStatsRow {
  group: { model?: string; promptName?: string | null; promptVersion?: number | null } | null;
  requests: number;
  /** Requests with a price above 0. */
  priced: number;
  cost: number;
  /** The part of `cost` Tally computed (the rest was logged). */
  computedCost: number;
  inputTokens: number;
  outputTokens: number;
  scored: number;
  scoreSum: number;
  /** The cost of the scored requests alone. */
  scoredCost: number;
}

const GROUPS = { model: ['requests.model'], prompt: ['requests.prompt_name', 'requests.prompt_version'] } as const;

export async function selectCostStats(db: Kysely<Database>, workspaceId: number, q: CostStatsQuery): Promise<CostStatsRow[]> {
  await planTextSearch(db, q.filter);
  const groupCols = q.groupBy === null ? [] : [...GROUPS[q.groupBy]];
  let qb = applyRequestFilter(
    db.selectFrom('requests').leftJoin('scores as s', (j) => j.onRef('s.request_id', '=', 'requests.id').on('s.name', '=', q.scoreName ?? '')),
    workspaceId,
    q.filter,
  )
    .select(groupCols)
    .select((eb) => [
      eb.fn.countAll<number>().as('requests'),
      sql<number>`sum(case when requests.price > 0 then 1 else 0 end)`.as('priced'),
      sql<number>`coalesce(sum(requests.price), 0)`.as('cost'),
      sql<number>`coalesce(sum(case when requests.price_source = 'computed' then requests.price else 0 end), 0)`.as('computed_cost'),
      sql<number>`coalesce(sum(requests.input_tokens), 0)`.as('input_tokens'),
      sql<number>`coalesce(sum(requests.output_tokens), 0)`.as('output_tokens'),
      sql<number>`count(s.value)`.as('scored'),
      sql<number>`coalesce(sum(s.value), 0)`.as('score_sum'),
      sql<number>`coalesce(sum(case when s.value is not null then requests.price else 0 end), 0)`.as('scored_cost'),
    ]);
  if (groupCols.length > 0) qb = groupCols.reduce((acc, c) => acc.orderBy(c), qb.groupBy(groupCols));
  const rows = (await qb.execute()) as Record<string, unknown>[];
  return rows.map((r) => ({
    group:
      q.groupBy === 'model'
        ? { model: String(r.model) }
        : q.groupBy === 'prompt'
          ? { promptName: (r.prompt_name as string | null) ?? null, promptVersion: r.prompt_version === null ? null : Number(r.prompt_version) }
          : null,
    requests: Number(r.requests),
    priced: Number(r.priced),
    cost: Number(r.cost),
    computedCost: Number(r.computed_cost),
    inputTokens: Number(r.input_tokens),
    outputTokens: Number(r.output_tokens),
    scored: Number(r.scored),
    scoreSum: Number(r.score_sum),
    scoredCost: Number(r.scored_cost),
  }));
}
