/**
 * GET /v1/sessions paging (src/lib/store/daemon-protocol.ts): keyset
 * pagination in key order, whatever order the backing store keeps, so an
 * entry present for the whole iteration is visited exactly once and a cursor
 * survives a daemon restart.
 */
import { decodeCursor, DEFAULT_PAGE, encodeCursor, MAX_PAGE, ProtocolError, toWire, type PageBody } from '../store/daemon-protocol.js';
import type { Entry, SessionStore } from '../store/types.js';

/** One page: the `limit` smallest keys above the cursor, in key order (query: cursor, limit). */
export async function pageOf(store: SessionStore, query: URLSearchParams): Promise<PageBody> {
  const limitText = query.get('limit');
  const limit = limitText === null ? DEFAULT_PAGE : Number(limitText);
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new ProtocolError(`limit must be a whole number from 1 to ${MAX_PAGE}`);
  const cursorText = query.get('cursor');
  const after = cursorText === null ? undefined : decodeCursor(cursorText);
  if (cursorText !== null && after === undefined) throw new ProtocolError('not a cursor from this daemon');

  if (store.pageByKey) {
    // One more than asked: whether it comes back says if there is a next page.
    const rows = await store.pageByKey(after, limit + 1);
    const entries = rows.slice(0, limit);
    return { entries: entries.map(toWire), cursor: rows.length > limit ? encodeCursor(entries[entries.length - 1]!.key) : null };
  }
  // The backing store may fold in any order, and may visit a key twice (Redis
  // SCAN: the store contract says at least once): keep the `limit` smallest
  // keys seen so far, sorted and each once, and count the rest to know
  // whether a next page exists.
  const kept: Entry[] = [];
  let beyond = 0;
  await store.foldl((entry, acc: null) => {
    if (after !== undefined && entry.key <= after) return acc;
    if (kept.length === limit && entry.key >= kept[limit - 1]!.key) {
      if (entry.key !== kept[limit - 1]!.key) beyond += 1;
      return acc;
    }
    let lo = 0;
    let hi = kept.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (kept[mid]!.key < entry.key) lo = mid + 1;
      else hi = mid;
    }
    if (kept[lo]?.key === entry.key) return acc;
    kept.splice(lo, 0, entry);
    if (kept.length > limit) {
      kept.pop();
      beyond += 1;
    }
    return acc;
  }, null);
  return { entries: kept.map(toWire), cursor: beyond > 0 ? encodeCursor(kept[kept.length - 1]!.key) : null };
}
