import { afterAll, beforeAll, describe } from 'vitest';
import { openStore } from '../../src/lib/store/open.js';
import { requireTool } from '../helpers/env.js';
import { startRedisCluster, type RedisCluster } from '../helpers/servers.js';
import { describeConformance } from './suite.js';

const hasRedis = requireTool('redis-server', 'redis-server');

describe.skipIf(!hasRedis)('redis cluster (three masters)', () => {
  let cluster: RedisCluster;

  beforeAll(async () => {
    cluster = await startRedisCluster(3);
  });

  afterAll(async () => {
    await cluster?.cleanup();
  });

  describeConformance('redis cluster', async () => {
    for (const port of cluster.ports) await cluster.cli(port, 'flushall');
    const store = await openStore(cluster.url);
    return { store, cleanup: () => store.terminate() };
  }, { foldAtLeastOnce: 'SCAN may return a key twice while Redis rehashes (redis.ts)' });
});
