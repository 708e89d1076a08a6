/**
 * Debian's HAProxy with tls-ticket-keys written by `rotate-keys --write
 * haproxy:FILE`, rotated at runtime through its stats socket.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haproxyCommand, showTlsKeys } from '../../src/lib/tickets/haproxy-socket.js';
import { currentKey, decodeRing, nextKey, type KeyRing } from '../../src/lib/tickets/ring.js';
import { requireTool, runCli, tempDir } from '../helpers/env.js';
import { handshake, startHaproxy, ticketKeyName, type HaproxyWithKeys } from './tls-probe.js';

const hasHaproxy = requireTool('haproxy', 'haproxy') && requireTool('openssl', 'openssl');

describe.skipIf(!hasHaproxy)('HAProxy follows rotate-keys', () => {
  const tmp = tempDir('sessctl-haproxy-');
  const dir = tmp.dir;
  const p = (name: string): string => path.join(dir, name);
  const socket = p('haproxy.sock'); // where startHaproxy puts its admin socket
  let port = 0;
  const ring = (): KeyRing => decodeRing(readFileSync(p('ring.json')), 'ring.json');
  const names = (keys: Buffer[]): string[] => keys.map((k) => k.subarray(0, 16).toString('hex'));
  const hex = (b: Buffer): string => b.toString('hex');

  let haproxy: HaproxyWithKeys | undefined;

  beforeAll(async () => {
    expect((await runCli(['rotate-keys', '--ring', 'ring.json', '--write', 'haproxy:tls.keys'], { cwd: dir })).code).toBe(0);
    haproxy = await startHaproxy(dir, p('tls.keys'));
    port = haproxy.port;
  });

  afterAll(() => {
    haproxy?.stop();
    tmp.cleanup();
  });

  it('loads the file: the penultimate line (the ring current key) encrypts', async () => {
    const r = ring();
    expect(names(await showTlsKeys(socket, p('tls.keys'))).slice(1)).toEqual([hex(currentKey(r).name), hex(nextKey(r).name)]);
    expect(handshake(port, { sessOut: p('s0.pem') })).toBe('New');
    expect(ticketKeyName(p('s0.pem'))).toBe(hex(currentKey(r).name));
  });

  it('a runtime push through the stats socket: show tls-keys lists the ring, old tickets resume, new ones use the new key', async () => {
    const before = ring();
    const r = await runCli(['rotate-keys', '--ring', 'ring.json', '--write', 'haproxy:tls.keys', '--haproxy-socket', socket, '--json'], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    const after = ring();
    // In sync before the rotation: one `set ssl tls-key` with the new next key.
    expect(report.haproxy.pushed).toEqual([hex(nextKey(after).name)]);
    expect(currentKey(after).name).toEqual(nextKey(before).name);

    const listed = await haproxyCommand(socket, `show tls-keys ${p('tls.keys')}`);
    const inMemory = [...listed.matchAll(/^\d+\.\d+ (\S+)$/gm)].map((m) => m[1]);
    // HAProxy's memory now equals the file the same run wrote: previous, current, next.
    expect(inMemory).toEqual(readFileSync(p('tls.keys'), 'utf8').trimEnd().split('\n'));
    expect(names(await showTlsKeys(socket, p('tls.keys')))).toEqual([currentKey(before), currentKey(after), nextKey(after)].map((k) => hex(k.name)));

    expect(handshake(port, { sessIn: p('s0.pem') })).toBe('Reused');
    expect(handshake(port, { sessOut: p('s1.pem') })).toBe('New');
    expect(ticketKeyName(p('s1.pem'))).toBe(hex(currentKey(after).name));
  });

  it('a push to an out-of-sync HAProxy sends all three keys; a wrong socket is a clear failure', async () => {
    // Two rotations without the socket: HAProxy's memory falls behind the ring.
    for (let i = 0; i < 2; i++) expect((await runCli(['rotate-keys', '--ring', 'ring.json', '--write', 'haproxy:tls.keys'], { cwd: dir })).code).toBe(0);
    const r = await runCli(['rotate-keys', '--ring', 'ring.json', '--write', 'haproxy:tls.keys', '--haproxy-socket', socket, '--json'], { cwd: dir });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).haproxy.pushed).toHaveLength(3);
    const now = ring();
    expect(names(await showTlsKeys(socket, p('tls.keys'))).slice(1)).toEqual([hex(currentKey(now).name), hex(nextKey(now).name)]);
    expect(handshake(port, { sessOut: p('s2.pem') })).toBe('New');
    expect(ticketKeyName(p('s2.pem'))).toBe(hex(currentKey(now).name));

    const bad = await runCli(['rotate-keys', '--ring', 'ring.json', '--write', 'haproxy:tls.keys', '--haproxy-socket', p('no.sock')], { cwd: dir });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^sessctl: HAProxy push: HAProxy socket .*no\.sock: no such file or directory\n$/);
  });
});
