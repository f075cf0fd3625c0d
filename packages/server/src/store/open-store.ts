import { join } from 'node:path';
import { openPostgresStore } from './postgres/postgres-store.js';
import { openSqliteReader, openSqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';
import type { ReadSource } from './types.js';
import { DEFAULT_WORKSPACE_READ_LIMITS } from './workspace-reads.js';

export interface StoreLocation {
  /** A `postgres://` URL; when absent the SQLite file `<dataDir>/tally.db` is used. */
  databaseUrl?: string | undefined;
  dataDir: string;
  sqliteSynchronous?: 'FULL' | 'NORMAL';
  /** How long one read statement may run before it is stopped (503); default 15000 ms. */
  readTimeoutMs?: number;
  /** SQLite: threads that run reads off the event loop; default 2. */
  readerThreads?: number;
  /** Read statements of one workspace running at once (0: no limit) and waiting; default 1 and 32. */
  readsPerWorkspace?: number;
  readsWaitingPerWorkspace?: number;
  /** Read time (ms) one workspace may spend within `readBudgetWindowMs` (0: no budget); default 10000 in 60000. */
  readBudgetMs?: number;
  readBudgetWindowMs?: number;
  /** PostgreSQL: parallel workers one read statement may use; default 0. */
  readParallelWorkers?: number;
}

/** Opens and migrates the store the configuration names. */
export async function openStore(loc: StoreLocation): Promise<Store> {
  const workspaceReads = {
    perWorkspace: loc.readsPerWorkspace ?? DEFAULT_WORKSPACE_READ_LIMITS.perWorkspace,
    waitingPerWorkspace: loc.readsWaitingPerWorkspace ?? DEFAULT_WORKSPACE_READ_LIMITS.waitingPerWorkspace,
    budgetMs: loc.readBudgetMs ?? DEFAULT_WORKSPACE_READ_LIMITS.budgetMs,
    budgetWindowMs: loc.readBudgetWindowMs ?? DEFAULT_WORKSPACE_READ_LIMITS.budgetWindowMs,
  };
  const store = loc.databaseUrl
    ? openPostgresStore({ connectionString: loc.databaseUrl, readTimeoutMs: loc.readTimeoutMs, readParallelWorkers: loc.readParallelWorkers, workspaceReads })
    : openSqliteStore({ file: join(loc.dataDir, 'tally.db'), synchronous: loc.sqliteSynchronous ?? 'FULL', readTimeoutMs: loc.readTimeoutMs, readerThreads: loc.readerThreads, workspaceReads });
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

/**
 * Opens, for reading only, a store another thread has open and migrated (`store.readSource`):
 * SQLite, a read-only connection to its file; PostgreSQL, a pool of four connections, so that
 * a page's detail queries run at once. Every read statement has the source's read deadline.
 */
export function openReader(source: ReadSource): Store {
  return source.backend === 'sqlite'
    ? openSqliteReader(source.file, source.readTimeoutMs)
    : openPostgresStore({ connectionString: source.connectionString, maxConnections: 4, readTimeoutMs: source.readTimeoutMs, readParallelWorkers: source.readParallelWorkers, readOnly: true });
}
