import { cipherSuite, protocolName } from '../session/names.js';
import { summarizeSession, type SessionSummary } from '../session/summary.js';
import { guessRole } from '../session/role.js';
import type { Session } from '../session/types.js';
import { usageError } from '../errors.js';
import type { Entry, Role } from './types.js';

/** OpenSSL's default session timeout (ssl/ssl_sess.c: SSL_get_default_timeout, 7200 s for TLS). */
export const DEFAULT_TIMEOUT_SECONDS = 7200;

export interface EntryOptions {
  /** Store key as hex; default: the session id. */
  key?: string;
  /** Default: guessed from the session (guessRole: a ticket, or a peer certificate without a session-ID context, means client), else "server". */
  role?: Role;
  partialKey?: string;
  /** Overrides the session's own timeout: expiresAt = createdAt + timeout. */
  timeout?: number;
  /** Unix seconds; the insert time, and the creation time of a session without one. */
  now: number;
}

const HEX_KEY = /^(?:[0-9a-f]{2}){0,32}$/;

/** Normalise a user- or network-supplied session id to the store's key form. */
export function normaliseKey(input: string): string {
  const key = input.trim().toLowerCase();
  if (!HEX_KEY.test(key)) {
    throw usageError(`not a session id: "${input.length > 80 ? `${input.slice(0, 80)}…` : input}" (expected 0 to 64 hex digits, an even number)`);
  }
  return key;
}

/**
 * Build the store entry for a session from its DER (throws SessctlError on bad
 * DER, as decodeSession does).
 */
export function entryFromDer(der: Buffer, options: EntryOptions): Entry {
  return entryFromSummary(summarizeSession(der), der, options);
}

/** The same, for a session already decoded. */
export function entryFromSession(session: Session, der: Buffer, options: EntryOptions): Entry {
  return entryFromSummary({ ...session, hasTicket: session.ticket !== undefined, hasPeer: session.peer !== undefined }, der, options);
}

function entryFromSummary(session: SessionSummary, der: Buffer, options: EntryOptions): Entry {
  const createdAt = session.time ?? options.now;
  const timeout = options.timeout ?? session.timeout ?? DEFAULT_TIMEOUT_SECONDS;
  const key = options.key === undefined ? session.sessionId.toString('hex') : normaliseKey(options.key);
  if (key === '') throw usageError('the session has an empty session id: give it a key with --id HEX');
  return {
    key,
    role: options.role ?? (guessRole(session).guess === 'client' ? 'client' : 'server'),
    ...(options.partialKey === undefined ? {} : { partialKey: options.partialKey }),
    der,
    size: der.length,
    createdAt,
    insertedAt: options.now,
    expiresAt: createdAt + timeout,
    protocol: protocolName(session.sslVersion),
    cipher: cipherSuite(session.cipherId).opensslName,
    ...(session.sni === undefined ? {} : { sni: session.sni }),
    ...(session.alpn === undefined ? {} : { alpn: session.alpn.toString('latin1') }),
    hasTicket: session.hasTicket,
  };
}
