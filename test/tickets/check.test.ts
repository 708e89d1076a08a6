/**
 * `rotate-keys --check` against Debian's nginx and HAProxy: consistent (exit
 * 0), then each drift (exit 4, one line each): a key file edited by hand, a
 * server not reloaded after a rotation, a HAProxy whose runtime key was
 * changed with `set ssl tls-key`, a server using a key from another ring.
 * And the bad input: a target that does not exist, no ring.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushToHaproxy } from '../../src/lib/tickets/haproxy-push.js';
import { setTlsKey } from '../../src/lib/tickets/haproxy-socket.js';
import { currentKey, previousKeys } from '../../src/lib/tickets/ring.js';
import { requireTool, runCli, tempDir } from '../helpers/env.js';
import { startHaproxy, startNginxWithRing, type HaproxyWithKeys, type NginxWithRing } from './tls-probe.js';

const hasServers = requireTool('nginx', 'nginx') && requireTool('haproxy', 'haproxy') && requireTool('openssl', 'openssl');

describe.skipIf(!hasServers)('rotate-keys --check on real nginx and HAProxy', () => {
  const tmp = tempDir('sessctl-check-');
  const dir = tmp.dir;
  const p = (name: string): string => path.join(dir, name);
  let nginx: NginxWithRing;
  let haproxy: HaproxyWithKeys;
  const short = (b: Buffer): string => b.toString('hex').slice(0, 8);
  const check = (extra: string[] = []) =>
    runCli(
      [
        'rotate-keys', '--ring', 'ring.json', '--check', '--write', 'nginx:tickets', '--write', 'haproxy:tls.keys',
        '--haproxy-socket', haproxy.socket, '--probe', `127.0.0.1:${nginx.port}`, '--probe', `127.0.0.1:${haproxy.port}`, ...extra,
      ],
      { cwd: dir },
    );
  const now = (): number => Math.floor(Date.now() / 1000);
  /** Bring both servers back to the ring: nginx reloaded, HAProxy's memory pushed. */
  const resync = async (): Promise<void> => {
    await nginx.reload();
    await pushToHaproxy(haproxy.socket, nginx.ring(), now(), p('tls.keys'));
  };

  beforeAll(async () => {
    nginx = await startNginxWithRing(dir, { keep: '1h', extraWrites: ['haproxy:tls.keys'] });
    haproxy = await startHaproxy(dir, p('tls.keys'));
  });
  afterAll(() => {
    nginx?.stop();
    haproxy?.stop();
    tmp.cleanup();
  });

  it('consistent: exit 0, one line naming what was compared; --json', async () => {
    await nginx.rotate();
    await pushToHaproxy(haproxy.socket, nginx.ring(), now(), p('tls.keys'));
    const r = await check();
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^consistent: nginx:tickets, haproxy:tls\.keys, HAProxy .*haproxy\.sock \(.*tls\.keys\), 127\.0\.0\.1:\d+, 127\.0\.0\.1:\d+ hold the ring ring\.json\n$/);
    expect(r.code).toBe(0);
    const json = JSON.parse((await check(['--json'])).stdout);
    expect(json).toMatchObject({ consistent: true, drifts: [] });
    expect(json.checked).toHaveLength(5);
  });

  it('a key file edited by hand', async () => {
    const file = p('tickets/previous.key');
    const original = readFileSync(file);
    const edited = Buffer.from(original);
    edited[20] ^= 0xff;
    writeFileSync(file, edited);
    try {
      const r = await check();
      expect(r.code).toBe(4);
      expect(r.stdout).toBe(`nginx:tickets: previous.key holds key ${short(original.subarray(0, 16))} with other secret bytes than the ring's: edited by hand?\n`);
    } finally {
      writeFileSync(file, original);
    }
    expect((await check()).code).toBe(0);
  });

  it('servers not reloaded after a rotation', async () => {
    const before = nginx.ring();
    const rotated = await runCli([...nginx.rotateArgs, '--exec', 'true'], { cwd: dir });
    expect(rotated.code).toBe(0);
    const stale = short(currentKey(before).name);
    const r = await check();
    expect(r.code).toBe(4);
    const lines = r.stdout.trimEnd().split('\n');
    // The files are right; nginx (probed) and HAProxy (its socket, and probed) still encrypt with the old current key.
    expect(lines.filter((l) => l.startsWith('nginx:') || l.startsWith('haproxy:'))).toEqual([]);
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^127\\.0\\.0\\.1:${nginx.port}: encrypts under the ring's previous key ${stale}: not reloaded since the rotation at \\S+Z$`)));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^127\\.0\\.0\\.1:${haproxy.port}: encrypts under the ring's previous key ${stale}: not reloaded since`)));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^HAProxy .*: encrypts with runtime key 2, the ring's previous key ${stale}: not rotated since`)));
    expect(lines).toContainEqual(expect.stringMatching(/^HAProxy .*: lacks the ring's next key [0-9a-f]{8}$/));
    await resync();
    expect((await check()).code).toBe(0);
  });

  it("a HAProxy whose runtime key was changed with 'set ssl tls-key'", async () => {
    const stranger = randomBytes(48);
    await setTlsKey(haproxy.socket, p('tls.keys'), stranger.toString('base64'));
    const r = await check();
    expect(r.code).toBe(4);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toContainEqual(`HAProxy ${haproxy.socket} (${p('tls.keys')}): runtime key 3 holds key ${short(stranger.subarray(0, 16))}, which is not in the ring: another ring's key?`);
    // The ring's next key moved to the penultimate line: HAProxy now encrypts with it.
    expect(lines).toContainEqual(expect.stringMatching(/^HAProxy .*: encrypts with runtime key 2, the ring's next key [0-9a-f]{8}: ahead of the ring/));
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^127\\.0\\.0\\.1:${haproxy.port}: encrypts under the ring's next key`)));
    expect(lines.every((l) => !l.startsWith('nginx:') && !l.startsWith(`127.0.0.1:${nginx.port}`))).toBe(true);
    await resync();
    expect((await check()).code).toBe(0);
  });

  it('a server using a key from another ring', async () => {
    mkdirSync(p('other'));
    expect((await runCli(['rotate-keys', '--ring', 'other/ring.json', '--write', 'nginx:tickets'], { cwd: dir })).code).toBe(0);
    await nginx.reload();
    const foreign = short(readFileSync(p('tickets/current.key')).subarray(0, 16));
    const r = await check();
    expect(r.code).toBe(4);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toContainEqual(`nginx:tickets: current.key holds key ${foreign} (it encrypts), which is not in the ring: another ring's key?`);
    expect(lines).toContainEqual(`127.0.0.1:${nginx.port}: encrypts under key ${foreign}, which is not in the ring: another ring's key?`);
    expect(lines).toContainEqual(expect.stringMatching(/^nginx:tickets: lacks the ring's current key [0-9a-f]{8}$/));
    // The next rotation writes the files from the ring again; reloaded: consistent.
    await nginx.rotate();
    await pushToHaproxy(haproxy.socket, nginx.ring(), now(), p('tls.keys'));
    expect((await check()).code).toBe(0);
  });

  it('bad input: a target that does not exist, no ring, nothing to compare', async () => {
    const missing = await runCli(['rotate-keys', '--ring', 'ring.json', '--check', '--write', 'nginx-include:nowhere'], { cwd: dir });
    expect(missing.stdout).toBe(`nginx-include:nowhere: ${p('nowhere/ticket-keys.conf').replace(dir + '/', '')}: no such file or directory\n`);
    expect(missing.code).toBe(4);
    const noRing = await runCli(['rotate-keys', '--ring', 'none.json', '--check', '--write', 'nginx:tickets'], { cwd: dir });
    expect(noRing.stderr).toMatch(/^sessctl: no ticket-key ring at none\.json: nothing to check against\n$/);
    expect(noRing.code).toBe(3);
    const nothing = await runCli(['rotate-keys', '--ring', 'ring.json', '--check'], { cwd: dir });
    expect(nothing.code).toBe(2);
    expect(previousKeys(nginx.ring(), now()).length).toBeGreaterThan(0);
  });
});
