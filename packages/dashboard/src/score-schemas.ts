/**
 * Score schemas and ratings as the dashboard uses them: the wire types of `/v1/score-schemas` and
 * of `score_details`, the calls that write a rating, and a hook that lists the workspace's score
 * names (those with a schema, and those already in use).
 */
import { useEffect, useState } from 'react';
import type { FacetsResult, ScoreAggregate, ScoreKind, ScoreSchema, ScoreSchemaDefinition, ScoreSchemaRecord } from '@tally/sdk';
import { api } from './api.js';

// The wire types are the SDK's, which its type tests hold equal to the server's schemas.
export type { ScoreAggregate, ScoreDetail, ScoreKind, ScoreRating, ScoreSchema } from '@tally/sdk';

export const SCORE_KINDS: ScoreKind[] = ['numeric', 'categorical', 'boolean'];
export const SCORE_AGGREGATES: ScoreAggregate[] = ['latest', 'mean', 'median', 'adjudicated'];

export type ScoreLabel = NonNullable<ScoreSchema['labels']>[number];

/** A name's whole definition, every field given: a stored version without its name and bookkeeping. */
export type ScoreSchemaDef = Omit<ScoreSchema, 'name' | 'version' | 'created_at' | 'created_by' | 'archived_at'>;

/** A rating to write: a value, or a label of the name's schema, with an optional comment and reasons. */
export interface RatingInput {
  score?: number;
  label?: string;
  comment?: string;
  reasons?: string[];
}

export function ratingBody(r: RatingInput): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (r.label !== undefined) body.label = r.label;
  else body.score = r.score;
  if (r.comment && r.comment.trim()) body.comment = r.comment.trim();
  if (r.reasons && r.reasons.length) body.reasons = r.reasons;
  return body;
}

export const rate = (requestId: number, name: string, r: RatingInput) => api('PUT', `/v1/requests/${requestId}/scores/${encodeURIComponent(name)}`, ratingBody(r));

export const listSchemas = (archived = false) =>
  api<{ schemas: ScoreSchema[] }>('GET', `/v1/score-schemas${archived ? '?archived=true' : ''}`).then((r) => r.schemas);
export const getSchema = (name: string) => api<ScoreSchemaRecord>('GET', `/v1/score-schemas/${encodeURIComponent(name)}`);
export const putSchema = (name: string, def: ScoreSchemaDefinition) => api<{ created: boolean; schema: ScoreSchema }>('PUT', `/v1/score-schemas/${encodeURIComponent(name)}`, def);
export const archiveSchema = (name: string) => api<{ schema: ScoreSchema }>('DELETE', `/v1/score-schemas/${encodeURIComponent(name)}`);

/** Labels of a labelled schema, highest value first for buttons that read best-to-worst. */
export const labelsOf = (s: Pick<ScoreSchemaDef, 'kind' | 'labels'> | null | undefined): ScoreLabel[] | null =>
  s && s.kind !== 'numeric' && s.labels && s.labels.length ? s.labels : null;

/** The label a value has under a schema, if any. */
export const labelFor = (s: Pick<ScoreSchemaDef, 'kind' | 'labels'> | null | undefined, value: number): string | null => labelsOf(s)?.find((l) => l.value === value)?.label ?? null;

/** Orders names with `default` first, then alphabetically. */
export const byName = (a: string, b: string) => (a === 'default' ? -1 : b === 'default' ? 1 : a.localeCompare(b));

/**
 * The workspace's score schemas (in force) and every score name worth offering: names with a
 * schema, then names that already have scores. `reload` fetches again. `used: false` leaves out
 * the names with scores (a read of the workspace's facets), for a page that reads them itself.
 */
export function useScoreNames({ used: withUsed = true }: { used?: boolean } = {}): { schemas: Map<string, ScoreSchema>; names: string[]; loaded: boolean; reload: () => void } {
  const [schemas, setSchemas] = useState<Map<string, ScoreSchema>>(new Map());
  const [used, setUsed] = useState<string[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    const stop = new AbortController();
    Promise.all([
      listSchemas().catch(() => [] as ScoreSchema[]),
      // The facets' names: a seek per name, where statistics of every name read their totals.
      withUsed
        ? api<FacetsResult>('GET', '/v1/requests/facets?limit=500', undefined, stop.signal).then(
            (r) => r.score_names.values,
            () => [] as string[],
          )
        : ([] as string[]),
    ]).then(([list, names]) => {
      if (!live) return;
      setSchemas(new Map(list.map((s) => [s.name, s])));
      setUsed(names);
      setLoaded(true);
    });
    return () => {
      live = false;
      stop.abort();
    };
  }, [n, withUsed]);
  const names = [...new Set([...schemas.keys(), ...used])].sort(byName);
  return { schemas, names, loaded, reload: () => setN((x) => x + 1) };
}
