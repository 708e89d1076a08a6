/** What only the cache file does: permissions, bad files, several connections. */
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessctlError } from '../../src/lib/errors.js';
import { FileStore, SCHEMA_VERSION } from '../../src/lib/store/file.js';
import { openStore } from '../../src/lib/store/open.js';
import { zeroCounters } from '../../src/lib/store/types.js';
import { testEntry } from '../helpers/entries.js';
import { tempDir } from '../helpers/env.js';

let tmp: ReturnType<typeof tempDir>;
let n = 0;
const fresh = (name = 'sessions.db'): string => path.join(tmp.dir, `t${++n}`, name);
const modeOf = (p: string): number => statSync(p).mode & 0o777;

beforeAll(() => {
  tmp = tempDir('sessctl-file-store-');
});
afterAll(() => tmp.cleanup());

async function openError(file: string, options: Parameters<typeof FileStore.open>[1] = {}): Promise<SessctlError> {
  const err = await FileStore.open(file, options).then(
    (store) => {
      void store.terminate();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SessctlError);
  const message = (err as SessctlError).message;
  expect(message).not.toContain('\n');
  return err as SessctlError;
}

describe('permissions', () => {
  it('creates missing directories 0700 and the file, -wal and -shm 0600', async () => {
    const file = path.join(tmp.dir, 'perm', 'a', 'b', 'sessions.db');
    const store = await FileStore.open(file);
    await store.update(testEntry(1));
    expect(modeOf(path.join(tmp.dir, 'perm'))).toBe(0o700);
    expect(modeOf(path.join(tmp.dir, 'perm', 'a'))).toBe(0o700);
    expect(modeOf(path.dirname(file))).toBe(0o700);
    expect(modeOf(file)).toBe(0o600);
    expect(modeOf(`${file}-wal`)).toBe(0o600);
    expect(modeOf(`${file}-shm`)).toBe(0o600);
    await store.terminate();
  });

  it('warns, once and in one line, when an existing file is readable by others, and still opens it', async () => {
    const file = fresh();
    await (await FileStore.open(file)).terminate();
    chmodSync(file, 0o644);
    const warnings: string[] = [];
    const store = await FileStore.open(file, { onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([`${file} is readable by others (mode 0644): chmod 600 ${file}`]);
    expect(await store.size()).toBe(0);
    await store.terminate();
  });

  it('warns about a group-writable file too, and not at all about a 0600 one', async () => {
    const file = fresh();
    await (await FileStore.open(file)).terminate();
    const warnings: string[] = [];
    await (await FileStore.open(file, { onWarning: (m) => warnings.push(m) })).terminate();
    expect(warnings).toEqual([]);
    chmodSync(file, 0o620);
    await (await FileStore.open(file, { onWarning: (m) => warnings.push(m) })).terminate();
    expect(warnings).toEqual([`${file} is writable by others (mode 0620): chmod 600 ${file}`]);
  });

  it('by default writes the warning as a "warning:" line on stderr', async () => {
    const file = fresh();
    await (await FileStore.open(file)).terminate();
    chmodSync(file, 0o640);
    const written: string[] = [];
    const original = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => {
      written.push(String(chunk));
      return true;
    }) as typeof process.stderr.write;
    try {
      await (await openStore(file)).terminate();
    } finally {
      process.stderr.write = original;
    }
    expect(written).toEqual([`warning: ${file} is readable by others (mode 0640): chmod 600 ${file}\n`]);
  });
});

describe('files that are not a session cache', () => {
  it('a text file: one clear line, and the file is left untouched', async () => {
    const file = fresh('notes.txt');
    mkdirSync(path.dirname(file), { recursive: true });
    const content = 'this is not a database\n'.repeat(200);
    writeFileSync(file, content);
    chmodSync(file, 0o644);
    const warnings: string[] = [];
    const err = await openError(file, { onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([]);
    expect(err.message).toBe(`cannot open session cache ${file}: file is not a database`);
    expect(readFileSync(file, 'utf8')).toBe(content);
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  it('a directory', async () => {
    const dir = path.join(tmp.dir, 'a-directory');
    mkdirSync(dir);
    expect((await openError(dir)).message).toBe(`cannot open session cache ${dir}: it is a directory`);
  });

  it('a path under a regular file', async () => {
    const file = fresh('plain');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, 'x');
    expect((await openError(path.join(file, 'sessions.db'))).message).toMatch(/^cannot open session cache .*plain\/sessions\.db: /);
  });

  it('another application’s SQLite database is refused, not modified', async () => {
    const file = fresh('other.db');
    mkdirSync(path.dirname(file), { recursive: true });
    const other = new Database(file);
    other.exec("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO photos (name) VALUES ('cat')");
    other.close();
    chmodSync(file, 0o600);
    const before = readFileSync(file);
    expect((await openError(file)).message).toBe(`cannot open session cache ${file}: it is an SQLite database of something else (tables: photos)`);
    const db = new Database(file, { readonly: true });
    expect(db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all()).toEqual(['photos']);
    db.close();
    expect(readFileSync(file).equals(before)).toBe(true);
  });

  it('a cache written by a newer sessctl (higher schema version)', async () => {
    const file = fresh();
    await (await FileStore.open(file)).terminate();
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    expect((await openError(file)).message).toBe(
      `cannot open session cache ${file}: it was written by a newer sessctl (schema ${SCHEMA_VERSION + 1}, this one knows ${SCHEMA_VERSION})`,
    );
  });

  it('a truncated (corrupt) database file', async () => {
    const file = fresh();
    const store = await FileStore.open(file);
    for (let i = 0; i < 300; i++) await store.update(testEntry(i));
    await store.terminate();
    const bytes = readFileSync(file);
    expect(bytes.length).toBeGreaterThan(8192);
    // Keep the header page, wipe the rest: the schema and data pages are gone.
    writeFileSync(file, Buffer.concat([bytes.subarray(0, 4096), Buffer.alloc(bytes.length - 4096, 0xee)]));
    const err = await FileStore.open(file).then(
      async (s) => {
        try {
          await s.foldl((_e, acc: number) => acc + 1, 0);
          return undefined;
        } catch (e) {
          return e;
        } finally {
          await s.terminate();
        }
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SessctlError);
    expect((err as Error).message).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: (the database is corrupt|file is not a database)`));
  });

  it('create: false does not create a missing file', async () => {
    const file = fresh();
    expect((await openError(file, { create: false })).message).toBe(`cannot open session cache ${file}: no such file`);
    expect(existsSync(file)).toBe(false);
  });
});

describe('several connections to one file', () => {
  it('see each other’s writes and deletes at once and share counters and the key ring', async () => {
    const file = fresh();
    const a = await FileStore.open(file);
    const b = await FileStore.open(file);
    const e = testEntry(1, { partialKey: 'h:443' });
    await a.update(e);
    expect((await b.lookup(e.key))?.der.equals(e.der)).toBe(true);
    expect((await b.selectSession('h:443')).map((x) => x.key)).toEqual([e.key]);
    await b.addCounters({ hits: 2 });
    await a.addCounters({ hits: 1, misses: 1 });
    expect(await a.counters()).toEqual({ ...zeroCounters(), inserts: 1, hits: 3, misses: 1 });
    expect(await b.delete(e.key)).toBe(true);
    expect(await a.lookup(e.key)).toBeUndefined();
    expect((await a.counters()).removals).toBe(1);
    await a.writeKeyRing(Buffer.from('ring'));
    expect((await b.readKeyRing())?.toString()).toBe('ring');
    await a.terminate();
    await b.terminate();
  });

  it('a reopened file keeps everything', async () => {
    const file = fresh();
    const a = await FileStore.open(file);
    const entries = Array.from({ length: 30 }, (_, i) => testEntry(i));
    expect(await a.updateMany(entries)).toBe(30);
    await a.addCounters({ timeouts: 5 });
    await a.terminate();
    const b = await FileStore.open(file);
    expect(await b.size()).toBe(30);
    expect((await b.lookup(entries[7]!.key))?.der.equals(entries[7]!.der)).toBe(true);
    expect(await b.counters()).toEqual({ ...zeroCounters(), inserts: 30, timeouts: 5 });
    await b.terminate();
  });
});

describe('errors after open', () => {
  it('a closed store rejects with a SessctlError', async () => {
    const store = await FileStore.open(fresh());
    await store.terminate();
    await expect(store.size()).rejects.toBeInstanceOf(SessctlError);
  });

  it('a writer held off by another process’s lock for longer than the busy timeout gets a SessctlError', async () => {
    const file = fresh();
    const store = await FileStore.open(file);
    const locker = new Database(file);
    locker.pragma('busy_timeout = 0');
    locker.exec('BEGIN IMMEDIATE');
    try {
      // The store waits BUSY_TIMEOUT_MS (5 s) for the lock, then gives up with one line.
      const err = await store.update(testEntry(1)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SessctlError);
      expect((err as Error).message).toBe(`session cache ${file}: the database stayed locked by another process for more than 5 s`);
    } finally {
      locker.exec('ROLLBACK');
      locker.close();
    }
    await store.update(testEntry(1));
    expect(await store.size()).toBe(1);
    await store.terminate();
  }, 20_000);
});
