import path from 'node:path';
import { SessctlError } from '../errors.js';
import type { OpenOptions, SessionStore } from './types.js';
import { parseStoreUrl, passwordOf, redactUrl, type StoreLocation } from './url.js';

export { parseStoreUrl, redactUrl, type StoreLocation } from './url.js';

/** What each network backend module (daemon.ts, redis.ts, memcache.ts) exports. */
interface BackendModule {
  open(url: string, options: OpenOptions): Promise<SessionStore>;
}

/**
 * Each import() names its module literally, so that the bundled CLI
 * (scripts/bundle.mjs) carries the backends: a computed specifier would be
 * looked up beside the bundle at run time.
 */
const NETWORK_BACKENDS: Record<'daemon' | 'redis' | 'memcached', { name: string; module: string; load: () => Promise<BackendModule> }> = {
  daemon: { name: 'daemon', module: './daemon.js', load: () => import('./daemon.js') },
  redis: { name: 'Redis', module: './redis.js', load: () => import('./redis.js') },
  memcached: { name: 'memcached', module: './memcache.js', load: () => import('./memcache.js') },
};

/**
 * Open the store a URL names (docs/ARCHITECTURE.md, "Store URLs"): `memory:`; a path or
 * `file:PATH` (the cache file); `http(s)://` (the daemon); `redis(s)://`;
 * `memcache://`. Takes the URL or its parse (url.ts), which is never redone.
 * Backends load lazily, so the CLI only pays for the one it uses.
 */
export async function openStore(where: string | StoreLocation, options: OpenOptions = {}): Promise<SessionStore> {
  const location = typeof where === 'string' ? parseStoreUrl(where) : where;
  const url = location.url;
  if (location.backend === 'memory') {
    const { MemoryStore } = await import('./memory.js');
    return new MemoryStore('memory:');
  }
  if (location.backend === 'file') {
    const { FileStore } = await import('./file.js');
    return FileStore.open(location.file, {
      url,
      ...(location.mmapBytes === undefined ? {} : { mmapBytes: location.mmapBytes }),
      ...(options.create === undefined ? {} : { create: options.create }),
      ...(options.readOnly === undefined ? {} : { readOnly: options.readOnly }),
      ...(options.onWarning === undefined ? {} : { onWarning: options.onWarning }),
    });
  }
  const mod = await loadBackend(NETWORK_BACKENDS[location.backend]);
  const store = await mod.open(url, options);
  // The url is printed in output and errors: make sure no password survives in it.
  const safe = redactUrl(url);
  if (safe !== url && store.url.includes(passwordOf(url) ?? '\0')) {
    Object.defineProperty(store, 'url', { value: safe, enumerable: true });
  }
  return store;
}

async function loadBackend({ name, module: specifier, load }: (typeof NETWORK_BACKENDS)[keyof typeof NETWORK_BACKENDS]): Promise<BackendModule> {
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
