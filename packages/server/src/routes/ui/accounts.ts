import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { limitAuthFailures } from '../../auth/rate-limits.js';
import { passwordProblem, PASSWORD_MAX } from '../../auth/password-policy.js';
import { hashPassword, verifyPassword } from '../../auth/passwords.js';
import { endSession, hashSecret, loadSession, sessionAuthenticator, startSession } from '../../auth/sessions.js';
import { invalidField, TallyError } from '../../domain/errors.js';
import { ErrorBody } from '../../schemas/common.js';
import type { Accounts, User } from '../../store/accounts.js';

const EMAIL_MAX = 254;
const Email = Type.String({ minLength: 3, maxLength: EMAIL_MAX, description: 'must be an email address' });
const Password = Type.String({ maxLength: PASSWORD_MAX, description: `must be a password of at most ${PASSWORD_MAX} characters` });

const WorkspaceRef = Type.Object({ id: Type.Integer(), name: Type.String(), role: Type.String() });
const SessionReply = Type.Object({
  success: Type.Literal(true),
  user: Type.Object({ id: Type.Integer(), email: Type.String() }),
  workspace: WorkspaceRef,
  workspaces: Type.Array(WorkspaceRef),
  csrf_token: Type.String(),
});
const Ok = Type.Object({ success: Type.Literal(true) });
const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody };

function normalizeEmail(raw: string): string {
  const email = raw.trim().toLowerCase();
  if (!/^[^\s@]+@[^\s@]+$/.test(email) || email.length > EMAIL_MAX) throw invalidField('email', 'must be an email address');
  return email;
}

function checkPassword(password: string, email: string | null | undefined): void {
  const problem = passwordProblem(password, { email });
  if (problem) throw invalidField('password', problem);
}

const INVALID_LINK = () => new TallyError('not_found', 'token: this setup link is not valid (unknown, used or expired)', { field: 'token' });

/**
 * The dashboard's account routes under `/ui/api`: the one-time setup link, sign in and out, the
 * current session and the workspace switcher. Answers carry only what the signed-in user may see.
 */
export const accountRoutes: FastifyPluginAsyncTypebox<{ accounts: Accounts; loginFailuresPerMinute: number }> = async (app, { accounts, loginFailuresPerMinute }) => {
  const requireSession = sessionAuthenticator(accounts);
  const signedIn = new WeakMap<object, User>();
  // Wrong passwords count against the client address like bad API keys do: 429 past the limit.
  const checkCredentials = limitAuthFailures(
    async (req) => {
      const body = req.body as { email: string; password: string };
      const user = await accounts.findUserByEmail(body.email.trim().toLowerCase());
      // Same message and (through the decoy hash) the same time whether the email exists or not.
      const ok = await verifyPassword(body.password, user?.passwordHash ?? null);
      if (!user || !ok) throw new TallyError('unauthorized', 'email or password is wrong');
      signedIn.set(req, user);
    },
    { maxPerMinute: loginFailuresPerMinute },
  );

  async function sessionReply(userId: number, email: string, workspaceId: number, csrfToken: string) {
    const workspaces = (await accounts.memberships(userId)).map((m) => ({ id: m.workspaceId, name: m.workspaceName, role: m.role }));
    const workspace = workspaces.find((w) => w.id === workspaceId);
    if (!workspace) throw new TallyError('unauthorized', 'session: no longer a member of this workspace');
    return { success: true as const, user: { id: userId, email }, workspace, workspaces, csrf_token: csrfToken };
  }

  app.get(
    '/ui/api/setup/:token',
    {
      schema: {
        params: Type.Object({ token: Type.String({ maxLength: 128 }) }),
        response: {
          200: Type.Object({ success: Type.Literal(true), purpose: Type.String(), email: Type.Union([Type.String(), Type.Null()]), workspace: Type.String() }),
          ...errors,
        },
      },
    },
    async (req) => {
      const t = await accounts.findSetupToken(hashSecret(req.params.token), Date.now());
      if (!t) throw INVALID_LINK();
      return { success: true as const, purpose: t.purpose, email: t.email, workspace: t.workspaceName };
    },
  );

  app.post(
    '/ui/api/setup/:token',
    {
      schema: {
        params: Type.Object({ token: Type.String({ maxLength: 128 }) }),
        body: Type.Object({ email: Type.Optional(Email), password: Password }, { additionalProperties: false }),
        response: { 200: SessionReply, ...errors },
      },
    },
    async (req, reply) => {
      const tokenHash = hashSecret(req.params.token);
      const t = await accounts.findSetupToken(tokenHash, Date.now());
      if (!t) throw INVALID_LINK();
      checkPassword(req.body.password, req.body.email ?? t.email);
      let email: string;
      if (t.purpose === 'owner') {
        if (req.body.email === undefined) throw invalidField('email', 'is required');
        email = normalizeEmail(req.body.email);
        if (await accounts.findUserByEmail(email)) throw new TallyError('conflict', 'email: an account with this email already exists; sign in instead', { field: 'email' });
      } else {
        email = t.email ?? '';
      }
      const hash = await hashPassword(req.body.password);
      // Whoever consumes the token first wins; a second tab racing on the same link gets 404.
      if (!(await accounts.consumeSetupToken(tokenHash, Date.now()))) throw INVALID_LINK();
      let userId: number;
      if (t.purpose === 'owner') {
        userId = (await accounts.createUser(email, hash)).id;
        await accounts.addMembership(userId, t.workspaceId, 'owner');
      } else {
        userId = t.userId!;
        await accounts.setPassword(userId, hash);
      }
      const { csrfToken } = await startSession(accounts, req, reply, userId, t.workspaceId);
      return sessionReply(userId, email, t.workspaceId, csrfToken);
    },
  );

  app.post(
    '/ui/api/login',
    {
      schema: {
        body: Type.Object({ email: Email, password: Password }, { additionalProperties: false }),
        response: { 200: SessionReply, ...errors },
      },
    },
    async (req, reply) => {
      await checkCredentials(req);
      const user = signedIn.get(req)!;
      const memberships = await accounts.memberships(user.id);
      const first = memberships[0];
      if (!first) throw new TallyError('unauthorized', 'this account belongs to no workspace');
      const { csrfToken } = await startSession(accounts, req, reply, user.id, first.workspaceId);
      return sessionReply(user.id, user.email, first.workspaceId, csrfToken);
    },
  );

  app.post('/ui/api/logout', { schema: { response: { 200: Ok, 401: ErrorBody } } }, async (req, reply) => {
    // A stale or absent session still clears the cookie; a live one needs its CSRF token.
    await loadSession(accounts, req, { csrf: true });
    await endSession(accounts, req, reply);
    return { success: true as const };
  });

  app.get('/ui/api/session', { preValidation: requireSession, schema: { response: { 200: SessionReply, 401: ErrorBody } } }, async (req) => {
    const s = req.session!;
    return sessionReply(s.userId, s.email, s.workspaceId, s.csrfToken);
  });

  // Names for the actors in score history (`user:<id>`), limited to the current workspace.
  app.get(
    '/ui/api/members',
    {
      preValidation: requireSession,
      schema: { response: { 200: Type.Object({ success: Type.Literal(true), members: Type.Array(Type.Object({ id: Type.Integer(), email: Type.String(), role: Type.String() })) }), 401: ErrorBody } },
    },
    async (req) => ({
      success: true as const,
      members: (await accounts.workspaceMembers(req.session!.workspaceId)).map((m) => ({ id: m.userId, email: m.email, role: m.role })),
    }),
  );

  app.put(
    '/ui/api/session/workspace',
    {
      preValidation: requireSession,
      schema: {
        body: Type.Object({ workspace_id: Type.Integer({ minimum: 1 }) }, { additionalProperties: false }),
        response: { 200: SessionReply, ...errors },
      },
    },
    async (req) => {
      const s = req.session!;
      const member = (await accounts.memberships(s.userId)).some((m) => m.workspaceId === req.body.workspace_id);
      // Not a member answers like a workspace that does not exist.
      if (!member) throw new TallyError('not_found', 'workspace_id: no workspace with this id', { field: 'workspace_id' });
      await accounts.switchWorkspace(s.idHash, req.body.workspace_id);
      return sessionReply(s.userId, s.email, req.body.workspace_id, s.csrfToken);
    },
  );
};
