/**
 * Group commit for the daemon's updates. Every PUT that arrives in one turn of
 * the event loop is written with the others in one transaction
 * (store.updateMany) once that turn is over, and each is answered only after
 * its transaction has committed.
 *
 * Why: a fleet stores one session per full handshake. On the cache file an
 * update alone costs about 130 µs (the write lock, the WAL frames of the row,
 * its indexes and the counters, the commit); in batches of ten, 34 µs each
 * (docs/BENCHMARKS.md, bench/daemon).
 *
 * Order: an update is answered after its commit, so a client that has its 204
 * sees the session in any later request. Requests answered meanwhile (a
 * lookup, a delete of the same key) overlap the update in time; any order is
 * a correct one for them.
 */
import type { Entry, SessionStore } from '../store/types.js';

/** At most this many entries in one transaction: other processes using the file wait for its lock meanwhile. */
export const MAX_BATCH = 256;

interface Waiting {
  entry: Entry;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class UpdateBatcher {
  readonly #store: SessionStore;
  #waiting: Waiting[] = [];

  constructor(store: SessionStore) {
    this.#store = store;
  }

  /** Store `entry` with the others of this turn; resolves once committed. */
  update(entry: Entry): Promise<void> {
    if (this.#store.updateMany === undefined) return this.#store.update(entry);
    return new Promise((resolve, reject) => {
      if (this.#waiting.length === 0) setImmediate(() => void this.#commit());
      this.#waiting.push({ entry, resolve, reject });
    });
  }

  async #commit(): Promise<void> {
    const waiting = this.#waiting;
    this.#waiting = [];
    for (let start = 0; start < waiting.length; start += MAX_BATCH) {
      const batch = waiting.slice(start, start + MAX_BATCH);
      try {
        await this.#store.updateMany!(batch.map((w) => w.entry));
        for (const w of batch) w.resolve();
      } catch (err) {
        for (const w of batch) w.reject(err);
      }
    }
  }
}
