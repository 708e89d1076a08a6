import { afterAll, beforeAll, describe } from 'vitest';
import { openStore } from '../../src/lib/store/open.js';
import { requireTool } from '../helpers/env.js';
import { startRedis, type RedisServer } from '../helpers/servers.js';
import { describeConformance } from './suite.js';

const hasRedis = requireTool('redis-server', 'redis-server');

describe.skipIf(!hasRedis)('redis (standalone)', () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await startRedis();
  });

  afterAll(async () => {
    await redis?.cleanup();
  });

  describeConformance('redis', async () => {
    await redis.cli('flushall');
    const store = await openStore(redis.url);
    return { store, cleanup: () => store.terminate() };
  }, { foldAtLeastOnce: 'SCAN may return a key twice while Redis rehashes (redis.ts)' });
});
