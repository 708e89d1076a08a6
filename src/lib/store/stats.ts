import type { Counters, SessionStore, StoreSpace } from './types.js';

/** Remaining-lifetime buckets of `stats`: upper bounds in seconds. */
export const LIFETIME_BUCKETS: readonly { label: string; below: number }[] = [
  { label: '< 1m', below: 60 },
  { label: '< 10m', below: 600 },
  { label: '< 1h', below: 3600 },
  { label: '< 6h', below: 6 * 3600 },
  { label: '< 24h', below: 86_400 },
  { label: '>= 24h', below: Infinity },
];

export interface StoreStats {
  store: string;
  total: number;
  live: number;
  expired: number;
  /** Sum of the sessions' DER sizes. */
  bytes: number;
  byProtocol: Record<string, number>;
  byCipher: Record<string, number>;
  /** The `top` most frequent SNI names ("(none)" for sessions without one), most first. */
  bySni: { sni: string; count: number }[];
  /** Distinct SNI names seen. */
  sniCount: number;
  byRole: Record<string, number>;
  /** Live sessions by remaining lifetime. */
  remainingLifetime: { bucket: string; count: number }[];
  counters: Counters;
  /**
   * The servers' own inserts and removals: the counters less what sessctl's
   * insert, remove and flush did (admin_inserts, admin_removals).
   */
  servers: { inserts: number; removals: number };
  /** The cache file's size and free space (stores with a file only). */
  space?: StoreSpace;
}

/**
 * One pass of foldl over the store (never the whole cache in memory: only
 * per-protocol, per-cipher and per-SNI counts), plus the store's counters.
 */
export async function computeStats(store: SessionStore, options: { now: number; top?: number; onProgress?: (visited: number) => void }): Promise<StoreStats> {
  const byProtocol = new Map<string, number>();
  const byCipher = new Map<string, number>();
  const bySni = new Map<string, number>();
  const byRole = new Map<string, number>();
  const lifetimes = LIFETIME_BUCKETS.map(() => 0);
  const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

  const totals = await store.foldl(
    (e, acc) => {
      acc.total += 1;
      acc.bytes += e.size;
      bump(byProtocol, e.protocol);
      bump(byCipher, e.cipher);
      bump(bySni, e.sni ?? '(none)');
      bump(byRole, e.role);
      const left = e.expiresAt - options.now;
      if (left <= 0) {
        acc.expired += 1;
      } else {
        lifetimes[LIFETIME_BUCKETS.findIndex((b) => left < b.below)]! += 1;
      }
      if (options.onProgress && acc.total % 10_000 === 0) options.onProgress(acc.total);
      return acc;
    },
    { total: 0, expired: 0, bytes: 0 },
    { withDer: false },
  );
  const counters = await store.counters();
  const top = options.top ?? 10;
  const sorted = (m: Map<string, number>) => Object.fromEntries([...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])));
  return {
    store: store.url,
    total: totals.total,
    live: totals.total - totals.expired,
    expired: totals.expired,
    bytes: totals.bytes,
    byProtocol: sorted(byProtocol),
    byCipher: sorted(byCipher),
    bySni: [...bySni].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, top).map(([sni, count]) => ({ sni, count })),
    sniCount: bySni.size,
    byRole: sorted(byRole),
    remainingLifetime: LIFETIME_BUCKETS.map((b, i) => ({ bucket: b.label, count: lifetimes[i]! })),
    counters,
    servers: { inserts: Math.max(0, counters.inserts - counters.admin_inserts), removals: Math.max(0, counters.removals - counters.admin_removals) },
    ...(store.space === undefined ? {} : { space: await store.space() }),
  };
}
