/**
 * `stats` tells the servers' inserts and removals apart from an
 * administrator's (#15): sessctl insert, remove and flush count
 * admin_inserts / admin_removals, a server's update does not; on the cache
 * file, a real Redis and a real memcached.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/lib/store/open.js';
import { testEntry } from '../helpers/entries.js';
import { VECTORS, requireTool, runCli, tempDir } from '../helpers/env.js';
import { startMemcached, startRedis, type MemcachedServer, type RedisServer } from '../helpers/servers.js';

const PEMS = ['01-client-tls12-ecdhe-rsa-aes256gcm-sni-ticket', '07-server-tls12-dhe-rsa-aes128gcm-alpn'].map((n) => path.join(VECTORS, `${n}.pem`));
const IDS = ['f59379243e20337d14a6faa62341acd7f42016e59f6d940a45b9defe2f4187c8'];
const YEAR = ['--timeout', String(365 * 86400)];

const hasRedis = requireTool('redis-server', 'redis-server');
const hasMemcached = requireTool('memcached', 'memcached');
const tmp = tempDir('sessctl-admin-counters-');

describe('admin inserts and removals are counted apart from the servers\'', () => {
  let redis: RedisServer | undefined;
  let memcached: MemcachedServer | undefined;

  beforeAll(async () => {
    if (hasRedis) redis = await startRedis();
    if (hasMemcached) memcached = await startMemcached();
  });

  afterAll(async () => {
    await redis?.cleanup();
    await memcached?.cleanup();
    tmp.cleanup();
  });

  it.each<[string, () => string | undefined]>([
    ['the cache file', () => path.join(tmp.dir, 'sessions.db')],
    ['Redis', () => redis?.url],
    ['memcached', () => memcached && `memcache://127.0.0.1:${memcached.port}`],
  ])('%s', async (_name, url) => {
    const store = url();
    if (store === undefined) return;
    expect((await runCli(['insert', '--store', store, ...YEAR, ...PEMS])).code).toBe(0);
    // A server stores a session of its own (what the TLS integration and the daemon do).
    const server = await openStore(store, { onWarning: () => {} });
    await server.update(testEntry(1, { salt: 0xad17 }));
    await server.delete(testEntry(1, { salt: 0xad17 }).key);
    await server.update(testEntry(2, { salt: 0xad17 }));
    await server.terminate();
    expect((await runCli(['remove', IDS[0]!, '--store', store])).code).toBe(0);
    expect((await runCli(['flush', '--all', '--yes', '--store', store])).code).toBe(0);

    const r = await runCli(['stats', '--store', store, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const stats = JSON.parse(r.stdout);
    expect(stats.counters).toMatchObject({ inserts: 4, removals: 4, admin_inserts: 2, admin_removals: 3 });
    expect(stats.servers).toEqual({ inserts: 2, removals: 1 });
    const human = await runCli(['stats', '--store', store]);
    expect(human.stdout).toMatch(/\n\s+COUNTER\s+SERVERS\s+SESSCTL\n/);
    expect(human.stdout).toMatch(/\n\s+inserts\s+2\s+2\n\s+removals\s+1\s+3\n/);
  });
});
