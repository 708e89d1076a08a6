/**
 * Resumption diagnosis, pure: given what a client holds and what a server
 * uses (its session cache entry, its ticket-key ring, its session-id
 * context) at a time `now`, will that server resume the session, and why not?
 *
 * It follows what an OpenSSL server does with a ClientHello
 * (ssl/ssl_sess.c, ssl_get_prev_session; ssl/t1_lib.c, tls_get_ticket_from_client):
 *  - a non-empty ticket is decrypted with the ticket keys; the session cache
 *    is not consulted for it (TLS 1.2 tickets, TLS 1.3 stateless PSKs);
 *  - a 32-byte TLS 1.3 ticket is a stateful one: a handle into the cache;
 *  - otherwise the session ID is looked up in the cache;
 *  - the session found (in the cache or inside the ticket) must not have
 *    timed out (time + timeout) and its session-id context must equal the
 *    server's ("We have the session requested by the client, but we don't
 *    want to use it in this context").
 * A TLS 1.3 client does not even offer a ticket past its lifetime
 * (ssl/statem/extensions_clnt.c, tls_construct_ctos_psk).
 *
 * Nothing here does I/O, reads the clock or returns key material.
 */
import { timingSafeEqual } from 'node:crypto';
import { formatDuration } from '../cli/format.js';
import { usageError } from '../errors.js';
import { decodeSession } from '../session/codec.js';
import { cipherSuite, protocolName } from '../session/names.js';
import type { Session } from '../session/types.js';
import { asciiIfPrintable, escapeBytes } from '../session/view.js';
import type { Entry } from '../store/types.js';
import { inspectTicket, type TicketInspection } from '../tickets/inspect.js';
import { decryptsUntil, findKey, type KeyRing } from '../tickets/ring.js';
import { isoTime } from '../time.js';

/** TLS 1.3's ssl_version (a session resumes only by ticket there). */
const TLS1_3 = 0x0304;

/** SSL_MAX_SID_CTX_LENGTH (include/openssl/ssl.h.in). */
export const MAX_SESSION_ID_CONTEXT_BYTES = 32;

/** A TLS 1.3 ticket this long is a stateful one: OpenSSL sends the session ID (SSL_MAX_SSL_SESSION_ID_LENGTH) as the ticket. */
const STATEFUL_TICKET_BYTES = 32;

export type Verdict = 'resumes' | 'will-not-resume' | 'undetermined';

/**
 * Reason codes. Decisive ones make the verdict:
 *   resumes:          live-in-store, ticket-key-live
 *   will-not-resume:  nothing-to-offer, client-expired, not-in-store, not-a-server-session,
 *                     expired, context-mismatch, master-key-mismatch, ticket-key-unknown,
 *                     ticket-key-retired, ticket-mac-invalid, ticket-undecryptable
 *   undetermined:     no-store, no-ring, ticket-format-unknown, unreadable-session
 * Notes (never decisive): context-not-checked, tls13-stateful-ticket, tls13-by-session-id,
 *   ticket-skips-store, ticket-renewed, retired-key-still-held.
 */
export type ReasonCode =
  | 'live-in-store'
  | 'ticket-key-live'
  | 'nothing-to-offer'
  | 'client-expired'
  | 'not-in-store'
  | 'not-a-server-session'
  | 'expired'
  | 'context-mismatch'
  | 'master-key-mismatch'
  | 'ticket-key-unknown'
  | 'ticket-key-retired'
  | 'ticket-mac-invalid'
  | 'ticket-undecryptable'
  | 'no-store'
  | 'no-ring'
  | 'ticket-format-unknown'
  | 'unreadable-session'
  | 'context-not-checked'
  | 'tls13-stateful-ticket'
  | 'tls13-by-session-id'
  | 'ticket-skips-store'
  | 'ticket-renewed'
  | 'retired-key-still-held';

export interface Finding {
  code: ReasonCode;
  message: string;
}

/** How a client offers a session to the server. */
export type Offer =
  | { kind: 'ticket' }
  /** `key`: the store key the server looks up (hex). */
  | { kind: 'stateful-ticket'; key: string }
  | { kind: 'session-id'; key: string }
  | { kind: 'nothing'; why: string };

export interface ContextView {
  hex: string;
  /** The bytes as text when every one is printable ASCII, else null. */
  ascii: string | null;
}

/** A time both ways: ISO 8601 (UTC) and seconds from `now` (negative: in the past). */
export interface Moment {
  at: string;
  fromNow: number;
}

/**
 * `sessctl explain --json` contract. Times are ISO 8601 UTC; durations and
 * `fromNow` are seconds; absent things are null; no secrets.
 */
export interface Explanation {
  verdict: Verdict;
  /** The findings that decide the verdict, most important first. */
  reasons: Finding[];
  /** Worth knowing, never decisive. */
  notes: Finding[];
  evidence: {
    now: string;
    /** What the client holds (--in), null when only an id was given. */
    held: {
      protocol: string;
      cipher: string;
      sessionId: string;
      sni: string | null;
      created: string | null;
      expires: Moment | null;
      sessionIdContext: ContextView | null;
    } | null;
    offer: { kind: Offer['kind']; key: string | null };
    server: { store: string | null; ring: string | null; sessionIdContext: ContextView | null };
    /** The server's session cache, when it was looked in. */
    lookup: {
      key: string;
      found: boolean;
      entry: {
        role: string;
        protocol: string;
        cipher: string;
        sni: string | null;
        created: string;
        /** The earlier of the store's expiry and the session's own time + timeout. */
        expires: Moment;
        expired: boolean;
        sessionIdContext: ContextView | null;
        /** Null when there is no client session to compare with. */
        masterKeyMatches: boolean | null;
      } | null;
    } | null;
    /** The client's ticket, when it offers one. */
    ticket: {
      length: number;
      keyName: string | null;
      format: 'openssl' | 'opaque';
      /** Null without a ring. */
      key: { known: boolean; state: string | null; decryptsUntil: string | null } | null;
      mac: 'valid' | 'invalid' | null;
      /** The server-side session inside (OpenSSL-format tickets under a key in the ring). */
      inside: {
        protocol: string;
        cipher: string;
        sni: string | null;
        created: string | null;
        expires: Moment | null;
        sessionIdContext: ContextView | null;
        masterKeyMatches: boolean;
      } | null;
    } | null;
  };
}

export interface DiagnosisInput {
  /** The session the client holds (decoded from --in). */
  held?: Session;
  /** Or only the id the client offers (hex). */
  id?: string;
  /** The server's session cache, if known: its URL and what it holds under the offer's key (undefined: nothing). */
  store?: { url: string; entry: Entry | undefined };
  /** The server's ticket keys, if known. */
  ring?: { name: string; ring: KeyRing };
  /** The server's session-id context; undefined: not known (not checked). */
  sessionIdContext?: Buffer;
  /** Unix seconds. */
  now: number;
}

/** How the client offers `held` (or the id): what the server will look for. */
export function offerOf(held: Session | undefined, id: string | undefined): Offer {
  if (!held) return id === undefined || id === '' ? { kind: 'nothing', why: 'no session and no id' } : { kind: 'session-id', key: id };
  const ticket = held.ticket;
  if (ticket && ticket.length > 0) {
    if (held.sslVersion === TLS1_3 && ticket.length === STATEFUL_TICKET_BYTES) return { kind: 'stateful-ticket', key: ticket.toString('hex') };
    return { kind: 'ticket' };
  }
  if (held.sslVersion === TLS1_3) return { kind: 'nothing', why: 'a TLS 1.3 session resumes only with a ticket (a PSK identity), and this one holds none' };
  if (held.sessionId.length === 0) return { kind: 'nothing', why: 'the session has neither a ticket nor a session ID' };
  return { kind: 'session-id', key: held.sessionId.toString('hex') };
}

/** Parse --session-id-context: text as UTF-8 bytes, or "hex:..." for raw bytes; at most 32 bytes. */
export function parseSessionIdContext(text: string): Buffer {
  let bytes: Buffer;
  if (text.startsWith('hex:')) {
    const hex = text.slice(4);
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) throw usageError(`--session-id-context: "${text}" is not hex:HEX (an even number of hex digits)`);
    bytes = Buffer.from(hex, 'hex');
  } else {
    bytes = Buffer.from(text, 'utf8');
  }
  if (bytes.length > MAX_SESSION_ID_CONTEXT_BYTES) {
    throw usageError(`--session-id-context is ${bytes.length} bytes: OpenSSL allows at most ${MAX_SESSION_ID_CONTEXT_BYTES}`);
  }
  return bytes;
}

export function contextView(bytes: Buffer | undefined): ContextView | null {
  return bytes === undefined ? null : { hex: bytes.toString('hex'), ascii: asciiIfPrintable(bytes) };
}

/** A context for messages: "login-portal" (6c6f…) or hex:..., or (empty). */
export function contextLabel(view: ContextView | null): string {
  if (view === null || view.hex === '') return '(empty)';
  return view.ascii === null ? `hex:${view.hex}` : `"${view.ascii}"`;
}

function moment(unix: number, now: number): Moment {
  return { at: isoTime(unix), fromNow: unix - now };
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Where a session stops resuming: time + timeout, or undefined when it carries neither. */
function ownExpiry(session: Session): number | undefined {
  return session.time !== undefined && session.timeout !== undefined ? session.time + session.timeout : undefined;
}

/** The diagnosis. Pure: same input, same answer. */
export function diagnose(input: DiagnosisInput): Explanation {
  const { held, now } = input;
  const blocking: Finding[] = [];
  const unknown: Finding[] = [];
  const positive: Finding[] = [];
  const notes: Finding[] = [];
  const offer = offerOf(held, input.id);
  const serverContext = input.sessionIdContext;

  const evidence: Explanation['evidence'] = {
    now: isoTime(now),
    held: held
      ? {
          protocol: protocolName(held.sslVersion),
          cipher: cipherSuite(held.cipherId).opensslName,
          sessionId: held.sessionId.toString('hex'),
          sni: held.sni === undefined ? null : escapeBytes(Buffer.from(held.sni, 'latin1')),
          created: held.time === undefined ? null : isoTime(held.time),
          expires: ownExpiry(held) === undefined ? null : moment(ownExpiry(held)!, now),
          sessionIdContext: contextView(held.sessionIdContext),
        }
      : null,
    offer: { kind: offer.kind, key: offer.kind === 'session-id' || offer.kind === 'stateful-ticket' ? offer.key : null },
    server: { store: input.store?.url ?? null, ring: input.ring?.name ?? null, sessionIdContext: contextView(serverContext) },
    lookup: null,
    ticket: null,
  };

  /** The checks every found session goes through: expiry, context, master key. */
  const checkSession = (what: string, expiresAt: number | undefined, context: Buffer | undefined, masterKeyMatches: boolean | null): void => {
    if (expiresAt !== undefined && expiresAt <= now) {
      blocking.push({ code: 'expired', message: `${what} expired at ${isoTime(expiresAt)} (${formatDuration(now - expiresAt)} ago)` });
    }
    const stored = contextView(context ?? Buffer.alloc(0));
    if (serverContext === undefined) {
      notes.push({
        code: 'context-not-checked',
        message: `${what} was made under session-id context ${contextLabel(stored)}; give --session-id-context to check it against the server's`,
      });
    } else if (!sameBytes(context ?? Buffer.alloc(0), serverContext)) {
      blocking.push({
        code: 'context-mismatch',
        message: `${what} was made under session-id context ${contextLabel(stored)}, the server uses ${contextLabel(contextView(serverContext))}: OpenSSL refuses a session from another context`,
      });
    }
    if (masterKeyMatches === false) {
      blocking.push({
        code: 'master-key-mismatch',
        message: `${what} has another master secret than the client's: it is a different session under the same name, and the handshake would fail`,
      });
    }
  };

  if (held && held.sslVersion === TLS1_3 && offer.kind !== 'nothing') {
    const expiresAt = ownExpiry(held);
    if (expiresAt !== undefined && expiresAt <= now) {
      blocking.push({
        code: 'client-expired',
        message: `the client's ticket lifetime ended at ${isoTime(expiresAt)} (${formatDuration(now - expiresAt)} ago): a TLS 1.3 client no longer offers it`,
      });
    }
  }

  if (offer.kind === 'nothing') {
    blocking.push({ code: 'nothing-to-offer', message: `nothing to resume with: ${offer.why}` });
  } else if (offer.kind === 'ticket') {
    explainTicket();
  } else {
    explainLookup(offer);
  }

  function explainTicket(): void {
    const session = held!;
    const ticket = session.ticket!;
    if (input.store) {
      notes.push({ code: 'ticket-skips-store', message: 'the session is offered with a ticket: a server that takes tickets decrypts it and does not look in its session cache' });
    }
    const inspection: TicketInspection = inspectTicket(session, input.ring?.ring, now);
    evidence.ticket = {
      length: ticket.length,
      keyName: inspection.keyName ?? null,
      format: inspection.format ?? 'opaque',
      key: null,
      mac: inspection.mac ?? null,
      inside: null,
    };
    if (!input.ring) {
      unknown.push({
        code: 'no-ring',
        message: `the session resumes by ticket (key ${inspection.keyName ?? 'unnamed'}): give --ring FILE, the server's ticket keys, to check it`,
      });
      return;
    }
    const { name: ringName, ring } = input.ring;
    const keyName = inspection.keyName ?? '(none)';
    const found = inspection.ring!;
    const key = inspection.keyName === undefined ? undefined : findKey(ring, Buffer.from(inspection.keyName, 'hex'));
    const until = key === undefined ? undefined : decryptsUntil(ring, key);
    evidence.ticket.key = { known: found.known, state: found.state ?? null, decryptsUntil: until === undefined ? null : isoTime(until) };
    if (inspection.format !== 'openssl') {
      unknown.push({
        code: 'ticket-format-unknown',
        message: `the ${ticket.length}-byte ticket is not in OpenSSL's format (key name | IV | AES-CBC | HMAC-SHA256): it cannot be checked against the ring`,
      });
      return;
    }
    if (!found.known) {
      blocking.push({
        code: 'ticket-key-unknown',
        message: `the ticket's key ${keyName} is not in the ring ${ringName}: it was issued under another ring's key, or under one dropped at a rotation`,
      });
      return;
    }
    if (found.state === 'retired') {
      blocking.push({
        code: 'ticket-key-retired',
        message: `the ticket's key ${keyName} is retired: its decrypt window ended at ${isoTime(until!)} (${formatDuration(now - until!)} ago)`,
      });
      notes.push({
        code: 'retired-key-still-held',
        message: 'servers given their keys at the last rotation still hold a retired key until the next rotate-keys drops it',
      });
      return;
    }
    if (inspection.mac === 'invalid') {
      blocking.push({ code: 'ticket-mac-invalid', message: `the ticket's HMAC does not verify under key ${keyName}: it was altered, or made under another key of the same name` });
      return;
    }
    if (!inspection.serverSession) {
      const problem = inspection.problem ?? 'the ticket does not decrypt';
      if (inspection.mac === 'valid' && /not an SSL_SESSION/.test(problem)) unknown.push({ code: 'unreadable-session', message: problem });
      else blocking.push({ code: 'ticket-undecryptable', message: `${problem} under key ${keyName}` });
      return;
    }
    const inside = inspection.serverSession;
    const insideExpiry = inside.time !== undefined && inside.timeout !== undefined ? inside.time + inside.timeout : undefined;
    const insideContext = inside.sessionIdContext === undefined ? undefined : Buffer.from(inside.sessionIdContext, 'hex');
    evidence.ticket.inside = {
      protocol: inside.protocol,
      cipher: inside.cipher,
      sni: inside.sni ?? null,
      created: inside.time === undefined ? null : isoTime(inside.time),
      expires: insideExpiry === undefined ? null : moment(insideExpiry, now),
      sessionIdContext: contextView(insideContext),
      masterKeyMatches: inside.masterKeyMatches,
    };
    const before = blocking.length;
    checkSession("the session inside the ticket", insideExpiry, insideContext, inside.masterKeyMatches);
    if (blocking.length > before) return;
    const state = found.state!;
    const where = {
      current: `the current key ${keyName}`,
      next: `the next key ${keyName} (pre-distributed: servers already decrypt with it)`,
      previous: `the previous key ${keyName}, which decrypts until ${until === undefined ? '?' : `${isoTime(until)} (${formatDuration(until - now)} left)`}`,
    }[state as 'current' | 'next' | 'previous'];
    positive.push({
      code: 'ticket-key-live',
      message: `the ticket is under ${where}; its session is live until ${insideExpiry === undefined ? '(no expiry)' : `${isoTime(insideExpiry)} (${formatDuration(insideExpiry - now)} left)`}`,
    });
    if (state === 'previous') {
      notes.push({ code: 'ticket-renewed', message: 'a server resuming a ticket under a previous key sends a new ticket under the current key' });
    }
  }

  function explainLookup(o: { kind: 'session-id' | 'stateful-ticket'; key: string }): void {
    if (o.kind === 'stateful-ticket') {
      notes.push({
        code: 'tls13-stateful-ticket',
        message: `the 32-byte TLS 1.3 ticket is stateful: a handle into the server's session cache (servers with tickets off, or anti-replay for early data), looked up as ${o.key}`,
      });
    }
    const how = o.kind === 'session-id' ? 'session ID' : 'stateful ticket';
    if (!input.store) {
      unknown.push({ code: 'no-store', message: `the session resumes by ${how}: give --store URL, the server's session cache, to check it` });
      return;
    }
    const { url, entry } = input.store;
    evidence.lookup = { key: o.key, found: entry !== undefined, entry: null };
    if (!entry) {
      blocking.push({
        code: 'not-in-store',
        message: `no session ${o.key} in ${url}: never stored there (another cache, or a server not using this one), removed, flushed or evicted`,
      });
      return;
    }
    let stored: Session;
    try {
      stored = decodeSession(entry.der);
    } catch (err) {
      unknown.push({ code: 'unreadable-session', message: `the entry ${o.key} in ${url} is not a readable session: ${(err as Error).message}` });
      return;
    }
    const own = ownExpiry(stored);
    const expiresAt = own === undefined ? entry.expiresAt : Math.min(own, entry.expiresAt);
    const masterKeyMatches = held ? sameBytes(stored.masterKey, held.masterKey) : null;
    evidence.lookup.entry = {
      role: entry.role,
      protocol: entry.protocol,
      cipher: entry.cipher,
      sni: entry.sni ?? null,
      created: isoTime(entry.createdAt),
      expires: moment(expiresAt, now),
      expired: expiresAt <= now,
      sessionIdContext: contextView(stored.sessionIdContext),
      masterKeyMatches,
    };
    if (entry.role !== 'server') {
      blocking.push({
        code: 'not-a-server-session',
        message: `${url} holds a client session under ${o.key}, not a server's: a server does not resume from it`,
      });
      return;
    }
    if (stored.sslVersion === TLS1_3 && o.kind === 'session-id') {
      notes.push({
        code: 'tls13-by-session-id',
        message: 'a TLS 1.3 session resumes by ticket, not by session ID: only a client holding a 32-byte stateful ticket equal to this key offers it (and Node 20 never resumes TLS 1.3 from its resumeSession event)',
      });
    }
    const before = blocking.length;
    checkSession(`the server's copy in ${url}`, expiresAt, stored.sessionIdContext, masterKeyMatches);
    if (blocking.length > before) return;
    positive.push({
      code: 'live-in-store',
      message: `${url} holds the server session ${o.key}, live until ${isoTime(expiresAt)} (${formatDuration(expiresAt - now)} left)${serverContext === undefined ? '' : ', under the server\'s session-id context'}`,
    });
  }

  const verdict: Verdict = blocking.length > 0 ? 'will-not-resume' : unknown.length > 0 ? 'undetermined' : 'resumes';
  const reasons = verdict === 'will-not-resume' ? blocking : verdict === 'undetermined' ? unknown : positive;
  return { verdict, reasons, notes, evidence };
}
