import { countAdmin, partialFailure } from './admin.js';
import type { Entry, SessionStore, StoreSpace } from './types.js';

export interface FlushOptions {
  now: number;
  /** Remove every session, live or not. */
  all?: boolean;
  /** Also remove live sessions created more than this many seconds ago. */
  olderThan?: number;
  /** Count what would go, remove nothing. */
  dryRun?: boolean;
  /**
   * Rewrite the cache file to give all its free space back (VACUUM), also for
   * files made before sessctl gave space back by itself. Without it, a file
   * that can (auto_vacuum=INCREMENTAL) gives back what this flush freed.
   */
  compact?: boolean;
  onProgress?: (visited: number) => void;
}

export interface FlushResult {
  removed: number;
  bytes: number;
  remaining: number;
  dryRun: boolean;
  /** The cache file's size and free space afterwards (stores with a file only). */
  space?: StoreSpace;
}

/**
 * SSL_CTX_flush_sessions: remove the sessions that have expired (plus, with
 * `olderThan`, those created too long ago; with `all`, everything), in one
 * foldl pass that deletes as it goes; then give the freed space back where
 * the store can. Each removal stands on its own: a failure part-way says how
 * many were removed before it.
 */
export async function flushSessions(store: SessionStore, options: FlushOptions): Promise<FlushResult> {
  const cutoff = options.olderThan === undefined ? undefined : options.now - options.olderThan;
  const doomed = (e: Entry) =>
    options.all === true || e.expiresAt <= options.now || (cutoff !== undefined && e.createdAt < cutoff);
  const acc0 = { visited: 0, removed: 0, bytes: 0, remaining: 0 };
  let result: typeof acc0;
  try {
    result = await store.foldl(
      async (e, acc) => {
        acc.visited += 1;
        if (options.onProgress && acc.visited % 10_000 === 0) options.onProgress(acc.visited);
        if (!doomed(e)) {
          acc.remaining += 1;
          return acc;
        }
        if (options.dryRun || (await store.delete(e.key))) {
          acc.removed += 1;
          acc.bytes += e.size;
        }
        return acc;
      },
      acc0,
      { withDer: false },
    );
  } catch (err) {
    if (options.dryRun) throw err;
    await countAdmin(store, { admin_removals: acc0.removed }, '').catch(() => {});
    throw partialFailure(err, `${acc0.removed} session${acc0.removed === 1 ? '' : 's'} removed before it failed`);
  }
  const dryRun = options.dryRun === true;
  if (!dryRun) await countAdmin(store, { admin_removals: result.removed }, `${result.removed} removed`);
  let space: StoreSpace | undefined;
  if (!dryRun && (options.compact || result.removed > 0) && store.compact) {
    try {
      space = await store.compact({ full: options.compact === true });
    } catch (err) {
      throw partialFailure(err, `${result.removed} session${result.removed === 1 ? '' : 's'} removed, but giving the space back failed`);
    }
  } else if (store.space) {
    space = await store.space();
  }
  return { removed: result.removed, bytes: result.bytes, remaining: result.remaining, dryRun, ...(space === undefined ? {} : { space }) };
}
