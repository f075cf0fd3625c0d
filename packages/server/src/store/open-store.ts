import { join } from 'node:path';
import { openPostgresStore } from './postgres/postgres-store.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

export interface StoreLocation {
  /** A `postgres://` URL; when absent the SQLite file `<dataDir>/tally.db` is used. */
  databaseUrl?: string | undefined;
  dataDir: string;
  sqliteSynchronous?: 'FULL' | 'NORMAL';
}

/** Opens and migrates the store the configuration names. */
export async function openStore(loc: StoreLocation): Promise<Store> {
  const store = loc.databaseUrl
    ? openPostgresStore({ connectionString: loc.databaseUrl })
    : openSqliteStore({ file: join(loc.dataDir, 'tally.db'), synchronous: loc.sqliteSynchronous ?? 'FULL' });
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}
