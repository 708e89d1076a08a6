/**
 * The memcached backend (`memcache://H1:P1[,H2:P2...][?prefix=P]`) in Apache
 * mod_ssl's layout (docs/ARCHITECTURE.md, apache.ts), so that sessctl sees and manages
 * the sessions mod_socache_memcache shares.
 *
 * List the servers in the same order as Apache's `SSLSessionCache
 * memcache:H1:P1,H2:P2`: a session lives on server
 * `((crc32(key) >> 16) & 0x7fff) % count` (apr-util's choice), so the order
 * decides where each key is looked for.
 *
 * Keys (P = prefix, default "mod_ssl-sess:"):
 *
 *   P<hex>                     the session DER, `set KEY 0 EXPTIME` (Apache's own entries)
 *   sessctl:meta:P<hex>        JSON metadata (role, partialKey, createdAt, insertedAt,
 *                              expiresAt, digest), same lifetime, on the session's server
 *   sessctl:P counters:<name>  one integer per counter (add, then incr/decr)
 *
 * What memcached cannot do, and what this backend does instead:
 * - no way to list keys but `lru_crawler metadump all`: foldl and size dump
 *   every server at once, streaming; foldl asks for each dump batch's values
 *   (each session and its metadata) in one write while the next batch is
 *   read, and reads the replies in place (docs/BENCHMARKS.md, bench/redis);
 * - no sets: selectSession folds over the whole cache (O(n), fine for the
 *   client caches this is meant for);
 * - memcached may evict anything under memory pressure, so it keeps no
 *   ticket-key ring (capabilities.keyRing is false), and counters can be lost
 *   with an eviction or restart.
 */
import { SessctlError, usageError } from '../errors.js';
import {
  APACHE_PREFIX,
  SESSCTL_NAMESPACE,
  apacheKey,
  checkPrefix,
  entryFromStored,
  keyFromApache,
  memcachedExptime,
  memcachedServerIndex,
  metaFields,
  metaOf,
  parseMeta,
  remainingTtl,
} from './apache.js';
import { MemcacheServer, type MetaValue } from './memcache-client.js';
import { merged, quiet } from './merge.js';
import {
  COUNTER_NAMES,
  Halt,
  nowSeconds,
  zeroCounters,
  checkedCounterNames,
  type Counters,
  type Entry,
  type FoldFn,
  type FoldOptions,
  type OpenOptions,
  type SessionKey,
  type SessionStore,
  type StoreCapabilities,
} from './types.js';

export const DEFAULT_TIMEOUT_MS = 3_000;
/** Keys a fold asks for in one write (and the dump hands over at a time). */
const BATCH = 500;

export interface MemcacheUrl {
  servers: { host: string; port: number }[];
  prefix: string;
  display: string;
}

const URL_FORM = 'memcache://HOST:PORT[,HOST:PORT...][?prefix=P]';

export function parseMemcacheUrl(url: string): MemcacheUrl {
  const m = /^memcache:\/\/([^/?#@]+)\/?(?:\?([^#]*))?$/i.exec(url);
  if (!m) {
    // mod_socache_memcache has no authentication and no databases: say so rather than "not a URL".
    if (/^memcache:\/\/[^/?#]*@/i.test(url)) throw usageError(`memcached has no user or password: drop "USER@" from the URL (${URL_FORM})`);
    throw usageError(`not a memcached URL: use ${URL_FORM}`);
  }
  const servers = m[1]!.split(',').map((hostPort) => {
    const hp = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(hostPort);
    const port = Number(hp?.[3] ?? 11211);
    if (!hp || !Number.isInteger(port) || port < 1 || port > 65535) throw usageError(`bad memcached server "${hostPort}": use HOST:PORT (${URL_FORM})`);
    return { host: (hp[1] ?? hp[2])!, port };
  });
  let prefix = APACHE_PREFIX;
  const seen = new Set<string>();
  for (const [name, value] of new URLSearchParams(m[2] ?? '')) {
    if (seen.has(name)) throw usageError(`the memcached URL parameter "${name}" is given twice`);
    seen.add(name);
    if (name === 'prefix') prefix = checkPrefix(value);
    else throw usageError(`unknown memcached URL parameter "${name}": the only one is prefix`);
  }
  return { servers, prefix, display: url };
}

/** Open a memcached store; rejects with a SessctlError when a server cannot be reached within the timeout. */
export async function open(url: string, options: OpenOptions = {}): Promise<SessionStore> {
  const store = new MemcacheStore(parseMemcacheUrl(url), options);
  await store.check();
  return store;
}

export class MemcacheStore implements SessionStore {
  readonly kind = 'memcache';
  readonly url: string;
  readonly capabilities: StoreCapabilities = { persistent: true, sharedCounters: true, keyRing: false };

  readonly #servers: MemcacheServer[];
  readonly #prefix: string;
  /** The prefix as the dump gives keys: its UTF-8 bytes, one character a byte. */
  readonly #dumpedPrefix: string;
  readonly #now: () => number;
  readonly #onWarning: (message: string) => void;
  #closed = false;

  constructor(config: MemcacheUrl, options: OpenOptions) {
    // mod_socache_memcache speaks plain text: a CA would go unused.
    if (options.ca !== undefined) throw usageError('--ca applies to https:// and rediss:// stores; memcached has no TLS');
    this.url = config.display;
    this.#prefix = config.prefix;
    this.#dumpedPrefix = Buffer.from(config.prefix).toString('latin1');
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#servers = config.servers.map(({ host, port }) => new MemcacheServer(host, port, timeoutMs));
    this.#now = options.now ?? nowSeconds;
    this.#onWarning = options.onWarning ?? (() => {});
  }

  /** Every server answers (a miss is an answer). */
  async check(): Promise<void> {
    try {
      await Promise.all(this.#servers.map((server) => server.get(`${SESSCTL_NAMESPACE}ping`)));
    } catch (err) {
      this.#close();
      throw err;
    }
  }

  async lookup(key: SessionKey): Promise<Entry | undefined> {
    const storeKey = this.#key(key);
    const server = this.#serverFor(storeKey);
    const [value, meta] = await Promise.all([server.get(storeKey), server.get(metaKey(storeKey))]);
    return value === undefined ? undefined : this.#entry(key, value, meta);
  }

  async update(entry: Entry): Promise<void> {
    const storeKey = this.#key(entry.key);
    const server = this.#serverFor(storeKey);
    const now = this.#now();
    const exptime = memcachedExptime(remainingTtl(entry.expiresAt, now), nowSeconds());
    const meta = Buffer.from(JSON.stringify(metaFields(metaOf(entry))));
    await Promise.all([server.set(storeKey, entry.der, exptime), server.set(metaKey(storeKey), meta, exptime)]);
    await this.addCounters({ inserts: 1 });
  }

  async delete(key: SessionKey): Promise<boolean> {
    const storeKey = this.#key(key);
    const server = this.#serverFor(storeKey);
    const [removed] = await Promise.all([server.delete(storeKey), server.delete(metaKey(storeKey))]);
    if (removed) await this.addCounters({ removals: 1 });
    return removed;
  }

  async foldl<A>(fn: FoldFn<A>, acc0: A, options: FoldOptions = {}): Promise<A> {
    this.#check();
    let acc = acc0;
    // The DER is copied out of the reply only when the caller wants it.
    const keepDer = options.withDer === false ? 'none' : 'copy';
    const batches = this.#servers.length === 1 ? this.#entryBatches(this.#servers[0]!, keepDer) : merged(this.#servers.map((server) => this.#entryBatches(server, keepDer)));
    try {
      for await (const entries of batches) {
        for (const entry of entries) {
          const result = fn(entry, acc);
          // A synchronous callback (stats, list) costs no promise per entry.
          const next = result instanceof Promise ? await result : result;
          if (next instanceof Halt) return next.acc;
          acc = next;
        }
      }
    } finally {
      await batches.return(undefined);
    }
    return acc;
  }

  async selectSession(partialKey: string): Promise<Entry[]> {
    const found = await this.foldl((entry, acc: Entry[]) => {
      if (entry.partialKey === partialKey) acc.push(entry);
      return acc;
    }, []);
    return found.sort((a, b) => b.createdAt - a.createdAt || b.insertedAt - a.insertedAt);
  }

  async size(): Promise<number> {
    this.#check();
    // Every server's dump at once: Apache's layout spreads the sessions over all of them.
    const counts = await Promise.all(
      this.#servers.map(async (server) => {
        let count = 0;
        for await (const keys of server.dump(BATCH)) count += keys.filter((key) => keyFromApache(this.#dumpedPrefix, key) !== undefined).length;
        return count;
      }),
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  async counters(): Promise<Counters> {
    const counters = zeroCounters();
    const values = await Promise.all(COUNTER_NAMES.map((name) => this.#serverFor(this.#counterKey(name)).get(this.#counterKey(name))));
    COUNTER_NAMES.forEach((name, i) => {
      const value = Number(values[i]?.value.toString('latin1').trim() ?? 0);
      if (Number.isSafeInteger(value)) counters[name] = value;
    });
    return counters;
  }

  async addCounters(delta: Partial<Counters>): Promise<void> {
    this.#check();
    const names = checkedCounterNames(delta).filter((name) => (delta[name] ?? 0) !== 0);
    await Promise.all(
      names.map(async (name) => {
        const key = this.#counterKey(name);
        const server = this.#serverFor(key);
        const amount = delta[name]!;
        if ((await server.incr(key, amount)) !== undefined) return;
        // First use: create it (add loses to a concurrent creator, then incr wins).
        if (await server.add(key, Buffer.from(String(Math.max(0, amount))), 0)) return;
        await server.incr(key, amount);
      }),
    );
  }

  async terminate(): Promise<void> {
    this.#close();
  }

  // ------------------------------------------------------------ internals

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const server of this.#servers) server.close();
  }

  #check(): void {
    if (this.#closed) throw new SessctlError(`the session store ${this.url} has been closed`);
  }

  #key(key: SessionKey): string {
    this.#check();
    return apacheKey(this.#prefix, key);
  }

  #counterKey(name: string): string {
    return `${SESSCTL_NAMESPACE}${this.#prefix}counters:${name}`;
  }

  /** apr-util's server for a key (see apache.ts). */
  #serverFor(storeKey: string): MemcacheServer {
    this.#check();
    return this.#servers[memcachedServerIndex(storeKey, this.#servers.length)]!;
  }

  /**
   * One server's sessions, a dump batch at a time: each batch's values are
   * asked for in one getPairs while the next batch is read from the dump
   * (its own connection), so neither waits on the other.
   */
  async *#entryBatches(server: MemcacheServer, keepDer: 'copy' | 'none'): AsyncGenerator<Entry[]> {
    const dump = server.dump(BATCH);
    let previous: Promise<Entry[]> | undefined;
    try {
      for await (const keys of dump) {
        const batch = quiet(this.#fetch(server, keys, keepDer));
        if (previous !== undefined) yield await previous;
        previous = batch;
      }
      if (previous !== undefined) yield await previous;
    } finally {
      // Stopped early (a Halt, an error): the dump's connection is closed, a fetch in flight dropped.
      await dump.return(undefined);
    }
  }

  /**
   * The entries behind one dump batch (byte strings, see MemcacheServer.dump):
   * each session and its metadata in one getPairs, each Entry made as its
   * replies arrive; gone since the dump: left out.
   */
  async #fetch(server: MemcacheServer, dumped: string[], keepDer: 'copy' | 'none'): Promise<Entry[]> {
    const storeKeys: string[] = [];
    const keys: SessionKey[] = [];
    for (const storeKey of dumped) {
      const key = keyFromApache(this.#dumpedPrefix, storeKey);
      if (key === undefined) continue;
      storeKeys.push(storeKey);
      keys.push(key);
    }
    const entries: Entry[] = [];
    const now = this.#now();
    await server.getPairs(storeKeys, META_PREFIX, (i, der, ttl, meta) => {
      if (der === undefined) return; // deleted or expired since the dump
      try {
        entries.push(entryFromStored({ key: keys[i]!, der, keepDer, ttlMs: ttl >= 0 ? ttl * 1000 : undefined, meta: parseMeta(metaFieldsOf(meta)), now }));
      } catch (err) {
        this.#onWarning(`skipping ${storeKeys[i]!} in ${this.url}: ${(err as Error).message}`);
      }
    });
    return entries;
  }

  #entry(key: SessionKey, value: MetaValue, meta: MetaValue | undefined): Entry {
    return entryFromStored({ key, der: value.value, ttlMs: value.ttl >= 0 ? value.ttl * 1000 : undefined, meta: parseMeta(metaFieldsOf(meta?.value)), now: this.#now() });
  }
}

const META_PREFIX = `${SESSCTL_NAMESPACE}meta:`;

/** sessctl's metadata for a session key; it lives on the session's server (chosen by the session key). */
export function metaKey(storeKey: string): string {
  return META_PREFIX + storeKey;
}

/** The metadata record's fields (JSON); undefined when absent or unreadable (then the DER alone speaks). */
function metaFieldsOf(meta: Buffer | undefined): Record<string, string> | undefined {
  if (meta === undefined) return undefined;
  try {
    return JSON.parse(meta.toString('utf8')) as Record<string, string>;
  } catch {
    return undefined;
  }
}
