/**
 * A flag whose value may be left out (`stats --watch` or `stats --watch 5`):
 * oclif has no such flag, so the argv is completed before it parses: a bare
 * `--watch` (last, or followed by something that is not a number) gets the
 * default value.
 */
export function withOptionalValue(argv: string[], flag: string, fallback: string): string[] {
  const end = argv.includes('--') ? argv.indexOf('--') : argv.length;
  return argv.map((arg, i) => (i < end && arg === flag && !/^\d+$/.test(argv[i + 1] ?? '') ? `${flag}=${fallback}` : arg));
}
