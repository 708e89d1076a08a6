import { invalidInput, usageError } from '../errors.js';
import { decodeSession } from '../session/codec.js';
import { readSessionBlobs } from '../session/pem.js';
import { countAdmin, partialFailure } from './admin.js';
import { entryFromSession, type EntryOptions } from './entry.js';
import { nowSeconds, type Entry, type SessionStore } from './types.js';

export interface SessionSource {
  /** Shown in errors: a file name or "standard input". */
  name: string;
  data: Buffer;
}

/**
 * Decode and validate every session of every source into entries, before
 * anything is written: one bad file means nothing is inserted.
 */
export function prepareEntries(sources: SessionSource[], options: EntryOptions): Entry[] {
  const entries: Entry[] = [];
  for (const source of sources) {
    const blobs = readSessionBlobs(source.data, source.name);
    blobs.forEach((der, i) => {
      let session;
      try {
        session = decodeSession(der);
      } catch (err) {
        const where = blobs.length > 1 ? ` (session ${i + 1} of ${blobs.length})` : '';
        throw invalidInput(`${source.name}${where}: ${(err as Error).message}`, err);
      }
      entries.push(entryFromSession(session, der, options));
    });
  }
  if (options.key !== undefined && entries.length > 1) {
    throw usageError(`--id names one session, but the input holds ${entries.length}`);
  }
  return entries;
}

export interface InsertOutcome {
  /** Written, in order. */
  inserted: Entry[];
  /** Left out because their lifetime had already passed (unless keepExpired). */
  expired: Entry[];
}

export interface InsertOptions {
  now: number;
  /**
   * Insert sessions whose lifetime has passed too. Off by default: no server
   * resumes them (OpenSSL checks time + timeout), and the backends cannot
   * keep them alike (the cache file until flushed, Redis and memcached only
   * for EXPIRED_GRACE_SECONDS, since their keys need a lifetime).
   */
  keepExpired?: boolean;
}

/**
 * Write prepared entries (an existing entry under the same key is replaced),
 * leaving out the expired ones unless asked. All or nothing where the store
 * can (the cache file: one transaction); elsewhere a failure names how many
 * were written before it ("27 of 5000 sessions inserted before it failed: ...").
 */
export async function insertEntries(store: SessionStore, entries: Entry[], options: InsertOptions = { now: nowSeconds() }): Promise<InsertOutcome> {
  const expired = options.keepExpired ? [] : entries.filter((e) => e.expiresAt <= options.now);
  const inserted = options.keepExpired ? entries : entries.filter((e) => e.expiresAt > options.now);
  if (inserted.length === 0) return { inserted, expired };
  if (store.updateMany !== undefined) {
    try {
      await store.updateMany(inserted);
    } catch (err) {
      throw partialFailure(err, 'nothing inserted');
    }
    await countAdmin(store, { admin_inserts: inserted.length }, `${inserted.length} inserted`);
    return { inserted, expired };
  }
  let done = 0;
  try {
    for (const entry of inserted) {
      await store.update(entry);
      done += 1;
    }
  } catch (err) {
    await countAdmin(store, { admin_inserts: done }, `${done} inserted`).catch(() => {});
    throw partialFailure(err, `${done} of ${inserted.length} session${inserted.length === 1 ? '' : 's'} inserted before it failed`);
  }
  await countAdmin(store, { admin_inserts: done }, `${done} inserted`);
  return { inserted, expired };
}
