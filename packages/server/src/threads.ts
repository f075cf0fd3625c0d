import { Worker, type WorkerOptions } from 'node:worker_threads';

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
