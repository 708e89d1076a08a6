/**
 * The outputs of a rotation (`--write FORMAT:PATH`): checked before anything
 * changes, planned (the bytes of every file, from the ring, and the keys of
 * the decrypt window each one cannot hold), then written, each file
 * atomically and 0600, and files a layout no longer uses removed.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SessctlError } from '../errors.js';
import { describeIoError, removeStaleTemps, writeFileAtomic } from './atomic.js';
import { outputLabel, type OutputSpec } from './formats/index.js';
import { currentKey, decryptsUntil, keyState, previousKeys, type KeyRing, type KeyState } from './ring.js';

/** A key of the decrypt window that an output's servers do not hold. */
export interface DroppedKey {
  name: string;
  state: KeyState;
  /** Previous keys: when the ring's decrypt window for it ends, unix seconds. */
  decryptsUntil?: number;
}

export interface OutputReport {
  format: string;
  path: string;
  /** Files written (or that would be written under --dry-run). */
  files: string[];
  /** Files of the layout removed (or that would be): slots it no longer has. */
  removed?: string[];
  /** Keys of the decrypt window this output cannot give its servers: their tickets get full handshakes there. */
  dropped?: DroppedKey[];
}

export interface Planned {
  spec: OutputSpec;
  report: OutputReport;
  files: { path: string; data: Buffer }[];
}

/** Every target directory exists (or can be created) and is writable: fail before anything changes. */
export async function preflight(outputs: OutputSpec[]): Promise<void> {
  for (const o of outputs) {
    const where = `--write ${outputLabel(o)}`;
    let dir = o.format.target === 'dir' ? o.path : path.dirname(o.path);
    const stat = await fs.stat(dir).catch((err: unknown) => err as NodeJS.ErrnoException);
    if (stat instanceof Error) {
      if (!(o.format.target === 'dir' && stat.code === 'ENOENT' && (await isDir(path.dirname(dir))))) {
        throw new SessctlError(`${where}: directory ${dir}: ${describeIoError(stat)}; nothing changed`);
      }
      dir = path.dirname(dir); // created by the write: its parent must take it
    } else {
      if (!stat.isDirectory()) throw new SessctlError(`${where}: ${dir} is not a directory; nothing changed`);
      if (o.format.target === 'file' && (await isDir(o.path))) throw new SessctlError(`${where}: is a directory, expected a file; nothing changed`);
    }
    try {
      await fs.access(dir, fs.constants.W_OK);
    } catch (err) {
      throw new SessctlError(`${where}: directory ${dir}: ${describeIoError(err)}; nothing changed`);
    }
  }
}

async function isDir(p: string): Promise<boolean> {
  return (await fs.stat(p).catch(() => undefined))?.isDirectory() ?? false;
}

/** The files of every output for `ring`, what each removes, and the window keys each drops. */
export async function plan(ring: KeyRing, outputs: OutputSpec[], context: { now: number; rotationPeriod?: number }): Promise<Planned[]> {
  const planned: Planned[] = [];
  for (const o of outputs) {
    const rendered = o.format.render(ring, { now: context.now, path: o.path, ...(context.rotationPeriod === undefined ? {} : { rotationPeriod: context.rotationPeriod }) });
    const files = rendered.map((f) => ({ path: f.name === '' ? o.path : path.join(o.path, f.name), data: f.data }));
    const removed = o.format.owns ? await staleFiles(o.path, rendered.map((f) => f.name), o.format.owns) : [];
    const dropped = droppedKeys(ring, o, context.now);
    planned.push({
      spec: o,
      report: {
        format: o.format.name,
        path: o.path,
        files: files.map((f) => f.path),
        ...(removed.length === 0 ? {} : { removed }),
        ...(dropped.length === 0 ? {} : { dropped }),
      },
      files,
    });
  }
  return planned;
}

/** Files in a dir output that its format owns but no longer writes. */
async function staleFiles(dir: string, written: string[], owns: (name: string) => boolean): Promise<string[]> {
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => owns(n) && !written.includes(n)).sort().map((n) => path.join(dir, n));
}

/** The keys of the decrypt window (current and previous) that `output`'s servers do not hold. */
function droppedKeys(ring: KeyRing, output: OutputSpec, now: number): DroppedKey[] {
  const held = new Set(output.format.holds(ring, now).map((k) => k.name.toString('hex')));
  return [currentKey(ring), ...previousKeys(ring, now)]
    .filter((k) => !held.has(k.name.toString('hex')))
    .map((k) => {
      const until = decryptsUntil(ring, k);
      return { name: k.name.toString('hex'), state: keyState(ring, k, now), ...(until === undefined ? {} : { decryptsUntil: until }) };
    });
}

/**
 * The ring with each key's notHeldBy set from the plan: what `explain`,
 * `get --ring` and `--check` judge tickets by afterwards.
 */
export function withHoldings(ring: KeyRing, planned: Planned[]): KeyRing {
  const notHeld = new Map<string, string[]>();
  for (const p of planned) {
    for (const d of p.report.dropped ?? []) notHeld.set(d.name, [...(notHeld.get(d.name) ?? []), outputLabel(p.spec)]);
  }
  return {
    ...ring,
    keys: ring.keys.map((k) => {
      const { notHeldBy: _, ...key } = k;
      const by = notHeld.get(k.name.toString('hex'));
      return by ? { ...key, notHeldBy: by } : key;
    }),
  };
}

/** Write every planned file, each atomically, then remove the files a layout no longer has. */
export async function writeOutputs(planned: Planned[], options: { pauseBetweenWritesMs?: number } = {}): Promise<void> {
  for (const { spec, report, files } of planned) {
    if (spec.format.target === 'dir') {
      try {
        await fs.mkdir(spec.path, { mode: 0o700 });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw new SessctlError(`cannot create ${spec.path}: ${describeIoError(err)}`);
      }
    }
    for (const file of files) {
      await removeStaleTemps(file.path);
      await writeFileAtomic(file.path, file.data);
      if (options.pauseBetweenWritesMs) await sleep(options.pauseBetweenWritesMs);
    }
    for (const file of report.removed ?? []) {
      await fs.unlink(file).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'ENOENT') throw new SessctlError(`cannot remove ${file}: ${describeIoError(err)}`);
      });
    }
  }
}
