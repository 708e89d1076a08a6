/**
 * The behaviour every SessionStore backend must show (src/lib/store/types.ts
 * is the contract), run against each backend by its own test file:
 *
 *   describeConformance('file', async () => { ...; return { store, cleanup } });
 *
 * Each test gets a fresh, empty store from `makeStore`. Every backend keeps
 * the whole contract; what is optional in it (pageByKey, the key ring) is
 * tested where a backend has it and skipped visibly, with the reason, where
 * it has not.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Halt, zeroCounters, type Entry, type SessionStore } from '../../src/lib/store/types.js';
import { testEntry } from '../helpers/entries.js';

export interface ConformanceOptions {
  /**
   * Why this backend's foldl may visit an entry more than once (the contract
   * allows it: src/lib/store/types.ts); the fold tests then check every entry
   * is visited at least once, and say so in their titles. Default: exactly once.
   */
  foldAtLeastOnce?: string;
  /** Entries for the fold tests; default 1100 (more than two of the cache file's 512-row pages). */
  manyEntries?: number;
}

export interface StoreUnderTest {
  store: SessionStore;
  cleanup(): Promise<void>;
}

/** Salt for this suite's session ids: unlikely to collide with another file sharing a server. */
const SALT = 0x0c0f;

export function describeConformance(name: string, makeStore: () => Promise<StoreUnderTest>, options: ConformanceOptions = {}): void {
  const many = options.manyEntries ?? 1100;
  const once = options.foldAtLeastOnce === undefined ? 'exactly once' : `at least once (${options.foldAtLeastOnce})`;

  const entry = (n: number, shape: Parameters<typeof testEntry>[1] = {}): Entry => testEntry(n, { salt: SALT, ...shape });

  /** What the backend must give back for `expected`. */
  function expectSameEntry(got: Entry | undefined, expected: Entry): void {
    expect(got).toBeDefined();
    const g = got!;
    expect(Buffer.isBuffer(g.der)).toBe(true);
    expect(g.der.equals(expected.der)).toBe(true);
    expect({ ...g, der: null }).toStrictEqual({ ...expected, der: null });
  }

  describe(`SessionStore conformance: ${name}`, () => {
    let sut: StoreUnderTest;
    let store: SessionStore;

    beforeEach(async () => {
      sut = await makeStore();
      store = sut.store;
    });

    afterEach(async () => {
      await sut.cleanup();
    });

    it('describes itself: kind, url, capabilities', () => {
      expect(store.kind).toMatch(/^[a-z]+$/);
      expect(typeof store.url).toBe('string');
      expect(store.url).not.toBe('');
      expect(typeof store.capabilities.persistent).toBe('boolean');
      expect(typeof store.capabilities.sharedCounters).toBe('boolean');
      expect(typeof store.capabilities.keyRing).toBe('boolean');
    });

    it('starts empty; a lookup of an absent key is undefined, not an error', async () => {
      expect(await store.size()).toBe(0);
      expect(await store.lookup(entry(1).key)).toBeUndefined();
    });

    it('gives back exactly what was stored: DER bytes and every summary field', async () => {
      const server = entry(1, { vector: '07-server-tls12-dhe-rsa-aes128gcm-alpn' });
      const client = entry(2, { vector: '01-client-tls12-ecdhe-rsa-aes256gcm-sni-ticket', partialKey: 'login.corp.test:443' });
      const tls13 = entry(3, { vector: '04-client-tls13-aes128ccm-p384-sni', partialKey: '[::1]:8443' });
      for (const e of [server, client, tls13]) await store.update(e);
      expectSameEntry(await store.lookup(server.key), server);
      expectSameEntry(await store.lookup(client.key), client);
      expectSameEntry(await store.lookup(tls13.key), tls13);
      expect(await store.size()).toBe(3);
    });

    it('keeps entries apart: each key gives back its own DER', async () => {
      const entries = Array.from({ length: 20 }, (_, i) => entry(100 + i));
      for (const e of entries) await store.update(e);
      for (const e of entries) expect((await store.lookup(e.key))?.der.equals(e.der)).toBe(true);
    });

    it('does not share Buffers with the caller: changing the stored or returned DER later changes nothing', async () => {
      const e = entry(1);
      const original = Buffer.from(e.der);
      await store.update(e);
      e.der.fill(0);
      const got = await store.lookup(e.key);
      expect(got?.der.equals(original)).toBe(true);
      got!.der.fill(0);
      expect((await store.lookup(e.key))?.der.equals(original)).toBe(true);
    });

    it('update replaces an existing entry under the same key', async () => {
      const first = entry(7, { vector: '07-server-tls12-dhe-rsa-aes128gcm-alpn' });
      const second = { ...entry(7, { vector: '08-server-tls12-ecdhe-ecdsa-aes128sha256-clientauth' }), key: first.key };
      await store.update(first);
      await store.update(second);
      expectSameEntry(await store.lookup(first.key), second);
      expect(await store.size()).toBe(1);
    });

    it('delete removes and says whether something was there', async () => {
      const a = entry(1);
      const b = entry(2);
      await store.update(a);
      await store.update(b);
      expect(await store.delete(a.key)).toBe(true);
      expect(await store.lookup(a.key)).toBeUndefined();
      expect(await store.delete(a.key)).toBe(false);
      expect(await store.delete(entry(3).key)).toBe(false);
      expectSameEntry(await store.lookup(b.key), b);
      expect(await store.size()).toBe(1);
    });

    it(`foldl visits each of ${many} entries ${once} and threads the accumulator`, async () => {
      const keys = new Set<string>();
      for (let i = 0; i < many; i++) {
        const e = entry(i);
        keys.add(e.key);
        await store.update(e);
      }
      expect(await store.size()).toBe(many);
      const seen = await store.foldl((e, acc: string[]) => {
        acc.push(e.key);
        return acc;
      }, []);
      if (options.foldAtLeastOnce === undefined) expect(seen.length).toBe(many);
      else expect(seen.length).toBeGreaterThanOrEqual(many);
      expect(new Set(seen)).toEqual(keys);
      const bytes = await store.foldl(async (e, acc: Map<string, number>) => acc.set(e.key, e.der.length), new Map<string, number>());
      let expected = 0;
      for (let i = 0; i < many; i++) expected += entry(i).der.length;
      expect([...bytes.values()].reduce((a, b) => a + b, 0)).toBe(expected);
    });

    it('foldl on an empty store returns the initial accumulator without calling back', async () => {
      let calls = 0;
      expect(await store.foldl(() => ++calls, 42)).toBe(42);
      expect(calls).toBe(0);
    });

    it('foldl with withDer false still gives every summary field and the DER size', async () => {
      const stored = [entry(0), entry(1), entry(2)];
      for (const e of stored) await store.update(e);
      const seen = await store.foldl((e, acc: Entry[]) => [...acc, e], [], { withDer: false });
      expect(seen).toHaveLength(stored.length);
      for (const e of seen) {
        const expected = stored.find((x) => x.key === e.key)!;
        expect(e.size).toBe(expected.der.length);
        expect(e.der.length === 0 || e.der.equals(expected.der)).toBe(true);
        expect([e.protocol, e.cipher, e.sni, e.alpn, e.createdAt]).toEqual([expected.protocol, expected.cipher, expected.sni, expected.alpn, expected.createdAt]);
      }
    });

    it('pageByKey, where a backend has it, pages through every key in order, once', async (ctx) => {
      if (!store.pageByKey) return ctx.skip(`${name} has no pageByKey (optional: its keys are not kept in order)`);
      const stored = Array.from({ length: 25 }, (_, i) => entry(i));
      for (const e of stored) await store.update(e);
      const keys: string[] = [];
      let after: string | undefined;
      for (let page = 0; page < 10; page++) {
        const rows = await store.pageByKey(after, 7);
        expect(rows.length).toBeLessThanOrEqual(7);
        if (rows.length > 0) expect(rows[0]!.der.length).toBe(rows[0]!.size);
        keys.push(...rows.map((r) => r.key));
        if (rows.length < 7) break;
        after = rows[rows.length - 1]!.key;
      }
      expect(keys).toEqual(stored.map((e) => e.key).sort());
    });

    it('foldl stops at Halt and resolves with its accumulator', async () => {
      for (let i = 0; i < 50; i++) await store.update(entry(i));
      let calls = 0;
      const result = await store.foldl((_e, acc: number) => {
        calls += 1;
        return acc + 1 === 10 ? new Halt(acc + 1) : acc + 1;
      }, 0);
      expect(result).toBe(10);
      expect(calls).toBe(10);
      const halted = await store.foldl(async (e) => new Halt(e.key), '');
      expect(halted).toMatch(/^[0-9a-f]{64}$/);
    });

    it(`foldl lets the callback delete entries (as flush does), visiting each ${once}`, async () => {
      for (let i = 0; i < many; i++) await store.update(entry(i, { expiresAt: i % 2 === 0 ? 1000 : 4_000_000_000 }));
      const visited = new Set<string>();
      const removed = await store.foldl(async (e, acc: number) => {
        if (options.foldAtLeastOnce === undefined) expect(visited.has(e.key)).toBe(false);
        visited.add(e.key);
        if (e.expiresAt <= 1000) return (await store.delete(e.key)) ? acc + 1 : acc;
        return acc;
      }, 0);
      expect(removed).toBe(Math.ceil(many / 2));
      expect(visited.size).toBe(many);
      expect(await store.size()).toBe(Math.floor(many / 2));
      const left = await store.foldl((e, acc: number) => (e.expiresAt > 1000 ? acc + 1 : acc), 0);
      expect(left).toBe(Math.floor(many / 2));
    });

    it('selectSession returns only the sessions for that partial key, newest first', async () => {
      const target = 'login.corp.test:443';
      const older = entry(1, { role: 'client', partialKey: target, createdAt: 1_700_000_000 });
      const newest = entry(2, { role: 'client', partialKey: target, createdAt: 1_700_000_900 });
      const middle = entry(3, { role: 'client', partialKey: target, createdAt: 1_700_000_500 });
      const otherPort = entry(4, { role: 'client', partialKey: 'login.corp.test:8443', createdAt: 1_700_000_999 });
      const serverSide = entry(5, { role: 'server' });
      for (const e of [older, newest, middle, otherPort, serverSide]) await store.update(e);
      const found = await store.selectSession(target);
      expect(found.map((e) => e.key)).toEqual([newest.key, middle.key, older.key]);
      expectSameEntry(found[0], newest);
      expect(await store.selectSession('login.corp.test')).toEqual([]);
      expect(await store.selectSession('nowhere:1')).toEqual([]);
    });

    it('keeps expired entries: lookup, foldl and size still see them (expiry is the caller’s business)', async () => {
      const now = Math.floor(Date.now() / 1000);
      const expired = entry(1, { expiresAt: now - 60 });
      const live = entry(2, { expiresAt: now + 3600 });
      await store.update(expired);
      await store.update(live);
      expectSameEntry(await store.lookup(expired.key), expired);
      expect(await store.size()).toBe(2);
      const keys = await store.foldl((e, acc: string[]) => [...acc, e.key], []);
      expect(keys.sort()).toEqual([expired.key, live.key].sort());
    });

    it('counters start at zero; update counts inserts (replacements too), delete counts removals', async () => {
      expect(await store.counters()).toEqual(zeroCounters());
      const a = entry(1);
      await store.update(a);
      await store.update(a);
      await store.update(entry(2));
      expect(await store.delete(a.key)).toBe(true);
      expect(await store.delete(a.key)).toBe(false);
      expect(await store.counters()).toEqual({ ...zeroCounters(), inserts: 3, removals: 1 });
    });

    it('addCounters accumulates and rejects unknown counter names', async () => {
      await store.addCounters({ hits: 2, misses: 1 });
      await store.addCounters({ hits: 3, timeouts: 4, cache_full: 1 });
      await store.addCounters({});
      expect(await store.counters()).toEqual({ ...zeroCounters(), hits: 5, misses: 1, timeouts: 4, cache_full: 1 });
      await expect(store.addCounters({ hitz: 1 } as never)).rejects.toThrow(/hitz/);
      expect((await store.counters()).hits).toBe(5);
    });

    it('keeps the ticket-key ring when it has one (capabilities.keyRing)', async () => {
      if (!store.capabilities.keyRing) {
        expect(store.readKeyRing === undefined || store.writeKeyRing === undefined).toBe(true);
        return;
      }
      expect(store.readKeyRing).toBeTypeOf('function');
      expect(store.writeKeyRing).toBeTypeOf('function');
      expect(await store.readKeyRing!()).toBeUndefined();
      const ring = Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i));
      await store.writeKeyRing!(ring);
      expect((await store.readKeyRing!())?.equals(ring)).toBe(true);
      const rotated = Buffer.concat([ring.subarray(48), Buffer.alloc(48, 7)]);
      expect(await store.writeKeyRing!(rotated)).toBe(true);
      expect((await store.readKeyRing!())?.equals(rotated)).toBe(true);
    });

    it('writes the ring only if it is still the expected one (compare-and-swap)', async (ctx) => {
      if (!store.capabilities.keyRing) return ctx.skip(`${name} holds no key ring (capabilities.keyRing false)`);
      const a = Buffer.alloc(96, 0xa1);
      const b = Buffer.alloc(96, 0xb2);
      const c = Buffer.concat([a.subarray(0, 95), Buffer.from([0xa2])]);
      // null: only if none is stored yet.
      expect(await store.writeKeyRing!(a, null)).toBe(true);
      expect(await store.writeKeyRing!(b, null)).toBe(false);
      expect((await store.readKeyRing!())?.equals(a)).toBe(true);
      // A ring that differs in its last byte is not the expected one.
      expect(await store.writeKeyRing!(b, c)).toBe(false);
      expect((await store.readKeyRing!())?.equals(a)).toBe(true);
      expect(await store.writeKeyRing!(b, a)).toBe(true);
      expect((await store.readKeyRing!())?.equals(b)).toBe(true);
      // Two writers that read the same ring: the first commits, the second is refused.
      const [first, second] = await Promise.all([store.writeKeyRing!(a, b), store.writeKeyRing!(c, b)]);
      expect([first, second].filter(Boolean)).toHaveLength(1);
      expect((await store.readKeyRing!())?.equals(first ? a : c)).toBe(true);
      // Without `expected`, a write is unconditional.
      expect(await store.writeKeyRing!(b)).toBe(true);
      expect((await store.readKeyRing!())?.equals(b)).toBe(true);
    });

    it('terminate releases the store: it can be called twice, and later calls reject', async () => {
      await store.update(entry(1));
      await store.terminate();
      await store.terminate();
      await expect(store.lookup(entry(1).key)).rejects.toThrow();
    });
  });
}
