/**
 * Read-only commands never create or change a file (#15): an empty file stays
 * empty, a missing default cache file stays missing; and a cache file this
 * user may read but not write (another user's, mode 0644, with or without a
 * writer's -wal and -shm files) can be listed, while writing to it says
 * "permission denied". The other user is `nobody` (setpriv), so those tests
 * need root.
 */
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileStore } from '../../src/lib/store/file.js';
import { testEntry } from '../helpers/entries.js';
import { binForNobody, ROOT, VECTORS, runCli, tempDir, type CliResult } from '../helpers/env.js';

const PEM = path.join(VECTORS, '01-client-tls12-ecdhe-rsa-aes256gcm-sni-ticket.pem');
const ID = 'f59379243e20337d14a6faa62341acd7f42016e59f6d940a45b9defe2f4187c8';
const isRoot = process.getuid?.() === 0;
const tmp = tempDir('sessctl-readonly-');
afterAll(() => tmp.cleanup());

/** The files in `dir` with their sizes and modification times. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).map((name) => {
    const st = statSync(path.join(dir, name));
    return [name, `${st.size} ${st.mtimeMs} ${(st.mode & 0o777).toString(8)}`];
  }));
}

describe('a read-only command creates and changes nothing', () => {
  it('list, stats and get on a zero-length file leave it zero-length, with no -wal or -shm', async () => {
    const dir = path.join(tmp.dir, 'empty');
    mkdirSync(dir);
    const file = path.join(dir, 'empty.db');
    writeFileSync(file, '');
    const before = snapshot(dir);
    const list = await runCli(['list', '--store', file, '--json']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([]);
    expect((await runCli(['stats', '--store', file, '--json'])).code).toBe(0);
    expect((await runCli(['get', ID, '--store', file])).code).toBe(3);
    expect(snapshot(dir)).toEqual(before);
    expect(statSync(file).size).toBe(0);
  });

  it('list at the default location, with no cache file yet, creates none', async () => {
    const state = path.join(tmp.dir, 'state');
    const r = await runCli(['list', '--json'], { env: { XDG_STATE_HOME: state, SESSCTL_STORE: undefined } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
    expect(existsSync(state)).toBe(false);
  });

  it('list on a cache file changes none of its files', async () => {
    const dir = path.join(tmp.dir, 'full');
    mkdirSync(dir);
    const file = path.join(dir, 'sessions.db');
    expect((await runCli(['insert', '--keep-expired', '--store', file, PEM])).code).toBe(0);
    const before = snapshot(dir);
    const r = await runCli(['list', '--store', file, '--json']);
    expect(JSON.parse(r.stdout).map((s: { id: string }) => s.id)).toEqual([ID]);
    expect(snapshot(dir)).toEqual(before);
  });
});

/** Run the built CLI as the user nobody (uid 65534), as runCli runs it as this one. */
function runAsNobody(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, binForNobody(), ...args], {
      cwd: '/',
      env: { PATH: process.env.PATH, HOME: '/nonexistent', NO_COLOR: '1', OCLIF_SKIP_NEW_VERSION_CHECK: 'true', SESSCTL_CONFIG: '/nonexistent/config.json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

describe.skipIf(!isRoot)("another user's cache file (mode 0644), read by nobody", () => {
  let dir: string;
  let file: string;

  beforeAll(async () => {
    // Only root may write the directory: nobody can create no -wal or -shm there.
    dir = path.join(tmp.dir, 'shared');
    mkdirSync(dir);
    chmodSync(tmp.dir, 0o755);
    chmodSync(dir, 0o755);
    file = path.join(dir, 'sessions.db');
    expect((await runCli(['insert', '--keep-expired', '--store', file, PEM])).code).toBe(0);
    chmodSync(file, 0o644);
  });

  it('list works, with no -wal or -shm about, and leaves the directory as it was', async () => {
    expect(readdirSync(dir)).toEqual(['sessions.db']);
    const before = snapshot(dir);
    const r = await runAsNobody(['list', '--store', file, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).map((s: { id: string }) => s.id)).toEqual([ID]);
    expect((await runAsNobody(['stats', '--store', file])).code).toBe(0);
    expect(snapshot(dir)).toEqual(before);
  });

  it("list works while root's writer has the file open (its -wal and -shm are root's), and sees what is only in the WAL", async () => {
    const writer = await FileStore.open(file, { onWarning: () => {} });
    try {
      const fresh = testEntry(1, { salt: 0x2d0 });
      await writer.update(fresh);
      expect(statSync(`${file}-wal`).uid).toBe(0);
      expect(statSync(`${file}-shm`).uid).toBe(0);
      const r = await runAsNobody(['list', '--store', file, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).map((s: { id: string }) => s.id).sort()).toEqual([ID, fresh.key].sort());
      await writer.delete(fresh.key);
    } finally {
      await writer.terminate();
    }
  });

  it.each([
    ['insert', ['insert', '--keep-expired', '--store', 'FILE', PEM]],
    ['remove', ['remove', ID, '--store', 'FILE']],
    ['flush', ['flush', '--all', '--yes', '--store', 'FILE']],
  ])('%s says "permission denied", in one line, exit 1', async (_name, args) => {
    // The session file where nobody can read it (the checkout may sit under a 0700 directory).
    const readable = mkdtempSync(path.join(tmpdir(), 'sessctl-readonly-pem-'));
    chmodSync(readable, 0o755);
    copyFileSync(PEM, path.join(readable, 'session.pem'));
    chmodSync(path.join(readable, 'session.pem'), 0o644);
    const r = await runAsNobody(args.map((a) => (a === 'FILE' ? file : a === PEM ? path.join(readable, 'session.pem') : a)));
    rmSync(readable, { recursive: true, force: true });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^(sessctl: warning: .*\n)?sessctl: cannot open session cache .*: permission denied \(this user may not write it\)\n$/);
  });

  it('a file nobody may not read says "permission denied"', async () => {
    const secret = path.join(dir, 'private.db');
    expect((await runCli(['insert', '--keep-expired', '--store', secret, PEM])).code).toBe(0);
    chmodSync(secret, 0o600);
    const r = await runAsNobody(['list', '--store', secret]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`sessctl: cannot open session cache ${secret}: permission denied (this user may not read it)\n`);
  });
});
