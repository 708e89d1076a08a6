/** parseDurationMs: the deadline forms of probe --timeout and rotate-keys --probe-timeout. */
import { describe, expect, it } from 'vitest';
import { parseDurationMs } from '../../src/lib/cli/format.js';

describe('parseDurationMs', () => {
  it.each([
    ['500ms', 500],
    ['2.5s', 2500],
    ['2s', 2000],
    ['2', 2000],
    ['2.3s', 2300],
    ['0.001s', 1],
    ['1.5m', 90_000],
    ['1m30s', 90_000],
    ['2s500ms', 2500],
    [' 1h 2m ', 3_720_000],
    ['5S', 5000],
  ])('%j is %i ms', (text, ms) => {
    expect(parseDurationMs(text, '--timeout')).toBe(ms);
  });

  it.each(['soon', '2.s', '.5s', '1e3', '-1s', '', 's', '5x', '1.5.2s'])('%j is refused in one line', (text) => {
    expect(() => parseDurationMs(text, '--timeout')).toThrow(new RegExp(`^--timeout: "${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}" is not a duration \\(examples: 500ms, 2\\.5s, 30s, 1m\\)$`));
  });

  it('refuses a value finer than a millisecond, and one too long to count, instead of rounding', () => {
    expect(() => parseDurationMs('1.5ms', '--timeout')).toThrow(/^--timeout: "1\.5ms" is finer than a millisecond$/);
    expect(() => parseDurationMs('0.0001s', '--timeout')).toThrow(/finer than a millisecond/);
    expect(() => parseDurationMs('99999999999999999999w', '--timeout')).toThrow(/^--timeout: "99999999999999999999w" is too long$/);
  });
});
