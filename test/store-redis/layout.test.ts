/**
 * What is specific to the Redis backend: Apache's key layout on the wire,
 * reading entries Apache wrote (no metadata), the prefix parameter, ACL
 * credentials and the URL forms. The shared behaviour is in test/conformance.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SessctlError } from '../../src/lib/errors.js';
import { metaKey, parseRedisUrl } from '../../src/lib/store/redis.js';
import { openStore } from '../../src/lib/store/open.js';
import { nowSeconds, type SessionStore } from '../../src/lib/store/types.js';
import { testEntry } from '../helpers/entries.js';
import { freePort, requireTool } from '../helpers/env.js';
import { makeCertificate, startRedis, type RedisServer } from '../helpers/servers.js';

const hasRedis = requireTool('redis-server', 'redis-server');
const SALT = 0x7ed1;

describe('parseRedisUrl', () => {
  it('reads host, port, db, credentials, prefix and the cluster forms', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6380/2')).toMatchObject({ tls: false, nodes: [{ host: '127.0.0.1', port: 6380 }], db: 2, prefix: 'mod_ssl-sess:', cluster: false });
    expect(parseRedisUrl('rediss://alice:s%40cret@cache.internal')).toMatchObject({ tls: true, username: 'alice', password: 's@cret', nodes: [{ host: 'cache.internal', port: 6379 }] });
    expect(parseRedisUrl('redis://:pw@[::1]:7000')).toMatchObject({ password: 'pw', nodes: [{ host: '::1', port: 7000 }] });
    expect(parseRedisUrl('redis://a:7000,b:7001')).toMatchObject({ cluster: true, nodes: [{ host: 'a', port: 7000 }, { host: 'b', port: 7001 }] });
    expect(parseRedisUrl('redis://a:7000?cluster=1&prefix=myapp-sess:')).toMatchObject({ cluster: true, prefix: 'myapp-sess:' });
  });

  it('never keeps the password in the printable URL', () => {
    expect(parseRedisUrl('redis://alice:hunter2@h:1/0?prefix=x:').display).toBe('redis://alice@h:1/0?prefix=x:');
    expect(parseRedisUrl('redis://:hunter2@h:1').display).toBe('redis://h:1');
  });

  it('rejects what it cannot use with a usage error', () => {
    for (const bad of ['redis://h:99999', 'redis://h:1/x', 'redis://h:1?bogus=1', 'redis://h:1?prefix=', 'redis://h:1?prefix=a{b}', 'redis://h:1?prefix=sessctl:x', 'redis://a:1,b:2/3', 'http://h:1']) {
      expect(() => parseRedisUrl(bad), bad).toThrow(SessctlError);
    }
  });
});

describe.skipIf(!hasRedis)('Redis backend on a real server', () => {
  let redis: RedisServer;
  let store: SessionStore;

  beforeAll(async () => {
    redis = await startRedis({ args: ['--user', 'alice', 'on', '>wonderland', '~*', '&*', '+@all'] });
  });

  afterAll(async () => {
    await store?.terminate();
    await redis?.cleanup();
  });

  beforeEach(async () => {
    await redis.cli('flushall');
    await store?.terminate();
    store = await openStore(redis.url);
  });

  it("writes Apache's layout: mod_ssl-sess:<hex> holds the DER alone, with the remaining lifetime as TTL; metadata apart", async () => {
    const now = nowSeconds();
    const entry = testEntry(1, { salt: SALT, expiresAt: now + 600, partialKey: 'login.corp.test:443', role: 'client' });
    await store.update(entry);
    const key = `mod_ssl-sess:${entry.key}`;
    const hex = (await redis.cli('eval', "return redis.call('get', KEYS[1]):gsub('.', function(c) return string.format('%02x', string.byte(c)) end)", '1', key)).trim();
    expect(Buffer.from(hex, 'hex').equals(entry.der)).toBe(true);
    const ttl = Number((await redis.cli('ttl', key)).trim());
    expect(ttl).toBeGreaterThan(590);
    expect(ttl).toBeLessThanOrEqual(600);
    expect((await redis.cli('type', key)).trim()).toBe('string');
    expect((await redis.cli('hget', metaKey(key), 'partialKey')).trim()).toBe('login.corp.test:443');
    expect(Number((await redis.cli('ttl', metaKey(key))).trim())).toBeGreaterThan(590);
    // Only the session is under the prefix: Apache's key space stays Apache's.
    expect((await redis.cli('--scan', '--pattern', 'mod_ssl-sess:*')).trim().split('\n')).toEqual([key]);
  });

  it('reads an entry Apache wrote (SETEX, DER only): fields from the DER, expiry from the TTL', async () => {
    const entry = testEntry(2, { salt: SALT, vector: '07-server-tls12-dhe-rsa-aes128gcm-alpn' });
    const key = `mod_ssl-sess:${entry.key}`;
    // redis-cli cannot pass binary arguments: write the DER through a Lua hex decoder.
    await redis.cli(
      'eval',
      "return redis.call('setex', KEYS[1], ARGV[1], (ARGV[2]:gsub('..', function(h) return string.char(tonumber(h, 16)) end)))",
      '1', key, '1200', entry.der.toString('hex'),
    );
    const got = await store.lookup(entry.key);
    expect(got).toBeDefined();
    expect(got!.der.equals(entry.der)).toBe(true);
    expect(got).toMatchObject({ key: entry.key, role: 'server', protocol: entry.protocol, cipher: entry.cipher, createdAt: entry.createdAt, insertedAt: entry.createdAt, hasTicket: false });
    expect(got!.partialKey).toBeUndefined();
    // The vector's own time + timeout lies in the past: the TTL is what Redis honours.
    expect(Math.abs(got!.expiresAt - (nowSeconds() + 1200))).toBeLessThanOrEqual(2);
    expect(await store.size()).toBe(1);
  });

  it('ignores its metadata once Apache has overwritten the session with another DER', async () => {
    const mine = testEntry(3, { salt: SALT, role: 'client', partialKey: 'a:1', insertedAt: 1_700_000_000 });
    await store.update(mine);
    const apachesDer = testEntry(3, { salt: SALT, vector: '08-server-tls12-ecdhe-ecdsa-aes128sha256-clientauth' }).der;
    await redis.cli('eval', "return redis.call('setex', KEYS[1], 300, (ARGV[1]:gsub('..', function(h) return string.char(tonumber(h, 16)) end)))", '1', `mod_ssl-sess:${mine.key}`, apachesDer.toString('hex'));
    const got = await store.lookup(mine.key);
    expect(got!.der.equals(apachesDer)).toBe(true);
    expect(got!.role).toBe('server');
    expect(got!.partialKey).toBeUndefined();
    expect(got!.insertedAt).not.toBe(1_700_000_000);
  });

  it('reads a session whose metadata key holds something other than a hash from its DER alone, in a lookup as in a fold', async () => {
    const mine = testEntry(5, { salt: SALT, role: 'client', partialKey: 'b:1' });
    await store.update(mine);
    const meta = metaKey(`mod_ssl-sess:${mine.key}`);
    await redis.cli('del', meta);
    await redis.cli('set', meta, 'not a hash');
    const looked = await store.lookup(mine.key);
    expect(looked?.der.equals(mine.der)).toBe(true);
    expect(looked?.partialKey).toBeUndefined();
    const folded = await store.foldl((e, acc: { key: string; role: string; partialKey: string | undefined }[]) => [...acc, { key: e.key, role: e.role, partialKey: e.partialKey }], []);
    expect(folded).toEqual([{ key: mine.key, role: looked!.role, partialKey: undefined }]);
  });

  it('skips a value under the prefix that is not a session, with a warning, and refuses it on lookup', async () => {
    const warnings: string[] = [];
    const warned = await openStore(redis.url, { onWarning: (m) => warnings.push(m) });
    try {
      await warned.update(testEntry(4, { salt: SALT }));
      await redis.cli('set', 'mod_ssl-sess:abcd', 'not a session');
      await redis.cli('set', 'mod_ssl-sess:not-hex', 'ignored');
      const keys = await warned.foldl((e, acc: string[]) => [...acc, e.key], []);
      expect(keys).toEqual([testEntry(4, { salt: SALT }).key]);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(/skipping mod_ssl-sess:abcd/);
      await expect(warned.lookup('abcd')).rejects.toThrow(SessctlError);
    } finally {
      await warned.terminate();
    }
  });

  it('?prefix= keeps a separate namespace, counters included', async () => {
    const other = await openStore(`${redis.url}?prefix=myapp-sess:`);
    try {
      const e = testEntry(5, { salt: SALT });
      await other.update(e);
      expect((await redis.cli('exists', `myapp-sess:${e.key}`)).trim()).toBe('1');
      expect(await other.size()).toBe(1);
      expect(await store.size()).toBe(0);
      expect(await store.lookup(e.key)).toBeUndefined();
      expect((await other.counters()).inserts).toBe(1);
      expect((await store.counters()).inserts).toBe(0);
    } finally {
      await other.terminate();
    }
  });

  it('counters are shared by every process using the store (HINCRBY)', async () => {
    const second = await openStore(redis.url);
    try {
      await store.addCounters({ hits: 2 });
      await second.addCounters({ hits: 3, misses: 1 });
      expect(await store.counters()).toMatchObject({ hits: 5, misses: 1 });
      expect((await redis.cli('hget', 'sessctl:mod_ssl-sess:counters', 'hits')).trim()).toBe('5');
    } finally {
      await second.terminate();
    }
  });

  it('logs in as an ACL user; a wrong password is one clear error', async () => {
    const acl = await openStore(`redis://alice:wonderland@127.0.0.1:${redis.port}`);
    try {
      expect(acl.url).toBe(`redis://alice@127.0.0.1:${redis.port}`);
      await acl.update(testEntry(6, { salt: SALT }));
      expect(await acl.size()).toBe(1);
    } finally {
      await acl.terminate();
    }
    const err = await openStore(`redis://alice:wrong@127.0.0.1:${redis.port}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessctlError);
    expect((err as Error).message).toMatch(/refused the credentials/);
    expect((err as Error).message).not.toContain('wrong@');
  });

  it('rediss:// speaks TLS, verifying the server against --ca', async () => {
    const { cert, key } = makeCertificate(redis.dir, ['127.0.0.1']);
    const tlsPort = await freePort();
    const tlsRedis = await startRedis({ args: ['--tls-port', String(tlsPort), '--tls-cert-file', cert, '--tls-key-file', key, '--tls-ca-cert-file', cert, '--tls-auth-clients', 'no'] });
    try {
      const tls = await openStore(`rediss://127.0.0.1:${tlsPort}`, { ca: cert });
      try {
        const e = testEntry(7, { salt: SALT });
        await tls.update(e);
        expect((await tls.lookup(e.key))?.der.equals(e.der)).toBe(true);
        expect((await tlsRedis.cli('exists', `mod_ssl-sess:${e.key}`)).trim()).toBe('1');
      } finally {
        await tls.terminate();
      }
      // Without the CA the self-signed server is refused: one clear error, no hang.
      const untrusted = await openStore(`rediss://127.0.0.1:${tlsPort}`, { timeoutMs: 2000 }).catch((err: unknown) => err);
      expect(untrusted).toBeInstanceOf(SessctlError);
      expect((untrusted as Error).message).toBe(`redis 127.0.0.1:${tlsPort}: TLS handshake failed (self-signed certificate)`);
    } finally {
      await tlsRedis.cleanup();
    }
  });
});
