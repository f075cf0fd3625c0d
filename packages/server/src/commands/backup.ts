import { resolve } from 'node:path';
import type { Command } from 'commander';
import { TallyError } from '../domain/errors.js';
import type { StoreSummary } from '../store/sqlite/sqlite-backup.js';

interface Flags {
  data?: string;
  databaseUrl?: string;
  force?: boolean;
}

const POSTGRES_HINT =
  'PostgreSQL stores are backed up with its own tools: pg_dump --format=custom --file FILE URL, and restored with pg_restore --clean --if-exists --dbname URL FILE (see docs/operations.md, "Backup and restore")';

async function sqliteFile(flags: Flags): Promise<string> {
  const { loadConfig } = await import('../config.js');
  const config = loadConfig({ dataDir: flags.data, databaseUrl: flags.databaseUrl });
  if (config.databaseUrl) throw new TallyError('invalid_field', POSTGRES_HINT);
  return resolve(config.dataDir, 'tally.db');
}

const describe = (s: StoreSummary) => `${s.workspaces} workspaces, ${s.requests} requests, ${s.scoreEvents} score events`;

/** The backup module (better-sqlite3) is loaded when a command runs, not for `--help`. */
const backupModule = () => import('../store/sqlite/sqlite-backup.js');

async function run(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    const { BackupError } = await backupModule();
    // Refusals are the user's to fix: the same exit code and message style as other CLI errors.
    if (err instanceof BackupError) throw new TallyError('conflict', err.message);
    throw err;
  }
}

/**
 * `tally backup FILE` and `tally restore FILE [--force]` for the SQLite store.
 *
 * @example
 *   tally backup ./backups/tally-2024-11-27.db --data ./data   # safe while the server runs
 *   tally restore ./backups/tally-2024-11-27.db --data ./data  # with the server stopped
 */
export function registerBackupCommands(program: Command): void {
  program
    .command('backup')
    .argument('<file>', 'new file to write the backup to (must not exist; its folder is created)')
    .description('copy the SQLite store to FILE while the server keeps serving (SQLite online backup)')
    .option('--data <dir>', 'data directory of the SQLite store (env TALLY_DATA_DIR)')
    .option('--database-url <url>', 'PostgreSQL: refused, use pg_dump (env TALLY_DATABASE_URL)')
    .action((file: string, flags: Flags) =>
      run(async () => {
        const db = await sqliteFile(flags);
        // Its folder is created (owner-only) once the store is found.
        const summary = await (await backupModule()).backupSqlite(db, resolve(file));
        console.log(`backed up ${db} to ${file}: ${describe(summary)}`);
      }),
    );

  program
    .command('restore')
    .argument('<file>', 'a file written by tally backup')
    .description('replace the SQLite store with a backup; refuses while the store is open, or when it holds data unless --force')
    .option('--data <dir>', 'data directory of the SQLite store (env TALLY_DATA_DIR)')
    .option('--database-url <url>', 'PostgreSQL: refused, use pg_restore (env TALLY_DATABASE_URL)')
    .option('--force', 'replace a store that holds workspaces or requests', false)
    .action((file: string, flags: Flags) =>
      run(async () => {
        const db = await sqliteFile(flags);
        const summary = await (await backupModule()).restoreSqlite(resolve(file), db, { force: flags.force === true });
        console.log(`restored ${file} into ${db}: ${describe(summary)}`);
      }),
    );
}
