/**
 * `list --json` writes each entry with entryViewJson instead of
 * JSON.stringify(entryView(...)): the text must be the same, byte for byte,
 * for real sessions and for any string or number an entry can hold.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { entryFromDer } from '../../src/lib/store/entry.js';
import { entryView, entryViewJson } from '../../src/lib/store/view.js';
import type { Entry } from '../../src/lib/store/types.js';
import { loadVector, testEntry, VECTOR_NAMES } from '../helpers/entries.js';

const NOW = 1_780_000_000;
const same = (e: Entry, now: number) => expect(entryViewJson(e, now)).toBe(JSON.stringify(entryView(e, now)));

describe('entryViewJson', () => {
  it('writes what JSON.stringify writes for the real sessions, live and expired, with and without a partial key', () => {
    for (let i = 0; i < VECTOR_NAMES.length * 3; i++) {
      const e = testEntry(i, i % 3 === 0 ? { role: 'client', partialKey: `host-${i}.test:443` } : {});
      same(e, NOW);
      same(e, e.expiresAt);
      same(e, e.expiresAt + 1);
    }
    for (const name of VECTOR_NAMES) same(entryFromDer(loadVector(name).der, { now: NOW }), NOW);
  });

  it('escapes what JSON.stringify escapes: quotes, backslashes, control characters, lone surrogates', () => {
    const base = testEntry(1);
    for (const odd of ['"', '\\', '\n', '\u0000', '\u001f', '\u007f', '\u2028', '\ud800', '\udfff', 'a\ud83d\ude00b', 'é', '']) {
      same({ ...base, sni: odd, alpn: odd, partialKey: odd, cipher: odd, protocol: odd }, NOW);
    }
  });

  it('agrees with JSON.stringify on any strings, times and sizes an entry may hold', () => {
    const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string({ unit: 'grapheme' }));
    const time = fc.oneof(fc.integer({ min: -1e10, max: 4e11 }), fc.double({ noNaN: true, min: -1e9, max: 1e11 }));
    fc.assert(
      fc.property(
        fc.record({ partialKey: fc.option(text, { nil: undefined }), sni: fc.option(text, { nil: undefined }), alpn: fc.option(text, { nil: undefined }), cipher: text, protocol: text, role: fc.constantFrom('server', 'client') }),
        time,
        time,
        time,
        fc.nat(),
        fc.boolean(),
        (strings, createdAt, insertedAt, expiresAt, size, hasTicket) => {
          const e: Entry = { ...testEntry(2), ...strings, createdAt, insertedAt, expiresAt, size, hasTicket };
          for (const key of ['partialKey', 'sni', 'alpn'] as const) if (e[key] === undefined) delete e[key];
          same(e, NOW);
        },
      ),
      { numRuns: 2_000 },
    );
  });
});
