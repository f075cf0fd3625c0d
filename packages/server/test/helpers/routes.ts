import type { FastifyInstance } from 'fastify';
import { sql, type Kysely } from 'kysely';

export interface RouteEntry {
  method: string;
  url: string;
}

/**
 * Every route the app serves, read from `printRoutes()` (so routes added later are covered
 * without editing the tests). HEAD duplicates GET and is left out.
 */
export function listRoutes(app: FastifyInstance): RouteEntry[] {
  const out: RouteEntry[] = [];
  const stack: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^(.*?)(?:└──|├──) (.*) \(([A-Z, ]+)\)$/.exec(line);
    if (!m) continue;
    const level = Math.round(m[1]!.length / 4);
    const path = (level === 0 ? '' : stack[level - 1]!) + m[2]!;
    stack[level] = path;
    stack.length = level + 1;
    for (const method of m[3]!.split(',').map((s) => s.trim())) if (method !== 'HEAD') out.push({ method, url: path });
  }
  return out;
}

// The tables of a store do not change while a test counts its rows; information_schema is slow to ask.
const tablesOf = new WeakMap<Kysely<any>, string[]>();

/** Row counts of every table the migrations created, in one round trip: proof a refusal wrote nothing. */
export async function countRows(db: Kysely<any>, backend: 'sqlite' | 'postgres'): Promise<Record<string, number>> {
  let names = tablesOf.get(db);
  if (names === undefined) {
    const tables =
      backend === 'sqlite'
        ? await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%' and name not like 'kysely_%'`.execute(db)
        : await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = 'public' and table_name not like 'kysely_%'`.execute(db);
    names = tables.rows.map((r) => r.name).sort();
    tablesOf.set(db, names);
  }
  const select = names.map((n) => `(select count(*) from "${n}") as "${n}"`).join(', ');
  const row = (await sql.raw<Record<string, number | string>>(`select ${select}`).execute(db)).rows[0] ?? {};
  return Object.fromEntries(Object.entries(row).map(([k, v]) => [k, Number(v)]));
}
