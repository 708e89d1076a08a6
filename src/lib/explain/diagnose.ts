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
 * This module decides; the contract is in types.ts and the sentences in
 * messages.ts. Nothing here does I/O, reads the clock or returns key material.
 */
import { timingSafeEqual } from 'node:crypto';
import { decodeSession } from '../session/codec.js';
import { cipherSuite, protocolName } from '../session/names.js';
import type { Session } from '../session/types.js';
import { escapeBytes } from '../session/bytes.js';
import { inspectTicket, type TicketInspection } from '../tickets/inspect.js';
import { decryptsUntil, findKey } from '../tickets/ring.js';
import { isoTime } from '../time.js';
import { contextView } from './context.js';
import { say, type Subject } from './messages.js';
import type { DiagnosisInput, Explanation, Finding, Moment, Offer, Verdict } from './types.js';

/** TLS 1.3's ssl_version (a session resumes only by ticket there). */
const TLS1_3 = 0x0304;

/** A TLS 1.3 ticket this long is a stateful one: OpenSSL sends the session ID (SSL_MAX_SSL_SESSION_ID_LENGTH) as the ticket. */
const STATEFUL_TICKET_BYTES = 32;

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
  const checkSession = (what: Subject, expiresAt: number | undefined, context: Buffer | undefined, masterKeyMatches: boolean | null): void => {
    if (expiresAt !== undefined && expiresAt <= now) blocking.push(say.expired(what, expiresAt, now));
    const stored = contextView(context ?? Buffer.alloc(0));
    if (serverContext === undefined) notes.push(say.contextNotChecked(what, stored));
    else if (!sameBytes(context ?? Buffer.alloc(0), serverContext)) blocking.push(say.contextMismatch(what, stored, contextView(serverContext)));
    if (masterKeyMatches === false) blocking.push(say.masterKeyMismatch(what));
  };

  // The client's own session past its time + timeout. A TLS 1.3 client does not offer it at all; a
  // TLS 1.2 client still does (ssl/statem/statem_clnt.c checks only SSL_SESSION_is_resumable), so
  // there it is the headline only when the server's side turns the session down as well.
  const clientExpiry = held === undefined || offer.kind === 'nothing' ? undefined : ownExpiry(held);
  const clientExpired = clientExpiry !== undefined && clientExpiry <= now;
  if (clientExpired && held!.sslVersion === TLS1_3) blocking.push(say.clientExpired(true, clientExpiry, now));

  if (offer.kind === 'nothing') {
    blocking.push(say.nothingToOffer(offer.why));
  } else if (offer.kind === 'ticket') {
    explainTicket();
  } else {
    explainLookup(offer);
  }

  function explainTicket(): void {
    const session = held!;
    const ticket = session.ticket!;
    if (input.store) notes.push(say.ticketSkipsStore());
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
      unknown.push(say.noRing(inspection.keyName));
      return;
    }
    const { name: ringName, ring } = input.ring;
    const keyName = inspection.keyName ?? '(none)';
    const found = inspection.ring!;
    const key = inspection.keyName === undefined ? undefined : findKey(ring, Buffer.from(inspection.keyName, 'hex'));
    const until = key === undefined ? undefined : decryptsUntil(ring, key);
    evidence.ticket.key = { known: found.known, state: found.state ?? null, decryptsUntil: until === undefined ? null : isoTime(until) };
    if (inspection.format !== 'openssl') {
      unknown.push(say.ticketFormatUnknown(ticket.length));
      return;
    }
    if (!found.known) {
      blocking.push(say.ticketKeyUnknown(keyName, ringName));
      return;
    }
    if (found.state === 'retired') {
      blocking.push(say.ticketKeyRetired(keyName, until!, now));
      notes.push(say.retiredKeyStillHeld());
      return;
    }
    if (found.notHeldBy) {
      blocking.push(say.ticketKeyNotHeld(keyName, found.state as 'current' | 'next' | 'previous', found.notHeldBy));
      return;
    }
    if (inspection.mac === 'invalid') {
      blocking.push(say.ticketMacInvalid(keyName));
      return;
    }
    if (!inspection.serverSession) {
      const problem = inspection.problem ?? 'the ticket does not decrypt';
      if (inspection.mac === 'valid' && /not an SSL_SESSION/.test(problem)) unknown.push(say.unreadableInTicket(problem));
      else blocking.push(say.ticketUndecryptable(problem, keyName));
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
    checkSession({ kind: 'in-ticket' }, insideExpiry, insideContext, inside.masterKeyMatches);
    if (blocking.length > before) return;
    const state = found.state as 'current' | 'next' | 'previous';
    positive.push(say.ticketKeyLive(keyName, state, until, insideExpiry, now));
    if (state === 'previous') notes.push(say.ticketRenewed());
  }

  function explainLookup(o: { kind: 'session-id' | 'stateful-ticket'; key: string }): void {
    if (o.kind === 'stateful-ticket') notes.push(say.tls13StatefulTicket(o.key));
    if (!input.store) {
      unknown.push(say.noStore(o.kind));
      return;
    }
    const { url, entry } = input.store;
    evidence.lookup = { key: o.key, found: entry !== undefined, entry: null };
    if (!entry) {
      blocking.push(say.notInStore(o.key, url));
      return;
    }
    let stored: Session;
    try {
      stored = decodeSession(entry.der);
    } catch (err) {
      unknown.push(say.unreadableInStore(o.key, url, (err as Error).message));
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
      blocking.push(say.notAServerSession(o.key, url));
      return;
    }
    if (stored.sslVersion === TLS1_3 && o.kind === 'session-id') notes.push(say.tls13BySessionId());
    const before = blocking.length;
    checkSession({ kind: 'in-store', url }, expiresAt, stored.sessionIdContext, masterKeyMatches);
    if (blocking.length > before) return;
    positive.push(say.liveInStore(o.key, url, expiresAt, now, serverContext !== undefined));
  }

  if (clientExpired && held!.sslVersion !== TLS1_3 && blocking.length > 0) blocking.unshift(say.clientExpired(false, clientExpiry, now));

  const verdict: Verdict = blocking.length > 0 ? 'will-not-resume' : unknown.length > 0 ? 'undetermined' : 'resumes';
  const reasons = verdict === 'will-not-resume' ? blocking : verdict === 'undetermined' ? unknown : positive;
  return { verdict, reasons, notes, evidence };
}
