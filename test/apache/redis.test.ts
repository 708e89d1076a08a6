/**
 * Apache httpd (Debian's apache2, mod_ssl + mod_socache_redis) shares its
 * session cache through a real Redis; sessctl lists, reads, removes and puts
 * back exactly the sessions Apache stored, and Apache resumes what sessctl
 * puts back. openssl s_client plays the client.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool, runCli, tempDir } from '../helpers/env.js';
import { sClient, startApache, startRedis, type ApacheServer, type HandshakeResult, type RedisServer } from '../helpers/servers.js';

const hasServers = requireTool('apache2', 'apache2') && requireTool('redis-server', 'redis-server') && requireTool('openssl', 'openssl');

interface ListedSession {
  id: string;
  protocol: string;
  cipher: string;
  sni: string | null;
  role: string;
  expired: boolean;
}

describe.skipIf(!hasServers)('Apache httpd with SSLSessionCache redis:', () => {
  let redis: RedisServer;
  let apache: ApacheServer;
  let tmp: ReturnType<typeof tempDir>;
  let url: string;
  const sessions: { file: string; sni: string; handshake: HandshakeResult }[] = [];

  beforeAll(async () => {
    tmp = tempDir('sessctl-apache-redis-');
    redis = await startRedis();
    url = redis.url;
    apache = await startApache(`redis:127.0.0.1:${redis.port}`);
    for (const sni of ['www.example.test', 'localhost']) {
      const file = path.join(tmp.dir, `${sni}.sess`);
      const handshake = await sClient(apache.port, { sni, sessOut: file });
      expect(handshake.kind).toBe('New');
      sessions.push({ file, sni, handshake });
    }
  });

  afterAll(async () => {
    await apache?.cleanup();
    await redis?.cleanup();
    tmp?.cleanup();
  });

  it("stores each session under mod_ssl-sess:<lowercase hex id> with a TTL, as Apache's layout says", async () => {
    const keys = (await redis.cli('--scan', '--pattern', 'mod_ssl-sess:*')).trim().split('\n').sort();
    expect(keys).toEqual(sessions.map((s) => `mod_ssl-sess:${s.handshake.sessionId}`).sort());
    for (const s of sessions) {
      const ttl = Number((await redis.cli('ttl', `mod_ssl-sess:${s.handshake.sessionId}`)).trim());
      expect(ttl).toBeGreaterThan(250);
      expect(ttl).toBeLessThanOrEqual(300);
    }
  });

  it('sessctl list shows every session Apache stored, with the SNI, cipher and protocol s_client saw', async () => {
    const r = await runCli(['list', '--store', url, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const listed = JSON.parse(r.stdout) as ListedSession[];
    expect(listed).toHaveLength(sessions.length);
    for (const s of sessions) {
      const found = listed.find((l) => l.id === s.handshake.sessionId);
      expect(found).toMatchObject({ sni: s.sni, cipher: s.handshake.cipher, protocol: s.handshake.protocol, role: 'server', expired: false });
    }
  });

  it('sessctl get --show-secrets of the id s_client saved shows the same master key', async () => {
    const { handshake } = sessions[0]!;
    const r = await runCli(['get', handshake.sessionId, '--store', url, '--json', '--show-secrets']);
    expect(r.code).toBe(0);
    const got = JSON.parse(r.stdout) as { masterKey: string; sni: string };
    expect(got.masterKey.toLowerCase()).toBe(handshake.masterKey);
    expect(handshake.masterKey).toMatch(/^[0-9a-f]{96}$/);
  });

  it('Apache resumes from Redis; after sessctl remove it cannot; after sessctl insert of its own DER it resumes again', async () => {
    const { file, handshake, sni } = sessions[1]!;
    expect((await sClient(apache.port, { sni, sessIn: file })).kind).toBe('Reused');

    // Keep the DER Apache stored, then remove it.
    const pem = await runCli(['get', handshake.sessionId, '--store', url, '--out', 'pem']);
    expect(pem.code).toBe(0);
    expect(pem.stdout).toContain('-----BEGIN SSL SESSION PARAMETERS-----');
    const saved = path.join(tmp.dir, 'saved', 'apache-session.pem');
    mkdirSync(path.dirname(saved), { recursive: true });
    writeFileSync(saved, pem.stdout, { mode: 0o600 });

    const removed = await runCli(['remove', handshake.sessionId, '--store', url, '--yes']);
    expect(removed.code).toBe(0);
    expect((await redis.cli('exists', `mod_ssl-sess:${handshake.sessionId}`)).trim()).toBe('0');
    expect((await sClient(apache.port, { sni, sessIn: file })).kind).toBe('New');

    const inserted = await runCli(['insert', saved, '--store', url]);
    expect(inserted.code).toBe(0);
    expect((await sClient(apache.port, { sni, sessIn: file })).kind).toBe('Reused');
    // Still Apache's layout: the DER alone under Apache's key, with a lifetime.
    expect(Number((await redis.cli('ttl', `mod_ssl-sess:${handshake.sessionId}`)).trim())).toBeGreaterThan(0);
  });
});
