import type { Entry, SessionStore } from './types.js';

export interface FlushOptions {
  now: number;
  /** Remove every session, live or not. */
  all?: boolean;
  /** Also remove live sessions created more than this many seconds ago. */
  olderThan?: number;
  /** Count what would go, remove nothing. */
  dryRun?: boolean;
  onProgress?: (visited: number) => void;
}

export interface FlushResult {
  removed: number;
  bytes: number;
  remaining: number;
  dryRun: boolean;
}

/**
 * SSL_CTX_flush_sessions: remove the sessions that have expired (plus, with
 * `olderThan`, those created too long ago; with `all`, everything), in one
 * foldl pass that deletes as it goes.
 */
export async function flushSessions(store: SessionStore, options: FlushOptions): Promise<FlushResult> {
  const cutoff = options.olderThan === undefined ? undefined : options.now - options.olderThan;
  const doomed = (e: Entry) =>
    options.all === true || e.expiresAt <= options.now || (cutoff !== undefined && e.createdAt < cutoff);
  const result = await store.foldl(
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
    { visited: 0, removed: 0, bytes: 0, remaining: 0 },
    { withDer: false },
  );
  return { removed: result.removed, bytes: result.bytes, remaining: result.remaining, dryRun: options.dryRun === true };
}
