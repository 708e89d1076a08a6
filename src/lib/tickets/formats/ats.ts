/**
 * Apache Traffic Server `ticket_key.filename` (ssl_multicert.config /
 * records.config; src/iocore/net/SSLUtils.cc, ssl_create_ticket_keyblock):
 * N x 48 raw bytes, each name16 | hmac16 | aes16; the first key encrypts,
 * the rest decrypt. Written: current, next, previous keys newest first, so
 * it holds the whole decrypt window. 48-byte keys only.
 */
import { SessctlError } from '../../errors.js';
import { currentKey, nextKey, previousKeys, type KeyRing, type TicketKey } from '../ring.js';
import { nameHmacAes, readNameHmacAes } from './layout.js';
import type { LoadedKey } from './types.js';

export function atsHolds(ring: KeyRing, now: number): TicketKey[] {
  return [currentKey(ring), nextKey(ring), ...previousKeys(ring, now)];
}

export function atsFile(ring: KeyRing, now: number): Buffer {
  return Buffer.concat(atsHolds(ring, now).map(nameHmacAes));
}

export function loadAtsFile(data: Buffer): LoadedKey[] {
  if (data.length === 0 || data.length % 48 !== 0) throw new SessctlError(`${data.length} bytes: Traffic Server takes a multiple of 48`);
  const keys: LoadedKey[] = [];
  for (let i = 0; i < data.length; i += 48) keys.push({ ...readNameHmacAes(data.subarray(i, i + 48))!, encrypts: i === 0, where: `key ${i / 48 + 1}` });
  return keys;
}
