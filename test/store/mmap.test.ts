/**
 * The cache file is read through mmap by default (lookups), but passes over
 * the whole store are not: `stats` over a big file must not end up holding
 * the whole file in its memory. Measured through /proc/self/smaps: the
 * resident size of this process's mapping of the file.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileStore } from '../../src/lib/store/file.js';
import { openStore } from '../../src/lib/store/open.js';
import { testEntry } from '../helpers/entries.js';
import { tempDir } from '../helpers/env.js';

const SESSIONS = 4000;
const DER_BYTES = 2000;

/** Kilobytes of `file` resident through this process's mappings of it. */
function mappedKb(file: string): number {
  let kb = 0;
  let inFile = false;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inFile = line.endsWith(` ${file}`);
    else if (inFile && line.startsWith('Rss:')) kb += Number(/(\d+)/.exec(line)![1]);
  }
  return kb;
}

let tmp: ReturnType<typeof tempDir>;
let file: string;
let keys: string[];
beforeAll(async () => {
  tmp = tempDir('sessctl-mmap-');
  file = path.join(tmp.dir, 'big.db');
  const store = await FileStore.open(file, { mmapBytes: 0 });
  const entries = Array.from({ length: SESSIONS }, (_, i) => {
    const entry = testEntry(i);
    return { ...entry, der: Buffer.alloc(DER_BYTES, i), size: DER_BYTES };
  });
  await store.updateMany(entries);
  keys = entries.map((e) => e.key);
  await store.terminate();
});
afterAll(() => tmp.cleanup());

describe.runIf(process.platform === 'linux')('mmap of the cache file', () => {
  it('lookups read through mmap by default; a full foldl does not leave the file mapped', async () => {
    const fileKb = (SESSIONS * DER_BYTES) / 1024;
    const store = await openStore(file);
    for (const key of keys) expect((await store.lookup(key))?.der.length).toBe(DER_BYTES);
    expect(mappedKb(file)).toBeGreaterThan(fileKb / 2);

    const seen = await store.foldl((entry, n: number) => n + (entry.der.length === DER_BYTES ? 1 : 0), 0);
    expect(seen).toBe(SESSIONS);
    expect(mappedKb(file)).toBeLessThan(fileKb / 10);

    // And lookups map again afterwards.
    for (const key of keys) await store.lookup(key);
    expect(mappedKb(file)).toBeGreaterThan(fileKb / 2);
    await store.terminate();
  });

  it('?mmap=0 reads without mmap', async () => {
    const store = await openStore(`file:${file}?mmap=0`);
    for (const key of keys) expect((await store.lookup(key))?.der.length).toBe(DER_BYTES);
    expect(mappedKb(file)).toBe(0);
    await store.terminate();
  });
});
