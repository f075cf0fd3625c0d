import { Type } from '@sinclair/typebox';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { inviteToWorkspace, setupUrl } from '../../auth/invites.js';
import { limitAuthFailures } from '../../auth/rate-limits.js';
import { passwordProblem, PASSWORD_MAX } from '../../auth/password-policy.js';
import { hashPassword, verifyPassword } from '../../auth/passwords.js';
import { endSession, hashSecret, loadSession, sessionAuthenticator, startSession } from '../../auth/sessions.js';
import { invalidField, TallyError } from '../../domain/errors.js';
import { ErrorBody } from '../../schemas/common.js';
import type { FastifyRequest } from 'fastify';
import type { Accounts, Role, User } from '../../store/accounts.js';

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
const errors = { 400: ErrorBody, 401: ErrorBody, 404: ErrorBody, 409: ErrorBody, 429: ErrorBody, 503: ErrorBody };
const memberErrors = { ...errors, 403: ErrorBody };

const RoleSchema = Type.Union([Type.Literal('owner'), Type.Literal('member')], { description: "must be 'owner' or 'member'" });
const MemberItem = Type.Object({
  id: Type.Integer(),
  email: Type.String(),
  role: Type.String(),
  has_password: Type.Boolean({ description: 'false until they open their setup link and choose a password' }),
});
const MemberParams = Type.Object({ id: Type.Integer({ minimum: 1, description: "the member's user id" }) });

/** Inviting, changing roles and removing are for the workspace's owners. */
function requireOwner(req: FastifyRequest, doing: string): void {
  if (req.session!.role !== 'owner') throw new TallyError('forbidden', `only an owner of this workspace can ${doing}; you are a member`);
}

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
export const accountRoutes: FastifyPluginAsyncTypebox<{
  accounts: Accounts;
  loginFailuresPerMinute: number;
  /** `--public-url`: where invite links point; without it, the address the owner reached us at. */
  publicUrl: string | undefined;
}> = async (app, { accounts, loginFailuresPerMinute, publicUrl }) => {
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

  const memberReply = async (workspaceId: number, userId: number) => {
    const m = (await accounts.workspaceMembers(workspaceId)).find((x) => x.userId === userId);
    if (!m) throw new TallyError('not_found', 'id: no member with this id in this workspace', { field: 'id' });
    return { id: m.userId, email: m.email, role: m.role, has_password: m.hasPassword };
  };

  // The people of the current workspace: the members page, and names for the actors in score
  // history (`user:<id>`).
  app.get(
    '/ui/api/members',
    {
      preValidation: requireSession,
      schema: { response: { 200: Type.Object({ success: Type.Literal(true), members: Type.Array(MemberItem) }), 401: ErrorBody } },
    },
    async (req) => ({
      success: true as const,
      members: (await accounts.workspaceMembers(req.session!.workspaceId)).map((m) => ({ id: m.userId, email: m.email, role: m.role, has_password: m.hasPassword })),
    }),
  );

  app.post(
    '/ui/api/members',
    {
      preValidation: requireSession,
      schema: {
        description: 'Adds a person to the current workspace (owners only). A new account, or one that never set a password, gets a one-time setup link, shown only in this answer.',
        body: Type.Object({ email: Email, role: RoleSchema }, { additionalProperties: false }),
        response: {
          200: Type.Object({
            success: Type.Literal(true),
            member: MemberItem,
            setup_url: Type.Union([Type.String(), Type.Null()], { description: 'the one-time link to set a password (valid 7 days); null when the account already has one' }),
          }),
          ...memberErrors,
        },
      },
    },
    async (req) => {
      requireOwner(req, 'invite people');
      const ws = req.session!.workspaceId;
      const email = normalizeEmail(req.body.email);
      const existing = await accounts.findUserByEmail(email);
      if (existing && existing.passwordHash !== null && (await accounts.workspaceMembers(ws)).some((m) => m.userId === existing.id)) {
        throw new TallyError('conflict', 'email: already a member of this workspace', { field: 'email' });
      }
      const { userId, token } = await inviteToWorkspace(accounts, ws, email, req.body.role as Role);
      const base = publicUrl ?? `${req.protocol}://${req.host}`;
      return { success: true as const, member: await memberReply(ws, userId), setup_url: token === null ? null : setupUrl(base, token) };
    },
  );

  app.patch(
    '/ui/api/members/:id',
    {
      preValidation: requireSession,
      schema: {
        description: "Changes a member's role in the current workspace (owners only); the last owner cannot be demoted.",
        params: MemberParams,
        body: Type.Object({ role: RoleSchema }, { additionalProperties: false }),
        response: { 200: Type.Object({ success: Type.Literal(true), member: MemberItem }), ...memberErrors },
      },
    },
    async (req) => {
      requireOwner(req, 'change roles');
      const ws = req.session!.workspaceId;
      const outcome = await accounts.changeMembership(req.params.id, ws, req.body.role as Role);
      if (outcome === 'not_member') throw new TallyError('not_found', 'id: no member with this id in this workspace', { field: 'id' });
      if (outcome === 'last_owner') throw new TallyError('conflict', 'role: this is the last owner of the workspace; make someone else an owner first', { field: 'role' });
      return { success: true as const, member: await memberReply(ws, req.params.id) };
    },
  );

  app.delete(
    '/ui/api/members/:id',
    {
      preValidation: requireSession,
      schema: {
        description: 'Removes a member from the current workspace (owners only); their sessions there end at once. The last owner cannot be removed.',
        params: MemberParams,
        response: { 200: Ok, ...memberErrors },
      },
    },
    async (req) => {
      requireOwner(req, 'remove people');
      const outcome = await accounts.changeMembership(req.params.id, req.session!.workspaceId, null);
      if (outcome === 'not_member') throw new TallyError('not_found', 'id: no member with this id in this workspace', { field: 'id' });
      if (outcome === 'last_owner') throw new TallyError('conflict', 'id: this is the last owner of the workspace; make someone else an owner first', { field: 'id' });
      return { success: true as const };
    },
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
