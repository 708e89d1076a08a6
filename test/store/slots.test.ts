/**
 * The cache file places each session at a slot computed from its key
 * (schema 2, src/lib/store/file.ts). Real 53-bit slots practically never
 * collide, so these tests give the store a slot function with two values
 * and check the collision paths: lookups, replacements and deletions in any
 * order keep every entry reachable and the table's invariant true. And a
 * schema-1 file is migrated, nothing lost.
 */
import Database from 'better-sqlite3';
import { chmodSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileStore, SCHEMA_VERSION, slotOf } from '../../src/lib/store/file.js';
import type { Entry } from '../../src/lib/store/types.js';
import { testEntry } from '../helpers/entries.js';
import { runCli, tempDir } from '../helpers/env.js';

/** Two slots for every key: collisions everywhere. */
const twoSlots = (key: string): number => 1000 + (key.charCodeAt(key.length - 1) % 2);

let tmp: ReturnType<typeof tempDir>;
let n = 0;
const nextFile = (): string => path.join(tmp.dir, `slots-${n++}.db`);
beforeAll(() => {
  tmp = tempDir('sessctl-slots-');
});
afterAll(() => tmp.cleanup());

/** The invariant: each row at its slot, or off it with `home` set while another row holds that slot. */
function checkInvariant(file: string, slot: (key: string) => number): void {
  const db = new Database(file, { readonly: true });
  try {
    const rows = db.prepare('SELECT slot, key, home FROM sessions').all() as { slot: number; key: string; home: number | null }[];
    const bySlot = new Map(rows.map((r) => [r.slot, r]));
    for (const r of rows) {
      if (r.home === null) expect(r.slot, r.key).toBe(slot(r.key));
      else {
        expect(r.home, r.key).toBe(slot(r.key));
        expect(r.slot).not.toBe(r.home);
        expect(bySlot.get(r.home)?.key, `the slot of ${r.key} is held`).not.toBe(undefined);
      }
    }
  } finally {
    db.close();
  }
}

describe('slots', () => {
  it('slotOf is a safe integer, stable, and spreads keys', () => {
    const keys = Array.from({ length: 10_000 }, (_, i) => testEntry(i, { salt: 0x51 }).key);
    const slots = keys.map(slotOf);
    for (const s of slots) expect(Number.isSafeInteger(s) && s >= 0).toBe(true);
    expect(new Set(slots).size).toBe(keys.length);
    expect(slotOf('')).toBe(slotOf(''));
    expect(slotOf('ab'.repeat(32))).toBe(slotOf('ab'.repeat(32)));
  });

  it('with colliding slots, any sequence of updates and deletes keeps every entry reachable', async () => {
    const pool = Array.from({ length: 12 }, (_, i) => testEntry(i, { salt: 0x52 }));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(fc.boolean(), fc.nat(pool.length - 1)), { minLength: 1, maxLength: 40 }), async (ops) => {
        const file = nextFile();
        const store = await FileStore.open(file, { slotOf: twoSlots });
        const model = new Map<string, Entry>();
        try {
          for (const [insert, i] of ops) {
            const entry = pool[i]!;
            if (insert) {
              const replaced = { ...entry, expiresAt: entry.expiresAt + model.size };
              await store.update(replaced);
              model.set(entry.key, replaced);
            } else {
              expect(await store.delete(entry.key)).toBe(model.delete(entry.key));
            }
          }
          for (const entry of pool) {
            const found = await store.lookup(entry.key);
            const expected = model.get(entry.key);
            if (expected === undefined) expect(found).toBeUndefined();
            else expect(found?.expiresAt).toBe(expected.expiresAt);
          }
          expect(await store.size()).toBe(model.size);
          const folded = await store.foldl((e, keys: string[]) => [...keys, e.key], []);
          expect(folded.sort()).toEqual([...model.keys()].sort());
        } finally {
          await store.terminate();
        }
        checkInvariant(file, twoSlots);
      }),
      { numRuns: 40 },
    );
  });

  it('a missing key whose slot is held by another is a miss, not the other entry', async () => {
    const store = await FileStore.open(nextFile(), { slotOf: () => 7 });
    const [a, b] = [testEntry(1, { salt: 0x53 }), testEntry(2, { salt: 0x53 })];
    await store.update(a);
    expect(await store.lookup(b.key)).toBeUndefined();
    await store.update(b);
    expect((await store.lookup(b.key))?.der.equals(b.der)).toBe(true);
    expect((await store.lookup(a.key))?.der.equals(a.der)).toBe(true);
    await store.terminate();
  });
});

/** Schema 1, as sessctl wrote it before slots. */
const SCHEMA_1 = `
CREATE TABLE sessions (
  key TEXT PRIMARY KEY, role TEXT NOT NULL, partial_key TEXT, der BLOB NOT NULL, created_at INTEGER NOT NULL,
  inserted_at INTEGER NOT NULL, expires_at INTEGER NOT NULL, protocol TEXT NOT NULL, cipher TEXT NOT NULL,
  sni TEXT, alpn TEXT, has_ticket INTEGER NOT NULL, size INTEGER NOT NULL
);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX sessions_partial_key ON sessions (partial_key) WHERE partial_key IS NOT NULL;
CREATE INDEX sessions_sni ON sessions (sni) WHERE sni IS NOT NULL;
CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL DEFAULT 0);
INSERT INTO counters (name, value) VALUES ('hits', 5), ('misses', 2), ('timeouts', 0), ('cache_full', 0), ('inserts', 40), ('removals', 1);
CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
INSERT INTO meta (name, value) VALUES ('key_ring', X'0102');
PRAGMA user_version = 1;
`;

function schema1File(entries: Entry[]): string {
  const file = nextFile();
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(SCHEMA_1);
  const insert = db.prepare(
    'INSERT INTO sessions VALUES (@key, @role, @partialKey, @der, @createdAt, @insertedAt, @expiresAt, @protocol, @cipher, @sni, @alpn, @hasTicket, @size)',
  );
  for (const e of entries) {
    insert.run({ ...e, partialKey: e.partialKey ?? null, sni: e.sni ?? null, alpn: e.alpn ?? null, hasTicket: e.hasTicket ? 1 : 0, size: e.der.length });
  }
  db.close();
  chmodSync(file, 0o600);
  return file;
}

describe('a schema-1 cache file', () => {
  it('opened by four CLI processes at once is migrated once, and each of them sees every session', async () => {
    // Enough sessions that the migration takes a while: the other processes wait for its lock.
    const entries = Array.from({ length: 20_000 }, (_, i) => testEntry(i, { salt: 0x55 }));
    const file = schema1File(entries);
    const runs = await Promise.all(Array.from({ length: 4 }, () => runCli(['stats', '--store', file, '--json'])));
    for (const r of runs) {
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect((JSON.parse(r.stdout) as { total: number }).total).toBe(entries.length);
    }
    const db = new Database(file, { readonly: true });
    expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.prepare('SELECT count(*) FROM sessions').pluck().get()).toBe(entries.length);
    db.close();
    checkInvariant(file, slotOf);
  });

  for (const [name, slot] of [['real slots', undefined], ['colliding slots', twoSlots]] as const) {
    it(`is migrated when opened, keeping sessions, counters and the key ring (${name})`, async () => {
      const entries = Array.from({ length: 40 }, (_, i) => testEntry(i, { salt: 0x54 }));
      const file = schema1File(entries);
      const store = await FileStore.open(file, slot === undefined ? {} : { slotOf: slot });
      try {
        for (const e of entries) expect((await store.lookup(e.key))?.der.equals(e.der), e.key).toBe(true);
        expect(await store.size()).toBe(entries.length);
        expect(await store.counters()).toMatchObject({ hits: 5, misses: 2, inserts: 40, removals: 1 });
        expect((await store.readKeyRing())?.toString('hex')).toBe('0102');
        expect(await store.delete(entries[0]!.key)).toBe(true);
        expect(await store.lookup(entries[0]!.key)).toBeUndefined();
      } finally {
        await store.terminate();
      }
      const db = new Database(file, { readonly: true });
      expect(db.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      const names = db.prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%' ORDER BY name").pluck().all();
      expect(names).toEqual(['counters', 'meta', 'sessions', 'sessions_expires_at', 'sessions_home', 'sessions_partial_key', 'sessions_sni']);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      db.close();
      checkInvariant(file, slot ?? slotOf);
    });
  }
});
