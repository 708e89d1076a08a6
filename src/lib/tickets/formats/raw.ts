/**
 * Raw: the current key as name16 | hmac | aes, 48 or 80 bytes: the layout of
 * OpenSSL's SSL_CTX_set_tlsext_ticket_keys (80 bytes) and of Node, Apache and
 * Traffic Server (48 bytes), for anything else that takes one key.
 */
import { currentKey, type KeyRing } from '../ring.js';
import { nameHmacAes } from './layout.js';

export function rawFile(ring: KeyRing): Buffer {
  return nameHmacAes(currentKey(ring));
}
