/**
 * The cache logic (src/lib/tls/cache.ts) over a real memory: store: hits,
 * misses, timeouts, eviction, auto-clear, modes, and the handshake path
 * surviving a dead or silent store. The clock is the test's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeSession, encodeSession } from '../../src/lib/session/codec.js';
import { SessionCache, sessionIdContextOf, type CacheOptions } from '../../src/lib/tls/cache.js';
import { FileStore } from '../../src/lib/store/file.js';
import { MemoryStore } from '../../src/lib/store/memory.js';
import type { SessionStore } from '../../src/lib/store/types.js';
import { CLIENT_TLS12, CLIENT_TLS13, SERVER_TLS12, makeSession, masterKeyHex } from './sessions.js';

const T0 = 1_800_000_000;

function setup(options: CacheOptions = {}, store: SessionStore = new MemoryStore()) {
  const clock = { now: T0 };
  const lines: string[] = [];
  const cache = new SessionCache(store, { mode: 'both', now: () => clock.now, logger: (l) => lines.push(l), ...options });
  return { store, cache, clock, lines };
}

describe('server role', () => {
  it('resumes a saved session and counts a hit; an unknown id is a miss', async () => {
    const { store, cache } = setup();
    const s = makeSession(SERVER_TLS12, 1, { time: T0, timeout: 300 });
    await cache.saveServerSession(s.id, s.der);
    expect((await cache.findServerSession(s.id))?.equals(s.der)).toBe(true);
    expect(await cache.findServerSession(makeSession(SERVER_TLS12, 2, { time: T0 }).id)).toBeUndefined();
    await cache.settled();
    expect(await store.counters()).toMatchObject({ hits: 1, misses: 1, timeouts: 0, inserts: 1 });
    expect((await store.lookup(s.id.toString('hex')))?.role).toBe('server');
  });

  it('writes counters in batches: one addCounters for many handshakes, at once on settled()', async () => {
    const { store, cache } = setup({ countersFlushMs: 60_000 });
    let writes = 0;
    const add = store.addCounters.bind(store);
    store.addCounters = (delta) => ((writes += 1), add(delta));
    const s = makeSession(SERVER_TLS12, 1, { time: T0 });
    await cache.saveServerSession(s.id, s.der);
    for (let i = 0; i < 5; i += 1) await cache.findServerSession(s.id);
    await cache.findServerSession(makeSession(SERVER_TLS12, 2, { time: T0 }).id);
    expect((await store.counters()).hits).toBe(0);
    await cache.settled();
    expect(writes).toBe(1);
    expect(await store.counters()).toMatchObject({ hits: 5, misses: 1 });
  });

  it('does not resume an expired session: counts a timeout (not a miss) and removes it', async () => {
    const { store, cache, clock } = setup();
    const s = makeSession(SERVER_TLS12, 1, { time: T0, timeout: 300 });
    await cache.saveServerSession(s.id, s.der);
    clock.now = T0 + 299;
    expect(await cache.findServerSession(s.id)).toBeDefined();
    clock.now = T0 + 300;
    expect(await cache.findServerSession(s.id)).toBeUndefined();
    await cache.settled();
    expect(await store.counters()).toMatchObject({ hits: 1, misses: 0, timeouts: 1, removals: 1 });
    expect(await store.size()).toBe(0);
  });

  it('the timeout option overrides the session’s own lifetime', async () => {
    const { cache, clock } = setup({ timeout: 10 });
    const s = makeSession(SERVER_TLS12, 1, { time: T0, timeout: 7200 });
    await cache.saveServerSession(s.id, s.der);
    clock.now = T0 + 10;
    expect(await cache.findServerSession(s.id)).toBeUndefined();
  });

  it('a full cache evicts the session that expires soonest and counts cache_full', async () => {
    const { store, cache } = setup({ maxSize: 3 });
    // Expiries: #1 at +500, #2 at +100 (soonest), #3 at +900.
    const sessions = [
      makeSession(SERVER_TLS12, 1, { time: T0, timeout: 500 }),
      makeSession(SERVER_TLS12, 2, { time: T0, timeout: 100 }),
      makeSession(SERVER_TLS12, 3, { time: T0, timeout: 900 }),
      makeSession(SERVER_TLS12, 4, { time: T0, timeout: 50 }),
    ];
    for (const s of sessions.slice(0, 3)) await cache.saveServerSession(s.id, s.der);
    // Replacing a stored session does not make room.
    await cache.saveServerSession(sessions[0]!.id, sessions[0]!.der);
    await cache.settled();
    expect((await store.counters()).cache_full).toBe(0);

    await cache.saveServerSession(sessions[3]!.id, sessions[3]!.der);
    await cache.settled();
    expect(await store.size()).toBe(3);
    expect(await store.lookup(sessions[1]!.id.toString('hex'))).toBeUndefined();
    for (const s of [sessions[0]!, sessions[2]!, sessions[3]!]) expect(await store.lookup(s.id.toString('hex'))).toBeDefined();
    expect((await store.counters()).cache_full).toBe(1);
  });

  it('evicts 1% of the limit more at a time, never the session just inserted', async () => {
    const { store, cache } = setup({ maxSize: 200 });
    for (let n = 1; n <= 200; n += 1) {
      const s = makeSession(SERVER_TLS12, n, { time: T0, timeout: 1000 + n });
      await cache.saveServerSession(s.id, s.der);
    }
    await cache.settled();
    expect(await store.size()).toBe(200);
    const newest = makeSession(SERVER_TLS12, 201, { time: T0, timeout: 1 }); // expires soonest of all
    await cache.saveServerSession(newest.id, newest.der);
    await cache.settled();
    expect(await store.size()).toBe(198); // 201 - (1 + 200 / 100)
    expect((await store.counters()).cache_full).toBe(3);
    expect(await store.lookup(newest.id.toString('hex'))).toBeDefined();
    for (const n of [1, 2, 3]) expect(await store.lookup(makeSession(SERVER_TLS12, n, { time: T0 }).id.toString('hex'))).toBeUndefined();
  });

  it('flushes expired sessions every 255 inserts unless no_auto_clear', async () => {
    for (const noAutoClear of [false, true]) {
      const { store, cache, clock } = setup({ noAutoClear, maxSize: 0 });
      for (let n = 1; n <= 254; n += 1) {
        const s = makeSession(SERVER_TLS12, n, { time: T0, timeout: 60 });
        await cache.saveServerSession(s.id, s.der);
      }
      clock.now = T0 + 61;
      const last = makeSession(SERVER_TLS12, 255, { time: clock.now, timeout: 60 });
      await cache.saveServerSession(last.id, last.der);
      await cache.settled();
      expect(await store.size()).toBe(noAutoClear ? 255 : 1);
    }
  });

  it('offers only sessions made under its session-id context (a mismatch is a miss, not a hit)', async () => {
    const { store, cache } = setup({ sessionIdContext: 'portal-a' });
    const other = makeSession(SERVER_TLS12, 1, { time: T0, sessionIdContext: 'portal-b' });
    const mine = makeSession(SERVER_TLS12, 2, { time: T0, sessionIdContext: 'portal-a' });
    await store.update({ ...(await entryOf(other)), key: other.id.toString('hex') });
    await cache.saveServerSession(mine.id, mine.der);
    expect(await cache.findServerSession(other.id)).toBeUndefined();
    expect(await cache.findServerSession(mine.id)).toBeDefined();
    await cache.settled();
    expect(await store.counters()).toMatchObject({ hits: 1, misses: 1 });
  });

  it('keeps TLS 1.3 sessions out of the store unless asked (Node never resumes them from it)', async () => {
    const s = makeSession(CLIENT_TLS13, 1, { time: T0 });
    const off = setup();
    await off.cache.saveServerSession(s.id, s.der);
    expect(await off.store.size()).toBe(0);
    const on = setup({ saveTls13Sessions: true });
    await on.cache.saveServerSession(s.id, s.der);
    expect(await on.store.size()).toBe(1);
  });

  it('looks in its own copy first only when no_internal_lookup is off', async () => {
    for (const noInternalLookup of [true, false]) {
      const { store, cache } = setup({ noInternalLookup });
      const s = makeSession(SERVER_TLS12, 1, { time: T0 });
      await cache.saveServerSession(s.id, s.der);
      await store.delete(s.id.toString('hex')); // as `sessctl remove` in another process
      expect((await cache.findServerSession(s.id)) !== undefined).toBe(!noInternalLookup);
    }
  });
});

describe('modes', () => {
  it('"client" and "off" leave the server role alone; "server" and "off" leave the client role alone', async () => {
    const s = makeSession(SERVER_TLS12, 1, { time: T0 });
    const c = makeSession(CLIENT_TLS12, 2, { time: T0 });
    for (const mode of ['off', 'server', 'client', 'both'] as const) {
      const { store, cache } = setup({ mode });
      await cache.saveServerSession(s.id, s.der);
      await cache.saveClientSession('login.corp.test:443', c.der);
      const serverSide = await cache.findServerSession(s.id);
      const clientSide = await cache.offerClientSession('login.corp.test:443');
      await cache.settled();
      expect([serverSide !== undefined, clientSide !== undefined]).toEqual([mode === 'server' || mode === 'both', mode === 'client' || mode === 'both']);
      expect(await store.size()).toBe({ off: 0, server: 1, client: 1, both: 2 }[mode]);
      if (mode === 'off') expect(await store.counters()).toMatchObject({ hits: 0, misses: 0 });
    }
  });

  it('refuses an unknown mode', () => {
    expect(() => new SessionCache(new MemoryStore(), { mode: 'sever' as never })).toThrow(/unknown cache mode "sever"/);
  });
});

describe('client role', () => {
  it('offers the newest live session for a server and keeps at most sessionsPerServer', async () => {
    const { store, cache } = setup({ sessionsPerServer: 2 });
    const made = [1, 2, 3].map((n) => makeSession(CLIENT_TLS12, n, { time: T0 + n }));
    for (const s of made) await cache.saveClientSession('login.corp.test:443', s.der);
    const offered = await cache.offerClientSession('login.corp.test:443');
    expect(offered?.der.equals(made[2]!.der)).toBe(true);
    expect((await store.selectSession('login.corp.test:443')).length).toBe(2);
    expect(await cache.offerClientSession('other.test:443')).toBeUndefined();
    await cache.settled();
    expect(await store.counters()).toMatchObject({ hits: 1, misses: 1 });
  });

  it('takes a TLS 1.3 session out when it offers it (tickets are single-use) and skips expired ones', async () => {
    const { store, cache, clock } = setup();
    const t13 = makeSession(CLIENT_TLS13, 1, { time: T0, timeout: 100 });
    await cache.saveClientSession('cdn.test:443', t13.der);
    expect(await cache.offerClientSession('cdn.test:443')).toBeDefined();
    await cache.settled();
    expect(await cache.offerClientSession('cdn.test:443')).toBeUndefined();

    const t12 = makeSession(CLIENT_TLS12, 2, { time: T0, timeout: 100 });
    await cache.saveClientSession('login.test:443', t12.der);
    clock.now = T0 + 100;
    expect(await cache.offerClientSession('login.test:443')).toBeUndefined();
    await cache.settled();
    expect(await store.counters()).toMatchObject({ hits: 1, misses: 1, timeouts: 1 });
    expect(await store.size()).toBe(0);
  });
});

describe('a store that fails', () => {
  it('means a full handshake: no session, a store error counted, one log line without secrets', async () => {
    const { store, cache, lines } = setup();
    const s = makeSession(SERVER_TLS12, 1, { time: T0 });
    await cache.saveServerSession(s.id, s.der);
    await cache.settled();
    await store.terminate(); // every call now rejects
    expect(await cache.findServerSession(s.id)).toBeUndefined();
    await expect(cache.saveServerSession(s.id, s.der)).resolves.toBeUndefined();
    expect(await cache.offerClientSession('x:1')).toBeUndefined();
    expect(cache.storeErrors).toBe(3);
    // Further errors within 10 s are counted into the next line, not logged one by one.
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^session store failed \(lookup on memory:\), going on without it \(full handshakes\): .*closed/);
    const secret = masterKeyHex(SERVER_TLS12);
    expect(lines.join('\n').toLowerCase()).not.toContain(secret.toLowerCase());
    expect(lines.join('\n')).not.toContain(s.der.toString('hex'));
  });

  it('that does not answer is given up after storeTimeoutMs', async () => {
    const silent = new MemoryStore();
    silent.lookup = () => new Promise(() => {}); // a backend that hangs (e.g. a dead network peer)
    const { cache } = setup({ storeTimeoutMs: 100 }, silent);
    const s = makeSession(SERVER_TLS12, 1, { time: T0 });
    expect(await cache.findServerSession(s.id)).toBeUndefined();
    expect(cache.storeErrors).toBe(1);
  });
});

describe('a cache file removed under a running server', () => {
  it('says so in one log line, once, and handshakes go on', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sessctl-cache-health-'));
    const file = path.join(dir, 'sessions.db');
    const store = await FileStore.open(file);
    try {
      const { cache, lines } = setup({ countersFlushMs: 0 }, store);
      const s = makeSession(SERVER_TLS12, 1, { time: T0, timeout: 300 });
      await cache.saveServerSession(s.id, s.der);
      rmSync(file);
      for (let i = 0; i < 3; i++) expect((await cache.findServerSession(s.id))?.equals(s.der)).toBe(true);
      await cache.settled();
      for (let i = 0; i < 50 && lines.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^session store: the cache file .*sessions\.db was removed while this process had it open/);
    } finally {
      await store.terminate();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sessionIdContextOf', () => {
  it('reads the session-id context a session was written with (none: undefined)', () => {
    const base = decodeSession(makeSession(SERVER_TLS12, 1, { time: T0 }).der);
    fc.assert(
      fc.property(fc.option(fc.uint8Array({ minLength: 0, maxLength: 32 }), { nil: undefined }), (context) => {
        const der = encodeSession({ ...base, sessionIdContext: context && Buffer.from(context) });
        // Against what went in, not against the decoder it is built on.
        expect(sessionIdContextOf(der)).toEqual(context === undefined ? undefined : Buffer.from(context));
      }),
    );
    const portal = makeSession(SERVER_TLS12, 1, { time: T0, sessionIdContext: 'portal' }).der;
    expect(sessionIdContextOf(portal)?.toString('latin1')).toBe('portal');
    for (const vector of [SERVER_TLS12, CLIENT_TLS12, CLIENT_TLS13]) {
      const der = makeSession(vector, 1, { time: T0 }).der;
      expect(sessionIdContextOf(der)).toEqual(decodeSession(der).sessionIdContext);
    }
  });

  it('says null for malformed DER instead of reading past it', () => {
    const der = makeSession(SERVER_TLS12, 1, { time: T0, sessionIdContext: 'portal' }).der;
    for (let cut = 0; cut < der.length; cut += 1) expect(sessionIdContextOf(der.subarray(0, cut))).toBeNull();
    expect(sessionIdContextOf(Buffer.from([0x04, 0x00]))).toBeNull();
  });
});

async function entryOf(s: { der: Buffer }) {
  const { entryFromDer } = await import('../../src/lib/store/entry.js');
  return entryFromDer(s.der, { role: 'server', now: T0 });
}
