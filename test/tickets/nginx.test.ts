/**
 * Debian's nginx with ssl_session_ticket_key files written by
 * `rotate-keys --write nginx:DIR`: tickets survive one rotation and reload,
 * not the window's end; new tickets carry the ring's current key; the ring
 * decrypts an nginx ticket to the server's session.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectTicket } from '../../src/lib/tickets/inspect.js';
import { currentKey, nextKey, type KeyRing } from '../../src/lib/tickets/ring.js';
import { requireTool, runCli, tempDir } from '../helpers/env.js';
import { handshake, readSession, startNginxWithRing, ticketKeyName, type NginxWithRing } from './tls-probe.js';

const hasNginx = requireTool('nginx', 'nginx') && requireTool('openssl', 'openssl');

describe.skipIf(!hasNginx)('nginx follows rotate-keys', () => {
  const tmp = tempDir('sessctl-nginx-');
  const dir = tmp.dir;
  const p = (name: string): string => path.join(dir, name);
  let server: NginxWithRing;
  let port = 0;
  const ring = (): KeyRing => server.ring();
  const rotate = (): Promise<void> => server.rotate();

  beforeAll(async () => {
    server = await startNginxWithRing(dir);
    port = server.port;
  });

  afterAll(() => {
    server?.stop();
    tmp.cleanup();
  });

  it('issues tickets under the current key; the ring decrypts one to the server session (same master key)', () => {
    expect(handshake(port, { sessOut: p('s0.pem') })).toBe('New');
    const r = ring();
    expect(ticketKeyName(p('s0.pem'))).toBe(currentKey(r).name.toString('hex'));
    const inspection = inspectTicket(readSession(p('s0.pem')), r, Math.floor(Date.now() / 1000));
    expect(inspection).toMatchObject({
      format: 'openssl',
      ring: { known: true, state: 'current', resumes: true },
      mac: 'valid',
      serverSession: { protocol: 'TLSv1.2', masterKeyMatches: true },
    });
    expect(handshake(port, { sessIn: p('s0.pem') })).toBe('Reused');
  });

  it('sessctl get --in client-session.pem --ring FILE decrypts the nginx ticket to the server session', async () => {
    const r = await runCli(['get', '--in', p('s0.pem'), '--ring', p('ring.json'), '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const view = JSON.parse(r.stdout);
    expect(view.ticketInspection).toMatchObject({
      keyName: currentKey(ring()).name.toString('hex'),
      ring: { known: true, state: 'current', resumes: true },
      mac: 'valid',
      serverSession: { protocol: 'TLSv1.2', masterKeyMatches: true },
    });
    const text = await runCli(['get', '--in', p('s0.pem'), '--ring', p('ring.json')], { cwd: dir });
    expect(text.stdout).toMatch(/master key matches the client's/);
  });

  it('a ticket survives one rotation and reload; after the window it no longer resumes', async () => {
    const before = ring();
    await rotate();
    const after = ring();
    expect(currentKey(after).name).toEqual(nextKey(before).name);
    // The old ticket resumes under the previous key...
    expect(handshake(port, { sessIn: p('s0.pem') })).toBe('Reused');
    // ... and new tickets carry the new current key.
    expect(handshake(port, { sessOut: p('s1.pem') })).toBe('New');
    expect(ticketKeyName(p('s1.pem'))).toBe(currentKey(after).name.toString('hex'));

    await new Promise((r) => setTimeout(r, 1100)); // let the 1 s decrypt window of s0's key pass
    await rotate();
    const later = ring();
    expect(later.keys.map((k) => k.name.toString('hex'))).not.toContain(ticketKeyName(p('s0.pem')));
    expect(handshake(port, { sessIn: p('s0.pem') })).toBe('New');
    expect(handshake(port, { sessIn: p('s1.pem') })).toBe('Reused');
  });
});
