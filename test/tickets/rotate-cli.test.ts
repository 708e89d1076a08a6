/**
 * `sessctl rotate-keys` as cron runs it: the built CLI in its own process,
 * real files. Needs `npm run build` first.
 */
import { spawn } from 'node:child_process';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { haproxyFile } from '../../src/lib/tickets/formats/haproxy.js';
import { nginxKeyBytes } from '../../src/lib/tickets/formats/nginx.js';
import { nameHmacAes } from '../../src/lib/tickets/formats/layout.js';
import { currentKey, decodeRing, nextKey, previousKeys, type KeyRing } from '../../src/lib/tickets/ring.js';
import { binForNobody, findTool, ROOT, runCli, tempDir } from '../helpers/env.js';

const tmp = tempDir('sessctl-rotate-');
afterAll(() => tmp.cleanup());

let dir: string;
let n = 0;
beforeEach(() => {
  dir = path.join(tmp.dir, `case-${++n}`);
  mkdirSync(dir);
});

const p = (name: string): string => path.join(dir, name);
const loadRing = (file = p('ring.json')): KeyRing => decodeRing(readFileSync(file), file);
const mode = (file: string): number => statSync(file).mode & 0o777;

/** Every file under dir (recursively) with its bytes. */
function snapshot(root = dir): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(root, { withFileTypes: true })) {
    const full = path.join(root, entry.name);
    if (entry.isDirectory()) Object.assign(out, snapshot(full));
    else {
      try {
        out[path.relative(dir, full)] = readFileSync(full).toString('hex');
      } catch {
        // a temp file renamed away while we looked
      }
    }
  }
  return out;
}

const ALL = ['--write', 'nginx:tickets', '--write', 'haproxy:haproxy.keys', '--write', 'ats:ats.keys', '--write', 'apache:apache.key', '--write', 'node:node.key', '--write', 'raw:raw.key'];

describe('rotate-keys', () => {
  it('creates the ring, then rotates; every output 0600 and byte-equal to the ring', async () => {
    const first = await runCli(['rotate-keys', '--ring', 'ring.json', ...ALL], { cwd: dir });
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^created ring ring.json: current [0-9a-f]{8}, next [0-9a-f]{8}, 0 previous/);
    expect(first.stdout.trim().split('\n')).toHaveLength(1);
    const r0 = loadRing();

    const second = await runCli(['rotate-keys', '--ring', 'ring.json', ...ALL, '--json'], { cwd: dir });
    expect(second.code).toBe(0);
    const report = JSON.parse(second.stdout);
    expect(report.status).toBe('rotated');
    const r1 = loadRing();
    expect(currentKey(r1).name).toEqual(nextKey(r0).name);
    expect(report.keys.map((k: { name: string }) => k.name)).toEqual(r1.keys.map((k) => k.name.toString('hex')));
    expect(second.stdout).not.toContain(currentKey(r1).aesKey.toString('base64'));

    for (const file of ['ring.json', 'tickets/current.key', 'tickets/previous.key', 'tickets/next.key', 'haproxy.keys', 'ats.keys', 'apache.key', 'node.key', 'raw.key']) {
      expect(mode(p(file)), file).toBe(0o600);
    }
    expect(readFileSync(p('tickets/current.key'))).toEqual(nginxKeyBytes(currentKey(r1)));
    expect(readFileSync(p('tickets/previous.key'))).toEqual(nginxKeyBytes(currentKey(r0)));
    expect(readFileSync(p('tickets/next.key'))).toEqual(nginxKeyBytes(nextKey(r1)));
    expect(readFileSync(p('haproxy.keys'))).toEqual(haproxyFile(r1, 0));
    expect(readFileSync(p('apache.key'))).toEqual(nameHmacAes(currentKey(r1)));
    expect(readFileSync(p('node.key'))).toEqual(nameHmacAes(currentKey(r1)));
    expect(readFileSync(p('ats.keys')).subarray(0, 48)).toEqual(nameHmacAes(currentKey(r1)));
    expect(previousKeys(r1, report.keys[0].createdAt).map((k) => k.name)).toEqual([currentKey(r0).name]);
  });

  it('--if-older-than: exit 10 and nothing changed while the current key is young', async () => {
    expect((await runCli(['rotate-keys', '--ring', 'ring.json', '--write', 'nginx:tickets'], { cwd: dir })).code).toBe(0);
    const before = snapshot();
    const r = await runCli(['rotate-keys', '--ring', 'ring.json', '--write', 'nginx:tickets', '--if-older-than', '1h', '--exec', 'touch exec-ran'], { cwd: dir });
    expect(r.code).toBe(10);
    expect(r.stdout).toMatch(/^not due: current key [0-9a-f]{8} has encrypted for \d+s, next rotation in (59m|1h)/);
    expect(snapshot()).toEqual(before);
    const due = await runCli(['rotate-keys', '--ring', 'ring.json', '--write', 'nginx:tickets', '--if-older-than', '0s'], { cwd: dir });
    expect(due.code).toBe(0);
    expect(snapshot()).not.toEqual(before);
  });

  it('nginx:DIR: previous-2.key that older versions wrote is removed and named; a longer window names the keys it cannot hold', async () => {
    await runCli(['rotate-keys', '--ring', 'ring.json', '--keep', '1h', '--write', 'nginx:tickets'], { cwd: dir });
    const k0 = currentKey(loadRing()).name.toString('hex');
    writeFileSync(p('tickets/previous-2.key'), Buffer.alloc(48, 1));
    const first = await runCli(['rotate-keys', '--ring', 'ring.json', '--write', 'nginx:tickets'], { cwd: dir });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/; removed tickets\/previous-2\.key \(not part of the nginx layout\)/);
    expect(first.stdout).not.toMatch(/cannot hold/);
    expect(readdirSync(p('tickets')).sort()).toEqual(['current.key', 'next.key', 'previous.key']);
    // The second rotation inside the hour: two previous keys, three slots.
    const second = await runCli(['rotate-keys', '--ring', 'ring.json', '--write', 'nginx:tickets', '--json'], { cwd: dir });
    const report = JSON.parse(second.stdout);
    expect(report.outputs[0].dropped).toEqual([expect.objectContaining({ name: k0, state: 'previous' })]);
    const third = await runCli(['rotate-keys', '--ring', 'ring.json', '--write', 'nginx:tickets'], { cwd: dir });
    expect(third.stdout).toMatch(/; nginx:tickets cannot hold [0-9a-f]{8} \(previous until [^)]+\), [0-9a-f]{8} \(previous until [^)]+\): its servers give those tickets full handshakes \(nginx-include:DIR holds any window\)/);
    expect(loadRing().keys.find((k) => k.name.toString('hex') === k0)?.notHeldBy).toEqual(['nginx:tickets']);
    expect(readdirSync(p('tickets')).sort()).toEqual(['current.key', 'next.key', 'previous.key']);
  });

  it('--exec runs after every write, and its failure is exit 1 with the ring rotated', async () => {
    await runCli(['rotate-keys', '--ring', 'ring.json'], { cwd: dir });
    const r = await runCli(['rotate-keys', '--ring', 'ring.json', '--write', 'nginx:tickets', '--exec', 'cp tickets/current.key seen.key; echo reload failed >&2; exit 7'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('sessctl: --exec exited 7: reload failed\n');
    expect(readFileSync(p('seen.key'))).toEqual(nginxKeyBytes(currentKey(loadRing())));
  });

  it('--exec that hangs is killed, with what it started, after --exec-timeout: exit 1, the ring rotated', async () => {
    await runCli(['rotate-keys', '--ring', 'ring.json'], { cwd: dir });
    const before = currentKey(loadRing()).name.toString('hex');
    const started = Date.now();
    // The shell starts a child that would outlive it: the whole group must go.
    const r = await runCli(['rotate-keys', '--ring', 'ring.json', '--write', 'nginx:tickets', '--exec', 'sleep 60 & echo $! > sleeper.pid; wait', '--exec-timeout', '1s'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('sessctl: --exec killed after 1 s (--exec-timeout)\n');
    // The summary says it was killed (it once said "exec failed (exit 128)").
    expect(r.stdout).toMatch(/; exec failed: killed after 1 s \(--exec-timeout\); still pending since /);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(currentKey(loadRing()).name.toString('hex')).not.toBe(before);
    const sleeper = Number(readFileSync(p('sleeper.pid'), 'utf8'));
    // Gone, or a zombie nobody has reaped yet (its shell is dead): not running.
    const running = (): boolean => {
      try {
        return readFileSync(`/proc/${sleeper}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z';
      } catch {
        return false;
      }
    };
    for (let waited = 0; running() && waited < 5000; waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(running()).toBe(false);
    // The lock was released: the next run goes ahead, and redoes the pending --exec.
    const next = await runCli(['rotate-keys', '--ring', 'ring.json', '--exec', 'true'], { cwd: dir });
    expect(next.stdout).toMatch(/; redid the steps pending since .*; exec ok$/m);
    expect(next.code).toBe(0);
  });

  it('--exec-timeout holds even when the command leaves a process outside its group holding the output', async () => {
    const started = Date.now();
    const r = await runCli(['rotate-keys', '--ring', 'ring.json', '--exec', 'setsid sleep 60 & echo $! > escaped.pid; wait', '--exec-timeout', '1s'], { cwd: dir });
    try {
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('sessctl: --exec killed after 1 s (--exec-timeout)\n');
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      try {
        process.kill(Number(readFileSync(p('escaped.pid'), 'utf8')), 'SIGKILL');
      } catch {
        // not started, or gone
      }
    }
  });

  describe('bad input: one line, non-zero exit, nothing changed', () => {
    const cases: [string, string[], number, RegExp][] = [
      ['unknown format', ['--write', 'caddy:x'], 2, /FORMAT one of nginx/],
      ['size a format cannot take', ['--write', 'apache:a.key', '--size', '80'], 2, /holds 48-byte keys; --size 80 needs a new ring/],
      ['directory that is a file', ['--write', 'nginx:tickets', '--write', 'haproxy:plain/h.keys'], 1, /not a directory; nothing changed|a path component is not a directory/],
      ['missing directory', ['--write', 'haproxy:no/such/dir/h.keys'], 1, /no such file or directory; nothing changed/],
      ['bad duration', ['--keep', 'soon'], 2, /--keep: "soon" is not a duration/],
    ];
    it.each(cases)('%s', async (_, args, code, message) => {
      await runCli(['rotate-keys', '--ring', 'ring.json', '--write', 'nginx:tickets'], { cwd: dir });
      writeFileSync(p('plain'), 'a file, not a directory');
      const before = snapshot();
      const r = await runCli(['rotate-keys', '--ring', 'ring.json', ...args], { cwd: dir });
      expect(r.code).toBe(code);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
      expect(snapshot()).toEqual(before);
    });

    it('no ring named', async () => {
      const r = await runCli(['rotate-keys', '--write', 'nginx:tickets'], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^sessctl: say where the ring lives: --ring FILE, --store URL/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(snapshot()).toEqual({});
    });

    // Becoming nobody needs root and runuser (CI runs as root); root itself may write anywhere.
    const runuser = process.getuid?.() === 0 ? findTool('runuser') : undefined;
    it.skipIf(!runuser)('an output directory that is not writable (run as nobody): one line, nothing written, the ring unchanged', async () => {
      const home = mkdtempSync(path.join(tmpdir(), 'sessctl-nobody-'));
      try {
        chmodSync(home, 0o777);
        mkdirSync(path.join(home, 'ro'), { mode: 0o755 }); // root's: nobody cannot write in it
        const asNobody = (args: string[]) =>
          spawnSync(runuser!, ['-u', 'nobody', '--', process.execPath, binForNobody(), 'rotate-keys', '--ring', 'ring.json', ...args], {
            cwd: home,
            encoding: 'utf8',
            timeout: 30_000,
            env: { ...process.env, HOME: home, NO_COLOR: '1', OCLIF_SKIP_NEW_VERSION_CHECK: 'true', SESSCTL_CONFIG: path.join(home, 'none.json') },
          });
        expect(asNobody(['--write', 'nginx:tickets']).status).toBe(0);
        const before = snapshot(home);
        for (const [target, message] of [
          ['haproxy:ro/h.keys', /^sessctl: --write haproxy:ro\/h\.keys: directory ro: permission denied; nothing changed\n$/],
          // A directory to create, in a parent that does not take it.
          ['nginx-include:ro/tickets', /^sessctl: --write nginx-include:ro\/tickets: directory ro: permission denied; nothing changed\n$/],
        ] as const) {
          const r = asNobody(['--write', 'nginx:tickets', '--write', target]);
          expect(r.status).toBe(1);
          expect(r.stderr).toMatch(message);
          expect(r.stdout).toBe('');
          expect(snapshot(home)).toEqual(before);
        }
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    });

    it('--check with a corrupt ring: one line, exit 1', async () => {
      writeFileSync(p('ring.json'), '{"format":"sessctl-ticket-key-ring"', { mode: 0o600 });
      const r = await runCli(['rotate-keys', '--ring', 'ring.json', '--check', '--write', 'nginx:tickets'], { cwd: dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^sessctl: corrupt ticket-key ring ring.json: not JSON\n/);
      expect(r.stdout).toBe('');
    });

    it('corrupt ring', async () => {
      writeFileSync(p('ring.json'), '{"format":"sessctl-ticket-key-ring","version":1,"size":48,"keep":60,"keys":[]}', { mode: 0o600 });
      const before = snapshot();
      const r = await runCli(['rotate-keys', '--ring', 'ring.json', '--write', 'nginx:tickets'], { cwd: dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^sessctl: corrupt ticket-key ring ring.json: needs exactly one next key/);
      expect(snapshot()).toEqual(before);
    });
  });

  it('--list shows names and states; secrets only with --show-secrets, saying so on stderr', async () => {
    await runCli(['rotate-keys', '--ring', 'ring.json'], { cwd: dir });
    await runCli(['rotate-keys', '--ring', 'ring.json'], { cwd: dir });
    const ring = loadRing();
    const list = await runCli(['rotate-keys', '--ring', 'ring.json', '--list'], { cwd: dir });
    expect(list.code).toBe(0);
    // 80 columns: names shortened (first 8 and last 4 hex digits); --wide shows them whole.
    for (const k of ring.keys) expect(list.stdout).toContain(`${k.name.toString('hex').slice(0, 8)}…${k.name.toString('hex').slice(-4)}`);
    for (const line of list.stdout.trimEnd().split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    const wide = await runCli(['rotate-keys', '--ring', 'ring.json', '--list', '--wide'], { cwd: dir });
    for (const k of ring.keys) expect(wide.stdout).toContain(k.name.toString('hex'));
    expect(list.stdout).toMatch(/^next\s/m);
    expect(list.stdout).toMatch(/^previous\s/m);
    for (const k of ring.keys) expect(list.stdout).not.toContain(k.aesKey.toString('base64'));
    const secrets = await runCli(['rotate-keys', '--ring', 'ring.json', '--list', '--show-secrets', '--json'], { cwd: dir });
    expect(secrets.stderr).toBe('sessctl: warning: showing secret ticket keys (--show-secrets)\n');
    expect(JSON.parse(secrets.stdout).keys[1].aesKey).toBe(currentKey(ring).aesKey.toString('base64'));
    const missing = await runCli(['rotate-keys', '--ring', 'nothing.json', '--list'], { cwd: dir });
    expect(missing.code).toBe(3);
  });

  it('a live lock holder makes a second rotation fail; a dead one is broken', async () => {
    await runCli(['rotate-keys', '--ring', 'ring.json'], { cwd: dir });
    writeFileSync(p('ring.json.lock'), `${process.pid}\n`);
    const before = snapshot();
    const busy = await runCli(['rotate-keys', '--ring', 'ring.json'], { cwd: dir });
    expect(busy.code).toBe(1);
    expect(busy.stderr).toMatch(`another rotation holds the lock ring.json.lock (pid ${process.pid}): nothing changed`);
    expect(snapshot()).toEqual(before);
    writeFileSync(p('ring.json.lock'), '999999999\n'); // no such process
    const ok = await runCli(['rotate-keys', '--ring', 'ring.json'], { cwd: dir });
    expect(ok.code).toBe(0);
    expect(existsSync(p('ring.json.lock'))).toBe(false);
  });

  it('SIGKILL mid-rotation: every file is old or new, the ring loads, the next run completes', async () => {
    const outputs = ['--write', 'nginx:tickets', '--write', 'haproxy:haproxy.keys', '--write', 'apache:apache.key'];
    // Kill before any write, then after 1..5 of the 5 output files were replaced (the ring is written last).
    const killAfter = [0, 1, 2, 3, 4, 5];
    const committed: boolean[] = [];
    for (const k of killAfter) {
      // Each kill starts from a completed rotation (which also shows a run after a kill completes).
      expect((await runCli(['rotate-keys', '--ring', 'ring.json', ...outputs], { cwd: dir })).code).toBe(0);
      const old = loadRing();
      const before = snapshot();
      const changed = await killedRun(['ring.json', 'nginx:tickets', 'haproxy:haproxy.keys', 'apache:apache.key'], k, before);
      expect(changed).toBe(k);
      const now = loadRing(); // loads: consistent
      const didCommit = !currentKey(now).name.equals(currentKey(old).name);
      committed.push(didCommit);
      if (didCommit) expect(currentKey(now).name).toEqual(nextKey(old).name);
      const after = snapshot();
      const isOld = (f: string): boolean => after[f] === before[f];
      // Files whose new content is fixed by the old ring (the old next key becomes current).
      const fixed: Record<string, Buffer> = {
        'tickets/current.key': nginxKeyBytes(nextKey(old)),
        'tickets/previous.key': nginxKeyBytes(currentKey(old)),
        'apache.key': nameHmacAes(nextKey(old)),
      };
      for (const [f, bytes] of Object.entries(fixed)) expect(isOld(f) || after[f] === bytes.toString('hex'), f).toBe(true);
      const nextSlot = Buffer.from(after['tickets/next.key']!, 'hex');
      expect(nextSlot).toHaveLength(48);
      if (didCommit) expect(nextSlot).toEqual(nginxKeyBytes(nextKey(now)));
      const lines = Buffer.from(after['haproxy.keys']!, 'hex').toString().trimEnd().split('\n');
      expect(lines).toHaveLength(3);
      if (!isOld('haproxy.keys')) {
        expect(lines.slice(0, 2).map((l) => Buffer.from(l, 'base64').subarray(0, 16).toString('hex'))).toEqual(
          [currentKey(old), nextKey(old)].map((k) => k.name.toString('hex')),
        );
      }
      if (!didCommit) expect(readFileSync(p('ring.json'))).toEqual(Buffer.from(before['ring.json']!, 'hex'));
    }
    expect(committed).toEqual([false, false, false, false, false, false]);
    const finish = await runCli(['rotate-keys', '--ring', 'ring.json', ...outputs], { cwd: dir });
    expect(finish.code).toBe(0);
    const final = loadRing();
    expect(readFileSync(p('tickets/current.key'))).toEqual(nginxKeyBytes(currentKey(final)));
    expect(readFileSync(p('haproxy.keys'))).toEqual(haproxyFile(final, Math.floor(Date.now() / 1000)));
    expect(Object.keys(snapshot()).filter((f) => f.includes('sessctl-tmp'))).toEqual([]);
  }, 60_000);
});

/**
 * Rotate (the library's rotateKeys, as the CLI runs it) with a pause after
 * each file write; SIGKILL it once `killAfter` files differ from `before` (0:
 * as soon as it runs). Resolves with how many files had changed when it died.
 */
function killedRun(args: string[], killAfter: number, before: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'test/fixtures/processes/rotate-slowly.mjs'), ...args], {
      cwd: dir,
      stdio: 'ignore',
    });
    const changedFiles = (): number => {
      const now = snapshot();
      return Object.keys(before).filter((f) => !f.includes('sessctl-tmp') && now[f] !== before[f]).length;
    };
    const poll = setInterval(() => {
      if (changedFiles() >= killAfter) {
        child.kill('SIGKILL');
        clearInterval(poll);
      }
    }, 5);
    child.on('close', () => {
      clearInterval(poll);
      resolve(changedFiles());
    });
  });
}
