/**
 * The interactive confirmation of `sessctl remove ID1 ID2` on a real
 * terminal: tmux runs the command in a detached 120x30 pane on a private
 * socket; the test reads the screen (capture-pane), answers with send-keys,
 * and checks the store afterwards with `sessctl list --json`.
 * Answered n: nothing removed. Answered y: both removed.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ROOT, VECTORS, requireTool, runCli, tempDir } from '../helpers/env.js';

const hasTmux = requireTool('tmux', 'tmux');

/** The two server sessions inserted before each test (vectors 07 and 08). */
const IDS = ['0aa8ff031964b74a068aa56043fce8458ae64dc7441bd5e7793452ae88c54d21', '406f586bff77f14601f150d3e79c6be35578fea72c0398670de3f06b58561df2'];
const FILES = ['07-server-tls12-dhe-rsa-aes128gcm-alpn.pem', '08-server-tls12-ecdhe-ecdsa-aes128sha256-clientauth.pem'].map((f) => path.join(VECTORS, f));

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

describe.skipIf(!hasTmux)('remove asks for confirmation on a terminal (tmux)', () => {
  const tmp = tempDir('sessctl-tmux-');
  const store = path.join(tmp.dir, 'sessions.db');
  const socket = `sessctl-test-${process.pid}-${randomBytes(4).toString('hex')}`;
  let windows = 0;

  const tmux = (...args: string[]): string => {
    const r = spawnSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8', timeout: 10_000 });
    if (r.status !== 0) throw new Error(`tmux ${args[0]} failed: ${r.stderr.trim()}`);
    return r.stdout;
  };

  /** Run `command` in a fresh detached 120x30 session; the pane stays after it exits, showing its exit code. */
  function startInTmux(command: string): string {
    windows += 1;
    const name = `confirm-${windows}`;
    const shell = `cd ${quote(ROOT)} && ${command}; echo "exit=$?"; sleep 600`;
    tmux('new-session', '-d', '-s', name, '-x', '120', '-y', '30', shell);
    return name;
  }

  const screen = (target: string): string => tmux('capture-pane', '-p', '-t', target);

  /** Poll the screen until `pattern` shows, for at most `timeoutMs`. */
  async function waitForScreen(target: string, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = screen(target);
      if (pattern.test(text)) return text;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} on the tmux screen:\n${text}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function storedIds(): Promise<string[]> {
    const r = await runCli(['list', '--store', store, '--json']);
    expect(r.code, r.stderr).toBe(0);
    return (JSON.parse(r.stdout) as { id: string }[]).map((e) => e.id).sort();
  }

  const removeCommand = (): string =>
    ['env', 'OCLIF_SKIP_NEW_VERSION_CHECK=true', 'NO_COLOR=1', quote(process.execPath), 'bin/run.js', 'remove', ...IDS, '--store', quote(store)].join(' ');

  beforeAll(() => {
    expect(spawnSync('tmux', ['-V']).status).toBe(0);
  });

  beforeEach(async () => {
    const r = await runCli(['insert', '--keep-expired', '--store', store, ...FILES]);
    expect(r.code, r.stderr).toBe(0);
    expect(await storedIds()).toEqual([...IDS].sort());
  });

  afterAll(() => {
    spawnSync('tmux', ['-L', socket, 'kill-server']);
    tmp.cleanup();
  });

  it('answered n: nothing is removed', async () => {
    const target = startInTmux(removeCommand());
    const prompt = await waitForScreen(target, /Remove 2 sessions from .*\?/);
    expect(prompt).toMatch(/\(y\/N\)/);
    tmux('send-keys', '-t', target, 'n', 'Enter');
    const after = await waitForScreen(target, /exit=\d+/);
    expect(after).toContain('nothing removed');
    expect(after).toContain('exit=0');
    expect(await storedIds()).toEqual([...IDS].sort());
  });

  it('answered y: both sessions are removed', async () => {
    const target = startInTmux(removeCommand());
    await waitForScreen(target, /Remove 2 sessions from .*\?/);
    tmux('send-keys', '-t', target, 'y', 'Enter');
    const after = await waitForScreen(target, /exit=\d+/);
    expect(after).toContain('2 sessions removed');
    for (const id of IDS) expect(after).toContain(`removed ${id}`);
    expect(after).toContain('exit=0');
    expect(await storedIds()).toEqual([]);
  });
});
