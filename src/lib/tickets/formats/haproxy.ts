/**
 * HAProxy `tls-ticket-keys FILE` (src/ssl_sock.c, ssl_sock_load_tlskeys;
 * doc/configuration.txt): base64 lines of 48 or 80 bytes, each
 * name16 | aes16/32 | hmac16/32. HAProxy keeps the last TLS_TICKETS_NO (3)
 * lines in a ring and encrypts with the penultimate one, so the file is
 * exactly three lines, oldest first:
 *
 *   previous   (decrypts; the current key again while the ring has none)
 *   current    (penultimate: encrypts)
 *   next       (pre-distributed: decrypts, encrypts after the next rotation)
 *
 * A decrypt window holding more than one previous key cannot be loaded:
 * HAProxy holds three keys, so the older previous keys are dropped from this
 * output and named. The runtime API `set ssl tls-key <file> <base64>` pushes
 * the new next key; the old next then encrypts (haproxy-push.ts).
 */
import { SessctlError } from '../../errors.js';
import { currentKey, nextKey, previousKeys, type KeyRing, type TicketKey } from '../ring.js';
import { nameAesHmac, readNameAesHmac } from './layout.js';
import type { LoadedKey } from './types.js';

/** HAProxy's TLS_TICKETS_NO: the keys one tls-ticket-keys file gives. */
export const HAPROXY_KEYS = 3;

export function haproxyKeyBytes(key: TicketKey): Buffer {
  return nameAesHmac(key);
}

/** One key as HAProxy's base64 line (no newline): the form `set ssl tls-key` takes too. */
export function haproxyKeyLine(key: TicketKey): string {
  return haproxyKeyBytes(key).toString('base64');
}

export function haproxyHolds(ring: KeyRing, now: number): TicketKey[] {
  const current = currentKey(ring);
  return [previousKeys(ring, now)[0] ?? current, current, nextKey(ring)];
}

export function haproxyFile(ring: KeyRing, now: number): Buffer {
  return Buffer.from(`${haproxyHolds(ring, now).map(haproxyKeyLine).join('\n')}\n`);
}

/**
 * The keys HAProxy holds from these keys in file (or `show tls-keys`) order:
 * the last three, the penultimate encrypting. `where` names each ("line 2").
 */
export function loadHaproxyKeys(keys: Buffer[], where: (i: number) => string): LoadedKey[] {
  if (keys.length < 2) throw new SessctlError(`${keys.length} ticket key${keys.length === 1 ? '' : 's'}: HAProxy encrypts with the penultimate of at least two`);
  const first = Math.max(0, keys.length - HAPROXY_KEYS);
  return keys.slice(first).map((bytes, j) => {
    const i = first + j;
    const parts = readNameAesHmac(bytes);
    if (!parts) throw new SessctlError(`${where(i)} is ${bytes.length} bytes: HAProxy takes 48 or 80`);
    return { ...parts, encrypts: i === keys.length - 2, where: where(i) };
  });
}

/** A tls-ticket-keys file as HAProxy reads it. */
export function loadHaproxyFile(data: Buffer): LoadedKey[] {
  const lines = data.toString('utf8').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  const keys = lines.map((line, i) => {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(line)) throw new SessctlError(`line ${i + 1} is not base64`);
    return Buffer.from(line, 'base64');
  });
  return loadHaproxyKeys(keys, (i) => `line ${i + 1}`);
}
