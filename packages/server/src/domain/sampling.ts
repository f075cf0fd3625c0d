import { invalidField } from './errors.js';
import { keyedUniform, type Seed } from './seeded-random.js';

/**
 * Reproducible samples of requests, for review queues. Every key gets a number in [0, 1) from the
 * seed and the key alone (keyedUniform); a sample keeps the keys with the lowest numbers. So the
 * same seed over the same keys gives the same sample whatever order the keys arrive in, and a
 * sample of a larger set keeps what a sample of a smaller one kept as far as its size allows.
 *
 * Stratified (`by`): the keys are grouped by a field (the model, the prompt, ...) and each group
 * gets its share. With `count`, the shares are proportional to the groups' sizes and sum to
 * `count` (largest remainders; a tie goes to the group whose name sorts first). With `ratio`, each
 * group keeps round(ratio x its size) keys, and at least one when the ratio is above 0, so a small
 * group is never left out.
 */
export type SampleSpec =
  | { count: number; ratio?: undefined; seed: Seed; by?: string | undefined }
  | { ratio: number; count?: undefined; seed: Seed; by?: string | undefined };

export const MAX_SAMPLE_COUNT = 1_000_000;

/** Checks a sample spec from a request body; throws naming the field. */
export function checkSample(value: { count?: number | undefined; ratio?: number | undefined; seed?: number | undefined; by?: string | undefined }, field = 'sample', defaultSeed: Seed): SampleSpec {
  const { count, ratio, by } = value;
  const seed = value.seed ?? defaultSeed;
  if (!Number.isSafeInteger(seed)) throw invalidField(`${field}.seed`, 'must be an integer');
  if ((count === undefined) === (ratio === undefined)) throw invalidField(field, 'takes exactly one of count and ratio');
  if (count !== undefined) {
    if (!Number.isInteger(count) || count < 1 || count > MAX_SAMPLE_COUNT) throw invalidField(`${field}.count`, `must be an integer from 1 to ${MAX_SAMPLE_COUNT}`);
    return { count, seed, by };
  }
  if (typeof ratio !== 'number' || !(ratio > 0 && ratio <= 1)) throw invalidField(`${field}.ratio`, 'must be a number above 0 and at most 1');
  return { ratio, seed, by };
}

export interface Sampled<K> {
  key: K;
  stratum: string;
}

/**
 * The sample of `items` that `spec` selects, lowest keyed number first (a random order, the same
 * on every run). `stratumOf` gives an item's group under `spec.by` (ignored without `by`).
 * @example sample(requests, { ratio: 0.1, seed: 42, by: 'model' }, (r) => r.id, (r) => r.model ?? '')
 */
export function sample<T>(items: readonly T[], spec: SampleSpec, keyOf: (item: T) => string | number, stratumOf: (item: T) => string = () => ''): T[] {
  const strata = new Map<string, { item: T; u: number }[]>();
  for (const item of items) {
    const stratum = spec.by === undefined ? '' : stratumOf(item);
    let group = strata.get(stratum);
    if (!group) strata.set(stratum, (group = []));
    group.push({ item, u: keyedUniform(spec.seed, keyOf(item)) });
  }
  const names = [...strata.keys()].sort();
  const quota = new Map<string, number>();
  if (spec.count !== undefined) {
    const total = items.length;
    const wanted = Math.min(spec.count, total);
    const exact = names.map((name) => ({ name, share: (wanted * strata.get(name)!.length) / total }));
    let given = 0;
    for (const { name, share } of exact) {
      quota.set(name, Math.floor(share));
      given += Math.floor(share);
    }
    const byRemainder = [...exact].sort((x, y) => y.share - Math.floor(y.share) - (x.share - Math.floor(x.share)) || (x.name < y.name ? -1 : 1));
    for (const { name } of byRemainder.slice(0, wanted - given)) quota.set(name, quota.get(name)! + 1);
  } else {
    for (const name of names) quota.set(name, Math.max(1, Math.round(spec.ratio * strata.get(name)!.length)));
  }
  const chosen: { item: T; u: number }[] = [];
  for (const name of names) {
    const group = strata.get(name)!.sort((x, y) => x.u - y.u);
    chosen.push(...group.slice(0, quota.get(name)));
  }
  return chosen.sort((x, y) => x.u - y.u).map((c) => c.item);
}

/**
 * Whether a key that arrives after the sample was drawn belongs to it: under a ratio, when its
 * keyed number is below the ratio (so in the long run the ratio holds, group by group); under a
 * count, while the sample holds fewer than `count` keys.
 */
export function admitsLater(spec: SampleSpec, key: string | number, sampledSoFar: number): boolean {
  if (spec.count !== undefined) return sampledSoFar < spec.count;
  return keyedUniform(spec.seed, key) < spec.ratio;
}

/** What a sample can be stratified by: a column of the request, its prompt version, or a metadata key. */
export type StratumField =
  | { kind: 'column'; column: 'model' | 'provider' | 'function_name' | 'prompt_name' | 'status' }
  | { kind: 'prompt_version' }
  | { kind: 'metadata'; key: string };

const STRATUM_COLUMNS = ['model', 'provider', 'function_name', 'prompt_name', 'status'] as const;

/**
 * Reads a sample's `by`: `model`, `provider`, `function_name`, `prompt_name`, `status`,
 * `prompt_version` (the prompt's name and version together, so each version gets its share) or
 * `metadata.KEY`. A request without a value there falls in the stratum ''.
 */
export function parseStratum(by: string, field = 'sample.by'): StratumField {
  if ((STRATUM_COLUMNS as readonly string[]).includes(by)) return { kind: 'column', column: by as (typeof STRATUM_COLUMNS)[number] };
  if (by === 'prompt_version') return { kind: 'prompt_version' };
  if (by.startsWith('metadata.') && by.length > 'metadata.'.length) return { kind: 'metadata', key: by.slice('metadata.'.length) };
  throw invalidField(field, `must be one of ${[...STRATUM_COLUMNS, 'prompt_version'].join(', ')} or metadata.KEY`);
}
