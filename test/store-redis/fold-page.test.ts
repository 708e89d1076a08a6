/**
 * A standalone server's fold reads each SCAN page with one script that packs
 * the page into one string (store/redis.ts, PAGE_SCRIPT), parsed by offsets in
 * the client. What it gives must be what lookups give, over the odd keys and
 * values a shared Redis can hold: several pages, pages with nothing of ours,
 * keys under the prefix that are not sessions or not strings, values that
 * are not sessions, stale or foreign metadata, keys without a lifetime,
 * non-ASCII metadata, and a prefix with glob characters.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metaKey } from '../../src/lib/store/redis.js';
import { openStore } from '../../src/lib/store/open.js';
import { nowSeconds, type Entry, type FoldOptions } from '../../src/lib/store/types.js';
import { testEntry } from '../helpers/entries.js';
import { requireTool } from '../helpers/env.js';
import { startRedis, type RedisServer } from '../helpers/servers.js';

const hasRedis = requireTool('redis-server', 'redis-server');
const SALT = 0x9a6e;
/** Apache's sessions (DER alone), sessctl's (with metadata), keys of others: more than two pages (COUNT 1000). */
const APACHE = 1_400;
const SESSCTL = 120;
const OTHERS = 2_000;
const PREFIX = 'mod_ssl-sess:';
/** A prefix whose glob characters must match literally. */
const ODD_PREFIX = 'we*ird[1]?:';

describe.skipIf(!hasRedis)('a fold over one packed page a call', () => {
  let redis: RedisServer;
  let raw: Redis;
  /** Store keys (hex) whose values are no sessions: the fold warns and skips them. */
  const notSessions = new Set<string>();
  /** The session stored under an uppercase-hex key (httpd before 2.4 wrote %02X). */
  let upper: Entry;
  /** The session whose metadata key holds a string: no metadata, for lookup and fold alike. */
  let brokenMeta: Entry;
  /** Sessions under ODD_PREFIX. */
  const odd = new Set<string>();

  beforeAll(async () => {
    redis = await startRedis();
    raw = new Redis({ host: '127.0.0.1', port: redis.port, lazyConnect: true });
    await raw.connect();
    const now = nowSeconds();
    const pipeline = raw.pipeline();
    for (let i = 0; i < APACHE; i++) {
      const e = testEntry(i, { salt: SALT });
      // Every third key without a lifetime (PERSIST): the DER's expiry stands alone.
      if (i % 3 === 0) pipeline.set(PREFIX + e.key, e.der);
      else pipeline.setex(PREFIX + e.key, 600 + i, e.der);
    }
    for (let i = 0; i < OTHERS; i++) pipeline.set(`other:${i}`, `x${i}`);
    await pipeline.exec();

    const store = await openStore(redis.url);
    try {
      for (let i = 0; i < SESSCTL; i++) {
        const shape = i % 2 === 0 ? { role: 'client' as const, partialKey: `hôte-${i}.bücher.test:443` } : {};
        await store.update(testEntry(APACHE + i, { salt: SALT, expiresAt: now + 900 + i, ...shape }));
      }
    } finally {
      await store.terminate();
    }
    // Metadata gone wrong: a string where the hash should be, a hash of the wrong DER with a field of someone else's.
    brokenMeta = testEntry(APACHE + 1, { salt: SALT });
    await raw.set(metaKey(PREFIX + brokenMeta.key), 'not a hash');
    await raw.hset(metaKey(PREFIX + testEntry(APACHE + 3, { salt: SALT }).key), 'digest', '00'.repeat(16), 'extra', 'field');

    // Under the prefix but no sessions of ours: not hex, a hash, empty, bytes that are no SSL_SESSION.
    await raw.set(`${PREFIX}not-hex`, testEntry(9_000, { salt: SALT }).der);
    await raw.hset(`${PREFIX}${'ab'.repeat(16)}`, 'der', 'x');
    for (const [hex, value] of [
      ['cd'.repeat(16), Buffer.alloc(0)],
      ['ef'.repeat(16), Buffer.from('not a session\r\n$5\r\n*1\r\n\x00\xff', 'latin1')],
    ] as const) {
      await raw.setex(PREFIX + hex, 600, value);
      notSessions.add(hex);
    }
    upper = testEntry(9_001, { salt: SALT });
    await raw.setex(PREFIX + upper.key.toUpperCase(), 600, upper.der);

    for (let i = 0; i < 30; i++) {
      const e = testEntry(9_100 + i, { salt: SALT });
      await raw.setex(ODD_PREFIX + e.key, 600, e.der);
      odd.add(e.key);
    }
    // Matches the prefix read as a glob, not as text.
    await raw.setex(`weXXird1Z:${testEntry(9_200, { salt: SALT }).key}`, 600, testEntry(9_200, { salt: SALT }).der);
  }, 120_000);

  afterAll(async () => {
    raw?.disconnect();
    await redis?.cleanup();
  });

  const commandCalls = async (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(await redis.cli('info', 'commandstats'))?.[1] ?? 0);

  async function fold(url: string, options?: FoldOptions): Promise<{ entries: Map<string, Entry>; warnings: string[] }> {
    const warnings: string[] = [];
    const store = await openStore(url, { onWarning: (m) => warnings.push(m) });
    try {
      const entries = await store.foldl((e, acc: Map<string, Entry>) => {
        expect(acc.has(e.key), `${e.key} twice`).toBe(false);
        return acc.set(e.key, e);
      }, new Map(), options);
      return { entries, warnings };
    } finally {
      await store.terminate();
    }
  }

  it('gives what lookups give, one EVAL a page, the values read by MGET in the script', async () => {
    const [evals, mgets] = [await commandCalls('eval'), await commandCalls('mget')];
    const { entries, warnings } = await fold(redis.url);
    const pages = (await commandCalls('eval')) - evals;
    expect(pages).toBeGreaterThanOrEqual(3);
    expect(pages).toBeLessThan(20);
    // Only PAGE_SCRIPT reads with MGET: the fold did not fall back to the per-key path.
    expect((await commandCalls('mget')) - mgets).toBeGreaterThanOrEqual(pages - 1);

    expect(entries.size).toBe(APACHE + SESSCTL + 1);
    const store = await openStore(redis.url);
    try {
      for (const [key, e] of entries) {
        if (key === upper.key) continue;
        const looked = await store.lookup(key);
        expect(looked, key).toBeDefined();
        // Where only the TTL tells the expiry, each read counts it from its own clock.
        expect(Math.abs(e.expiresAt - looked!.expiresAt), key).toBeLessThanOrEqual(1);
        expect({ ...e, der: e.der.toString('hex'), expiresAt: 0 }, key).toEqual({ ...looked!, der: looked!.der.toString('hex'), expiresAt: 0 });
      }
    } finally {
      await store.terminate();
    }
    // The metadata was read where it is good, the DER alone decides where it is not.
    const clients = [...entries.values()].filter((e) => e.partialKey !== undefined);
    expect(clients).toHaveLength(SESSCTL / 2);
    for (const e of clients) expect(e.partialKey).toMatch(/^hôte-\d+\.bücher\.test:443$/);
    expect(entries.get(upper.key)?.der.equals(upper.der)).toBe(true);
    // A metadata key that is no hash counts as none: the entry is the DER's own, as for Apache's sessions.
    expect(entries.get(brokenMeta.key)).toMatchObject({ role: brokenMeta.role, createdAt: brokenMeta.createdAt, insertedAt: brokenMeta.createdAt });
    // A value that is no session is named and skipped; a key that is not a session id, or not a string, is not ours.
    expect(warnings).toHaveLength(notSessions.size);
    for (const hex of notSessions) expect(warnings.some((w) => w.includes(`${PREFIX}${hex}`))).toBe(true);
  });

  it('leaves the DER out for withDer: false, and nothing else', async () => {
    const withDer = (await fold(redis.url)).entries;
    const without = (await fold(redis.url, { withDer: false })).entries;
    expect(without.size).toBe(withDer.size);
    for (const [key, e] of without) {
      const full = withDer.get(key)!;
      expect(e.der.length).toBe(0);
      expect(e.size).toBe(full.der.length);
      expect({ ...e, der: '', expiresAt: 0 }).toEqual({ ...full, der: '', expiresAt: 0 });
    }
  });

  it('hands out copies of the DER, not views into the page (one entry kept must not hold its page)', async () => {
    const { entries } = await fold(redis.url);
    // A copy lies in Node's small-Buffer pool or in memory of its own; a page of hundreds of sessions is far larger.
    for (const e of entries.values()) expect(e.der.buffer.byteLength <= Buffer.poolSize || e.der.buffer.byteLength === e.der.length).toBe(true);
  });

  it("looks for no metadata where sessctl never wrote any (no counters hash): Apache's sessions alone", async () => {
    const apacheOnly = await startRedis();
    try {
      const client = new Redis({ host: '127.0.0.1', port: apacheOnly.port });
      const pipeline = client.pipeline();
      for (let i = 0; i < 1_500; i++) pipeline.setex(PREFIX + testEntry(i, { salt: SALT }).key, 600, testEntry(i, { salt: SALT }).der);
      await pipeline.exec();
      client.disconnect();
      const calls = async (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(await apacheOnly.cli('info', 'commandstats'))?.[1] ?? 0);
      const { entries } = await fold(apacheOnly.url);
      expect(entries.size).toBe(1_500);
      const pages = await calls('eval');
      expect(pages).toBeGreaterThanOrEqual(2);
      // One EXISTS a page (the counters hash), no metadata key asked for.
      expect(await calls('exists')).toBe(pages);
      expect(await calls('hgetall')).toBe(0);
      // The first insert through sessctl makes its metadata visible to the next page read.
      const store = await openStore(apacheOnly.url);
      const client2 = testEntry(2_000, { salt: SALT, role: 'client', partialKey: 'first.test:443' });
      try {
        await store.update(client2);
      } finally {
        await store.terminate();
      }
      expect((await fold(apacheOnly.url)).entries.get(client2.key)?.partialKey).toBe('first.test:443');
    } finally {
      await apacheOnly.cleanup();
    }
  });

  it('matches a prefix with glob characters literally', async () => {
    const { entries } = await fold(`${redis.url}?prefix=${encodeURIComponent(ODD_PREFIX)}`);
    expect([...entries.keys()].sort()).toEqual([...odd].sort());
  });
});
