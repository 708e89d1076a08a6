/**
 * Node.js `tls.Server#setTicketKeys(keys)` / the `ticketKeys` option: 48
 * bytes, name16 | hmac16 | aes16, one key that both encrypts and decrypts.
 */
import { SessctlError } from '../../errors.js';
import { currentKey, type KeyRing } from '../ring.js';
import { nameHmacAes } from './layout.js';

/** The 48 bytes for setTicketKeys from the ring's current key (48-byte rings only). */
export function nodeTicketKeys(ring: KeyRing): Buffer {
  if (ring.size !== 48) throw new SessctlError(`Node's setTicketKeys takes 48-byte keys; this ring holds ${ring.size}-byte keys`);
  return nameHmacAes(currentKey(ring));
}
