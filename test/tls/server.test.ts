/**
 * attachSessionCache on in-process tls and https servers, with `openssl
 * s_client` as the peer: expiry, eviction, session-id context checks and
 * ticket keys from the store's key ring.
 */
import { constants } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessctlError } from '../../src/lib/errors.js';
import { MemoryStore } from '../../src/lib/store/memory.js';
import { nowSeconds, type SessionStore } from '../../src/lib/store/types.js';
import { createRing, encodeRing } from '../../src/lib/tickets/ring.js';
import { SessionCache } from '../../src/lib/tls/cache.js';
import { ClientSessionCache } from '../../src/lib/tls/client.js';
import { attachSessionCache, storeTicketKeys, type AttachOptions, type AttachedSessionCache } from '../../src/lib/tls/server.js';
import { requireTool, tempDir } from '../helpers/env.js';
import { sClient, selfSigned } from './peers.js';

const HAS_OPENSSL = requireTool('openssl', 'openssl');
const sessionIdOnly = ['-tls1_2', '-no_ticket'];

describe.skipIf(!HAS_OPENSSL)('attachSessionCache', () => {
  const temp = tempDir('sessctl-tls-');
  const open: tls.Server[] = [];
  let credentials: { cert: Buffer; key: Buffer };

  beforeAll(async () => {
    const files = await selfSigned(temp.dir);
    credentials = { cert: readFileSync(files.cert), key: readFileSync(files.key) };
  });

  afterAll(async () => {
    await Promise.all(open.map((s) => new Promise((resolve) => s.close(resolve))));
    temp.cleanup();
  });

  async function serve(
    store: SessionStore | SessionCache,
    options: AttachOptions & { kind?: 'tls' | 'https'; server?: tls.TlsOptions } = {},
  ): Promise<{ port: number; attached: AttachedSessionCache; server: tls.Server }> {
    const serverOptions = { ...credentials, sessionIdContext: 'unit', maxVersion: 'TLSv1.2' as const, ...options.server };
    const server = options.kind === 'tls' ? tls.createServer(serverOptions, (s) => s.end('hi\n')) : https.createServer(serverOptions, (_, res) => res.end('hi\n'));
    const attached = attachSessionCache(server, store, { logger: () => {}, ...options });
    await attached.ready;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    open.push(server);
    return { port: (server.address() as AddressInfo).port, attached, server };
  }

  it('works on a plain tls.Server too', async () => {
    const store = new MemoryStore();
    const { port, attached } = await serve(store, { kind: 'tls' });
    const sess = path.join(temp.dir, 'plain.pem');
    expect((await sClient(port, [...sessionIdOnly, '-sess_out', sess])).outcome).toBe('New');
    expect((await sClient(port, [...sessionIdOnly, '-sess_in', sess])).outcome).toBe('Reused');
    await attached.settled();
    expect(await store.counters()).toMatchObject({ hits: 1, inserts: 1 });
  });

  it('does not resume an expired session and counts a timeout', async () => {
    const store = new MemoryStore();
    const clock = { offset: 0 };
    const { port, attached } = await serve(store, { now: () => nowSeconds() + clock.offset, server: { sessionTimeout: 300 } });
    const sess = path.join(temp.dir, 'expiring.pem');
    expect((await sClient(port, [...sessionIdOnly, '-sess_out', sess])).outcome).toBe('New');
    expect((await sClient(port, [...sessionIdOnly, '-sess_in', sess])).outcome).toBe('Reused');
    clock.offset = 301; // the server's sessionTimeout is 300 s
    expect((await sClient(port, [...sessionIdOnly, '-sess_in', sess])).outcome).toBe('New');
    await attached.settled();
    expect(await store.counters()).toMatchObject({ hits: 1, timeouts: 1 });
  });

  it('a full cache evicts a session, counts cache_full, and that session no longer resumes', async () => {
    const store = new MemoryStore();
    const { port, attached } = await serve(store, { maxSize: 2 });
    const files = ['full-1.pem', 'full-2.pem', 'full-3.pem'].map((f) => path.join(temp.dir, f));
    const ids: string[] = [];
    for (const file of files) {
      const r = await sClient(port, [...sessionIdOnly, '-sess_out', file]);
      expect(r.outcome).toBe('New');
      ids.push(r.sessionId!);
    }
    await attached.settled();
    expect(await store.size()).toBe(2);
    expect((await store.counters()).cache_full).toBe(1);
    const kept = await Promise.all(ids.map(async (id) => (await store.lookup(id)) !== undefined));
    expect(kept.filter(Boolean)).toHaveLength(2);
    // The newest session was just inserted: it is never the one evicted.
    expect(kept[2]).toBe(true);
    // Kept ones first: the evicted one's full handshake inserts (and evicts) again.
    const order = [...files.keys()].sort((i, j) => Number(kept[j]) - Number(kept[i]));
    for (const i of order) {
      expect((await sClient(port, [...sessionIdOnly, '-sess_in', files[i]!])).outcome).toBe(kept[i] ? 'Reused' : 'New');
    }
  });

  it('mode "both": one cache serves a server and a client in the same process without their entries colliding', async () => {
    const store = new MemoryStore();
    const cache = new SessionCache(store, { mode: 'both', logger: () => {} });
    const shared = await serve(cache, { kind: 'tls' }); // attachSessionCache takes a SessionCache too
    const client = new ClientSessionCache(cache);
    const options = { host: '127.0.0.1', port: shared.port, rejectUnauthorized: false, secureOptions: constants.SSL_OP_NO_TICKET };
    const reused: boolean[] = [];
    for (let i = 0; i < 2; i += 1) {
      const socket = await client.connect(options);
      await new Promise((resolve) => socket.once('secureConnect', resolve));
      reused.push(socket.isSessionReused());
      socket.destroy();
      await client.settled();
    }
    expect(reused).toEqual([false, true]);
    const roles = await store.foldl((e, acc: string[]) => [...acc, e.role], []);
    expect(roles.sort()).toEqual(['client', 'server']);
  });

  it("warns about Node's per-process default sessionIdContext, or refuses it when asked", () => {
    const lines: string[] = [];
    const server = https.createServer(credentials);
    attachSessionCache(server, new MemoryStore(), { logger: (l) => lines.push(l) });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/default sessionIdContext, which differs per process/);
    expect(() => attachSessionCache(server, new MemoryStore(), { requireSessionIdContext: true })).toThrow(SessctlError);

    const explicit: string[] = [];
    const good = https.createServer({ ...credentials, sessionIdContext: 'fleet' });
    attachSessionCache(good, new MemoryStore(), { requireSessionIdContext: true, sessionIdContext: 'fleet', logger: (l) => explicit.push(l) });
    expect(explicit).toEqual([]);
    expect(() => attachSessionCache(good, new MemoryStore(), { sessionIdContext: 'other' })).toThrow(/differs from the one the server was created with/);
    expect(() => attachSessionCache(good, new MemoryStore(), { sessionIdContext: 'x'.repeat(33) })).toThrow(/at most 32/);
  });

  it('ticketKeys: two servers reading the store’s key ring resume each other’s tickets', async () => {
    const store = new MemoryStore();
    await store.writeKeyRing(encodeRing(createRing(nowSeconds())));
    const one = await serve(store, { ticketKeys: storeTicketKeys(store) });
    const two = await serve(store, { ticketKeys: storeTicketKeys(store) });
    const alone = await serve(store);
    expect(one.attached.ticketKeyErrors).toBe(0);
    const sess = path.join(temp.dir, 'ticket.pem');
    expect((await sClient(one.port, ['-tls1_2', '-sess_out', sess])).outcome).toBe('New');
    expect((await sClient(two.port, ['-tls1_2', '-sess_in', sess])).outcome).toBe('Reused');
    expect((await sClient(alone.port, ['-tls1_2', '-sess_in', sess])).outcome).toBe('New');
    // A ticket resumption never reaches the store.
    expect((await store.counters()).hits).toBe(0);
  });

  // What docs/TLS13.md says, pinned down: if a Node release changes it, this fails and the page must change.
  it('TLS 1.3 on Node 20: tickets resume across servers sharing ticket keys; stateful sessions never resume from the store', async () => {
    const store = new MemoryStore();
    await store.writeKeyRing(encodeRing(createRing(nowSeconds())));
    const tls13 = { maxVersion: 'TLSv1.3' as const, minVersion: 'TLSv1.3' as const };
    const one = await serve(store, { ticketKeys: storeTicketKeys(store), server: tls13 });
    const two = await serve(store, { ticketKeys: storeTicketKeys(store), server: tls13 });
    const ticket = path.join(temp.dir, 'tls13-ticket.pem');
    expect((await sClient(one.port, ['-tls1_3', '-sess_out', ticket], 500)).outcome).toBe('New');
    expect((await sClient(two.port, ['-tls1_3', '-sess_in', ticket], 500)).outcome).toBe('Reused');

    // Tickets off: OpenSSL makes stateful TLS 1.3 sessions and Node emits
    // 'newSession' for them, but never asks 'resumeSession' for the PSK.
    const stateful = await serve(store, { saveTls13Sessions: true, server: { ...tls13, secureOptions: constants.SSL_OP_NO_TICKET } });
    const sess = path.join(temp.dir, 'tls13-stateful.pem');
    const sizeBefore = await store.size();
    expect((await sClient(stateful.port, ['-tls1_3', '-sess_out', sess], 500)).outcome).toBe('New');
    expect(await store.size()).toBeGreaterThan(sizeBefore);
    expect((await sClient(stateful.port, ['-tls1_3', '-sess_in', sess], 500)).outcome).toBe('New');
    await stateful.attached.settled();
    expect((await store.counters()).hits).toBe(0);
  });

  it('ticketKeys: a bad key is refused with one line and the server keeps working', async () => {
    const lines: string[] = [];
    const { port, attached } = await serve(new MemoryStore(), { ticketKeys: async () => Buffer.alloc(80), logger: (l) => lines.push(l) });
    expect(attached.ticketKeyErrors).toBe(1);
    expect(lines).toEqual(['ticket keys not updated, keeping the current ones: expected 48 bytes, got 80']);
    expect((await sClient(port, ['-tls1_2'])).outcome).toBe('New');
  });
});
