/**
 * Apache httpd mod_ssl's external session-cache layout, shared by the Redis
 * and memcached backends (docs/ARCHITECTURE.md, "Apache mod_ssl's external
 * cache layout"):
 *
 *   key   = "mod_ssl-sess:" + lowercase hex of the session id
 *           (mod_socache_redis / mod_socache_memcache: socache_*_id2key, ap_bin2hex)
 *   value = the raw i2d_SSL_SESSION DER, nothing else
 *   TTL   = expiry - now, in seconds
 *
 * Apache keeps no other metadata, so every Entry field of an Apache-written
 * session is derived from the DER and the key's remaining lifetime. What
 * sessctl knows beyond that (role, partial key, insert time, an explicit
 * expiry) lives in a separate metadata record that Apache never reads
 * (`EntryMeta`), tied to the exact DER by a digest so that a stale record is
 * ignored once Apache overwrites the session.
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { usageError } from '../errors.js';
import { DEFAULT_TIMEOUT_SECONDS, columnsOf, entryOf } from './entry.js';
import type { Entry, Role, SessionKey } from './types.js';

/** mod_ssl's socache namespace ("mod_ssl-sess") plus the ":" the socache providers add. */
export const APACHE_PREFIX = 'mod_ssl-sess:';

/** Where sessctl's own records start; a session prefix may not reuse it. */
export const SESSCTL_NAMESPACE = 'sessctl:';

/** memcached treats an exptime above 30 days as an absolute unix time (memcached protocol.txt). */
export const MEMCACHED_MAX_RELATIVE_EXPTIME = 30 * 24 * 3600;

/**
 * Check a `prefix` URL parameter. Braces are refused because Redis Cluster
 * would read them as a hash tag; whitespace and control characters because
 * memcached keys cannot hold them.
 */
export function checkPrefix(prefix: string): string {
  if (prefix === '' || prefix.length > 200 || /[\s{}\x00-\x1f\x7f]/.test(prefix)) {
    throw usageError(`bad prefix "${prefix}": use 1 to 200 printable characters without spaces or braces (Apache's is ${APACHE_PREFIX})`);
  }
  if (prefix.startsWith(SESSCTL_NAMESPACE)) {
    throw usageError(`bad prefix "${prefix}": names starting with ${SESSCTL_NAMESPACE} hold sessctl's own records`);
  }
  return prefix;
}

/** The store key under which Apache keeps the session with id `key` (hex). */
export function apacheKey(prefix: string, key: SessionKey): string {
  return prefix + key;
}

/**
 * The session id (lowercase hex) behind a store key, or undefined when the key
 * is not one of the prefix's sessions. Uppercase hex is accepted because
 * httpd before 2.4.x wrote `%02X` (mod_socache_memcache.c).
 */
export function keyFromApache(prefix: string, storeKey: string): SessionKey | undefined {
  const length = storeKey.length - prefix.length;
  if (length < 2 || length > 64 || length % 2 !== 0 || !storeKey.startsWith(prefix)) return undefined;
  // A loop rather than a regular expression: folds call this once a session (bench/redis).
  let upper = false;
  for (let i = prefix.length; i < storeKey.length; i++) {
    const c = storeKey.charCodeAt(i);
    if ((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66)) continue;
    if (c < 0x41 || c > 0x46) return undefined;
    upper = true;
  }
  const hex = storeKey.slice(prefix.length);
  return upper ? hex.toLowerCase() : hex;
}

/**
 * How long an entry stored after it expired stays visible. Neither Redis nor
 * memcached can hold a key without a lifetime, yet an admin tool must see an
 * expired session (types.ts: lookup returns expired entries; `flush` counts
 * them). Harmless to Apache: OpenSSL refuses to resume a session past its
 * time + timeout, whatever the cache returns.
 */
export const EXPIRED_GRACE_SECONDS = 300;

/**
 * Seconds an entry still has to live, for SETEX / memcached's exptime: the
 * remaining lifetime (as Apache writes it), or EXPIRED_GRACE_SECONDS for an
 * entry that has already expired.
 */
export function remainingTtl(expiresAt: number, now: number): number {
  const remaining = Math.ceil(expiresAt - now);
  return remaining > 0 ? remaining : EXPIRED_GRACE_SECONDS;
}

/** memcached parses exptime as a signed 32-bit number; a larger one wraps and expires the item at once. */
export const MEMCACHED_MAX_EXPTIME = 2 ** 31 - 1;

/**
 * memcached's exptime for a lifetime of `ttl` seconds: relative up to 30 days,
 * beyond that the absolute unix time (memcached would read a larger relative
 * value as a date in 1970 and drop the item at once), capped at 2038-01-19.
 */
export function memcachedExptime(ttl: number, now: number): number {
  return ttl <= MEMCACHED_MAX_RELATIVE_EXPTIME ? ttl : Math.min(Math.floor(now) + ttl, MEMCACHED_MAX_EXPTIME);
}

/**
 * The server apr-util's memcache client picks for `storeKey` among `count`
 * servers (apr_memcache.c: apr_memcache_hash_default = (crc32(key) >> 16) & 0x7fff,
 * the Perl client's hash; apr_memcache_find_server_hash_default takes it modulo
 * the server count). The CRC is the standard IEEE CRC-32.
 */
export function memcachedServerIndex(storeKey: string, count: number): number {
  const hash = (crc32(Buffer.from(storeKey, 'latin1')) >>> 16) & 0x7fff;
  return hash % count;
}

/** What sessctl keeps about an entry beyond Apache's DER. */
export interface EntryMeta {
  role: Role;
  partialKey?: string;
  createdAt: number;
  insertedAt: number;
  expiresAt: number;
  /** derDigest() of the DER this record describes. */
  digest: string;
}

/** A short digest of the DER, so metadata is only trusted for the value it was written with. */
export function derDigest(der: Buffer): string {
  return createHash('sha256').update(der).digest('hex').slice(0, 32);
}

export function metaOf(entry: Entry): EntryMeta {
  return {
    role: entry.role,
    ...(entry.partialKey === undefined ? {} : { partialKey: entry.partialKey }),
    createdAt: entry.createdAt,
    insertedAt: entry.insertedAt,
    expiresAt: entry.expiresAt,
    digest: derDigest(entry.der),
  };
}

/** Parse a metadata record as stored (Redis hash fields or memcached JSON); undefined when unusable. */
export function parseMeta(fields: Record<string, string> | undefined): EntryMeta | undefined {
  if (fields === undefined) return undefined;
  const { role, partialKey, digest } = fields;
  const createdAt = Number(fields.createdAt);
  const insertedAt = Number(fields.insertedAt);
  const expiresAt = Number(fields.expiresAt);
  if ((role !== 'server' && role !== 'client') || typeof digest !== 'string') return undefined;
  if (![createdAt, insertedAt, expiresAt].every(Number.isSafeInteger)) return undefined;
  return { role, ...(typeof partialKey === 'string' ? { partialKey } : {}), createdAt, insertedAt, expiresAt, digest };
}

/** Metadata as flat string fields (a Redis hash, or JSON for memcached). */
export function metaFields(meta: EntryMeta): Record<string, string> {
  return {
    role: meta.role,
    ...(meta.partialKey === undefined ? {} : { partialKey: meta.partialKey }),
    createdAt: String(meta.createdAt),
    insertedAt: String(meta.insertedAt),
    expiresAt: String(meta.expiresAt),
    digest: meta.digest,
  };
}

export interface StoredSession {
  key: SessionKey;
  /** The session's bytes as stored; may be a view into a buffer the store reuses. */
  der: Buffer;
  /**
   * What the Entry's `der` is: `der` itself (the default, for a Buffer of
   * its own), a copy of it, or an empty Buffer (a fold with `withDer: false`).
   */
  keepDer?: 'same' | 'copy' | 'none';
  /** Milliseconds the store key still lives; undefined when unknown or without expiry. */
  ttlMs?: number;
  meta?: EntryMeta;
  now: number;
}

const NO_DER = Buffer.alloc(0);

/**
 * The Entry for a session read from the store. With sessctl's metadata for
 * exactly this DER, its fields win. Otherwise (Apache wrote it): role and
 * summary columns from the DER; expiresAt is the DER's time + timeout when that
 * agrees with the key's TTL to within 2 s (Apache sets TTL = expiry - now,
 * truncated to seconds), else now + TTL, which is what the cache will honour;
 * insertedAt is unknown and taken as the creation time (Apache stores a
 * session right after the handshake that created it).
 * Throws SessctlError when the value is not an SSL_SESSION.
 */
export function entryFromStored(stored: StoredSession): Entry {
  const { key, der, ttlMs, meta, now } = stored;
  const c = columnsOf(der);
  const entryDer = stored.keepDer === 'none' ? NO_DER : stored.keepDer === 'copy' ? Buffer.from(der) : der;
  if (meta !== undefined && meta.digest === derDigest(der)) {
    return entryOf(c, { key, role: meta.role, partialKey: meta.partialKey, der: entryDer, size: der.length, createdAt: meta.createdAt, insertedAt: meta.insertedAt, expiresAt: meta.expiresAt });
  }
  const createdAt = c.time ?? now;
  let expiresAt = createdAt + (c.timeout ?? DEFAULT_TIMEOUT_SECONDS);
  if (ttlMs !== undefined && ttlMs >= 0) {
    const byTtl = now + Math.ceil(ttlMs / 1000);
    if (Math.abs(byTtl - expiresAt) > 2) expiresAt = byTtl;
  }
  return entryOf(c, { key, role: c.guessedRole, partialKey: undefined, der: entryDer, size: der.length, createdAt, insertedAt: createdAt, expiresAt });
}
