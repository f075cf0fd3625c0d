/**
 * The model price table shipped with Tally, and how a logged request without a price is priced.
 * Prices are USD per million tokens: input, output, and cached input (prompt tokens read from the
 * provider's cache; null where the provider lists no separate cached price, and the input price
 * applies). The figures are the providers' public list prices for standard (not batch, not
 * priority) use, text tokens, the lowest context tier, as of `BUILTIN_PRICES_TAKEN`. A workspace
 * overrides or extends them with `PUT /v1/model-prices/{model}` (store: model_prices). Pure: no I/O.
 */

export interface ModelPrice {
  input: number;
  output: number;
  cachedInput: number | null;
}

/** A workspace's own price of a model from `effectiveFrom` (epoch ms) on. */
export interface PriceOverride extends ModelPrice {
  model: string;
  effectiveFrom: number;
}

/** When the shipped figures were taken (they hold for requests of any date unless overridden). */
export const BUILTIN_PRICES_TAKEN = '2025-11-30';

type Row = readonly [input: number, output: number, cachedInput: number | null];

const OPENAI: Record<string, Row> = {
  'gpt-5': [1.25, 10, 0.125],
  'gpt-5-mini': [0.25, 2, 0.025],
  'gpt-5-nano': [0.05, 0.4, 0.005],
  'gpt-4.1': [2, 8, 0.5],
  'gpt-4.1-mini': [0.4, 1.6, 0.1],
  'gpt-4.1-nano': [0.1, 0.4, 0.025],
  'gpt-4o': [2.5, 10, 1.25],
  'gpt-4o-mini': [0.15, 0.6, 0.075],
  o1: [15, 60, 7.5],
  'o1-mini': [1.1, 4.4, 0.55],
  o3: [2, 8, 0.5],
  'o3-mini': [1.1, 4.4, 0.55],
  'o4-mini': [1.1, 4.4, 0.275],
  'gpt-4-turbo': [10, 30, null],
  'gpt-4': [30, 60, null],
  'gpt-3.5-turbo': [0.5, 1.5, null],
};

// Anthropic's cached input is a cache read (a tenth of input); cache writes are not priced here.
const ANTHROPIC: Record<string, Row> = {
  'claude-opus-4-5': [5, 25, 0.5],
  'claude-opus-4-1': [15, 75, 1.5],
  'claude-opus-4': [15, 75, 1.5],
  'claude-sonnet-4-5': [3, 15, 0.3],
  'claude-sonnet-4': [3, 15, 0.3],
  'claude-haiku-4-5': [1, 5, 0.1],
  'claude-3-7-sonnet': [3, 15, 0.3],
  'claude-3-5-sonnet': [3, 15, 0.3],
  'claude-3-5-haiku': [0.8, 4, 0.08],
  'claude-3-opus': [15, 75, 1.5],
  'claude-3-haiku': [0.25, 1.25, 0.03],
};

// Gemini API prices for prompts up to 200k tokens (the pro models cost more above).
const GOOGLE: Record<string, Row> = {
  'gemini-2.5-pro': [1.25, 10, 0.125],
  'gemini-2.5-flash': [0.3, 2.5, 0.03],
  'gemini-2.5-flash-lite': [0.1, 0.4, 0.01],
  'gemini-2.0-flash': [0.1, 0.4, 0.025],
  'gemini-2.0-flash-lite': [0.075, 0.3, null],
  'gemini-1.5-pro': [1.25, 5, 0.3125],
  'gemini-1.5-flash': [0.075, 0.3, 0.01875],
};

const MISTRAL: Record<string, Row> = {
  'mistral-large': [2, 6, null],
  'mistral-medium': [0.4, 2, null],
  'mistral-small': [0.1, 0.3, null],
  'magistral-medium': [2, 5, null],
  'magistral-small': [0.5, 1.5, null],
  codestral: [0.3, 0.9, null],
  'pixtral-large': [2, 6, null],
  'ministral-8b': [0.1, 0.1, null],
  'ministral-3b': [0.04, 0.04, null],
  'open-mistral-nemo': [0.15, 0.15, null],
};

/** Every shipped price by its model's base name (see baseModelName), with the provider it is listed under. */
export const BUILTIN_PRICES: ReadonlyMap<string, ModelPrice & { provider: string }> = new Map(
  (
    [
      ['openai', OPENAI],
      ['anthropic', ANTHROPIC],
      ['google', GOOGLE],
      ['mistral', MISTRAL],
    ] as const
  ).flatMap(([provider, rows]) => Object.entries(rows).map(([model, [input, output, cachedInput]]) => [model, { provider, input, output, cachedInput }] as const)),
);

// Other names of shipped models: Anthropic's `-0` aliases, `mistral-nemo`.
const ALIASES: Record<string, string> = {
  'claude-sonnet-4-0': 'claude-sonnet-4',
  'claude-opus-4-0': 'claude-opus-4',
  'mistral-nemo': 'open-mistral-nemo',
};

const PREFIX = /^(?:models\/|(?:openai|anthropic|google|gemini|mistral|mistralai|vertex_ai|bedrock)\/|(?:us|eu|apac|global)\.|anthropic\.)/;
const SUFFIX = /(?:-latest|-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{4}|-\d{3}|@\d{8}|@latest|-v\d+(?::\d+)?)$/;

/**
 * A model's name as the table keys it: lower case, without a provider prefix (`models/`,
 * `openai/`, Bedrock's `us.anthropic.`), a date or version suffix (`-2024-08-06`, `-20241022`,
 * `-2411`, `-001`, `@20240620`, `-v2:0`) or `-latest`. `gpt-4o-2024-08-06` is `gpt-4o`.
 */
export function baseModelName(model: string): string {
  let name = model.trim().toLowerCase();
  for (let before = ''; before !== name; ) {
    before = name;
    name = name.replace(PREFIX, '');
  }
  for (let before = ''; before !== name; ) {
    before = name;
    name = name.replace(SUFFIX, '');
  }
  return ALIASES[name] ?? name;
}

/** The shipped price of a model (by its base name), or null when the table has none. */
export function builtinPrice(model: string): ModelPrice | null {
  const found = BUILTIN_PRICES.get(baseModelName(model));
  return found === undefined ? null : { input: found.input, output: found.output, cachedInput: found.cachedInput };
}

/** What pricing reads of a request: its model, when it started, and its token counts. */
export interface PricedUsage {
  model: string;
  startMs: number;
  inputTokens: number;
  outputTokens: number;
  /** Of the input tokens, how many were read from the provider's cache (0 when unknown). */
  cachedInputTokens: number;
}

/**
 * Whether Tally computes a price for a logged request: it logged none (absent or 0) but names a
 * model and used tokens.
 */
export function needsPrice(r: { price: number; model: string; inputTokens: number; outputTokens: number }): boolean {
  return r.price === 0 && r.model.trim() !== '' && r.inputTokens + r.outputTokens > 0;
}

/** The names an override may be stored under to apply to `model`: the model as logged and its base name. */
export function overrideNames(model: string): string[] {
  const base = baseModelName(model);
  return base === model ? [model] : [model, base];
}

/**
 * The workspace override in force for `usage`: among those for the model as logged (preferred) or
 * its base name, the one with the latest `effectiveFrom` not after the request's start.
 */
export function overrideFor(overrides: readonly PriceOverride[], usage: Pick<PricedUsage, 'model' | 'startMs'>): ModelPrice | null {
  const base = baseModelName(usage.model);
  for (const name of usage.model === base ? [base] : [usage.model, base]) {
    let best: PriceOverride | null = null;
    for (const o of overrides) {
      if (o.model !== name || o.effectiveFrom > usage.startMs) continue;
      if (best === null || o.effectiveFrom > best.effectiveFrom) best = o;
    }
    if (best !== null) return best;
  }
  return null;
}

/**
 * The cost in USD of `usage` at `price`: uncached input, cached input (at the cached price, or the
 * input price when there is none) and output tokens. Cached tokens are counted within the input
 * tokens, as OpenAI and the GenAI conventions report them; more cached than input counts as all.
 */
export function costOf(price: ModelPrice, usage: Pick<PricedUsage, 'inputTokens' | 'outputTokens' | 'cachedInputTokens'>): number {
  const cached = Math.min(usage.cachedInputTokens, usage.inputTokens);
  const usd = ((usage.inputTokens - cached) * price.input + cached * (price.cachedInput ?? price.input) + usage.outputTokens * price.output) / 1_000_000;
  // Twelve decimals: well below a millionth of a cent, and free of binary fractions' tails.
  return Math.round(usd * 1e12) / 1e12;
}

/** The computed price of a request: the workspace's override in force, else the shipped table; null when neither knows the model. */
export function computePrice(usage: PricedUsage, overrides: readonly PriceOverride[]): number | null {
  const price = overrideFor(overrides, usage) ?? builtinPrice(usage.model);
  return price === null ? null : costOf(price, usage);
}
