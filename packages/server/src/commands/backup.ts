import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config.js';
import { TallyError } from '../domain/errors.js';
import { backupSqlite, BackupError, restoreSqlite, type StoreSummary } from '../store/sqlite/sqlite-backup.js';

interface Flags {
  data?: string;
  databaseUrl?: string;
  force?: boolean;
}

const POSTGRES_HINT =
  'PostgreSQL stores are backed up with its own tools: pg_dump --format=custom --file FILE URL, and restored with pg_restore --clean --if-exists --dbname URL FILE (see docs/operations.md, "Backup and restore")';

function sqliteFile(flags: Flags): string {
  const config = loadConfig({ dataDir: flags.data, databaseUrl: flags.databaseUrl });
  if (config.databaseUrl) throw new TallyError('invalid_field', POSTGRES_HINT);
  return join(config.dataDir, 'tally.db');
}

const describe = (s: StoreSummary) => `${s.workspaces} workspaces, ${s.requests} requests, ${s.scoreEvents} score events`;

async function run(fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
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
    .argument('<file>', 'new file to write the backup to (must not exist)')
    .description('copy the SQLite store to FILE while the server keeps serving (SQLite online backup)')
    .option('--data <dir>', 'data directory of the SQLite store (env TALLY_DATA_DIR)')
    .option('--database-url <url>', 'PostgreSQL: refused, use pg_dump (env TALLY_DATABASE_URL)')
    .action((file: string, flags: Flags) =>
      run(async () => {
        const db = sqliteFile(flags);
        const summary = await backupSqlite(db, resolve(file));
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
        const db = sqliteFile(flags);
        const summary = await restoreSqlite(resolve(file), db, { force: flags.force === true });
        console.log(`restored ${file} into ${db}: ${describe(summary)}`);
      }),
    );
}
