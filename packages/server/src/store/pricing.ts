import type { CompiledQuery, Kysely } from 'kysely';
import { computePrice, needsPrice, overrideNames, type PriceOverride } from '../domain/model-prices.js';
import type { NewRequest } from '../domain/request-shape.js';
import { readFor } from './read-scope.js';
import type { Database } from './schema.js';

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
}

export class SqlPrices implements PriceStore {
  constructor(private readonly db: Kysely<Database>) {}

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
