/**
 * Byte layouts of one ticket key, as each server reads it (docs/ARCHITECTURE.md, "Ticket-key layouts").
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
