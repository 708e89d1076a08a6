/**
 * Apache httpd `SSLSessionTicketKeyFile` (mod_ssl ssl_engine_init.c): 48 raw
 * bytes, name16 | hmac16 | aes16. One key only, read at (re)start: every
 * ticket issued before a rotation stops resuming after the restart.
 */
import { currentKey, type KeyRing } from '../ring.js';
import { nameHmacAes } from './layout.js';

export function apacheFile(ring: KeyRing): Buffer {
  return nameHmacAes(currentKey(ring));
}
