/**
 * Where secrets go when a command prints them: when standard output is a
 * file that others can read (`get --out pem > f` under umask 022 makes it
 * 0644), say so, with what to do about it. sessctl's own secret files are
 * written 0600 (tickets/atomic.ts); a redirection is the shell's, so it can
 * only warn.
 */
import { fstatSync, readlinkSync } from 'node:fs';

/** Group and other permission bits. */
const NOT_OWNER = 0o077;

/** A warning when `fd` is a regular file that others can read or write; undefined otherwise. */
export function readableOutputWarning(fd = 1): string | undefined {
  let stat;
  try {
    stat = fstatSync(fd);
  } catch {
    return undefined;
  }
  if (!stat.isFile() || (stat.mode & NOT_OWNER) === 0) return undefined;
  let name = 'standard output';
  try {
    // Linux names the file behind a descriptor in /proc (proc(5)); elsewhere the message goes without it.
    name = readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    // no /proc: keep the generic name
  }
  const mode = (stat.mode & 0o777).toString(8).padStart(4, '0');
  return `${name} is readable by others (mode ${mode}) and now holds secrets: chmod 600 it (or write it under umask 077)`;
}
