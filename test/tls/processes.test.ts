/**
 * End to end: separate server processes (examples/tls-server.js over dist/)
 * sharing one cache file, driven by `openssl s_client` and administered with
 * the sessctl CLI. Needs `npm run build` first.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, requireTool, runCli, tempDir } from '../helpers/env.js';
import { httpsGet, sClient, startExampleServer, type ExampleServer } from './peers.js';

const HAS_OPENSSL = requireTool('openssl', 'openssl');
const sessionIdOnly = ['-tls1_2', '-no_ticket'];

describe.skipIf(!HAS_OPENSSL)('two server processes sharing one cache file', () => {
  const temp = tempDir('sessctl-tls-');
  const store = path.join(temp.dir, 'sessions.db');
  const servers: ExampleServer[] = [];
  let a: ExampleServer;
  let b: ExampleServer;
  let other: ExampleServer;

  beforeAll(async () => {
    [a, b, other] = await Promise.all([
      startExampleServer(['--store', store, '--session-id-context', 'fleet', '--tls-max', '1.2']),
      startExampleServer(['--store', store, '--session-id-context', 'fleet', '--tls-max', '1.2']),
      startExampleServer(['--store', store, '--session-id-context', 'elsewhere', '--tls-max', '1.2']),
    ]);
    servers.push(a, b, other);
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    temp.cleanup();
  });

  it('a session made by server A resumes on server B; sessctl lists it; after sessctl remove it does not', async () => {
    const sess = path.join(temp.dir, 'a.pem');
    const first = await sClient(a.port, [...sessionIdOnly, '-sess_out', sess]);
    expect(first.outcome).toBe('New');
    expect(first.sessionId).toMatch(/^[0-9a-f]{64}$/);

    const onB = await sClient(b.port, [...sessionIdOnly, '-sess_in', sess]);
    expect(onB.outcome).toBe('Reused');

    const list = await runCli(['list', '--store', store, '--json']);
    expect(list.code).toBe(0);
    const listed = (JSON.parse(list.stdout) as { id: string; role: string; protocol: string }[]).find((e) => e.id === first.sessionId);
    expect(listed).toMatchObject({ role: 'server', protocol: 'TLSv1.2' });

    const removed = await runCli(['remove', first.sessionId!, '--store', store, '--yes']);
    expect(removed.code, removed.stderr).toBe(0);
    expect((await sClient(b.port, [...sessionIdOnly, '-sess_in', sess])).outcome).toBe('New');
    expect((await sClient(a.port, [...sessionIdOnly, '-sess_in', sess])).outcome).toBe('New');
  });

  it('a server with another session-id context does not resume it (and does not count a hit)', async () => {
    const sess = path.join(temp.dir, 'b.pem');
    expect((await sClient(a.port, [...sessionIdOnly, '-sess_out', sess])).outcome).toBe('New');
    // Each process batches its counters for a second: have A and B write what
    // they hold (B's hit from the test above, on a slow machine) before the baseline.
    await Promise.all([httpsGet(a.port, '/stats'), httpsGet(b.port, '/stats')]);
    const before = (await httpsGet(other.port, '/stats')) as { counters: { hits: number; misses: number } };
    expect((await sClient(other.port, [...sessionIdOnly, '-sess_in', sess])).outcome).toBe('New');
    expect((await sClient(b.port, [...sessionIdOnly, '-sess_in', sess])).outcome).toBe('Reused');
    await httpsGet(b.port, '/stats'); // makes B write its batched counters
    const after = (await httpsGet(other.port, '/stats')) as { counters: { hits: number; misses: number } };
    // Shared counters: B's resumption is the one hit; the other context's lookup is a miss.
    expect(after.counters.hits - before.counters.hits).toBe(1);
    expect(after.counters.misses - before.counters.misses).toBeGreaterThanOrEqual(1);
  });

  it('sessctl stats on the shared file shows the running servers’ counters', async () => {
    const stats = await runCli(['stats', '--store', store, '--json']);
    expect(stats.code, stats.stderr).toBe(0);
    expect(stats.stdout).toMatch(/"hits":\s*[1-9]/);
  });
});

describe.skipIf(!HAS_OPENSSL)('a cache file that becomes unusable while the server runs', () => {
  const temp = tempDir('sessctl-tls-');
  const store = path.join(temp.dir, 'sessions.db');
  let server: ExampleServer;

  beforeAll(async () => {
    server = await startExampleServer(['--store', store, '--session-id-context', 'fleet', '--tls-max', '1.2']);
  });

  afterAll(async () => {
    await server.stop();
    temp.cleanup();
  });

  it('leaves handshakes completing as full handshakes, counted as store errors and logged without secrets', async () => {
    const sess = path.join(temp.dir, 's.pem');
    expect((await sClient(server.port, [...sessionIdOnly, '-sess_out', sess])).outcome).toBe('New');
    expect((await sClient(server.port, [...sessionIdOnly, '-sess_in', sess])).outcome).toBe('Reused');
    expect(((await httpsGet(server.port, '/stats')) as { storeErrors: number }).storeErrors).toBe(0);

    // Scribble over the database and its WAL and index in place, as a bad disk
    // or a stray `cp` would: the open connection now reads "not a database".
    // (Removing or replacing the file would not do: the open descriptor keeps working.)
    for (const file of [store, `${store}-wal`, `${store}-shm`]) writeFileSync(file, randomBytes(64 * 1024));

    const resumeAttempt = await sClient(server.port, [...sessionIdOnly, '-sess_in', sess]);
    expect(resumeAttempt.outcome).toBe('New');
    const fresh = await sClient(server.port, sessionIdOnly);
    expect(fresh.outcome).toBe('New');

    const stats = (await httpsGet(server.port, '/stats')) as { storeErrors: number; counters: { error?: string } };
    expect(stats.storeErrors).toBeGreaterThanOrEqual(2);
    expect(stats.counters.error).toMatch(/not a database/);
    const logged = server.stderr().split('\n').filter((l) => l.startsWith('sessctl: session store failed'));
    expect(logged.length).toBeGreaterThanOrEqual(1);
    expect(logged[0]).toMatch(/not a database/);
    const masterKey = /Master-Key: ([0-9A-F]+)/.exec(resumeAttempt.output)?.[1];
    expect(masterKey).toBeDefined();
    expect(server.stderr().toUpperCase()).not.toContain(masterKey);
  });
});

describe('examples/tls-server.js on bad input', () => {
  it('says what is wrong in one line and exits 2', () => {
    const temp = tempDir('sessctl-tls-');
    mkdirSync(path.join(temp.dir, 'a-directory'));
    const cases: [string[], RegExp][] = [
      [['--tls-max', '1.1'], /--tls-max must be 1\.2 or 1\.3, not "1\.1"/],
      [['--port', 'http'], /--port must be a whole number/],
      [['--cert', path.join(temp.dir, 'c.pem')], /give both --cert and --key/],
      [['--store', path.join(temp.dir, 'a-directory')], /it is a directory/],
      [['--session-id-context', 'x'.repeat(40)], /at most 32/],
      [['--colour'], /Unknown option '--colour'/],
    ];
    try {
      for (const [args, message] of cases) {
        const r = spawnSync(process.execPath, [path.join(ROOT, 'examples/tls-server.js'), '--port', '0', ...args], { encoding: 'utf8', timeout: 20_000 });
        expect(r.status, args.join(' ')).toBe(2);
        expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
        expect(r.stderr).toMatch(message);
      }
    } finally {
      temp.cleanup();
    }
  });
});
