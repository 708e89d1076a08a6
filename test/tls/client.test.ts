/**
 * ClientSessionCache against `openssl s_server`: a Node client keeps the
 * sessions it receives in a store and resumes with them on the next
 * connection, through tls.connect and through an https.Agent.
 */
import https from 'node:https';
import type tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileStore } from '../../src/lib/store/file.js';
import { MemoryStore } from '../../src/lib/store/memory.js';
import { ClientSessionCache, partialKeyFor } from '../../src/lib/tls/client.js';
import { requireTool, tempDir } from '../helpers/env.js';
import { selfSigned, startSServer, type SServer } from './peers.js';

const HAS_OPENSSL = requireTool('openssl', 'openssl');

/** One request over `socket` (s_server -www answers and closes); resolves when it is closed. */
async function exchange(socket: tls.TLSSocket): Promise<{ reused: boolean; protocol: string | null }> {
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve());
    socket.once('error', reject);
  });
  const result = { reused: socket.isSessionReused(), protocol: socket.getProtocol() };
  socket.write('GET / HTTP/1.0\r\n\r\n');
  socket.resume();
  await new Promise((resolve) => socket.once('close', resolve));
  return result;
}

describe('partialKeyFor', () => {
  it('names the server by host:port, adding SNI and ALPN only where they matter', () => {
    expect(partialKeyFor({ host: 'Example.COM', port: 443 })).toBe('example.com:443');
    expect(partialKeyFor({ host: 'example.com', port: 443, servername: 'example.com' })).toBe('example.com:443');
    expect(partialKeyFor({ host: '10.0.0.1', port: 8443, servername: 'api.test' })).toBe('10.0.0.1:8443;sni=api.test');
    expect(partialKeyFor({ host: '::1', port: 443 })).toBe('[::1]:443');
    expect(partialKeyFor({ host: 'h', port: 1, ALPNProtocols: ['h2', 'http/1.1'] })).toBe('h:1;alpn=h2,http/1.1');
    expect(partialKeyFor({ host: 'h', port: 1, ALPNProtocols: Buffer.from('\x02h2\x08http/1.1', 'latin1') })).toBe('h:1;alpn=h2,http/1.1');
  });
});

describe.skipIf(!HAS_OPENSSL)('ClientSessionCache against openssl s_server', () => {
  const temp = tempDir('sessctl-tls-client-');
  const servers: SServer[] = [];
  let tls12: SServer;
  let tls12NoTicket: SServer;
  let tls13: SServer;

  beforeAll(async () => {
    const cert = await selfSigned(temp.dir);
    [tls12, tls12NoTicket, tls13] = await Promise.all([
      startSServer(cert, ['-tls1_2']),
      startSServer(cert, ['-tls1_2', '-no_ticket']),
      startSServer(cert, ['-tls1_3']),
    ]);
    servers.push(tls12, tls12NoTicket, tls13);
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    temp.cleanup();
  });

  const connectOptions = (port: number): tls.ConnectionOptions => ({ host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false });

  for (const [name, server] of [['TLS 1.2 with tickets', () => tls12], ['TLS 1.2 with session ids', () => tls12NoTicket]] as const) {
    it(`${name}: the second connection resumes the session kept in the cache file`, async () => {
      const store = await FileStore.open(`${temp.dir}/${name.replace(/\W+/g, '-')}.db`);
      const sessions = new ClientSessionCache(store);
      const first = await exchange(await sessions.connect(connectOptions(server().port)));
      expect(first).toEqual({ reused: false, protocol: 'TLSv1.2' });
      await sessions.settled();
      const key = partialKeyFor(connectOptions(server().port));
      expect((await store.selectSession(key)).map((e) => e.role)).toEqual(['client']);

      const second = await exchange(await sessions.connect(connectOptions(server().port)));
      expect(second.reused).toBe(true);
      await sessions.settled();
      expect(await store.counters()).toMatchObject({ hits: 1, misses: 1 });
      await store.terminate();
    });
  }

  it('a session the server does not resume is forgotten', async () => {
    const store = new MemoryStore();
    const sessions = new ClientSessionCache(store);
    await exchange(await sessions.connect(connectOptions(tls12NoTicket.port)));
    await sessions.settled();
    const [kept] = await store.selectSession(partialKeyFor(connectOptions(tls12NoTicket.port)));
    // Offer that session to a server that has never seen it, under the first server's partial key.
    await store.delete(kept!.key);
    await store.update({ ...kept!, partialKey: partialKeyFor(connectOptions(tls12.port)) });
    const elsewhere = await exchange(await sessions.connect(connectOptions(tls12.port)));
    expect(elsewhere.reused).toBe(false);
    await sessions.settled();
    expect(await store.lookup(kept!.key)).toBeUndefined();
  });

  it('TLS 1.3: sessions from the tickets resume, each offered once', async () => {
    const store = new MemoryStore();
    const sessions = new ClientSessionCache(store);
    const first = await exchange(await sessions.connect(connectOptions(tls13.port)));
    expect(first).toEqual({ reused: false, protocol: 'TLSv1.3' });
    await sessions.settled();
    const key = partialKeyFor(connectOptions(tls13.port));
    const before = (await store.selectSession(key)).map((e) => e.key);
    expect(before).toHaveLength(2); // OpenSSL sends two tickets after a full handshake

    const second = await exchange(await sessions.connect(connectOptions(tls13.port)));
    expect(second).toEqual({ reused: true, protocol: 'TLSv1.3' });
    await sessions.settled();
    // The offered ticket is used up; the other stays; the resumed connection brought a fresh one.
    const after = (await store.selectSession(key)).map((e) => e.key);
    expect(after.filter((k) => before.includes(k))).toHaveLength(1);
    expect(after.filter((k) => !before.includes(k)).length).toBeGreaterThanOrEqual(1);
  });

  it('a dead store costs the session, never the connection', async () => {
    const store = new MemoryStore();
    const lines: string[] = [];
    const sessions = new ClientSessionCache(store, { logger: (l) => lines.push(l) });
    await store.terminate();
    const r = await exchange(await sessions.connect(connectOptions(tls12.port)));
    expect(r).toEqual({ reused: false, protocol: 'TLSv1.2' });
    await sessions.settled();
    expect(sessions.storeErrors).toBeGreaterThanOrEqual(2); // the select, then the save
    expect(lines[0]).toMatch(/^session store failed \(selectSession on memory:\)/);
  });

  it('an https.Agent from the cache resumes on its second connection', async () => {
    const store = new MemoryStore();
    const sessions = new ClientSessionCache(store);
    const agent = sessions.agent({ rejectUnauthorized: false });
    const get = () =>
      new Promise<boolean>((resolve, reject) => {
        const req = https.get({ host: '127.0.0.1', port: tls12.port, path: '/', agent, servername: 'localhost' }, (res) => {
          const reused = (res.socket as tls.TLSSocket).isSessionReused();
          res.resume();
          res.on('end', () => resolve(reused));
        });
        req.on('error', reject);
      });
    expect(await get()).toBe(false);
    await sessions.settled();
    expect(await store.size()).toBe(1);
    expect(await get()).toBe(true);
    await sessions.settled();
    expect((await store.counters()).hits).toBe(1); // from the store: the agent's own cache is off
    agent.destroy();
  });
});
