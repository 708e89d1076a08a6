/**
 * The English of each finding: one function per reason code, given the facts
 * the decision (diagnose.ts) found. The decision never writes a sentence; this
 * module never decides.
 */
import { formatDuration, isoTime } from '../time.js';
import type { ContextView, Finding } from './types.js';

/** A context for messages: "login-portal", hex:..., or (empty). */
export function contextLabel(view: ContextView | null): string {
  if (view === null || view.hex === '') return '(empty)';
  return view.ascii === null ? `hex:${view.hex}` : `"${view.ascii}"`;
}

/** Which copy of a session a check is about. */
export type Subject = { kind: 'in-ticket' } | { kind: 'in-store'; url: string };

function subject(s: Subject): string {
  return s.kind === 'in-ticket' ? 'the session inside the ticket' : `the server's copy in ${s.url}`;
}

function ago(at: number, now: number): string {
  return `${isoTime(at)} (${formatDuration(now - at)} ago)`;
}

function left(at: number, now: number): string {
  return `${isoTime(at)} (${formatDuration(at - now)} left)`;
}

export const say = {
  nothingToOffer: (why: string): Finding => ({ code: 'nothing-to-offer', message: `nothing to resume with: ${why}` }),

  /** TLS 1.3: the client stops offering it; TLS 1.2: it still offers it, and the server's copy has timed out with it. */
  clientExpired: (tls13: boolean, expiresAt: number, now: number): Finding => ({
    code: 'client-expired',
    message: tls13
      ? `the client's ticket lifetime ended at ${ago(expiresAt, now)}: a TLS 1.3 client no longer offers it`
      : `the client's session expired at ${ago(expiresAt, now)}: a server's copy made with it has timed out too`,
  }),

  expired: (s: Subject, expiresAt: number, now: number): Finding => ({ code: 'expired', message: `${subject(s)} expired at ${ago(expiresAt, now)}` }),

  contextNotChecked: (s: Subject, stored: ContextView | null): Finding => ({
    code: 'context-not-checked',
    message: `${subject(s)} was made under session-id context ${contextLabel(stored)}; give --session-id-context to check it against the server's`,
  }),

  contextMismatch: (s: Subject, stored: ContextView | null, server: ContextView | null): Finding => ({
    code: 'context-mismatch',
    message: `${subject(s)} was made under session-id context ${contextLabel(stored)}, the server uses ${contextLabel(server)}: OpenSSL refuses a session from another context`,
  }),

  masterKeyMismatch: (s: Subject): Finding => ({
    code: 'master-key-mismatch',
    message: `${subject(s)} has another master secret than the client's: it is a different session under the same name, and the handshake would fail`,
  }),

  ticketSkipsStore: (): Finding => ({
    code: 'ticket-skips-store',
    message: 'the session is offered with a ticket: a server that takes tickets decrypts it and does not look in its session cache',
  }),

  noRing: (keyName: string | undefined): Finding => ({
    code: 'no-ring',
    message: `the session resumes by ticket (key ${keyName ?? 'unnamed'}): give --ring FILE, the server's ticket keys, to check it`,
  }),

  ticketFormatUnknown: (length: number): Finding => ({
    code: 'ticket-format-unknown',
    message: `the ${length}-byte ticket is not in OpenSSL's format (key name | IV | AES-CBC | HMAC-SHA256): it cannot be checked against the ring`,
  }),

  ticketKeyUnknown: (keyName: string, ringName: string): Finding => ({
    code: 'ticket-key-unknown',
    message: `the ticket's key ${keyName} is not in the ring ${ringName}: it was issued under another ring's key, or under one dropped at a rotation`,
  }),

  /** A key of the decrypt window that some outputs could not give their servers (the ring's notHeldBy, docs/TICKET-KEYS.md). */
  ticketKeyNotHeld: (keyName: string, state: 'current' | 'next' | 'previous', outputs: string[]): Finding => ({
    code: 'ticket-key-not-held',
    message: `the ticket's key ${keyName} is the ring's ${state} key, but the servers of ${outputs.join(', ')} were not given it (fewer key slots than the decrypt window): they give the ticket a full handshake`,
  }),

  ticketKeyRetired: (keyName: string, until: number, now: number): Finding => ({
    code: 'ticket-key-retired',
    message: `the ticket's key ${keyName} is retired: its decrypt window ended at ${ago(until, now)}`,
  }),

  retiredKeyStillHeld: (): Finding => ({
    code: 'retired-key-still-held',
    message: 'servers given their keys at the last rotation still hold a retired key until the next rotate-keys drops it',
  }),

  ticketMacInvalid: (keyName: string): Finding => ({
    code: 'ticket-mac-invalid',
    message: `the ticket's HMAC does not verify under key ${keyName}: it was altered, or made under another key of the same name`,
  }),

  /** The ticket's HMAC verifies, but what it holds is no SSL_SESSION (inspectTicket's problem, already a sentence). */
  unreadableInTicket: (problem: string): Finding => ({ code: 'unreadable-session', message: problem }),

  ticketUndecryptable: (problem: string, keyName: string): Finding => ({ code: 'ticket-undecryptable', message: `${problem} under key ${keyName}` }),

  /** `until`: where a previous key stops decrypting. */
  ticketKeyLive: (keyName: string, state: 'current' | 'next' | 'previous', until: number | undefined, sessionExpiresAt: number | undefined, now: number): Finding => {
    const where = {
      current: `the current key ${keyName}`,
      next: `the next key ${keyName} (pre-distributed: servers already decrypt with it)`,
      previous: `the previous key ${keyName}, which decrypts until ${until === undefined ? '?' : left(until, now)}`,
    }[state];
    return {
      code: 'ticket-key-live',
      message: `the ticket is under ${where}; its session is live until ${sessionExpiresAt === undefined ? '(no expiry)' : left(sessionExpiresAt, now)}`,
    };
  },

  ticketRenewed: (): Finding => ({
    code: 'ticket-renewed',
    message: 'a server resuming a ticket under a previous key sends a new ticket under the current key',
  }),

  tls13StatefulTicket: (key: string): Finding => ({
    code: 'tls13-stateful-ticket',
    message: `the 32-byte TLS 1.3 ticket is stateful: a handle into the server's session cache (servers with tickets off, or anti-replay for early data), looked up as ${key}`,
  }),

  noStore: (how: 'session-id' | 'stateful-ticket'): Finding => ({
    code: 'no-store',
    message: `the session resumes by ${how === 'session-id' ? 'session ID' : 'stateful ticket'}: give --store URL, the server's session cache, to check it`,
  }),

  notInStore: (key: string, url: string): Finding => ({
    code: 'not-in-store',
    message: `no session ${key} in ${url}: never stored there (another cache, or a server not using this one), removed, flushed or evicted`,
  }),

  unreadableInStore: (key: string, url: string, problem: string): Finding => ({
    code: 'unreadable-session',
    message: `the entry ${key} in ${url} is not a readable session: ${problem}`,
  }),

  notAServerSession: (key: string, url: string): Finding => ({
    code: 'not-a-server-session',
    message: `${url} holds a client session under ${key}, not a server's: a server does not resume from it`,
  }),

  tls13BySessionId: (): Finding => ({
    code: 'tls13-by-session-id',
    message:
      'a TLS 1.3 session resumes by ticket, not by session ID: only a client holding a 32-byte stateful ticket equal to this key offers it (and Node 20 never resumes TLS 1.3 from its resumeSession event)',
  }),

  liveInStore: (key: string, url: string, expiresAt: number, now: number, contextChecked: boolean): Finding => ({
    code: 'live-in-store',
    message: `${url} holds the server session ${key}, live until ${left(expiresAt, now)}${contextChecked ? ", under the server's session-id context" : ''}`,
  }),
};
