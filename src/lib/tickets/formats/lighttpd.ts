/**
 * lighttpd 1.4 `ssl.stek-file` (src/mod_openssl.c,
 * mod_openssl_session_ticket_key_file and _check): 92 raw bytes,
 *
 *   int32 version (0) | int32 activation | int32 expiry   (host byte order, unix seconds)
 *   name16 | hmac32 | aes32                                (AES-256-CBC, HMAC-SHA256)
 *
 * One key a file. lighttpd stats the file about every 64 s and, when its
 * mtime is newer than its last load, adds the file's key in front of the
 * three it keeps, dropping the oldest: so it holds the current key and the
 * two before it, as long as it keeps running (a restart forgets them). It
 * encrypts with the newest key whose activation has come and whose expiry
 * has not passed, and decrypts with any key not expired (tlsext_ticket_key_get,
 * tlsext_ticket_key_find).
 *
 * Written: the ring's current key, active from when it started encrypting,
 * expiring one rotation period plus the decrypt window later: long enough to
 * encrypt until the next rotation and then decrypt for --keep; if rotations
 * stop, lighttpd stops issuing tickets then (full handshakes, never a key
 * used for ever). 80-byte rings only: lighttpd always uses AES-256.
 */
import { endianness } from 'node:os';
import { SessctlError } from '../../errors.js';
import { currentKey, previousKeys, type KeyRing, type TicketKey } from '../ring.js';
import { nameHmacAes, readNameHmacAes } from './layout.js';
import type { LoadedKey, RenderContext } from './types.js';

export const LIGHTTPD_FILE_BYTES = 92;
/** The keys lighttpd keeps in memory (session_ticket_keys[0..2]). */
const LIGHTTPD_KEYS = 3;
const INT32_MAX = 0x7fffffff;

const writeInt = (buf: Buffer, value: number, at: number): void => {
  if (endianness() === 'LE') buf.writeInt32LE(value, at);
  else buf.writeInt32BE(value, at);
};
const readInt = (buf: Buffer, at: number): number => (endianness() === 'LE' ? buf.readInt32LE(at) : buf.readInt32BE(at));

/** When lighttpd stops using `key` (unix seconds): activation + rotation period + decrypt window. */
export function lighttpdExpiry(ring: KeyRing, key: TicketKey, rotationPeriod: number | undefined): number {
  return Math.min(INT32_MAX, (key.activatedAt ?? key.createdAt) + (rotationPeriod ?? ring.keep) + ring.keep);
}

export function lighttpdFile(ring: KeyRing, context: RenderContext): Buffer {
  const key = currentKey(ring);
  const data = Buffer.alloc(LIGHTTPD_FILE_BYTES);
  writeInt(data, 0, 0);
  writeInt(data, Math.min(INT32_MAX, key.activatedAt ?? key.createdAt), 4);
  writeInt(data, lighttpdExpiry(ring, key, context.rotationPeriod), 8);
  nameHmacAes(key).copy(data, 12);
  return data;
}

/** What a lighttpd that re-read the file at every rotation holds: the current key and the two previous ones. */
export function lighttpdHolds(ring: KeyRing, now: number): TicketKey[] {
  return [currentKey(ring), ...previousKeys(ring, now).slice(0, LIGHTTPD_KEYS - 1)];
}

export function loadLighttpdFile(data: Buffer, now: number): LoadedKey[] {
  if (data.length !== LIGHTTPD_FILE_BYTES) throw new SessctlError(`${data.length} bytes: lighttpd reads ${LIGHTTPD_FILE_BYTES}`);
  const version = readInt(data, 0);
  if (version !== 0) throw new SessctlError(`format version ${version}: lighttpd reads version 0 only`);
  const activation = readInt(data, 4);
  const expiry = readInt(data, 8);
  const parts = readNameHmacAes(data.subarray(12))!;
  return [{ ...parts, encrypts: activation <= now && now <= expiry, where: `the key (active ${activation}..${expiry})` }];
}
