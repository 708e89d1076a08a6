/**
 * The daemon's keyset paging over a store without pageByKey
 * (src/lib/daemon/paging.ts). The store contract lets foldl visit an entry
 * more than once (Redis SCAN while it rehashes): a page must still list each
 * key once, and paging must still reach every key.
 */
import { describe, expect, it } from 'vitest';
import { pageOf } from '../../src/lib/daemon/paging.js';
import { MemoryStore } from '../../src/lib/store/memory.js';
import type { Entry, FoldFn, FoldOptions } from '../../src/lib/store/types.js';
import { testEntry } from '../helpers/entries.js';

/** memory: whose foldl visits every entry twice, as the contract allows (at least once). */
class TwiceFolding extends MemoryStore {
  override async foldl<A>(fn: FoldFn<A>, acc0: A, options?: FoldOptions): Promise<A> {
    const once = await super.foldl((e, acc: Entry[]) => [...acc, e], [] as Entry[], options);
    let acc = acc0;
    for (const e of [...once, ...once.reverse()]) acc = (await fn(e, acc)) as A;
    return acc;
  }
}

async function allPages(store: MemoryStore, limit: number): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ limit: String(limit), ...(cursor === null ? {} : { cursor }) });
    const body = await pageOf(store, query);
    pages.push(body.entries.map((e) => e.key));
    cursor = body.cursor;
  } while (cursor !== null && pages.length < 100);
  return pages;
}

describe('keyset paging over foldl', () => {
  it('lists each key once and reaches every key when the fold visits keys twice', async () => {
    const store = new TwiceFolding();
    const entries = Array.from({ length: 23 }, (_, i) => testEntry(i, { salt: 0x9a6 }));
    for (const e of entries) await store.update(e);
    const pages = await allPages(store, 5);
    const keys = pages.flat();
    expect(keys).toEqual(entries.map((e) => e.key).sort());
    for (const page of pages) expect(page.length).toBeLessThanOrEqual(5);
    // The same pages as a fold that visits each key once.
    const plain = new MemoryStore();
    for (const e of entries) await plain.update(e);
    expect(plain.pageByKey).toBeUndefined();
    expect(pages).toEqual(await allPages(plain, 5));
  });
});
