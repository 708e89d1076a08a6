/**
 * What an output format is: the contract every file under formats/ fills,
 * kept apart from the registry (index.ts) so a format never imports the
 * registry that imports it.
 */
import type { KeyRing, KeySize, TicketKey } from '../ring.js';

/** One file of an output: a name inside the output's directory (dir formats) or the file itself (''). */
export interface OutputFile {
  name: string;
  data: Buffer;
}

export interface RenderContext {
  now: number;
  /** The output's PATH (the include file of nginx-include names the key files by absolute path). */
  path: string;
  /**
   * How long a key is expected to encrypt (--if-older-than, else the decrypt
   * window): lighttpd's key file carries an expiry time, set from it.
   */
  rotationPeriod?: number;
}

/**
 * A key as a server loads it from an output, read back for `--check`:
 * secrets in the server's own layout turned into the ring's fields.
 */
export interface LoadedKey {
  name: Buffer;
  aesKey: Buffer;
  hmacKey: Buffer;
  /** This key encrypts new tickets (at the time given). */
  encrypts: boolean;
  /** Where it was read: "current.key", "line 2". */
  where: string;
}

/** Reads one file of an output (a name relative to a dir output, '' for the file itself, or an absolute path). */
export type ReadFile = (name: string) => Promise<Buffer>;

export interface OutputFormat {
  name: FormatName;
  /** `dir`: PATH is a directory of slot files; `file`: PATH is the file. */
  target: 'dir' | 'file';
  sizes: readonly KeySize[];
  describe: string;
  /** The files for `ring`, written in this order (an include file last, after the files it names). */
  render(ring: KeyRing, context: RenderContext): OutputFile[];
  /**
   * The ring's keys a server given this output holds after its reload or
   * re-read: what is compared with the decrypt window to name dropped keys.
   */
  holds(ring: KeyRing, now: number): TicketKey[];
  /** The keys the files hold, as the server reads them; throws a SessctlError on a file it would refuse. */
  load(read: ReadFile, context: RenderContext): Promise<LoadedKey[]>;
  /** For dir outputs: file names in the directory that belong to this format (to remove the ones no longer rendered). */
  owns?(fileName: string): boolean;
}

export type FormatName = 'nginx' | 'nginx-include' | 'haproxy' | 'ats' | 'apache' | 'node' | 'raw' | 'lighttpd' | 'h2o';
