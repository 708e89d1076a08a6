/**
 * The few fields a store needs to list and filter sessions.
 *
 * This used to be a second reader beside decodeSession, when decodeSession
 * went through asn1js (0.2 ms a session, which made `list` over a million
 * sessions in Redis take minutes). decodeSession now reads the bytes itself
 * in about the time the second reader took, so a summary is a decoded
 * session's fields, with the same checks and errors.
 */
import { decodeSession } from './codec.js';

export interface SessionSummary {
  sslVersion: number;
  cipherId: number;
  sessionId: Buffer;
  /** [1] unix seconds */
  time?: number;
  /** [2] seconds */
  timeout?: number;
  /** [4] */
  sessionIdContext?: Buffer;
  /** [6] */
  sni?: string;
  /** [10] present */
  hasTicket: boolean;
  /** [3] present: a peer certificate */
  hasPeer: boolean;
  /** [16] */
  alpn?: Buffer;
}

/** Summarise a session; throws the SessctlError decodeSession throws on bad input. */
export function summarizeSession(der: Uint8Array): SessionSummary {
  const s = decodeSession(der);
  return {
    sslVersion: s.sslVersion,
    cipherId: s.cipherId,
    sessionId: s.sessionId,
    ...(s.time === undefined ? {} : { time: s.time }),
    ...(s.timeout === undefined ? {} : { timeout: s.timeout }),
    ...(s.sessionIdContext === undefined ? {} : { sessionIdContext: s.sessionIdContext }),
    ...(s.sni === undefined ? {} : { sni: s.sni }),
    hasTicket: s.ticket !== undefined,
    hasPeer: s.peer !== undefined,
    ...(s.alpn === undefined ? {} : { alpn: s.alpn }),
  };
}
