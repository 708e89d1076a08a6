const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);

/**
 * Unix seconds as ISO 8601 (UTC, whole seconds: 2026-11-21T22:33:31Z), as
 * every --json output gives times. Computed by hand (Howard Hinnant's
 * civil_from_days) because Date#toISOString took a third of `list --json`
 * over a million sessions; a test checks it against Date.
 */
export function isoTime(unixSeconds: number): string {
  const t = Math.floor(unixSeconds);
  const days = Math.floor(t / 86_400);
  const secs = t - days * 86_400;
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (year < 0 || year > 9999) return `${new Date(t * 1000).toISOString().slice(0, -5)}Z`;
  const hh = Math.floor(secs / 3600);
  const mm = Math.floor((secs % 3600) / 60);
  const ss = secs % 60;
  return `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)}T${pad2(hh)}:${pad2(mm)}:${pad2(ss)}Z`;
}

/** "1h 59m", "3d 4h", "45s": the two largest units, for people. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(Math.abs(seconds)));
  if (s < 60) return `${s}s`;
  const order: [string, number][] = [['d', 86_400], ['h', 3600], ['m', 60], ['s', 1]];
  const parts: string[] = [];
  let rest = s;
  for (const [unit, size] of order) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}
