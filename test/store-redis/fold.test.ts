/**
 * How a fold reads Redis (store/redis.ts): one EVAL of a read-only script per
 * SCAN page, or, where EVAL is not allowed, a pipeline of GET, PTTL and
 * HGETALL per session. Both must give the same entries; Redis's own command
 * statistics say which way was taken.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/lib/store/open.js';
import { nowSeconds, type Entry, type SessionStore } from '../../src/lib/store/types.js';
import { testEntry } from '../helpers/entries.js';
import { requireTool } from '../helpers/env.js';
import { startRedis, type RedisServer } from '../helpers/servers.js';

const hasRedis = requireTool('redis-server', 'redis-server');
/** More than one SCAN page (COUNT 1000). */
const SESSIONS = 1_500;

describe.skipIf(!hasRedis)('a fold over Redis', () => {
  let redis: RedisServer;
  const written = new Map<string, Entry>();

  beforeAll(async () => {
    // bob may do everything but run scripts.
    redis = await startRedis({ args: ['--user', 'bob', 'on', '>builder', '~*', '&*', '+@all', '-eval', '-evalsha'] });
    const store = await openStore(redis.url);
    const now = nowSeconds();
    try {
      const entries = Array.from({ length: SESSIONS }, (_x, i) =>
        i % 2 === 0 ? testEntry(i, { salt: 0x4f1d, expiresAt: now + 600 + i }) : testEntry(i, { salt: 0x4f1d, expiresAt: now + 600 + i, role: 'client', partialKey: `h${i}.test:443` }),
      );
      for (let i = 0; i < entries.length; i += 100) await Promise.all(entries.slice(i, i + 100).map((e) => store.update(e)));
      for (const e of entries) written.set(e.key, e);
    } finally {
      await store.terminate();
    }
    // Half of them as Apache writes them: the DER alone, no sessctl metadata.
    const meta = (await redis.cli('--scan', '--pattern', 'sessctl:meta:*')).split('\n').filter(Boolean);
    for (let i = 0; i < meta.length; i += 2) await redis.cli('del', meta[i]!);
  }, 300_000);

  afterAll(async () => {
    await redis?.cleanup();
  });

  const evalCalls = async () => Number(/cmdstat_eval:calls=(\d+)/.exec(await redis.cli('info', 'commandstats'))?.[1] ?? 0);

  async function foldAll(url: string): Promise<Map<string, Entry>> {
    const store = await openStore(url);
    try {
      return await store.foldl((e, acc: Map<string, Entry>) => acc.set(e.key, e), new Map());
    } finally {
      await store.terminate();
    }
  }

  it('reads every session, with its metadata where there is some, one EVAL per page', async () => {
    const before = await evalCalls();
    const seen = await foldAll(redis.url);
    const pages = (await evalCalls()) - before;
    expect(pages).toBeGreaterThanOrEqual(2);
    expect(pages).toBeLessThan(SESSIONS / 100);
    expect([...seen.keys()].sort()).toEqual([...written.keys()].sort());
    // The metadata that was kept is read: a client's partial key is in nothing but it.
    const withPartialKey = [...seen.values()].filter((e) => e.partialKey !== undefined);
    expect(withPartialKey.length).toBeGreaterThan(SESSIONS / 10);
    for (const e of withPartialKey) expect(e.partialKey).toBe(written.get(e.key)!.partialKey);
    for (const e of seen.values()) expect(e.der.equals(written.get(e.key)!.der)).toBe(true);
  });

  it('reads the same where scripts are not allowed (an ACL user without EVAL)', async () => {
    const byScript = await foldAll(redis.url);
    const before = await evalCalls();
    const byPipeline = await foldAll(redis.url.replace('redis://', 'redis://bob:builder@'));
    // bob's refused EVAL is not a call: his fold read by pipeline.
    expect((await evalCalls()) - before).toBe(0);
    expect(byPipeline.size).toBe(SESSIONS);
    for (const [key, e] of byScript) {
      const p = byPipeline.get(key)!;
      // Where only the TTL tells the expiry, it is counted from each fold's own clock.
      expect(Math.abs(p.expiresAt - e.expiresAt)).toBeLessThanOrEqual(2);
      expect({ ...p, der: p.der.toString('hex'), expiresAt: 0 }).toEqual({ ...e, der: e.der.toString('hex'), expiresAt: 0 });
    }
  });

  it('stops early on a Halt, and leaves nothing in flight behind', async () => {
    const store = await openStore(redis.url);
    try {
      const { Halt } = await import('../../src/lib/store/types.js');
      const n = await store.foldl((_e, acc: number) => (acc + 1 >= 10 ? new Halt(acc + 1) : acc + 1), 0);
      expect(n).toBe(10);
      expect(await store.size()).toBe(SESSIONS);
    } finally {
      await store.terminate();
    }
  });
});
