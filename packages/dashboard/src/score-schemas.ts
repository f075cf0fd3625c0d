/**
 * Score schemas and ratings as the dashboard uses them: the wire types of `/v1/score-schemas` and
 * of `score_details`, the calls that write a rating, and a hook that lists the workspace's score
 * names (those with a schema, and those already in use).
 */
import { useEffect, useState } from 'react';
import { api, type RequestDetail, type StatsEntry } from './api.js';

export type ScoreKind = 'numeric' | 'categorical' | 'boolean';
export type ScoreAggregate = 'latest' | 'mean' | 'median' | 'adjudicated';
export const SCORE_KINDS: ScoreKind[] = ['numeric', 'categorical', 'boolean'];
export const SCORE_AGGREGATES: ScoreAggregate[] = ['latest', 'mean', 'median', 'adjudicated'];

export interface ScoreLabel {
  label: string;
  value: number;
}

/** What defines a name's scores: what PUT /v1/score-schemas/{name} takes. */
export interface ScoreSchemaDef {
  kind: ScoreKind;
  description: string | null;
  rubric: string | null;
  higher_is_better: boolean;
  min: number;
  max: number;
  labels: ScoreLabel[] | null;
  reasons: string[];
  comment_required_below: number | null;
  aggregate: ScoreAggregate;
}

/** One stored version. */
export interface ScoreSchema extends ScoreSchemaDef {
  name: string;
  version: number;
  created_at: string;
  created_by: string;
  archived_at: string | null;
}

export interface ScoreRating {
  rater: string;
  value: number;
  label: string | null;
  comment: string | null;
  reasons: string[] | null;
  source: string;
  at: string;
}

export interface ScoreDetail {
  value: number;
  label: string | null;
  comment: string | null;
  reasons: string[] | null;
  source: string;
  actor: string;
  rater: string;
  updated_at: string;
  schema_version: number | null;
  ratings?: ScoreRating[];
}

/** A request as GET /v1/requests/{id} returns it, with each score's details and ratings. */
export type RequestWithDetails = RequestDetail & { score_details?: Record<string, ScoreDetail> };

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
export const getSchema = (name: string) => api<{ name: string; schema: ScoreSchema | null; versions: ScoreSchema[] }>('GET', `/v1/score-schemas/${encodeURIComponent(name)}`);
export const putSchema = (name: string, def: ScoreSchemaDef) => api<{ created: boolean; schema: ScoreSchema }>('PUT', `/v1/score-schemas/${encodeURIComponent(name)}`, def);
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
 * schema, then names that already have scores. `reload` fetches again.
 */
export function useScoreNames(): { schemas: Map<string, ScoreSchema>; names: string[]; loaded: boolean; reload: () => void } {
  const [schemas, setSchemas] = useState<Map<string, ScoreSchema>>(new Map());
  const [used, setUsed] = useState<string[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    Promise.all([
      listSchemas().catch(() => [] as ScoreSchema[]),
      api<{ scores: StatsEntry[] }>('GET', '/v1/scores/stats').then(
        (r) => r.scores.map((s) => s.name),
        () => [] as string[],
      ),
    ]).then(([list, names]) => {
      if (!live) return;
      setSchemas(new Map(list.map((s) => [s.name, s])));
      setUsed(names);
      setLoaded(true);
    });
    return () => {
      live = false;
    };
  }, [n]);
  const names = [...new Set([...schemas.keys(), ...used])].sort(byName);
  return { schemas, names, loaded, reload: () => setN((x) => x + 1) };
}
