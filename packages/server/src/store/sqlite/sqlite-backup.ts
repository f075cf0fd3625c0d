import { existsSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import SQLite from 'better-sqlite3';
import { createPrivateFile } from './private-files.js';

/**
 * Every process that opens a SQLite store holds a SHARED lock on this side file for as long as the
 * store is open (a read inside an open transaction, in rollback-journal mode). Any number of
 * processes can hold it together; `restore` needs an EXCLUSIVE lock on it, so it sees that the store
 * is in use. The OS drops the lock when its holder exits, even by SIGKILL.
 */
const inUseFile = (dbFile: string) => `${dbFile}-in-use`;

/** Marks the store as in use until the returned function is called. */
export function holdInUseLock(dbFile: string): () => void {
  createPrivateFile(inUseFile(dbFile));
  const lock = new SQLite(inUseFile(dbFile));
  lock.exec('BEGIN');
  lock.prepare('select count(*) from sqlite_master').get();
  return () => {
    if (lock.open) {
      if (lock.inTransaction) lock.exec('COMMIT');
      lock.close();
    }
  };
}

/** Takes the exclusive side lock when no process has the store open; null when one has. */
function tryExclusive(dbFile: string): (() => void) | null {
  createPrivateFile(inUseFile(dbFile));
  const lock = new SQLite(inUseFile(dbFile), { timeout: 0 });
  try {
    lock.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    lock.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') return null;
    throw err;
  }
  return () => {
    lock.exec('COMMIT');
    lock.close();
  };
}

export interface StoreSummary {
  workspaces: number;
  requests: number;
  scoreEvents: number;
}

function summarize(db: SQLite.Database): StoreSummary {
  const tables = new Set((db.prepare("select name from sqlite_master where type = 'table'").all() as { name: string }[]).map((r) => r.name));
  for (const t of ['workspaces', 'requests', 'score_events', 'kysely_migration']) {
    if (!tables.has(t)) throw new BackupError(`not a Tally store: table ${t} is missing`);
  }
  const count = (t: string) => (db.prepare(`select count(*) as n from ${t}`).get() as { n: number }).n;
  return { workspaces: count('workspaces'), requests: count('requests'), scoreEvents: count('score_events') };
}

function checkIntegrity(db: SQLite.Database, what: string): void {
  const rows = db.pragma('integrity_check') as { integrity_check: string }[];
  if (rows.length !== 1 || rows[0]?.integrity_check !== 'ok') {
    throw new BackupError(`${what} failed its integrity check: ${rows.map((r) => r.integrity_check).slice(0, 3).join('; ')}`);
  }
}

export class BackupError extends Error {}

// Pages copied per step. A step holds a read lock on the source; between steps the server may
// write, which makes SQLite restart the copy. Large steps finish a store of a few GB in a handful
// of steps, so a busy server cannot keep the backup from ending, and each step is short.
const PAGES_PER_STEP = 4096;

/**
 * Copies a live SQLite store to `target` with SQLite's online backup API (better-sqlite3
 * `db.backup()`): the copy is one consistent snapshot, committed writes included, while the
 * server goes on serving. Writes a temporary file beside the target, checks it, then renames it,
 * so `target` is never half-written. Refuses to overwrite an existing file.
 */
export async function backupSqlite(dbFile: string, target: string): Promise<StoreSummary> {
  if (!existsSync(dbFile)) throw new BackupError(`no store at ${dbFile}`);
  if (existsSync(target)) throw new BackupError(`${target} exists; choose a new file name`);
  const tmp = join(dirname(target), `.${basename(target)}.partial-${process.pid}`);
  const source = new SQLite(dbFile, { fileMustExist: true });
  try {
    // A backup holds what the store holds: owner-only, like the store.
    createPrivateFile(tmp);
    source.pragma('busy_timeout = 5000');
    await source.backup(tmp, { progress: () => PAGES_PER_STEP });
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  } finally {
    source.close();
  }
  let summary: StoreSummary;
  try {
    const copy = new SQLite(tmp, { fileMustExist: true });
    try {
      checkIntegrity(copy, 'the backup');
      summary = summarize(copy);
      // A single file, no WAL beside it: the backup is complete on its own.
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  renameSync(tmp, target);
  return summary;
}

export interface RestoreOptions {
  /** Replace a store that holds data. Never overrides the in-use check. */
  force?: boolean;
}

/**
 * Replaces the store at `dbFile` with the backup `source`. Refuses when any process (a server, a
 * CLI command) has the store open, and, unless `force`, when the store already holds workspaces
 * or requests. The backup is checked first; the new file is put in place by a rename, with the
 * old store's WAL and shared-memory files removed, while the exclusive lock keeps servers out.
 */
export async function restoreSqlite(source: string, dbFile: string, opts: RestoreOptions = {}): Promise<StoreSummary> {
  if (!existsSync(source)) throw new BackupError(`no backup at ${source}`);
  const src = new SQLite(source, { readonly: true, fileMustExist: true });
  let summary: StoreSummary;
  try {
    checkIntegrity(src, 'the backup');
    summary = summarize(src);
  } finally {
    src.close();
  }
  const release = tryExclusive(dbFile);
  if (!release) throw new BackupError(`the store ${dbFile} is in use by a running server or command; stop it first`);
  try {
    if (existsSync(dbFile) && !opts.force) {
      const current = new SQLite(dbFile, { readonly: true, fileMustExist: true });
      try {
        const tables = current.prepare("select count(*) as n from sqlite_master where type = 'table' and name in ('workspaces', 'requests')").get() as { n: number };
        if (tables.n === 2) {
          const s = summarize(current);
          if (s.workspaces > 0 || s.requests > 0) {
            throw new BackupError(`the store ${dbFile} holds ${s.workspaces} workspaces and ${s.requests} requests; pass --force to replace it`);
          }
        }
      } finally {
        current.close();
      }
    }
    const tmp = `${dbFile}.restoring-${process.pid}`;
    const from = new SQLite(source, { readonly: true, fileMustExist: true });
    try {
      createPrivateFile(tmp);
      await from.backup(tmp);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    } finally {
      from.close();
    }
    rmSync(`${dbFile}-wal`, { force: true });
    rmSync(`${dbFile}-shm`, { force: true });
    renameSync(tmp, dbFile);
    return summary;
  } finally {
    release();
  }
}
