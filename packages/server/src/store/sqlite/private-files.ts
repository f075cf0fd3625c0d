import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * The store holds every logged prompt, so its files are readable by their owner only (0600),
 * whatever the process's umask: SQLite creates a file with 0644 less the umask, and gives the WAL
 * and shared-memory files the database file's mode. So each file is made here, empty, with 0600
 * before SQLite opens it, and the folder Tally makes for them is 0700. An existing file keeps the
 * mode its owner gave it.
 */
export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;

/** Creates `file` (and its folder) readable by the owner only when it does not exist yet. */
export function createPrivateFile(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: PRIVATE_DIR_MODE });
  if (existsSync(file)) return;
  // 'a': creates without truncating, should another process make it first.
  closeSync(openSync(file, 'a', PRIVATE_FILE_MODE));
  // openSync's mode is reduced by the umask; a umask of 0 would leave it as asked, 077 too.
  chmodSync(file, PRIVATE_FILE_MODE);
}

/** Narrows SQLite's side files of `dbFile` (WAL, shared memory) to the owner, when they exist. */
export function privateSideFiles(dbFile: string): void {
  for (const side of [`${dbFile}-wal`, `${dbFile}-shm`]) {
    try {
      chmodSync(side, PRIVATE_FILE_MODE);
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENOENT') throw err;
    }
  }
}
