import { invalidInput, usageError } from '../errors.js';
import { decodeSession } from '../session/codec.js';
import { readSessionBlobs } from '../session/pem.js';
import { entryFromSession, type EntryOptions } from './entry.js';
import type { Entry, SessionStore } from './types.js';

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

/** Write prepared entries; an existing entry under the same key is replaced. */
export async function insertEntries(store: SessionStore, entries: Entry[]): Promise<void> {
  for (const entry of entries) await store.update(entry);
}
