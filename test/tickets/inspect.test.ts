import { createCipheriv, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeSession, encodeSession } from '../../src/lib/session/codec.js';
import type { Session } from '../../src/lib/session/types.js';
import { decryptTicket, inspectionText, inspectTicket, splitTicket } from '../../src/lib/tickets/inspect.js';
import { createRing, currentKey, nextKey, rotateRing, type TicketKey } from '../../src/lib/tickets/ring.js';
import { VECTORS } from '../helpers/env.js';

const T0 = 1_800_000_000;
const H = 3600;

/** A ticket as OpenSSL makes one: name | iv | AES-CBC(der) | HMAC-SHA256. */
function sealTicket(der: Buffer, key: TicketKey): Buffer {
  const iv = randomBytes(16);
  const cipher = createCipheriv(key.aesKey.length === 16 ? 'aes-128-cbc' : 'aes-256-cbc', key.aesKey, iv);
  const body = Buffer.concat([key.name, iv, cipher.update(der), cipher.final()]);
  return Buffer.concat([body, createHmac('sha256', key.hmacKey).update(body).digest()]);
}

const serverDer = readFileSync(path.join(VECTORS, '07-server-tls12-dhe-rsa-aes128gcm-alpn.der'));
const server = decodeSession(serverDer);
const clientWith = (ticket: Buffer | undefined, masterKey = server.masterKey): Session => ({
  ...decodeSession(readFileSync(path.join(VECTORS, '01-client-tls12-ecdhe-rsa-aes256gcm-sni-ticket.der'))),
  masterKey,
  ...(ticket ? { ticket } : { ticket: undefined }),
});

describe('inspectTicket', () => {
  for (const size of [48, 80] as const) {
    it(`${size}-byte key: names the key, verifies the MAC, decrypts the server's session`, () => {
      const ring = createRing(T0, { size });
      const ticket = sealTicket(serverDer, currentKey(ring));
      const client = clientWith(ticket);
      const result = inspectTicket(client, ring, T0 + 60);
      expect(result).toMatchObject({
        hasTicket: true,
        format: 'openssl',
        keyName: currentKey(ring).name.toString('hex'),
        ring: { known: true, state: 'current', resumes: true },
        mac: 'valid',
        serverSession: { protocol: 'TLSv1.2', cipher: 'DHE-RSA-AES128-GCM-SHA256', masterKeyMatches: true, sessionIdContext: Buffer.from('login-portal').toString('hex') },
      });
      expect(JSON.stringify(result)).not.toContain(server.masterKey.toString('hex'));
      const text = inspectionText(result, T0 + 60);
      expect(text).toContain(`Key name  : ${currentKey(ring).name.toString('hex')}`);
      expect(text).toContain('In ring   : current key');
      expect(text).toContain("master key matches the client's");
      const opened = decryptTicket(client, ring)!;
      expect(encodeSession(decodeSession(opened.der))).toEqual(serverDer);
    });
  }

  it('a key of the window that an output does not hold: known, previous, not resumed there, and said so', () => {
    const first = createRing(T0, { keep: 10 * H });
    const old = currentKey(first);
    let ring = rotateRing(first, T0 + H);
    ring = { ...ring, keys: ring.keys.map((k) => (k.name.equals(old.name) ? { ...k, notHeldBy: ['haproxy:/etc/haproxy/tls.keys'] } : k)) };
    const result = inspectTicket(clientWith(sealTicket(serverDer, old)), ring, T0 + H);
    expect(result.ring).toEqual({ known: true, state: 'previous', decryptsUntil: T0 + 11 * H, notHeldBy: ['haproxy:/etc/haproxy/tls.keys'], resumes: false });
    expect(inspectionText(result, T0 + H)).toContain('Not held  : by the servers of haproxy:/etc/haproxy/tls.keys');
  });

  it('a tampered ticket fails the MAC and is not decrypted', () => {
    const ring = createRing(T0);
    const ticket = sealTicket(serverDer, currentKey(ring));
    ticket[40] ^= 1;
    const result = inspectTicket(clientWith(ticket), ring, T0);
    expect(result.mac).toBe('invalid');
    expect(result.ring?.resumes).toBe(false);
    expect(result.serverSession).toBeUndefined();
    expect(decryptTicket(clientWith(ticket), ring)).toBeUndefined();
  });

  it('follows the key through the ring: previous, then retired, then gone', () => {
    let ring = createRing(T0, { keep: 12 * H });
    const key = currentKey(ring);
    const client = clientWith(sealTicket(serverDer, key));
    ring = rotateRing(ring, T0 + H);
    expect(inspectTicket(client, ring, T0 + H).ring).toEqual({ known: true, state: 'previous', decryptsUntil: T0 + 13 * H, resumes: true });
    expect(inspectTicket(client, ring, T0 + 13 * H).ring).toMatchObject({ state: 'retired', resumes: false });
    ring = rotateRing(ring, T0 + 13 * H);
    expect(inspectTicket(client, ring, T0 + 13 * H).ring).toEqual({ known: false, resumes: false });
    expect(inspectTicket(client, undefined, T0).keyName).toBe(key.name.toString('hex'));
  });

  it('a different master key is reported, a session without a ticket says so, an opaque ticket is not split', () => {
    const ring = createRing(T0);
    const other = clientWith(sealTicket(serverDer, nextKey(ring)), Buffer.alloc(48, 7));
    expect(inspectTicket(other, ring, T0)).toMatchObject({ ring: { state: 'next', resumes: true }, serverSession: { masterKeyMatches: false } });
    expect(inspectTicket(clientWith(undefined), ring, T0)).toEqual({ hasTicket: false });
    expect(splitTicket(randomBytes(32))).toBeUndefined();
    expect(inspectTicket(clientWith(randomBytes(32)), ring, T0)).toMatchObject({ format: 'opaque', ring: { known: false } });
  });
});
