/**
 * Redis Cluster specifics: sessions spread over three masters, and foldl,
 * size, `sessctl list` and `sessctl stats` see all of them (SCAN runs on
 * every master); sessctl's metadata sits in its session's slot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metaKey } from '../../src/lib/store/redis.js';
import { openStore } from '../../src/lib/store/open.js';
import type { SessionStore } from '../../src/lib/store/types.js';
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

  it('sessctl list --json and sessctl stats --json see every session', async () => {
    const list = await runCli(['list', '--store', cluster.url, '--json']);
    expect(list.code).toBe(0);
    expect(new Set((JSON.parse(list.stdout) as { id: string }[]).map((s) => s.id))).toEqual(keys);
    const stats = await runCli(['stats', '--store', cluster.url, '--json']);
    expect(stats.code).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ total: COUNT, live: COUNT, counters: { inserts: COUNT } });
  });
});
