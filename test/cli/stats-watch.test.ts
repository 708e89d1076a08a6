/**
 * `stats --watch`: a line per interval with what the counters moved by, until
 * interrupted. The counters are moved by a real server: Node's TLS server
 * (examples/tls-server.js) keeping its sessions in the cache file, openssl
 * s_client resuming (a hit) and offering a session that was removed (a miss).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool, ROOT, runCli, tempDir } from '../helpers/env.js';
import { sClient, startExampleServer, type ExampleServer } from '../tls/peers.js';

const hasOpenssl = requireTool('openssl', 'openssl');
const TLS12_IDS = ['-tls1_2', '-no_ticket'];

interface Interval {
  at: string;
  seconds: number;
  hits: number;
  misses: number;
  hitRatio: number | null;
  inserts: number;
  sessions: number;
}

/** `sessctl stats --watch ...` running, its stdout gathered. */
function startWatch(args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/run.js'), 'stats', ...args], {
    env: { ...process.env, NO_COLOR: '1', OCLIF_SKIP_NEW_VERSION_CHECK: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

async function until<T>(what: string, check: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!hasOpenssl)('stats --watch', () => {
  const tmp = tempDir('sessctl-watch-');
  const store = path.join(tmp.dir, 'sessions.db');
  const sess = path.join(tmp.dir, 'sess.pem');
  let server: ExampleServer;

  beforeAll(async () => {
    server = await startExampleServer(['--store', store, '--no-tickets', '--tls-max', '1.2', '--session-id-context', 'watch']);
  });
  afterAll(async () => {
    await server.stop();
    tmp.cleanup();
  });

  it('reports the hits, misses, hit ratio and inserts of each interval, until SIGINT (exit 0)', async () => {
    const first = await sClient(server.port, [...TLS12_IDS, '-sess_out', sess]);
    expect(first.outcome, first.output).toBe('New');
    const watch = startWatch(['--store', store, '--watch', '1', '--json']);
    const intervals = (): Interval[] => watch.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Interval);
    try {
      await until('a first interval', () => (intervals().length > 0 ? true : undefined));
      // One hit: the client resumes. One miss: the session removed, the client offers it again.
      expect((await sClient(server.port, [...TLS12_IDS, '-sess_in', sess])).outcome).toBe('Reused');
      const removed = await runCli(['remove', first.sessionId!.toLowerCase(), '--store', store]);
      expect(removed.code, removed.stderr).toBe(0);
      expect((await sClient(server.port, [...TLS12_IDS, '-sess_in', sess])).outcome).toBe('New');
      const seen = await until('the hit, the miss and the insert to show', () => {
        const all = intervals();
        const sum = (k: 'hits' | 'misses' | 'inserts') => all.reduce((a, i) => a + i[k], 0);
        return sum('hits') >= 1 && sum('misses') >= 1 && sum('inserts') >= 1 ? all : undefined;
      });
      for (const i of seen) {
        expect(i.seconds).toBeGreaterThan(0.5);
        expect(i.hitRatio).toBe(i.hits + i.misses === 0 ? null : i.hits / (i.hits + i.misses));
      }
      expect(seen.reduce((a, i) => a + i.hits, 0)).toBe(1);
      expect(seen.reduce((a, i) => a + i.misses, 0)).toBe(1);
      // The server stored the new session of the second full handshake.
      expect(seen.at(-1)!.sessions).toBe(1);
    } finally {
      watch.child.kill('SIGINT');
    }
    expect(await watch.exited).toBe(0);
  });

  it('a bare --watch reads every second, in a table with a header', async () => {
    const watch = startWatch(['--watch', '--store', store]);
    try {
      const lines = await until('two intervals', () => {
        const l = watch.output().trimEnd().split('\n');
        return l.length >= 3 ? l : undefined;
      });
      expect(lines[0]).toMatch(/^TIME\s+HITS\s+MISSES\s+HIT%\s+TIMEOUTS\s+INSERTS\s+SESSIONS$/);
      expect(lines[1]).toMatch(/^\d\d:\d\d:\d\d\s+0\s+0\s+-\s+0\s+0\s+1$/);
    } finally {
      watch.child.kill('SIGINT');
    }
    expect(await watch.exited).toBe(0);
  });
});
