/**
 * decodeSession has two readers: readSession (straight from the bytes) and
 * explainSession (asn1js, field by field). The fast one must never accept
 * what the asn1js one would refuse, and must read the same session when both
 * accept; and it must actually be the one real sessions take.
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { checkStructure, encodeSession, explainSession, readSession } from '../../src/lib/session/codec.js';
import type { Session } from '../../src/lib/session/types.js';
import { sessionArbitrary } from './arbitrary.js';
import { VECTORS } from './vectors.js';

type Verdict = { fast: Session | undefined; slow: Session | undefined } | undefined;

/** Both readers on `der`; undefined when checkStructure refuses it (neither reader runs then). */
function bothReaders(der: Uint8Array): Verdict {
  let offsets: number[];
  try {
    offsets = checkStructure(der);
  } catch {
    return undefined;
  }
  let slow: Session | undefined;
  try {
    slow = explainSession(der, offsets);
  } catch {
    slow = undefined;
  }
  return { fast: readSession(der, offsets), slow };
}

/** The fast reader accepts only what the slow one accepts, with the same result; counts what each accepted. */
function expectAgreement(inputs: Iterable<Uint8Array>): { fast: number; slow: number } {
  const accepted = { fast: 0, slow: 0 };
  for (const der of inputs) {
    const verdict = bothReaders(der);
    if (verdict === undefined) continue;
    if (verdict.slow !== undefined) accepted.slow += 1;
    if (verdict.fast === undefined) continue;
    accepted.fast += 1;
    if (verdict.slow === undefined) expect.fail(`the fast reader accepted what asn1js refuses: ${Buffer.from(der).toString('hex')}`);
    // As text: toEqual walks a Buffer byte by byte, which makes this test take minutes.
    expect(text(verdict.fast)).toBe(text(verdict.slow));
  }
  return accepted;
}

/** A session as one string, buffers in hex, fields in the order they were set. */
const text = (s: Session) =>
  JSON.stringify(s, function (this: Record<string, unknown>, key: string, value: unknown) {
    // `value` has been through Buffer's toJSON already; the holder has the Buffer.
    const raw = this[key];
    return Buffer.isBuffer(raw) ? raw.toString('hex') : value;
  });

function* singleByteChanges(der: Buffer): Generator<Buffer> {
  for (let at = 0; at < der.length; at++) {
    for (const value of [0x00, 0x02, 0x04, 0x30, 0x80, 0xa0, 0xff, der[at]! ^ 0x20, der[at]! ^ 0x01]) {
      if (value === der[at]) continue;
      const mutated = Buffer.from(der);
      mutated[at] = value;
      yield mutated;
    }
  }
}

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('readSession (the fast reader)', () => {
  test.each(VECTORS)('$name: read without asn1js, the same session as asn1js reads', ({ der }) => {
    const offsets = checkStructure(der);
    const fast = readSession(der, offsets);
    expect(fast).toBeDefined();
    expect(fast).toEqual(explainSession(der, offsets));
  });

  test('generated sessions: read without asn1js, as encoded', () => {
    fc.assert(
      fc.property(sessionArbitrary, (s) => {
        const der = encodeSession(s);
        const offsets = checkStructure(der);
        expect(readSession(der, offsets)).toEqual(s);
        expect(explainSession(der, offsets)).toEqual(s);
      }),
      { numRuns: 300 },
    );
  });

  test('every single-byte change of real sessions: never accepts what asn1js refuses', () => {
    let fast = 0;
    let slow = 0;
    // A server session, a TLS 1.2 client session with a certificate and a ticket, a TLS 1.3 one (asn1js takes 0.2 ms a try).
    const chosen = [VECTORS.find((v) => v.name.startsWith('07-'))!, VECTORS.find((v) => v.name.startsWith('01-'))!, VECTORS.find((v) => v.name.startsWith('04-'))!];
    for (const { der } of chosen) {
      const accepted = expectAgreement(singleByteChanges(der));
      fast += accepted.fast;
      slow += accepted.slow;
    }
    // Not vacuous: many changes (inside keys, ids, times) still make a session, and the fast reader takes them.
    expect(fast).toBeGreaterThan(1000);
    expect(fast).toBe(slow);
  });

  test('random changes of generated sessions: never accepts what asn1js refuses', () => {
    fc.assert(
      fc.property(sessionArbitrary, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (s, changes) => {
        const der = encodeSession(s);
        for (const [at, value] of changes) der[at % der.length] = value;
        expectAgreement([der]);
      }),
      { numRuns: 2000 },
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
    const cases: [string, number | undefined][] = [
      ['00', 0],
      ['7f', 127],
      ['0080', 128],
      ['1fffffffffffff', Number.MAX_SAFE_INTEGER],
      ['20000000000000', undefined], // 2^53
      ['20000000000001', undefined],
      ['00ffffffffffffff', undefined],
      ['0000', undefined], // not canonical
      ['80', undefined], // negative
      ['', undefined], // empty
    ];
    for (const [integer, time] of cases) {
      const der = withTime(integer);
      const verdict = bothReaders(der)!;
      expect(verdict.fast?.time, integer).toBe(time);
      expect(verdict.slow?.time, integer).toBe(time);
    }
  });
});
