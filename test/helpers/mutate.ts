/**
 * Mutated protocol text for the differential tests against llhttp
 * (test/daemon/http1-differential.test.ts, http1-client-differential.test.ts):
 * a well-formed message with one to three bytes inserted, replaced or
 * deleted, the bytes drawn from `interesting`.
 */
import fc from 'fast-check';

export function mutated(wellFormed: fc.Arbitrary<string>, interesting: string[]): fc.Arbitrary<Buffer> {
  const mutation = fc.tuple(fc.constantFrom('insert', 'replace', 'delete'), fc.nat(), fc.constantFrom(...interesting));
  return fc.tuple(wellFormed, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([message, mutations]) => {
    let s = message;
    for (const [kind, at, text] of mutations) {
      const i = at % (s.length + 1);
      if (kind === 'insert') s = s.slice(0, i) + text + s.slice(i);
      else if (kind === 'replace') s = s.slice(0, i) + text + s.slice(i + 1);
      else s = s.slice(0, i) + s.slice(i + 1);
    }
    return Buffer.from(s, 'latin1');
  });
}
