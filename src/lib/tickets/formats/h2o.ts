/**
 * h2o `ssl-session-resumption: {mode: ticket, ticket-store: file,
 * ticket-file: FILE}` (src/ssl.c, load_tickets_file / parse_ticket_entry):
 * a YAML sequence of
 *
 *   - name: 32 hex digits
 *     cipher: aes-128-cbc | aes-256-cbc      (EVP_get_cipherbyname)
 *     hash: sha256                           (EVP_get_digestbyname)
 *     key: hex of the cipher key, then the HMAC key of the hash's block size (64 bytes)
 *     not_before: unix seconds
 *     not_after: unix seconds
 *
 * h2o re-reads the whole file when its mtime (whole seconds) changes,
 * checked every 10 s (ticket_file_updater). It encrypts with the entry of
 * the newest not_before that has passed (none if that entry's not_after has
 * passed too: then with a throw-away key) and decrypts with any entry
 * (ticket_key_callback). So the file holds the whole ring: the next key
 * with a not_before far ahead (pre-distributed, never chosen to encrypt
 * until the ring makes it current), the current key, the previous keys.
 *
 * The ring's HMAC keys are 16 or 32 bytes; written as 64 with zeros after
 * them, they give the same MACs (HMAC pads a short key with zeros, RFC 2104).
 */
import { SessctlError } from '../../errors.js';
import { currentKey, decryptsUntil, nextKey, previousKeys, type KeyRing, type TicketKey } from '../ring.js';
import type { LoadedKey } from './types.js';

/** SHA-256's block size: h2o's HMAC key length. */
const HMAC_KEY_BYTES = 64;
/** not_before of the next key: 2100-01-01, so h2o never picks it to encrypt before the ring does. */
export const H2O_NEXT_NOT_BEFORE = 4102444800;

export function h2oHolds(ring: KeyRing, now: number): TicketKey[] {
  return [nextKey(ring), currentKey(ring), ...previousKeys(ring, now)];
}

export function h2oFile(ring: KeyRing, now: number): Buffer {
  const entries = h2oHolds(ring, now).map((key) => {
    const notBefore = key.state === 'next' ? H2O_NEXT_NOT_BEFORE : (key.activatedAt ?? key.createdAt);
    const notAfter = key.state === 'previous' ? Math.max(notBefore, decryptsUntil(ring, key)!) : H2O_NEXT_NOT_BEFORE;
    const hmac = Buffer.concat([key.hmacKey, Buffer.alloc(HMAC_KEY_BYTES - key.hmacKey.length)]);
    return [
      `- name: ${key.name.toString('hex')}`,
      `  cipher: aes-${key.aesKey.length * 8}-cbc`,
      '  hash: sha256',
      `  key: ${Buffer.concat([key.aesKey, hmac]).toString('hex')}`,
      `  not_before: ${notBefore}`,
      `  not_after: ${notAfter}`,
    ].join('\n');
  });
  return Buffer.from(`# Written by sessctl rotate-keys (${ring.keys.length} keys; the next key waits until ${H2O_NEXT_NOT_BEFORE}).\n${entries.join('\n')}\n`);
}

const AES_BYTES: Record<string, number> = { 'aes-128-cbc': 16, 'aes-256-cbc': 32 };

/** The file as h2o reads it: every entry decrypts, the newest not_before that has passed encrypts. */
export function loadH2oFile(data: Buffer, now: number): LoadedKey[] {
  const entries: Record<string, string>[] = [];
  for (const [i, raw] of data.toString('utf8').split('\n').entries()) {
    const line = raw.replace(/\s+$/, '');
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(- |  )([a-z_]+): (\S+)$/.exec(line);
    if (!m) throw new SessctlError(`line ${i + 1} is not "- name: ..." or "  field: value": sessctl reads the files it writes`);
    if (m[1] === '- ') entries.push({});
    const entry = entries[entries.length - 1];
    if (!entry) throw new SessctlError(`line ${i + 1}: a field before the first "- name:"`);
    entry[m[2]!] = m[3]!;
  }
  const keys = entries.map((e, i) => {
    const where = `entry ${i + 1}`;
    const aesBytes = AES_BYTES[(e.cipher ?? '').toLowerCase()];
    if (!e.name || !/^[0-9a-fA-F]{32}$/.test(e.name)) throw new SessctlError(`${where}: name must be 32 hex digits`);
    if (aesBytes === undefined) throw new SessctlError(`${where}: cipher ${e.cipher ?? '(none)'} is not aes-128-cbc or aes-256-cbc`);
    if ((e.hash ?? '').toLowerCase() !== 'sha256') throw new SessctlError(`${where}: hash ${e.hash ?? '(none)'} is not sha256`);
    if (!e.key || !/^[0-9a-fA-F]+$/.test(e.key) || e.key.length !== (aesBytes + HMAC_KEY_BYTES) * 2) throw new SessctlError(`${where}: key must be ${(aesBytes + HMAC_KEY_BYTES) * 2} hex digits`);
    const notBefore = Number(e.not_before);
    const notAfter = Number(e.not_after);
    if (!Number.isSafeInteger(notBefore) || !Number.isSafeInteger(notAfter) || notAfter < notBefore) throw new SessctlError(`${where}: not_before and not_after must be unix seconds, not_before first`);
    const key = Buffer.from(e.key, 'hex');
    return { name: Buffer.from(e.name, 'hex'), aesKey: key.subarray(0, aesBytes), hmacKey: key.subarray(aesBytes), notBefore, notAfter, where };
  });
  const started = keys.filter((k) => k.notBefore <= now).sort((a, b) => b.notBefore - a.notBefore)[0];
  const encrypting = started && now <= started.notAfter ? started : undefined;
  return keys.map((k) => ({ name: k.name, aesKey: k.aesKey, hmacKey: k.hmacKey, encrypts: k === encrypting, where: k.where }));
}
