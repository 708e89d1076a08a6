/**
 * `sessctl serve` as its own process, as an operator runs it: started over
 * the built CLI, ready once it logs "listening", stopped with SIGTERM. Its
 * stderr (the JSON log) is kept for the no-secrets-in-logs checks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './env.js';

export interface ServeChild {
  process: ChildProcess;
  url: string;
  /** Everything it wrote to stderr so far. */
  log(): string;
  /** Everything it wrote to stdout so far (the --json result, once stopped). */
  stdout(): string;
  /** SIGTERM, then its exit code. */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
}

export async function startServe(args: string[], env: Record<string, string> = {}): Promise<ServeChild> {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/run.js'), 'serve', ...args], {
    env: { ...process.env, NO_COLOR: '1', OCLIF_SKIP_NEW_VERSION_CHECK: 'true', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in 20 s: ${stderr}`)), 20_000);
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString('utf8');
      const m = /"event":"listening","url":"([^"]+)"/.exec(stderr);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code}: ${stderr}`));
    });
  });
  return {
    process: child,
    url,
    log: () => stderr,
    stdout: () => stdout,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}
