/**
 * readSummary (the lean pass stores use to list sessions, session/summary.ts)
 * against decodeSession (the full codec): on every input, it vouches for a
 * session exactly when decodeSession accepts it, with exactly the fields
 * decodeSession gives; and summarizeSession, built on it, agrees too and fails
 * only with decodeSession's SessctlError.
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { SessctlError } from '../../src/lib/errors.js';
import { decodeSession, encodeSession } from '../../src/lib/session/codec.js';
import { readSummary, summarizeSession, SummaryFields } from '../../src/lib/session/summary.js';
import type { Session } from '../../src/lib/session/types.js';
import { sessionArbitrary } from './arbitrary.js';
import { VECTORS } from './vectors.js';

function expected(s: Session) {
  return {
    sslVersion: s.sslVersion,
    cipherId: s.cipherId,
    sessionId: s.sessionId,
    time: s.time,
    timeout: s.timeout,
    sessionIdContext: s.sessionIdContext,
    sni: s.sni,
    hasTicket: s.ticket !== undefined,
    hasPeer: s.peer !== undefined,
    alpn: s.alpn,
  };
}

const defined = (o: object) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
const slice = (der: Uint8Array, start: number, end: number) => (start < 0 ? undefined : Buffer.from(der.subarray(start, end)));

/** What readSummary read, in decodeSession's terms; undefined when it did not vouch for the input. */
function lean(der: Uint8Array) {
  const f = new SummaryFields();
  // Left over from another session: a field absent from this one must not survive.
  Object.assign(f, { time: 5, timeout: 5, contextStart: 1, contextEnd: 2, sniStart: 1, sniEnd: 2, alpnStart: 1, alpnEnd: 2, hasTicket: true, hasPeer: true });
  if (!readSummary(der, f)) return undefined;
  return {
    sslVersion: f.sslVersion,
    cipherId: f.cipherId,
    sessionId: slice(der, f.sessionIdStart, f.sessionIdEnd),
    time: f.time < 0 ? undefined : f.time,
    timeout: f.timeout < 0 ? undefined : f.timeout,
    sessionIdContext: slice(der, f.contextStart, f.contextEnd),
    sni: slice(der, f.sniStart, f.sniEnd)?.toString('latin1'),
    hasTicket: f.hasTicket,
    hasPeer: f.hasPeer,
    alpn: slice(der, f.alpnStart, f.alpnEnd),
  };
}

/** summarizeSession's refusal of an input, or undefined when it accepts it. */
function summaryRefusal(der: Uint8Array): unknown {
  try {
    summarizeSession(der);
    return undefined;
  } catch (err) {
    return err;
  }
}

/**
 * The lean reader and summarizeSession against decodeSession on one input;
 * whether decodeSession accepted it. The comparisons are plain (isDeepStrictEqual)
 * and vitest's expect runs only on a disagreement, to report it: the exhaustive
 * tests below make a few hundred thousand of them.
 */
function agree(der: Uint8Array): boolean {
  let full: Session | undefined;
  let refusal: unknown;
  try {
    full = decodeSession(der);
  } catch (err) {
    if (!(err instanceof SessctlError)) expect(err).toBeInstanceOf(SessctlError);
    refusal = err;
  }
  const read = lean(der);
  if (full === undefined) {
    if (read !== undefined) expect(read, 'readSummary vouched for what decodeSession refused').toBeUndefined();
    const summary = summaryRefusal(der);
    if (!(summary instanceof SessctlError) || summary.message !== (refusal as Error).message) {
      expect(() => summarizeSession(der)).toThrow((refusal as Error).message);
    }
    return false;
  }
  const want = defined(expected(full));
  if (read === undefined || !isDeepStrictEqual(defined(read), want)) expect(read && defined(read)).toEqual(want);
  const summary = defined(summarizeSession(der));
  if (!isDeepStrictEqual(summary, want)) expect(summary).toEqual(want);
  return true;
}

/** Edits of a real or generated session: overwrite, insert, delete a few bytes. */
const edit = (base: fc.Arbitrary<Buffer>) =>
  fc.tuple(base, fc.nat(), fc.integer({ min: 0, max: 4 }), fc.uint8Array({ maxLength: 4 })).map(([der, at, remove, insert]) => {
    const pos = at % (der.length + 1);
    return Buffer.concat([der.subarray(0, pos), insert, der.subarray(pos + remove)]);
  });

describe('readSummary and summarizeSession against decodeSession', () => {
  test.each(VECTORS)('$name: the same fields', ({ der }) => {
    expect(agree(der)).toBe(true);
  });

  test('generated sessions: the same fields', () => {
    fc.assert(
      fc.property(sessionArbitrary, (s) => {
        expect(agree(encodeSession(s))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  test('generated sessions carrying a real peer certificate: the same fields', () => {
    const peers = VECTORS.map((v) => decodeSession(v.der).peer).filter((p) => p !== undefined);
    expect(peers.length).toBeGreaterThanOrEqual(3);
    fc.assert(
      fc.property(sessionArbitrary, fc.constantFrom(...peers), (s, peer) => {
        expect(agree(encodeSession({ ...s, peer }))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  test('every single-byte change of every real session: accepted and refused alike', () => {
    let accepted = 0;
    let refused = 0;
    for (const { der } of VECTORS) {
      for (let at = 0; at < der.length; at++) {
        for (const value of [0x00, 0x01, 0x02, 0x04, 0x1f, 0x30, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0xa0, 0xa3, 0xff, der[at]! ^ 0x20, der[at]! + 1]) {
          const mutated = Buffer.from(der);
          mutated[at] = value & 0xff;
          if (agree(mutated)) accepted += 1;
          else refused += 1;
        }
      }
    }
    // Both sides of the comparison were exercised.
    expect(accepted).toBeGreaterThan(1000);
    expect(refused).toBeGreaterThan(1000);
  });

  test('truncations of every real session', () => {
    for (const { der } of VECTORS) for (let end = 0; end < der.length; end++) expect(agree(der.subarray(0, end))).toBe(false);
  });

  test('random edits of real and generated sessions', () => {
    const real = fc.constantFrom(...VECTORS.map((v) => v.der));
    const generated = sessionArbitrary.map((s) => encodeSession(s));
    fc.assert(
      fc.property(edit(fc.oneof(real, generated)), (der) => {
        agree(der);
      }),
      { numRuns: 5000 },
    );
  });

  test('random bytes behind a SEQUENCE header, and nesting at the depth limit inside a certificate', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), (bytes) => {
        const body = Buffer.from(bytes);
        const length = body.length < 0x80 ? Buffer.from([body.length]) : Buffer.from([0x82, body.length >> 8, body.length & 0xff]);
        agree(Buffer.concat([Buffer.from([0x30]), length, body]));
      }),
      { numRuns: 3000 },
    );
    // "Certificates" of nested SEQUENCEs on both sides of decodeSession's depth limit.
    const base = { version: 1 as const, sslVersion: 0x0303, cipherId: 0xc02f, sessionId: Buffer.alloc(32, 1), masterKey: Buffer.alloc(48, 2) };
    const nest = (levels: number) => {
      let inner = Buffer.from([0x05, 0x00]);
      for (let i = 0; i < levels; i++) inner = Buffer.concat([Buffer.from([0x30, inner.length]), inner]);
      return inner;
    };
    const accepted = [10, 11, 12, 13, 14, 15, 16, 17].map((levels) => agree(encodeSession({ ...base, peer: nest(levels) })));
    // Both sides of the limit were reached, and agreed on.
    expect(accepted).toContain(true);
    expect(accepted).toContain(false);
  });
});
