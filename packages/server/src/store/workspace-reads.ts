import type { CompiledQuery, DatabaseConnection, Dialect, Driver, QueryResult, TransactionSettings } from 'kysely';
import { TallyError } from '../domain/errors.js';
import { DatabaseUnavailableError } from './database-errors.js';
import { currentRead, onAbort, ReadCancelledError, type ReadScope } from './read-scope.js';

/** How many reads one workspace may have at once, and how much read time it may spend. */
export interface WorkspaceReadLimits {
  /** Reads of one workspace running at once; 0 for no limit. */
  perWorkspace: number;
  /** Reads of one workspace waiting for one of its places; one more is answered 429. */
  waitingPerWorkspace: number;
  /**
   * Read time (ms) one workspace may spend within `budgetWindowMs`; once it has, its next reads
   * are answered 429 until enough of that time is older than the window. 0 for no budget.
   */
  budgetMs: number;
  /** The sliding window the read-time budget is counted over (ms). */
  budgetWindowMs: number;
}

/**
 * Defaults: on two cores, one workspace's heaviest filters running side by side took both, and
 * another workspace's writes waited for the CPU (`npm run bench:tenants`). One at a time,
 * a workspace's slow reads queue behind each other instead; a dashboard's panels loading at once
 * still fit in the queue. One at a time is still one core for as long as a client sends slow
 * reads back to back; a read-time budget bounds that, but it is off unless set: on a store of a
 * million requests a team's dashboards spend seconds of reads a minute, and where the budget
 * belongs depends on the machine and on how far its workspaces trust each other.
 */
export const DEFAULT_WORKSPACE_READ_LIMITS: WorkspaceReadLimits = { perWorkspace: 1, waitingPerWorkspace: 32, budgetMs: 0, budgetWindowMs: 60_000 };

// A refused read is one of many a client sent at once; a second is about how long a short one takes.
const RETRY_AFTER_S = 1;

interface Waiter {
  grant(): void;
  refuse(err: Error): void;
  timer: NodeJS.Timeout;
  /** Stops listening for the read's client going away. */
  unlisten(): void;
}

/** Read time a workspace spent in one slot of the budget's window, from `at` (epoch ms). */
interface Spent {
  at: number;
  ms: number;
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
 * past `waitingPerWorkspace` waiting it is refused at once with 429 and Retry-After. The time each
 * read holds its place is charged to its workspace: one that has spent `budgetMs` within the last
 * `budgetWindowMs` is refused (429, Retry-After: when enough of that time has left the window)
 * before it takes another, so a client cannot keep a core busy with slow reads sent back to back.
 * Other workspaces' reads never wait here. A read whose client goes away while it waits leaves the
 * line (readFor's signal), so a page the browser left does not hold up the next. Exports take none:
 * they have caps of their own (routes/export-slots.ts), and one that streams for minutes must not
 * stop its workspace's searches for as long.
 */
export class WorkspaceReads {
  private readonly lines = new Map<number, Line>();
  private readonly holdings = new WeakMap<ReadScope, Holding>();
  private readonly spending = new Map<number, Spent[]>();
  /** Read time is kept per slot of the window, so a workspace's record stays small however many reads it makes. */
  private readonly slotMs: number;

  constructor(
    private readonly limits: WorkspaceReadLimits,
    /** How long one read may take, its wait here included. */
    readonly timeoutMs: number,
  ) {
    this.slotMs = Math.max(100, Math.ceil(limits.budgetWindowMs / 60));
  }

  /**
   * Waits for a place for a statement of `read` (one is shared by the read's statements running at
   * once) until the read's deadline; resolves to the statement's release (safe to call twice).
   */
  async enter(read: ReadScope): Promise<() => void> {
    if (this.limits.perWorkspace <= 0 && this.limits.budgetMs <= 0) return () => {};
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

  /** Read time (ms) `workspace` has spent within the budget's window, its running reads not yet counted. */
  spentBy(workspace: number, now = Date.now()): number {
    const slots = this.spending.get(workspace);
    if (!slots) return 0;
    const from = now - this.limits.budgetWindowMs;
    // Slots that ended before the window are forgotten.
    while (slots.length > 0 && slots[0]!.at + this.slotMs <= from) slots.shift();
    if (slots.length === 0) this.spending.delete(workspace);
    return slots.reduce((sum, x) => sum + x.ms, 0);
  }

  /**
   * Throws the 429 a read of `workspace` would get for its spent budget. Exports call it before
   * they start: they take no turn and are not charged (they have caps of their own, and a long one
   * must not stop its workspace's searches), but a workspace whose reads spent the budget starts
   * none until they have left the window.
   */
  refuseIfSpent(workspace: number): void {
    const refusal = this.overBudget(workspace);
    if (refusal) throw refusal;
  }

  private charge(workspace: number, ms: number): void {
    if (this.limits.budgetMs <= 0 || ms <= 0) return;
    const now = Date.now();
    const at = now - (now % this.slotMs);
    let slots = this.spending.get(workspace);
    if (!slots) {
      slots = [];
      this.spending.set(workspace, slots);
    }
    const last = slots[slots.length - 1];
    if (last?.at === at) last.ms += ms;
    else slots.push({ at, ms });
  }

  /** The refusal for a read of `workspace` that has spent its budget, or null while it has not. */
  private overBudget(workspace: number): TallyError | null {
    if (this.limits.budgetMs <= 0) return null;
    const now = Date.now();
    let spent = this.spentBy(workspace, now);
    if (spent < this.limits.budgetMs) return null;
    // Under budget again once the oldest slots, enough of them, have left the window.
    let freeAt = now;
    for (const slot of this.spending.get(workspace) ?? []) {
      spent -= slot.ms;
      freeAt = slot.at + this.slotMs + this.limits.budgetWindowMs;
      if (spent < this.limits.budgetMs) break;
    }
    const retryAfter = Math.max(1, Math.ceil((freeAt - now) / 1000));
    return new TallyError(
      'rate_limited',
      `reads: this workspace's reads took ${this.limits.budgetMs} ms or more of the last ${this.limits.budgetWindowMs} ms, its read-time budget; retry in ${retryAfter} s (a narrower filter reads for less)`,
      { retryAfter },
    );
  }

  /** A place of `workspace`, waited for until `deadline` (epoch ms) or `signal`; resolves to its release. */
  private place(workspace: number, deadline: number, signal: AbortSignal | undefined): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(new ReadCancelledError());
    const spent = this.overBudget(workspace);
    if (spent) return Promise.reject(spent);
    let line = this.lines.get(workspace);
    if (!line) {
      line = { running: 0, waiting: [] };
      this.lines.set(workspace, line);
    }
    const held = line;
    const take = (): (() => void) => {
      held.running++;
      const since = Date.now();
      let released = false;
      return () => {
        if (released) return;
        released = true;
        held.running--;
        this.charge(workspace, Date.now() - since);
        // The next waiting read goes, unless the one that ended spent the budget: then the waiting
        // ones are refused as a new one would be.
        for (let next = held.waiting.shift(); next; next = held.waiting.shift()) {
          const refusal = this.overBudget(workspace);
          if (!refusal) {
            next.grant();
            return;
          }
          next.refuse(refusal);
        }
        if (held.running === 0) this.lines.delete(workspace);
      };
    };
    const most = this.limits.perWorkspace > 0 ? this.limits.perWorkspace : Infinity;
    if (held.running < most) return Promise.resolve(take());
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
          resolve(take());
        },
        refuse: (err) => {
          clearTimeout(waiter.timer);
          waiter.unlisten();
          reject(err);
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
