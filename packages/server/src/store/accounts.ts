import type { Generated, Kysely } from 'kysely';
import type { Database } from './schema.js';

// The account tables (migration 004). Kept beside their queries rather than in schema.ts: nothing
// else reads them.
export type UsersTable = {
  id: Generated<number>;
  email: string;
  password_hash: string | null;
  created_at: number;
};

export type MembershipsTable = {
  user_id: number;
  workspace_id: number;
  role: string;
  created_at: number;
};

export type SessionsTable = {
  id_hash: string;
  user_id: number;
  workspace_id: number;
  csrf_token: string;
  created_at: number;
  expires_at: number;
};

export type SetupTokensTable = {
  token_hash: string;
  purpose: string;
  user_id: number | null;
  email: string | null;
  workspace_id: number;
  created_at: number;
  expires_at: number;
  used_at: number | null;
};

export type AccountTables = {
  users: UsersTable;
  memberships: MembershipsTable;
  sessions: SessionsTable;
  setup_tokens: SetupTokensTable;
};

export type Role = 'owner' | 'member';
export type SetupPurpose = 'owner' | 'invite';

export interface User {
  id: number;
  email: string;
  passwordHash: string | null;
  createdAt: number;
}

export interface Membership {
  workspaceId: number;
  workspaceName: string;
  role: Role;
}

export interface SessionRecord {
  userId: number;
  email: string;
  workspaceId: number;
  workspaceName: string;
  role: Role;
  csrfToken: string;
  expiresAt: number;
}

export interface SetupTokenRecord {
  purpose: SetupPurpose;
  userId: number | null;
  email: string | null;
  workspaceId: number;
  workspaceName: string;
  expiresAt: number;
}

/** Users, memberships, sessions and setup links: the dashboard's side of the store. */
export interface Accounts {
  countUsers(): Promise<number>;
  findUserByEmail(email: string): Promise<User | null>;
  createUser(email: string, passwordHash: string | null): Promise<User>;
  setPassword(userId: number, passwordHash: string): Promise<void>;
  /** Adds the membership; an existing one keeps its role. */
  addMembership(userId: number, workspaceId: number, role: Role): Promise<void>;
  memberships(userId: number): Promise<Membership[]>;
  workspaceMembers(workspaceId: number): Promise<{ userId: number; email: string; role: Role; hasPassword: boolean }[]>;
  /**
   * Gives a member another role, or (role null) removes them and ends their sessions in that
   * workspace. Refused, changing nothing, when it would leave the workspace without an owner.
   */
  changeMembership(userId: number, workspaceId: number, role: Role | null): Promise<'done' | 'not_member' | 'last_owner'>;

  createSession(s: { idHash: string; userId: number; workspaceId: number; csrfToken: string; expiresAt: number }): Promise<void>;
  /** The live session with this id hash, only while its user is still a member of its workspace. */
  findSession(idHash: string, now: number): Promise<SessionRecord | null>;
  switchWorkspace(idHash: string, workspaceId: number): Promise<void>;
  deleteSession(idHash: string): Promise<void>;

  createSetupToken(t: { tokenHash: string; purpose: SetupPurpose; userId: number | null; email: string | null; workspaceId: number; expiresAt: number }): Promise<void>;
  /** The unused, unexpired token with this hash. */
  findSetupToken(tokenHash: string, now: number): Promise<SetupTokenRecord | null>;
  /** Marks the token used; true for exactly one caller, however many race for it. */
  consumeSetupToken(tokenHash: string, now: number): Promise<boolean>;
}

const toUser = (r: { id: number; email: string; password_hash: string | null; created_at: number }): User => ({
  id: Number(r.id),
  email: r.email,
  passwordHash: r.password_hash,
  createdAt: Number(r.created_at),
});

/** Accounts over the same Kysely connection as the rest of the store (both backends). */
export class SqlAccounts implements Accounts {
  private readonly db: Kysely<Database & AccountTables>;

  /**
   * @param transaction the store's transaction for small writes outside the write order (SQLite:
   *   BEGIN IMMEDIATE, so one at a time; PostgreSQL: a plain transaction).
   * @param rowLocks whether `for update` works (PostgreSQL): two owners demoting each other at
   *   once must not both succeed.
   */
  constructor(
    db: Kysely<Database>,
    private readonly transaction: <T>(fn: (trx: Kysely<Database>) => Promise<T>) => Promise<T> = (fn) => db.transaction().execute(fn),
    private readonly rowLocks = false,
  ) {
    this.db = db.withTables<AccountTables>();
  }

  async countUsers(): Promise<number> {
    const row = await this.db.selectFrom('users').select((eb) => eb.fn.countAll<number | string>().as('n')).executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async findUserByEmail(email: string): Promise<User | null> {
    const row = await this.db.selectFrom('users').selectAll().where('email', '=', email).executeTakeFirst();
    return row ? toUser(row) : null;
  }

  async createUser(email: string, passwordHash: string | null): Promise<User> {
    const row = await this.db.insertInto('users').values({ email, password_hash: passwordHash, created_at: Date.now() }).returningAll().executeTakeFirstOrThrow();
    return toUser(row);
  }

  async setPassword(userId: number, passwordHash: string): Promise<void> {
    await this.db.updateTable('users').set({ password_hash: passwordHash }).where('id', '=', userId).execute();
  }

  async addMembership(userId: number, workspaceId: number, role: Role): Promise<void> {
    await this.db
      .insertInto('memberships')
      .values({ user_id: userId, workspace_id: workspaceId, role, created_at: Date.now() })
      .onConflict((oc) => oc.columns(['user_id', 'workspace_id']).doNothing())
      .execute();
  }

  async memberships(userId: number): Promise<Membership[]> {
    const rows = await this.db
      .selectFrom('memberships')
      .innerJoin('workspaces', 'workspaces.id', 'memberships.workspace_id')
      .select(['memberships.workspace_id', 'workspaces.name', 'memberships.role'])
      .where('memberships.user_id', '=', userId)
      .orderBy('workspaces.name')
      .execute();
    return rows.map((r) => ({ workspaceId: Number(r.workspace_id), workspaceName: r.name, role: r.role as Role }));
  }

  async workspaceMembers(workspaceId: number): Promise<{ userId: number; email: string; role: Role; hasPassword: boolean }[]> {
    const rows = await this.db
      .selectFrom('memberships')
      .innerJoin('users', 'users.id', 'memberships.user_id')
      .select(['users.id', 'users.email', 'memberships.role', 'users.password_hash'])
      .where('memberships.workspace_id', '=', workspaceId)
      .orderBy('users.id')
      .execute();
    return rows.map((r) => ({ userId: Number(r.id), email: r.email, role: r.role as Role, hasPassword: r.password_hash !== null }));
  }

  async changeMembership(userId: number, workspaceId: number, role: Role | null): Promise<'done' | 'not_member' | 'last_owner'> {
    return this.transaction(async (t) => {
      const trx = t.withTables<AccountTables>();
      const owners = await trx
        .selectFrom('memberships')
        .select('user_id')
        .where('workspace_id', '=', workspaceId)
        .where('role', '=', 'owner')
        .$if(this.rowLocks, (qb) => qb.forUpdate())
        .execute();
      const current = await trx.selectFrom('memberships').select('role').where('user_id', '=', userId).where('workspace_id', '=', workspaceId).executeTakeFirst();
      if (!current) return 'not_member';
      const staysOwner = role === 'owner';
      if (current.role === 'owner' && !staysOwner && owners.filter((o) => Number(o.user_id) !== userId).length === 0) return 'last_owner';
      if (role === null) {
        await trx.deleteFrom('memberships').where('user_id', '=', userId).where('workspace_id', '=', workspaceId).execute();
        // Sessions resolve through the membership already; deleting them too keeps a later
        // re-invite from bringing an old browser's session back to life.
        await trx.deleteFrom('sessions').where('user_id', '=', userId).where('workspace_id', '=', workspaceId).execute();
      } else if (role !== current.role) {
        await trx.updateTable('memberships').set({ role }).where('user_id', '=', userId).where('workspace_id', '=', workspaceId).execute();
      }
      return 'done';
    });
  }

  /** Also deletes the sessions that have expired, so the table holds live sessions only. */
  async createSession(s: { idHash: string; userId: number; workspaceId: number; csrfToken: string; expiresAt: number }): Promise<void> {
    await this.db.deleteFrom('sessions').where('expires_at', '<=', Date.now()).execute();
    await this.db
      .insertInto('sessions')
      .values({ id_hash: s.idHash, user_id: s.userId, workspace_id: s.workspaceId, csrf_token: s.csrfToken, created_at: Date.now(), expires_at: s.expiresAt })
      .execute();
  }

  async findSession(idHash: string, now: number): Promise<SessionRecord | null> {
    const row = await this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .innerJoin('memberships', (j) => j.onRef('memberships.user_id', '=', 'sessions.user_id').onRef('memberships.workspace_id', '=', 'sessions.workspace_id'))
      .innerJoin('workspaces', 'workspaces.id', 'sessions.workspace_id')
      .select(['sessions.user_id', 'users.email', 'sessions.workspace_id', 'workspaces.name', 'memberships.role', 'sessions.csrf_token', 'sessions.expires_at'])
      .where('sessions.id_hash', '=', idHash)
      .where('sessions.expires_at', '>', now)
      .executeTakeFirst();
    if (!row) return null;
    return {
      userId: Number(row.user_id),
      email: row.email,
      workspaceId: Number(row.workspace_id),
      workspaceName: row.name,
      role: row.role as Role,
      csrfToken: row.csrf_token,
      expiresAt: Number(row.expires_at),
    };
  }

  async switchWorkspace(idHash: string, workspaceId: number): Promise<void> {
    await this.db.updateTable('sessions').set({ workspace_id: workspaceId }).where('id_hash', '=', idHash).execute();
  }

  async deleteSession(idHash: string): Promise<void> {
    await this.db.deleteFrom('sessions').where('id_hash', '=', idHash).execute();
  }

  /** Also deletes the setup links that have expired (used or not): they can never be used again. */
  async createSetupToken(t: { tokenHash: string; purpose: SetupPurpose; userId: number | null; email: string | null; workspaceId: number; expiresAt: number }): Promise<void> {
    await this.db.deleteFrom('setup_tokens').where('expires_at', '<=', Date.now()).execute();
    await this.db
      .insertInto('setup_tokens')
      .values({
        token_hash: t.tokenHash,
        purpose: t.purpose,
        user_id: t.userId,
        email: t.email,
        workspace_id: t.workspaceId,
        created_at: Date.now(),
        expires_at: t.expiresAt,
      })
      .execute();
  }

  async findSetupToken(tokenHash: string, now: number): Promise<SetupTokenRecord | null> {
    const row = await this.db
      .selectFrom('setup_tokens')
      .innerJoin('workspaces', 'workspaces.id', 'setup_tokens.workspace_id')
      .select(['setup_tokens.purpose', 'setup_tokens.user_id', 'setup_tokens.email', 'setup_tokens.workspace_id', 'workspaces.name', 'setup_tokens.expires_at'])
      .where('setup_tokens.token_hash', '=', tokenHash)
      .where('setup_tokens.used_at', 'is', null)
      .where('setup_tokens.expires_at', '>', now)
      .executeTakeFirst();
    if (!row) return null;
    return {
      purpose: row.purpose as SetupPurpose,
      userId: row.user_id === null ? null : Number(row.user_id),
      email: row.email,
      workspaceId: Number(row.workspace_id),
      workspaceName: row.name,
      expiresAt: Number(row.expires_at),
    };
  }

  async consumeSetupToken(tokenHash: string, now: number): Promise<boolean> {
    const res = await this.db
      .updateTable('setup_tokens')
      .set({ used_at: now })
      .where('token_hash', '=', tokenHash)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return Number(res.numUpdatedRows) === 1;
  }
}
