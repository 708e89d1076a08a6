/**
 * decodeSession reads the bytes itself (no ASN.1 library). Its promise: it
 * accepts exactly what OpenSSL writes, canonical DER, so whatever it accepts
 * encodes back to the same bytes, and everything else is a one-line
 * SessctlError. Checked here on changed real sessions and generated ones.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { SessctlError } from '../../src/lib/errors.js';
import { decodeSession, encodeSession } from '../../src/lib/session/codec.js';
import type { Session } from '../../src/lib/session/types.js';
import { sessionArbitrary } from './arbitrary.js';
import { VECTORS } from './vectors.js';

/** Decode `der`: the session, which must encode back to `der`, or undefined after a one-line SessctlError. */
function decodedOrRefused(der: Uint8Array): Session | undefined {
  let session: Session;
  try {
    session = decodeSession(der);
  } catch (err) {
    expect(err).toBeInstanceOf(SessctlError);
    expect((err as Error).message).not.toContain('\n');
    return undefined;
  }
  const again = encodeSession(session);
  if (!again.equals(der)) expect.fail(`accepted a session that is not canonical: ${Buffer.from(der).toString('hex')}`);
  return session;
}

function* singleByteChanges(der: Buffer): Generator<Buffer> {
  for (let at = 0; at < der.length; at++) {
    for (const value of [0x00, 0x01, 0x02, 0x04, 0x05, 0x24, 0x30, 0x7f, 0x80, 0x81, 0xa0, 0xbf, 0xff, der[at]! ^ 0x20, der[at]! ^ 0x01]) {
      if (value === der[at]) continue;
      const changed = Buffer.from(der);
      changed[at] = value;
      yield changed;
    }
  }
}

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('decodeSession on changed input', () => {
  test('every single-byte change of every real session: a canonical session, or a one-line error', () => {
    let accepted = 0;
    let refused = 0;
    for (const { der } of VECTORS) {
      for (const changed of singleByteChanges(der)) {
        if (decodedOrRefused(changed)) accepted += 1;
        else refused += 1;
      }
    }
    // Not vacuous: changes inside keys, ids and times still make a session; changes to the structure do not.
    expect(accepted).toBeGreaterThan(10_000);
    expect(refused).toBeGreaterThan(10_000);
  });

  test('random changes of generated sessions: a canonical session, or a one-line error', () => {
    fc.assert(
      fc.property(sessionArbitrary, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (s, changes) => {
        const der = encodeSession(s);
        for (const [at, value] of changes) der[at % der.length] = value;
        decodedOrRefused(der);
      }),
      { numRuns: 3000 },
    );
  });

  test('integers at the edges of their ranges', () => {
    // A session with only the required fields and [1] time = the given INTEGER contents.
    const withTime = (integer: string) => {
      const time = `02${(integer.length / 2).toString(16).padStart(2, '0')}${integer}`;
      const field = `a1${(time.length / 2).toString(16).padStart(2, '0')}${time}`;
      const body = `020101 02020303 0402c02f 0400 0400 ${field}`.replace(/\s+/g, '');
      return hex(`30${(body.length / 2).toString(16).padStart(2, '0')}${body}`);
    };
    const cases: [string, number | RegExp][] = [
      ['00', 0],
      ['7f', 127],
      ['0080', 128],
      ['1fffffffffffff', Number.MAX_SAFE_INTEGER],
      ['20000000000000', /9007199254740992 is out of range \(at most 9007199254740991\)/],
      ['20000000000001', /9007199254740993 is out of range/],
      ['00ffffffffffffff', /72057594037927935 is out of range/],
      ['0000', /non-canonical INTEGER/],
      ['80', /negative INTEGER/],
      ['', /empty INTEGER/],
    ];
    for (const [integer, expected] of cases) {
      const der = withTime(integer);
      if (typeof expected === 'number') expect(decodedOrRefused(der)?.time, integer).toBe(expected);
      else expect(() => decodeSession(der), integer).toThrow(expected);
    }
  });
});
