import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { parseId } from '../../domain/ids.js';
import { invalidField } from '../../domain/errors.js';
import { LIMITS } from '../../domain/limits.js';
import { scoreName } from '../../domain/score.js';
import { ErrorBody, TrackOk } from '../../schemas/common.js';
import { CreateGroupBody, CreateGroupReply, TrackGroupBody, TrackMetadataBody, TrackPromptBody, TrackScoreBody } from '../../schemas/promptlayer.js';
import type { RouteDeps } from '../deps.js';

const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 413: ErrorBody, 429: ErrorBody, 503: ErrorBody };

/** The track calls, each at PromptLayer's documented path and at the path the SDKs really call. */
export const trackRoutes: FastifyPluginAsyncTypebox<RouteDeps> = async (app, { queue, auth, trackBodyLimit }) => {
  const base = { preValidation: auth, bodyLimit: trackBodyLimit } as const;

  for (const url of ['/rest/track-score', '/library-track-score']) {
    app.post(url, { ...base, schema: { tags: ['promptlayer'], summary: 'Score a request (0..100) under a name', body: TrackScoreBody, response: { 200: TrackOk, ...errors } } }, async (req) => {
      const { workspaceId, actor } = req.auth!;
      const requestId = parseId(req.body.request_id, 'request_id');
      const name = scoreName(req.body.name);
      await queue.submit({ op: 'setScore', workspaceId, requestId, name, value: req.body.score, actor });
      return { success: true as const, message: 'score tracked' };
    });
  }

  for (const url of ['/rest/track-metadata', '/library-track-metadata']) {
    app.post(url, { ...base, schema: { tags: ['promptlayer'], summary: 'Attach metadata to a request; a key tracked again is replaced', body: TrackMetadataBody, response: { 200: TrackOk, ...errors } } }, async (req) => {
      const { workspaceId } = req.auth!;
      const requestId = parseId(req.body.request_id, 'request_id');
      await queue.submit({ op: 'setMetadata', workspaceId, requestId, metadata: req.body.metadata });
      return { success: true as const, message: 'metadata tracked' };
    });
  }

  for (const url of ['/rest/track-prompt', '/library-track-prompt']) {
    app.post(url, { ...base, schema: { tags: ['promptlayer'], summary: 'Link a request to a prompt name and version or label', body: TrackPromptBody, response: { 200: TrackOk, ...errors } } }, async (req) => {
      const { workspaceId } = req.auth!;
      const body = req.body;
      const requestId = parseId(body.request_id, 'request_id');
      const hasVersion = body.version !== undefined && body.version !== null;
      const hasLabel = body.label !== undefined && body.label !== null;
      if (hasVersion && hasLabel) throw invalidField('version', 'give either version or label, not both');
      const version = hasVersion ? parseId(body.version, 'version') : null;
      if (version !== null && version > LIMITS.promptVersion) throw invalidField('version', `must be at most ${LIMITS.promptVersion}`);
      await queue.submit({
        op: 'setPrompt',
        workspaceId,
        requestId,
        prompt: { name: body.prompt_name, version, label: hasLabel ? body.label! : null, inputVariables: body.prompt_input_variables ?? {} },
      });
      return { success: true as const, message: 'prompt tracked' };
    });
  }

  for (const url of ['/rest/track-group', '/track-group']) {
    app.post(url, { ...base, schema: { tags: ['promptlayer'], summary: 'Add a request to a group', body: TrackGroupBody, response: { 200: TrackOk, ...errors } } }, async (req) => {
      const { workspaceId } = req.auth!;
      const requestId = parseId(req.body.request_id, 'request_id');
      const groupId = parseId(req.body.group_id, 'group_id');
      await queue.submit({ op: 'addToGroup', workspaceId, requestId, groupId });
      return { success: true as const, message: 'group tracked' };
    });
  }

  app.post('/create-group', { ...base, schema: { tags: ['promptlayer'], summary: 'Create a group of requests', body: CreateGroupBody, response: { 200: CreateGroupReply, ...errors } } }, async (req) => {
    const { workspaceId } = req.auth!;
    const id = await queue.submit({ op: 'createGroup', workspaceId });
    return { success: true as const, id };
  });
};
