/**
 * The `sessctl explain` contract: what the diagnosis takes (DiagnosisInput)
 * and what it answers (Explanation, printed as is by --json). Types only.
 */
import type { Session } from '../session/types.js';
import type { Entry } from '../store/types.js';
import type { KeyRing } from '../tickets/ring.js';

export type Verdict = 'resumes' | 'will-not-resume' | 'undetermined';

/**
 * Reason codes. Decisive ones make the verdict:
 *   resumes:          live-in-store, ticket-key-live
 *   will-not-resume:  nothing-to-offer, client-expired, not-in-store, not-a-server-session,
 *                     expired, context-mismatch, master-key-mismatch, ticket-key-unknown,
 *                     ticket-key-not-held, ticket-key-retired, ticket-mac-invalid, ticket-undecryptable
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
  | 'ticket-key-not-held'
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
