/**
 * The few fields a store needs to list and filter sessions, read straight
 * from the DER without building the whole session.
 *
 * Why a second reader next to decodeSession: asn1js costs 0.1 to 0.2 ms per
 * session (measured: bench notes in docs/BENCHMARKS.md), which made `list`
 * over a million sessions in Redis take minutes, and Apache's entries carry
 * nothing but the DER. This reader only looks at top-level primitive fields,
 * after checkStructure (the codec's bounded, iterative TLV walk) has accepted
 * the structure, so it inherits the codec's protection against hostile input;
 * a test checks it agrees with decodeSession on every real vector and on
 * generated sessions. Anything it cannot read the simple way is left to
 * decodeSession, whose error is the one the user sees.
 */
import { invalidInput } from '../errors.js';
import { checkStructure, decodeSession, readHeader } from './codec.js';

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

const INTEGER = 0x02;
const OCTET_STRING = 0x04;
/** Explicit context tags are constructed: 0xa0 | tag. */
const CONTEXT = 0xa0;

/** Summarise a session; throws the same SessctlError decodeSession would on bad input. */
export function summarizeSession(der: Uint8Array): SessionSummary {
  const offsets = checkStructure(der);
  const element = (i: number) => {
    const start = offsets[i]!;
    const end = offsets[i + 1] ?? der.length;
    return { start, end, header: readHeader(der, start, end) };
  };
  const contentOf = (i: number, tag: number): Uint8Array | undefined => {
    if (i >= offsets.length) return undefined;
    const { start, end, header } = element(i);
    if (der[start] !== tag) return undefined;
    return der.subarray(start + header.headerLength, end);
  };
  const uint = (bytes: Uint8Array | undefined): number | undefined => {
    // Canonical, non-negative, at most 6 bytes: what real sessions hold.
    if (bytes === undefined || bytes.length === 0 || bytes.length > 7 || (bytes[0]! & 0x80) !== 0) return undefined;
    if (bytes.length > 1 && bytes[0] === 0 && (bytes[1]! & 0x80) === 0) return undefined;
    let n = 0;
    for (const b of bytes) n = n * 256 + b;
    return Number.isSafeInteger(n) ? n : undefined;
  };
  /** The primitive inside an explicit [tag]: its contents, or undefined when its type is not `inner`. */
  const explicit = (content: Uint8Array, inner: number): Uint8Array | undefined => {
    if (content.length < 2 || content[0] !== inner) return undefined;
    const h = readHeader(content, 0, content.length);
    return h.headerLength + h.length === content.length ? content.subarray(h.headerLength) : undefined;
  };

  const version = uint(contentOf(0, INTEGER));
  const sslVersion = uint(contentOf(1, INTEGER));
  const cipher = contentOf(2, OCTET_STRING);
  const sessionId = contentOf(3, OCTET_STRING);
  const masterKey = contentOf(4, OCTET_STRING);
  if (version !== 1 || sslVersion === undefined || sslVersion > 0xffff || cipher?.length !== 2 || sessionId === undefined || sessionId.length > 32 || masterKey === undefined) {
    return slow(der);
  }
  const summary: SessionSummary = {
    sslVersion,
    cipherId: (cipher[0]! << 8) | cipher[1]!,
    sessionId: Buffer.from(sessionId),
    hasTicket: false,
    hasPeer: false,
  };
  let previous = -1;
  for (let i = 5; i < offsets.length; i++) {
    const { start, end, header } = element(i);
    const tagByte = der[start]!;
    const tag = tagByte & 0x1f;
    if ((tagByte & 0xe0) !== CONTEXT || tag <= previous || tag > 20) return slow(der);
    previous = tag;
    const content = der.subarray(start + header.headerLength, end);
    switch (tag) {
      case 1:
      case 2: {
        const n = uint(explicit(content, INTEGER));
        if (n === undefined) return slow(der);
        if (tag === 1) summary.time = n;
        else summary.timeout = n;
        break;
      }
      case 4:
      case 6:
      case 16: {
        const bytes = explicit(content, OCTET_STRING);
        if (bytes === undefined) return slow(der);
        if (tag === 4) summary.sessionIdContext = Buffer.from(bytes);
        else if (tag === 6) summary.sni = Buffer.from(bytes).toString('latin1');
        else summary.alpn = Buffer.from(bytes);
        break;
      }
      case 3:
        summary.hasPeer = true;
        break;
      case 10:
        summary.hasTicket = true;
        break;
      default:
        break;
    }
  }
  return summary;
}

/** The unusual case: let the full decoder judge it (and name what is wrong). */
function slow(der: Uint8Array): SessionSummary {
  const s = decodeSession(der);
  if (s === undefined) throw invalidInput('not an SSL session');
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
