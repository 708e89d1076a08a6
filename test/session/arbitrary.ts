/** Random but well-formed sessions (every field within OpenSSL's ranges), for property tests. */
import fc from 'fast-check';
import type { Session } from '../../src/lib/session/types.js';

const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((b) => Buffer.from(b));
export const sessionArbitrary: fc.Arbitrary<Session> = fc.record(
  {
    version: fc.constant(1 as const),
    sslVersion: fc.constantFrom(0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0xfeff, 0xfefd, 0x7f1c),
    cipherId: fc.integer({ min: 0, max: 0xffff }),
    sessionId: bytes(32),
    masterKey: bytes(64),
    keyArg: bytes(8),
    time: fc.maxSafeNat(),
    timeout: fc.maxSafeNat(),
    sessionIdContext: bytes(32),
    verifyResult: fc.integer({ min: 0, max: 0x7fffffff }),
    sni: fc.string({ unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)), maxLength: 64 }),
    pskIdentityHint: bytes(64),
    pskIdentity: bytes(64),
    ticketLifetimeHint: fc.maxSafeNat(),
    ticket: bytes(300),
    compId: bytes(1).filter((b) => b.length === 1),
    srpUsername: bytes(16),
    flags: fc.maxSafeNat(),
    ticketAgeAdd: fc.integer({ min: 0, max: 0xffffffff }),
    maxEarlyData: fc.integer({ min: 0, max: 0xffffffff }),
    alpn: bytes(16),
    maxFragmentLenMode: fc.integer({ min: 0, max: 0xffffffff }),
    ticketAppdata: bytes(16),
    kexGroup: fc.integer({ min: 0, max: 0xffffffff }),
    peerRpk: bytes(64),
  },
  { requiredKeys: ['version', 'sslVersion', 'cipherId', 'sessionId', 'masterKey'] },
);
