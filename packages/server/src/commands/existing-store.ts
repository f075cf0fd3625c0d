import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pg from 'pg';
import type { Config } from '../config.js';
import { TallyError } from '../domain/errors.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';

/** The URL without its password, to name a database in a message. */
export function shownDatabaseUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return 'the --database-url given';
  }
}

/**
 * Where the store the settings select lives, when it does not exist yet: the SQLite file, or the
 * PostgreSQL database without Tally's tables. Null when it exists.
 */
async function missingStore(config: Config): Promise<string | null> {
  if (config.databaseUrl === undefined) {
    const file = resolve(join(config.dataDir, 'tally.db'));
    return existsSync(file) ? null : `no Tally store at ${file}`;
  }
  const client = new pg.Client({ connectionString: config.databaseUrl, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw new TallyError('unavailable', `cannot reach the PostgreSQL database ${shownDatabaseUrl(config.databaseUrl)}: ${(err as Error).message}`);
  }
  try {
    const { rows } = await client.query<{ present: boolean }>(`select to_regclass('workspaces') is not null as present`);
    return rows[0]?.present ? null : `no Tally store in the PostgreSQL database ${shownDatabaseUrl(config.databaseUrl)}`;
  } finally {
    await client.end();
  }
}

/**
 * Opens the store for a command other than `serve`, which alone creates one: a command run from the
 * wrong folder, or with a mistyped `--data`, is told where it looked instead of getting a new,
 * empty store there.
 */
export async function openExistingStore(config: Config): Promise<Store> {
  const missing = await missingStore(config);
  if (missing !== null) {
    const where = config.databaseUrl === undefined ? '--data (env TALLY_DATA_DIR) at the folder' : '--database-url (env TALLY_DATABASE_URL) at the database';
    throw new TallyError('not_found', `${missing}: point ${where} that tally serve uses (tally serve creates the store at its first start)`);
  }
  return openStore(config);
}
