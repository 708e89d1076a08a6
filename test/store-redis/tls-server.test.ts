/**
 * A Node.js TLS server whose session cache is Redis (attachSessionCache):
 * while Redis is down it keeps completing handshakes (full ones, at once,
 * not after a hang), and once Redis is back it resumes sessions again,
 * with the same store object.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/lib/store/open.js';
import type { SessionStore } from '../../src/lib/store/types.js';
import { attachSessionCache } from '../../src/lib/tls/index.js';
import { requireTool, tempDir } from '../helpers/env.js';
import { makeCertificate, sClient, startRedis, waitFor, type RedisServer } from '../helpers/servers.js';

const hasTools = requireTool('redis-server', 'redis-server') && requireTool('openssl', 'openssl');

describe.skipIf(!hasTools)('Node TLS server on a Redis session cache, Redis stopped mid-run', () => {
  let redis: RedisServer;
  let store: SessionStore;
  let server: tls.Server;
  let port: number;
  let tmp: ReturnType<typeof tempDir>;
  const logged: string[] = [];

  beforeAll(async () => {
    tmp = tempDir('sessctl-tls-redis-');
    redis = await startRedis();
    store = await openStore(redis.url, { timeoutMs: 1000 });
    const { cert, key } = makeCertificate(tmp.dir, ['localhost']);
    server = tls.createServer({ cert: readFileSync(cert), key: readFileSync(key), sessionIdContext: 'sessctl-test', maxVersion: 'TLSv1.2' }, (socket) => socket.end());
    attachSessionCache(server, store, { sessionIdContext: 'sessctl-test', storeTimeoutMs: 1000, logger: (line) => logged.push(line) });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await store?.terminate();
    await redis?.cleanup();
    tmp?.cleanup();
  });

  const handshake = (name: string, sessIn?: string) =>
    sClient(port, { sni: 'localhost', extra: ['-no_ticket'], sessOut: path.join(tmp.dir, name), ...(sessIn ? { sessIn: path.join(tmp.dir, sessIn) } : {}) });

  it('resumes through Redis; with Redis down handshakes still complete (full); after Redis is back it resumes again', async () => {
    const first = await handshake('a.sess');
    expect(first.kind).toBe('New');
    expect((await redis.cli('exists', `mod_ssl-sess:${first.sessionId}`)).trim()).toBe('1');
    expect((await handshake('a2.sess', 'a.sess')).kind).toBe('Reused');

    await redis.stop();
    const started = Date.now();
    expect((await handshake('b.sess', 'a.sess')).kind).toBe('New');
    expect((await handshake('c.sess')).kind).toBe('New');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(logged.join('\n')).toMatch(/not reachable|not answering/);

    await redis.start();
    await waitFor('the store to reconnect', async () => (await store.size()) === 0, 10_000);
    const fresh = await handshake('d.sess');
    expect(fresh.kind).toBe('New');
    await waitFor('the session to reach Redis', async () => (await redis.cli('exists', `mod_ssl-sess:${fresh.sessionId}`)).trim() === '1');
    expect((await handshake('d2.sess', 'd.sess')).kind).toBe('Reused');
  });
});
