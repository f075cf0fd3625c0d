import { sql, type RawBuilder } from 'kysely';
import pg from 'pg';

const MARK = '/* tally:';

/**
 * Marks a statement to be kept prepared on every connection under `name`: put it first in the
 * statement's SQL. The write batches run the same few statements hundreds of times a second, and
 * PostgreSQL spent longer planning each than running it (0.4-0.6 ms to plan the batch's score
 * statements against 0.2-0.3 ms to run them, EXPLAIN ANALYZE). Prepared, a statement is parsed
 * once per connection and, after five runs, runs a generic plan. Only for statements whose plan
 * cannot go wrong as tables grow: inserts from `unnest` arrays, with no join or scan to choose. A
 * generic plan is kept until something invalidates it, so a join planned while a table was small
 * could keep scanning it when it is large (the PL/pgSQL trigger of migration 006 did just that).
 * Each name must stand for one text only.
 */
export function namedStatement(name: string): RawBuilder<unknown> {
  if (!/^[a-z_]+$/.test(name)) throw new Error(`statement name ${name}: lowercase letters and _ only`);
  return sql.raw(`${MARK}${name} */`);
}

/**
 * node-postgres' client, sending statements marked by `namedStatement` as named prepared
 * statements (Kysely always passes SQL text and parameters; everything else goes as it comes).
 */
export class NamedStatementClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    const query = this.query.bind(this) as (...args: unknown[]) => unknown;
    this.query = ((text: unknown, values?: unknown, callback?: unknown) => {
      if (typeof text === 'string' && text.startsWith(MARK) && Array.isArray(values)) {
        return query({ name: text.slice(MARK.length, text.indexOf(' */')), text, values }, callback);
      }
      return query(text, values, callback);
    }) as pg.Client['query'];
  }
}
