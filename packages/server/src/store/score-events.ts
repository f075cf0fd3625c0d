import type { Kysely, Selectable } from 'kysely';
import type { Database, ScoreEventsTable } from './schema.js';

/** A page of the workspace-wide score-event feed, in event id order. */
export interface ScoreEventQuery {
  /** Only events with a larger id (the feed's keyset cursor); 0 starts at the beginning. */
  afterId: number;
  limit: number;
  name?: string | undefined;
  requestId?: number | undefined;
}

/** The feed's rows; the store converts them with the same converter as a request's history. */
export function selectScoreEvents(db: Kysely<Database>, workspaceId: number, q: ScoreEventQuery): Promise<Selectable<ScoreEventsTable>[]> {
  return db
    .selectFrom('score_events')
    .selectAll()
    .where('workspace_id', '=', workspaceId)
    .where('id', '>', q.afterId)
    .$if(q.name !== undefined, (qb) => qb.where('name', '=', q.name!))
    .$if(q.requestId !== undefined, (qb) => qb.where('request_id', '=', q.requestId!))
    .orderBy('id')
    .limit(q.limit)
    .execute();
}

// Keeps each IN list well under SQLite's and PostgreSQL's bound-parameter limits.
const CHUNK = 500;

/** Which of `ids` are requests of this workspace (a foreign id is as absent as a missing one). */
export async function selectExistingRequestIds(db: Kysely<Database>, workspaceId: number, ids: readonly number[]): Promise<Set<number>> {
  const unique = [...new Set(ids)];
  const found = new Set<number>();
  for (let i = 0; i < unique.length; i += CHUNK) {
    const rows = await db
      .selectFrom('requests')
      .select('id')
      .where('workspace_id', '=', workspaceId)
      .where('id', 'in', unique.slice(i, i + CHUNK))
      .execute();
    for (const r of rows) found.add(Number(r.id));
  }
  return found;
}

/** Whether any request of the workspace has ever held a current score of this name. */
export async function selectScoreNameExists(db: Kysely<Database>, workspaceId: number, name: string): Promise<boolean> {
  const row = await db.selectFrom('scores').select('request_id').where('workspace_id', '=', workspaceId).where('name', '=', name).limit(1).executeTakeFirst();
  return row !== undefined;
}
