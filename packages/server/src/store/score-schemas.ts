import type { Kysely, Selectable } from 'kysely';
import type { RatingRules, ScoreAggregate, ScoreKind, ScoreLabel, ScoreSchemaDefinition } from '../domain/score-schema.js';
import type { Database, ScoreSchemasTable } from './schema.js';
import type { ScoreSchemaRecord, ScoreSchemaVersion } from './types.js';
import type { RatingRulesRow } from './write-statements.js';

/** Reads of score schemas; writes go through the write queue (putScoreSchema, archiveScoreSchema). */
export interface ScoreSchemaStore {
  /** Every name with a schema, each with its latest version; archived ones only when asked. */
  list(workspaceId: number, opts?: { archived?: boolean }): Promise<ScoreSchemaVersion[]>;
  /** One name's schema with every version, newest first; null when the name never had one. */
  get(workspaceId: number, name: string): Promise<ScoreSchemaRecord | null>;
  /** The schemas in force for these names (archived ones left out). */
  current(workspaceId: number, names: readonly string[]): Promise<Map<string, ScoreSchemaVersion>>;
}

const json = <T>(text: string | null): T | null => (text === null ? null : (JSON.parse(text) as T));

/** A stored version in domain form. */
export function toSchemaVersion(r: Selectable<ScoreSchemasTable>): ScoreSchemaVersion {
  return {
    name: r.name,
    version: Number(r.version),
    kind: r.kind as ScoreKind,
    description: r.description,
    rubric: r.rubric,
    higherIsBetter: Number(r.higher_is_better) === 1,
    min: Number(r.min_value),
    max: Number(r.max_value),
    labels: json<ScoreLabel[]>(r.labels),
    reasons: json<string[]>(r.reasons) ?? [],
    commentRequiredBelow: r.comment_required_below === null ? null : Number(r.comment_required_below),
    aggregate: r.aggregate as ScoreAggregate,
    createdAt: Number(r.created_at),
    createdBy: r.created_by,
    archivedAt: r.archived_at === null ? null : Number(r.archived_at),
  };
}

/** The row of a new version. */
export function schemaRow(workspaceId: number, name: string, version: number, d: ScoreSchemaDefinition, createdBy: string, now: number): Selectable<ScoreSchemasTable> {
  return {
    workspace_id: workspaceId,
    name,
    version,
    kind: d.kind,
    description: d.description,
    rubric: d.rubric,
    higher_is_better: d.higherIsBetter ? 1 : 0,
    min_value: d.min,
    max_value: d.max,
    labels: d.labels === null ? null : JSON.stringify(d.labels),
    reasons: JSON.stringify(d.reasons),
    comment_required_below: d.commentRequiredBelow,
    aggregate: d.aggregate,
    created_at: now,
    created_by: createdBy,
    archived_at: null,
  };
}

/** The definition part of a stored version (to compare with a new one). */
export function definitionOf(v: ScoreSchemaVersion): ScoreSchemaDefinition {
  return {
    kind: v.kind,
    description: v.description,
    rubric: v.rubric,
    higherIsBetter: v.higherIsBetter,
    min: v.min,
    max: v.max,
    labels: v.labels,
    reasons: v.reasons,
    commentRequiredBelow: v.commentRequiredBelow,
    aggregate: v.aggregate,
  };
}

const NO_RULES: RatingRules = { strict: false, schema: null };

/** The rules of the `ratingRules` statement's row (none when the workspace row is missing). */
export function rulesFromRow(row: RatingRulesRow | undefined): RatingRules {
  if (row === undefined) return NO_RULES;
  const strict = Number(row.strict) === 1;
  if (row.version === null || row.version === undefined) return strict ? { strict, schema: null } : NO_RULES;
  return {
    strict,
    schema: {
      version: Number(row.version),
      kind: row.kind as ScoreKind,
      min: Number(row.min_value),
      max: Number(row.max_value),
      labels: json<ScoreLabel[]>(row.labels),
      reasons: json<string[]>(row.reasons) ?? [],
      commentRequiredBelow: row.comment_required_below === null ? null : Number(row.comment_required_below),
      aggregate: row.aggregate as ScoreAggregate,
    },
  };
}

// Keeps each IN list well under SQLite's and PostgreSQL's bound-parameter limits.
const CHUNK = 500;

export class SqlScoreSchemas implements ScoreSchemaStore {
  constructor(private readonly db: Kysely<Database>) {}

  async list(workspaceId: number, opts: { archived?: boolean } = {}): Promise<ScoreSchemaVersion[]> {
    const rows = await this.db
      .selectFrom('score_schemas as s')
      .selectAll('s')
      .where('s.workspace_id', '=', workspaceId)
      .where(({ eb, selectFrom }) => eb('s.version', '=', selectFrom('score_schemas as v').select((e) => e.fn.max('v.version').as('m')).whereRef('v.workspace_id', '=', 's.workspace_id').whereRef('v.name', '=', 's.name')))
      .$if(!opts.archived, (qb) => qb.where('s.archived_at', 'is', null))
      .orderBy('s.name')
      .execute();
    return rows.map(toSchemaVersion);
  }

  async get(workspaceId: number, name: string): Promise<ScoreSchemaRecord | null> {
    const rows = await this.db.selectFrom('score_schemas').selectAll().where('workspace_id', '=', workspaceId).where('name', '=', name).orderBy('version', 'desc').execute();
    if (rows.length === 0) return null;
    const versions = rows.map(toSchemaVersion);
    const latest = versions[0]!;
    return { name, current: latest.archivedAt === null ? latest : null, versions };
  }

  async current(workspaceId: number, names: readonly string[]): Promise<Map<string, ScoreSchemaVersion>> {
    const out = new Map<string, ScoreSchemaVersion>();
    const unique = [...new Set(names)];
    for (let i = 0; i < unique.length; i += CHUNK) {
      const rows = await this.db
        .selectFrom('score_schemas as s')
        .selectAll('s')
        .where('s.workspace_id', '=', workspaceId)
        .where('s.name', 'in', unique.slice(i, i + CHUNK))
        .orderBy('s.name')
        .orderBy('s.version', 'desc')
        .execute();
      // Newest first per name: only the latest version counts, and an archived one means none in force.
      const seen = new Set<string>();
      for (const r of rows) {
        if (seen.has(r.name)) continue;
        seen.add(r.name);
        if (r.archived_at === null) out.set(r.name, toSchemaVersion(r));
      }
    }
    return out;
  }
}
