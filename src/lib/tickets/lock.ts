/**
 * A lock so two rotations of the same ring never interleave: an O_EXCL lock
 * file next to the ring holding the owner's pid. A lock whose pid is gone (the
 * owner was killed) is stale and broken; breaking it renames it aside first
 * and checks it is still the stale one, so two breakers cannot both win.
 */
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import { SessctlError } from '../errors.js';
import { describeIoError, processAlive } from './atomic.js';

export interface HeldLock {
  path: string;
  release(): Promise<void>;
}

/** An empty or garbled lock file younger than this may still be being written. */
const FRESH_LOCK_MS = 5000;

export async function acquireLock(lockPath: string): Promise<HeldLock> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const mine = `${process.pid}\n`;
    try {
      const handle = await fs.open(lockPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        await handle.writeFile(mine);
      } finally {
        await handle.close();
      }
      return { path: lockPath, release: () => releaseLock(lockPath, mine) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new SessctlError(`cannot create the lock ${lockPath}: ${describeIoError(err)}`, { cause: err });
      }
    }
    const held = await readLock(lockPath);
    if (held === undefined) continue; // released meanwhile
    if (!(await isStale(lockPath, held))) {
      throw new SessctlError(`another rotation holds the lock ${lockPath}${held.pid ? ` (pid ${held.pid})` : ''}: nothing changed`);
    }
    await breakStale(lockPath, held.text);
  }
  throw new SessctlError(`cannot take the lock ${lockPath}: it keeps changing hands; nothing changed`);
}

async function readLock(lockPath: string): Promise<{ text: string; pid?: number } | undefined> {
  try {
    const text = await fs.readFile(lockPath, 'utf8');
    const pid = /^\d+\n$/.test(text) ? Number(text.trim()) : undefined;
    return pid === undefined ? { text } : { text, pid };
  } catch {
    return undefined;
  }
}

async function isStale(lockPath: string, held: { pid?: number }): Promise<boolean> {
  if (held.pid !== undefined) return !processAlive(held.pid);
  const stat = await fs.stat(lockPath).catch(() => undefined);
  return stat !== undefined && Date.now() - stat.mtimeMs > FRESH_LOCK_MS;
}

async function breakStale(lockPath: string, staleText: string): Promise<void> {
  const aside = `${lockPath}.stale-${process.pid}`;
  try {
    await fs.rename(lockPath, aside);
  } catch {
    return; // someone else broke or released it; try again
  }
  const moved = await fs.readFile(aside, 'utf8').catch(() => undefined);
  if (moved !== staleText) {
    // We moved a live lock another breaker had just taken: put it back if we can.
    await fs.link(aside, lockPath).catch(() => {});
  }
  await fs.unlink(aside).catch(() => {});
}

async function releaseLock(lockPath: string, mine: string): Promise<void> {
  const text = await fs.readFile(lockPath, 'utf8').catch(() => undefined);
  if (text === mine) await fs.unlink(lockPath).catch(() => {});
}
