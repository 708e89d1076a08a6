/**
 * The Redis backend (`redis://`, `rediss://`), standalone or Redis Cluster,
 * in Apache mod_ssl's layout (docs/ARCHITECTURE.md, src/lib/store/apache.ts), so that
 * sessctl sees and manages the sessions Apache's mod_socache_redis shares.
 *
 * URL forms:
 *
 *   redis://[USER:PASSWORD@]HOST:PORT[/DB][?prefix=P]
 *   rediss://...                          TLS (OpenOptions.ca / --ca for a private CA)
 *   redis://H1:P1,H2:P2[?cluster=1]       Redis Cluster: several seed nodes, or cluster=1
 *
 * Keys (P = prefix, default "mod_ssl-sess:"):
 *
 *   P<hex>                        the session DER, SETEX with the remaining lifetime (Apache's own entries)
 *   sessctl:meta:{P<hex>}         hash: role, partialKey, createdAt, insertedAt, expiresAt, digest; same TTL.
 *                                 The hash tag puts it in the session's cluster slot, so both are
 *                                 written in one MULTI. Apache never reads it.
 *   sessctl:P counters            hash of counters, HINCRBY so every server shares them. Every insert
 *                                 counts in it, so a fold looks for metadata only where it exists.
 *   sessctl:P keyring             the ticket-key ring (no TTL)
 *   sessctl:P client:<partialKey> sorted set of client-role session ids (score expiresAt),
 *                                 for selectSession; members whose entry has gone are dropped on read.
 *
 * foldl and size SCAN `P*` (COUNT 1000) on every master, never KEYS. On a
 * standalone server a fold reads a page in one command that scans and packs
 * it (PAGE_SCRIPT), the next page asked for while the caller folds this one;
 * a cluster's fold reads every master at once, each the same way with
 * commands of a key's own (CLUSTER_PAGE_SCRIPT). SCAN may
 * report a key twice while Redis rehashes (its documented guarantee), so a
 * fold visits each entry at least once.
 *
 * Failure: every command is bounded by `timeoutMs` (default 3 s); a server
 * that is down, stalls or refuses the credentials rejects with a SessctlError
 * naming it. Nothing is queued while disconnected; ioredis keeps reconnecting
 * in the background, so a long-lived store recovers when Redis comes back.
 */
import { readFileSync } from 'node:fs';
import type { Cluster, Redis, RedisOptions } from 'ioredis';
import { SessctlError, usageError } from '../errors.js';
import {
  APACHE_PREFIX,
  SESSCTL_NAMESPACE,
  apacheKey,
  checkPrefix,
  entryFromStored,
  keyFromApache,
  metaFields,
  metaOf,
  parseMeta,
  remainingTtl,
} from './apache.js';
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
import { merged, quiet } from './merge.js';

export const DEFAULT_TIMEOUT_MS = 3_000;
const SCAN_COUNT = 1000;

/**
 * The reply both page scripts build (its layout is described below):
 * `add(key, der, meta)` a session, `packed(cursor)` the reply. The heads are
 * packed 1000 sessions a struct.pack, to keep unpack() within Lua's stack.
 * `hashOrNone` keeps an HGETALL reply that is a hash of at most 32 fields.
 */
const PAGE_PACKING = `local nums, n, body, b = {}, 0, {}, 0
local function add(key, der, meta)
  nums[n + 1] = #key
  nums[n + 2] = #der
  nums[n + 3] = redis.call('PTTL', key)
  nums[n + 4] = #meta
  n = n + 4
  body[b + 1] = key
  body[b + 2] = der
  b = b + 2
  for f = 1, #meta do
    body[b + 1] = struct.pack('>I', #meta[f])
    body[b + 2] = meta[f]
    b = b + 2
  end
end
local function packed(cursor)
  local heads = {}
  for from = 1, n, 4000 do
    local to = math.min(from + 3999, n)
    heads[#heads + 1] = struct.pack('>' .. string.rep('IIdH', (to - from + 1) / 4), unpack(nums, from, to))
  end
  return {cursor, table.concat(heads), table.concat(body)}
end
local function hashOrNone(meta)
  if type(meta) ~= 'table' or meta.err or #meta > 64 then return {} end
  return meta
end`;

/**
 * What a fold reads of a standalone server, one SCAN page a call: the script
 * runs the SCAN itself (ARGV: cursor, MATCH pattern, COUNT, the metadata key's
 * start "sessctl:meta:{", the counters key) and returns the next cursor and
 * the page packed into two strings, so the client parses two Buffers a page
 * instead of three reply elements and a key string a session, and sends no
 * keys back (docs/BENCHMARKS.md, bench/redis 2026-12-02). For each key whose
 * value is a string (others, and keys gone since, are left out), in order,
 * big-endian:
 *
 *   heads: u32 key length | u32 DER length | f64 PTTL (ms; -1: no expiry) | u16 n
 *   body:  key | DER | n x (u32 length | bytes): the metadata hash's fields and values
 *
 * What the server does per session is what bounds a fold (the floor measured
 * in docs/BENCHMARKS.md), so it does little: MGET reads a slice's values in
 * one call, one struct.pack writes a thousand heads, and the metadata is
 * looked for only where there can be some: sessctl counts every insert in
 * its counters hash in the MULTI that writes the metadata (update), so
 * without that hash there is none (Apache's sessions); with it, EXISTS asks
 * once a slice, then HGETALL a key. (A server that evicts keys without a
 * lifetime, maxmemory-policy allkeys-*, may drop the counters before the
 * metadata: until the next insert, folds then read those sessions as
 * Apache's, from the DER and the TTL; lookups still read their metadata.) Slices of 1000 keys keep unpack() within
 * Lua's stack whatever SCAN returns. SCAN in a script is allowed as scripts
 * replicate their effects (Redis 5); this one writes nothing (`no-writes`,
 * Redis 7.0: https://redis.io/docs/latest/develop/interact/programmability/eval-intro/),
 * and a server before 7.0 refuses the shebang, so the fold reads as for a
 * cluster node (FETCH_SCRIPT, or pipelined). One page holds the server a few
 * milliseconds.
 */
export const PAGE_SCRIPT = `#!lua flags=no-writes
${PAGE_PACKING}
local page = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[3])
local keys = page[2]
local sessctl = redis.call('EXISTS', ARGV[5]) == 1
local none = {}
for from = 1, #keys, 1000 do
  local to = math.min(from + 999, #keys)
  local ders = redis.call('MGET', unpack(keys, from, to))
  local metaKeys = nil
  if sessctl then
    metaKeys = {}
    for i = from, to do metaKeys[i - from + 1] = ARGV[4] .. keys[i] .. '}' end
    if redis.call('EXISTS', unpack(metaKeys)) == 0 then metaKeys = nil end
  end
  for i = from, to do
    local der = ders[i - from + 1]
    if der then
      local meta = none
      if metaKeys then meta = hashOrNone(redis.pcall('HGETALL', metaKeys[i - from + 1])) end
      add(keys[i], der, meta)
    end
  end
end
return packed(page[1])`;
/**
 * PAGE_SCRIPT for a cluster master, with the same reply: each key is read
 * with commands of its own (GET, PTTL, and HGETALL of its metadata, which
 * may exist: a cluster counts inserts apart from the metadata). A master
 * refuses MGET or EXISTS over keys of several slots even inside a script
 * ("Script attempted to access a non local key"); `allow-cross-slot-keys`
 * lets each of the script's commands touch another slot, all on this
 * master, as its SCAN found them here. ARGV as PAGE_SCRIPT's (the counters
 * key unused: it lives on one master).
 */
const CLUSTER_PAGE_SCRIPT = `#!lua flags=no-writes,allow-cross-slot-keys
${PAGE_PACKING}
local page = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2], 'COUNT', ARGV[3])
local keys = page[2]
for i = 1, #keys do
  local key = keys[i]
  local der = redis.pcall('GET', key)
  if type(der) == 'string' then add(key, der, hashOrNone(redis.pcall('HGETALL', ARGV[4] .. key .. '}'))) end
end
return packed(page[1])`;
/** A PAGE_SCRIPT head: two u32, an f64 and a u16. */
const PAGE_HEAD = 18;

/**
 * What a fold reads of each session on one node, in one command: for ARGV
 * 1..n the session keys and n+1..2n their metadata keys, the DER (false: gone
 * or not a string), PTTL and the metadata hash's fields, three replies a
 * session. Read-only (no-writes); the keys of one SCAN page lie in many
 * slots of the same node (allow-cross-slot-keys): both flags are Redis 7.0's
 * (https://redis.io/docs/latest/develop/interact/programmability/lua-api/),
 * older servers refuse the script and the fold pipelines instead. The keys
 * are arguments, not declared KEYS: a cluster node refuses a command whose
 * declared keys span slots (CROSSSLOT) before the script runs, whatever its
 * flags, while each command the script runs touches one slot of its own
 * node. One page (about SCAN_COUNT sessions) holds the server a few
 * milliseconds, as a SCAN of that COUNT does.
 */
const FETCH_SCRIPT = `#!lua flags=no-writes,allow-cross-slot-keys
local out = {}
local n = #ARGV / 2
for i = 1, n do
  local der = redis.pcall('GET', ARGV[i])
  if type(der) ~= 'string' then der = false end
  local meta = redis.pcall('HGETALL', ARGV[n + i])
  if type(meta) ~= 'table' or meta.err then meta = {} end
  out[3 * i - 2] = der
  out[3 * i - 1] = redis.call('PTTL', ARGV[i])
  out[3 * i] = meta
end
return out`;
/** Reconnect backoff: 100 ms, 200 ms, ... up to 2 s, for as long as the store is open. */
const reconnectDelay = (times: number): number => Math.min(times * 100, 2_000);

export interface RedisUrl {
  tls: boolean;
  nodes: { host: string; port: number }[];
  username?: string;
  password?: string;
  db: number;
  prefix: string;
  cluster: boolean;
  /** The URL without the password, safe to print. */
  display: string;
}

const URL_FORM = 'redis://[USER:PASSWORD@]HOST:PORT[/DB][?prefix=P], rediss://..., or redis://H1:P1,H2:P2?cluster=1';

/** Parse a redis:// or rediss:// URL (see the module comment). */
export function parseRedisUrl(url: string): RedisUrl {
  const m = /^(rediss?):\/\/(?:([^@/?#]*)@)?([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?$/i.exec(url);
  if (!m) throw usageError(`not a Redis URL: use ${URL_FORM}`);
  const [, scheme, userinfo, hostList, dbPart, query] = m as unknown as [string, string, string | undefined, string, string | undefined, string | undefined];
  let username: string | undefined;
  let password: string | undefined;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    const user = decodeURIComponent(colon < 0 ? userinfo : userinfo.slice(0, colon));
    if (user !== '') username = user;
    if (colon >= 0) password = decodeURIComponent(userinfo.slice(colon + 1));
  }
  const nodes = (hostList === '' ? ['127.0.0.1'] : hostList.split(',')).map((hostPort) => {
    const hp = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d+))?$/.exec(hostPort);
    const port = Number(hp?.[3] ?? 6379);
    if (!hp || !Number.isInteger(port) || port < 1 || port > 65535) throw usageError(`bad Redis host "${hostPort}": use HOST:PORT (${URL_FORM})`);
    return { host: (hp[1] ?? hp[2])!, port };
  });
  if (username !== undefined && password === undefined) {
    // AUTH with one argument is a password: "bob@" would be sent as the password "bob".
    throw usageError(`a Redis user needs a password: redis://${username}:PASSWORD@HOST:PORT (an empty one for a nopass user: redis://${username}:@HOST:PORT)`);
  }
  if (dbPart !== undefined && dbPart !== '' && !/^\d{1,9}$/.test(dbPart)) throw usageError(`bad Redis database "${dbPart}": use a number, e.g. redis://host:6379/0`);
  const db = dbPart === undefined || dbPart === '' ? 0 : Number(dbPart);
  let prefix = APACHE_PREFIX;
  let cluster: boolean | undefined;
  const seen = new Set<string>();
  for (const [name, value] of new URLSearchParams(query ?? '')) {
    if (seen.has(name)) throw usageError(`the Redis URL parameter "${name}" is given twice`);
    seen.add(name);
    if (name === 'prefix') prefix = checkPrefix(value);
    else if (name === 'cluster') cluster = clusterFlag(value);
    else throw usageError(`unknown Redis URL parameter "${name}": known are prefix and cluster`);
  }
  if (cluster === false && nodes.length > 1) throw usageError(`several Redis hosts (${hostList}) make a cluster: drop cluster=${new URLSearchParams(query ?? '').get('cluster')}, or name one host`);
  cluster ??= nodes.length > 1;
  if (cluster && db !== 0) throw usageError('Redis Cluster has only database 0: drop the /DB from the URL');
  const auth = username === undefined ? '' : `${encodeURIComponent(username)}@`;
  const display = `${scheme!.toLowerCase()}://${auth}${hostList}${dbPart ? `/${dbPart}` : ''}${query ? `?${query}` : ''}`;
  return { tls: scheme!.toLowerCase() === 'rediss', nodes, ...(username === undefined ? {} : { username }), ...(password === undefined ? {} : { password }), db, prefix, cluster, display };
}

/** The `cluster=` URL parameter: yes or no, in the usual spellings; anything else is refused. */
function clusterFlag(value: string): boolean {
  const v = value.toLowerCase();
  if (['', '1', 'true', 'yes'].includes(v)) return true;
  if (['0', 'false', 'no'].includes(v)) return false;
  throw usageError(`bad Redis URL parameter cluster=${value}: use cluster=1 or cluster=0`);
}

/** Open a Redis store; rejects with a SessctlError when the server cannot be reached within the timeout. */
export async function open(url: string, options: OpenOptions = {}): Promise<SessionStore> {
  const parsed = parseRedisUrl(url);
  const store = new RedisStore(parsed, options);
  await store.connect();
  return store;
}

type Client = Redis | Cluster;

/** writeKeyRing's compare-and-swap, in one step on the server: ARGV = the new ring, "none" or "equal", the expected ring. */
const WRITE_RING_IF = `
local stored = redis.call('GET', KEYS[1])
if ARGV[2] == 'none' then
  if stored then return 0 end
elseif stored ~= ARGV[3] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1])
return 1`;

export class RedisStore implements SessionStore {
  readonly kind = 'redis';
  readonly url: string;
  readonly capabilities: StoreCapabilities = { persistent: true, sharedCounters: true, keyRing: true };

  readonly #config: RedisUrl;
  readonly #timeoutMs: number;
  readonly #now: () => number;
  readonly #onWarning: (message: string) => void;
  readonly #ca: Buffer | undefined;
  /** For messages: "redis 127.0.0.1:6379" or "redis cluster 127.0.0.1:7000,...". */
  readonly #where: string;
  #client: Client | undefined;
  #lastError: Error | undefined;
  #closed = false;
  /** Folds fetch with FETCH_SCRIPT until the server refuses it once. */
  #fetchScript = true;
  /** Standalone folds read with PAGE_SCRIPT until the server refuses it once. */
  #pageScript = true;

  constructor(config: RedisUrl, options: OpenOptions) {
    this.#config = config;
    this.url = config.display;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#now = options.now ?? nowSeconds;
    this.#onWarning = options.onWarning ?? (() => {});
    this.#where = `redis${config.cluster ? ' cluster' : ''} ${config.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
    if (options.ca !== undefined) {
      if (!config.tls) throw usageError('--ca applies to rediss:// (TLS) stores only');
      try {
        this.#ca = readFileSync(options.ca);
      } catch (err) {
        throw new SessctlError(`cannot read the CA file ${options.ca}: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  async connect(): Promise<void> {
    const { Redis: RedisClient, Cluster: ClusterClient } = await import('ioredis');
    const c = this.#config;
    const common: RedisOptions = {
      ...(c.username === undefined ? {} : { username: c.username }),
      ...(c.password === undefined ? {} : { password: c.password }),
      ...(c.tls ? { tls: this.#ca === undefined ? {} : { ca: this.#ca } } : {}),
      connectTimeout: this.#timeoutMs,
      commandTimeout: this.#timeoutMs,
      // Fail commands at once while disconnected instead of queueing or retrying them.
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      // Concurrent lookups (a TLS server's handshakes) share one socket write per event-loop tick.
      enableAutoPipelining: true,
    };
    const client: Client = c.cluster
      ? new ClusterClient(c.nodes, {
          lazyConnect: true,
          enableAutoPipelining: true,
          enableOfflineQueue: false,
          clusterRetryStrategy: reconnectDelay,
          slotsRefreshTimeout: this.#timeoutMs,
          redisOptions: common,
          ...(c.tls ? { dnsLookup: (address: string, callback: (err: null, address: string) => void) => callback(null, address) } : {}),
        })
      : new RedisClient({
          ...common,
          host: c.nodes[0]!.host,
          port: c.nodes[0]!.port,
          db: c.db,
          enableOfflineQueue: false,
          retryStrategy: reconnectDelay,
          // A fold's page is asked for at once: auto-pipelined, it would wait
          // for the next turn of the event loop, after the caller has folded
          // the page before, and Redis would idle meanwhile.
          autoPipeliningIgnoredCommands: ['eval', 'scan'],
        });
    // ioredis reports connection trouble as 'error' events; keep the last one for messages.
    client.on('error', (err: Error) => {
      this.#lastError = err;
    });
    this.#client = client;
    try {
      await withTimeout(client.connect(), this.#timeoutMs, () => this.#timeout());
      if (c.cluster) await this.#waitForCluster(client as Cluster);
      await this.#checkApplied();
    } catch (err) {
      client.disconnect();
      this.#closed = true;
      throw this.#fail(err);
    }
  }

  async lookup(key: SessionKey): Promise<Entry | undefined> {
    const client = this.#open();
    const storeKey = this.#key(key);
    const [der, pttl, meta] = await this.#run(() =>
      Promise.all([client.getBuffer(storeKey), client.pttl(storeKey), client.hgetall(metaKey(storeKey)).catch(notAHash)]),
    );
    if (der === null) return undefined;
    return this.#entry(key, der, pttl, meta);
  }

  async update(entry: Entry): Promise<void> {
    const client = this.#open();
    const storeKey = this.#key(entry.key);
    const ttl = remainingTtl(entry.expiresAt, this.#now());
    const meta = metaKey(storeKey);
    await this.#run(async () => {
      // One MULTI (one slot: the hash tag, so in a cluster too): the entry, its
      // metadata and the partial key it replaces change together, so a
      // concurrent writer of the same key cannot slip between reading and writing.
      const write = client.multi().hget(meta, 'partialKey').setex(storeKey, ttl, entry.der).del(meta).hset(meta, metaFields(metaOf(entry))).expire(meta, ttl);
      // On one server the insert is counted in it too: a fold takes the counters
      // hash as the sign that metadata may exist (PAGE_SCRIPT), so it must never lag.
      const counted = !this.#config.cluster;
      if (counted) write.hincrby(this.#namespaced('counters'), 'inserts', 1);
      const [previous] = (await execPipeline(write)) as [string | null];
      // A cluster's counters and the client sets live in other slots: kept after it,
      // and a set member whose entry has gone is dropped on read (selectSession).
      const followUp = client.pipeline();
      if (!counted) followUp.hincrby(this.#namespaced('counters'), 'inserts', 1);
      if (previous !== null && previous !== entry.partialKey) followUp.zrem(this.#namespaced(`client:${previous}`), entry.key);
      if (followUp.length > 0) await execPipeline(followUp);
      if (entry.partialKey !== undefined) {
        const set = this.#namespaced(`client:${entry.partialKey}`);
        // NX gives a fresh set a lifetime, GT extends it to the longest member's (Redis >= 7.0).
        await execPipeline(client.pipeline().zadd(set, entry.expiresAt, entry.key).expire(set, ttl, 'NX').expire(set, ttl, 'GT'));
      }
    });
  }

  async delete(key: SessionKey): Promise<boolean> {
    const client = this.#open();
    const storeKey = this.#key(key);
    const meta = metaKey(storeKey);
    const [partialKey, removed] = await this.#run(() => execPipeline(client.multi().hget(meta, 'partialKey').del(storeKey, meta)));
    if ((removed as number) === 0) return false;
    await this.#run(async () => {
      const followUp = client.pipeline().hincrby(this.#namespaced('counters'), 'removals', 1);
      if (partialKey !== null) followUp.zrem(this.#namespaced(`client:${partialKey as string}`), key);
      await execPipeline(followUp);
    });
    return true;
  }

  async foldl<A>(fn: FoldFn<A>, acc0: A, options: FoldOptions = {}): Promise<A> {
    let acc = acc0;
    const withDer = options.withDer !== false;
    const masters = await this.#masters();
    const script = this.#config.cluster ? CLUSTER_PAGE_SCRIPT : PAGE_SCRIPT;
    const perNode = masters.map((node) => this.#scriptPages(node, withDer, script));
    const batches = perNode.length === 1 ? perNode[0]! : merged(perNode);
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
    const client = this.#open();
    const set = this.#namespaced(`client:${partialKey}`);
    const members = await this.#run(() => client.zrange(set, '0', '-1'));
    const found: Entry[] = [];
    const stale: string[] = [];
    for (const key of members) {
      const entry = /^(?:[0-9a-f]{2}){1,32}$/.test(key) ? await this.lookup(key) : undefined;
      if (entry?.partialKey === partialKey) found.push(entry);
      else stale.push(key);
    }
    if (stale.length > 0) await this.#run(() => client.zrem(set, ...stale));
    return found.sort((a, b) => b.createdAt - a.createdAt || b.insertedAt - a.insertedAt);
  }

  async size(): Promise<number> {
    let count = 0;
    for (const node of await this.#masters()) {
      for await (const keys of this.#scan(node)) count += keys.filter((k) => keyFromApache(this.#config.prefix, k) !== undefined).length;
    }
    return count;
  }

  async counters(): Promise<Counters> {
    const client = this.#open();
    const stored = await this.#run(() => client.hgetall(this.#namespaced('counters')));
    const counters = zeroCounters();
    for (const name of COUNTER_NAMES) {
      const value = Number(stored[name] ?? 0);
      if (Number.isSafeInteger(value)) counters[name] = value;
    }
    return counters;
  }

  async addCounters(delta: Partial<Counters>): Promise<void> {
    const client = this.#open();
    const names = checkedCounterNames(delta).filter((name) => (delta[name] ?? 0) !== 0);
    if (names.length === 0) return;
    const pipeline = client.pipeline();
    for (const name of names) pipeline.hincrby(this.#namespaced('counters'), name, delta[name]!);
    await this.#run(() => execPipeline(pipeline));
  }

  async readKeyRing(): Promise<Buffer | undefined> {
    const client = this.#open();
    return (await this.#run(() => client.getBuffer(this.#namespaced('keyring')))) ?? undefined;
  }

  async writeKeyRing(data: Buffer, expected?: Buffer | null): Promise<boolean> {
    const client = this.#open();
    const key = this.#namespaced('keyring');
    if (expected === undefined) {
      await this.#run(() => client.set(key, data));
      return true;
    }
    const written = await this.#run(() => client.eval(WRITE_RING_IF, 1, key, data, expected === null ? 'none' : 'equal', expected ?? ''));
    return written === 1;
  }

  async terminate(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const client = this.#client;
    if (client === undefined) return;
    try {
      await withTimeout(client.quit(), this.#timeoutMs, () => new Error('quit timed out'));
    } catch {
      // A dead server cannot say goodbye; drop the connection instead.
    }
    client.disconnect();
  }

  // ------------------------------------------------------------ internals

  #open(): Client {
    if (this.#closed || this.#client === undefined) throw new SessctlError(`the session store ${this.url} has been closed`);
    return this.#client;
  }

  #key(key: SessionKey): string {
    return apacheKey(this.#config.prefix, key);
  }

  /** sessctl's own records for this prefix: "sessctl:mod_ssl-sess:counters". */
  #namespaced(name: string): string {
    return `${SESSCTL_NAMESPACE}${this.#config.prefix}${name}`;
  }

  #entry(key: SessionKey, der: Buffer, pttl: number, meta: Record<string, string> | undefined, keepDer: KeepDer = 'same'): Entry {
    return entryFromStored({ key, der, keepDer, ttlMs: pttl >= 0 ? pttl : undefined, meta: parseMeta(meta), now: this.#now() });
  }

  /** The nodes holding data: the one server, or every master of the cluster. */
  async #masters(): Promise<Redis[]> {
    const client = this.#open();
    if (!this.#config.cluster) return [client as Redis];
    const masters = (client as Cluster).nodes('master');
    if (masters.length === 0) throw new SessctlError(`${this.#where} has no reachable master`);
    return masters;
  }

  async *#scan(node: Redis): AsyncGenerator<string[]> {
    const pattern = `${globEscape(this.#config.prefix)}*`;
    let cursor = '0';
    do {
      const [next, keys] = await this.#run(() => node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT));
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }

  /**
   * One node's entries, one call of `script` a page (PAGE_SCRIPT on a
   * standalone server, CLUSTER_PAGE_SCRIPT on a cluster master): the next page
   * is asked for as soon as a page arrives, so the server packs it while the
   * caller folds this one. Where the server refuses the script on the first
   * page (Redis before 7.0, EVAL not allowed), the fold reads with
   * FETCH_SCRIPT or a pipeline, from the start; nothing has been handed out by then.
   */
  async *#scriptPages(node: Redis, withDer: boolean, script: string): AsyncGenerator<Entry[]> {
    if (!this.#pageScript) {
      yield* this.#entryBatches(node, withDer ? 'same' : 'none');
      return;
    }
    const pattern = `${globEscape(this.#config.prefix)}*`;
    // EVAL with Buffer replies (as in #fetchByScript); no KEYS: the script names what SCAN found.
    const { evalBuffer } = node as unknown as { evalBuffer: (script: string, numKeys: number, ...args: (string | number)[]) => Promise<Page> };
    const counters = this.#namespaced('counters');
    const readPage = (cursor: string) => this.#run(() => evalBuffer.call(node, script, 0, cursor, pattern, SCAN_COUNT, META_KEY_START, counters));
    let reply: Page;
    try {
      reply = await readPage('0');
    } catch {
      // Not a failure of the store: the other way reads the same, and reports a real fault.
      this.#pageScript = false;
      yield* this.#entryBatches(node, withDer ? 'same' : 'none');
      return;
    }
    let next: Promise<Page> | undefined;
    try {
      for (;;) {
        const cursor = reply[0].toString('latin1');
        next = cursor === '0' ? undefined : quiet(readPage(cursor));
        // An entry's DER is copied out of the page: entries are values, and one kept must not hold its page.
        yield this.#unpackPage(reply, withDer ? 'copy' : 'none');
        if (next === undefined) return;
        reply = await next;
        next = undefined;
      }
    } finally {
      // Stopped early (a Halt, an error): the page in flight is dropped.
      if (next !== undefined) quiet(next);
    }
  }

  /** The entries in one PAGE_SCRIPT page (its layout is above the script). */
  #unpackPage([, heads, body]: Page, keepDer: KeepDer): Entry[] {
    const entries: Entry[] = [];
    const prefix = this.#config.prefix;
    const now = this.#now();
    let at = 0;
    for (let head = 0; head < heads.length; head += PAGE_HEAD) {
      const keyLength = heads.readUInt32BE(head);
      const derLength = heads.readUInt32BE(head + 4);
      const pttl = heads.readDoubleBE(head + 8);
      let items = heads.readUInt16BE(head + 16);
      const storeKey = body.toString('latin1', at, at + keyLength);
      at += keyLength;
      const der = body.subarray(at, at + derLength);
      at += derLength;
      let fields: Record<string, string> | undefined;
      if (items > 0) fields = {};
      for (let name = ''; items > 0; items -= 1) {
        const length = body.readUInt32BE(at);
        const text = body.toString('utf8', at + 4, at + 4 + length);
        at += 4 + length;
        if (items % 2 === 0) name = text;
        else fields![name] = text;
      }
      const key = keyFromApache(prefix, storeKey);
      if (key === undefined) continue;
      try {
        entries.push(entryFromStored({ key, der, keepDer, ttlMs: pttl >= 0 ? pttl : undefined, meta: parseMeta(fields), now }));
      } catch (err) {
        this.#onWarning(`skipping ${storeKey} in ${this.url}: ${(err as Error).message}`);
      }
    }
    if (at !== body.length || heads.length % PAGE_HEAD !== 0) throw new SessctlError(`${this.#where}: a fold page does not add up (${heads.length} bytes of heads, ${body.length} of records)`);
    return entries;
  }

  /**
   * One master's entries, a SCAN page at a time, never waiting on one round
   * trip at a time: the next page is asked for while this page's values are
   * fetched, and a page's values are fetched while the caller folds the
   * previous one. At most one page and two batches in memory.
   */
  async *#entryBatches(node: Redis, keepDer: KeepDer): AsyncGenerator<Entry[]> {
    const pattern = `${globEscape(this.#config.prefix)}*`;
    const scanPage = (cursor: string) => this.#run(() => node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT));
    let page = scanPage('0');
    let previous: Promise<Entry[]> | undefined;
    try {
      for (;;) {
        const [cursor, keys] = await page;
        if (cursor !== '0') page = quiet(scanPage(cursor));
        const batch = quiet(this.#fetch(node, keys, keepDer));
        if (previous !== undefined) yield await previous;
        previous = batch;
        if (cursor === '0') break;
      }
      yield await previous;
    } finally {
      // Stopped early (a Halt, an error): what is still in flight is dropped.
      quiet(page);
      if (previous !== undefined) quiet(previous);
    }
  }

  /**
   * The entries behind `keys` (as SCAN returned them from `node`): one EVAL of
   * FETCH_SCRIPT for the page (one command and one reply instead of three per
   * session: the client's per-command cost was most of a fold, docs/BENCHMARKS.md),
   * or, where the script cannot run (Redis before 7.0, EVAL not allowed), a
   * pipeline of GET, PTTL and HGETALL per session.
   */
  async #fetch(node: Redis, keys: string[], keepDer: KeepDer): Promise<Entry[]> {
    const wanted = keys.flatMap((storeKey) => {
      const key = keyFromApache(this.#config.prefix, storeKey);
      return key === undefined ? [] : [{ storeKey, key }];
    });
    if (wanted.length === 0) return [];
    if (this.#fetchScript) {
      try {
        return await this.#fetchByScript(node, wanted, keepDer);
      } catch {
        // Not a failure of the store: the pipeline below reads the same, and reports a real fault.
        this.#fetchScript = false;
      }
    }
    return this.#fetchPipelined(node, wanted, keepDer);
  }

  async #fetchByScript(node: Redis, wanted: { storeKey: string; key: SessionKey }[], keepDer: KeepDer): Promise<Entry[]> {
    const keys = wanted.map(({ storeKey }) => storeKey);
    // EVAL with Buffer replies (ioredis has evalBuffer, untyped; its callBuffer loses the command name under auto-pipelining).
    const { evalBuffer } = node as unknown as { evalBuffer: (script: string, numKeys: number, ...keys: string[]) => Promise<(Buffer | number | Buffer[] | null)[]> };
    const reply = await evalBuffer.call(node, FETCH_SCRIPT, 0, ...keys, ...keys.map(metaKey));
    const entries: Entry[] = [];
    wanted.forEach(({ storeKey, key }, i) => {
      const der = reply[3 * i] as Buffer | null;
      // A key deleted since SCAN saw it is simply skipped.
      if (der === null) return;
      const fields = reply[3 * i + 2] as Buffer[];
      let meta: Record<string, string> | undefined;
      if (fields.length > 0) {
        meta = {};
        for (let f = 0; f + 1 < fields.length; f += 2) meta[fields[f]!.toString()] = fields[f + 1]!.toString();
      }
      try {
        entries.push(this.#entry(key, der, reply[3 * i + 1] as number, meta, keepDer));
      } catch (err) {
        this.#onWarning(`skipping ${storeKey} in ${this.url}: ${(err as Error).message}`);
      }
    });
    return entries;
  }

  async #fetchPipelined(node: Redis, wanted: { storeKey: string; key: SessionKey }[], keepDer: KeepDer): Promise<Entry[]> {
    const pipeline = node.pipeline();
    for (const { storeKey } of wanted) pipeline.getBuffer(storeKey).pttl(storeKey).hgetall(metaKey(storeKey));
    const results = (await this.#run(() => pipeline.exec())) ?? [];
    const entries: Entry[] = [];
    wanted.forEach(({ storeKey, key }, i) => {
      const [derResult, pttlResult, metaResult] = [results[3 * i], results[3 * i + 1], results[3 * i + 2]];
      // A key deleted (or moved to another node) since SCAN saw it is simply skipped.
      if (!derResult || derResult[0] || derResult[1] === null) return;
      try {
        entries.push(this.#entry(key, derResult[1] as Buffer, (pttlResult?.[1] as number) ?? -1, metaResult?.[0] ? undefined : (metaResult?.[1] as Record<string, string>), keepDer));
      } catch (err) {
        this.#onWarning(`skipping ${storeKey} in ${this.url}: ${(err as Error).message}`);
      }
    });
    return entries;
  }

  /**
   * ioredis sends AUTH and SELECT when it connects, but only reports a refused
   * one as an 'error' event and carries on: a database that does not exist
   * leaves the connection on database 0, a password the server has no use for
   * is dropped. Ask again and refuse the URL, before anything is read or written.
   */
  async #checkApplied(): Promise<void> {
    const c = this.#config;
    if (c.password === undefined && c.db === 0) return;
    for (const node of await this.#masters()) {
      if (c.password !== undefined) {
        await (c.username === undefined ? node.auth(c.password) : node.auth(c.username, c.password)).catch((err: unknown) => {
          const reason = (err as Error).message ?? String(err);
          // Redis 6+: "ERR AUTH <password> called without any password configured for the default user".
          if (/without any password configured|no password is set/i.test(reason)) {
            throw new SessctlError(`${this.#where} has no password set, but the URL gives one: drop it from the URL, or check that this is the right server`);
          }
          throw err;
        });
      }
      if (c.db !== 0) {
        await node.select(c.db).catch((err: unknown) => {
          const reason = ((err as Error).message ?? String(err)).replace(/^ERR /, '');
          throw new SessctlError(`${this.#where} has no database ${c.db} (${reason}): check the /DB in the URL`);
        });
      }
    }
  }

  async #waitForCluster(cluster: Cluster): Promise<void> {
    // connect() resolves once the slots are known; make sure every master answers too.
    await withTimeout(Promise.all(cluster.nodes('master').map((node) => node.ping())), this.#timeoutMs, () => this.#timeout());
  }

  /** Run one operation against Redis, turning every failure into a SessctlError that names the server. */
  async #run<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (err) {
      throw this.#fail(err);
    }
  }

  #timeout(): SessctlError {
    return new SessctlError(`${this.#where} is not answering (timed out after ${this.#timeoutMs / 1000} s)`);
  }

  #fail(err: unknown): SessctlError {
    if (err instanceof SessctlError) return err;
    const message = (err as Error)?.message ?? String(err);
    if (/Command timed out/i.test(message)) return new SessctlError(`${this.#where} is not answering (timed out after ${this.#timeoutMs / 1000} s)`, { cause: err });
    // A refused AUTH during connect surfaces as "Connection is closed"; the reason is in the last 'error' event.
    const auth = [message, this.#lastError?.message ?? ''].find((m) => /WRONGPASS|NOAUTH|NOPERM|invalid username-password/i.test(m));
    if (auth !== undefined) {
      return new SessctlError(`${this.#where} refused the credentials: ${auth}`, { cause: err, suggestions: ['give USER:PASSWORD in the URL: redis://USER:PASSWORD@HOST:PORT'] });
    }
    const tls = [message, this.#lastError?.message ?? ''].find((m) => /certificate|self.signed|wrong version number|SSL routines|ERR_TLS|Hostname\/IP does not match/i.test(m));
    if (tls !== undefined) {
      return new SessctlError(`${this.#where}: TLS handshake failed (${tls.split('\n')[0]})`, { cause: err, suggestions: ['give the CA that signed the Redis certificate with --ca FILE'] });
    }
    if (/ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|Connection is closed|Stream isn't writeable|MaxRetriesPerRequest|Reached the max retries|Cluster isn't ready|None of startup nodes|Failed to refresh slots|connect ETIMEDOUT/i.test(message)) {
      const detail = this.#lastError && this.#lastError.message !== message ? `${message}; ${this.#lastError.message}` : message;
      return new SessctlError(`${this.#where} is not reachable (${shortReason(detail)})`, { cause: err, suggestions: ['check that Redis is running and the URL is right'] });
    }
    return new SessctlError(`${this.#where}: ${message}`, { cause: err });
  }
}

/** The metadata key for a session key: the hash tag keeps it in the session's cluster slot. */
export function metaKey(storeKey: string): string {
  return `${META_KEY_START}${storeKey}}`;
}

/** What every metadata key starts with (PAGE_SCRIPT adds the session key and the closing brace). */
const META_KEY_START = `${SESSCTL_NAMESPACE}meta:{`;

/** A PAGE_SCRIPT reply: the next cursor, the heads, the records. */
type Page = [cursor: Buffer, heads: Buffer, body: Buffer];

/**
 * What a fold's entries hold of the DER (entryFromStored's keepDer): the
 * reply's own Buffer, a copy out of a packed page, or nothing (`withDer: false`).
 */
type KeepDer = 'same' | 'copy' | 'none';

/** Escape Redis glob characters so a prefix matches literally in SCAN MATCH. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

function shortReason(message: string): string {
  if (/ECONNREFUSED/.test(message)) return 'connection refused';
  if (/Stream isn't writeable|Connection is closed|MaxRetriesPerRequest|Reached the max retries/i.test(message)) return 'connection lost';
  return message.split('\n')[0]!;
}

/**
 * A metadata key holding something other than a hash (not written by
 * sessctl) is no metadata: the session is read from its DER alone, as the
 * fold reads it.
 */
function notAHash(err: unknown): undefined {
  if (err instanceof Error && err.message.startsWith('WRONGTYPE')) return undefined;
  throw err;
}

/** Exec a pipeline or MULTI and return the replies, throwing the first error. */
async function execPipeline(pipeline: { exec(): Promise<[Error | null, unknown][] | null> }): Promise<unknown[]> {
  const results = await pipeline.exec();
  if (results === null) throw new Error('transaction aborted');
  for (const [err] of results) if (err) throw err;
  return results.map(([, value]) => value);
}

function withTimeout<T>(promise: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
