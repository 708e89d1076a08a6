/** The daemon's group commit (src/lib/daemon/batch.ts) over a real cache file. */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BATCH, UpdateBatcher } from '../../src/lib/daemon/batch.js';
import { SessctlError } from '../../src/lib/errors.js';
import { FileStore } from '../../src/lib/store/file.js';
import { MemoryStore } from '../../src/lib/store/memory.js';
import type { Entry } from '../../src/lib/store/types.js';
import { testEntry } from '../helpers/entries.js';
import { tempDir } from '../helpers/env.js';

let tmp: ReturnType<typeof tempDir>;
let n = 0;
beforeAll(() => {
  tmp = tempDir('sessctl-batch-');
});
afterAll(() => tmp.cleanup());

/** A cache file whose updateMany calls are recorded (the store underneath is the real one). */
async function countedFile(): Promise<{ store: FileStore; batches: number[] }> {
  const store = await FileStore.open(path.join(tmp.dir, `b${++n}.db`));
  const batches: number[] = [];
  const updateMany = store.updateMany.bind(store);
  store.updateMany = async (entries: Iterable<Entry>) => {
    const list = [...entries];
    batches.push(list.length);
    return updateMany(list);
  };
  return { store, batches };
}

describe('UpdateBatcher', () => {
  it('commits the updates of one turn in one transaction, and each is stored once answered', async () => {
    const { store, batches } = await countedFile();
    const batcher = new UpdateBatcher(store);
    const entries = Array.from({ length: 40 }, (_, i) => testEntry(i));
    await Promise.all(entries.map(async (entry) => {
      await batcher.update(entry);
      // Answered only after the commit: the entry is there.
      expect((await store.lookup(entry.key))?.der).toEqual(entry.der);
    }));
    expect(batches).toEqual([40]);
    expect(await store.size()).toBe(40);
    expect((await store.counters()).inserts).toBe(40);
    await store.terminate();
  });

  it('updates of later turns go in later transactions; the same key twice in one turn: the last one wins', async () => {
    const { store, batches } = await countedFile();
    const batcher = new UpdateBatcher(store);
    const first = testEntry(1);
    const second = { ...testEntry(2), key: first.key };
    await Promise.all([batcher.update(first), batcher.update(second)]);
    await batcher.update(testEntry(3));
    expect(batches).toEqual([2, 1]);
    expect((await store.lookup(first.key))?.der).toEqual(second.der);
    await store.terminate();
  });

  it(`at most ${MAX_BATCH} entries a transaction`, async () => {
    const { store, batches } = await countedFile();
    const batcher = new UpdateBatcher(store);
    await Promise.all(Array.from({ length: MAX_BATCH + 10 }, (_, i) => batcher.update(testEntry(i))));
    expect(batches).toEqual([MAX_BATCH, 10]);
    expect(await store.size()).toBe(MAX_BATCH + 10);
    await store.terminate();
  });

  it('a failed commit fails every update in it with the store error', async () => {
    const { store } = await countedFile();
    const batcher = new UpdateBatcher(store);
    await store.terminate();
    const results = await Promise.allSettled([batcher.update(testEntry(1)), batcher.update(testEntry(2))]);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(SessctlError);
    }
  });

  it('a store without updateMany gets update() per entry, at once', async () => {
    const store = new MemoryStore();
    const batcher = new UpdateBatcher(store);
    const entry = testEntry(5);
    const pending = batcher.update(entry);
    // Not deferred to a later turn: already stored.
    expect(await store.size()).toBe(1);
    await pending;
  });
});
