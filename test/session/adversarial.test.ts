import { describe, expect, test } from 'vitest';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { SessctlError } from '../../src/lib/errors.js';
import { decodeSession, encodeSession, MAX_SESSION_BYTES } from '../../src/lib/session/codec.js';
import { sessionView } from '../../src/lib/session/view.js';
import { sessionText } from '../../src/lib/session/text.js';
import type { Session } from '../../src/lib/session/types.js';
import { VECTORS } from './vectors.js';
import { sessionArbitrary } from './arbitrary.js';

const byName = (prefix: string) => VECTORS.find((v) => v.name.startsWith(prefix))!;
const CLIENT_TLS12 = byName('01-').der; // 1254 bytes, peer certificate, ticket
const SERVER_SMALL = byName('07-').der; // 153 bytes, no certificate

/** The error decodeSession must throw on bad input: a SessctlError, one line, exit 1. */
function rejection(der: Uint8Array): SessctlError {
  try {
    decodeSession(der);
  } catch (error) {
    expect(error).toBeInstanceOf(SessctlError);
    const e = error as SessctlError;
    expect(e.exit).toBe(1);
    expect(e.message).not.toContain('\n');
    return e;
  }
  throw new Error(`accepted ${Buffer.from(der).toString('hex').slice(0, 80)}`);
}

/** Bad input must give a SessctlError; anything accepted must re-encode to exactly the input. */
function rejectedOrCanonical(der: Uint8Array): void {
  let session: Session;
  try {
    session = decodeSession(der);
  } catch (error) {
    if (!(error instanceof SessctlError)) throw error;
    return;
  }
  expect(encodeSession(session).equals(der)).toBe(true);
}

// Small DER builders for hand-made sessions.
function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) bytes.unshift(rest & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, ...content: Buffer[]) => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
};
const raw = (hex: string) => Buffer.from(hex.replace(/\s/g, ''), 'hex');
const int = (hex: string) => tlv(0x02, raw(hex));
const oct = (bytes: Buffer) => tlv(0x04, bytes);
const ctx = (n: number, inner: Buffer) => tlv(0xa0 | n, inner);
const HEAD = [int('01'), int('0303'), oct(raw('c030')), oct(Buffer.alloc(32, 0x11)), oct(Buffer.alloc(48, 0x22))];
const session = (...parts: Buffer[]) => tlv(0x30, ...parts);

describe('decodeSession on hostile input', () => {
  test('a hand-made minimal session decodes and re-encodes', () => {
    const der = session(...HEAD, ctx(1, int('5f000000')), ctx(2, int('1c20')));
    const decoded = decodeSession(der);
    expect(decoded).toMatchObject({ sslVersion: 0x0303, cipherId: 0xc030, time: 0x5f000000, timeout: 7200 });
    expect(encodeSession(decoded).equals(der)).toBe(true);
  });

  test('truncation at every offset of a real session', () => {
    for (let n = 0; n < CLIENT_TLS12.length; n++) {
      const message = rejection(CLIENT_TLS12.subarray(0, n)).message;
      expect(message).toMatch(n === 0 ? /empty input/ : /truncated at byte \d+/);
    }
    expect(rejection(CLIENT_TLS12.subarray(0, 312)).message).toBe('not an SSL session: truncated at byte 312 (length says 1254 bytes)');
  });

  test('every single-byte change of a real session (exhaustive over one vector)', () => {
    let accepted = 0;
    const notCanonical: string[] = [];
    for (let i = 0; i < SERVER_SMALL.length; i++) {
      for (let value = 0; value < 256; value++) {
        if (value === SERVER_SMALL[i]) continue;
        const mutated = Buffer.from(SERVER_SMALL);
        mutated[i] = value;
        let decoded: Session;
        try {
          decoded = decodeSession(mutated);
        } catch (error) {
          if (!(error instanceof SessctlError)) throw error;
          continue;
        }
        accepted++;
        if (!encodeSession(decoded).equals(mutated)) notCanonical.push(`byte ${i} = 0x${value.toString(16)}`);
      }
    }
    expect(notCanonical).toEqual([]);
    // Changing a key or id byte keeps a valid session; changing structure does not.
    expect(accepted).toBeGreaterThan(100 * 255);
  });

  test('bit flips at every offset of the sessions with RSA, EC and Ed448 certificates', () => {
    for (const { der } of ['01-', '02-', '05-'].map(byName)) {
      for (let i = 0; i < der.length; i++) {
        for (const mask of [0x80]) {
          const mutated = Buffer.from(der);
          mutated[i]! ^= mask;
          rejectedOrCanonical(mutated);
        }
      }
    }
  });

  test('absurd lengths', () => {
    expect(rejection(raw('30 84 ff ff ff ff 02 01 01')).message).toMatch(/absurd length at byte 1/);
    expect(rejection(raw('30 88 ff ff ff ff ff ff ff ff')).message).toMatch(/absurd length/);
    expect(rejection(raw('30 83 ff ff ff 02 01 01')).message).toBe('not an SSL session: truncated at byte 8 (length says 16777220 bytes)');
    // An inner element claiming more than its parent holds.
    const overrun = session(...HEAD.slice(0, 4), raw('04 84 7f ff ff ff'), Buffer.alloc(48));
    expect(rejection(overrun).message).toMatch(/absurd length at byte \d+/);
    const inner = session(...HEAD, ctx(4, raw('04 05 aa')), ctx(5, int('00')));
    expect(rejection(inner).message).toMatch(/element at byte \d+ \(5 bytes\) overruns its enclosing element, which ends at byte \d+/);
  });

  test('trailing garbage after the session', () => {
    expect(rejection(Buffer.concat([SERVER_SMALL, raw('00')])).message).toBe(
      `not an SSL session: 1 byte of trailing data after the session at byte ${SERVER_SMALL.length}`,
    );
    expect(rejection(Buffer.concat([SERVER_SMALL, SERVER_SMALL])).message).toMatch(/153 bytes of trailing data/);
  });

  test('wrong version', () => {
    expect(rejection(session(int('02'), ...HEAD.slice(1))).message).toBe('unsupported SSL_SESSION version 2 (expected 1)');
    expect(rejection(session(int('00'), ...HEAD.slice(1))).message).toMatch(/unsupported SSL_SESSION version 0/);
  });

  test('1 MiB of random bytes, and 60 KiB that start like a SEQUENCE', () => {
    expect(rejection(randomBytes(1024 * 1024)).message).toBe(`not an SSL session: 1048576 bytes is more than the ${MAX_SESSION_BYTES}-byte limit`);
    const almost = Buffer.concat([raw('30 82 ef fc'), randomBytes(0xeffc)]);
    rejection(almost);
  });

  test('10,000 nested SEQUENCE headers', () => {
    let nested = raw('30 00');
    for (let i = 1; i < 10_000; i++) nested = tlv(0x30, nested);
    expect(nested.length).toBeLessThan(MAX_SESSION_BYTES);
    expect(rejection(nested).message).toMatch(/^not an SSL session: nested more than 16 levels deep at byte \d+$/);

    const headersOnly = Buffer.alloc(20_000);
    for (let i = 0; i < headersOnly.length; i += 2) headersOnly.set([0x30, 0x80], i);
    expect(rejection(headersOnly).message).toMatch(/indefinite length at byte 1/);

    // The same bomb inside an OCTET STRING is just bytes: the ticket is opaque.
    const ticketBomb = nested.subarray(0, 40_000);
    const withTicket = session(...HEAD, ctx(10, oct(ticketBomb)));
    expect(decodeSession(withTicket).ticket?.equals(ticketBomb)).toBe(true);
  });

  test('field rules of ssl/ssl_asn1.c', () => {
    const cases: Array<[Buffer, RegExp]> = [
      [session(...HEAD.slice(0, 2), oct(raw('00c030')), ...HEAD.slice(3)), /cipher at byte \d+: 3 bytes, expected 2/],
      [session(...HEAD.slice(0, 3), oct(Buffer.alloc(33)), HEAD[4]!), /session_id at byte \d+: 33 bytes, at most 32/],
      [session(...HEAD.slice(0, 4), oct(Buffer.alloc(65))), /master_key at byte \d+: 65 bytes, at most 64/],
      [session(...HEAD.slice(0, 4)), /missing master_key/],
      [session(...HEAD, ctx(1, int('01')), ctx(1, int('02'))), /duplicate field \[1\] time/],
      [session(...HEAD, ctx(2, int('01')), ctx(1, int('02'))), /field \[1\] time at byte \d+ is out of order \(after \[2\]\)/],
      [session(...HEAD, ctx(2, int('ff'))), /field \[2\] timeout at byte \d+: negative INTEGER/],
      [session(...HEAD, ctx(2, int('0005'))), /non-canonical INTEGER/],
      [session(...HEAD, ctx(19, int('0100000000'))), /kex_group at byte \d+: 4294967296 is out of range/],
      [session(...HEAD, ctx(21, int('01'))), /unknown field \[21\]/],
      [session(...HEAD, ctx(3, int('01'))), /field \[3\] peer at byte \d+: expected SEQUENCE, found INTEGER/],
      [session(...HEAD, tlv(0x81, raw('01'))), /expected an explicit \(constructed\) \[1\]/],
      [session(...HEAD, ctx(4, Buffer.concat([oct(raw('01')), oct(raw('02'))]))), /expected one value inside, found 2/],
      [session(...HEAD, ctx(11, oct(raw('0102')))), /comp_id at byte \d+: 2 bytes, expected 1/],
      [session(...HEAD, ctx(4, oct(Buffer.alloc(33)))), /session_id_context at byte \d+: 33 bytes, at most 32/],
      [session(...HEAD, int('05')), /unexpected INTEGER at byte \d+/],
      [session(int('01'), oct(raw('0303')), ...HEAD.slice(2)), /ssl_version at byte 5: expected INTEGER, found OCTET STRING/],
      [session(...HEAD.slice(0, 2), tlv(0x24, oct(raw('c030'))), ...HEAD.slice(3)), /cipher at byte \d+: expected OCTET STRING, found a constructed OCTET STRING/],
      [session(int('01'), int('010303'), ...HEAD.slice(2)), /not a protocol version/],
      [raw('30 05 02 01 01 00'), /truncated at byte 6 \(length says 7 bytes\)/],
      [session(...HEAD.slice(0, 2), tlv(0x18, raw('3939')), ...HEAD.slice(3)), /cipher at byte \d+: expected OCTET STRING, found GeneralizedTime/],
      [session(...HEAD, ctx(3, Buffer.concat([session(int('01')), int('01')]))), /field \[3\] peer at byte \d+: expected one value inside, found more/],
      [raw('31 03 02 01 01'), /expected a SEQUENCE \(0x30\) at byte 0, found 0x31/],
      [raw('30 81 03 02 01 01'), /non-canonical length at byte 1/],
      [raw('30 80 02 01 01 00 00'), /indefinite length at byte 1/],
      [raw('30 03 1f 01 01'), /multi-byte tag at byte 2/],
      [raw('30 00'), /missing version/],
    ];
    for (const [der, message] of cases) expect(rejection(der).message).toMatch(message);
  });
});

describe('encodeSession writes only what decodeSession accepts', () => {
  const base: Session = { version: 1, sslVersion: 0x0303, cipherId: 0xc030, sessionId: Buffer.alloc(32), masterKey: Buffer.alloc(48) };
  test.each<[string, Partial<Session>, RegExp]>([
    ['cipherId', { cipherId: 0x10000 }, /cipher id 65536 is not a 2-byte value/],
    ['sessionId', { sessionId: Buffer.alloc(33) }, /session id of 33 bytes/],
    ['masterKey', { masterKey: Buffer.alloc(65) }, /master key of 65 bytes/],
    ['sslVersion', { sslVersion: 0x10000 }, /ssl_version must be an integer from 0 to 65535/],
    ['timeout', { timeout: -1 }, /timeout must be an integer from 0/],
    ['ticketAgeAdd', { ticketAgeAdd: 2 ** 32 }, /tlsext_tick_age_add must be an integer from 0 to 4294967295/],
    ['compId', { compId: Buffer.from([1, 2]) }, /comp_id of 2 bytes \(expected 1\)/],
    ['sessionIdContext', { sessionIdContext: Buffer.alloc(33) }, /session_id_context of 33 bytes \(at most 32\)/],
    ['sni', { sni: 'bücher.例え' }, /tlsext_hostname holds characters that are not single bytes/],
    ['peer', { peer: Buffer.from('0201', 'hex') }, /peer must be a DER certificate/],
    ['ticket', { ticket: Buffer.alloc(70_000) }, /more than the 65536-byte limit/],
  ])('rejects a bad %s', (_field, change, message) => {
    expect(() => encodeSession({ ...base, ...change })).toThrow(message);
    expect(() => encodeSession({ ...base, ...change })).toThrow(SessctlError);
  });
});

describe('properties (fast-check)', () => {
  test('random bytes are rejected with a SessctlError or decode canonically', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => rejectedOrCanonical(bytes)),
      { numRuns: 2000 },
    );
  });

  test('random bytes behind a plausible SEQUENCE header', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 1000 }), (bytes) => rejectedOrCanonical(Buffer.concat([Buffer.from([0x30]), len(bytes.length), bytes]))),
      { numRuns: 2000 },
    );
  });

  test('random edits of real sessions: overwrite, insert, delete', () => {
    const edit = fc.record({
      vector: fc.integer({ min: 0, max: VECTORS.length - 1 }),
      at: fc.nat(),
      remove: fc.integer({ min: 0, max: 8 }),
      insert: fc.uint8Array({ maxLength: 8 }),
    });
    fc.assert(
      fc.property(edit, ({ vector, at, remove, insert }) => {
        const der = VECTORS[vector]!.der;
        const pos = at % der.length;
        rejectedOrCanonical(Buffer.concat([der.subarray(0, pos), insert, der.subarray(pos + remove)]));
      }),
      { numRuns: 3000 },
    );
  });

  test('encode then decode gives the same session, and views never throw', () => {
    fc.assert(
      fc.property(sessionArbitrary, (s) => {
        const der = encodeSession(s);
        const decoded = decodeSession(der);
        expect(decoded).toEqual(s);
        expect(encodeSession(decoded).equals(der)).toBe(true);
        const view = sessionView(decoded, { showSecrets: false, now: 0 });
        const text = sessionText(view);
        if (s.masterKey.length >= 8) {
          expect(JSON.stringify(view)).not.toContain(s.masterKey.toString('hex'));
          expect(text).not.toContain(s.masterKey.toString('hex'));
        }
      }),
      { numRuns: 500 },
    );
  });
});
