import { AsyncLocalStorage } from 'node:async_hooks';

/** A read of one workspace, and when it began (its deadline counts from then). */
export interface ReadScope {
  workspace: number;
  startedAt: number;
}

/**
 * The read running now, seen by whatever runs its queries without passing it through every
 * query: SQLite's reader threads share themselves out by workspace and give all the statements of
 * one read one deadline (sqlite/reader-pool.ts).
 */
const scope = new AsyncLocalStorage<ReadScope>();

/** Runs `fn` as one read of workspace `workspaceId`. */
export function readFor<T>(workspaceId: number, fn: () => Promise<T>): Promise<T> {
  return scope.run({ workspace: workspaceId, startedAt: Date.now() }, fn);
}

/** The read running now, if one was named. */
export const currentRead = (): ReadScope | undefined => scope.getStore();

/** How long one read may run on either backend unless configured otherwise. */
export const DEFAULT_READ_TIMEOUT_MS = 15_000;
