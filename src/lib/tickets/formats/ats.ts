/**
 * Apache Traffic Server `ticket_key.filename` (ssl_multicert.config /
 * records.config): N x 48 raw bytes, each name16 | hmac16 | aes16; the first
 * key encrypts, the rest decrypt. Written: current, next, previous keys
 * newest first. 48-byte keys only.
 */
import { currentKey, nextKey, previousKeys, type KeyRing } from '../ring.js';
import { nameHmacAes } from './layout.js';

export function atsFile(ring: KeyRing, now: number): Buffer {
  return Buffer.concat([currentKey(ring), nextKey(ring), ...previousKeys(ring, now)].map(nameHmacAes));
}
