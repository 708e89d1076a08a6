/**
 * Apache Traffic Server `proxy.config.ssl.server.ticket_key.filename`
 * (records.config; 9.2: iocore/net/SSLCertLookup.cc, ticket_block_create;
 * TLSSessionResumptionSupport.cc): floor(size / 48) keys, each
 * name16 | hmac16 | aes16 (AES-128); keys[0] encrypts, every key decrypts;
 * bytes after the last whole key are ignored; under 48 bytes the file is
 * refused and the keys loaded before stay. Written: current, next, previous
 * keys newest first, so it holds the whole decrypt window. 48-byte keys only.
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
  if (data.length < 48) throw new SessctlError(`${data.length} bytes: Traffic Server refuses a key file shorter than 48 bytes and keeps the keys it had`);
  const whole = Math.floor(data.length / 48);
  // Traffic Server reads the whole keys and ignores the rest: sessctl names the rest rather than ignore it.
  if (data.length % 48 !== 0) {
    throw new SessctlError(`${data.length} bytes, not a multiple of 48: Traffic Server reads ${whole} key${whole === 1 ? '' : 's'} from it and ignores the last ${data.length % 48} bytes`);
  }
  const keys: LoadedKey[] = [];
  for (let i = 0; i < data.length; i += 48) keys.push({ ...readNameHmacAes(data.subarray(i, i + 48))!, encrypts: i === 0, where: `key ${i / 48 + 1}` });
  return keys;
}
