/**
 * Ticket inspection: which key a client's ticket was issued under, whether
 * the ring still holds that key (will it resume?), and, for tickets in
 * OpenSSL's format, the server-side session inside.
 *
 * OpenSSL's ticket (ssl/statem/extensions_srvr.c, tls_construct_new_session_ticket;
 * nginx and HAProxy use it through the key callback):
 *
 *   key_name[16] | iv[16] | AES-CBC(i2d_SSL_SESSION)[n * 16] | HMAC-SHA256[32]
 *
 * The HMAC covers every preceding byte and is checked, in constant time,
 * before anything is decrypted: the ticket comes from the network.
 */
import { createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';
import { decodeSession } from '../session/codec.js';
import { protocolName, cipherSuite } from '../session/names.js';
import type { Session } from '../session/types.js';
import { decryptsUntil, findKey, keyState, type KeyRing, type KeyState, type TicketKey } from './ring.js';

const NAME_BYTES = 16;
const IV_BYTES = 16;
const MAC_BYTES = 32;
const AES_BLOCK = 16;

/** Named views of one ticket buffer (no copies). */
export interface TicketParts {
  keyName: Buffer;
  iv: Buffer;
  ciphertext: Buffer;
  mac: Buffer;
  /** Everything the MAC covers: key_name | iv | ciphertext. */
  macInput: Buffer;
}

/** Split a ticket in OpenSSL's format, or undefined when it cannot be one. */
export function splitTicket(ticket: Buffer): TicketParts | undefined {
  const encrypted = ticket.length - NAME_BYTES - IV_BYTES - MAC_BYTES;
  if (encrypted < AES_BLOCK || encrypted % AES_BLOCK !== 0) return undefined;
  const macAt = ticket.length - MAC_BYTES;
  return {
    keyName: ticket.subarray(0, NAME_BYTES),
    iv: ticket.subarray(NAME_BYTES, NAME_BYTES + IV_BYTES),
    ciphertext: ticket.subarray(NAME_BYTES + IV_BYTES, macAt),
    mac: ticket.subarray(macAt),
    macInput: ticket.subarray(0, macAt),
  };
}

/** True when the ticket's HMAC-SHA256 under `key` is right (constant-time comparison). */
export function verifyTicketMac(parts: TicketParts, key: TicketKey): boolean {
  const expected = createHmac('sha256', key.hmacKey).update(parts.macInput).digest();
  return timingSafeEqual(expected, parts.mac);
}

/**
 * The server-side SSL_SESSION DER inside a ticket, after its HMAC verified;
 * undefined when the MAC is wrong or the plaintext is not a padded block.
 * The result holds the master secret.
 */
export function openTicket(parts: TicketParts, key: TicketKey): Buffer | undefined {
  if (!verifyTicketMac(parts, key)) return undefined;
  const cipher = key.aesKey.length === 16 ? 'aes-128-cbc' : 'aes-256-cbc';
  try {
    const decipher = createDecipheriv(cipher, key.aesKey, parts.iv);
    return Buffer.concat([decipher.update(parts.ciphertext), decipher.final()]);
  } catch {
    return undefined;
  }
}

export interface TicketInspection {
  hasTicket: boolean;
  /** Ticket length in bytes. */
  length?: number;
  /** The key name the ticket was issued under (hex; not secret). */
  keyName?: string;
  /** 'openssl': the shape of OpenSSL's format; 'opaque': something else (e.g. a TLS 1.3 stateful ticket). */
  format?: 'openssl' | 'opaque';
  /** Present when a ring was given. */
  ring?: {
    /** The ring holds the ticket's key. */
    known: boolean;
    state?: KeyState;
    /** Previous keys: when the key stops decrypting, unix seconds. */
    decryptsUntil?: number;
    /**
     * Outputs whose servers do not hold the key although it is inside the
     * decrypt window (nginx's three slots, HAProxy's three lines, a one-key
     * file): those servers give the ticket a full handshake.
     */
    notHeldBy?: string[];
    /** The ticket's key decrypts it and its MAC is right, and every output's servers hold the key: they resume it (if the session has not expired). */
    resumes: boolean;
  };
  /** OpenSSL-format tickets under a key in the ring. */
  mac?: 'valid' | 'invalid';
  /** What the server-side session inside says (no secrets). */
  serverSession?: {
    protocol: string;
    cipher: string;
    /** Unix seconds. */
    time?: number;
    timeout?: number;
    sni?: string;
    sessionIdContext?: string;
    /** The server's master secret equals the client's (compared in constant time). */
    masterKeyMatches: boolean;
  };
  /** Why the inside could not be read, when it could not. */
  problem?: string;
}

/** Decrypt a session's ticket with the ring: the key and the server-side DER (secret), or undefined. */
export function decryptTicket(session: Session, ring: KeyRing): { key: TicketKey; der: Buffer } | undefined {
  const parts = session.ticket ? splitTicket(session.ticket) : undefined;
  const key = parts ? findKey(ring, parts.keyName) : undefined;
  const der = parts && key ? openTicket(parts, key) : undefined;
  return key && der ? { key, der } : undefined;
}

/**
 * Inspect the ticket a (client-side) session carries, against `ring` when
 * given. JSON-able; carries no key material.
 */
export function inspectTicket(session: Session, ring: KeyRing | undefined, now: number): TicketInspection {
  const ticket = session.ticket;
  if (!ticket || ticket.length === 0) return { hasTicket: false };
  const parts = splitTicket(ticket);
  const result: TicketInspection = {
    hasTicket: true,
    length: ticket.length,
    format: parts ? 'openssl' : 'opaque',
    ...(ticket.length >= NAME_BYTES ? { keyName: ticket.subarray(0, NAME_BYTES).toString('hex') } : {}),
  };
  if (!ring) return result;
  const key = ticket.length >= NAME_BYTES ? findKey(ring, ticket.subarray(0, NAME_BYTES)) : undefined;
  if (!key) {
    result.ring = { known: false, resumes: false };
    return result;
  }
  const state = keyState(ring, key, now);
  const until = decryptsUntil(ring, key);
  const live = state !== 'retired';
  const notHeldBy = live && key.notHeldBy?.length ? key.notHeldBy : undefined;
  result.ring = { known: true, state, ...(until === undefined ? {} : { decryptsUntil: until }), ...(notHeldBy ? { notHeldBy } : {}), resumes: live && !notHeldBy };
  if (!parts) return result;
  const der = openTicket(parts, key);
  result.mac = verifyTicketMac(parts, key) ? 'valid' : 'invalid';
  if (!der) {
    result.ring.resumes = false;
    result.problem = result.mac === 'invalid' ? 'the HMAC does not match: the ticket was altered or made under another key with this name' : 'the ticket does not decrypt';
    return result;
  }
  let inside: Session;
  try {
    inside = decodeSession(der);
  } catch (err) {
    result.problem = `the decrypted ticket is not an SSL_SESSION: ${(err as Error).message}`;
    return result;
  }
  result.serverSession = {
    protocol: protocolName(inside.sslVersion),
    cipher: cipherSuite(inside.cipherId).opensslName,
    ...(inside.time === undefined ? {} : { time: inside.time }),
    ...(inside.timeout === undefined ? {} : { timeout: inside.timeout }),
    ...(inside.sni === undefined ? {} : { sni: inside.sni }),
    ...(inside.sessionIdContext === undefined ? {} : { sessionIdContext: inside.sessionIdContext.toString('hex') }),
    masterKeyMatches: inside.masterKey.length === session.masterKey.length && timingSafeEqual(inside.masterKey, session.masterKey),
  };
  return result;
}

/** The inspection as lines for `get`'s text output (no secrets), in sess_id -text's style. */
export function inspectionText(i: TicketInspection, now: number): string {
  if (!i.hasTicket) return '';
  const lines = ['Ticket:', `    Key name  : ${i.keyName ?? '(too short to carry one)'}`, `    Format    : ${i.format === 'openssl' ? 'OpenSSL (key name | IV | AES-CBC | HMAC-SHA256)' : 'opaque'}, ${i.length} bytes`];
  if (i.ring) {
    const until = i.ring.decryptsUntil === undefined ? '' : ` until ${new Date(i.ring.decryptsUntil * 1000).toISOString().replace('.000Z', 'Z')}`;
    const state = i.ring.known ? `${i.ring.state} key${i.ring.state === 'previous' ? ` (decrypts${until}, ${Math.max(0, (i.ring.decryptsUntil ?? now) - now)} s left)` : ''}` : 'not in the ring';
    lines.push(`    In ring   : ${state}`);
    if (i.ring.notHeldBy) lines.push(`    Not held  : by the servers of ${i.ring.notHeldBy.join(', ')} (fewer key slots than the decrypt window)`);
    lines.push(`    Resumes   : ${i.ring.resumes ? 'yes' : 'no'}`);
  }
  if (i.mac) lines.push(`    HMAC      : ${i.mac}`);
  if (i.serverSession) {
    const s = i.serverSession;
    lines.push(`    Inside    : ${s.protocol} ${s.cipher}${s.sni ? `, SNI ${s.sni}` : ''}; master key ${s.masterKeyMatches ? 'matches' : 'DIFFERS from'} the client's`);
  }
  if (i.problem) lines.push(`    Problem   : ${i.problem}`);
  return lines.join('\n');
}
