import fc from 'fast-check';
import { expect, test } from 'vitest';
import { isoTime } from '../../src/lib/time.js';

test('isoTime agrees with Date#toISOString at whole seconds', () => {
  for (const t of [0, 1, 59, 86_399, 86_400, 951_782_400 /* 2000-02-29 */, 1_795_300_411, 4_102_444_800, 253_402_300_799]) {
    expect(isoTime(t)).toBe(`${new Date(t * 1000).toISOString().slice(0, 19)}Z`);
  }
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 253_402_300_799 }), (t) => {
      expect(isoTime(t)).toBe(`${new Date(t * 1000).toISOString().slice(0, 19)}Z`);
    }),
    { numRuns: 20_000 },
  );
  expect(isoTime(1.9)).toBe('1970-01-01T00:00:01Z');
});
