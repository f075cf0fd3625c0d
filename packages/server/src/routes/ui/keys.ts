import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { generateApiKey } from '../../auth/api-keys.js';
import { sessionAuthenticator } from '../../auth/sessions.js';
import { notFound } from '../../domain/errors.js';
import { LIMITS } from '../../domain/limits.js';
import { ErrorBody } from '../../schemas/common.js';
import type { Store } from '../../store/store.js';
import type { ApiKeyInfo } from '../../store/types.js';

const KeyItem = Type.Object({
  id: Type.Integer(),
  label: Type.String(),
  prefix: Type.String(),
  created_at: Type.String(),
  last_used_at: Type.Union([Type.String(), Type.Null()]),
  revoked_at: Type.Union([Type.String(), Type.Null()]),
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const toItem = (k: ApiKeyInfo) => ({ id: k.id, label: k.label, prefix: k.prefix, created_at: iso(k.createdAt)!, last_used_at: iso(k.lastUsedAt), revoked_at: iso(k.revokedAt) });
const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 429: ErrorBody, 503: ErrorBody };

/**
 * The API keys page: the current workspace's keys, for a signed-in user only (a key cannot mint
 * more keys). The secret is in the create answer and nowhere else, ever.
 */
export const keyRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, { store }) => {
  const requireSession = sessionAuthenticator(store.accounts);

  app.get('/ui/api/keys', { preValidation: requireSession, schema: { response: { 200: Type.Object({ success: Type.Literal(true), keys: Type.Array(KeyItem) }), ...errors } } }, async (req) => ({
    success: true as const,
    keys: (await store.keys.list(req.auth!.workspaceId)).map(toItem),
  }));

  app.post(
    '/ui/api/keys',
    {
      preValidation: requireSession,
      schema: {
        body: Type.Object({ label: Type.String({ maxLength: LIMITS.keyLabel, description: `must be at most ${LIMITS.keyLabel} characters` }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ success: Type.Literal(true), key: Type.String(), item: KeyItem }), ...errors },
      },
    },
    async (req) => {
      const { key, display, hash } = generateApiKey();
      const info = await store.keys.create({ workspaceId: req.auth!.workspaceId, label: req.body.label, prefix: display, secretHash: hash });
      return { success: true as const, key, item: toItem(info) };
    },
  );

  app.delete(
    '/ui/api/keys/:id',
    {
      preValidation: requireSession,
      schema: { params: Type.Object({ id: Type.Integer({ minimum: 1 }) }), response: { 200: Type.Object({ success: Type.Literal(true), item: KeyItem }), ...errors } },
    },
    async (req) => {
      const { workspaceId } = req.auth!;
      // Keys of other workspaces answer exactly like missing ones.
      const mine = (await store.keys.list(workspaceId)).find((k) => k.id === req.params.id && k.revokedAt === null);
      if (!mine || !(await store.keys.revoke(mine.id))) throw notFound('id', 'live API key');
      const after = (await store.keys.list(workspaceId)).find((k) => k.id === mine.id)!;
      return { success: true as const, item: toItem(after) };
    },
  );
};
