/**
 * A real terminal for tests: tmux runs a command in a detached pane of a
 * given size on a private socket; the test reads the screen (capture-pane)
 * and types (send-keys). Every wait has a deadline.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { ROOT } from './env.js';

export const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export class Terminal {
  readonly socket = `sessctl-test-${process.pid}-${randomBytes(4).toString('hex')}`;
  #windows = 0;

  tmux(...args: string[]): string {
    const r = spawnSync('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`tmux ${args[0]} failed: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Run `command` (shell text, in the project root) in a fresh pane of `columns` x `rows`; the pane stays, showing "exit=N". */
  start(command: string, columns: number, rows = 50): string {
    this.#windows += 1;
    const name = `t${this.#windows}`;
    const shell = `cd ${shellQuote(ROOT)} && ${command}; echo "exit=$?"; sleep 600`;
    this.tmux('new-session', '-d', '-s', name, '-x', String(columns), '-y', String(rows), shell);
    return name;
  }

  /** The screen; `joined`: lines the terminal wrapped are given back whole (capture-pane -J). */
  screen(target: string, joined = false): string {
    return this.tmux('capture-pane', '-p', ...(joined ? ['-J'] : []), '-S', '-', '-t', target);
  }

  async waitFor(target: string, pattern: RegExp, options: { timeoutMs?: number; joined?: boolean } = {}): Promise<string> {
    const deadline = Date.now() + (options.timeoutMs ?? 20_000);
    for (;;) {
      const text = this.screen(target, options.joined);
      if (pattern.test(text)) return text;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} on the tmux screen:\n${text}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  keys(target: string, ...keys: string[]): void {
    this.tmux('send-keys', '-t', target, ...keys);
  }

  stop(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server']);
  }
}

/** `sessctl ARGS` as shell text, with the environment tests run it in. */
export function sessctlCommand(args: string[]): string {
  return ['env', 'OCLIF_SKIP_NEW_VERSION_CHECK=true', 'NO_COLOR=1', shellQuote(process.execPath), 'bin/run.js', ...args.map(shellQuote)].join(' ');
}
