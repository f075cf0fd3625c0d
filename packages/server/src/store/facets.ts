import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { FacetRows } from './types.js';

/**
 * The distinct values of one indexed column in a workspace, at most `limit`, by a loose index scan:
 * each step seeks the next value past the previous one in an index led by (workspace_id, column),
 * so the cost grows with the values returned, not with the rows holding them. Both backends
 * answer the recursive form; neither skips through an index for a plain DISTINCT.
 */
async function distinctValues(db: Kysely<Database>, table: 'requests' | 'request_tags' | 'request_metadata', column: string, workspaceId: number, limit: number): Promise<string[]> {
  const t = sql.table(table);
  const c = sql.ref(column);
  const next = (after: RawText) => sql`(select ${c} from ${t} where workspace_id = ${workspaceId} and ${c} is not null ${after} order by ${c} limit 1)`;
  const { rows } = await sql<{ v: string | null }>`
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
 * The (prompt name, version) pairs of a workspace, at most `limit`, by the same loose scan over
 * requests_ws_prompt_start with a row-value comparison; requests without a version are skipped.
 */
async function promptVersions(db: Kysely<Database>, workspaceId: number, limit: number): Promise<{ promptName: string; version: number }[]> {
  const next = (after: RawText) =>
    sql`from requests where workspace_id = ${workspaceId} and prompt_name is not null and prompt_version is not null ${after} order by prompt_name, prompt_version limit 1`;
  const { rows } = await sql<{ pn: string | null; pv: number | string | null }>`
    with recursive vs(pn, pv, n) as (
      select (select prompt_name ${next(sql``)}), (select prompt_version ${next(sql``)}), 1
      union all
      select (select prompt_name ${next(sql`and (prompt_name, prompt_version) > (vs.pn, vs.pv)`)}),
        (select prompt_version ${next(sql`and (prompt_name, prompt_version) > (vs.pn, vs.pv)`)}), n + 1
      from vs where vs.pn is not null and n < ${sql.lit(limit)}
    )
    select pn, pv from vs where pn is not null
  `.execute(db);
  return rows.map((r) => ({ promptName: r.pn!, version: Number(r.pv) }));
}

/** Prompt names, versions, models, tags and metadata keys in use in a workspace, each list at most `limit` long (+1, to tell a cut). */
export async function selectFacets(db: Kysely<Database>, workspaceId: number, limit: number): Promise<FacetRows> {
  const n = limit + 1;
  const [promptNames, versions, models, tags, metadataKeys] = await Promise.all([
    distinctValues(db, 'requests', 'prompt_name', workspaceId, n),
    promptVersions(db, workspaceId, n),
    distinctValues(db, 'requests', 'model', workspaceId, n),
    distinctValues(db, 'request_tags', 'tag', workspaceId, n),
    distinctValues(db, 'request_metadata', 'key', workspaceId, n),
  ]);
  return { promptNames, promptVersions: versions, models, tags, metadataKeys };
}
