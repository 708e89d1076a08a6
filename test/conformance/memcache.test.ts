import { afterAll, beforeAll, describe } from 'vitest';
import { openStore } from '../../src/lib/store/open.js';
import { requireTool } from '../helpers/env.js';
import { startMemcached, type MemcachedServer } from '../helpers/servers.js';
import { describeConformance } from './suite.js';

const hasMemcached = requireTool('memcached', 'memcached');

describe.skipIf(!hasMemcached)('memcached (two servers)', () => {
  const servers: MemcachedServer[] = [];

  beforeAll(async () => {
    servers.push(await startMemcached(), await startMemcached());
  });

  afterAll(async () => {
    for (const server of servers) await server.cleanup();
  });

  describeConformance('memcache', async () => {
    for (const server of servers) await server.raw('flush_all', /^OK\r\n/m);
    const store = await openStore(`memcache://${servers.map((s) => `127.0.0.1:${s.port}`).join(',')}`);
    return { store, cleanup: () => store.terminate() };
  });
});
