/** Unix seconds as ISO 8601 (UTC, no milliseconds), as every --json output gives times. */
export function isoTime(unixSeconds: number): string {
  return new Date(unixSeconds * 1000).toISOString().replace('.000Z', 'Z');
}
