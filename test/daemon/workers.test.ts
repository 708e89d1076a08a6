/**
 * `sessctl serve --workers N`: several processes on one port over one cache
 * file, as an operator runs it. Connections are spread over the workers,
 * /metrics adds up all of them, a dead worker is replaced, SIGTERM stops them
 * all, and the configuration (the token) never shows in a worker's command
 * line or environment.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/lib/store/open.js';
import type { SessionStore } from '../../src/lib/store/types.js';
import { testEntry } from '../helpers/entries.js';
import { runCli, tempDir } from '../helpers/env.js';
import { startServe, type ServeChild } from '../helpers/serve.js';

const TOKEN = 'workers-test-token-2b7d90c1';
const WORKERS = 2;

let tmp: ReturnType<typeof tempDir>;
let tokenFile: string;
let daemon: ServeChild;
let store: SessionStore;

const workerPids = (log: string): Map<number, number> =>
  new Map([...log.matchAll(/"event":"worker_listening".*?"worker":(\d+),"pid":(\d+)/g)].map((m) => [Number(m[1]), Number(m[2])]));

async function metrics(): Promise<string> {
  const res = await fetch(`${daemon.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return res.text();
}

beforeAll(async () => {
  tmp = tempDir('sessctl-workers-');
  tokenFile = path.join(tmp.dir, 'token');
  writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
  daemon = await startServe(['--listen', '127.0.0.1:0', '--store', path.join(tmp.dir, 'sessions.db'), '--token-file', tokenFile, '--workers', String(WORKERS), '--log-requests', '--json']);
  store = await openStore(daemon.url, { token: TOKEN });
});

afterAll(async () => {
  await store?.terminate();
  await daemon?.stop();
  tmp?.cleanup();
});

describe('sessctl serve --workers', () => {
  it('serves from every worker over the one cache file, and /metrics counts them all', async () => {
    expect(workerPids(daemon.log()).size).toBe(WORKERS);
    const entries = Array.from({ length: 40 }, (_, i) => testEntry(i, { salt: 0x3a7 }));
    // Concurrent requests open several pooled connections, which the primary spreads over the workers.
    await Promise.all(entries.map((e) => store.update(e)));
    const found = await Promise.all(entries.map((e) => store.lookup(e.key)));
    found.forEach((f, i) => expect(f?.der.equals(entries[i]!.der)).toBe(true));

    const served = new Set([...daemon.log().matchAll(/"event":"request","route":"lookup".*?"worker":(\d+)/g)].map((m) => m[1]));
    expect(served.size).toBe(WORKERS);
    const text = await metrics();
    expect(text).toMatch(new RegExp(`^sessctl_workers ${WORKERS}$`, 'm'));
    expect(text).toMatch(/^sessctl_http_requests_total\{route="lookup",method="GET",code="200"\} 40$/m);
    expect(text).toMatch(/^sessctl_http_requests_total\{route="update",method="PUT",code="204"\} 40$/m);
  });

  it('keeps the token out of the workers\' command lines and environments', () => {
    for (const pid of workerPids(daemon.log()).values()) {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0');
      expect(argv).toContain('--single-threaded-gc');
      expect(argv.join(' ')).not.toContain(TOKEN);
      expect(readFileSync(`/proc/${pid}/environ`, 'latin1')).not.toContain(TOKEN);
    }
  });

  it('replaces a worker that dies, and keeps answering meanwhile: requests in flight, arriving, and after', async () => {
    const [first] = [...workerPids(daemon.log()).values()];
    const entry = testEntry(99, { salt: 0x3a7 });
    await store.update(entry);
    // In flight on both workers when one dies: the primary hands the connections
    // it had not handed over yet to the other worker, and the client sends a
    // lookup whose connection died unanswered once more.
    const inFlight = Array.from({ length: 30 }, () => store.lookup(entry.key));
    process.kill(first!, 'SIGKILL');
    const arriving = Array.from({ length: 30 }, () => store.lookup(entry.key));
    for (const found of await Promise.all([...inFlight, ...arriving])) expect(found?.der.equals(entry.der)).toBe(true);
    await store.update(entry);
    for (let i = 0; i < 20; i++) expect((await store.lookup(entry.key))?.der.equals(entry.der)).toBe(true);
    for (let waited = 0; workerPids(daemon.log()).size <= WORKERS && waited < 10_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    expect(daemon.log()).toMatch(/"event":"worker_exited".*"signal":"SIGKILL"/);
    expect(workerPids(daemon.log()).size).toBe(WORKERS + 1);
    expect(await metrics()).toMatch(new RegExp(`^sessctl_workers ${WORKERS}$`, 'm'));
  });

  it('stops every worker on SIGTERM, exits 0 and prints one --json result', async () => {
    await store.terminate();
    expect(await daemon.stop()).toBe(0);
    const result = JSON.parse(daemon.stdout()) as { workers: number; url: string; signal: string };
    expect(result).toMatchObject({ workers: WORKERS, url: daemon.url, signal: 'SIGTERM' });
    for (const pid of workerPids(daemon.log()).values()) expect(() => process.kill(pid, 0)).toThrow();
  });

  it('workers stop when the primary is killed, leaving nothing behind', async () => {
    const other = await startServe(['--listen', '127.0.0.1:0', '--store', path.join(tmp.dir, 'other.db'), '--token-file', tokenFile, '--workers', String(WORKERS)]);
    const pids = [...workerPids(other.log()).values()];
    expect(pids).toHaveLength(WORKERS);
    other.process.kill('SIGKILL');
    await other.exited;
    const alive = () => pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    for (let waited = 0; alive().length > 0 && waited < 10_000; waited += 100) await new Promise((r) => setTimeout(r, 100));
    expect(alive()).toEqual([]);
  });

  it('refuses --workers over memory:, with one line and exit 2', async () => {
    const r = await runCli(['serve', '--listen', '127.0.0.1:0', '--store', 'memory:', '--token-file', tokenFile, '--workers', '2']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--workers needs a store the workers can share/);
  });
});
