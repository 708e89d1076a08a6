/**
 * The daemon going away and coming back: the cache file keeps its sessions,
 * clients get a clear error while it is down and carry on after a restart
 * without reopening the store, and SIGTERM lets a request in flight finish.
 */
import { rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/lib/store/open.js';
import type { SessionStore } from '../../src/lib/store/types.js';
import { testEntry } from '../helpers/entries.js';
import { freePort, tempDir } from '../helpers/env.js';
import { startServe, type ServeChild } from '../helpers/serve.js';

const TOKEN = 'fault-test-token-93b1d0c7a2';
const SALT = 0xfa17;

let tmp: ReturnType<typeof tempDir>;
let args: string[];
let daemon: ServeChild | undefined;
let port: number;

beforeAll(async () => {
  tmp = tempDir('sessctl-daemon-faults-');
  const tokenFile = path.join(tmp.dir, 'token');
  writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
  port = await freePort();
  args = ['--listen', `127.0.0.1:${port}`, '--store', path.join(tmp.dir, 'sessions.db'), '--token-file', tokenFile];
});

afterAll(async () => {
  await daemon?.stop();
  tmp?.cleanup();
});

describe('sessctl serve: restarts', () => {
  it('keeps the sessions of its cache file across restarts, and clients carry on without reopening', async () => {
    daemon = await startServe(args);
    const store: SessionStore = await openStore(daemon.url, { token: TOKEN, timeoutMs: 2000 });
    try {
      const entries = Array.from({ length: 30 }, (_, i) => testEntry(i, { salt: SALT }));
      for (const e of entries) await store.update(e);
      expect((await store.lookup(entries[0]!.key))?.der.equals(entries[0]!.der)).toBe(true);

      expect(await daemon.stop()).toBe(0);
      daemon = undefined;
      // Down: a clear error, quickly, for every kind of operation.
      await expect(store.lookup(entries[1]!.key)).rejects.toThrow(`sessctl daemon http://127.0.0.1:${port} is not answering (connection refused)`);
      await expect(store.size()).rejects.toThrow(/is not answering/);
      await expect(store.update(testEntry(99, { salt: SALT }))).rejects.toThrow(/is not answering/);

      daemon = await startServe(args);
      // Same store object, same pool: it reconnects by itself.
      expect(await store.size()).toBe(30);
      for (const e of entries) expect((await store.lookup(e.key))?.der.equals(e.der), e.key).toBe(true);
      expect((await store.counters()).inserts).toBe(30);

      // A restart while the pool holds idle keep-alive connections to the old process.
      await Promise.all(entries.slice(0, 10).map((e) => store.lookup(e.key)));
      await daemon.stop();
      daemon = await startServe(args);
      const again = await Promise.all(entries.slice(0, 10).map((e) => store.lookup(e.key)));
      expect(again.every((got, i) => got?.der.equals(entries[i]!.der))).toBe(true);
    } finally {
      await store.terminate();
    }
  });

  it('bounds a daemon that accepts but never answers by the timeout', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port: silentPort } = silent.address() as net.AddressInfo;
    try {
      await expect(openStore(`http://127.0.0.1:${silentPort}`, { token: TOKEN, timeoutMs: 300 })).rejects.toThrow(
        `sessctl daemon http://127.0.0.1:${silentPort} is not answering (no answer within 300 ms)`,
      );
    } finally {
      silent.close();
    }
  });

  it('with --json, prints where it listened, its store and the signal that stopped it', async () => {
    const child = await startServe(['--listen', '127.0.0.1:0', '--no-auth', '--store', 'memory:', '--json']);
    expect(child.stdout()).toBe('');
    expect(await child.stop()).toBe(0);
    expect(JSON.parse(child.stdout())).toEqual({ url: child.url, store: 'memory:', tls: false, auth: 'none', workers: 1, signal: 'SIGTERM' });
  });

  it('on SIGTERM finishes the request in flight, then exits 0', async () => {
    daemon ??= await startServe(args);
    const entry = testEntry(500, { salt: SALT });
    const meta = JSON.stringify({ ...entry, der: undefined });
    // Send a PUT's headers and half its body, then SIGTERM, then the rest.
    const socket = net.connect(port, '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.write(
      `PUT /v1/sessions/${entry.key} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\n` +
        `Sessctl-Entry: ${meta}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${entry.der.length}\r\n\r\n`,
    );
    const half = entry.der.length >> 1;
    socket.write(entry.der.subarray(0, half));
    await new Promise((resolve) => setTimeout(resolve, 200));
    daemon.process.kill('SIGTERM');
    await new Promise((resolve) => setTimeout(resolve, 300));
    socket.end(entry.der.subarray(half));
    await closed;
    expect(answer).toMatch(/^HTTP\/1\.1 204/);
    expect(answer.toLowerCase()).toContain('connection: close');
    expect(await daemon.exited).toBe(0);
    expect(daemon.log()).toMatch(/"event":"stopping","inFlight":1/);
    daemon = await startServe(args);
    const store = await openStore(daemon.url, { token: TOKEN });
    try {
      expect((await store.lookup(entry.key))?.der.equals(entry.der)).toBe(true);
    } finally {
      await store.terminate();
    }
  });
});

describe('the cache file removed or replaced under the daemon', () => {
  it('/healthz turns 503 and the log names the file, once; sessions keep being served meanwhile', async () => {
    const file = path.join(tmp.dir, 'ghost.db');
    const tokenFile = path.join(tmp.dir, 'token');
    const ghost = await startServe(['--listen', '127.0.0.1:0', '--store', file, '--token-file', tokenFile]);
    const store = await openStore(ghost.url, { token: TOKEN });
    try {
      const health = async () => {
        const res = await fetch(`${ghost.url}/healthz`);
        return { status: res.status, body: (await res.json()) as { status: string; problem?: string } };
      };
      expect(await health()).toEqual({ status: 200, body: { status: 'ok' } });
      const kept = testEntry(1, { salt: SALT + 1 });
      await store.update(kept);

      // An operator "clears the cache" by hand.
      rmSync(file);
      const removed = await health();
      expect(removed.status).toBe(503);
      expect(removed.body.status).toBe('degraded');
      // Unauthenticated: no path in the answer; the log has it.
      expect(JSON.stringify(removed.body)).not.toContain(tmp.dir);
      expect(ghost.log()).toMatch(/"event":"store_problem".*ghost\.db was removed/);
      // The daemon still answers from the file it has open.
      expect((await store.lookup(kept.key))?.der.equals(kept.der)).toBe(true);

      // A new file at the path (a restore, another process creating it) is not the one open either.
      writeFileSync(file, '');
      expect((await health()).status).toBe(503);
      await waitFor(() => /ghost\.db was replaced/.test(ghost.log()));
      await health();
      expect(ghost.log().match(/was replaced/g)).toHaveLength(1);
    } finally {
      await store.terminate();
      await ghost.stop();
    }
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 50 && !condition(); i++) await new Promise((r) => setTimeout(r, 100));
  expect(condition()).toBe(true);
}
