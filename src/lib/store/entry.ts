import { cipherSuite, protocolName } from '../session/names.js';
import { decodeSession } from '../session/codec.js';
import { readSummary, summaryOf, SummaryFields, type SessionSummary } from '../session/summary.js';
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
  const c = columnsOf(der);
  const createdAt = c.time ?? options.now;
  const timeout = options.timeout ?? c.timeout ?? DEFAULT_TIMEOUT_SECONDS;
  const key = options.key === undefined ? c.sessionId() : normaliseKey(options.key);
  if (key === '') throw usageError('the session has an empty session id: give it a key with --id HEX');
  return entryOf(c, {
    key,
    role: options.role ?? c.guessedRole,
    ...(options.partialKey === undefined ? {} : { partialKey: options.partialKey }),
    der,
    size: der.length,
    createdAt,
    insertedAt: options.now,
    expiresAt: createdAt + timeout,
  });
}

/** The same, for a session already decoded. */
export function entryFromSession(session: Session, der: Buffer, options: EntryOptions): Entry {
  return entryFromDer(der, options);
}

/** What an Entry takes from the DER, read by readSummary (or decodeSession where it declines). */
export interface Columns {
  /** [1] and [2]; undefined when absent. */
  time: number | undefined;
  timeout: number | undefined;
  protocol: string;
  cipher: string;
  sni: string | undefined;
  alpn: string | undefined;
  hasTicket: boolean;
  /** guessRole's answer, "server" when it cannot tell. */
  guessedRole: Role;
  /** The session id as lowercase hex (computed on demand: stores know it from their key). */
  sessionId: () => string;
}

const fields = new SummaryFields();
const columns: Columns = { time: undefined, timeout: undefined, protocol: '', cipher: '', sni: undefined, alpn: undefined, hasTicket: false, guessedRole: 'server', sessionId: () => '' };
let columnsDer: Uint8Array = Buffer.alloc(0);
let slowSessionId: Buffer | undefined;
const sessionIdHex = (): string =>
  slowSessionId !== undefined ? slowSessionId.toString('hex') : Buffer.from(columnsDer.buffer, columnsDer.byteOffset + fields.sessionIdStart, fields.sessionIdEnd - fields.sessionIdStart).toString('hex');
columns.sessionId = sessionIdHex;

/**
 * The columns of the session in `der`, valid until the next call (one object
 * reused: a fold over a million sessions makes no garbage here). Throws the
 * SessctlError decodeSession throws on bad input.
 */
export function columnsOf(der: Uint8Array): Columns {
  const c = columns;
  columnsDer = der;
  if (readSummary(der, fields)) {
    slowSessionId = undefined;
    const view = Buffer.from(der.buffer, der.byteOffset, der.length);
    c.time = fields.time < 0 ? undefined : fields.time;
    c.timeout = fields.timeout < 0 ? undefined : fields.timeout;
    c.protocol = protocolName(fields.sslVersion);
    c.cipher = cipherSuite(fields.cipherId).opensslName;
    c.sni = fields.sniStart < 0 ? undefined : view.toString('latin1', fields.sniStart, fields.sniEnd);
    c.alpn = fields.alpnStart < 0 ? undefined : view.toString('latin1', fields.alpnStart, fields.alpnEnd);
    c.hasTicket = fields.hasTicket;
    c.guessedRole = roleOf({ hasTicket: fields.hasTicket, sessionIdContext: { length: Math.max(0, fields.contextEnd - fields.contextStart) }, hasPeer: fields.hasPeer });
    return c;
  }
  const s: SessionSummary = summaryOf(decodeSession(der));
  slowSessionId = s.sessionId;
  c.time = s.time;
  c.timeout = s.timeout;
  c.protocol = protocolName(s.sslVersion);
  c.cipher = cipherSuite(s.cipherId).opensslName;
  c.sni = s.sni;
  c.alpn = s.alpn?.toString('latin1');
  c.hasTicket = s.hasTicket;
  c.guessedRole = roleOf(s);
  return c;
}

const roleOf = (s: Parameters<typeof guessRole>[0]): Role => (guessRole(s).guess === 'client' ? 'client' : 'server');

/** The Entry: `base` (key, role, times, der, size) plus the columns from the DER. */
export function entryOf(c: Columns, base: Pick<Entry, 'key' | 'role' | 'partialKey' | 'der' | 'size' | 'createdAt' | 'insertedAt' | 'expiresAt'>): Entry {
  // Built in this order, absent fields left out (not undefined), as entries always were.
  const entry = { key: base.key, role: base.role } as Entry;
  if (base.partialKey !== undefined) entry.partialKey = base.partialKey;
  entry.der = base.der;
  entry.size = base.size;
  entry.createdAt = base.createdAt;
  entry.insertedAt = base.insertedAt;
  entry.expiresAt = base.expiresAt;
  entry.protocol = c.protocol;
  entry.cipher = c.cipher;
  if (c.sni !== undefined) entry.sni = c.sni;
  if (c.alpn !== undefined) entry.alpn = c.alpn;
  entry.hasTicket = c.hasTicket;
  return entry;
}
