/**
 * The storage abstraction, modelled on Erlang's ssl_session_cache_api
 * (init, lookup, update, delete, foldl, select_session, size, terminate),
 * made asynchronous. Every backend implements it and passes test/conformance.
 *
 * Semantics every backend keeps:
 * - Keys are session ids as lowercase hex (`SessionKey`); the bytes behind them
 *   are untrusted input from the network. Apache's layout prefixes them, the
 *   store interface never does.
 * - Times are unix seconds. An entry is expired when `expiresAt <= now`.
 *   `lookup` returns expired entries too (an admin tool must see them); the
 *   cache logic in src/lib/tls decides what a hit is and counts `timeouts`.
 * - Values are key material (the DER holds the master secret): never log them.
 * - Entries are values: a store neither keeps the caller's `der` Buffer nor
 *   hands out one it still holds, so changing either later changes nothing stored.
 * - Errors: a dead or unreachable backend rejects with a SessctlError; a miss
 *   is `undefined`. The two are never confused.
 */
import { SessctlError } from '../errors.js';

export type Role = 'server' | 'client';

/** A session id as lowercase hex, 0..64 characters (0..32 bytes). */
export type SessionKey = string;

/**
 * What the store keeps for one session. The summary columns (protocol, cipher,
 * sni, alpn, ...) are derived from `der` by the codec when the entry is made
 * (see `entryFromDer` in src/lib/store/entry.ts); backends store them so that
 * filters do not need to decode DER.
 */
export interface Entry {
  /** Store key: the session id in lowercase hex (or `--id HEX`). */
  key: SessionKey;
  role: Role;
  /** Client role: the server this session may be offered to, e.g. "host:port". */
  partialKey?: string;
  /**
   * The i2d_SSL_SESSION DER, exactly as OpenSSL wrote it. Secret. Empty in a
   * foldl called with `{ withDer: false }` by a backend that can leave it out.
   */
  der: Buffer;
  /** Length of the DER in bytes (also when `der` was left out). */
  size: number;
  /** When the session was created (the SSL_SESSION time field), unix seconds. */
  createdAt: number;
  /** When it was put into this store, unix seconds. */
  insertedAt: number;
  /** When it stops being resumable, unix seconds (createdAt + timeout unless overridden). */
  expiresAt: number;
  /** "TLSv1.2", "TLSv1.3", "DTLSv1.2", or "0x...." for unknown versions. */
  protocol: string;
  /** OpenSSL name of the cipher suite, or "0x...." when unknown. */
  cipher: string;
  sni?: string;
  alpn?: string;
  /** The session carries a ticket (field [10]). */
  hasTicket: boolean;
}

/** Counters, named as OpenSSL's SSL_CTX_sess_* (plus inserts and removals). */
export interface Counters {
  /** Successful lookups of a live session. */
  hits: number;
  /** Lookups that found nothing. */
  misses: number;
  /** Lookups that found a session that had expired (not a hit). */
  timeouts: number;
  /** Sessions evicted because the cache was full. */
  cache_full: number;
  /** Every insert (update), whoever made it: the servers' and sessctl's own. */
  inserts: number;
  /** Every removal (delete), whoever made it: evictions, flushes, sessctl remove. */
  removals: number;
  /**
   * Of `inserts`, those an administrator made with sessctl insert: the
   * servers' own are inserts - admin_inserts. Counted by the admin commands
   * after their writes (src/lib/store/admin.ts), so a reader in
   * between may see the insert before it is told apart.
   */
  admin_inserts: number;
  /** Of `removals`, those made with sessctl remove and flush. */
  admin_removals: number;
}

export type CounterName = keyof Counters;

export const COUNTER_NAMES: readonly CounterName[] = ['hits', 'misses', 'timeouts', 'cache_full', 'inserts', 'removals', 'admin_inserts', 'admin_removals'];

export function zeroCounters(): Counters {
  return { hits: 0, misses: 0, timeouts: 0, cache_full: 0, inserts: 0, removals: 0, admin_inserts: 0, admin_removals: 0 };
}

/**
 * The counter names in `delta`, after checking each is a known counter with a
 * whole-number value (a typo must not silently create or corrupt a counter).
 */
export function checkedCounterNames(delta: Partial<Counters>): (keyof Counters)[] {
  const names = Object.keys(delta) as (keyof Counters)[];
  for (const name of names) {
    if (!COUNTER_NAMES.includes(name)) throw new SessctlError(`unknown counter "${String(name)}" (known: ${COUNTER_NAMES.join(', ')})`);
    const value = delta[name];
    if (value !== undefined && !Number.isSafeInteger(value)) throw new SessctlError(`counter ${name}: ${String(value)} is not a whole number`);
  }
  return names;
}

/**
 * Returned from a foldl callback to stop the iteration early; foldl then
 * resolves with `acc`. Lets `list --limit` stop reading a large store.
 */
export class Halt<A> {
  constructor(readonly acc: A) {}
}

export type FoldFn<A> = (entry: Entry, acc: A) => A | Halt<A> | Promise<A | Halt<A>>;

export interface FoldOptions {
  /**
   * false: the caller needs only the summary columns (list, stats, flush), and
   * a backend that keeps them apart from the DER may hand out entries with an
   * empty `der` (`size` still tells its length). Default true.
   */
  withDer?: boolean;
}

export interface StoreCapabilities {
  /** Entries survive the process (not `memory:`). */
  persistent: boolean;
  /** Counters are kept in the store and shared by every process using it. */
  sharedCounters: boolean;
  /** The store can hold a ticket-key ring (readKeyRing / writeKeyRing). */
  keyRing: boolean;
}

/** How much room a store's file takes, and how much of it is free (the cache file). */
export interface StoreSpace {
  /** Bytes on disk: the database file plus its -wal file. */
  fileBytes: number;
  /** Of those, bytes in free pages: room that removed sessions left, reused by later inserts. */
  freeBytes: number;
}

export interface SessionStore {
  /** The URL it was opened with, credentials removed (safe to print). */
  readonly url: string;
  /** Backend name: "file", "memory", "daemon", "redis", "memcache". */
  readonly kind: string;
  readonly capabilities: StoreCapabilities;

  /** The entry stored under `key`, expired or not; undefined when absent. */
  lookup(key: SessionKey): Promise<Entry | undefined>;
  /** Insert, or replace an existing entry (TSSslSessionInsert). Counts `inserts`. */
  update(entry: Entry): Promise<void>;
  /**
   * Optional: `update` of many entries in one step (the cache file: one
   * transaction), in order; resolves to how many. The daemon commits the
   * updates that arrive together with it (daemon/batch.ts).
   */
  updateMany?(entries: Iterable<Entry>): Promise<number>;
  /** Remove; true when something was removed. Counts `removals`. */
  delete(key: SessionKey): Promise<boolean>;
  /**
   * Visit every entry at least once, in no particular order, in constant
   * memory: exactly once on every backend but Redis, whose SCAN may return a
   * key twice while Redis rehashes (redis.ts; the conformance suite checks
   * each backend for what it promises). Callers that count dedupe or accept
   * that. Entries inserted or deleted during the fold may or may not be visited;
   * the callback may delete entries (flush does). Return a `Halt` to stop.
   */
  foldl<A>(fn: FoldFn<A>, acc0: A, options?: FoldOptions): Promise<A>;
  /**
   * Optional, for backends that keep their keys in order (the cache file): the
   * `limit` entries with the smallest keys above `after` (all keys when
   * undefined), in key order. The daemon pages with it; without it, it must
   * make a pass over the store per page.
   */
  pageByKey?(after: SessionKey | undefined, limit: number): Promise<Entry[]>;
  /** Client role: every session stored for `partialKey` (e.g. "host:port"), newest first. */
  selectSession(partialKey: string): Promise<Entry[]>;
  /** Number of entries, expired ones included. */
  size(): Promise<number>;
  /** The store's counters (shared between processes where capabilities.sharedCounters). */
  counters(): Promise<Counters>;
  /** Add to counters (the cache logic counts hits, misses, timeouts, cache_full). */
  addCounters(delta: Partial<Counters>): Promise<void>;
  /** The ticket-key ring kept in this store, if any (capabilities.keyRing). */
  readKeyRing?(): Promise<Buffer | undefined>;
  /**
   * Store the ring. With `expected`, only if the stored ring is still those
   * bytes (null: only if none is stored), in one atomic step: two rotations at
   * once cannot both commit. Resolves to whether it was written.
   */
  writeKeyRing?(data: Buffer, expected?: Buffer | null): Promise<boolean>;
  /**
   * Optional: a problem an operator must act on that does not fail requests
   * (the cache file removed or replaced while this process has it open), in
   * one line; undefined when there is none. Long-running users (the daemon)
   * check it now and then.
   */
  health?(): Promise<string | undefined>;
  /** Optional (the cache file): how much room the store takes on disk, and how much of it is free. */
  space?(): Promise<StoreSpace>;
  /**
   * Optional (the cache file): give free space back to the file system.
   * Without `full`, what can be done cheaply (the cache file: an incremental
   * vacuum, for files created with it); with `full`, rewrite the whole file.
   */
  compact?(options?: { full?: boolean }): Promise<StoreSpace>;
  /** Release connections and file handles. The store is unusable afterwards. */
  terminate(): Promise<void>;
}

export interface OpenOptions {
  /** Clock in unix seconds; tests pass their own. */
  now?: () => number;
  /** Bearer token for the daemon backend. */
  token?: string;
  /** CA file for https:// and rediss:// stores. */
  ca?: string;
  /** Client certificate and its key (PEM files) for an https:// daemon started with --tls-ca. */
  cert?: string;
  key?: string;
  /** Give up on an unreachable server after this many milliseconds. */
  timeoutMs?: number;
  /** Create the store if it does not exist (default true for the cache file). */
  create?: boolean;
  /**
   * The caller only reads: the cache file is opened read-only and never
   * created or changed (a missing or empty file, where `create` allows one,
   * reads as an empty cache).
   */
  readOnly?: boolean;
  /** Called with a one-line warning (e.g. a cache file readable by others). */
  onWarning?: (message: string) => void;
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);
