/**
 * The few fields a store needs to list and filter sessions, read in place.
 *
 * `decodeSession` builds every field (a Buffer each, an object per element)
 * and was a quarter of a fold's CPU over a million sessions in Redis
 * (docs/BENCHMARKS.md, bench/redis). `readSummary` walks the same bytes
 * once, allocates nothing, and records only numbers and offsets: protocol,
 * cipher, times, and where the session id, session-id context, SNI and ALPN
 * lie. It is a fast path, never a second judge of what a session is: it
 * accepts only what it has checked exactly as decodeSession checks it
 * (canonical DER, fields in order, each value's type and range, the bounded
 * walk of a peer certificate's structure), and on anything else answers
 * false, after which the caller asks decodeSession, which returns the same
 * fields or throws its error. test/session/summary.test.ts holds the two
 * together over the real vectors, generated sessions and mutations.
 */
import { MAX_DEPTH, MAX_SESSION_BYTES, decodeSession } from './codec.js';

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

/**
 * A session's summary fields as numbers and byte offsets into the DER it was
 * read from (-1: absent). One object is reused for every session of a fold.
 */
export class SummaryFields {
  sslVersion = 0;
  cipherId = 0;
  sessionIdStart = 0;
  sessionIdEnd = 0;
  /** [1], [2]: -1 when absent. */
  time = -1;
  timeout = -1;
  contextStart = -1;
  contextEnd = -1;
  sniStart = -1;
  sniEnd = -1;
  alpnStart = -1;
  alpnEnd = -1;
  hasTicket = false;
  hasPeer = false;
}

// What the fast path accepts, per optional field tag (ssl/ssl_asn1.c; the
// ranges are codec.ts's OPTIONAL_FIELDS): an INTEGER with its largest value, or
// an OCTET STRING with its largest length (-2: exactly one byte).
const INT64 = Number.MAX_SAFE_INTEGER;
const UINT32 = 0xffff_ffff;
const INT32 = 0x7fff_ffff;
const ANY = Infinity;
/** Tag -> 'i' INTEGER / 'o' OCTET STRING / 'c' certificate / 'k' [0] IMPLICIT. */
const KIND = 'kiicoioooioooiiioioio';
const LIMIT = [ANY, INT64, INT64, 0, 32, INT32, ANY, ANY, ANY, INT64, ANY, -2, ANY, INT64, UINT32, UINT32, ANY, UINT32, ANY, UINT32, ANY];

// Where the element last read by header() lies: no object per element.
let contentStart = 0;
let elementEnd = 0;

/**
 * The identifier byte of the DER element at `pos` within `limit`, setting
 * contentStart and elementEnd; -1 where readHeader (codec.ts) would throw,
 * or the element overruns `limit`.
 */
function header(der: Uint8Array, pos: number, limit: number): number {
  if (pos + 2 > limit) return -1;
  const tagByte = der[pos]!;
  if ((tagByte & 0x1f) === 0x1f) return -1;
  const first = der[pos + 1]!;
  let length: number;
  if (first < 0x80) {
    length = first;
    contentStart = pos + 2;
  } else {
    const count = first & 0x7f;
    if (count === 0 || count > 3 || pos + 2 + count > limit || der[pos + 2] === 0) return -1;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[pos + 2 + i]!;
    if (length < 0x80) return -1;
    contentStart = pos + 2 + count;
  }
  elementEnd = contentStart + length;
  return elementEnd <= limit ? tagByte : -1;
}

/** A canonical, non-negative INTEGER's value in contentStart..elementEnd, at most `max`; -1 otherwise. */
function integer(der: Uint8Array, max: number): number {
  const length = elementEnd - contentStart;
  if (length === 0 || length > 9) return -1;
  const lead = der[contentStart]!;
  if (lead & 0x80) return -1;
  if (length > 1 && lead === 0 && der[contentStart + 1]! < 0x80) return -1;
  let value = 0;
  for (let i = contentStart; i < elementEnd; i++) value = value * 256 + der[i]!;
  return value > max ? -1 : value;
}

/**
 * checkStructure's walk (codec.ts) over `start`..`end`, whose elements sit
 * `depth` constructed levels deep: every header well-formed and inside its
 * parent, nesting bounded by MAX_DEPTH. For the peer certificate.
 */
function walk(der: Uint8Array, start: number, end: number, depth: number): boolean {
  const ends: number[] = [end];
  let pos = start;
  while (ends.length > 0) {
    const limit = ends[ends.length - 1]!;
    if (pos === limit) {
      ends.pop();
      continue;
    }
    const tagByte = header(der, pos, limit);
    if (tagByte < 0) return false;
    if (tagByte & 0x20) {
      if (depth + ends.length - 1 >= MAX_DEPTH) return false;
      ends.push(elementEnd);
      pos = contentStart;
    } else {
      pos = elementEnd;
    }
  }
  return true;
}

/**
 * Read the summary fields of `der` into `out`. True: decodeSession accepts
 * `der` and its fields are these. False: the fast path does not vouch for it;
 * ask decodeSession (which may still accept it, or throws the reason).
 */
export function readSummary(der: Uint8Array, out: SummaryFields): boolean {
  const size = der.length;
  if (size === 0 || size > MAX_SESSION_BYTES || der[0] !== 0x30) return false;
  if (header(der, 0, size) < 0 || elementEnd !== size) return false;
  let pos = contentStart;

  // version INTEGER (1), ssl_version INTEGER, cipher, session_id, master_key OCTET STRING.
  if (header(der, pos, size) !== 0x02 || integer(der, INT32) !== 1) return false;
  pos = elementEnd;
  if (header(der, pos, size) !== 0x02) return false;
  const sslVersion = integer(der, 0xffff);
  if (sslVersion < 0) return false;
  pos = elementEnd;
  if (header(der, pos, size) !== 0x04 || elementEnd - contentStart !== 2) return false;
  out.cipherId = (der[contentStart]! << 8) | der[contentStart + 1]!;
  pos = elementEnd;
  if (header(der, pos, size) !== 0x04 || elementEnd - contentStart > 32) return false;
  out.sessionIdStart = contentStart;
  out.sessionIdEnd = elementEnd;
  pos = elementEnd;
  if (header(der, pos, size) !== 0x04 || elementEnd - contentStart > 64) return false;
  pos = elementEnd;
  out.sslVersion = sslVersion;
  out.time = -1;
  out.timeout = -1;
  out.contextStart = out.contextEnd = -1;
  out.sniStart = out.sniEnd = -1;
  out.alpnStart = out.alpnEnd = -1;
  out.hasTicket = false;
  out.hasPeer = false;

  let previousTag = -1;
  while (pos < size) {
    const tagByte = header(der, pos, size);
    if (tagByte < 0) return false;
    const tag = tagByte & 0x1f;
    if (tag <= previousTag || tag >= KIND.length) return false;
    previousTag = tag;
    const kind = KIND.charCodeAt(tag);
    const end = elementEnd;
    if (kind === 0x6b /* k */) {
      if (tagByte !== 0x80) return false;
      pos = end;
      continue;
    }
    // EXPLICIT: constructed, holding exactly one value.
    if (tagByte !== (0xa0 | tag)) return false;
    const inner = header(der, contentStart, end);
    if (inner < 0 || elementEnd !== end) return false;
    const limit = LIMIT[tag]!;
    if (kind === 0x69 /* i */) {
      if (inner !== 0x02) return false;
      const value = integer(der, limit);
      if (value < 0) return false;
      if (tag === 1) out.time = value;
      else if (tag === 2) out.timeout = value;
    } else if (kind === 0x6f /* o */) {
      const length = elementEnd - contentStart;
      if (inner !== 0x04 || (limit === -2 ? length !== 1 : length > limit)) return false;
      if (tag === 4) {
        out.contextStart = contentStart;
        out.contextEnd = elementEnd;
      } else if (tag === 6) {
        out.sniStart = contentStart;
        out.sniEnd = elementEnd;
      } else if (tag === 10) out.hasTicket = true;
      else if (tag === 16) {
        out.alpnStart = contentStart;
        out.alpnEnd = elementEnd;
      }
    } else {
      // [3] peer: a Certificate SEQUENCE, its structure walked as checkStructure does (3 levels deep: session, [3], certificate).
      if (inner !== 0x30 || !walk(der, contentStart, elementEnd, 3)) return false;
      out.hasPeer = true;
    }
    pos = end;
  }
  return true;
}

const scratch = new SummaryFields();

/** Summarise a session; throws the SessctlError decodeSession throws on bad input. */
export function summarizeSession(der: Uint8Array): SessionSummary {
  if (!readSummary(der, scratch)) return summaryOf(decodeSession(der));
  const f = scratch;
  const copy = (start: number, end: number) => Buffer.from(der.subarray(start, end));
  const summary: SessionSummary = { sslVersion: f.sslVersion, cipherId: f.cipherId, sessionId: copy(f.sessionIdStart, f.sessionIdEnd), hasTicket: f.hasTicket, hasPeer: f.hasPeer };
  if (f.time >= 0) summary.time = f.time;
  if (f.timeout >= 0) summary.timeout = f.timeout;
  if (f.contextStart >= 0) summary.sessionIdContext = copy(f.contextStart, f.contextEnd);
  if (f.sniStart >= 0) summary.sni = Buffer.from(der.buffer, der.byteOffset + f.sniStart, f.sniEnd - f.sniStart).toString('latin1');
  if (f.alpnStart >= 0) summary.alpn = copy(f.alpnStart, f.alpnEnd);
  return summary;
}

/** The summary of a session decoded in full (the slow path). */
export function summaryOf(s: ReturnType<typeof decodeSession>): SessionSummary {
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
