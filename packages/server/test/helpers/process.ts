import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SERVER_DIR = fileURLToPath(new URL('../..', import.meta.url));
/**
 * The CLI as installed: the compiled `bin/tally.js`, which starts in half the time of compiling
 * the sources with tsx on every spawn (the CLI suites ran 2.2x faster). `pretest` builds it, so
 * it always matches the sources under test.
 */
export const CLI = ['bin/tally.js'];

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `tally ...` as a real process and collects its output. */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...CLI, ...args], { cwd: SERVER_DIR, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

export interface ServerProcess {
  url: string;
  /** The key printed at first start, when this start created workspace `default`. */
  firstKey: string | null;
  child: ChildProcess;
  stdout(): string;
  /** Resolves with the exit code (or null) once the process has ended. */
  exited: Promise<number | null>;
}

/** Starts `tally serve` on a free port and waits until it listens. */
export function startServer(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 30_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, [...CLI, 'serve', '--port', '0', '--log-level', 'warn', ...args], {
    cwd: SERVER_DIR,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start in ${timeoutMs} ms:\n${out}\n${err}`));
    }, timeoutMs);
    child.stderr!.on('data', (d) => (err += d));
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /Tally listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        const key = /^(tl_[0-9A-Za-z]+)$/m.exec(out);
        resolve({ url: m[1]!, firstKey: key ? key[1]! : null, child, stdout: () => out, exited });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}\n${err}`));
    });
  });
}
