/**
 * What is specific to the memcached backend: apr-util's server choice, the
 * exptime rules (relative up to 30 days, absolute beyond, capped in 2038),
 * iteration through lru_crawler metadump, counters with incr, and bounded
 * failures. The shared behaviour is in test/conformance.
 */
import net from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SessctlError } from '../../src/lib/errors.js';
import { keyFromApache, memcachedExptime, memcachedServerIndex } from '../../src/lib/store/apache.js';
import { parseMemcacheUrl } from '../../src/lib/store/memcache.js';
import { dumpedKey } from '../../src/lib/store/memcache-client.js';
import { openStore } from '../../src/lib/store/open.js';
import { nowSeconds, type Entry, type SessionStore } from '../../src/lib/store/types.js';
import { testEntry } from '../helpers/entries.js';
import { freePort, requireTool } from '../helpers/env.js';
import { startMemcached, type MemcachedServer } from '../helpers/servers.js';

const hasMemcached = requireTool('memcached', 'memcached');
const SALT = 0x3e3c;

/** Write a session as mod_socache_memcache does (`set` of the DER alone, 900 s), on the server apr-util's hash picks; its key. */
async function setAsApache(servers: MemcachedServer[], e: Entry): Promise<string> {
  const key = `mod_ssl-sess:${e.key}`;
  await servers[memcachedServerIndex(key, servers.length)]!.raw(Buffer.concat([Buffer.from(`set ${key} 0 900 ${e.der.length}\r\n`), e.der, Buffer.from('\r\n')]), /STORED\r\n/);
  return key;
}

describe('memcached layout helpers', () => {
  it("apr-util's hash: (crc32(key) >> 16) & 0x7fff, modulo the server count", () => {
    // The CRC-32 check value: crc32("123456789") = 0xCBF43926, so the hash is 0x4BF4 = 19444.
    expect(memcachedServerIndex('123456789', 32768)).toBe(19444);
    expect(memcachedServerIndex('123456789', 7)).toBe(19444 % 7);
    expect(memcachedServerIndex('123456789', 1)).toBe(0);
  });

  it('exptime: relative up to 30 days, absolute beyond, never past 2^31-1', () => {
    const now = 1_800_000_000;
    expect(memcachedExptime(300, now)).toBe(300);
    expect(memcachedExptime(2_592_000, now)).toBe(2_592_000);
    expect(memcachedExptime(2_592_001, now)).toBe(now + 2_592_001);
    expect(memcachedExptime(1_000_000_000, now)).toBe(2 ** 31 - 1);
  });

  it("a store key is one of the prefix's sessions when the rest is 1 to 32 bytes of hex (either case; lowercased)", () => {
    expect(keyFromApache('p:', 'p:ab')).toBe('ab');
    expect(keyFromApache('p:', 'p:0123456789ABCDEFabcdef')).toBe('0123456789abcdefabcdef');
    expect(keyFromApache('p:', `p:${'f'.repeat(64)}`)).toBe('f'.repeat(64));
    for (const bad of ['p:', 'p:a', 'p:abc', `p:${'f'.repeat(66)}`, 'p:ag', 'p:a ', 'p:G0', 'p:/0', 'p::0', 'p:@0', 'p:`0', 'q:ab', 'ab', 'P:ab']) {
      expect(keyFromApache('p:', bad), bad).toBeUndefined();
    }
  });

  it('reads the key of a metadump line, URL-decoded into bytes (one character a byte)', () => {
    const key = (line: string) => {
      // Within a chunk, as the dump reads them: other lines around it.
      const buf = Buffer.from(`key=a%3Ab exp=1 la=1 cas=1 fetch=no cls=1 size=1\n${line}\nkey=c exp=1\n`, 'latin1');
      const start = buf.indexOf('\n') + 1;
      return dumpedKey(buf, start, buf.indexOf('\n', start));
    };
    expect(key('key=mod_ssl-sess%3Aab12 exp=1795304487 la=1795304387 cas=1 fetch=no cls=1 size=77')).toBe('mod_ssl-sess:ab12');
    expect(key('key=x exp=-1 la=1 cas=2 fetch=no cls=1 size=60')).toBe('x');
    expect(key('key=x')).toBe('x');
    expect(key('key=END\r')).toBe('END');
    // UTF-8 stays bytes: "é" is C3 A9, sent back as the same two bytes.
    expect(key('key=s%C3%A9%3Aab exp=1')).toBe('s\u00c3\u00a9:ab');
    expect(key('key=%6d%6F exp=1')).toBe('mo');
    for (const bad of ['garbage', 'END', 'key= exp=1', 'key=ab%3 exp=1', 'key=ab% exp=1', 'key=a%zzb exp=1', 'kex=ab exp=1']) expect(key(bad), bad).toBeUndefined();
  });

  it('parses server lists and rejects bad ones', () => {
    expect(parseMemcacheUrl('memcache://a:1,b,[::1]:3?prefix=x:')).toMatchObject({ servers: [{ host: 'a', port: 1 }, { host: 'b', port: 11211 }, { host: '::1', port: 3 }], prefix: 'x:' });
    for (const bad of ['memcache://', 'memcache://a:0', 'memcache://a:1?cluster=1', 'memcache://u:p@a:1']) expect(() => parseMemcacheUrl(bad), bad).toThrow(SessctlError);
  });

  it('names what it refuses: credentials, a parameter given twice, a path', () => {
    expect(() => parseMemcacheUrl('memcache://u:p@a:1')).toThrow(/memcached has no user or password/);
    expect(() => parseMemcacheUrl('memcache://a:1?prefix=x:&prefix=y:')).toThrow(/"prefix" is given twice/);
    expect(() => parseMemcacheUrl('memcache://a:1/2')).toThrow(SessctlError);
  });
});

describe.skipIf(!hasMemcached)('memcached backend on two real servers', () => {
  const servers: MemcachedServer[] = [];
  let store: SessionStore;
  let url: string;

  beforeAll(async () => {
    servers.push(await startMemcached(), await startMemcached());
    url = `memcache://${servers.map((s) => `127.0.0.1:${s.port}`).join(',')}`;
  });

  afterAll(async () => {
    await store?.terminate();
    for (const server of servers) await server.cleanup();
  });

  beforeEach(async () => {
    for (const server of servers) await server.raw('flush_all', /^OK\r\n/m);
    await store?.terminate();
    store = await openStore(url);
  });

  it("writes each session to the server apr-util picks, under Apache's key, with a relative exptime", async () => {
    const now = nowSeconds();
    for (let i = 0; i < 12; i++) {
      const e = testEntry(i, { salt: SALT, expiresAt: now + 600 });
      await store.update(e);
      const key = `mod_ssl-sess:${e.key}`;
      const chosen = memcachedServerIndex(key, 2);
      for (const [n, server] of servers.entries()) {
        const reply = await server.raw(`mg ${key} v t`, /^(EN|VA .*\r\n[\s\S]*)\r\n$/);
        if (n !== chosen) {
          expect(reply).toBe('EN\r\n');
          continue;
        }
        const [head] = reply.split('\r\n');
        const ttl = Number(/ t(-?\d+)/.exec(head!)![1]);
        expect(ttl).toBeGreaterThan(590);
        expect(ttl).toBeLessThanOrEqual(600);
        expect(head).toBe(`VA ${e.der.length} t${ttl}`);
      }
    }
    expect(await store.size()).toBe(12);
  });

  it('a lifetime beyond 30 days is sent as an absolute time, so the entry stays', async () => {
    const e = testEntry(20, { salt: SALT, expiresAt: nowSeconds() + 90 * 24 * 3600 });
    await store.update(e);
    const got = await store.lookup(e.key);
    expect(got?.expiresAt).toBe(e.expiresAt);
    const server = servers[memcachedServerIndex(`mod_ssl-sess:${e.key}`, 2)]!;
    const ttl = Number(/ t(\d+)/.exec(await server.raw(`mg mod_ssl-sess:${e.key} t`, /\r\n$/))![1]);
    expect(Math.abs(ttl - 90 * 24 * 3600)).toBeLessThanOrEqual(2);
  });

  it('reads a session Apache wrote (DER only): fields from the DER, expiry from the exptime', async () => {
    const e = testEntry(21, { salt: SALT, vector: '07-server-tls12-dhe-rsa-aes128gcm-alpn' });
    await setAsApache(servers, e);
    const got = await store.lookup(e.key);
    expect(got!.der.equals(e.der)).toBe(true);
    expect(got).toMatchObject({ role: 'server', cipher: e.cipher, protocol: e.protocol, insertedAt: e.createdAt });
    expect(Math.abs(got!.expiresAt - (nowSeconds() + 900))).toBeLessThanOrEqual(2);
    expect(await store.foldl((x, acc: string[]) => [...acc, x.key], [])).toEqual([e.key]);
  });

  it('a fold reads every server at once, each batch in one write of meta gets, and gives what lookups give', async () => {
    const now = nowSeconds();
    const written = Array.from({ length: 40 }, (_x, i) => testEntry(100 + i, { salt: SALT, expiresAt: now + 600 }));
    for (const e of written) await store.update(e);
    // One session as Apache writes it (no sessctl metadata): its metadata key is a miss.
    const apacheOnly = testEntry(199, { salt: SALT, vector: '07-server-tls12-dhe-rsa-aes128gcm-alpn' });
    const apacheKey = await setAsApache(servers, apacheOnly);
    const apacheHome = memcachedServerIndex(apacheKey, 2);
    const keys = [...written.map((e) => e.key), apacheOnly.key];
    const onServer = (n: number) => keys.filter((k) => memcachedServerIndex(`mod_ssl-sess:${k}`, 2) === n);
    expect(onServer(0).length).toBeGreaterThan(0);
    expect(onServer(1).length).toBeGreaterThan(0);

    // memcached's own counters are the judge; each `stats` sent is counted in bytes_read too.
    const statsSent = [0, 0];
    const stats = async (n: number) => {
      statsSent[n]! += 1;
      const reply = await servers[n]!.raw('stats', /^END\r\n/m);
      return Object.fromEntries([...reply.matchAll(/^STAT (\S+) (\S+)\r$/gm)].map((m) => [m[1]!, Number(m[2])]));
    };
    const before = [await stats(0), await stats(1)];
    statsSent.fill(0);

    let bothCrawling = false;
    const folded = await store.foldl(async (entry, acc: Map<string, unknown>) => {
      if (acc.size === 0) {
        // Still inside the first entry: the other server's dump has started too (an older fold read one server after the other).
        const deadline = Date.now() + 10_000;
        while (!bothCrawling && Date.now() < deadline) {
          const now2 = [await stats(0), await stats(1)];
          bothCrawling = now2.every((s, n) => s.lru_crawler_starts === before[n]!.lru_crawler_starts + 1);
        }
      }
      acc.set(entry.key, entry);
      return acc;
    }, new Map());
    expect(bothCrawling).toBe(true);
    const after = [await stats(0), await stats(1)];

    for (const n of [0, 1]) {
      const mine = onServer(n);
      const misses = n === apacheHome ? 1 : 0;
      const delta = (name: string) => after[n]![name]! - before[n]![name]!;
      // Each session and its metadata asked for once, on the server that holds them.
      expect(delta('cmd_get'), `server ${n}`).toBe(2 * mine.length);
      expect(delta('get_hits'), `server ${n}`).toBe(2 * mine.length - misses);
      expect(delta('get_misses'), `server ${n}`).toBe(misses);
      expect(delta('lru_crawler_starts'), `server ${n}`).toBe(1);
      // What was sent: the dump, then one batch: each session's value and TTL, and its metadata's value.
      const batch = mine.map((k) => `mg mod_ssl-sess:${k} v t\r\nmg sessctl:meta:mod_ssl-sess:${k} v\r\n`).join('');
      const sent = 'lru_crawler metadump all\r\n'.length + batch.length + statsSent[n]! * 'stats\r\n'.length;
      expect(delta('bytes_read'), `server ${n}`).toBe(sent);
    }

    // The same entries as one lookup each.
    expect([...folded.keys()].sort()).toEqual([...keys].sort());
    // expiresAt of a session known to memcached by its TTL alone (Apache's layout, no metadata) is
    // now + the TTL in whole seconds: the fold and the lookup may read it a second apart.
    for (const key of keys) {
      const looked = await store.lookup(key);
      const got = folded.get(key);
      expect(Math.abs(got!.expiresAt - looked!.expiresAt), key).toBeLessThanOrEqual(1);
      expect({ ...got, expiresAt: 0 }, key).toEqual({ ...looked, expiresAt: 0 });
    }
  });

  it('a prefix beyond ASCII: fold and size see its sessions (the dump gives keys as bytes), and only those', async () => {
    const prefix = 'caché-sess:';
    const other = await openStore(`${url}?prefix=${encodeURIComponent(prefix)}`);
    try {
      const now = nowSeconds();
      const mine = Array.from({ length: 6 }, (_x, i) => testEntry(300 + i, { salt: SALT, expiresAt: now + 600 }));
      for (const e of mine) await other.update(e);
      await store.update(testEntry(310, { salt: SALT, expiresAt: now + 600 }));
      // Stored under the prefix's UTF-8 bytes, as Apache would write them.
      const key = `caché-sess:${mine[0]!.key}`;
      const home = servers[memcachedServerIndex(key, 2)]!;
      expect(await home.raw(Buffer.from(`mg ${key} s\r\n`), /\r\n$/)).toBe(`HD s${mine[0]!.der.length}\r\n`);
      expect(await other.size()).toBe(6);
      const folded = await other.foldl((e, acc: string[]) => [...acc, e.key], [], { withDer: false });
      expect(folded.sort()).toEqual(mine.map((e) => e.key).sort());
      expect(await store.size()).toBe(1);
    } finally {
      await other.terminate();
    }
  });

  it('reads replies however the bytes arrive: through a relay that hands on one byte at a time, the fold gives what lookups give', async () => {
    const now = nowSeconds();
    const written = Array.from({ length: 12 }, (_x, i) => testEntry(400 + i, { salt: SALT, expiresAt: now + 600 }));
    for (const e of written) await store.update(e);
    const apacheOnly = testEntry(420, { salt: SALT, vector: '07-server-tls12-dhe-rsa-aes128gcm-alpn' });
    await setAsApache(servers, apacheOnly);
    // Each real server behind a relay that writes its replies a byte a turn of the event loop: every reply and dump line is cut everywhere.
    const relays = await Promise.all(
      servers.map(
        (server) =>
          new Promise<net.Server>((resolve) => {
            const relay = net.createServer((client) => {
              const upstream = net.connect({ host: '127.0.0.1', port: server.port });
              client.pipe(upstream);
              let queue = Promise.resolve();
              upstream.on('data', (chunk: Buffer) => {
                for (const byte of chunk) queue = queue.then(() => new Promise<void>((done) => client.write(Buffer.of(byte), () => setImmediate(done))));
              });
              const close = () => {
                client.destroy();
                upstream.destroy();
              };
              client.on('error', close).on('close', close);
              upstream.on('error', close).on('close', () => void queue.then(close));
            });
            relay.listen(0, '127.0.0.1', () => resolve(relay));
          }),
      ),
    );
    const relayed = await openStore(`memcache://${relays.map((r) => `127.0.0.1:${(r.address() as net.AddressInfo).port}`).join(',')}`);
    try {
      const folded = await relayed.foldl((e, acc: Map<string, Entry>) => acc.set(e.key, e), new Map());
      const keys = [...written.map((e) => e.key), apacheOnly.key];
      expect([...folded.keys()].sort()).toEqual(keys.sort());
      for (const k of keys) {
        const looked = (await store.lookup(k))!;
        const got = folded.get(k)!;
        expect(Math.abs(got.expiresAt - looked.expiresAt), k).toBeLessThanOrEqual(1);
        expect({ ...got, expiresAt: 0 }, k).toEqual({ ...looked, expiresAt: 0 });
      }
      expect(folded.get(written[0]!.key)).toMatchObject({ role: written[0]!.role, insertedAt: written[0]!.insertedAt });
    } finally {
      await relayed.terminate();
      for (const relay of relays) relay.close();
    }
  });

  it('counters live in memcached (add, then incr) and are shared', async () => {
    const second = await openStore(url);
    try {
      await store.addCounters({ hits: 4 });
      await second.addCounters({ hits: 1, misses: 2 });
      expect(await second.counters()).toMatchObject({ hits: 5, misses: 2 });
      const key = 'sessctl:mod_ssl-sess:counters:hits';
      expect(await servers[memcachedServerIndex(key, 2)]!.raw(`get ${key}`, /END\r\n$/)).toMatch(/\r\n5\r\n/);
    } finally {
      await second.terminate();
    }
  });

  it('a server that is down or stalls gives one clear error within the timeout', async () => {
    const port = await freePort();
    const down = await openStore(`memcache://127.0.0.1:${servers[0]!.port},127.0.0.1:${port}`, { timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(down).toBeInstanceOf(SessctlError);
    expect((down as Error).message).toBe(`memcached 127.0.0.1:${port} is not reachable (connection refused)`);

    const stalled = await openStore(url, { timeoutMs: 500 });
    servers[1]!.pause();
    try {
      const err = await stalled.size().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SessctlError);
      expect((err as Error).message).toBe(`memcached 127.0.0.1:${servers[1]!.port} is not answering (timed out after 0.5 s)`);
    } finally {
      servers[1]!.resume();
      await stalled.terminate();
    }
  });

  it('a server stopped mid-run: operations fail fast; after a restart the same store works again', async () => {
    const e = testEntry(30, { salt: SALT });
    const home = servers[memcachedServerIndex(`mod_ssl-sess:${e.key}`, 2)]!;
    await store.update(e);
    await home.stop();
    const err = await store.lookup(e.key).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(SessctlError);
    expect((err as Error).message).toMatch(new RegExp(`^memcached 127\\.0\\.0\\.1:${home.port} (is not reachable \\(connection (refused|reset)\\)|closed the connection)$`));
    await expect(store.size()).rejects.toThrow(SessctlError);
    await home.start();
    expect(await store.lookup(e.key)).toBeUndefined();
    await store.update(e);
    expect((await store.lookup(e.key))?.der.equals(e.der)).toBe(true);
  });
});
