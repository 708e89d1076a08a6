/**
 * The session-cache logic between a TLS stack and any SessionStore: what
 * OpenSSL's SSL_CTX session cache does (ssl/ssl_sess.c), with the store as
 * the external cache behind new_session_cb / get_session_cb / remove_session_cb.
 *
 * - Modes, as SSL_CTX_set_session_cache_mode: off, server, client, both.
 * - Expired sessions are flushed every 255 inserts unless `noAutoClear`
 *   (ssl/ssl_lib.c, ssl_update_cache: `(stats & 0xff) == 0xff`).
 * - A size limit (default SSL_SESSION_CACHE_MAX_SIZE_DEFAULT, 20480): when
 *   full, the sessions that expire soonest are evicted, each counted as
 *   cache_full (1% of the limit at a time: see #evictIfFull).
 * - Counters as SSL_CTX_sess_*: a live session found is a hit; none is a
 *   miss; an expired one is a timeout (not a miss) and is removed, as
 *   ssl_get_prev_session does.
 *
 * The handshake path never throws and never hangs on the store: a store that
 * fails or does not answer within `storeTimeoutMs` means "no session" (a full
 * handshake), counted in `storeErrors` and logged as one line without secrets.
 * That counter lives in this process: a store that is down cannot count.
 */
import { createHash } from 'node:crypto';
import { summarizeSession } from '../session/summary.js';
import { entryFromDer } from '../store/entry.js';
import { HEALTH_CHECK_MS, healthCheck } from '../store/health.js';
import { nowSeconds, type Counters, type Entry, type Role, type SessionStore } from '../store/types.js';

export type CacheMode = 'off' | 'server' | 'client' | 'both';

/** OpenSSL's SSL_SESSION_CACHE_MAX_SIZE_DEFAULT (include/openssl/ssl.h.in). */
export const DEFAULT_MAX_SIZE = 1024 * 20;

/** OpenSSL flushes expired sessions when its good-handshake count reaches 255 mod 256 (ssl_update_cache). */
export const AUTO_CLEAR_EVERY = 255;

/** Longest a handshake waits for the store before going on without it. */
export const DEFAULT_STORE_TIMEOUT_MS = 2000;

/** How often counted hits, misses... are written to the store, by default. */
export const DEFAULT_COUNTERS_FLUSH_MS = 1000;

/** At most one store-error line per this many milliseconds; the rest are counted in the next line. */
const ERROR_LOG_INTERVAL_MS = 10_000;

/** Sessions kept per server in the client role (Erlang's client cache keeps several per host:port too). */
export const DEFAULT_SESSIONS_PER_SERVER = 4;

export interface CacheOptions {
  /** Which roles use the cache; default "server" for attachSessionCache, "client" for ClientSessionCache. */
  mode?: CacheMode;
  /** Do not flush expired sessions every 255 inserts (SSL_SESS_CACHE_NO_AUTO_CLEAR). */
  noAutoClear?: boolean;
  /**
   * Do not look in this process's own copy of the sessions first; ask the
   * store every time (SSL_SESS_CACHE_NO_INTERNAL_LOOKUP). Default true: with a
   * store shared by several servers the store is the truth, so that
   * `sessctl remove` takes effect at once (Apache and nginx also switch the
   * internal cache off when they use a shared one). With false, sessions this
   * process saved or fetched are resumed from memory until they expire.
   */
  noInternalLookup?: boolean;
  /** Most sessions in the store; 0 means no limit (as SSL_CTX_sess_set_cache_size(0)). Default 20480. */
  maxSize?: number;
  /**
   * Session lifetime in seconds, from the session's creation: overrides the
   * timeout written in the session (Node: the server's `sessionTimeout`).
   * OpenSSL also checks the session's own timeout when it resumes, so this can
   * shorten the lifetime, not lengthen it.
   */
  timeout?: number;
  /**
   * Server role: only sessions made under this session-id context are
   * offered (OpenSSL would refuse the others anyway; checking here keeps the
   * hits counter honest).
   */
  sessionIdContext?: string | Buffer;
  /**
   * Server role: also store TLS 1.3 sessions. Default false: Node 20 calls
   * 'newSession' twice per TLS 1.3 handshake but never resumes a TLS 1.3
   * session from 'resumeSession' (measured; docs/TLS13.md), so storing them
   * only costs writes on the handshake path and fills the cache.
   */
  saveTls13Sessions?: boolean;
  /** Client role: sessions kept per server (partial key); default 4. */
  sessionsPerServer?: number;
  /** Give up on the store after this many milliseconds (default 2000). */
  storeTimeoutMs?: number;
  /**
   * Counters reach the store at most this often (default 1000 ms; 0: after
   * every handshake). Until then `sessctl stats` does not show them, and a
   * killed process loses them; settled() writes them at once.
   */
  countersFlushMs?: number;
  /** Unix seconds; tests pass their own clock. */
  now?: () => number;
  /** One line per event worth an operator's attention (default: stderr). Never given secrets. */
  logger?: (line: string) => void;
}

const defaultLogger = (line: string): void => {
  process.stderr.write(`sessctl: ${line}\n`);
};

/** What a client may offer: the store key (to forget it later) and the DER. */
export interface OfferedSession {
  key: string;
  der: Buffer;
  protocol: string;
}

export class SessionCache {
  readonly mode: CacheMode;
  readonly maxSize: number;
  /** Store operations that failed or timed out in this process (never written to the store). */
  storeErrors = 0;

  readonly #noAutoClear: boolean;
  readonly #noInternalLookup: boolean;
  readonly #timeout: number | undefined;
  readonly #sessionIdContext: Buffer | undefined;
  readonly #sessionsPerServer: number;
  readonly #saveTls13Sessions: boolean;
  readonly #storeTimeoutMs: number;
  readonly #countersFlushMs: number;
  readonly #now: () => number;
  readonly #log: (line: string) => void;

  /** This process's own copy (used unless noInternalLookup). */
  readonly #internal = new Map<string, Entry>();
  #inserts = 0;
  #evicting: Promise<void> | undefined;
  #justInserted = new Set<string>();
  #pendingCounters: Partial<Counters> = {};
  #countersFlush: Promise<void> | undefined;
  #countersTimer: NodeJS.Timeout | undefined;
  readonly #background = new Set<Promise<unknown>>();
  #lastErrorLogAt = -Infinity;
  #unloggedErrors = 0;
  #healthCheckedAt = -Infinity;
  readonly #checkHealth: () => Promise<string | undefined>;

  constructor(readonly store: SessionStore, options: CacheOptions = {}) {
    this.mode = options.mode ?? 'both';
    if (!['off', 'server', 'client', 'both'].includes(this.mode)) throw new TypeError(`unknown cache mode "${this.mode}" (off, server, client, both)`);
    this.maxSize = options.maxSize ?? DEFAULT_MAX_SIZE;
    if (!Number.isSafeInteger(this.maxSize) || this.maxSize < 0) throw new TypeError(`maxSize must be a whole number >= 0, not ${this.maxSize}`);
    if (options.timeout !== undefined && !(Number.isSafeInteger(options.timeout) && options.timeout > 0)) {
      throw new TypeError(`timeout must be a whole number of seconds > 0, not ${options.timeout}`);
    }
    this.#noAutoClear = options.noAutoClear ?? false;
    this.#noInternalLookup = options.noInternalLookup ?? true;
    this.#timeout = options.timeout;
    const context = options.sessionIdContext;
    this.#sessionIdContext = typeof context === 'string' ? Buffer.from(context, 'utf8') : context && Buffer.from(context);
    this.#sessionsPerServer = options.sessionsPerServer ?? DEFAULT_SESSIONS_PER_SERVER;
    this.#saveTls13Sessions = options.saveTls13Sessions ?? false;
    this.#storeTimeoutMs = options.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS;
    this.#countersFlushMs = options.countersFlushMs ?? DEFAULT_COUNTERS_FLUSH_MS;
    this.#now = options.now ?? nowSeconds;
    this.#log = options.logger ?? defaultLogger;
    this.#checkHealth = healthCheck(store, (problem) => this.#log(`session store: ${problem}`));
  }

  /** True when the cache works for `role` in its mode. */
  serves(role: Role): boolean {
    return this.mode === 'both' || this.mode === role;
  }

  // ---- server role: new_session_cb / get_session_cb ----

  /** Save a session a server just made (Node's 'newSession'). Never throws. */
  async saveServerSession(id: Buffer, der: Buffer): Promise<void> {
    if (!this.serves('server') || id.length === 0) return;
    const entry = this.#entry(der, { key: id.toString('hex'), role: 'server' });
    if (!entry || (entry.protocol === 'TLSv1.3' && !this.#saveTls13Sessions)) return;
    await this.#save(entry);
  }

  /**
   * The session to resume for the id a client offered (Node's
   * 'resumeSession'), or undefined for a full handshake. Never throws.
   */
  async findServerSession(id: Buffer): Promise<Buffer | undefined> {
    if (!this.serves('server') || id.length === 0 || id.length > 32) return undefined;
    const key = id.toString('hex');
    const entry = this.#internalLookup(key) ?? (await this.#guard('lookup', () => this.store.lookup(key)));
    if (entry === null) return undefined; // the store failed: already counted as a store error
    if (entry === undefined || entry.role !== 'server' || !this.#contextMatches(entry)) {
      this.#count({ misses: 1 });
      return undefined;
    }
    if (entry.expiresAt <= this.#now()) {
      this.#count({ timeouts: 1 });
      this.#forget(key);
      return undefined;
    }
    this.#count({ hits: 1 });
    this.#remember(entry);
    return entry.der;
  }

  // ---- client role: Erlang's client cache, select_session ----

  /** Save a session a client received (Node's 'session' event) for the server `partialKey`. Never throws. */
  async saveClientSession(partialKey: string, der: Buffer): Promise<void> {
    if (!this.serves('client')) return;
    // Keyed by server and session, not by the session id alone: a store in
    // mode "both" holds the server's entry under that id, and a client may
    // hold the same session for two partial keys.
    const key = createHash('sha256').update(partialKey).update('\0').update(der).digest('hex');
    const entry = this.#entry(der, { key, role: 'client', partialKey });
    if (!entry) return;
    await this.#save(entry);
    const sessions = await this.#guard('selectSession', () => this.store.selectSession(partialKey));
    if (!sessions) return;
    for (const extra of sessions.slice(this.#sessionsPerServer)) await this.#guard('delete', () => this.store.delete(extra.key));
  }

  /**
   * The newest live session stored for `partialKey`, or undefined. A TLS 1.3
   * session is taken out of the store when offered: RFC 8446 (C.4) asks
   * clients not to reuse a ticket. Never throws.
   */
  async offerClientSession(partialKey: string): Promise<OfferedSession | undefined> {
    if (!this.serves('client')) return undefined;
    const sessions = await this.#guard('selectSession', () => this.store.selectSession(partialKey));
    if (!sessions) return undefined;
    const now = this.#now();
    let expired = 0;
    for (const entry of sessions) {
      if (entry.role !== 'client') continue;
      if (entry.expiresAt <= now) {
        expired += 1;
        this.#forget(entry.key);
        continue;
      }
      this.#count({ hits: 1 });
      if (entry.protocol === 'TLSv1.3') this.#forget(entry.key);
      return { key: entry.key, der: entry.der, protocol: entry.protocol };
    }
    this.#count(expired > 0 ? { timeouts: expired } : { misses: 1 });
    return undefined;
  }

  /** Drop a session the server did not resume (remove_session_cb). Never throws. */
  forgetSession(key: string): void {
    this.#forget(key);
  }

  // ---- maintenance ----

  /** Remove every expired session from the store (SSL_CTX_flush_sessions); returns how many. */
  async flushExpired(): Promise<number> {
    const now = this.#now();
    for (const [key, entry] of this.#internal) if (entry.expiresAt <= now) this.#internal.delete(key);
    const pause = pauser();
    const removed = await this.#guard('flush', () =>
      this.store.foldl(async (entry, n: number) => {
        await pause();
        return entry.expiresAt <= now && (await this.store.delete(entry.key)) ? n + 1 : n;
      }, 0, { withDer: false }),
      false, // a pass over the whole store: no handshake waits for it
    );
    return removed ?? 0;
  }

  /**
   * Resolves when the writes this cache started in the background (removals,
   * flushes) are done and the counters counted so far are in the store.
   */
  async settled(): Promise<void> {
    while (this.#background.size > 0 || this.#countersFlush || this.#countersTimer) {
      if (this.#countersTimer) this.#flushCounters();
      await Promise.allSettled([...this.#background, this.#countersFlush]);
    }
  }

  // ---- internals ----

  #entry(der: Buffer, options: { key: string; role: Role; partialKey?: string }): Entry | undefined {
    try {
      return entryFromDer(der, {
        key: options.key,
        role: options.role,
        ...(options.partialKey === undefined ? {} : { partialKey: options.partialKey }),
        ...(this.#timeout === undefined ? {} : { timeout: this.#timeout }),
        now: this.#now(),
      });
    } catch (err) {
      // A session we cannot decode cannot be listed or checked: keep it out.
      this.#log(`not caching a ${options.role} session: ${(err as Error).message}`);
      return undefined;
    }
  }

  async #save(entry: Entry): Promise<void> {
    const saved = await this.#guard('update', async () => {
      await this.store.update(entry);
      return true;
    });
    if (!saved) return;
    this.#remember(entry);
    this.#inserts += 1;
    if (this.maxSize > 0) {
      this.#justInserted.add(entry.key);
      this.#evictIfFull();
    }
    if (!this.#noAutoClear && this.#inserts % AUTO_CLEAR_EVERY === 0) this.#inBackground(this.flushExpired());
  }

  /**
   * When the store holds more than maxSize sessions, evict the ones that
   * expire soonest, never those just inserted (OpenSSL, SSL_CTX_add_session:
   * remove the timeout list's tail, counting sess_cache_full), plus 1% of
   * maxSize more: finding them takes a pass over the whole store (foldl),
   * which must not run on every insert of a full cache. Runs after the
   * insert, in the background, one pass at a time, so handshakes never wait
   * for it; the store may hold a few sessions too many meanwhile.
   */
  #evictIfFull(): void {
    if (this.#evicting) return;
    this.#evicting = (async () => {
      const protect = this.#justInserted;
      this.#justInserted = new Set();
      const size = await this.store.size();
      if (size <= this.maxSize) return;
      const victims = await soonestExpiring(this.store, size - this.maxSize + Math.floor(this.maxSize / 100), protect);
      let evicted = 0;
      for (const victim of victims) {
        if (await this.store.delete(victim)) evicted += 1;
        this.#internal.delete(victim);
      }
      if (evicted > 0) this.#count({ cache_full: evicted });
    })();
    const run = this.#guard('evict', () => this.#evicting!, false).finally(() => {
      this.#evicting = undefined;
      if (this.#justInserted.size > 0) this.#evictIfFull(); // inserts made during the pass
    });
    this.#inBackground(run);
  }

  #contextMatches(entry: Entry): boolean {
    if (this.#sessionIdContext === undefined) return true;
    const context = sessionIdContextOf(entry.der);
    return context !== null && (context ?? EMPTY).equals(this.#sessionIdContext);
  }

  #internalLookup(key: string): Entry | undefined {
    if (this.#noInternalLookup) return undefined;
    const entry = this.#internal.get(key);
    if (entry && entry.expiresAt <= this.#now()) {
      this.#internal.delete(key);
      return undefined;
    }
    return entry;
  }

  #remember(entry: Entry): void {
    if (this.#noInternalLookup) return;
    this.#internal.delete(entry.key);
    this.#internal.set(entry.key, entry);
    // Oldest insertion first: the Map's order.
    while (this.maxSize > 0 && this.#internal.size > this.maxSize) this.#internal.delete(this.#internal.keys().next().value!);
  }

  #forget(key: string): void {
    this.#internal.delete(key);
    this.#inBackground(this.#guard('delete', () => this.store.delete(key)));
  }

  /**
   * Counters are added up here and written at most every `countersFlushMs`
   * (one addCounters for everything counted meanwhile): a write per handshake
   * would cost more than the lookup itself. settled() writes at once.
   */
  #count(delta: Partial<Counters>): void {
    for (const [name, value] of Object.entries(delta) as [keyof Counters, number][]) {
      this.#pendingCounters[name] = (this.#pendingCounters[name] ?? 0) + value;
    }
    if (this.#countersTimer || this.#countersFlush) return;
    if (this.#countersFlushMs === 0) {
      this.#flushCounters();
      return;
    }
    this.#countersTimer = setTimeout(() => this.#flushCounters(), this.#countersFlushMs);
    this.#countersTimer.unref();
  }

  #flushCounters(): void {
    clearTimeout(this.#countersTimer);
    this.#countersTimer = undefined;
    this.#watchHealth();
    if (this.#countersFlush) return;
    this.#countersFlush = (async () => {
      while (Object.keys(this.#pendingCounters).length > 0) {
        const batch = this.#pendingCounters;
        this.#pendingCounters = {};
        await this.#guard('addCounters', () => this.store.addCounters(batch));
      }
      this.#countersFlush = undefined;
    })();
  }

  #inBackground(work: Promise<unknown>): void {
    this.#background.add(work);
    void work.finally(() => this.#background.delete(work));
  }

  /**
   * Run one store operation: its result, or null when the store failed or
   * (`timed`: on the handshake path) did not answer in time; counted and logged.
   */
  /**
   * Ask the store whether it needs attention (store.health: the cache file
   * removed or replaced under this process), at most every
   * HEALTH_CHECK_MS, from the counters' flush, so only while handshakes
   * happen; log a problem once, when it appears.
   */
  #watchHealth(): void {
    const now = Date.now();
    if (this.store.health === undefined || now - this.#healthCheckedAt < HEALTH_CHECK_MS) return;
    this.#healthCheckedAt = now;
    this.#checkHealth().catch(() => {});
  }

  async #guard<T>(operation: string, work: () => Promise<T>, timed = true): Promise<T | null> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const pending = work();
      if (!timed) return await pending;
      // The cache file and memory: answer at once: one microtask tells, and
      // saves a timer per handshake. Only a store still busy gets a deadline.
      let answered = false;
      pending.then(
        () => (answered = true),
        () => (answered = true),
      );
      await undefined;
      if (answered) return await pending;
      const deadline = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${this.#storeTimeoutMs} ms`)), this.#storeTimeoutMs);
        timer.unref();
      });
      return await Promise.race([pending, deadline]);
    } catch (err) {
      this.storeErrors += 1;
      this.#logStoreError(operation, err);
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  #logStoreError(operation: string, err: unknown): void {
    const now = Date.now();
    if (now - this.#lastErrorLogAt < ERROR_LOG_INTERVAL_MS) {
      this.#unloggedErrors += 1;
      return;
    }
    const more = this.#unloggedErrors > 0 ? ` (and ${this.#unloggedErrors} more store errors since the last report)` : '';
    this.#lastErrorLogAt = now;
    this.#unloggedErrors = 0;
    const reason = ((err as Error)?.message ?? String(err)).split('\n')[0];
    this.#log(`session store failed (${operation} on ${this.store.url}), going on without it (full handshakes): ${reason}${more}`);
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * The session_id_context field ([4], ssl/ssl_asn1.c) of a stored session:
 * undefined when absent, null when the DER is malformed.
 */
export function sessionIdContextOf(der: Buffer): Buffer | undefined | null {
  try {
    return summarizeSession(der).sessionIdContext;
  } catch {
    return null;
  }
}

/**
 * For a pass over the whole store in a server process: a backend whose
 * foldl answers synchronously (the cache file) would otherwise hold the event
 * loop, and every handshake, for the whole pass (~300 ms for 20480 sessions).
 */
function pauser(every = 256): () => Promise<void> | undefined {
  let n = 0;
  return () => ((n += 1) % every === 0 ? new Promise((resolve) => setImmediate(resolve)) : undefined);
}

/** The keys of the `count` entries that expire soonest, leaving out `protect`, in one pass over the store. */
async function soonestExpiring(store: SessionStore, count: number, protect: Set<string>): Promise<string[]> {
  const n = Math.max(1, count);
  const pause = pauser();
  const found = await store.foldl(async (entry, acc: { key: string; expiresAt: number }[]) => {
    await pause();
    if (protect.has(entry.key)) return acc;
    if (acc.length < n || entry.expiresAt < acc[acc.length - 1]!.expiresAt) {
      // Insert in order (binary search): n can be hundreds.
      let lo = 0;
      let hi = acc.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (acc[mid]!.expiresAt <= entry.expiresAt) lo = mid + 1;
        else hi = mid;
      }
      acc.splice(lo, 0, { key: entry.key, expiresAt: entry.expiresAt });
      if (acc.length > n) acc.pop();
    }
    return acc;
  }, [], { withDer: false });
  return found.map((f) => f.key);
}
