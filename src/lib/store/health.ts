/** Watching a store's health (SessionStore.health) from a long-running process. */
import type { SessionStore } from './types.js';

/** How often long-running users ask: a removed cache file is worth a line within seconds, not per request. */
export const HEALTH_CHECK_MS = 10_000;

/**
 * A check of `store.health()` that calls `report` once when a problem
 * appears (and again only for a different one); resolves to the problem, if
 * any. A store without `health` is always healthy.
 */
export function healthCheck(store: SessionStore, report: (problem: string) => void): () => Promise<string | undefined> {
  let reported: string | undefined;
  return async () => {
    const problem = await store.health?.();
    if (problem !== undefined && problem !== reported) report(problem);
    reported = problem;
    return problem;
  };
}
