import type { Kysely, Migration, MigrationProvider } from 'kysely';
import type { MigrationDialect } from './dialect.js';
import * as initial from './001-initial.js';
import * as searchIndexes from './002-search-indexes.js';
import * as scoreIndexes from './003-score-indexes.js';
import * as accounts from './004-accounts.js';
import * as scoreHours from './005-score-hours.js';
import * as scoreHoursReplanned from './006-score-hours-replanned.js';
import * as scoreTotals from './007-score-totals.js';
import * as textIndex from './008-text-index.js';
import * as scoreSchemas from './009-score-schemas.js';
import * as webhooks from './011-webhooks.js';
import * as tracesPrices from './010-traces-prices.js';
import * as reviewQueues from './012-review-queues.js';
import * as feedback from './013-feedback.js';
import * as scoreReasonsIndex from './014-score-reasons-index.js';
import * as scoreTotalsByWriter from './015-score-totals-by-writer.js';

type VersionedMigration = { up(db: Kysely<unknown>, d: MigrationDialect): Promise<void> };

// Append only: a migration that has shipped is never edited, a change is a new entry.
const MIGRATIONS: Record<string, VersionedMigration> = {
  '001-initial': initial,
  '002-search-indexes': searchIndexes,
  '003-score-indexes': scoreIndexes,
  '004-accounts': accounts,
  '005-score-hours': scoreHours,
  '006-score-hours-replanned': scoreHoursReplanned,
  '007-score-totals': scoreTotals,
  '008-text-index': textIndex,
  '009-score-schemas': scoreSchemas,
  '011-webhooks': webhooks,
  '010-traces-prices': tracesPrices,
  '012-review-queues': reviewQueues,
  '013-feedback': feedback,
  '014-score-reasons-index': scoreReasonsIndex,
  '015-score-totals-by-writer': scoreTotalsByWriter,
};

export class TallyMigrations implements MigrationProvider {
  constructor(private readonly dialect: MigrationDialect) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const out: Record<string, Migration> = {};
    for (const [name, m] of Object.entries(MIGRATIONS)) {
      out[name] = { up: (db) => m.up(db, this.dialect) };
    }
    return out;
  }
}
