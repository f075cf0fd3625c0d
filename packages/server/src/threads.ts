/**
 * What every worker thread of Tally shares with the main thread: how a thread is started on a
 * module (under tsx too), and how an error crosses between them. SQLite's writer thread
 * (store/sqlite/writer-*.ts) and the export threads (export/export-*.ts) use both.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';
import { TallyError, type ItemProblem } from './domain/errors.js';
import { DatabaseUnavailableError } from './store/database-errors.js';

/**
 * Starts a worker thread on the module `name` beside `from` (an `import.meta.url`). Under tsx
 * (tests, benchmarks) the modules are TypeScript and a worker does not inherit tsx's loader, so
 * the worker registers it before importing the TypeScript entry.
 */
export function spawnModule(from: string, name: string, options?: WorkerOptions): Worker {
  const ts = from.endsWith('.ts');
  const entry = new URL(`./${name}${ts ? '.ts' : '.js'}`, from);
  if (!ts) return new Worker(entry, options);
  const tsx = import.meta.resolve('tsx/esm/api');
  return new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`, { ...options, eval: true });
}

/** An error as it crosses a thread: structured cloning keeps neither the class nor its fields. */
export type SentError =
  | { kind: 'unavailable'; problem: string; driverCode: string }
  | { kind: 'tally'; code: TallyError['code']; message: string; field?: string | undefined; retryAfter?: number | undefined; errors?: ItemProblem[] | undefined }
  | { kind: 'other'; message: string; stack?: string };

/** The error as a thread posts it (sendError's other side is receiveError). */
export function sendError(err: unknown): SentError {
  if (err instanceof DatabaseUnavailableError) return { kind: 'unavailable', problem: err.problem, driverCode: err.driverCode };
  if (err instanceof TallyError) return { kind: 'tally', code: err.code, message: err.message, field: err.field, retryAfter: err.retryAfter, errors: err.errors };
  const e = err instanceof Error ? err : new Error(String(err));
  return { kind: 'other', message: e.message, stack: e.stack };
}

/** The error a thread sent, made again with its class, so the HTTP answer is the one it would have been on this thread. */
export function receiveError(sent: SentError): Error {
  switch (sent.kind) {
    case 'unavailable':
      return new DatabaseUnavailableError(sent.problem, sent.driverCode);
    case 'tally':
      return new TallyError(sent.code, sent.message, { field: sent.field, retryAfter: sent.retryAfter, errors: sent.errors });
    case 'other': {
      const e = new Error(sent.message);
      if (sent.stack) e.stack = sent.stack;
      return e;
    }
  }
}
