import type { Kysely, Selectable } from 'kysely';
import { TallyError } from '../domain/errors.js';
import type { Database, WorkspacesTable } from './schema.js';
import type { Workspace, WorkspaceSettings } from './types.js';

export interface WorkspaceStore {
  /** On an empty store, creates workspace `default` and returns it; otherwise null. Race-safe. */
  bootstrapDefault(): Promise<Workspace | null>;
  create(name: string): Promise<Workspace>;
  list(): Promise<Workspace[]>;
  find(name: string): Promise<Workspace | null>;
  /** One workspace with its settings (`GET /v1/workspace`); settings change through the write queue (updateWorkspace). */
  get(id: number): Promise<(Workspace & WorkspaceSettings) | null>;
}

const toWorkspace = (r: Selectable<WorkspacesTable>): Workspace => ({ id: r.id, name: r.name, createdAt: Number(r.created_at) });

const nameTaken = (name: string) => new TallyError('conflict', `name: a workspace named "${name}" already exists`, { field: 'name' });

export class SqlWorkspaces implements WorkspaceStore {
  constructor(private readonly db: Kysely<Database>) {}

  async bootstrapDefault(): Promise<Workspace | null> {
    const any = await this.db.selectFrom('workspaces').select('id').limit(1).executeTakeFirst();
    if (any) return null;
    // Two instances starting at once on one PostgreSQL: the unique name lets exactly one win.
    const row = await this.db
      .insertInto('workspaces')
      .values({ name: 'default', created_at: Date.now() })
      .onConflict((oc) => oc.column('name').doNothing())
      .returningAll()
      .executeTakeFirst();
    return row ? toWorkspace(row) : null;
  }

  async create(name: string): Promise<Workspace> {
    const existing = await this.find(name);
    if (existing) throw nameTaken(name);
    const row = await this.db
      .insertInto('workspaces')
      .values({ name, created_at: Date.now() })
      .onConflict((oc) => oc.column('name').doNothing())
      .returningAll()
      .executeTakeFirst();
    if (!row) throw nameTaken(name);
    return toWorkspace(row);
  }

  async list(): Promise<Workspace[]> {
    const rows = await this.db.selectFrom('workspaces').selectAll().orderBy('id').execute();
    return rows.map(toWorkspace);
  }

  async get(id: number): Promise<(Workspace & WorkspaceSettings) | null> {
    const row = await this.db.selectFrom('workspaces').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? { ...toWorkspace(row), strictScoreNames: Number(row.strict_score_names) === 1 } : null;
  }

  async find(name: string): Promise<Workspace | null> {
    const row = await this.db.selectFrom('workspaces').selectAll().where('name', '=', name).executeTakeFirst();
    return row ? toWorkspace(row) : null;
  }
}
