/**
 * The store URL parsed: the one place that decides which backend a URL names
 * and reads the parts sessctl itself interprets (the cache file's path and
 * `?mmap=`), docs/ARCHITECTURE.md "Store URLs". The result is a plain object,
 * so `serve --workers` hands it to its workers as JSON and nobody parses the
 * URL again. The network backends (daemon.ts, redis.ts, memcache.ts) read
 * their host, port and credentials from `url` themselves.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { usageError } from '../errors.js';

/** A parsed store URL; `url` is always the text given. */
export type StoreLocation =
  | { backend: 'memory'; url: string }
  | { backend: 'file'; url: string; file: string; mmapBytes?: number }
  | { backend: 'daemon' | 'redis' | 'memcached'; url: string };

const NETWORK_SCHEMES: Record<string, 'daemon' | 'redis' | 'memcached'> = {
  http: 'daemon',
  https: 'daemon',
  redis: 'redis',
  rediss: 'redis',
  memcache: 'memcached',
};

const SUPPORTED_FORMS =
  'a cache file path, file:PATH, memory:, https://HOST:PORT (sessctl daemon), redis://[:PASSWORD@]HOST:PORT, rediss://..., memcache://HOST:PORT[,HOST:PORT...]';

/**
 * Which store `url` names: `memory:`; a path or `file:PATH` (the cache file);
 * `http(s)://` (the daemon); `redis(s)://`; `memcache://`. Anything else is
 * refused with a usage error.
 */
export function parseStoreUrl(url: string): StoreLocation {
  // SQLite's name for an in-memory database: as a path it would leave a file named ":memory:".
  if (url === ':memory:') throw usageError('":memory:" is SQLite\'s name for an in-memory database; sessctl\'s in-process store is memory:');
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'memory') {
    if (url.slice('memory:'.length).replace(/^\/\//, '') !== '') throw usageError(`unsupported store URL "${redactUrl(url)}": use plain memory:`);
    return { backend: 'memory', url };
  }
  if (scheme === undefined || scheme === 'file') return { backend: 'file', url, ...fileUrl(url) };
  const backend = NETWORK_SCHEMES[scheme];
  if (backend === undefined) throw usageError(`unsupported store URL "${redactUrl(url)}": use ${SUPPORTED_FORMS}`);
  return { backend, url };
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/**
 * A `file:` URL may carry options after "?" (only `mmap=SIZE`, e.g. 512M, 0 for none);
 * a plain path is taken as it is, "?" and all.
 */
function fileUrl(url: string): { file: string; mmapBytes?: number } {
  const query = /^file:/i.test(url) ? url.indexOf('?') : -1;
  if (query < 0) return { file: filePath(url) };
  const params = new URLSearchParams(url.slice(query + 1));
  let mmapBytes: number | undefined;
  for (const [name, value] of params) {
    const m = /^(\d+)([kmg]?)$/i.exec(value);
    if (name !== 'mmap' || !m) throw usageError(`unsupported option "${name}=${value}" in "${url}": file: URLs take ?mmap=SIZE (e.g. 512M)`);
    mmapBytes = Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!;
  }
  return { file: filePath(url.slice(0, query)), ...(mmapBytes === undefined ? {} : { mmapBytes }) };
}

/** The path a `file:` URL or plain path names, with a leading ~/ expanded. */
function filePath(url: string): string {
  let file = url;
  if (/^file:\/\//i.test(url)) {
    try {
      file = fileURLToPath(url);
    } catch (err) {
      throw usageError(`not a file URL: "${url}" (${(err as Error).message}); use file:/absolute/path or a plain path`);
    }
  } else if (/^file:/i.test(url)) {
    file = url.slice('file:'.length);
  }
  if (file === '') throw usageError('the store URL names no file: use file:PATH or a plain path');
  if (file === '~' || file.startsWith('~/')) file = path.join(os.homedir(), file.slice(1));
  return file;
}

const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^@/?#]*)@/i;

/** The password in a URL's userinfo, if any. */
export function passwordOf(url: string): string | undefined {
  const userinfo = USERINFO.exec(url)?.[2];
  const colon = userinfo?.indexOf(':') ?? -1;
  return userinfo !== undefined && colon >= 0 ? userinfo.slice(colon + 1) : undefined;
}

/**
 * The URL with its password removed ("redis://user:pw@h:6379" → "redis://user@h:6379",
 * "redis://:pw@h" → "redis://h"), safe to print.
 */
export function redactUrl(url: string): string {
  return url.replace(USERINFO, (_all, scheme: string, userinfo: string) => {
    const colon = userinfo.indexOf(':');
    if (colon < 0) return `${scheme}${userinfo}@`;
    const user = userinfo.slice(0, colon);
    return user === '' ? scheme : `${scheme}${user}@`;
  });
}
