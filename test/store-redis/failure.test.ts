/**
 * A Redis that is down, stalls or goes away mid-run: every operation fails
 * with one clear SessctlError within the timeout (never a hang), and an open
 * store works again once Redis is back, without being reopened.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessctlError } from '../../src/lib/errors.js';
import { openStore } from '../../src/lib/store/open.js';
import type { SessionStore } from '../../src/lib/store/types.js';
import { testEntry } from '../helpers/entries.js';
import { freePort, requireTool, runCli } from '../helpers/env.js';
import { startRedis, waitFor, type RedisServer } from '../helpers/servers.js';

const hasRedis = requireTool('redis-server', 'redis-server');
const SALT = 0xfa11;

describe.skipIf(!hasRedis)('Redis down, stalled, restarted', () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await startRedis();
  });

  afterAll(async () => {
    await redis?.cleanup();
  });

  it('opening a store where nothing listens fails at once with a clear message', async () => {
    const port = await freePort();
    const err = await openStore(`redis://127.0.0.1:${port}`, { timeoutMs: 2000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessctlError);
    expect((err as Error).message).toBe(`redis 127.0.0.1:${port} is not reachable (connection refused)`);
  });

  it('the CLI says so in one line and exits 1', async () => {
    const port = await freePort();
    const r = await runCli(['list', '--store', `redis://127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`redis 127.0.0.1:${port} is not reachable (connection refused)`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('a stalled server (SIGSTOP) gives a timeout error, not a hang', async () => {
    const store = await openStore(redis.url, { timeoutMs: 500 });
    try {
      await store.update(testEntry(1, { salt: SALT }));
      redis.pause();
      const err = await store.lookup(testEntry(1, { salt: SALT }).key).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SessctlError);
      expect((err as Error).message).toBe(`redis 127.0.0.1:${redis.port} is not answering (timed out after 0.5 s)`);
      const opening = await openStore(redis.url, { timeoutMs: 500 }).catch((e: unknown) => e);
      expect((opening as Error).message).toBe(`redis 127.0.0.1:${redis.port} is not answering (timed out after 0.5 s)`);
    } finally {
      redis.resume();
      await store.terminate();
    }
  });

  it('Redis stopped mid-run: operations fail fast; after a restart the same store works again', async () => {
    const store: SessionStore = await openStore(redis.url, { timeoutMs: 3000 });
    try {
      const e = testEntry(2, { salt: SALT });
      await store.update(e);
      await redis.stop();
      for (const op of [() => store.lookup(e.key), () => store.update(e), () => store.size(), () => store.foldl((_x, n: number) => n + 1, 0), () => store.counters()]) {
        const err = await (op() as Promise<unknown>).catch((x: unknown) => x);
        expect(err).toBeInstanceOf(SessctlError);
        expect((err as Error).message).toMatch(new RegExp(`^redis 127\\.0\\.0\\.1:${redis.port} is not reachable \\((connection lost|connection refused)\\)$`));
      }
      await redis.start();
      // ioredis reconnects in the background (backoff up to 2 s); the store object is the same.
      await waitFor('the store to work again', async () => (await store.size()) === 0, 10_000);
      await store.update(e);
      expect((await store.lookup(e.key))?.der.equals(e.der)).toBe(true);
    } finally {
      await store.terminate();
    }
  });
});
