import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The workspace a read is done for, seen by whatever runs its queries (SQLite's reader threads
 * share themselves out by it, sqlite/reader-pool.ts), without passing it through every query.
 */
const scope = new AsyncLocalStorage<number>();

/** Runs `fn` as a read of workspace `workspaceId`. */
export function readFor<T>(workspaceId: number, fn: () => Promise<T>): Promise<T> {
  return scope.run(workspaceId, fn);
}

/** The workspace of the read running now, if one was named. */
export const currentReadWorkspace = (): number | undefined => scope.getStore();

/** How long one read statement may run on either backend unless configured otherwise. */
export const DEFAULT_READ_TIMEOUT_MS = 15_000;
