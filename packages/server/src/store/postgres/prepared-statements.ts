import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';

/**
 * Statement texts sent as named prepared statements: each connection parses and plans one once,
 * then only binds and runs it. A batch's set-based statements (score-run.ts, request-run.ts) took
 * longer to plan than to run when sent unnamed. The batch writer's transactions run with
 * `plan_cache_mode = force_generic_plan` (postgres-store.ts): left to choose, PostgreSQL keeps
 * planning a statement over `unnest` arrays afresh, since a plan for the arrays' actual length
 * always looks cheaper than the generic plan's guess of 100 rows. The statements are written so
 * that a generic plan is right at any table size: each lookup goes through a primary key.
 */
const NAMES = new Map<string, string>();

/** Registers `text` as the prepared statement `name` (unique across Tally) and gives the text back. */
export function preparedStatement(name: string, text: string): string {
  const named = `tally_${name}`;
  for (const [t, n] of NAMES) if (n === named && t !== text) throw new Error(`prepared statement ${name}: registered twice with different texts`);
  NAMES.set(text, named);
  return text;
}

/**
 * The pool Kysely gets: its clients send the registered texts as named statements (node-postgres
 * prepares each once per connection) and everything else as before.
 */
export function preparingPool(pool: pg.Pool): PostgresPool {
  return {
    connect: async () => {
      const client = await pool.connect();
      const named: PostgresPoolClient = {
        query: ((textOrCursor: unknown, values?: readonly unknown[]) => {
          const name = typeof textOrCursor === 'string' ? NAMES.get(textOrCursor) : undefined;
          if (name !== undefined) return client.query({ name, text: textOrCursor as string, values: values as unknown[] });
          return (client.query as (a: unknown, b?: unknown) => unknown)(textOrCursor, values);
        }) as PostgresPoolClient['query'],
        release: (destroy?: boolean) => client.release(destroy),
      };
      return named;
    },
    end: () => pool.end(),
  };
}
