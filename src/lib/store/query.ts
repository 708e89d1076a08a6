import { usageError } from '../errors.js';
import { Halt, type Entry, type SessionStore } from './types.js';

/** What `list`, `remove` and friends select sessions by. Every field narrows. */
export interface SessionQuery {
  /** Exact SNI host name, case-insensitive. */
  sni?: string;
  /** "TLSv1.2" etc. (normalised with normaliseProtocol). */
  protocol?: string;
  /** OpenSSL name of the suite (resolved by the caller from any spelling). */
  cipher?: string;
  state?: 'live' | 'expired';
  /** Client role: the partial key ("host:port"), select_session semantics. */
  partialKey?: string;
  /** Created before this time (unix seconds). */
  createdBefore?: number;
}

export const SORT_KEYS = ['created', 'expires', 'size', 'sni', 'protocol', 'cipher', 'id'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

/** "1.2", "tls1.2", "TLSv1.2", "tls12" → "TLSv1.2". */
export function normaliseProtocol(input: string): string {
  const m = /^(d?tls)\s*v?\s*(1)\.?([0-3])?$/i.exec(input.trim()) ?? /^()(1)\.([0-3])$/.exec(input.trim());
  if (!m) throw usageError(`unknown protocol "${input}" (examples: TLSv1.2, TLSv1.3, 1.2)`);
  const family = (m[1] || 'tls').toLowerCase() === 'dtls' ? 'DTLSv' : 'TLSv';
  return m[3] === undefined || (m[3] === '0' && family === 'TLSv') ? `${family}1` : `${family}1.${m[3]}`;
}

export function matchesQuery(entry: Entry, query: SessionQuery, now: number): boolean {
  if (query.sni !== undefined && entry.sni?.toLowerCase() !== query.sni.toLowerCase()) return false;
  if (query.protocol !== undefined && entry.protocol !== query.protocol) return false;
  if (query.cipher !== undefined && entry.cipher !== query.cipher) return false;
  if (query.state === 'live' && entry.expiresAt <= now) return false;
  if (query.state === 'expired' && entry.expiresAt > now) return false;
  if (query.partialKey !== undefined && entry.partialKey !== query.partialKey) return false;
  if (query.createdBefore !== undefined && entry.createdAt >= query.createdBefore) return false;
  return true;
}

function compareBy(sort: SortKey): (a: Entry, b: Entry) => number {
  const str = (s: string | undefined) => s ?? '';
  switch (sort) {
    case 'created': return (a, b) => a.createdAt - b.createdAt || a.key.localeCompare(b.key);
    case 'expires': return (a, b) => a.expiresAt - b.expiresAt || a.key.localeCompare(b.key);
    case 'size': return (a, b) => a.size - b.size || a.key.localeCompare(b.key);
    case 'sni': return (a, b) => str(a.sni).localeCompare(str(b.sni)) || a.key.localeCompare(b.key);
    case 'protocol': return (a, b) => a.protocol.localeCompare(b.protocol) || a.key.localeCompare(b.key);
    case 'cipher': return (a, b) => a.cipher.localeCompare(b.cipher) || a.key.localeCompare(b.key);
    case 'id': return (a, b) => a.key.localeCompare(b.key);
  }
}

export interface SelectOptions {
  now: number;
  limit?: number;
  sort?: SortKey;
  reverse?: boolean;
  /** Entries with their DER (default: without, for backends that can leave it out). */
  withDer?: boolean;
}

/**
 * Visit the sessions matching `query`. Unsorted, it streams straight from
 * foldl (constant memory) and stops after `limit`. Sorted with a limit, it keeps
 * only the best `limit` entries; sorted without one it must hold every match.
 * Returns how many entries were visited. Entries may come without their DER
 * (foldl's withDer: false): `size` has its length; look an entry up for the DER.
 */
export async function selectEntries(
  store: SessionStore,
  query: SessionQuery,
  options: SelectOptions,
  visit: (entry: Entry) => void | Promise<void>,
): Promise<number> {
  const limit = options.limit ?? Infinity;
  if (limit <= 0) return 0;
  const source = query.partialKey === undefined
    ? <A>(fn: (e: Entry, acc: A) => A | Halt<A> | Promise<A | Halt<A>>, acc: A) => store.foldl(fn, acc, { withDer: options.withDer === true })
    : async <A>(fn: (e: Entry, acc: A) => A | Halt<A> | Promise<A | Halt<A>>, acc: A) => {
        let a = acc;
        for (const e of await store.selectSession(query.partialKey!)) {
          const r = await fn(e, a);
          if (r instanceof Halt) return r.acc;
          a = r;
        }
        return a;
      };

  if (options.sort === undefined) {
    return source<number>((entry, n) => {
      if (!matchesQuery(entry, query, options.now)) return n;
      const next = n + 1 >= limit ? new Halt(n + 1) : n + 1;
      // Wait only when the visitor has to (a full output pipe): a promise per entry adds up over a million.
      const pending = visit(entry);
      return pending === undefined ? next : pending.then(() => next);
    }, 0);
  }

  const base = compareBy(options.sort);
  const cmp = options.reverse ? (a: Entry, b: Entry) => base(b, a) : base;
  const kept: Entry[] = [];
  await source<number>((entry, n) => {
    if (!matchesQuery(entry, query, options.now)) return n;
    if (kept.length < limit) {
      insertSorted(kept, entry, cmp);
    } else if (cmp(entry, kept[kept.length - 1]!) < 0) {
      kept.pop();
      insertSorted(kept, entry, cmp);
    }
    return n + 1;
  }, 0);
  for (const e of kept) await visit(e);
  return kept.length;
}

function insertSorted(list: Entry[], entry: Entry, cmp: (a: Entry, b: Entry) => number): void {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(list[mid]!, entry) <= 0) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, entry);
}

/** Every key matching `query` (for remove and flush: the keys, not the DER, are kept). */
export async function matchingKeys(store: SessionStore, query: SessionQuery, now: number): Promise<string[]> {
  const keys: string[] = [];
  await selectEntries(store, query, { now }, (e) => {
    keys.push(e.key);
  });
  return keys;
}
