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

/**
 * Each route's query parameters as its OpenAPI description lists them, keyed by method and path as
 * `listRoutes` prints them. Routes left out of the description (pages, the dashboard's API) are
 * absent. A parameter a route does not list cannot change its answer; a route that read one it
 * does not list would be a defect of the description.
 */
export async function queryParams(app: FastifyInstance): Promise<Map<string, Set<string>>> {
  await app.ready();
  const spec = app.swagger() as { paths?: Record<string, Record<string, { parameters?: { in: string; name: string }[] }>> };
  const out = new Map<string, Set<string>>();
  for (const [path, methods] of Object.entries(spec.paths ?? {})) {
    for (const [method, op] of Object.entries(methods)) {
      const names = (op.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
      out.set(`${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`, new Set(names));
    }
  }
  return out;
}

/** The parameter names a query string sets. */
export const queryKeys = (query: string): string[] => [...new URLSearchParams(query.replace(/^\?/, '')).keys()];

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
