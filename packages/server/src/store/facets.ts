import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { FacetRows } from './types.js';

/**
 * The distinct values of one indexed column in a workspace, at most `limit`, by a loose index scan:
 * each step seeks the next value past the previous one in an index led by (workspace_id, column),
 * so the cost grows with the values returned, not with the rows holding them. Both backends
 * answer the recursive form; neither skips through an index for a plain DISTINCT.
 */
async function distinctValues<T = string>(
  db: Kysely<Database>,
  table: 'requests' | 'request_tags' | 'request_metadata' | 'scores',
  column: string,
  workspaceId: number,
  limit: number,
  within: RawText = sql``,
): Promise<T[]> {
  const t = sql.table(table);
  const c = sql.ref(column);
  const next = (after: RawText) => sql`(select ${c} from ${t} where workspace_id = ${workspaceId} ${within} and ${c} is not null ${after} order by ${c} limit 1)`;
  const { rows } = await sql<{ v: T | null }>`
    with recursive vs(v, n) as (
      select ${next(sql``)}, 1
      union all
      select ${next(sql`and ${c} > vs.v`)}, n + 1 from vs where vs.v is not null and n < ${sql.lit(limit)}
    )
    select v from vs where v is not null
  `.execute(db);
  return rows.map((r) => r.v!);
}
type RawText = ReturnType<typeof sql>;

/**
 * The (prompt name, version) pairs of a workspace, at most `limit`: for each prompt name in turn,
 * a loose scan of its versions over requests_ws_prompt_start (workspace_id, prompt_name,
 * prompt_version, ...). A seek past a (name, version) pair as a row value would read every request
 * of the name on SQLite, which uses only the name's part of the comparison.
 */
async function promptVersions(db: Kysely<Database>, workspaceId: number, names: readonly string[], limit: number): Promise<{ promptName: string; version: number }[]> {
  const out: { promptName: string; version: number }[] = [];
  for (const promptName of names) {
    if (out.length >= limit) break;
    const versions = await distinctValues<number | string>(db, 'requests', 'prompt_version', workspaceId, limit - out.length, sql`and prompt_name = ${promptName}`);
    for (const v of versions) out.push({ promptName, version: Number(v) });
  }
  return out;
}

/** Prompt names, versions, models, tags, metadata keys and score names in use in a workspace, each list at most `limit` long (+1, to tell a cut). */
export async function selectFacets(db: Kysely<Database>, workspaceId: number, limit: number): Promise<FacetRows> {
  const n = limit + 1;
  const promptNames = await distinctValues(db, 'requests', 'prompt_name', workspaceId, n);
  const [versions, models, tags, metadataKeys, scoreNames] = await Promise.all([
    promptVersions(db, workspaceId, promptNames, n),
    distinctValues(db, 'requests', 'model', workspaceId, n),
    distinctValues(db, 'request_tags', 'tag', workspaceId, n),
    distinctValues(db, 'request_metadata', 'key', workspaceId, n),
    // Through scores_ws_name_value: the names with a current score.
    distinctValues(db, 'scores', 'name', workspaceId, n),
  ]);
  return { promptNames, promptVersions: versions, models, tags, metadataKeys, scoreNames };
}
