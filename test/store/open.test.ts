/** Choosing a backend by URL, and where the default store lives. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT, SessctlError } from '../../src/lib/errors.js';
import { resolveStoreUrl, defaultStorePath } from '../../src/lib/store/location.js';
import { openStore, redactUrl } from '../../src/lib/store/open.js';
import { parseStoreUrl } from '../../src/lib/store/url.js';
import { testEntry } from '../helpers/entries.js';
import { requireTool, tempDir } from '../helpers/env.js';
import { startRedis, type RedisServer } from '../helpers/servers.js';

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  tmp = tempDir('sessctl-open-');
});
afterAll(() => tmp.cleanup());

describe('openStore', () => {
  it('":memory:" (SQLite\'s spelling) is a usage error pointing at memory:, and leaves no file', async () => {
    const err = await openStore(':memory:').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessctlError);
    expect((err as SessctlError).exit).toBe(EXIT.USAGE);
    expect((err as Error).message).toMatch(/sessctl's in-process store is memory:/);
    expect(existsSync(':memory:')).toBe(false);
  });

  it('memory: is an in-process store', async () => {
    const store = await openStore('memory:');
    expect(store.kind).toBe('memory');
    expect(store.url).toBe('memory:');
    expect(store.capabilities.persistent).toBe(false);
    await store.terminate();
  });

  it('a plain path, file:PATH and file:///PATH all open the same cache file', async () => {
    const file = path.join(tmp.dir, 'same.db');
    const entry = testEntry(1);
    const plain = await openStore(file);
    expect(plain.kind).toBe('file');
    expect(plain.url).toBe(file);
    await plain.update(entry);
    await plain.terminate();
    for (const url of [`file:${file}`, pathToFileURL(file).href]) {
      const store = await openStore(url);
      expect(store.url).toBe(url);
      expect((await store.lookup(entry.key))?.der.equals(entry.der)).toBe(true);
      await store.terminate();
    }
  });

  it('file:PATH?mmap=SIZE reads the same file through mmap; other options are usage errors', async () => {
    const file = path.join(tmp.dir, 'mmap.db');
    const entry = testEntry(7);
    const plain = await openStore(file);
    await plain.update(entry);
    await plain.terminate();
    const mapped = await openStore(`file:${file}?mmap=64M`);
    try {
      expect((await mapped.lookup(entry.key))?.der.equals(entry.der)).toBe(true);
    } finally {
      await mapped.terminate();
    }
    const bad = await openStore(`file:${file}?mmap=lots`).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(SessctlError);
    expect((bad as SessctlError).exit).toBe(EXIT.USAGE);
  });

  it('expands ~/ to the home directory', async () => {
    const home = process.env.HOME;
    process.env.HOME = tmp.dir;
    try {
      const store = await openStore('~/tilde/sessions.db');
      await store.update(testEntry(2));
      await store.terminate();
      const again = await openStore(path.join(tmp.dir, 'tilde', 'sessions.db'));
      expect(await again.size()).toBe(1);
      await again.terminate();
    } finally {
      process.env.HOME = home;
    }
  });

  it('refuses an unknown scheme with a usage error listing the supported forms', async () => {
    const err = await openStore('ftp://example.test/cache').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessctlError);
    expect((err as SessctlError).exit).toBe(EXIT.USAGE);
    expect((err as Error).message).toMatch(/^unsupported store URL "ftp:\/\/example\.test\/cache": use .*file:PATH.*memory:.*https:\/\/.*redis:\/\/.*memcache:\/\//);
  });

  it('never repeats a password from the URL in its errors', async () => {
    const err = await openStore('mongodb://admin:hunter2@db.test/x').catch((e: unknown) => e);
    expect((err as Error).message).toContain('mongodb://admin@db.test/x');
    expect((err as Error).message).not.toContain('hunter2');
  });

  it('refuses file: with no path and memory: with something after it', async () => {
    for (const url of ['file:', 'memory:foo']) {
      const err = await openStore(url).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SessctlError);
      expect((err as SessctlError).exit).toBe(EXIT.USAGE);
    }
  });
});

describe.skipIf(!requireTool('redis-server', 'redis-server'))('a store URL with a password', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis({ args: ['--requirepass', 's3cret'], password: 's3cret' });
  });
  afterAll(async () => {
    await redis?.cleanup();
  });

  it.each(['redis://:s3cret@127.0.0.1:PORT', 'redis://default:s3cret@127.0.0.1:PORT'])('%s: the store works and its url never shows the password', async (template) => {
    const store = await openStore(template.replace('PORT', String(redis.port)));
    try {
      expect(store.url).not.toContain('s3cret');
      expect(store.url).toContain(`127.0.0.1:${redis.port}`);
      const entry = testEntry(3);
      await store.update(entry);
      expect((await store.lookup(entry.key))?.der.equals(entry.der)).toBe(true);
    } finally {
      await store.terminate();
    }
  });
});

describe('parseStoreUrl', () => {
  it('names the backend and the parts sessctl reads, as plain data that survives JSON (serve --workers hands it on)', () => {
    const cases = [
      parseStoreUrl('memory:'),
      parseStoreUrl('file:/var/cache/s.db?mmap=1M'),
      parseStoreUrl('/var/cache/s.db'),
      parseStoreUrl('HTTPS://127.0.0.1:7420'),
      parseStoreUrl('rediss://:pw@127.0.0.1:6380'),
      parseStoreUrl('memcache://127.0.0.1:11211'),
    ];
    expect(cases).toEqual([
      { backend: 'memory', url: 'memory:' },
      { backend: 'file', url: 'file:/var/cache/s.db?mmap=1M', file: '/var/cache/s.db', mmapBytes: 1024 * 1024 },
      { backend: 'file', url: '/var/cache/s.db', file: '/var/cache/s.db' },
      { backend: 'daemon', url: 'HTTPS://127.0.0.1:7420' },
      { backend: 'redis', url: 'rediss://:pw@127.0.0.1:6380' },
      { backend: 'memcached', url: 'memcache://127.0.0.1:11211' },
    ]);
    expect(JSON.parse(JSON.stringify(cases))).toEqual(cases);
  });

  it('openStore takes the parse as it is: the file it names, not the URL text again', async () => {
    const file = path.join(tmp.dir, 'parsed.db');
    const store = await openStore({ backend: 'file', url: 'shown-only', file }, { create: true });
    expect(store.kind).toBe('file');
    expect(existsSync(file)).toBe(true);
    expect(existsSync('shown-only')).toBe(false);
    await store.terminate();
  });
});

describe('redactUrl', () => {
  it.each([
    ['redis://:s3cret@cache.test:6379/0', 'redis://cache.test:6379/0'],
    ['rediss://app:s3cret@cache.test:6380', 'rediss://app@cache.test:6380'],
    ['redis://app@cache.test', 'redis://app@cache.test'],
    ['memcache://a.test:11211,b.test:11211', 'memcache://a.test:11211,b.test:11211'],
    ['https://127.0.0.1:7443', 'https://127.0.0.1:7443'],
    ['https://u:p@h.test/path?q=1', 'https://u@h.test/path?q=1'],
    ['/var/lib/sessctl/a@b.db', '/var/lib/sessctl/a@b.db'],
  ])('%s → %s', (url, safe) => {
    expect(redactUrl(url)).toBe(safe);
  });
});

describe('resolveStoreUrl', () => {
  const env = { SESSCTL_STORE: 'redis://env.test:6379', XDG_STATE_HOME: '/xdg/state', HOME: '/home/op' };

  it('takes --store first, then $SESSCTL_STORE, then the config file, then the default', () => {
    expect(resolveStoreUrl({ flag: 'memory:', env, config: '/etc/c.db' })).toEqual({ url: 'memory:', source: 'flag' });
    expect(resolveStoreUrl({ env, config: '/etc/c.db' })).toEqual({ url: 'redis://env.test:6379', source: 'env' });
    expect(resolveStoreUrl({ env: { ...env, SESSCTL_STORE: '' }, config: '/etc/c.db' })).toEqual({ url: '/etc/c.db', source: 'config' });
    expect(resolveStoreUrl({ env: { XDG_STATE_HOME: '/xdg/state' } })).toEqual({ url: '/xdg/state/sessctl/sessions.db', source: 'default' });
  });

  it('falls back to ~/.local/state when $XDG_STATE_HOME is unset or relative', () => {
    expect(defaultStorePath({ HOME: '/home/op' })).toBe('/home/op/.local/state/sessctl/sessions.db');
    expect(defaultStorePath({ HOME: '/home/op', XDG_STATE_HOME: 'relative/state' })).toBe('/home/op/.local/state/sessctl/sessions.db');
  });

  it('treats an empty --store as a usage error', () => {
    expect(() => resolveStoreUrl({ flag: '', env })).toThrow(SessctlError);
  });
});

describe('TLS options a store cannot use are refused, not dropped (#15)', () => {
  it.each([
    ['http://127.0.0.1:7420', { ca: '/etc/ssl/ca.pem' }, /^--ca applies to https:\/\/ daemon URLs only, not http:\/\/127\.0\.0\.1:7420$/],
    ['http://127.0.0.1:7420', { cert: 'c.pem', key: 'k.pem' }, /^--client-cert\/--client-key applies to https:\/\/ daemon URLs only/],
    ['memcache://127.0.0.1:11211', { ca: '/etc/ssl/ca.pem' }, /^--ca applies to https:\/\/ and rediss:\/\/ stores; memcached has no TLS$/],
    ['redis://127.0.0.1:6379', { ca: '/etc/ssl/ca.pem' }, /^--ca applies to rediss:\/\/ \(TLS\) stores only$/],
  ])('%s with %o', async (url, options, message) => {
    const err = await openStore(url, options).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessctlError);
    expect((err as SessctlError).exit).toBe(EXIT.USAGE);
    expect((err as Error).message).toMatch(message);
  });
});
