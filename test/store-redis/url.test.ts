/**
 * Every part of a Redis URL is used or refused (#15): the database in the URL
 * is the one written and read, one that cannot be selected is a one-line error
 * before anything is written, and credentials or parameters Redis would
 * quietly drop are refused.
 */
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SessctlError } from '../../src/lib/errors.js';
import { parseRedisUrl } from '../../src/lib/store/redis.js';
import { openStore } from '../../src/lib/store/open.js';
import { VECTORS, requireTool, runCli } from '../helpers/env.js';
import { startRedis, type RedisServer } from '../helpers/servers.js';

const hasRedis = requireTool('redis-server', 'redis-server');
const PEM = path.join(VECTORS, '01-client-tls12-ecdhe-rsa-aes256gcm-sni-ticket.pem');
const KEY = 'mod_ssl-sess:f59379243e20337d14a6faa62341acd7f42016e59f6d940a45b9defe2f4187c8';
/** The example session's own lifetime has passed: give it a year from its start so it is live. */
const LIVE = ['--timeout', String(365 * 86400)];

describe('parseRedisUrl refuses what Redis would silently drop', () => {
  it.each([
    ['redis://bob@h:1', /a Redis user needs a password: redis:\/\/bob:PASSWORD@HOST:PORT/],
    ['redis://h:1/1e1', /bad Redis database "1e1"/],
    ['redis://h:1/ 1', /bad Redis database/],
    ['redis://h:1?prefix=a:&prefix=b:', /"prefix" is given twice/],
    ['redis://h:1?cluster=banana', /cluster=banana: use cluster=1 or cluster=0/],
    ['redis://a:1,b:2?cluster=0', /several Redis hosts \(a:1,b:2\) make a cluster/],
  ])('%s', (url, message) => {
    const err = (() => {
      try {
        parseRedisUrl(url);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(SessctlError);
    expect((err as SessctlError).exit).toBe(2);
    expect((err as Error).message).toMatch(message);
  });

  it('still takes the forms that mean something', () => {
    expect(parseRedisUrl('redis://bob:@h:1')).toMatchObject({ username: 'bob', password: '' });
    expect(parseRedisUrl('redis://h:1?cluster=0')).toMatchObject({ cluster: false });
    expect(parseRedisUrl('redis://h:1/15')).toMatchObject({ db: 15 });
  });
});

describe.skipIf(!hasRedis)('the Redis database and password in the URL, on a real server', () => {
  let redis: RedisServer;

  beforeAll(async () => {
    redis = await startRedis();
  });

  afterAll(async () => {
    await redis?.cleanup();
  });

  beforeEach(async () => {
    await redis.cli('flushall');
  });

  it('insert into /3 writes database 3 (not 0), and list /3 reads it back', async () => {
    const url = `${redis.url}/3`;
    const r = await runCli(['insert', '--store', url, ...LIVE, PEM]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect((await redis.cli('-n', '3', 'exists', KEY)).trim()).toBe('1');
    expect((await redis.cli('-n', '0', 'dbsize')).trim()).toBe('0');
    const listed = await runCli(['list', '--store', url, '--json']);
    expect(JSON.parse(listed.stdout).map((s: { id: string }) => s.id)).toEqual([KEY.slice('mod_ssl-sess:'.length)]);
    const db0 = await runCli(['list', '--store', redis.url, '--json']);
    expect(JSON.parse(db0.stdout)).toEqual([]);
  });

  it('a database Redis does not have is one line, exit 1, and nothing is written anywhere', async () => {
    const r = await runCli(['insert', '--store', `${redis.url}/99`, ...LIVE, PEM]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`sessctl: redis 127.0.0.1:${redis.port} has no database 99 (DB index is out of range): check the /DB in the URL\n`);
    expect((await redis.cli('info', 'keyspace')).trim()).toBe('# Keyspace');
    const list = await runCli(['list', '--store', `${redis.url}/99`]);
    expect(list.code).toBe(1);
    expect(list.stderr).not.toMatch(/SELECT/);
  });

  it('a password for a server that has none is refused, not dropped', async () => {
    const err = await openStore(`redis://:pw@127.0.0.1:${redis.port}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessctlError);
    expect((err as Error).message).toBe(`redis 127.0.0.1:${redis.port} has no password set, but the URL gives one: drop it from the URL, or check that this is the right server`);
  });
});
