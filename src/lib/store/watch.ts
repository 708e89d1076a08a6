/**
 * `stats --watch`: the store's counters read every interval, and what changed
 * since the last read, like `redis-cli --stat`. The clock and the wait are
 * passed in, so a test controls them.
 */
import type { Counters, SessionStore } from './types.js';

/** One interval: what the counters moved by, and the sessions held at its end. */
export interface CounterInterval {
  /** End of the interval, unix seconds. */
  at: number;
  /** Length of the interval, seconds. */
  seconds: number;
  hits: number;
  misses: number;
  /** hits / (hits + misses) over the interval; null when there was no lookup. */
  hitRatio: number | null;
  timeouts: number;
  inserts: number;
  removals: number;
  /** Entries in the store at the end of the interval (expired ones included). */
  sessions: number;
}

export interface WatchOptions {
  /** Seconds between reads. */
  interval: number;
  /** Ends the watch (SIGINT). */
  signal: AbortSignal;
  /** Unix seconds (fractions allowed). */
  now: () => number;
  /** Resolves after `ms`, or early when `signal` aborts. */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

/** The intervals, one per `interval` seconds, until the signal aborts. */
export async function* watchCounters(store: SessionStore, options: WatchOptions): AsyncGenerator<CounterInterval> {
  let before: Counters = await store.counters();
  let since = options.now();
  while (!options.signal.aborted) {
    await options.sleep(options.interval * 1000, options.signal);
    if (options.signal.aborted) return;
    const [after, sessions] = await Promise.all([store.counters(), store.size()]);
    const at = options.now();
    const delta = (name: keyof Counters): number => Math.max(0, after[name] - before[name]);
    const hits = delta('hits');
    const misses = delta('misses');
    yield {
      at,
      seconds: at - since,
      hits,
      misses,
      hitRatio: hits + misses === 0 ? null : hits / (hits + misses),
      timeouts: delta('timeouts'),
      inserts: delta('inserts'),
      removals: delta('removals'),
      sessions,
    };
    before = after;
    since = at;
  }
}

/** A sleep that ends early on abort. */
export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
