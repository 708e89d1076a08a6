/** openssl helpers shared by the real-server ticket tests. */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeSession } from '../../src/lib/session/codec.js';
import { readSessionBlobs } from '../../src/lib/session/pem.js';
import type { Session } from '../../src/lib/session/types.js';

/** A self-signed P-256 certificate and key in `dir`: { cert, key, combined }. */
export function makeCertificate(dir: string): { cert: string; key: string; combined: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=localhost', '-days', '2'], {
    stdio: 'ignore',
  });
  const combined = path.join(dir, 'combined.pem');
  execFileSync('sh', ['-c', `cat "${cert}" "${key}" > "${combined}"`]);
  return { cert, key, combined };
}

/**
 * One TLS 1.2 handshake with `openssl s_client`: offers the session in
 * `sessIn` if given, saves the new session to `sessOut` if given. Returns
 * 'Reused' or 'New'. (s_client writes nothing to -sess_out on a resumed
 * TLS 1.2 connection, DESIGN.md §6.)
 */
export function handshake(port: number, options: { sessIn?: string; sessOut?: string } = {}): 'Reused' | 'New' {
  const args = ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_2', '-servername', 'localhost'];
  if (options.sessIn) args.push('-sess_in', options.sessIn);
  if (options.sessOut) args.push('-sess_out', options.sessOut);
  const r = spawnSync('openssl', args, { input: '', encoding: 'utf8', timeout: 10_000 });
  const m = /^(Reused|New), TLSv1\.2/m.exec(r.stdout);
  if (!m) throw new Error(`s_client to ${port} failed: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
  return m[1] as 'Reused' | 'New';
}

export function readSession(file: string): Session {
  const [der] = readSessionBlobs(readFileSync(file), file);
  return decodeSession(der!);
}

/** The 16-byte key name a saved session's ticket was issued under, hex. */
export function ticketKeyName(file: string): string {
  const ticket = readSession(file).ticket;
  if (!ticket) throw new Error(`${file} carries no ticket`);
  return ticket.subarray(0, 16).toString('hex');
}

/** Poll `check` until it is true (or throw after `timeoutMs`). */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
