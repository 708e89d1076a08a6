/**
 * What the admin operations (insert, remove, flush) share: telling their
 * writes apart from the servers' in the counters, and naming what was done
 * when a store fails part-way.
 */
import { EXIT, SessctlError } from '../errors.js';
import type { Counters, SessionStore } from './types.js';

/**
 * Count an admin's inserts or removals (admin_inserts, admin_removals), after
 * the writes, which the store has already counted in inserts / removals: so
 * `stats` can show the servers' own (inserts - admin_inserts). `done` names
 * what was written, for the error if counting fails (an older daemon that
 * does not know these counters).
 */
export async function countAdmin(store: SessionStore, delta: Pick<Partial<Counters>, 'admin_inserts' | 'admin_removals'>, done: string): Promise<void> {
  if (Object.values(delta).every((n) => n === 0)) return;
  try {
    await store.addCounters(delta);
  } catch (err) {
    throw partialFailure(err, `${done}, but not counted as sessctl's own in the counters`);
  }
}

/** A store failure in the middle of a batch, with what had been done before it in front. */
export function partialFailure(err: unknown, done: string): SessctlError {
  const message = (err as Error)?.message ?? String(err);
  return new SessctlError(`${done}: ${message}`, { exit: err instanceof SessctlError ? err.exit : EXIT.ERROR, cause: err });
}
