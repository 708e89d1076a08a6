/**
 * A flushed cache file gives its space back (#15): a file made by this
 * sessctl shrinks after `flush` (incremental vacuum); an older file keeps its
 * size until `flush --compact`, and `flush` and `stats` say how much is free.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { derWithSessionId, loadVector, sessionId } from '../helpers/entries.js';
import { runCli, tempDir } from '../helpers/env.js';

const tmp = tempDir('sessctl-space-');
afterAll(() => tmp.cleanup());

const COUNT = 3000;
const YEAR = ['--timeout', String(365 * 86400)];

function manySessions(file: string): string {
  const vector = loadVector('07-server-tls12-dhe-rsa-aes128gcm-alpn');
  const blocks: string[] = [];
  for (let i = 0; i < COUNT; i++) {
    const der = derWithSessionId(vector, sessionId(i, 0x5ace));
    blocks.push(`-----BEGIN SSL SESSION PARAMETERS-----\n${der.toString('base64')}\n-----END SSL SESSION PARAMETERS-----\n`);
  }
  writeFileSync(file, blocks.join(''));
  return file;
}

const pem = manySessions(path.join(tmp.dir, 'many.pem'));
/** The database and its -wal file: what the cache takes on disk. */
const onDisk = (file: string) => statSync(file).size + (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);

async function fill(name: string): Promise<string> {
  const store = path.join(tmp.dir, name);
  const r = await runCli(['insert', '--store', store, ...YEAR, pem], { timeoutMs: 60_000 });
  expect(r.code, r.stderr).toBe(0);
  return store;
}

async function stats(store: string): Promise<{ total: number; space: { fileBytes: number; freeBytes: number } }> {
  const r = await runCli(['stats', '--store', store, '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
}

describe('the cache file after a flush', () => {
  it('a file made by this sessctl shrinks after flush --all, and stats says nothing is free', async () => {
    const store = await fill('new.db');
    const full = onDisk(store);
    expect(full).toBeGreaterThan(COUNT * 300);
    const r = await runCli(['flush', '--all', '--yes', '--store', store], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^removed 3000 sessions .*\nfile \d+\.\d KiB, none of it free\n$/);
    expect(onDisk(store)).toBeLessThan(full / 10);
    const after = await stats(store);
    expect(after.total).toBe(0);
    expect(after.space.freeBytes).toBe(0);
    expect(after.space.fileBytes).toBe(onDisk(store));
  }, 120_000);

  it('an older file (no auto_vacuum) keeps its size and says how much is free; flush --compact gives it back', async () => {
    const store = await fill('old.db');
    // What files made before this change look like: auto_vacuum off.
    const db = new Database(store);
    db.pragma('auto_vacuum = NONE');
    db.exec('VACUUM');
    db.close();
    const full = onDisk(store);
    const r = await runCli(['flush', '--all', '--yes', '--store', store], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\nfile \d+\.\d MiB, \d+\.\d MiB of it free \(flush --compact gives it back\)\n$/);
    const before = await stats(store);
    expect(before.space.freeBytes).toBeGreaterThan(full / 2);
    const human = await runCli(['stats', '--store', store]);
    expect(human.stdout).toMatch(/\nSpace {5}file \d+\.\d MiB, \d+\.\d MiB of it free \(flush --compact gives it back\)\n/);

    const compact = await runCli(['flush', '--compact', '--store', store, '--json'], { timeoutMs: 60_000 });
    expect(compact.code, compact.stderr).toBe(0);
    expect(JSON.parse(compact.stdout)).toMatchObject({ removed: 0, space: { freeBytes: 0 } });
    expect(onDisk(store)).toBeLessThan(full / 10);
    // From then on it gives space back by itself.
    const check = new Database(store, { readonly: true });
    expect(check.pragma('auto_vacuum', { simple: true })).toBe(2);
    check.close();
  }, 120_000);
});
