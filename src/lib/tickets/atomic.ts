/**
 * Atomic 0600 writes for files that hold ticket keys: a temp file in the same
 * directory (created O_EXCL, mode 0600), fsync, rename over the target, fsync
 * the directory. A crash at any point leaves either the old file or the new
 * one, never a half-written key file.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { SessctlError } from '../errors.js';

export const KEY_FILE_MODE = 0o600;

const TEMP_INFIX = '.sessctl-tmp-';

/** `mode`: KEY_FILE_MODE unless the file holds nothing secret (probe --prometheus: a collector under another user reads it). */
export async function writeFileAtomic(file: string, data: Buffer, mode: number = KEY_FILE_MODE): Promise<void> {
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}${TEMP_INFIX}${process.pid}-${randomBytes(4).toString('hex')}`);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
    await handle.chmod(mode); // the umask can only remove bits; make sure of the exact mode
    await handle.writeFile(data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fs.rename(temp, file);
  } catch (err) {
    await handle?.close().catch(() => {});
    await fs.unlink(temp).catch(() => {});
    throw new SessctlError(`cannot write ${file}: ${describeIoError(err)}`, { cause: err });
  }
  await syncDir(dir);
}

/** fsync a directory so a rename in it survives a power loss. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await fs.open(dir, constants.O_RDONLY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Remove temp files a killed writer left next to `file` (their pid is gone).
 * Never touches another live process's temp file.
 */
export async function removeStaleTemps(file: string): Promise<void> {
  const dir = path.dirname(file);
  const prefix = `.${path.basename(file)}${TEMP_INFIX}`;
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (Number.isSafeInteger(pid) && pid > 0 && !processAlive(pid)) await fs.unlink(path.join(dir, name)).catch(() => {});
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function describeIoError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const reasons: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    ENOTDIR: 'a path component is not a directory',
    EISDIR: 'is a directory',
    EROFS: 'read-only file system',
    ENOSPC: 'no space left on device',
    EEXIST: 'already exists',
  };
  return (e.code && reasons[e.code]) ?? e.message ?? String(err);
}
