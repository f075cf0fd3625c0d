import { TallyError } from '../domain/errors.js';

/** How many exports may stream at once. */
export interface ExportLimits {
  /** Exports at once per API key (or dashboard user); 0 for no limit. */
  perKey: number;
  /** Exports at once in all; 0 for no limit. */
  inAll: number;
}

/** Defaults: a full export holds a thread, a database reader and tens of MB while it streams. */
export const DEFAULT_EXPORT_LIMITS: ExportLimits = { perKey: 2, inAll: 4 };

// An export takes seconds to minutes; a client told to come back sooner would only be refused again.
const RETRY_AFTER_S = 5;

/**
 * Counts the exports streaming now, per key and in all. Twenty full exports started at once by one
 * key took the server from 213 MB to 1.9 GB and made another workspace's one-row search time out:
 * past either limit an export is refused (429 with Retry-After) before it reads anything.
 */
export class ExportSlots {
  private inAll = 0;
  private readonly byOwner = new Map<string, number>();

  constructor(private readonly limits: ExportLimits) {}

  /** Takes a slot for `owner` (`key:<id>`, `user:<id>`), or throws 429; call the result (once or more) when the export ends. */
  take(owner: string): () => void {
    const mine = this.byOwner.get(owner) ?? 0;
    if (this.limits.perKey > 0 && mine >= this.limits.perKey) {
      throw new TallyError('rate_limited', `export: at most ${this.limits.perKey} exports at once per API key, and ${mine} are running; retry when one ends`, { retryAfter: RETRY_AFTER_S });
    }
    if (this.limits.inAll > 0 && this.inAll >= this.limits.inAll) {
      throw new TallyError('rate_limited', `export: the server runs at most ${this.limits.inAll} exports at once; retry in ${RETRY_AFTER_S} s`, { retryAfter: RETRY_AFTER_S });
    }
    this.byOwner.set(owner, mine + 1);
    this.inAll++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inAll--;
      const left = (this.byOwner.get(owner) ?? 1) - 1;
      if (left > 0) this.byOwner.set(owner, left);
      else this.byOwner.delete(owner);
    };
  }
}
