import { usageError } from '../errors.js';
import { formatDuration, isoTime } from '../time.js';

export { formatDuration, isoTime };

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * Parse a duration such as "90", "90s", "30m", "12h", "7d", "2w" or "1h30m"
 * into seconds. A bare number is seconds.
 */
export function parseDuration(text: string, flag = 'duration'): number {
  const input = text.trim().toLowerCase();
  if (/^\d+$/.test(input)) return Number(input);
  const parts = [...input.matchAll(/(\d+)\s*([smhdw])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== input.replace(/\s+/g, '')) {
    throw usageError(`${flag}: "${text}" is not a duration (examples: 90s, 30m, 12h, 7d, 2w)`);
  }
  return parts.reduce((sum, [, n, unit]) => sum + Number(n) * UNITS[unit as string]!, 0);
}

const MS_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * Parse a deadline into milliseconds: parseDuration's forms ("90", "30s",
 * "1m30s") plus milliseconds and decimals ("500ms", "2.5s", "1.5m"). A bare
 * number is seconds. The decimal is scaled as digits ("2.3s" is 23 * 1000 / 10),
 * not through binary floating point, so it lands on a whole millisecond; a
 * value finer than that is refused, not rounded.
 */
export function parseDurationMs(text: string, flag = 'duration'): number {
  const input = text.trim().toLowerCase().replace(/\s+/g, '');
  const bad = (): never => {
    throw usageError(`${flag}: "${text}" is not a duration (examples: 500ms, 2.5s, 30s, 1m)`);
  };
  const parts = /^\d+(\.\d+)?$/.test(input) ? [[input, input, 's']] : [...input.matchAll(/(\d+(?:\.\d+)?)(ms|[smhdw])/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== input) bad();
  let ms = 0;
  for (const [, number, unit] of parts) {
    const [whole, fraction = ''] = number!.split('.');
    ms += (MS_UNITS[unit!]! * Number(whole! + fraction)) / 10 ** fraction.length;
  }
  if (!Number.isSafeInteger(ms)) throw usageError(`${flag}: "${text}" is ${Number.isFinite(ms) && ms < Number.MAX_SAFE_INTEGER ? 'finer than a millisecond' : 'too long'}`);
  return ms;
}

/** "in 1h 59m" or "expired 3m ago". */
export function formatExpiry(expiresAt: number, now: number): string {
  const left = expiresAt - now;
  return left > 0 ? `in ${formatDuration(left)}` : `expired ${formatDuration(-left)} ago`;
}


/** Unix seconds as "2026-11-21 23:40:12" (UTC) for tables. */
export function shortTime(unixSeconds: number): string {
  return isoTime(unixSeconds).replace('T', ' ').replace('Z', '');
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** Shorten a hex id for tables: first 8 and last 4 characters. */
export function shortId(hex: string, wide: boolean): string {
  if (wide || hex.length <= 16) return hex;
  return `${hex.slice(0, 8)}…${hex.slice(-4)}`;
}

/** "file 64.0 MiB, 63.9 MiB of it free (flush --compact gives it back)": the cache file's room, for flush and stats. */
export function spaceLine(space: { fileBytes: number; freeBytes: number }): string {
  const free = space.freeBytes === 0 ? 'none of it free' : `${formatBytes(space.freeBytes)} of it free (flush --compact gives it back)`;
  return `file ${formatBytes(space.fileBytes)}, ${free}`;
}
