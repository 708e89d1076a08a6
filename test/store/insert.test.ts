/**
 * `insert` the same way on every backend (#15): an expired session is
 * skipped with a line saying so (not kept for 5 minutes by Redis and for
 * ever by the cache file); into the cache file an insert is all or nothing,
 * also when the disk fills (a real tmpfs); elsewhere a failure names how many
 * sessions were written before it (a real Redis at its memory limit).
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { derWithSessionId, loadVector, sessionId } from '../helpers/entries.js';
import { VECTORS, requireTool, runCli, tempDir } from '../helpers/env.js';
import { startMemcached, startRedis, type MemcachedServer, type RedisServer } from '../helpers/servers.js';

const EXPIRED = path.join(VECTORS, '01-client-tls12-ecdhe-rsa-aes256gcm-sni-ticket.pem');
const EXPIRED_ID = 'f59379243e20337d14a6faa62341acd7f42016e59f6d940a45b9defe2f4187c8';
const LIVE = path.join(VECTORS, '07-server-tls12-dhe-rsa-aes128gcm-alpn.pem');
/** The vectors' lifetimes have passed: a year from their start makes them live. */
const YEAR = ['--timeout', String(365 * 86400)];

const hasRedis = requireTool('redis-server', 'redis-server');
const hasMemcached = requireTool('memcached', 'memcached');
const tmp = tempDir('sessctl-insert-');

/** One PEM file holding `count` sessions, each under its own session id. */
function manySessions(file: string, count: number, salt: number): string {
  const vector = loadVector('07-server-tls12-dhe-rsa-aes128gcm-alpn');
  const blocks: string[] = [];
  for (let i = 0; i < count; i++) {
    const der = derWithSessionId(vector, sessionId(i, salt));
    blocks.push(`-----BEGIN SSL SESSION PARAMETERS-----\n${der.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END SSL SESSION PARAMETERS-----\n`);
  }
  writeFileSync(file, blocks.join(''));
  return file;
}

async function listIds(store: string): Promise<string[]> {
  const r = await runCli(['list', '--store', store, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { id: string }[]).map((s) => s.id);
}

describe('an expired session is skipped with a line saying so, on every backend', () => {
  let redis: RedisServer | undefined;
  let memcached: MemcachedServer | undefined;

  beforeAll(async () => {
    if (hasRedis) redis = await startRedis();
    if (hasMemcached) memcached = await startMemcached();
  });

  afterAll(async () => {
    await redis?.cleanup();
    await memcached?.cleanup();
  });

  const backends: [string, () => string | undefined][] = [
    ['the cache file', () => path.join(tmp.dir, 'expired.db')],
    ['Redis', () => redis?.url],
    ['memcached', () => memcached && `memcache://127.0.0.1:${memcached.port}`],
  ];

  it.each(backends)('%s', async (_name, url) => {
    const store = url();
    if (store === undefined) return;
    const r = await runCli(['insert', '--store', store, EXPIRED]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(
      `skipped ${EXPIRED_ID}: expired at 2026-11-22T00:33:31Z, no server would resume it (--keep-expired inserts it anyway)\n` +
        `0 sessions inserted into ${store}; 1 expired, skipped\n`,
    );
    expect(await listIds(store)).toEqual([]);
    const live = await runCli(['insert', '--store', store, ...YEAR, EXPIRED]);
    expect(live.stdout).toMatch(/\n1 session inserted into /);
    await runCli(['flush', '--all', '--yes', '--store', store]);
    const json = await runCli(['insert', '--store', store, EXPIRED, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ inserted: [], skipped: [{ id: EXPIRED_ID, reason: 'expired', expired: true }] });
    const kept = await runCli(['insert', '--store', store, '--keep-expired', EXPIRED]);
    expect(kept.code, kept.stderr).toBe(0);
    expect(await listIds(store)).toContain(EXPIRED_ID);
  });
});

describe.skipIf(!hasRedis)('a Redis that fails part-way through an insert', () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await startRedis();
  });

  afterAll(async () => {
    await redis?.cleanup();
  });

  it('names how many of the sessions were inserted before it failed (the count Redis holds)', async () => {
    const file = manySessions(path.join(tmp.dir, 'many-redis.pem'), 3000, 0x0f0f);
    // noeviction: at the memory limit Redis refuses writes ("OOM command not allowed").
    await redis.cli('config', 'set', 'maxmemory-policy', 'noeviction');
    const used = Number(/used_memory:(\d+)/.exec(await redis.cli('info', 'memory'))![1]);
    await redis.cli('config', 'set', 'maxmemory', String(used + 1024 * 1024));
    const r = await runCli(['insert', '--store', redis.url, ...YEAR, file], { timeoutMs: 120_000 });
    expect(r.code).toBe(1);
    const m = /^sessctl: (\d+) of 3000 sessions inserted before it failed: redis 127\.0\.0\.1:\d+: .*(OOM|EXECABORT).*\n$/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    const written = Number(m![1]);
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThan(3000);
    const stored = (await redis.cli('--scan', '--pattern', 'mod_ssl-sess:*')).trim().split('\n').filter(Boolean).length;
    expect(stored).toBe(written);
  }, 180_000);
});

/** A tmpfs of `size` at a fresh mount point, or undefined when this user cannot mount one. */
function mountTmpfs(size: string): { dir: string; unmount: () => void } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const dir = path.join(tmp.dir, `tmpfs-${size}`);
  mkdirSync(dir);
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  return { dir, unmount: () => execFileSync('umount', [dir]) };
}

describe.skipIf(process.getuid?.() !== 0)('the cache file on a full disk (a 1 MiB tmpfs; root only)', () => {
  let fs: { dir: string; unmount: () => void } | undefined;

  beforeAll(() => {
    fs = mountTmpfs('1m');
  });

  afterAll(() => {
    fs?.unmount();
    tmp.cleanup();
  });

  it('an insert is all or nothing: the disk fills, nothing is inserted, and it says so', async () => {
    const store = path.join(fs!.dir, 'sessions.db');
    const first = await runCli(['insert', '--store', store, ...YEAR, LIVE]);
    expect(first.code, first.stderr).toBe(0);
    const file = manySessions(path.join(tmp.dir, 'many-file.pem'), 5000, 0x5000);
    const r = await runCli(['insert', '--store', store, ...YEAR, file], { timeoutMs: 120_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`sessctl: nothing inserted: session cache ${store}: the disk is full\n`);
    expect(await listIds(store)).toHaveLength(1);
  }, 180_000);

  it('flush and remove on a full disk say how many sessions went before it filled, and that many are gone', async () => {
    const disk = mountTmpfs('2m')!;
    try {
      const store = path.join(disk.dir, 'sessions.db');
      const file = manySessions(path.join(tmp.dir, 'some.pem'), 1500, 0x1500);
      expect((await runCli(['insert', '--store', store, ...YEAR, file], { timeoutMs: 120_000 })).code).toBe(0);
      const ids = await listIds(store);
      expect(ids).toHaveLength(1500);
      // A server holding the file open keeps its -shm (which a new connection could no
      // longer create); its -wal is emptied, so the next write needs new space.
      const server = new Database(store);
      server.pragma('wal_checkpoint(TRUNCATE)');
      fillDisk(path.join(disk.dir, 'filler'));

      const remove = await runCli(['remove', ids[0]!, ids[1]!, '--yes', '--store', store]);
      expect(remove.code).toBe(1);
      const gone = /^sessctl: (\d) of 2 sessions removed before it failed: session cache .*: the disk is full\n$/.exec(remove.stderr);
      expect(gone, remove.stderr).not.toBeNull();
      const flush = await runCli(['flush', '--all', '--yes', '--store', store], { timeoutMs: 120_000 });
      expect(flush.code).toBe(1);
      const flushed = /^sessctl: (\d+) sessions? removed before it failed: session cache .*: the disk is full\n$/.exec(flush.stderr);
      expect(flushed, flush.stderr).not.toBeNull();
      expect(await listIds(store)).toHaveLength(1500 - Number(gone![1]) - Number(flushed![1]));
      server.close();
    } finally {
      disk.unmount();
    }
  }, 240_000);
});

/** Write zeros to `file` until the file system is full. */
function fillDisk(file: string): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(4096);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}
