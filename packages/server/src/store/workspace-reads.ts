import type { CompiledQuery, DatabaseConnection, Dialect, Driver, QueryResult, TransactionSettings } from 'kysely';
import { TallyError } from '../domain/errors.js';
import { DatabaseUnavailableError } from './database-errors.js';
import { currentRead, onAbort, ReadCancelledError, type ReadScope } from './read-scope.js';

/** How many reads one workspace may have at once. */
export interface WorkspaceReadLimits {
  /** Reads of one workspace running at once; 0 for no limit. */
  perWorkspace: number;
  /** Reads of one workspace waiting for one of its places; one more is answered 429. */
  waitingPerWorkspace: number;
}

/**
 * Defaults: on two cores, one workspace's heaviest filters running side by side took both, and
 * another workspace's writes waited for the CPU (`npm run bench:tenants`). One at a time,
 * a workspace's slow reads queue behind each other instead; a dashboard's panels loading at once
 * still fit in the queue.
 */
export const DEFAULT_WORKSPACE_READ_LIMITS: WorkspaceReadLimits = { perWorkspace: 1, waitingPerWorkspace: 32 };

// A refused read is one of many a client sent at once; a second is about how long a short one takes.
const RETRY_AFTER_S = 1;

interface Waiter {
  grant(): void;
  timer: NodeJS.Timeout;
  /** Stops listening for the read's client going away. */
  unlisten(): void;
}

interface Line {
  running: number;
  waiting: Waiter[];
}

/** A read's hold on a place: the statements it runs now share it (a page's detail queries go at once). */
interface Holding {
  statements: number;
  placed: Promise<() => void>;
}

/**
 * Places for the reads of each workspace, so that one workspace's slow reads wait for each other,
 * not for the CPU and connections every workspace shares. A read (what the store runs under
 * readFor) takes a place of its workspace while any of its statements runs. A read that finds its
 * workspace's places taken waits, within its own deadline (then 503, as a read that ran too long);
 * past `waitingPerWorkspace` waiting it is refused at once with 429 and Retry-After. Other
 * workspaces' reads never wait here. A read whose client goes away while it waits leaves the line
 * (readFor's signal), so a page the browser left does not hold up the next. Exports take none:
 * they have caps of their own (routes/export-slots.ts), and one that streams for minutes must not
 * stop its workspace's searches for as long.
 */
export class WorkspaceReads {
  private readonly lines = new Map<number, Line>();
  private readonly holdings = new WeakMap<ReadScope, Holding>();

  constructor(
    private readonly limits: WorkspaceReadLimits,
    /** How long one read may take, its wait here included. */
    readonly timeoutMs: number,
  ) {}

  /**
   * Waits for a place for a statement of `read` (one is shared by the read's statements running at
   * once) until the read's deadline; resolves to the statement's release (safe to call twice).
   */
  async enter(read: ReadScope): Promise<() => void> {
    if (this.limits.perWorkspace <= 0) return () => {};
    let holding = this.holdings.get(read);
    if (!holding) {
      const placed = this.place(read.workspace, read.startedAt + this.timeoutMs, read.signal);
      holding = { statements: 0, placed };
      this.holdings.set(read, holding);
      // A refused or timed-out wait leaves no holding behind (its statements all see the error).
      placed.catch(() => this.holdings.delete(read));
    }
    const held = holding;
    held.statements++;
    let leave: () => void;
    try {
      leave = await held.placed;
    } catch (err) {
      held.statements--;
      throw err;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--held.statements > 0) return;
      this.holdings.delete(read);
      leave();
    };
  }

  /** Reads of `workspace` holding a place and waiting for one now (tests). */
  of(workspace: number): { running: number; waiting: number } {
    const line = this.lines.get(workspace);
    return { running: line?.running ?? 0, waiting: line?.waiting.length ?? 0 };
  }

  /** A place of `workspace`, waited for until `deadline` (epoch ms) or `signal`; resolves to its release. */
  private place(workspace: number, deadline: number, signal: AbortSignal | undefined): Promise<() => void> {
    let line = this.lines.get(workspace);
    if (!line) {
      line = { running: 0, waiting: [] };
      this.lines.set(workspace, line);
    }
    const held = line;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      held.running--;
      const next = held.waiting.shift();
      if (next) next.grant();
      else if (held.running === 0) this.lines.delete(workspace);
    };
    if (signal?.aborted) return Promise.reject(new ReadCancelledError());
    if (held.running < this.limits.perWorkspace) {
      held.running++;
      return Promise.resolve(release);
    }
    if (held.waiting.length >= this.limits.waitingPerWorkspace) {
      return Promise.reject(
        new TallyError('rate_limited', `reads: this workspace runs at most ${this.limits.perWorkspace} reads at once and ${this.limits.waitingPerWorkspace} more wait; retry when fewer are running`, { retryAfter: RETRY_AFTER_S }),
      );
    }
    return new Promise((resolve, reject) => {
      const leaveLine = () => {
        const at = held.waiting.indexOf(waiter);
        if (at >= 0) held.waiting.splice(at, 1);
        if (held.running === 0 && held.waiting.length === 0) this.lines.delete(workspace);
      };
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(waiter.timer);
          waiter.unlisten();
          held.running++;
          resolve(release);
        },
        timer: setTimeout(() => {
          waiter.unlisten();
          leaveLine();
          reject(new DatabaseUnavailableError(`the read took longer than its limit of ${this.timeoutMs} ms, waiting for this workspace's other reads (a narrower filter may help)`, 'READ_DEADLINE'));
        }, Math.max(0, deadline - Date.now())),
        unlisten: () => {},
      };
      held.waiting.push(waiter);
      waiter.unlisten = onAbort(signal, () => {
        clearTimeout(waiter.timer);
        leaveLine();
        reject(new ReadCancelledError());
      });
    });
  }
}

class PlacedConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    readonly release: () => void,
  ) {}
  executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return this.inner.executeQuery<R>(query);
  }
  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

const unwrap = (c: DatabaseConnection) => (c instanceof PlacedConnection ? c.inner : c);

class PlacedDriver implements Driver {
  constructor(
    private readonly inner: Driver,
    private readonly reads: WorkspaceReads,
  ) {}
  init() {
    return this.inner.init();
  }
  async acquireConnection(): Promise<DatabaseConnection> {
    const read = currentRead();
    // A statement outside a read of a workspace (none steered by a client's filter) takes no place.
    if (!read) return this.inner.acquireConnection();
    const release = await this.reads.enter(read);
    try {
      return new PlacedConnection(await this.inner.acquireConnection(), release);
    } catch (err) {
      release();
      throw err;
    }
  }
  beginTransaction(c: DatabaseConnection, settings: TransactionSettings) {
    return this.inner.beginTransaction(unwrap(c), settings);
  }
  commitTransaction(c: DatabaseConnection) {
    return this.inner.commitTransaction(unwrap(c));
  }
  rollbackTransaction(c: DatabaseConnection) {
    return this.inner.rollbackTransaction(unwrap(c));
  }
  async releaseConnection(c: DatabaseConnection) {
    try {
      await this.inner.releaseConnection(unwrap(c));
    } finally {
      if (c instanceof PlacedConnection) c.release();
    }
  }
  destroy() {
    return this.inner.destroy();
  }
}

/** Wraps the dialect of a store's reads so each read statement first takes a place of its workspace (see WorkspaceReads). */
export function withWorkspacePlaces(dialect: Dialect, reads: WorkspaceReads): Dialect {
  return {
    createDriver: () => new PlacedDriver(dialect.createDriver(), reads),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
  };
}
