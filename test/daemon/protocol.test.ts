/**
 * The daemon's wire helpers (src/lib/store/daemon-protocol.ts) that the lookup path
 * writes by hand for speed: they must say exactly what the general code says.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { asciiJson, entryHeader, metaOf, parseMeta } from '../../src/lib/store/daemon-protocol.js';
import type { Entry } from '../../src/lib/store/types.js';

/** Strings with what JSON must escape: quotes, backslashes, control characters, latin1 and beyond. */
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.constantFrom('', '"', '\\', '\u0000', '\u007f', '\u00e9', 'h2', 'login.example.test', '\u2028', '\ud800'),
);
const seconds = fc.integer({ min: 0, max: 2 ** 40 });

const entries: fc.Arbitrary<Entry> = fc.record(
  {
    key: fc.oneof(fc.stringMatching(/^(?:[0-9a-f]{2}){0,32}$/), text),
    role: fc.constantFrom('server', 'client'),
    partialKey: text,
    der: fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)),
    size: fc.nat(),
    createdAt: seconds,
    insertedAt: seconds,
    expiresAt: seconds,
    protocol: fc.oneof(fc.constantFrom('TLSv1.2', 'TLSv1.3', '0x0301'), text),
    cipher: fc.oneof(fc.constant('ECDHE-RSA-AES128-GCM-SHA256'), text),
    sni: text,
    alpn: text,
    hasTicket: fc.boolean(),
  },
  { requiredKeys: ['key', 'role', 'der', 'size', 'createdAt', 'insertedAt', 'expiresAt', 'protocol', 'cipher', 'hasTicket'] },
);

describe('entryHeader', () => {
  it('is the entry metadata as printable-ASCII JSON, the same value as asciiJson(metaOf(entry))', () => {
    fc.assert(
      fc.property(entries, (entry) => {
        const header = entryHeader(entry);
        expect(header).toMatch(/^[\x20-\x7e]*$/);
        expect(JSON.parse(header)).toEqual(JSON.parse(asciiJson(metaOf(entry))));
        expect(JSON.parse(header)).toEqual(metaOf(entry));
      }),
      { numRuns: 2000 },
    );
  });

  it('is read back by the client parser as the entry without its DER', () => {
    fc.assert(
      fc.property(entries.filter((e) => /^(?:[0-9a-f]{2}){0,32}$/.test(e.key)), (entry) => {
        expect(parseMeta(JSON.parse(entryHeader(entry)), entry.key)).toEqual(metaOf(entry));
      }),
      { numRuns: 500 },
    );
  });

  it('leaves out the optional fields an entry does not have, as JSON.stringify does', () => {
    const entry: Entry = {
      key: 'ab', role: 'server', der: Buffer.alloc(0), size: 0, createdAt: 1, insertedAt: 2, expiresAt: 3, protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256', hasTicket: true,
    };
    expect(Object.keys(JSON.parse(entryHeader(entry)) as object).sort()).toEqual(['cipher', 'createdAt', 'expiresAt', 'hasTicket', 'insertedAt', 'key', 'protocol', 'role']);
  });
});
