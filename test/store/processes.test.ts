/**
 * The cache file shared by real processes: concurrent writers and readers,
 * and writers killed with SIGKILL. The workers (writer.mjs, reader.mjs) use
 * the built library in dist/: `npm run build` (or `npx tsc -p tsconfig.build.json`) first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileStore } from '../../src/lib/store/file.js';
import { ROOT, tempDir } from '../helpers/env.js';

const WRITER = path.join(ROOT, 'test/store/writer.mjs');
const READER = path.join(ROOT, 'test/store/reader.mjs');

let tmp: ReturnType<typeof tempDir>;
beforeAll(() => {
  if (!existsSync(path.join(ROOT, 'dist/lib/store/open.js'))) throw new Error('dist/ is missing: run `npm run build` first');
  tmp = tempDir('sessctl-processes-');
});
afterAll(() => tmp?.cleanup());

interface Worker {
  child: ChildProcess;
  /** Keys the worker printed, i.e. inserts whose update() had resolved. */
  acknowledged: string[];
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startWorker(script: string, args: string[], onLine?: (line: string) => void): Worker {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const acknowledged: string[] = [];
  let partial = '';
  let err = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      acknowledged.push(line);
      onLine?.(line);
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    err += chunk;
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  return { child, acknowledged, stderr: () => err, exit };
}

function integrityCheck(file: string): string {
  const db = new Database(file, { readonly: true });
  try {
    return (db.pragma('integrity_check') as { integrity_check: string }[]).map((r) => r.integrity_check).join('; ');
  } finally {
    db.close();
  }
}

describe('one cache file, many processes', () => {
  it('4 writers (500 sessions each) and a reader folding all the while: no error, no lost insert', async () => {
    const file = path.join(tmp.dir, 'concurrent', 'sessions.db');
    // All five processes race to create the file and its schema.
    const reader = startWorker(READER, [file]);
    const writers = [0, 1, 2, 3].map((id) => startWorker(WRITER, [file, '500', String(id)]));
    const results = await Promise.all(writers.map((w) => w.exit));
    reader.child.stdin!.end();
    const readerExit = await reader.exit;

    for (const [i, r] of results.entries()) expect({ worker: i, ...r, stderr: writers[i]!.stderr() }).toEqual({ worker: i, code: 0, signal: null, stderr: '' });
    expect({ ...readerExit, stderr: reader.stderr() }).toEqual({ code: 0, signal: null, stderr: '' });
    const summary = JSON.parse(reader.acknowledged[0]!) as { loops: number; maxSeen: number };
    expect(summary.loops).toBeGreaterThan(0);

    const store = await FileStore.open(file);
    expect(await store.size()).toBe(2000);
    expect((await store.counters()).inserts).toBe(2000);
    for (const w of writers) {
      expect(w.acknowledged.length).toBe(500);
      for (const key of w.acknowledged) expect(await store.lookup(key)).toBeDefined();
    }
    await store.terminate();
    expect(integrityCheck(file)).toBe('ok');
  }, 120_000);

  it('a writer killed with SIGKILL at random moments, 20 times: the file stays sound and every acknowledged insert is there', async () => {
    const file = path.join(tmp.dir, 'crash', 'sessions.db');
    const acknowledged: string[] = [];
    for (let round = 0; round < 20; round++) {
      let resolveFirst!: () => void;
      const first = new Promise<void>((r) => (resolveFirst = r));
      const worker = startWorker(WRITER, [file, '1000000', String(1000 + round)], resolveFirst);
      const exited = worker.exit.then(() => resolveFirst());
      await first;
      // Kill somewhere in the middle of the insert stream (0-60 ms after the first acknowledgement).
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 60)));
      worker.child.kill('SIGKILL');
      const { signal } = await worker.exit;
      await exited;
      expect(signal, worker.stderr()).toBe('SIGKILL');
      expect(worker.acknowledged.length).toBeGreaterThan(0);
      acknowledged.push(...worker.acknowledged.filter((k) => k !== ''));
    }

    expect(integrityCheck(file)).toBe('ok');
    const store = await FileStore.open(file);
    const missing: string[] = [];
    for (const key of acknowledged) if ((await store.lookup(key)) === undefined) missing.push(key);
    expect(missing).toEqual([]);
    const size = await store.size();
    expect(size).toBeGreaterThanOrEqual(acknowledged.length);
    // An insert and its counter commit together: the count never falls behind the rows.
    expect((await store.counters()).inserts).toBe(size);
    await store.terminate();
  }, 180_000);
});
