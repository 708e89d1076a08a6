/**
 * Debian's nginx with ssl_session_ticket_key files written by
 * `rotate-keys --write nginx:DIR`: tickets survive one rotation and reload,
 * not the window's end; new tickets carry the ring's current key; the ring
 * decrypts an nginx ticket to the server's session.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inspectTicket } from '../../src/lib/tickets/inspect.js';
import { currentKey, decodeRing, nextKey, type KeyRing } from '../../src/lib/tickets/ring.js';
import { findTool, freePort, requireTool, runCli, tempDir } from '../helpers/env.js';
import { handshake, makeCertificate, readSession, ticketKeyName, waitFor } from './tls-probe.js';

const hasNginx = requireTool('nginx', 'nginx') && requireTool('openssl', 'openssl');

describe.skipIf(!hasNginx)('nginx follows rotate-keys', () => {
  const tmp = tempDir('sessctl-nginx-');
  const dir = tmp.dir;
  const p = (name: string): string => path.join(dir, name);
  const pidFile = p('nginx.pid');
  let port = 0;
  const nginx = findTool('nginx') ?? 'nginx';
  const masterPid = (): number => Number(readFileSync(pidFile, 'utf8').trim());
  const workers = (): number[] =>
    spawnSync('ps', ['-o', 'pid=', '--ppid', String(masterPid())], { encoding: 'utf8' })
      .stdout.split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => n > 0);
  const ring = (): KeyRing => decodeRing(readFileSync(p('ring.json')), 'ring.json');

  /** rotate-keys with the nginx output and a HUP; wait for the new workers. */
  async function rotate(extra: string[] = []): Promise<void> {
    const before = workers();
    const r = await runCli(['rotate-keys', '--ring', 'ring.json', '--write', 'nginx:tickets', '--keep', '1s', '--exec', `kill -HUP $(cat ${pidFile})`, ...extra], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    await waitFor('new nginx workers', () => {
      const now = workers();
      return now.length > 0 && now.every((w) => !before.includes(w));
    });
  }

  beforeAll(async () => {
    port = await freePort();
    const { cert, key } = makeCertificate(dir);
    const created = await runCli(['rotate-keys', '--ring', 'ring.json', '--write', 'nginx:tickets', '--keep', '1s'], { cwd: dir });
    expect(created.code).toBe(0);
    const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${p(`${t}_temp`)};`).join('\n');
    writeFileSync(
      p('nginx.conf'),
      `worker_processes 1;
pid ${pidFile};
error_log ${p('error.log')} info;
events { worker_connections 64; }
http {
  access_log off;
${temp}
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    ssl_protocols TLSv1.2;
    ssl_session_cache off;
    ssl_session_tickets on;
    ssl_session_ticket_key ${p('tickets/current.key')};
    ssl_session_ticket_key ${p('tickets/previous.key')};
    ssl_session_ticket_key ${p('tickets/next.key')};
    location / { return 200 "ok\\n"; }
  }
}
`,
    );
    execFileSync(nginx, ['-p', dir, '-c', p('nginx.conf'), '-e', p('error.log')], { stdio: 'pipe' });
    await waitFor('nginx workers', () => {
      try {
        return workers().length > 0;
      } catch {
        return false;
      }
    });
  });

  afterAll(() => {
    try {
      process.kill(masterPid(), 'SIGTERM');
    } catch {
      // not running
    }
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
