/**
 * `rotate-keys --exec`: the reload command, run with /bin/sh in a process
 * group of its own. After the timeout the whole group gets SIGTERM, then
 * SIGKILL 2 s later: a hung reload must not hold the rotation lock, and with
 * it every later cron run, for ever.
 */
import { spawn } from 'node:child_process';

/** How long --exec may run before it is killed (a reload takes seconds). */
export const DEFAULT_EXEC_TIMEOUT_MS = 60_000;
/** After SIGTERM, how long a timed-out --exec has before SIGKILL. */
const EXEC_KILL_GRACE_MS = 2000;

export interface ExecResult {
  /** The exit status; null when a signal ended the command. */
  exitCode: number | null;
  /** The signal that ended it (ours after the timeout, or anyone's). */
  signal?: NodeJS.Signals;
  /** Killed by us after the timeout. */
  timedOut: boolean;
  /** The last line it printed (stdout or stderr), for the summary. */
  lastLine?: string;
}

export function execSucceeded(r: ExecResult): boolean {
  return r.exitCode === 0 && !r.timedOut;
}

/** What happened, in words: "exited 1: nginx: [error] ...", "killed after 60 s (--exec-timeout)", "killed by SIGTERM". */
export function describeExec(r: ExecResult, timeoutMs: number): string {
  if (r.timedOut) return `killed after ${timeoutMs / 1000} s (--exec-timeout)`;
  if (r.signal) return `killed by ${r.signal}`;
  return `exited ${r.exitCode}${r.lastLine ? `: ${r.lastLine}` : ''}`;
}

export async function runExec(command: string, timeoutMs: number): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    let timedOut = false;
    const keep = (d: Buffer): void => {
      output = (output + d.toString('utf8')).slice(-4096);
    };
    const killGroup = (signal: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // Already gone.
      }
    };
    let settled = false;
    const finish = (result: ExecResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const lastLine = (): string | undefined => output.trim().split('\n').pop()?.trim() || undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      setTimeout(() => {
        killGroup('SIGKILL');
        // Something that left the group may still hold the output pipes: do not wait for them.
        child.stdout.destroy();
        child.stderr.destroy();
        finish({ exitCode: null, signal: 'SIGKILL', timedOut: true });
      }, EXEC_KILL_GRACE_MS).unref();
    }, timeoutMs);
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => finish({ exitCode: 127, lastLine: err.message, timedOut: false }));
    child.on('close', (code, signal) => {
      const line = lastLine();
      finish({ exitCode: code, ...(signal ? { signal } : {}), timedOut, ...(line ? { lastLine: line } : {}) });
    });
  });
}
