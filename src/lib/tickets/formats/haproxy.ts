/**
 * HAProxy `tls-ticket-keys FILE` (ssl_sock.c / cfgparse-ssl.c): base64 lines of
 * 48 or 80 bytes, each name16 | aes16/32 | hmac16/32. HAProxy keeps the last
 * TLS_TICKETS_NO (3) lines in a ring and encrypts with the penultimate one, so
 * the file is exactly three lines, oldest first:
 *
 *   previous   (decrypts; a fresh never-encrypting key when the ring has none)
 *   current    (penultimate: encrypts)
 *   next       (pre-distributed: decrypts, encrypts after the next rotation)
 *
 * A decrypt window longer than one rotation cannot be expressed: HAProxy holds
 * three keys. The runtime API `set ssl tls-key <file> <base64>` pushes the new
 * next key; the old next then encrypts (see haproxy-socket.ts).
 */
import { currentKey, freshKey, nextKey, previousKeys, type KeyRing, type RandomBytes, type TicketKey } from '../ring.js';
import { nameAesHmac } from './layout.js';

export function haproxyKeyBytes(key: TicketKey): Buffer {
  return nameAesHmac(key);
}

/** One key as HAProxy's base64 line (no newline): the form `set ssl tls-key` takes too. */
export function haproxyKeyLine(key: TicketKey): string {
  return haproxyKeyBytes(key).toString('base64');
}

export function haproxyFile(ring: KeyRing, now: number, options: { random?: RandomBytes } = {}): Buffer {
  const previous = previousKeys(ring, now)[0] ?? freshKey(ring.size, now, 'previous', options.random);
  const lines = [previous, currentKey(ring), nextKey(ring)].map(haproxyKeyLine);
  return Buffer.from(`${lines.join('\n')}\n`);
}
