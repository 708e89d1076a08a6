/**
 * The outputs that hold one key, the current one, which both encrypts and
 * decrypts: Apache httpd `SSLSessionTicketKeyFile` (mod_ssl
 * ssl_engine_init.c: 48 bytes, read at (re)start), Node.js
 * `tls.Server#setTicketKeys` (48 bytes), and raw (48 or 80 bytes, the layout
 * of OpenSSL's SSL_CTX_set_tlsext_ticket_keys), all name16 | hmac | aes.
 * A server given one key holds no previous key: every rotation drops the
 * decrypt window from it, and the summary says so.
 */
import { SessctlError } from '../../errors.js';
import { currentKey, type KeyRing, type TicketKey } from '../ring.js';
import { nameHmacAes, readNameHmacAes } from './layout.js';
import type { LoadedKey } from './types.js';

export function singleKeyHolds(ring: KeyRing): TicketKey[] {
  return [currentKey(ring)];
}

export function singleKeyFile(ring: KeyRing): Buffer {
  return nameHmacAes(currentKey(ring));
}

export function loadSingleKey(data: Buffer, sizes: readonly number[]): LoadedKey[] {
  const parts = sizes.includes(data.length) ? readNameHmacAes(data) : undefined;
  if (!parts) throw new SessctlError(`${data.length} bytes, expected ${sizes.join(' or ')}`);
  return [{ ...parts, encrypts: true, where: 'the key' }];
}
