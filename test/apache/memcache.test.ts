/**
 * Apache httpd (mod_ssl + mod_socache_memcache) sharding its session cache over
 * two real memcached servers with apr-util's hash: sessctl finds every session
 * on the server Apache chose, lists them with the right summary, and Apache
 * resumes a session sessctl put back.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memcachedServerIndex } from '../../src/lib/store/apache.js';
import { requireTool, runCli, tempDir } from '../helpers/env.js';
import { sClient, startApache, startMemcached, type ApacheServer, type HandshakeResult, type MemcachedServer } from '../helpers/servers.js';

const hasServers = requireTool('apache2', 'apache2') && requireTool('memcached', 'memcached') && requireTool('openssl', 'openssl');

describe.skipIf(!hasServers)('Apache httpd with SSLSessionCache memcache: over two servers', () => {
  const servers: MemcachedServer[] = [];
  let apache: ApacheServer;
  let tmp: ReturnType<typeof tempDir>;
  let url: string;
  const sessions: { file: string; sni: string; handshake: HandshakeResult }[] = [];

  beforeAll(async () => {
    tmp = tempDir('sessctl-apache-memcache-');
    servers.push(await startMemcached(), await startMemcached());
    const list = servers.map((s) => `127.0.0.1:${s.port}`).join(',');
    url = `memcache://${list}`;
    apache = await startApache(`memcache:${list}`);
    for (let i = 0; i < 8; i++) {
      const sni = i % 2 === 0 ? 'www.example.test' : 'localhost';
      const file = path.join(tmp.dir, `s${i}.sess`);
      const handshake = await sClient(apache.port, { sni, sessOut: file });
      expect(handshake.kind).toBe('New');
      sessions.push({ file, sni, handshake });
    }
  });

  afterAll(async () => {
    await apache?.cleanup();
    for (const server of servers) await server.cleanup();
    tmp?.cleanup();
  });

  it('each session is on the server apr-util chose, and only there', async () => {
    const counts = [0, 0];
    for (const { handshake } of sessions) {
      const key = `mod_ssl-sess:${handshake.sessionId}`;
      const chosen = memcachedServerIndex(key, servers.length);
      counts[chosen]! += 1;
      for (const [i, server] of servers.entries()) {
        const reply = await server.raw(`get ${key}`, /END\r\n$/);
        expect(reply.startsWith(`VALUE ${key} `), `${key} on server ${i} (chosen: ${chosen})`).toBe(i === chosen);
      }
    }
    console.info(`sessions per memcached server: ${counts.join(', ')}`);
  });

  it('sessctl list shows every session with the SNI, cipher and protocol s_client saw', async () => {
    const r = await runCli(['list', '--store', url, '--json']);
    expect(r.code).toBe(0);
    const listed = JSON.parse(r.stdout) as { id: string; sni: string | null; cipher: string; protocol: string; expired: boolean }[];
    expect(listed.map((l) => l.id).sort()).toEqual(sessions.map((s) => s.handshake.sessionId).sort());
    for (const s of sessions) {
      expect(listed.find((l) => l.id === s.handshake.sessionId)).toMatchObject({ sni: s.sni, cipher: s.handshake.cipher, protocol: s.handshake.protocol, expired: false });
    }
  });

  it('get shows the master key; remove makes Apache do a full handshake; insert makes it resume again', async () => {
    const { file, sni, handshake } = sessions[3]!;
    const got = await runCli(['get', handshake.sessionId, '--store', url, '--json', '--show-secrets']);
    expect(got.code).toBe(0);
    expect((JSON.parse(got.stdout) as { masterKey: string }).masterKey.toLowerCase()).toBe(handshake.masterKey);

    expect((await sClient(apache.port, { sni, sessIn: file })).kind).toBe('Reused');
    const pem = await runCli(['get', handshake.sessionId, '--store', url, '--out', 'pem']);
    const saved = path.join(tmp.dir, 'saved.pem');
    writeFileSync(saved, pem.stdout, { mode: 0o600 });
    expect((await runCli(['remove', handshake.sessionId, '--store', url, '--yes'])).code).toBe(0);
    expect((await sClient(apache.port, { sni, sessIn: file })).kind).toBe('New');
    expect((await runCli(['insert', saved, '--store', url])).code).toBe(0);
    expect((await sClient(apache.port, { sni, sessIn: file })).kind).toBe('Reused');
  });
});
