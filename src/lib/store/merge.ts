/**
 * Reading several servers at once: the Redis Cluster's masters (redis.ts) and
 * the memcached servers of Apache's sharded layout (memcache.ts) each give a
 * stream of batches; a fold takes them in whatever order they arrive.
 */

/** Batches from every source as each arrives; stopping early stops every source. */
export async function* merged<T>(sources: AsyncGenerator<T>[]): AsyncGenerator<T> {
  type Next = { source: AsyncGenerator<T>; result: IteratorResult<T> };
  const pending = new Map<AsyncGenerator<T>, Promise<Next>>();
  const pull = (source: AsyncGenerator<T>) => pending.set(source, quiet(source.next().then((result) => ({ source, result }))));
  sources.forEach(pull);
  try {
    while (pending.size > 0) {
      const { source, result } = await Promise.race(pending.values());
      if (result.done) {
        pending.delete(source);
        continue;
      }
      pull(source);
      yield result.value;
    }
  } finally {
    await Promise.allSettled([...pending.keys()].map((source) => source.return(undefined)));
  }
}

/** The promise itself, marked as handled: one a fold may abandon must not become an unhandled rejection. */
export function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
