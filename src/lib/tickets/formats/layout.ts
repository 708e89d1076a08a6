/**
 * Byte layouts of one ticket key, as each server reads it (docs/TICKET-KEYS.md; docs/ARCHITECTURE.md, "Ticket-key layouts").
 * The two orders differ: nginx (48 bytes) and HAProxy put the AES key before
 * the HMAC key; nginx (80 bytes), Traffic Server, Apache, Node and OpenSSL's
 * SSL_CTX_set_tlsext_ticket_keys put the HMAC key first.
 */
import type { TicketKey } from '../ring.js';

/** name16 | aes | hmac */
export function nameAesHmac(key: TicketKey): Buffer {
  return Buffer.concat([key.name, key.aesKey, key.hmacKey]);
}

/** name16 | hmac | aes */
export function nameHmacAes(key: TicketKey): Buffer {
  return Buffer.concat([key.name, key.hmacKey, key.aesKey]);
}

/** The parts of one key in a 48- or 80-byte layout, or undefined for any other length. */
export type KeyParts = Pick<TicketKey, 'name' | 'aesKey' | 'hmacKey'>;

/** Read name16 | aes | hmac (48 or 80 bytes). */
export function readNameAesHmac(bytes: Buffer): KeyParts | undefined {
  const half = secretHalf(bytes);
  if (half === undefined) return undefined;
  return { name: bytes.subarray(0, 16), aesKey: bytes.subarray(16, 16 + half), hmacKey: bytes.subarray(16 + half) };
}

/** Read name16 | hmac | aes (48 or 80 bytes). */
export function readNameHmacAes(bytes: Buffer): KeyParts | undefined {
  const half = secretHalf(bytes);
  if (half === undefined) return undefined;
  return { name: bytes.subarray(0, 16), hmacKey: bytes.subarray(16, 16 + half), aesKey: bytes.subarray(16 + half) };
}

function secretHalf(bytes: Buffer): number | undefined {
  return bytes.length === 48 ? 16 : bytes.length === 80 ? 32 : undefined;
}
