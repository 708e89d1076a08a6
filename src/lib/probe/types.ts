/**
 * `sessctl probe --json`: the contract scripts and monitoring read. Names
 * listed in the issue (verdict, message, connections[].target/protocol/
 * offered/resumed/ticketKeyNames, keyGroups[].keyName/connections/targets/
 * ring, ticket, sessionId) stay stable; absent things are null.
 */
import type { KeyState } from '../tickets/ring.js';

export type ProbeVerdict = 'resumes' | 'broken' | 'cannot-tell';

/** What a connection belongs to: the checks of one target, or those across targets and names. */
export type ProbePhase = 'tickets' | 'session-ids' | 'matrix' | 'cross-name' | 'later';

export interface OfferRecord {
  /** "ticket": the session-ticket extension (TLS 1.2) or a PSK (TLS 1.3); "session-id": no ticket extension at all. */
  kind: 'ticket' | 'session-id';
  /** Index (in `connections`) of the connection the session came from. */
  from: number;
  /** The offered ticket's key name (lowercase hex), null for session IDs and tickets not in OpenSSL's format. */
  keyName: string | null;
  /** The server name the session was made under, when it differs from this connection's. */
  madeFor: string | null;
}

export interface TicketRecord {
  /** Lowercase hex for an OpenSSL-format ticket; null for an opaque one (no key name to read). */
  keyName: string | null;
  format: 'openssl' | 'opaque';
  /** Seconds. */
  lifetimeHint: number;
  length: number;
}

export interface ConnectionRecord {
  index: number;
  phase: ProbePhase;
  target: string;
  peer: string;
  sni: string | null;
  protocol: string;
  cipher: string;
  offered: OfferRecord | null;
  resumed: boolean;
  /** Lowercase hex, the key name of each OpenSSL-format ticket issued on this connection (opaque tickets have none). */
  ticketKeyNames: string[];
  tickets: TicketRecord[];
  /** A resumed connection on which the server issued a new ticket. */
  ticketReissued: boolean;
  /** The server's session ID on a connection without tickets (hex), null otherwise or when it gave none. */
  sessionId: string | null;
  verified: boolean;
  /** When an offer was not resumed and --ring was given: explain's reason for it. */
  why: string | null;
}

export type RingState = KeyState | 'unknown';

export interface KeyGroup {
  keyName: string;
  /** Connections that were issued a ticket under this key. */
  connections: number;
  targets: string[];
  /** The key's state in --ring, "unknown" when the ring does not hold it, null without --ring. */
  ring: RingState | null;
  /**
   * The outputs of --ring whose servers were not given this key although it
   * is inside the decrypt window (the ring's notHeldBy: nginx:DIR's three
   * files, HAProxy's three lines, a one-key file); null when every output
   * holds it, for a retired or unknown key, and without --ring.
   */
  notHeldBy: string[] | null;
  /** The lifetime hints (seconds) seen on its tickets. */
  lifetimeHints: number[];
  /** Ticket offers under this key: how many, how many resumed. */
  offered: number;
  resumed: number;
}

export interface Tally {
  offered: number;
  resumed: number;
}

export interface MatrixCell {
  from: string;
  to: string;
  /** null: nothing of that kind to offer. */
  ticket: boolean | null;
  sessionId: boolean | null;
}

export interface CrossNameResult {
  target: string;
  from: string;
  to: string;
  kind: 'ticket' | 'session-id';
  /** The server resumed a session made for `from` under `to`. */
  resumed: boolean;
}

export type FindingCode =
  | 'split-ticket-keys'
  | 'ticket-resumes-somewhere'
  | 'tickets-never-resume'
  | 'split-session-cache'
  | 'session-ids-never-resume'
  | 'no-session-cache'
  | 'issues-nothing'
  | 'ring-previous'
  | 'ring-not-held'
  | 'ring-retired'
  | 'ring-unknown'
  | 'ring-next'
  | 'lifetime-beyond-window'
  | 'expired-later'
  | 'cross-name-resumed'
  | 'not-verified'
  | 'no-tls12';

export interface ProbeFinding {
  code: FindingCode;
  /** Findings that decide "broken"; the others are facts. */
  breaks: boolean;
  message: string;
}

export interface ProbeReport {
  verdict: ProbeVerdict;
  /** The verdict line. */
  message: string;
  targets: string[];
  /** ISO 8601 UTC, when the probe started. */
  startedAt: string;
  connections: ConnectionRecord[];
  keyGroups: KeyGroup[];
  ticket: Tally;
  sessionId: Tally;
  /** Several targets: each target's ticket and session ID offered to every other. Empty for one target. */
  matrix: MatrixCell[];
  crossName: CrossNameResult[];
  findings: ProbeFinding[];
  /** --ring: its name, null without. */
  ring: string | null;
  /** --reuse-after seconds, null without. */
  reuseAfter: number | null;
}
