/**
 * sessctl probe against openssl s_server (a session cache without tickets;
 * neither) and two Node example servers (examples/tls-server.js) on one
 * cache file and on two: the session-ID checks and the cross-target matrix.
 */
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeReport } from '../../src/lib/probe/types.js';
import { freePort, requireTool, runCli, tempDir } from '../helpers/env.js';
import { startOpensslServer, type OpensslServer } from '../helpers/openssl-server.js';
import { makeCertificate } from '../helpers/servers.js';
import { startExampleServer, type ExampleServer } from '../tls/peers.js';

const hasOpenssl = requireTool('openssl', 'openssl');

const probe = async (args: string[]): Promise<{ code: number; report: ProbeReport; stdout: string }> => {
  const r = await runCli(['probe', ...args, '--insecure', '--json', '--connections', '4', '--timeout', '5s']);
  return { code: r.code, report: JSON.parse(r.stdout) as ProbeReport, stdout: r.stdout };
};

describe.skipIf(!hasOpenssl)('probe: openssl s_server with tickets off', () => {
  const tmp = tempDir('sessctl-probe-sserver-');
  const { cert, key } = makeCertificate(tmp.dir, ['localhost', '127.0.0.1']);
  let cache: OpensslServer;
  let nothing: OpensslServer;

  beforeAll(async () => {
    [cache, nothing] = await Promise.all([startOpensslServer({ cert, key, tickets: false }), startOpensslServer({ cert, key, tickets: false, cache: false })]);
  });
  afterAll(async () => {
    await Promise.all([cache?.stop(), nothing?.stop()]);
    tmp.cleanup();
  });

  it('a session cache without tickets: session-ID resumption found, exit 0', async () => {
    const { code, report } = await probe([`127.0.0.1:${cache.port}`, '--tls', '1.2']);
    expect(report.message).toBe(`clients resume on 127.0.0.1:${cache.port} by session ID (2 of 2); no tickets were issued`);
    expect(code).toBe(0);
    expect(report.keyGroups).toEqual([]);
    expect(report.sessionId).toEqual({ offered: 2, resumed: 2 });
    const offered = report.connections.filter((c) => c.offered !== null);
    expect(offered.every((c) => c.offered!.kind === 'session-id' && c.resumed && report.connections[c.offered!.from]!.sessionId !== null)).toBe(true);
  });

  it('--ring URL: the ring kept in a store (rotate-keys --store) is read; s_server\'s own key is not in it', async () => {
    const store = `file:${path.join(tmp.dir, 'ring.db')}`;
    expect((await runCli(['rotate-keys', '--store', store])).code).toBe(0);
    const tickets = await startOpensslServer({ cert, key });
    try {
      const { code, report } = await probe([`127.0.0.1:${tickets.port}`, '--ring', store]);
      expect(report.ring).toBe(store);
      expect(report.keyGroups.map((g) => g.ring)).toEqual(['unknown']);
      expect(report.message).toMatch(/a key that is not in the ring file:/);
      expect(code).toBe(4);
    } finally {
      await tickets.stop();
    }
  });

  it('cache off too, TLS 1.2: nothing issued, exit 5; TLS 1.3: stateful tickets that never resume, exit 4', async () => {
    const tls12 = await probe([`127.0.0.1:${nothing.port}`, '--tls', '1.2']);
    expect(tls12.code).toBe(5);
    expect(tls12.report.message).toBe(`127.0.0.1:${nothing.port} issued neither tickets nor session IDs: there is nothing to resume with`);
    const tls13 = await probe([`127.0.0.1:${nothing.port}`]);
    expect(tls13.code).toBe(4);
    expect(tls13.report.message).toMatch(/^127\.0\.0\.1:\d+ issues tickets but resumed none of the \d offered \(32-byte TLS 1\.3 stateful tickets/);
  });
});

describe('probe: two Node example servers, one cache file or two (the matrix)', () => {
  const tmp = tempDir('sessctl-probe-node-');
  const servers: ExampleServer[] = [];
  let a: ExampleServer;
  let b: ExampleServer;
  let c: ExampleServer;

  beforeAll(async () => {
    const args = (db: string) => ['--store', path.join(tmp.dir, db), '--session-id-context', 'fleet', '--tls-max', '1.2', '--no-tickets'];
    [a, b, c] = await Promise.all([startExampleServer(args('one.db')), startExampleServer(args('one.db')), startExampleServer(args('two.db'))]);
    servers.push(a, b, c);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    tmp.cleanup();
  });

  it('sharing a cache file: each one\'s session ID resumes on the other, exit 0', async () => {
    const { code, report } = await probe([`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`]);
    expect(report.matrix).toEqual([
      { from: `127.0.0.1:${a.port}`, to: `127.0.0.1:${b.port}`, ticket: null, sessionId: true },
      { from: `127.0.0.1:${b.port}`, to: `127.0.0.1:${a.port}`, ticket: null, sessionId: true },
    ]);
    expect(code).toBe(0);
    expect(report.verdict).toBe('resumes');
  });

  it('separate cache files: the matrix shows no resumption across, broken, exit 4', async () => {
    const { code, report } = await probe([`127.0.0.1:${a.port}`, `127.0.0.1:${c.port}`]);
    expect(report.matrix.map((m) => m.sessionId)).toEqual([false, false]);
    expect(code).toBe(4);
    expect(report.message).toBe(`a session ID from 127.0.0.1:${a.port} does not resume on 127.0.0.1:${c.port}: the two do not share a session cache`);
  });
});

describe('probe on bad input: one line, the documented exit code, no hang', () => {
  it('a port nothing listens on, and a port that speaks plain HTTP: exit 1 naming the target', async () => {
    const closed = await freePort();
    const refused = await runCli(['probe', `127.0.0.1:${closed}`, '--timeout', '5s']);
    expect(refused.stderr).toBe(`sessctl: 127.0.0.1:${closed}: connection refused (nothing listens on that port)\n`);
    expect(refused.code).toBe(1);
    const http = net.createServer((s) => s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n')));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const port = (http.address() as net.AddressInfo).port;
      const r = await runCli(['probe', `127.0.0.1:${port}`, '--timeout', '5s', '--json']);
      expect(JSON.parse(r.stdout)).toEqual({ error: { message: `127.0.0.1:${port}: does not speak TLS on this port (the answer to the ClientHello is not a TLS record)`, exit: 1 } });
      expect(r.code).toBe(1);
    } finally {
      http.close();
    }
  });

  it('--timeout takes milliseconds and decimals: 500ms and 0.5s are the deadline on a server that never answers', async () => {
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      for (const timeout of ['500ms', '0.5s']) {
        const r = await runCli(['probe', `127.0.0.1:${port}`, '--timeout', timeout]);
        expect(r.stderr).toBe(`sessctl: 127.0.0.1:${port}: no answer within 500 ms (deadline; during the TLS handshake)\n`);
        expect(r.code).toBe(1);
      }
    } finally {
      silent.close();
    }
  });

  it.each([
    [['notatarget'], 2, /^sessctl: target "notatarget" is not HOST:PORT\n$/],
    [['127.0.0.1:443', '--connections', 'x'], 2, /^sessctl: --connections: "x" is not a whole number\n  hint: /],
    [['127.0.0.1:443', '--connections', '1'], 2, /^sessctl: --connections: "1" is below /],
    [['127.0.0.1:443', '--tls', '1.4'], 2, /^sessctl: --tls: "1\.4" is not one of 1\.2, 1\.3, both\n  hint: /],
    [['127.0.0.1:443', '--starttls', 'ftp'], 2, /^sessctl: --starttls: "ftp" is not one of smtp, imap, pop3\n  hint: /],
    [['127.0.0.1:443', '--timeout', 'soon'], 2, /^sessctl: --timeout: "soon" is not a duration \(examples: 500ms, 2\.5s, 30s, 1m\)\n$/],
    [['127.0.0.1:443', '--timeout', '2.s'], 2, /^sessctl: --timeout: "2\.s" is not a duration /],
    [['127.0.0.1:443', '--timeout', '0.5ms'], 2, /^sessctl: --timeout: "0\.5ms" is finer than a millisecond\n$/],
    [['127.0.0.1:443', '--timeout', '0ms'], 2, /^sessctl: --timeout must be more than 0\n$/],
    [['127.0.0.1:443', '--timeout', '2d'], 2, /^sessctl: --timeout 2d is more than a day\n$/],
    [['127.0.0.1:443', '--reuse-after', '2d'], 2, /^sessctl: --reuse-after 2d is more than a day\n$/],
    [['127.0.0.1:443', '--sni', 'a.test', '--sni', 'A.test'], 2, /^sessctl: --sni: the same name twice\n$/],
    [['127.0.0.1:443', '--sni', 'bad name'], 2, /^sessctl: --sni "bad name" is not a host name\n$/],
    [['127.0.0.1:443', '--ring', '/nonexistent/ring.json'], 3, /^sessctl: no ticket-key ring at \/nonexistent\/ring\.json\n$/],
    [['127.0.0.1:443', '--token-file', '/etc/hostname'], 2, /^sessctl: --token-file is for a --ring URL \(a daemon\): give --ring\n$/],
    [['127.0.0.1:443', '--ca', '/nonexistent/ca.pem'], 1, /^sessctl: --ca \/nonexistent\/ca\.pem: no such file\n$/],
    [['no-such-host.invalid:443'], 1, /^sessctl: no-such-host\.invalid:443: the name no-such-host\.invalid does not resolve\n$/],
  ])('%j exits %i', async (args, exit, stderr) => {
    const r = await runCli(['probe', ...args], { timeoutMs: 20_000 });
    expect(r.stderr).toMatch(stderr);
    expect(r.code).toBe(exit);
    expect(r.stdout).toBe('');
  });
});
