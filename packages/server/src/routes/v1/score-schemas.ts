import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { checkOriginList } from '../../domain/origins.js';
import { notFound, TallyError } from '../../domain/errors.js';
import { scoreName } from '../../domain/score.js';
import { checkSchemaDefinition } from '../../domain/score-schema.js';
import { toIso } from '../../domain/timestamps.js';
import { ErrorBody } from '../../schemas/common.js';
import {
  ScoreSchemaArchiveReply,
  ScoreSchemaBody,
  ScoreSchemaListQuery,
  ScoreSchemaListReply,
  ScoreSchemaParams,
  ScoreSchemaPutReply,
  ScoreSchemaReply,
  WorkspacePatchBody,
  WorkspaceReply,
  type ScoreSchemaItem,
} from '../../schemas/score-schemas.js';
import type { ScoreSchemaVersion } from '../../store/types.js';
import type { RouteDeps } from '../deps.js';

const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 429: ErrorBody, 503: ErrorBody };

export function toSchemaItem(v: ScoreSchemaVersion): ScoreSchemaItem {
  return {
    name: v.name,
    version: v.version,
    kind: v.kind,
    description: v.description,
    rubric: v.rubric,
    higher_is_better: v.higherIsBetter,
    min: v.min,
    max: v.max,
    labels: v.labels,
    reasons: v.reasons,
    comment_required_below: v.commentRequiredBelow,
    aggregate: v.aggregate,
    created_at: toIso(v.createdAt),
    created_by: v.createdBy,
    archived_at: v.archivedAt === null ? null : toIso(v.archivedAt),
  };
}

/** Score schemas (versioned, per workspace and name) and the workspace's settings. */
export const scoreSchemaRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { store, queue, auth }) => {
  app.put(
    '/v1/score-schemas/:name',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: 'Define the schema of a score name: a new version each time',
        description:
          'The body is the whole definition; fields left out take their defaults. Each change makes a new version (the history records which version was in force for each score change); ' +
          'a body identical to the version in force makes none and answers `created: false`. Putting a schema of an archived name makes it current again. ' +
          'Scores already written are not re-checked or recomputed; the schema applies to writes from now on.',
        params: ScoreSchemaParams,
        body: ScoreSchemaBody,
        response: { 200: ScoreSchemaPutReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId, actor } = req.auth!;
      const name = scoreName(req.params.name);
      const definition = checkSchemaDefinition(req.body);
      const { schema, created } = await queue.submit({ op: 'putScoreSchema', workspaceId, name, definition, actor });
      return { success: true as const, created, schema: toSchemaItem(schema) };
    },
  );

  app.get(
    '/v1/score-schemas',
    {
      preValidation: auth,
      schema: { tags: ['v1'], summary: 'The score schemas of the workspace (latest version of each name)', querystring: ScoreSchemaListQuery, response: { 200: ScoreSchemaListReply, ...errors } },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const list = await store.scoreSchemas.list(workspaceId, { archived: req.query.archived === true });
      return { success: true as const, schemas: list.map(toSchemaItem) };
    },
  );

  app.get(
    '/v1/score-schemas/:name',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: 'One score schema with every version',
        description: '`schema` is the version in force, null when the schema is archived; 404 when the name never had a schema.',
        params: ScoreSchemaParams,
        response: { 200: ScoreSchemaReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const name = scoreName(req.params.name);
      const found = await store.scoreSchemas.get(workspaceId, name);
      if (!found) throw new TallyError('not_found', `name: no score schema named "${name}"`, { field: 'name' });
      return { success: true as const, name, schema: found.current === null ? null : toSchemaItem(found.current), versions: found.versions.map(toSchemaItem) };
    },
  );

  app.delete(
    '/v1/score-schemas/:name',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: 'Archive a score schema: its scores and history stay, writes are no longer checked against it',
        description: '404 when the name has no schema in force. A later PUT makes a new version current again.',
        params: ScoreSchemaParams,
        response: { 200: ScoreSchemaArchiveReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId, actor } = req.auth!;
      const name = scoreName(req.params.name);
      const archived = await queue.submit({ op: 'archiveScoreSchema', workspaceId, name, actor });
      if (!archived) throw new TallyError('not_found', `name: no score schema named "${name}" is in force`, { field: 'name' });
      return { success: true as const, schema: toSchemaItem(archived.schema) };
    },
  );

  const workspaceReply = async (workspaceId: number) => {
    const [w, feedback] = await Promise.all([store.workspaces.get(workspaceId), store.feedback.find(workspaceId)]);
    if (!w) throw notFound('workspace', 'workspace');
    return {
      success: true as const,
      workspace: { id: w.id, name: w.name, created_at: toIso(w.createdAt), strict_score_names: w.strictScoreNames, feedback_origins: feedback?.origins ?? [] },
    };
  };

  app.get(
    '/v1/workspace',
    { preValidation: auth, schema: { tags: ['v1'], summary: "The caller's workspace and its settings", response: { 200: WorkspaceReply, ...errors } } },
    async (req) => workspaceReply(req.auth!.workspaceId),
  );

  app.patch(
    '/v1/workspace',
    {
      preValidation: auth,
      schema: {
        tags: ['v1'],
        summary: "Change settings of the caller's workspace; only the fields given change",
        body: WorkspacePatchBody,
        response: { 200: WorkspaceReply, ...errors },
      },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      const b = req.body;
      const feedbackOrigins = b.feedback_origins === undefined ? undefined : checkOriginList(b.feedback_origins, 'feedback_origins');
      await queue.submit({
        op: 'updateWorkspace',
        workspaceId,
        settings: { ...(b.strict_score_names === undefined ? {} : { strictScoreNames: b.strict_score_names }), ...(feedbackOrigins === undefined ? {} : { feedbackOrigins }) },
      });
      if (feedbackOrigins !== undefined) store.feedback.originsChanged();
      return workspaceReply(workspaceId);
    },
  );
};
