/**
 * summarizeSession (the fast reader stores use to list sessions) must agree
 * with decodeSession on everything decodeSession accepts, and fail only with
 * SessctlError on anything else.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { SessctlError } from '../../src/lib/errors.js';
import { decodeSession, encodeSession } from '../../src/lib/session/codec.js';
import { summarizeSession } from '../../src/lib/session/summary.js';
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

describe('summarizeSession', () => {
  test.each(VECTORS)('$name: the same fields as decodeSession', ({ der }) => {
    expect(defined(summarizeSession(der))).toEqual(defined(expected(decodeSession(der))));
  });

  test('generated sessions: the same fields as decodeSession', () => {
    fc.assert(
      fc.property(sessionArbitrary, (s) => {
        const der = encodeSession(s);
        expect(defined(summarizeSession(der))).toEqual(defined(expected(s)));
      }),
      { numRuns: 500 },
    );
  });

  test('every single-byte change of a real session: agrees when decodeSession accepts, else a SessctlError', () => {
    const der = VECTORS.find((v) => v.der.length < 200)!.der;
    for (let at = 0; at < der.length; at++) {
      for (const value of [0x00, 0x01, 0x7f, 0x80, 0xa0, 0xff, der[at]! ^ 0x20]) {
        const mutated = Buffer.from(der);
        mutated[at] = value;
        let decoded: Session | undefined;
        try {
          decoded = decodeSession(mutated);
        } catch (err) {
          expect(err).toBeInstanceOf(SessctlError);
        }
        if (decoded) {
          expect(defined(summarizeSession(mutated))).toEqual(defined(expected(decoded)));
        } else {
          try {
            summarizeSession(mutated);
          } catch (err) {
            expect(err).toBeInstanceOf(SessctlError);
          }
        }
      }
    }
  });
});
