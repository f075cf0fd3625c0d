import type { CompiledQuery, DatabaseConnection, Dialect, Driver, QueryResult, TransactionSettings } from 'kysely';
import { TallyError } from '../domain/errors.js';

/**
 * The database could not do its job for a reason that is not the request's fault and may pass:
 * PostgreSQL down or unreachable, a lost connection, a read-only or full disk under SQLite. The
 * client gets 503 with `Retry-After`; the server log gets `problem` and the driver's code.
 */
export class DatabaseUnavailableError extends TallyError {
  constructor(
    /** What went wrong, in words an operator acts on: `disk is full`, `connection refused`. */
    readonly problem: string,
    /** The driver's own code (`ECONNREFUSED`, `57P01`, `SQLITE_FULL`), for the log. */
    readonly driverCode: string,
  ) {
    super('unavailable', `database: ${problem}; retry shortly`, { retryAfter: 2 });
    this.name = 'DatabaseUnavailableError';
  }
}

// Socket-level failures node reports while reaching PostgreSQL.
const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ETIMEDOUT: 'connection timed out',
  EPIPE: 'connection closed',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
};

// SQLSTATEs that mean "the server is going away or cannot serve now", not "your query is wrong".
const PG_STATES: Record<string, string> = {
  '57P01': 'server shutting down',
  '57P02': 'server crashed',
  '57P03': 'server is starting up or shutting down',
  '57P04': 'database was dropped',
  '57P05': 'connection ended for idling',
  // The database named in the URL is gone (renamed or dropped): an operator can bring it back
  // without restarting Tally, as with a stopped server.
  '3D000': 'database does not exist',
  '57014': 'query timed out',
  '53100': 'disk is full',
  '53200': 'out of memory',
  '53300': 'too many connections',
  '25006': 'server is read-only',
};

// node-postgres raises these as plain Errors without a code.
const PG_MESSAGES: [RegExp, string][] = [
  [/Connection terminated/i, 'connection lost'],
  [/timeout exceeded when trying to connect/i, 'connection timed out'],
  [/Query read timeout/i, 'query timed out'],
  [/not queryable|connection has been discarded/i, 'connection lost'],
];

// SQLite extended codes start with their primary code (SQLITE_IOERR_WRITE, SQLITE_READONLY_DBMOVED).
const SQLITE_CODES: [string, string][] = [
  ['SQLITE_FULL', 'disk is full'],
  ['SQLITE_READONLY', 'database file is read-only'],
  ['SQLITE_IOERR', 'disk I/O error (is the file or its folder writable?)'],
  ['SQLITE_CANTOPEN', 'cannot open the database file'],
  ['SQLITE_BUSY', 'database is locked by another process'],
  ['SQLITE_NOMEM', 'out of memory'],
  // Damage to the file, not to the request: 503 too, and the store reports itself not ready.
  ['SQLITE_CORRUPT', 'database file is corrupt (restore it from a backup)'],
  ['SQLITE_NOTADB', 'database file is not a SQLite database (restore it from a backup)'],
];

/** Whether an outage is a damaged SQLite file, which does not pass by itself. */
export const isCorruption = (err: DatabaseUnavailableError) => err.driverCode.startsWith('SQLITE_CORRUPT') || err.driverCode.startsWith('SQLITE_NOTADB');

/** Maps a driver error to DatabaseUnavailableError when it is an outage; otherwise null. */
export function classifyDatabaseError(err: unknown): DatabaseUnavailableError | null {
  if (err instanceof DatabaseUnavailableError) return err;
  if (!(err instanceof Error) || err instanceof TallyError) return null;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    const net = NETWORK_CODES[code];
    if (net) return new DatabaseUnavailableError(net, code);
    if (code.startsWith('08')) return new DatabaseUnavailableError('connection failed', code);
    const state = PG_STATES[code];
    if (state) return new DatabaseUnavailableError(state, code);
    const sqlite = SQLITE_CODES.find(([prefix]) => code.startsWith(prefix));
    if (sqlite) return new DatabaseUnavailableError(sqlite[1], code);
  }
  const byMessage = PG_MESSAGES.find(([re]) => re.test(err.message));
  if (byMessage) return new DatabaseUnavailableError(byMessage[1], 'connection');
  return null;
}

/** Told of every outage a wrapped dialect's queries meet (the SQLite store marks itself not ready on corruption). */
export type OutageListener = (err: DatabaseUnavailableError) => void;

/** Runs `fn`, turning an outage error it throws into DatabaseUnavailableError. */
export async function mapped<T>(fn: () => Promise<T>, onOutage?: OutageListener): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const outage = classifyDatabaseError(err);
    if (outage) onOutage?.(outage);
    throw outage ?? err;
  }
}

class MappedConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    private readonly onOutage?: OutageListener,
  ) {}
  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return mapped(() => this.inner.executeQuery<R>(query), this.onOutage);
  }
  async *streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    try {
      yield* this.inner.streamQuery<R>(query, chunkSize);
    } catch (err) {
      const outage = classifyDatabaseError(err);
      if (outage) this.onOutage?.(outage);
      throw outage ?? err;
    }
  }
}

// Drivers keep private state on their own connection objects, so they always get those back.
const unwrap = (c: DatabaseConnection) => (c instanceof MappedConnection ? c.inner : c);

class MappedDriver implements Driver {
  constructor(
    private readonly inner: Driver,
    private readonly onOutage?: OutageListener,
  ) {}
  init() {
    return mapped(() => this.inner.init());
  }
  acquireConnection() {
    return mapped(async () => new MappedConnection(await this.inner.acquireConnection(), this.onOutage), this.onOutage);
  }
  beginTransaction(c: DatabaseConnection, settings: TransactionSettings) {
    return mapped(() => this.inner.beginTransaction(unwrap(c), settings));
  }
  commitTransaction(c: DatabaseConnection) {
    return mapped(() => this.inner.commitTransaction(unwrap(c)));
  }
  rollbackTransaction(c: DatabaseConnection) {
    return mapped(() => this.inner.rollbackTransaction(unwrap(c)));
  }
  releaseConnection(c: DatabaseConnection) {
    return this.inner.releaseConnection(unwrap(c));
  }
  destroy() {
    return this.inner.destroy();
  }
}

/**
 * Wraps a Kysely dialect so every query, connection and transaction error that means "the
 * database is unavailable" becomes DatabaseUnavailableError (503 + Retry-After) in this one place,
 * for both backends, whatever code path ran the query. Other errors pass through unchanged.
 */
export function withOutageErrors(dialect: Dialect, onOutage?: OutageListener): Dialect {
  return {
    createDriver: () => new MappedDriver(dialect.createDriver(), onOutage),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
  };
}
