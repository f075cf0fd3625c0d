import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Served {
  name: string;
  url: string;
  child: ChildProcess;
  /** The key printed at first start (Tally only). */
  key: string | null;
  stop(): Promise<void>;
}

/** Starts a server process and waits for its "listening on" line. */
export function startProcess(name: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start:\n${out}\n${err}`));
      // A PostgreSQL store's migrations took over 30 s on a machine loaded by other work.
    }, 120_000);
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/i.exec(out);
      if (m) {
        clearTimeout(timer);
        const key = /^(tl_[0-9A-Za-z]+)$/m.exec(out);
        resolve({
          name,
          url: m[1]!,
          child,
          key: key ? key[1]! : null,
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done();
              child.once('close', () => done());
              child.kill('SIGTERM');
            }),
        });
      }
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}:\n${out}\n${err}`));
    });
  });
}

/** Resident set size of a process now, in bytes (Linux /proc). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/**
 * CPU seconds (user + system) from the text of a /proc stat file; with `children`, plus those of
 * its children that have exited and been waited for.
 */
function statCpuSeconds(text: string, children = false): number {
  // Fields after the parenthesised command name: utime and stime are the 12th and 13th, cutime and
  // cstime (children's) the 14th and 15th, in clock ticks (100 a second on Linux).
  const fields = text.slice(text.lastIndexOf(') ') + 2).split(' ');
  const own = Number(fields[11]) + Number(fields[12]);
  return (children ? own + Number(fields[13]) + Number(fields[14]) : own) / 100;
}

/** CPU seconds a process has used so far (user + system, all its threads), from /proc/PID/stat. */
export const cpuSeconds = (pid: number): number => statCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8'));

/** CPU seconds of a process's main thread alone (its task whose id is the process id). */
export const mainThreadCpuSeconds = (pid: number): number => statCpuSeconds(readFileSync(`/proc/${pid}/task/${pid}/stat`, 'utf8'));

/**
 * CPU seconds used so far by the processes named `postgres` on this machine: the backends serving
 * connections and the server's own workers (WAL writer, checkpointer), alive or exited. A backend
 * that exits (a closed connection) is waited for by the server's main process, whose stat file
 * then counts its time among its children's.
 */
export function postgresCpuSeconds(): number {
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (text.includes(' (postgres) ')) total += statCpuSeconds(text, true);
    } catch {
      // the process has gone
    }
  }
  return total;
}

/**
 * CPU seconds used so far by each of these PostgreSQL backends (the connections to one database,
 * from pg_stat_activity), by process id; those that have exited are left out. On a machine shared
 * with other users of the same PostgreSQL, these are the processes doing one target's work (the
 * WAL writer and checkpointer, shared by all, are not counted).
 */
export function backendCpuSeconds(pids: readonly number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    try {
      out.set(pid, cpuSeconds(pid));
    } catch {
      // the backend has gone
    }
  }
  return out;
}

/** CPU seconds used so far by this process (the benchmark's client), a server (and its main thread) and PostgreSQL. */
export interface CpuReading {
  client: number;
  server: number;
  main: number;
  pg: number;
}

/** Reads every CPU counter a benchmark round is measured by; PostgreSQL's only when the server uses it. */
export function cpuNow(serverPid: number, postgres: boolean): CpuReading {
  const own = process.cpuUsage();
  return {
    client: (own.user + own.system) / 1e6,
    server: cpuSeconds(serverPid),
    main: mainThreadCpuSeconds(serverPid),
    pg: postgres ? postgresCpuSeconds() : 0,
  };
}

/** The CPU seconds each used between two readings. */
export const cpuUsed = (before: CpuReading, after: CpuReading): CpuReading => ({
  client: after.client - before.client,
  server: after.server - before.server,
  main: after.main - before.main,
  pg: after.pg - before.pg,
});

/** Samples a process's RSS every 100 ms until stopped; returns the peak: the kernel's high-water mark (VmHWM) or the largest sample. */
export function watchRss(pid: number): { stop(): number } {
  let peak = 0;
  const sample = () => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      for (const field of ['VmRSS', 'VmHWM']) {
        const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
        if (m) peak = Math.max(peak, Number(m[1]) * 1024);
      }
    } catch {
      // the process has gone
    }
  };
  sample();
  const timer = setInterval(sample, 100);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

/** Writes a benchmark's figures as JSON to bench/results/NAME-TIMESTAMP.json and says where. */
export function writeResults(name: string, figures: unknown): string {
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  const file = join(ROOT, 'bench/results', `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(figures, null, 2));
  return file;
}
