/**
 * Redis Cluster specifics: sessions spread over three masters, and foldl,
 * size, `sessctl list` and `sessctl stats` see all of them (SCAN runs on
 * every master); sessctl's metadata sits in its session's slot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metaKey } from '../../src/lib/store/redis.js';
import { openStore } from '../../src/lib/store/open.js';
import type { Entry, SessionStore } from '../../src/lib/store/types.js';
import { testEntry } from '../helpers/entries.js';
import { requireTool, runCli } from '../helpers/env.js';
import { startRedisCluster, type RedisCluster } from '../helpers/servers.js';

const hasRedis = requireTool('redis-server', 'redis-server');
const SALT = 0xc105;
const COUNT = 60;

describe.skipIf(!hasRedis)('Redis Cluster of three masters', () => {
  let cluster: RedisCluster;
  let store: SessionStore;
  const keys = new Set<string>();

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    store = await openStore(cluster.url);
    for (let i = 0; i < COUNT; i++) {
      const e = testEntry(i, { salt: SALT });
      keys.add(e.key);
      await store.update(e);
    }
  });

  afterAll(async () => {
    await store?.terminate();
    await cluster?.cleanup();
  });

  it('spreads the sessions over every master, each with its metadata in the same slot', async () => {
    const perMaster: number[] = [];
    for (const port of cluster.ports) {
      const local = (await cluster.cli(port, '--scan', '--pattern', 'mod_ssl-sess:*')).split('\n').filter(Boolean);
      perMaster.push(local.length);
      for (const key of local) {
        const [slotOfKey, slotOfMeta] = await Promise.all([cluster.cli(port, 'cluster', 'keyslot', key), cluster.cli(port, 'cluster', 'keyslot', metaKey(key))]);
        expect(slotOfMeta).toBe(slotOfKey);
        expect((await cluster.cli(port, 'exists', metaKey(key))).trim()).toBe('1');
      }
    }
    expect(perMaster.every((n) => n > 0)).toBe(true);
    expect(perMaster.reduce((a, b) => a + b, 0)).toBe(COUNT);
  });

  it('foldl and size cover every master', async () => {
    expect(await store.size()).toBe(COUNT);
    const seen = await store.foldl((e, acc: string[]) => [...acc, e.key], []);
    expect(new Set(seen)).toEqual(keys);
    expect(seen).toHaveLength(COUNT);
  });

  it('a fold reads each master a page at a time with one EVAL, none refused, and gives what lookups give', async () => {
    // Redis's own statistics: a refused EVAL (CROSSSLOT: keys of many slots) counts as rejected, and the fold would pipeline instead.
    const evalStats = async (port: number) => {
      const m = /cmdstat_eval:calls=(\d+),.*rejected_calls=(\d+),failed_calls=(\d+)/.exec(await cluster.cli(port, 'info', 'commandstats'));
      return { calls: Number(m?.[1] ?? 0), refused: Number(m?.[2] ?? 0) + Number(m?.[3] ?? 0) };
    };
    // A few sessions as Apache writes them: the DER alone, no metadata.
    for (const key of [...keys].slice(0, 6)) expect((await cluster.cli(cluster.ports[0]!, '-c', 'del', metaKey(`mod_ssl-sess:${key}`))).trim()).toBe('1');
    const before = await Promise.all(cluster.ports.map(evalStats));
    const seen = await store.foldl((e, acc: Map<string, Entry>) => acc.set(e.key, e), new Map());
    const after = await Promise.all(cluster.ports.map(evalStats));
    cluster.ports.forEach((port, n) => {
      expect(after[n]!.calls - before[n]!.calls, `master ${port}`).toBe(1);
      expect(after[n]!.refused - before[n]!.refused, `master ${port}`).toBe(0);
    });
    expect(new Set(seen.keys())).toEqual(keys);
    for (const key of keys) {
      const looked = (await store.lookup(key))!;
      const got = seen.get(key)!;
      // Without metadata, expiresAt is now + the TTL in whole seconds: the fold and the lookup may read it a second apart.
      expect(Math.abs(got.expiresAt - looked.expiresAt), key).toBeLessThanOrEqual(1);
      expect({ ...got, expiresAt: 0 }, key).toEqual({ ...looked, expiresAt: 0 });
    }
  });

  it('sessctl list --json and sessctl stats --json see every session', async () => {
    const list = await runCli(['list', '--store', cluster.url, '--json']);
    expect(list.code).toBe(0);
    expect(new Set((JSON.parse(list.stdout) as { id: string }[]).map((s) => s.id))).toEqual(keys);
    const stats = await runCli(['stats', '--store', cluster.url, '--json']);
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ total: COUNT, live: COUNT, counters: { inserts: COUNT } });
  });
});
