import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SessctlError, usageError } from '../errors.js';
import type { OpenOptions, SessionStore } from './types.js';

/** What each network backend module (daemon.ts, redis.ts, memcache.ts) exports. */
interface BackendModule {
  open(url: string, options: OpenOptions): Promise<SessionStore>;
}

/**
 * Each import() names its module literally, so that the bundled CLI
 * (scripts/bundle.mjs) carries the backends: a computed specifier would be
 * looked up beside the bundle at run time.
 */
const loadDaemon = () => import('./daemon.js');
const loadRedis = () => import('./redis.js');
const NETWORK_BACKENDS: Record<string, { name: string; module: string; load: () => Promise<BackendModule> }> = {
  'http:': { name: 'daemon', module: './daemon.js', load: loadDaemon },
  'https:': { name: 'daemon', module: './daemon.js', load: loadDaemon },
  'redis:': { name: 'Redis', module: './redis.js', load: loadRedis },
  'rediss:': { name: 'Redis', module: './redis.js', load: loadRedis },
  'memcache:': { name: 'memcached', module: './memcache.js', load: () => import('./memcache.js') },
};

const SUPPORTED_FORMS =
  'a cache file path, file:PATH, memory:, https://HOST:PORT (sessctl daemon), redis://[:PASSWORD@]HOST:PORT, rediss://..., memcache://HOST:PORT[,HOST:PORT...]';

/**
 * Open the store a URL names (docs/ARCHITECTURE.md, "Store URLs"): `memory:`; a path or
 * `file:PATH` (the cache file); `http(s)://` (the daemon); `redis(s)://`;
 * `memcache://`. Backends load lazily, so the CLI only pays for the one it uses.
 */
export async function openStore(url: string, options: OpenOptions = {}): Promise<SessionStore> {
  // SQLite's name for an in-memory database: as a path it would leave a file named ":memory:".
  if (url === ':memory:') throw usageError('":memory:" is SQLite\'s name for an in-memory database; sessctl\'s in-process store is memory:');
  const scheme = /^([a-z][a-z0-9+.-]+):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'memory') {
    if (url.slice('memory:'.length).replace(/^\/\//, '') !== '') throw usageError(`unsupported store URL "${redactUrl(url)}": use plain memory:`);
    const { MemoryStore } = await import('./memory.js');
    return new MemoryStore('memory:');
  }
  if (scheme === undefined || scheme === 'file') {
    const { file, mmapBytes } = fileUrl(url);
    const { FileStore } = await import('./file.js');
    return FileStore.open(file, {
      url,
      ...(mmapBytes === undefined ? {} : { mmapBytes }),
      ...(options.create === undefined ? {} : { create: options.create }),
      ...(options.readOnly === undefined ? {} : { readOnly: options.readOnly }),
      ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
    });
  }
  const backend = NETWORK_BACKENDS[`${scheme}:`];
  if (backend === undefined) {
    throw usageError(`unsupported store URL "${redactUrl(url)}": use ${SUPPORTED_FORMS}`);
  }
  const mod = await loadBackend(backend);
  const store = await mod.open(url, options);
  // The url is printed in output and errors: make sure no password survives in it.
  const safe = redactUrl(url);
  if (safe !== url && store.url.includes(passwordOf(url) ?? '\0')) {
    Object.defineProperty(store, 'url', { value: safe, enumerable: true });
  }
  return store;
}

async function loadBackend({ name, module: specifier, load }: (typeof NETWORK_BACKENDS)[string]): Promise<BackendModule> {
  try {
    return await load();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    // Only the backend module itself missing means "not in this build"; a
    // missing dependency inside it is a real fault and keeps its message.
    if (e.code === 'ERR_MODULE_NOT_FOUND' && e.message.includes(path.basename(specifier))) {
      throw new SessctlError(`the ${name} backend is not available in this build`, { cause: err });
    }
    throw err;
  }
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

function passwordOf(url: string): string | undefined {
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
