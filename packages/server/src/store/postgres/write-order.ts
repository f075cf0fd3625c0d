/**
 * The advisory lock every write transaction of every Tally instance (and of the CLI) takes first:
 * it lines the transactions up so that they commit in the order they began, and keeps the old
 * values a score write reads current (postgres-store.ts). Any fixed number shared by every
 * instance.
 */
export const WRITE_ORDER_LOCK_KEY = 7_316_052;
