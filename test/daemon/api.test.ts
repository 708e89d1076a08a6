/**
 * What the daemon adds beyond the SessionStore contract, against a daemon in
 * this process over `memory:` (a store that folds in insertion order, not key
 * order): paging, metrics, server-side flush, odd metadata in headers.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ringTag } from '../../src/lib/store/daemon-protocol.js';
import { startDaemon, type Daemon } from '../../src/lib/daemon/server.js';
import { MemoryStore } from '../../src/lib/store/memory.js';
import { DaemonStore } from '../../src/lib/store/daemon.js';
import { openStore } from '../../src/lib/store/open.js';
import type { SessionStore } from '../../src/lib/store/types.js';
import { testEntry } from '../helpers/entries.js';

const TOKEN = 'api-test-token-77e1';
const SALT = 0xa91;

let backing: MemoryStore;
let daemon: Daemon;
let store: SessionStore;

async function get(pathname: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`${daemon.url}${pathname}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return { status: res.status, body: await res.text() };
}

beforeAll(async () => {
  backing = new MemoryStore();
  daemon = await startDaemon({ store: backing, host: '127.0.0.1', port: 0, token: TOKEN, log: () => {} });
  store = await openStore(daemon.url, { token: TOKEN });
});

afterAll(async () => {
  await store?.terminate();
  await daemon?.close();
});

describe('daemon API', () => {
  it('pages in key order over an unordered store, each entry present throughout visited once despite inserts and deletes', async () => {
    const original = Array.from({ length: 60 }, (_, i) => testEntry(i, { salt: SALT }));
    for (const e of original) await backing.update(e);
    const doomed = new Set(original.slice(0, 5).map((e) => e.key));
    const seen: string[] = [];
    let cursor: string | null = null;
    let extra = 1000;
    do {
      const page = await get(`/v1/sessions?limit=7${cursor === null ? '' : `&cursor=${cursor}`}`);
      expect(page.status).toBe(200);
      const body = JSON.parse(page.body) as { entries: { key: string; der: string }[]; cursor: string | null };
      expect(body.entries.length).toBeLessThanOrEqual(7);
      for (const e of body.entries) seen.push(e.key);
      cursor = body.cursor;
      // Meanwhile: new sessions everywhere in the key space, and some old ones removed.
      for (let i = 0; i < 3; i++) await backing.update(testEntry(extra++, { salt: SALT }));
      for (const key of doomed) if (!seen.includes(key)) await backing.delete(key);
    } while (cursor !== null);
    expect([...seen].sort()).toEqual(seen);
    expect(new Set(seen).size).toBe(seen.length);
    for (const e of original) if (!doomed.has(e.key)) expect(seen).toContain(e.key);
  });

  it('carries metadata with any characters in a header (an ALPN id is arbitrary bytes)', async () => {
    const odd = { ...testEntry(1, { salt: SALT + 1, partialKey: 'bücher.example:443' }), alpn: '\u0000h2\u00ff\n', sni: 'xn--bcher-kva.example' };
    await store.update(odd);
    const got = await store.lookup(odd.key);
    expect(got?.alpn).toBe(odd.alpn);
    expect(got?.partialKey).toBe(odd.partialKey);
    expect((await store.selectSession('bücher.example:443')).map((e) => e.key)).toEqual([odd.key]);
  });

  it('serves Prometheus metrics: sessions, the store counters, requests by route', async () => {
    await store.lookup('00'.repeat(32));
    await store.addCounters({ hits: 3 });
    const metrics = await get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain(`sessctl_sessions ${await backing.size()}\n`);
    expect(metrics.body).toMatch(/^sessctl_cache_hits_total 3$/m);
    expect(metrics.body).toMatch(/^sessctl_http_requests_total\{route="lookup",method="GET",code="404"\} [1-9]/m);
    expect(metrics.body).toMatch(/^sessctl_http_request_duration_seconds_count\{route="lookup"\} [1-9]/m);
    expect(metrics.body).toMatch(/^# TYPE sessctl_http_request_duration_seconds histogram$/m);
  });

  it('PUT /v1/keyring with If-Match / If-None-Match: written only over the ring named, 412 otherwise, 400 for a malformed condition', async () => {
    const put = (body: Buffer, headers: Record<string, string> = {}) =>
      fetch(`${daemon.url}/v1/keyring`, { method: 'PUT', body, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/octet-stream', ...headers } });
    const first = Buffer.alloc(96, 1);
    const second = Buffer.alloc(96, 2);
    await backing.writeKeyRing(first);
    const got = await fetch(`${daemon.url}/v1/keyring`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const etag = got.headers.get('etag')!;
    expect(etag).toBe(ringTag(first));
    expect((await put(second, { 'if-none-match': '*' })).status).toBe(412);
    expect((await put(second, { 'if-match': ringTag(second) })).status).toBe(412);
    expect((await backing.readKeyRing())?.equals(first)).toBe(true);
    expect((await put(second, { 'if-match': etag })).status).toBe(204);
    expect((await backing.readKeyRing())?.equals(second)).toBe(true);
    for (const headers of [{ 'if-match': 'W/"x"' }, { 'if-none-match': '"abc"' }, { 'if-match': ringTag(second), 'if-none-match': '*' }]) {
      const res = await put(first, headers);
      expect(res.status, JSON.stringify(headers)).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('bad_request');
    }
    expect((await backing.readKeyRing())?.equals(second)).toBe(true);
  });

  it('counts requests with methods of its own invention as method="other", so they add no series', async () => {
    for (const method of ['BREW', 'WHEN', 'BREW']) {
      const res = await fetch(`${daemon.url}/v1/size`, { method, headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(405);
    }
    const metrics = await get('/metrics');
    expect(metrics.body).toMatch(/^sessctl_http_requests_total\{route="size",method="other",code="405"\} 3$/m);
    expect(metrics.body).not.toMatch(/BREW|WHEN/);
  });

  it('flushes next to the store', async () => {
    const now = Math.floor(Date.now() / 1000);
    await store.update(testEntry(7000, { salt: SALT, expiresAt: now - 10 }));
    const before = await store.size();
    const daemonStore = store as DaemonStore;
    expect(await daemonStore.flush({ dryRun: true })).toMatchObject({ removed: 1, dryRun: true });
    expect(await daemonStore.flush()).toMatchObject({ removed: 1, remaining: before - 1, dryRun: false });
    expect(await store.size()).toBe(before - 1);
  });

  it('answers unknown routes and methods with JSON errors', async () => {
    expect((await get('/v2/nothing')).status).toBe(404);
    const res = await fetch(`${daemon.url}/v1/size`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET');
    expect(await res.json()).toMatchObject({ error: { code: 'method_not_allowed' } });
  });

  it('closes connections beyond --max-connections as they arrive, and counts them', async () => {
    const events: string[] = [];
    const small = await startDaemon({ store: new MemoryStore(), host: '127.0.0.1', port: 0, token: TOKEN, limits: { maxConnections: 2 }, log: (e) => events.push(e.event) });
    const { port } = new URL(small.url);
    const open = async () => {
      const socket = net.connect(Number(port), '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      return socket;
    };
    const held = [await open(), await open()];
    try {
      // Let the server accept both before the third arrives.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const third = await open();
      await new Promise<void>((resolve) => third.once('close', () => resolve()));
      expect(events).toContain('connection_dropped');
      // The two held connections still work.
      held[0]!.write(`GET /v1/size HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
      const answer = await new Promise<string>((resolve) => held[0]!.once('data', (d: Buffer) => resolve(d.toString())));
      expect(answer).toMatch(/^HTTP\/1\.1 200/);
    } finally {
      for (const s of held) s.destroy();
      await small.close();
    }
  });
});
