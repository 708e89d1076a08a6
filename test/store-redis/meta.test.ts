/**
 * What sessctl keeps in Redis besides mod_ssl's keys (README "Redis: what
 * sessctl writes"): the per-session metadata hash expires with its session,
 * `flush --all` leaves none behind, only the counters, and `update` replaces
 * an entry, its metadata and the partial key it held in one transaction.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metaKey } from '../../src/lib/store/redis.js';
import { openStore } from '../../src/lib/store/open.js';
import { nowSeconds } from '../../src/lib/store/types.js';
import { testEntry } from '../helpers/entries.js';
import { requireTool, runCli } from '../helpers/env.js';
import { startRedis, waitFor, type RedisServer } from '../helpers/servers.js';

const hasRedis = requireTool('redis-server', 'redis-server');
const SALT = 0x3e7a;

describe.skipIf(!hasRedis)("sessctl's own Redis keys", () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await startRedis();
  });

  afterAll(async () => {
    await redis?.cleanup();
  });

  const scan = async (pattern: string) => (await redis.cli('--scan', '--pattern', pattern)).trim().split('\n').filter(Boolean).sort();

  it('flush --all removes every session, its metadata and its place in a client set; the counters stay', async () => {
    const store = await openStore(redis.url);
    try {
      for (let i = 2; i < 6; i++) await store.update(testEntry(i, { salt: SALT, expiresAt: nowSeconds() + 600 }));
      await store.update(testEntry(6, { salt: SALT, expiresAt: nowSeconds() + 600, role: 'client', partialKey: 'b.test:443' }));
    } finally {
      await store.terminate();
    }
    expect(await scan('sessctl:meta:*')).toHaveLength(5);
    expect(await scan('sessctl:*client*')).toEqual(['sessctl:mod_ssl-sess:client:b.test:443']);
    const r = await runCli(['flush', '--all', '--yes', '--store', redis.url]);
    expect(r.code, r.stderr).toBe(0);
    expect(await scan('mod_ssl-sess:*')).toEqual([]);
    expect(await scan('sessctl:meta:*')).toEqual([]);
    expect(await scan('sessctl:*')).toEqual(['sessctl:mod_ssl-sess:counters']);
  });

  it('the metadata hash has the TTL of its session, follows a replacement, and goes when the session expires', async () => {
    const store = await openStore(redis.url);
    try {
      const entry = testEntry(1, { salt: SALT, expiresAt: nowSeconds() + 600, partialKey: 'a.test:443', role: 'client' });
      await store.update(entry);
      const key = `mod_ssl-sess:${entry.key}`;
      const ttl = async (k: string) => Number((await redis.cli('ttl', k)).trim());
      expect(Math.abs((await ttl(metaKey(key))) - (await ttl(key)))).toBeLessThanOrEqual(1);
      // Replaced with a lifetime of 2 s: both keys follow, and both go.
      await store.update({ ...entry, expiresAt: nowSeconds() + 2 });
      expect(await ttl(metaKey(key))).toBeLessThanOrEqual(2);
      await waitFor('the session and its metadata to expire', async () => (await redis.cli('exists', key, metaKey(key))).trim() === '0', 10_000);
    } finally {
      await store.terminate();
    }
  });

  it('update reads the partial key it replaces and writes the entry and its metadata in one MULTI (seen by MONITOR), and moves the session between client sets', async () => {
    const store = await openStore(redis.url);
    const monitor = spawn('redis-cli', ['-p', String(redis.port), 'monitor'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let seen = '';
    monitor.stdout.setEncoding('utf8').on('data', (chunk: string) => (seen += chunk));
    try {
      await waitFor('MONITOR to start', () => seen.startsWith('OK'));
      const entry = testEntry(7, { salt: SALT, expiresAt: nowSeconds() + 600, role: 'client', partialKey: 'old.test:443' });
      await store.update(entry);
      await store.update({ ...entry, partialKey: 'new.test:443' });
      await waitFor('both updates in the MONITOR output', () => seen.toLowerCase().split('"exec"').length - 1 >= 2);
    } finally {
      monitor.kill();
      await store.terminate();
    }
    // Each line: <time> [<db> <client>] "command" "arg" ...: the command names, in order.
    const commands = seen.split('\n').map((line) => /\] "([^"]+)"(?: "([^"]*)")?/.exec(line)).filter((m) => m !== null).map((m) => ({ name: m[1]!.toLowerCase(), key: m[2] ?? '' }));
    const multis = commands.map((c, i) => (c.name === 'multi' ? i : -1)).filter((i) => i >= 0);
    expect(multis).toHaveLength(2);
    const key = `mod_ssl-sess:${testEntry(7, { salt: SALT }).key}`;
    for (const start of multis) {
      const end = commands.findIndex((c, i) => i > start && c.name === 'exec');
      const inside = commands.slice(start + 1, end);
      // The read of the partial key it replaces is inside the transaction, before the writes; on one
      // server the insert is counted in it too (a fold looks for metadata only once the counters exist).
      expect(inside.map((c) => `${c.name} ${c.key}`)).toEqual([`hget ${metaKey(key)}`, `setex ${key}`, `del ${metaKey(key)}`, `hset ${metaKey(key)}`, `expire ${metaKey(key)}`, 'hincrby sessctl:mod_ssl-sess:counters']);
    }
    // Nothing reads the metadata outside a transaction.
    const outside = commands.filter((c, i) => c.name === 'hget' && !multis.some((s) => i > s && i < commands.findIndex((d, j) => j > s && d.name === 'exec')));
    expect(outside).toEqual([]);
    expect(await scan('sessctl:*client:old*')).toEqual([]);
    expect((await redis.cli('zrange', 'sessctl:mod_ssl-sess:client:new.test:443', '0', '-1')).trim()).toBe(testEntry(7, { salt: SALT }).key);
  });
});
