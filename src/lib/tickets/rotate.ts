/**
 * `rotate-keys`: rotate the ring and write every output, safe from cron.
 *
 * Order, so a crash (even SIGKILL) at any point is harmless:
 *   1. check everything that can be checked (formats, sizes, target dirs);
 *   2. take the lock (file rings), load the ring, decide whether a rotation
 *      is due, or whether this host's last run left steps pending;
 *   3. write every output atomically (each file old or new, never half);
 *   4. write the ring atomically: the commit point. Killed before it, the old
 *      ring stays and the next run redoes the rotation; the new current key is
 *      the old next key either way, which every output already held. A ring
 *      in a store is written only if it is still the one read in step 2; if
 *      another run (another host's cron) committed first, its ring wins: the
 *      outputs are written again from it, and this run goes on with it.
 *      When steps follow (--push, --haproxy-socket, --exec), the ring is
 *      committed with this host marked pending, so that a run killed during
 *      them is redone too;
 *   5. push to the stores and HAProxy, then run --exec; then the pending mark
 *      is cleared, or kept with what failed: the next run redoes steps 3-5
 *      even when no rotation is due, and fails until they succeed.
 *
 * Where the ring is kept: ring-storage.ts; writing the outputs: outputs.ts;
 * the HAProxy push: haproxy-push.ts; --exec: exec.ts.
 */
import { hostname } from 'node:os';
import { NotFoundError, SessctlError, usageError } from '../errors.js';
import { DEFAULT_EXEC_TIMEOUT_MS, describeExec, execSucceeded, runExec } from './exec.js';
import { checkSizes, type OutputSpec } from './formats/index.js';
import { pushToHaproxy, type HaproxyPush } from './haproxy-push.js';
import { plan, preflight, withHoldings, writeOutputs, type OutputReport, type Planned } from './outputs.js';
import type { RingStorage } from './ring-storage.js';
import {
  createRing,
  currentAge,
  describeKeys,
  nextKey,
  rotateRing,
  withPending,
  type KeyRing,
  type KeySize,
  type KeyView,
  type PendingRun,
  type RandomBytes,
} from './ring.js';

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
  /** This host's name in the ring's pending list (default: os.hostname()). */
  host?: string;
  /** Pause between file writes so a test can kill the process mid-rotation. */
  pauseBetweenWritesMs?: number;
  random?: RandomBytes;
}

/** `retried`: not due, but this host's last run left steps pending, and they were redone. */
export type RotateStatus = 'rotated' | 'created' | 'not-due' | 'retried';

export type { OutputReport } from './outputs.js';

export interface ExecReport {
  command: string;
  /** null when a signal ended it. */
  exitCode: number | null;
  signal?: string;
  /** Killed after --exec-timeout. */
  timedOut: boolean;
  ok: boolean;
  /** "exited 0", "exited 1: ...", "killed after 60 s (--exec-timeout)". */
  result: string;
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
  haproxy?: HaproxyPush;
  exec?: ExecReport;
  /** Stores the ring was pushed to. */
  pushed?: string[];
  /** Push targets left as they were: they hold a newer ring (a later rotation's, pushed there first). */
  pushSkipped?: string[];
  /**
   * Another run committed a rotation between this run's read and its commit:
   * the keys, outputs, pushes and --exec are those of that run's ring.
   */
  rotatedElsewhere?: boolean;
  /** The steps this host's earlier run left pending, redone by this run. */
  retried?: { since: number; reason: string };
  /** Steps still pending after this run (the next run redoes them). */
  pending?: { since: number; reason: string };
  /** Steps after the commit that failed (the ring and files are rotated). Empty when all went well. */
  failures: string[];
}

export async function rotateKeys(options: RotateOptions): Promise<RotateReport> {
  const { now } = options;
  const host = options.host ?? hostname();
  await preflight(options.outputs);
  const release = options.dryRun ? async () => {} : await options.ring.lock();
  try {
    const old = await options.ring.read();
    if (old && options.size !== undefined && options.size !== old.size) {
      throw usageError(`the ring ${options.ring.name} holds ${old.size}-byte keys; --size ${options.size} needs a new ring (another --ring file)`);
    }
    const size = old?.size ?? options.size ?? 48;
    checkSizes(options.outputs, size);
    const pendingBefore = old?.pending?.find((p) => p.host === host);

    let ring: KeyRing;
    let status: RotateStatus;
    if (old && options.ifOlderThan !== undefined && currentAge(old, now) < options.ifOlderThan) {
      if (!pendingBefore) return report(options, old, 'not-due', []);
      ring = old;
      status = 'retried';
    } else {
      const keep = options.keep === undefined ? {} : { keep: options.keep };
      const random = options.random ? { random: options.random } : {};
      ring = old ? rotateRing(old, now, { ...keep, ...random }) : createRing(now, { size, ...keep, ...random });
      status = old ? 'rotated' : 'created';
    }

    const context = { now, ...(options.ifOlderThan === undefined ? {} : { rotationPeriod: options.ifOlderThan }) };
    let outputs = await plan(ring, options.outputs, context);
    ring = withHoldings(ring, outputs);
    if (options.dryRun) return withRetry(report(options, ring, status, outputs.map((p) => p.report)), pendingBefore);

    const steps = Boolean(options.exec || options.haproxySocket || options.push?.length);
    const since = pendingBefore?.since ?? now;
    const interrupted = { since, reason: pendingBefore?.reason ?? 'the run was stopped before its --push, --haproxy-socket and --exec steps ended' };
    await writeOutputs(outputs, options);
    // The commit point.
    let committed = steps ? withPending(ring, host, interrupted) : withPending(ring, host, pendingBefore && { since, reason: pendingBefore.reason });
    let elsewhere = false;
    if (!(await options.ring.write(committed))) {
      // Another run committed first (cron on several hosts sharing a store): its ring wins.
      const winner = await options.ring.read();
      if (winner === undefined) throw new SessctlError(`the ring in ${options.ring.name} was removed while this run rotated it; nothing was committed: run again`);
      checkSizes(options.outputs, winner.size);
      outputs = await plan(winner, options.outputs, context);
      await writeOutputs(outputs, options);
      committed = winner;
      elsewhere = true;
    }

    const result = withRetry(report(options, committed, status, outputs.map((p) => p.report)), pendingBefore);
    if (elsewhere) result.rotatedElsewhere = true;
    await runSteps(options, committed, result);

    // Steps pending from before are redone only by a run that has them; without any, they stay pending.
    const failed = result.failures.length > 0 ? result.failures.join('; ') : !steps && pendingBefore ? pendingBefore.reason : undefined;
    if (!steps && pendingBefore) {
      result.failures.push(`steps pending since ${isoTime(since)} (${pendingBefore.reason}) were not redone: run with this host's --exec, --haproxy-socket and --push`);
    }
    const final = withPending(committed, host, failed === undefined ? undefined : { since, reason: failed });
    if (failed !== undefined) result.pending = { since, reason: failed };
    if (!samePending(final.pending, committed.pending) && !(await options.ring.write(final))) {
      result.failures.push(`the ring in ${options.ring.name} changed during the steps; ${failed === undefined ? 'the pending mark was left' : 'the failure was not recorded'}: the next run decides again`);
    }
    return result;
  } finally {
    await release();
  }
}

/** --push, then HAProxy, then --exec: each failure is recorded, none stops the next. */
async function runSteps(options: RotateOptions, ring: KeyRing, result: RotateReport): Promise<void> {
  // A copy carries no pending marks: they are the state of the hosts rotating this ring, not of the copy's readers.
  const { pending: _, ...copy } = ring;
  for (const target of options.push ?? []) {
    try {
      if ((await pushRing(target, copy)) === 'pushed') (result.pushed ??= []).push(target.name);
      else (result.pushSkipped ??= []).push(target.name);
    } catch (err) {
      result.failures.push(`push to ${target.name}: ${err instanceof SessctlError ? err.message : String(err)}`);
    }
  }
  if (options.haproxySocket) {
    try {
      const file = options.outputs.find((o) => o.format.name === 'haproxy')?.path;
      result.haproxy = await pushToHaproxy(options.haproxySocket, ring, options.now, file);
    } catch (err) {
      result.failures.push(`HAProxy push: ${err instanceof SessctlError ? err.message : String(err)}`);
    }
  }
  if (options.exec) {
    const timeoutMs = options.execTimeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    const exec = await runExec(options.exec, timeoutMs);
    const ok = execSucceeded(exec);
    result.exec = {
      command: options.exec,
      exitCode: exec.exitCode,
      ...(exec.signal ? { signal: exec.signal } : {}),
      timedOut: exec.timedOut,
      ok,
      result: describeExec(exec, timeoutMs),
    };
    if (!ok) result.failures.push(`--exec ${describeExec(exec, timeoutMs)}`);
  }
}

function withRetry(r: RotateReport, pendingBefore: PendingRun | undefined): RotateReport {
  if (pendingBefore) r.retried = { since: pendingBefore.since, reason: pendingBefore.reason };
  return r;
}

function samePending(a: PendingRun[] | undefined, b: PendingRun[] | undefined): boolean {
  return JSON.stringify(a ?? []) === JSON.stringify(b ?? []);
}

const isoTime = (t: number): string => new Date(t * 1000).toISOString().replace('.000Z', 'Z');

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
