import { AsyncLocalStorage } from 'node:async_hooks';
import { TallyError } from '../domain/errors.js';

/** A read of one workspace, and when it began (its deadline counts from then). */
export interface ReadScope {
  workspace: number;
  startedAt: number;
  /** Aborted once nobody waits for the read's answer (its client went away): the read stops. */
  signal?: AbortSignal | undefined;
}

/**
 * The read running now, seen by whatever runs its queries without passing it through every
 * query: SQLite's reader threads share themselves out by workspace and give all the statements of
 * one read one deadline (sqlite/reader-pool.ts).
 */
const scope = new AsyncLocalStorage<ReadScope>();

/** Whoever waits for the reads started now (an HTTP request), as a signal aborted when they stop. */
const wanted = new AsyncLocalStorage<AbortSignal>();

/**
 * Runs `fn` so that every read it starts stops once `signal` aborts: a read still waiting for its
 * turn gives it up, a running statement is interrupted where the backend allows (a page the
 * browser left keeps no read of its workspace busy for the next page).
 */
export function whileWanted<T>(signal: AbortSignal, fn: () => T): T {
  return wanted.run(signal, fn);
}

/** The error a read ends with when its client has gone: nobody reads it, the log sees why. */
export class ReadCancelledError extends TallyError {
  constructor() {
    super('unavailable', 'the read was stopped: the client closed the request before its answer');
    this.name = 'ReadCancelledError';
  }
}

/** Runs `fn` as one read of workspace `workspaceId`. */
export function readFor<T>(workspaceId: number, fn: () => Promise<T>): Promise<T> {
  const signal = wanted.getStore();
  if (signal?.aborted) return Promise.reject(new ReadCancelledError());
  return scope.run({ workspace: workspaceId, startedAt: Date.now(), signal }, fn);
}

/** The read running now, if one was named. */
export const currentRead = (): ReadScope | undefined => scope.getStore();

/**
 * Calls `stop` once `signal` aborts (at once if it has); returns the function that stops
 * listening, to call when what `stop` would stop has ended by itself.
 */
export function onAbort(signal: AbortSignal | undefined, stop: () => void): () => void {
  if (!signal) return () => {};
  if (signal.aborted) {
    stop();
    return () => {};
  }
  signal.addEventListener('abort', stop, { once: true });
  return () => signal.removeEventListener('abort', stop);
}

/** How long one read may run on either backend unless configured otherwise. */
export const DEFAULT_READ_TIMEOUT_MS = 15_000;
