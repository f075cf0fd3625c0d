import { setPriority } from 'node:os';

/**
 * Lowers the scheduling priority of the calling thread (Linux keeps a nice value per thread, and
 * setpriority with pid 0 sets the caller's), for threads that do reads of any length: when the
 * cores are busy, the event loop and the writer thread, which every acknowledgement waits for, run
 * first. Elsewhere the call may apply to the whole process or be refused, so it is made on Linux
 * only, and a refusal is ignored.
 */
export function lowerThreadPriority(nice = 10): void {
  if (process.platform !== 'linux') return;
  try {
    setPriority(0, nice);
  } catch {
    // Not permitted here: the thread keeps the process's priority.
  }
}
