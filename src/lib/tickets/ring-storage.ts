/**
 * Where a ticket-key ring lives: a 0600 file with a lock beside it, or a
 * store (the daemon, Redis, the cache file) whose conditional write stands in
 * for the lock. Reading validates the ring (decodeRing); writing is atomic.
 */
import fs from 'node:fs/promises';
import { SessctlError, usageError } from '../errors.js';
import type { SessionStore } from '../store/types.js';
import { describeIoError, removeStaleTemps, writeFileAtomic } from './atomic.js';
import { acquireLock } from './lock.js';
import { decodeRing, encodeRing, type KeyRing } from './ring.js';

/** Where the ring lives: a 0600 file, or a store with capabilities.keyRing. */
export interface RingStorage {
  /** For messages: "/etc/sessctl/ring.json" or the store URL. */
  readonly name: string;
  read(): Promise<KeyRing | undefined>;
  /**
   * Write the ring; resolves to whether it was written. A storage without a
   * lock (a store) writes only if it still holds what read() last returned,
   * and resolves false if another run changed it meanwhile.
   */
  write(ring: KeyRing): Promise<boolean>;
  /** Serialises rotations; resolves to the release function. */
  lock(): Promise<() => Promise<void>>;
}

export function fileRing(file: string, options: { onWarning?: (message: string) => void } = {}): RingStorage {
  return {
    name: file,
    async read() {
      let data: Buffer;
      try {
        data = await fs.readFile(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new SessctlError(`cannot read the ring ${file}: ${describeIoError(err)}`, { cause: err });
      }
      const ring = decodeRing(data, file);
      const stat = await fs.stat(file);
      if ((stat.mode & 0o077) !== 0) {
        options.onWarning?.(`the ring ${file} is open to others (mode ${(stat.mode & 0o777).toString(8)}): it holds ticket keys; chmod 600 it`);
      }
      return ring;
    },
    async write(ring) {
      await removeStaleTemps(file);
      await writeFileAtomic(file, encodeRing(ring));
      return true;
    },
    async lock() {
      const held = await acquireLock(`${file}.lock`);
      return held.release;
    },
  };
}

/**
 * A ring kept in a store (the daemon, Redis, the cache file) so a fleet shares
 * it. The store's writeKeyRing is the commit point. No lock: rotations on
 * several hosts at once are told apart by compare-and-swap instead (write
 * only if the store still holds the ring this storage last read), so one of
 * them commits and the others find out.
 */
export function storeRing(store: SessionStore): RingStorage {
  if (!store.capabilities.keyRing || !store.readKeyRing || !store.writeKeyRing) {
    throw usageError(`the store ${store.url} cannot hold a ticket-key ring: use --ring FILE`);
  }
  const read = store.readKeyRing.bind(store);
  const write = store.writeKeyRing.bind(store);
  /** What read() last found (null: no ring); undefined before any read, when a write is unconditional (a --push copy). */
  let seen: Buffer | null | undefined;
  return {
    name: store.url,
    async read() {
      const data = await read();
      seen = data ?? null;
      return data === undefined ? undefined : decodeRing(data, `in ${store.url}`);
    },
    async write(ring) {
      const data = encodeRing(ring);
      if (!(await write(data, seen))) return false;
      seen = data;
      return true;
    },
    lock: async () => async () => {},
  };
}
