import SQLite from 'better-sqlite3';
import { classifyDatabaseError, isCorruption, type DatabaseUnavailableError } from '../database-errors.js';

// The file check opens a connection; readiness probes come every few seconds from each balancer.
const CHECK_INTERVAL_MS = 5000;

/**
 * Whether a SQLite store's file is still sound, for `/readyz`. A file damaged while the server runs
 * is not seen by `select 1`, and reads served from the connection's page cache do not see it
 * either, so two things mark the store not ready, for good (damage does not pass by itself; the
 * remedy is `tally restore`, with the server stopped):
 * - a query of the store meeting SQLITE_CORRUPT or SQLITE_NOTADB (`noteOutage`);
 * - a check, at most every CHECK_INTERVAL_MS, that opens the file afresh and reads its header and
 *   schema pages from disk. It reads a few pages, not every page (`PRAGMA quick_check` reads the
 *   whole file, seconds on a large store, on the event loop).
 */
export class SqliteReadiness {
  private damage: DatabaseUnavailableError | null = null;
  private checkedAt = 0;

  constructor(private readonly file: string) {}

  /** For kyselyOver: remembers corruption met by any query. */
  readonly noteOutage = (err: DatabaseUnavailableError): void => {
    if (isCorruption(err)) this.damage ??= err;
  };

  async ping(): Promise<void> {
    if (this.damage) throw this.damage;
    const now = Date.now();
    if (now - this.checkedAt < CHECK_INTERVAL_MS) return;
    this.checkedAt = now;
    let fresh: SQLite.Database | null = null;
    try {
      fresh = new SQLite(this.file, { readonly: true, fileMustExist: true });
      fresh.prepare('select count(*) from sqlite_master').get();
      fresh.prepare('select count(*) from workspaces').get();
    } catch (err) {
      const outage = classifyDatabaseError(err);
      if (outage) this.noteOutage(outage);
      // Checked again on the next probe, unless it was damage.
      this.checkedAt = 0;
      throw outage ?? err;
    } finally {
      fresh?.close();
    }
  }
}
