/**
 * `rotate-keys`: rotate the ring and write every output, safe from cron.
 *
 * Order, so a crash (even SIGKILL) at any point is harmless:
 *   1. check everything that can be checked (formats, sizes, target dirs);
 *   2. take the lock (file rings), load the ring, decide whether a rotation is due;
 *   3. write every output atomically (each file old or new, never half);
 *   4. write the ring atomically: the commit point. Killed before it, the old
 *      ring stays and the next run redoes the rotation; the new current key is
 *      the old next key either way, which every output already held. A ring
 *      in a store is written only if it is still the one read in step 2; if
 *      another run (another host's cron) committed first, its ring wins: the
 *      outputs are written again from it, and this run goes on with it;
 *   5. push to HAProxy, then run --exec: only after every write succeeded.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NotFoundError, SessctlError, usageError } from '../errors.js';
import type { SessionStore } from '../store/types.js';
import { describeIoError, removeStaleTemps, writeFileAtomic } from './atomic.js';
import { checkSizes, type OutputSpec } from './formats/index.js';
import { haproxyKeyLine } from './formats/haproxy.js';
import { previousSlotNumber } from './formats/nginx.js';
import { findTlsKeyRef, setTlsKey, showTlsKeys } from './haproxy-socket.js';
import { acquireLock } from './lock.js';
import {
  createRing,
  currentAge,
  currentKey,
  decodeRing,
  describeKeys,
  encodeRing,
  nextKey,
  previousKeys,
  rotateRing,
  type KeyRing,
  type KeySize,
  type KeyView,
  type RandomBytes,
} from './ring.js';

/** Where the ring lives: a 0600 file, or a store with capabilities.keyRing. */
export interface RingStorage {
  /** For messages: "/etc/sessctl/ring.json" or the store URL. */
  readonly name: string;
  read(): Promise<KeyRing | undefined>;
  /**
   * Write the ring; resolves to whether it was written. A storage without a
   * lock (a store) writes only if it still holds what read() last returned,
   * and resolves false if another run changed it meanwhile.
   */
  write(ring: KeyRing): Promise<boolean>;
  /** Serialises rotations; resolves to the release function. */
  lock(): Promise<() => Promise<void>>;
}

export function fileRing(file: string, options: { onWarning?: (message: string) => void } = {}): RingStorage {
  return {
    name: file,
    async read() {
      let data: Buffer;
      try {
        data = await fs.readFile(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw new SessctlError(`cannot read the ring ${file}: ${describeIoError(err)}`, { cause: err });
      }
      const ring = decodeRing(data, file);
      const stat = await fs.stat(file);
      if ((stat.mode & 0o077) !== 0) {
        options.onWarning?.(`the ring ${file} is open to others (mode ${(stat.mode & 0o777).toString(8)}): it holds ticket keys; chmod 600 it`);
      }
      return ring;
    },
    async write(ring) {
      await removeStaleTemps(file);
      await writeFileAtomic(file, encodeRing(ring));
      return true;
    },
    async lock() {
      const held = await acquireLock(`${file}.lock`);
      return held.release;
    },
  };
}

/**
 * A ring kept in a store (the daemon, Redis, the cache file) so a fleet shares
 * it. The store's writeKeyRing is the commit point. No lock: rotations on
 * several hosts at once are told apart by compare-and-swap instead (write
 * only if the store still holds the ring this storage last read), so one of
 * them commits and the others find out.
 */
export function storeRing(store: SessionStore): RingStorage {
  if (!store.capabilities.keyRing || !store.readKeyRing || !store.writeKeyRing) {
    throw usageError(`the store ${store.url} cannot hold a ticket-key ring: use --ring FILE`);
  }
  const read = store.readKeyRing.bind(store);
  const write = store.writeKeyRing.bind(store);
  /** What read() last found (null: no ring); undefined before any read, when a write is unconditional (a --push copy). */
  let seen: Buffer | null | undefined;
  return {
    name: store.url,
    async read() {
      const data = await read();
      seen = data ?? null;
      return data === undefined ? undefined : decodeRing(data, `in ${store.url}`);
    },
    async write(ring) {
      const data = encodeRing(ring);
      if (!(await write(data, seen))) return false;
      seen = data;
      return true;
    },
    lock: async () => async () => {},
  };
}

export interface RotateOptions {
  ring: RingStorage;
  now: number;
  outputs: OutputSpec[];
  /** Key size of a new ring; must match an existing ring. */
  size?: KeySize;
  /** Decrypt window in seconds (default: the ring's, or 12 h for a new ring). */
  keep?: number;
  /** Rotate only when the current key has encrypted for this many seconds. */
  ifOlderThan?: number;
  /** Shell command run after every write succeeded. */
  exec?: string;
  /** Kill --exec (and what it started) after this long; default DEFAULT_EXEC_TIMEOUT_MS. */
  execTimeoutMs?: number;
  haproxySocket?: string;
  /** Copies of the ring written after the commit (a daemon or shared store that servers read keys from). */
  push?: RingStorage[];
  dryRun?: boolean;
  /** Test hook: pause between file writes so a test can kill the process mid-rotation. */
  pauseBetweenWritesMs?: number;
  random?: RandomBytes;
}

export type RotateStatus = 'rotated' | 'created' | 'not-due';

export interface OutputReport {
  format: string;
  path: string;
  /** Files written (or that would be written under --dry-run). */
  files: string[];
}

export interface RotateReport {
  status: RotateStatus;
  dryRun: boolean;
  ring: string;
  size: KeySize;
  /** Decrypt window, seconds. */
  keep: number;
  /** Seconds the current key has been encrypting (0 right after a rotation). */
  currentAge: number;
  /** With --if-older-than: when the next rotation is due, unix seconds. */
  dueAt?: number;
  keys: KeyView[];
  outputs: OutputReport[];
  haproxy?: { socket: string; ref: string; pushed: string[]; keys: string[] };
  exec?: { command: string; exitCode: number };
  /** Stores the ring was pushed to. */
  pushed?: string[];
  /** Push targets left as they were: they hold a newer ring (a later rotation's, pushed there first). */
  pushSkipped?: string[];
  /**
   * Another run committed a rotation between this run's read and its commit:
   * the keys, outputs, pushes and --exec are those of that run's ring.
   */
  rotatedElsewhere?: boolean;
  /** Steps after the commit that failed (the ring and files are rotated). Empty when all went well. */
  failures: string[];
}

export async function rotateKeys(options: RotateOptions): Promise<RotateReport> {
  const { now } = options;
  await preflight(options.outputs);
  const release = options.dryRun ? async () => {} : await options.ring.lock();
  try {
    const old = await options.ring.read();
    if (old && options.size !== undefined && options.size !== old.size) {
      throw usageError(`the ring ${options.ring.name} holds ${old.size}-byte keys; --size ${options.size} needs a new ring (another --ring file)`);
    }
    const size = old?.size ?? options.size ?? 48;
    checkSizes(options.outputs, size);

    if (old && options.ifOlderThan !== undefined && currentAge(old, now) < options.ifOlderThan) {
      return report(options, old, 'not-due', []);
    }
    const ring = old
      ? rotateRing(old, now, { ...(options.keep === undefined ? {} : { keep: options.keep }), ...(options.random ? { random: options.random } : {}) })
      : createRing(now, { size, ...(options.keep === undefined ? {} : { keep: options.keep }), ...(options.random ? { random: options.random } : {}) });
    const status: RotateStatus = old ? 'rotated' : 'created';

    const planned = await plan(ring, options);
    if (options.dryRun) return report(options, ring, status, planned.map((p) => p.report));

    await writeOutputs(planned, options);
    let committed = ring;
    let outputs = planned;
    // The commit point.
    if (!(await options.ring.write(ring))) {
      // Another run committed first (cron on several hosts sharing a store): its ring wins.
      const winner = await options.ring.read();
      if (winner === undefined) throw new SessctlError(`the ring in ${options.ring.name} was removed while this run rotated it; nothing was committed: run again`);
      checkSizes(options.outputs, winner.size);
      committed = winner;
      outputs = await plan(winner, options);
      await writeOutputs(outputs, options);
    }

    const result = report(options, committed, status, outputs.map((p) => p.report));
    if (committed !== ring) result.rotatedElsewhere = true;
    for (const target of options.push ?? []) {
      try {
        if ((await pushRing(target, committed)) === 'pushed') (result.pushed ??= []).push(target.name);
        else (result.pushSkipped ??= []).push(target.name);
      } catch (err) {
        result.failures.push(`push to ${target.name}: ${err instanceof SessctlError ? err.message : String(err)}`);
      }
    }
    if (options.haproxySocket) {
      try {
        result.haproxy = await pushToHaproxy(options.haproxySocket, committed, now, options.outputs);
      } catch (err) {
        result.failures.push(`HAProxy push: ${err instanceof SessctlError ? err.message : String(err)}`);
      }
    }
    if (options.exec) {
      const timeoutMs = options.execTimeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
      const exec = await runExec(options.exec, timeoutMs);
      result.exec = { command: options.exec, exitCode: exec.exitCode };
      if (exec.timedOut) result.failures.push(`--exec did not finish within ${timeoutMs / 1000} s and was killed`);
      else if (exec.exitCode !== 0) result.failures.push(`--exec exited ${exec.exitCode}${exec.lastLine ? `: ${exec.lastLine}` : ''}`);
    }
    return result;
  } finally {
    await release();
  }
}

export interface RingListing {
  ring: string;
  size: KeySize;
  keep: number;
  keys: KeyView[];
}

/** The ring's keys for `--list`: names, states and times; secrets only when asked. */
export async function listRing(storage: RingStorage, now: number, options: { showSecrets?: boolean } = {}): Promise<RingListing> {
  const ring = await storage.read();
  if (!ring) throw new NotFoundError(`no ticket-key ring at ${storage.name} (the first rotate-keys creates it)`);
  return { ring: storage.name, size: ring.size, keep: ring.keep, keys: describeKeys(ring, now, options) };
}

/** Every target directory exists (or can be created, for nginx) and is a directory: fail before anything changes. */
async function preflight(outputs: OutputSpec[]): Promise<void> {
  for (const o of outputs) {
    const dir = o.format.target === 'dir' ? o.path : path.dirname(o.path);
    const stat = await fs.stat(dir).catch((err: unknown) => err as NodeJS.ErrnoException);
    if (stat instanceof Error) {
      if (o.format.target === 'dir' && stat.code === 'ENOENT' && (await isDir(path.dirname(dir)))) continue;
      throw new SessctlError(`--write ${o.format.name}:${o.path}: directory ${dir}: ${describeIoError(stat)}; nothing changed`);
    }
    if (!stat.isDirectory()) throw new SessctlError(`--write ${o.format.name}:${o.path}: ${dir} is not a directory; nothing changed`);
    if (o.format.target === 'file' && (await isDir(o.path))) throw new SessctlError(`--write ${o.format.name}:${o.path}: is a directory, expected a file; nothing changed`);
    try {
      await fs.access(dir, fs.constants.W_OK);
    } catch (err) {
      throw new SessctlError(`--write ${o.format.name}:${o.path}: directory ${dir}: ${describeIoError(err)}; nothing changed`);
    }
  }
}

async function isDir(p: string): Promise<boolean> {
  return (await fs.stat(p).catch(() => undefined))?.isDirectory() ?? false;
}

/** Write every planned file, each atomically. */
async function writeOutputs(planned: Planned[], options: RotateOptions): Promise<void> {
  for (const { report: out, files } of planned) {
    if (out.format === 'nginx') await fs.mkdir(out.path, { mode: 0o700 }).catch(() => {});
    for (const file of files) {
      await removeStaleTemps(file.path);
      await writeFileAtomic(file.path, file.data);
      if (options.pauseBetweenWritesMs) await sleep(options.pauseBetweenWritesMs);
    }
  }
}

interface Planned {
  report: OutputReport;
  files: { path: string; data: Buffer }[];
}

async function plan(ring: KeyRing, options: RotateOptions): Promise<Planned[]> {
  const planned: Planned[] = [];
  for (const o of options.outputs) {
    const previousSlots = o.format.name === 'nginx' ? await existingPreviousSlots(o.path) : undefined;
    const files = o.format.render(ring, {
      now: options.now,
      ...(previousSlots === undefined ? {} : { previousSlots }),
      ...(options.random ? { random: options.random } : {}),
    });
    const paths = files.map((f) => ({ path: f.name === '' ? o.path : path.join(o.path, f.name), data: f.data }));
    planned.push({ report: { format: o.format.name, path: o.path, files: paths.map((p) => p.path) }, files: paths });
  }
  return planned;
}

/** The highest previous-N.key slot an nginx directory already has (so nginx.conf's slots all stay filled). */
async function existingPreviousSlots(dir: string): Promise<number> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  return Math.max(1, ...names.map((n) => previousSlotNumber(n) ?? 0));
}

function report(options: RotateOptions, ring: KeyRing, status: RotateStatus, outputs: OutputReport[]): RotateReport {
  const age = currentAge(ring, options.now);
  return {
    status,
    dryRun: Boolean(options.dryRun),
    ring: options.ring.name,
    size: ring.size,
    keep: ring.keep,
    currentAge: age,
    ...(options.ifOlderThan === undefined ? {} : { dueAt: options.now - age + options.ifOlderThan }),
    keys: describeKeys(ring, options.now),
    outputs,
    failures: [],
  };
}

/**
 * Copy the committed ring to a --push target, unless the target already holds
 * a newer ring: a later rotation (another host's run) that pushed there
 * first. Copying over it would take back the key its servers were given to
 * encrypt with next. On a store the write is conditional on what was read, so
 * a push racing this one is seen and decided again, once. A target holding
 * something that is not a ring is overwritten.
 */
async function pushRing(target: RingStorage, ring: KeyRing): Promise<'pushed' | 'newer-there'> {
  for (let attempt = 0; attempt < 2; attempt++) {
    let there: KeyRing | undefined;
    try {
      there = await target.read();
    } catch (err) {
      if (!(err instanceof SessctlError)) throw err;
      there = undefined;
    }
    if (there !== undefined && nextKey(there).createdAt > nextKey(ring).createdAt) return 'newer-there';
    if (await target.write(ring)) return 'pushed';
  }
  throw new SessctlError(`${target.name} was changed by another run twice while this one pushed to it`);
}

/**
 * Bring HAProxy's in-memory ring to [previous, current, next] of `ring`. When
 * its newest key is the new current key (it was in sync before this
 * rotation), one `set ssl tls-key` with the new next key does it; otherwise
 * push all three keys, oldest first. Then read back `show tls-keys`.
 */
/** How long --exec may run before it is killed (a reload takes seconds). */
export const DEFAULT_EXEC_TIMEOUT_MS = 60_000;
/** After SIGTERM, how long a timed-out --exec has before SIGKILL. */
const EXEC_KILL_GRACE_MS = 2000;

async function pushToHaproxy(socket: string, ring: KeyRing, now: number, outputs: OutputSpec[]): Promise<NonNullable<RotateReport['haproxy']>> {
  const file = outputs.find((o) => o.format.name === 'haproxy')?.path;
  const ref = await findTlsKeyRef(socket, file);
  const before = await showTlsKeys(socket, ref);
  const current = currentKey(ring);
  const next = nextKey(ring);
  const inSync = before.length > 0 && before[before.length - 1]!.subarray(0, 16).equals(current.name);
  const previous = previousKeys(ring, now)[0];
  const push = inSync ? [next] : [...(previous ? [previous] : []), current, next];
  for (const key of push) await setTlsKey(socket, ref, haproxyKeyLine(key));
  const after = await showTlsKeys(socket, ref);
  const names = after.map((k) => k.subarray(0, 16).toString('hex'));
  if (names[names.length - 2] !== current.name.toString('hex') || names[names.length - 1] !== next.name.toString('hex')) {
    throw new SessctlError(`HAProxy ${ref} does not hold the ring's current and next keys after the push`);
  }
  return { socket, ref, pushed: push.map((k) => k.name.toString('hex')), keys: names };
}

/**
 * Run `command` with /bin/sh in a process group of its own; after
 * `timeoutMs`, SIGTERM the group (SIGKILL 2 s later): a hung reload must not
 * hold the rotation lock, and with it every later cron run, for ever.
 */
async function runExec(command: string, timeoutMs: number): Promise<{ exitCode: number; lastLine?: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    let timedOut = false;
    const keep = (d: Buffer): void => {
      output = (output + d.toString('utf8')).slice(-4096);
    };
    const killGroup = (signal: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // Already gone.
      }
    };
    let settled = false;
    const finish = (result: { exitCode: number; lastLine?: string; timedOut: boolean }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup('SIGTERM');
      setTimeout(() => {
        killGroup('SIGKILL');
        // Something that left the group may still hold the output pipes: do not wait for them.
        child.stdout.destroy();
        child.stderr.destroy();
        finish({ exitCode: 128 + 9, timedOut: true });
      }, EXEC_KILL_GRACE_MS).unref();
    }, timeoutMs);
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => finish({ exitCode: 127, lastLine: err.message, timedOut: false }));
    child.on('close', (code, signal) => {
      const lastLine = output.trim().split('\n').pop()?.trim();
      finish({ exitCode: code ?? (signal ? 128 : 1), ...(lastLine ? { lastLine } : {}), timedOut });
    });
  });
}
