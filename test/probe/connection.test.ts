/**
 * connectOnce against openssl s_server (tickets, session cache, both off)
 * and against things that are not TLS servers: each failure is one line
 * naming the target, within the deadline.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessctlError } from '../../src/lib/errors.js';
import { connectOnce, parseTarget } from '../../src/lib/probe/connection.js';
import { freePort, requireTool, tempDir } from '../helpers/env.js';
import { startOpensslServer, type OpensslServer } from '../helpers/openssl-server.js';
import { makeCertificate } from '../helpers/servers.js';

const hasOpenssl = requireTool('openssl', 'openssl');
const TIMEOUT = 4000;

describe('parseTarget', () => {
  it('reads host:port, [v6]:port and IPv4', () => {
    expect(parseTarget('example.org:443')).toEqual({ host: 'example.org', port: 443, label: 'example.org:443' });
    expect(parseTarget('[::1]:8443')).toEqual({ host: '::1', port: 8443, label: '[::1]:8443' });
    expect(parseTarget('127.0.0.1:25')).toEqual({ host: '127.0.0.1', port: 25, label: '127.0.0.1:25' });
  });

  it.each([
    ['example.org', /not HOST:PORT/],
    ['::1:443', /IPv6 address in brackets/],
    ['host:0', /port 0 is not 1-65535/],
    ['host:70000', /not 1-65535/],
    ['[example.org]:443', /only an IPv6 address/],
    ['ex ample:443', /neither a host name/],
  ])('refuses %s with exit 2', (text, message) => {
    let caught: unknown;
    try {
      parseTarget(text);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(SessctlError);
    expect((caught as SessctlError).message).toMatch(message);
    expect((caught as SessctlError).exit).toBe(2);
  });
});

describe.skipIf(!hasOpenssl)('connectOnce against openssl s_server', () => {
  const tmp = tempDir('sessctl-probe-conn-');
  const { cert, key } = makeCertificate(tmp.dir, ['localhost', '127.0.0.1']);
  let tickets: OpensslServer;
  let cacheOnly: OpensslServer;
  let nothing: OpensslServer;

  beforeAll(async () => {
    [tickets, cacheOnly, nothing] = await Promise.all([
      startOpensslServer({ cert, key }),
      startOpensslServer({ cert, key, tickets: false }),
      startOpensslServer({ cert, key, tickets: false, cache: false }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([tickets?.stop(), cacheOnly?.stop(), nothing?.stop()]);
    tmp.cleanup();
  });

  const base = { host: '127.0.0.1', timeoutMs: TIMEOUT, insecure: true };

  it('TLS 1.3: every ticket is seen, with its key name; the ticket resumes and the server sends a new one', async () => {
    const first = await connectOnce({ ...base, port: tickets.port, tls: '1.3' });
    expect(first).toMatchObject({ target: `127.0.0.1:${tickets.port}`, peer: `127.0.0.1:${tickets.port}`, protocol: 'TLSv1.3', resumed: false, verified: false });
    expect(first.verifyError).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    // OpenSSL's server sends two tickets after a full handshake (SSL_CTX_set_num_tickets default 2).
    expect(first.tickets).toHaveLength(2);
    expect(first.tickets[0]!.keyName).toMatch(/^[0-9a-f]{32}$/);
    expect(first.tickets[0]).toMatchObject({ format: 'openssl', lifetimeHint: 7200 });
    expect(first.tickets[1]!.keyName).toBe(first.tickets[0]!.keyName);
    const again = await connectOnce({ ...base, port: tickets.port, tls: '1.3', offer: first.sessions.at(-1) });
    expect(again.resumed).toBe(true);
    expect(again.tickets.map((t) => t.keyName)).toEqual([first.tickets[0]!.keyName]);
  });

  it('TLS 1.2: the ticket arrives in the handshake and resumes; no new ticket on the resumed connection', async () => {
    const first = await connectOnce({ ...base, port: tickets.port, tls: '1.2' });
    expect(first).toMatchObject({ protocol: 'TLSv1.2', resumed: false });
    expect(first.tickets).toHaveLength(1);
    const again = await connectOnce({ ...base, port: tickets.port, tls: '1.2', offer: first.sessions.at(-1) });
    expect(again).toMatchObject({ resumed: true, tickets: [] });
  });

  it('without the ticket extension: a session ID from the cache, resumed; none from a server without a cache', async () => {
    const first = await connectOnce({ ...base, port: cacheOnly.port, tickets: false });
    expect(first).toMatchObject({ protocol: 'TLSv1.2', tickets: [] });
    expect(first.sessionId).toMatch(/^[0-9a-f]{64}$/);
    // Twice: the probe closes cleanly, so the server keeps the session (a torn-down connection's is dropped).
    for (let i = 0; i < 2; i++) {
      const again = await connectOnce({ ...base, port: cacheOnly.port, tickets: false, offer: first.sessions.at(-1) });
      expect(again.resumed).toBe(true);
    }
    // OpenSSL sends an empty session ID when its server cache is off (ssl/statem/statem_srvr.c, tls_construct_server_hello).
    const none = await connectOnce({ ...base, port: nothing.port, tickets: false });
    expect(none).toMatchObject({ sessionId: '', tickets: [], sessions: [] });
  });

  it('a certificate that does not verify stops the probe unless insecure; with its CA it verifies', async () => {
    await expect(connectOnce({ host: '127.0.0.1', port: tickets.port, timeoutMs: TIMEOUT })).rejects.toThrow(
      `127.0.0.1:${tickets.port}: the certificate did not verify (DEPTH_ZERO_SELF_SIGNED_CERT); give --ca FILE, or --insecure to probe anyway`,
    );
    const trusted = await connectOnce({ host: '127.0.0.1', port: tickets.port, timeoutMs: TIMEOUT, ca: readFileSync(cert) });
    expect(trusted).toMatchObject({ verified: true, verifyError: null });
  });

  it('an IPv6 target: [::1]:port is reached, named and resumed (a Node TLS server on ::1)', async () => {
    const server = tls.createServer({ cert: readFileSync(cert), key: readFileSync(key) }, (s) => s.end());
    await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
    try {
      const target = parseTarget(`[::1]:${(server.address() as net.AddressInfo).port}`);
      const first = await connectOnce({ host: target.host, port: target.port, timeoutMs: TIMEOUT, insecure: true, tls: '1.2' });
      expect(first).toMatchObject({ target: target.label, peer: target.label, sni: null, resumed: false });
      const again = await connectOnce({ host: target.host, port: target.port, timeoutMs: TIMEOUT, insecure: true, tls: '1.2', offer: first.sessions.at(-1) });
      expect(again.resumed).toBe(true);
    } finally {
      server.close();
    }
  });

  it('session-ID offers need TLS 1.2', () => {
    expect(() => connectOnce({ ...base, port: tickets.port, tls: '1.3', tickets: false })).toThrow(/needs TLS 1\.2/);
  });
});

describe('connectOnce fails in one line naming the target, within its deadline', () => {
  const servers: net.Server[] = [];
  afterAll(() => servers.forEach((s) => s.close()));

  async function tcpServer(onConnection: (socket: net.Socket) => void): Promise<number> {
    const port = await freePort();
    const server = net.createServer(onConnection);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    return port;
  }

  const failure = async (options: Parameters<typeof connectOnce>[0]): Promise<SessctlError> => {
    const started = Date.now();
    const err = await connectOnce(options).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SessctlError);
    expect(Date.now() - started).toBeLessThan(options.timeoutMs + 2000);
    expect((err as SessctlError).message).not.toContain('\n');
    expect((err as SessctlError).exit).toBe(1);
    return err as SessctlError;
  };

  it('nothing listening', async () => {
    const port = await freePort();
    expect((await failure({ host: '127.0.0.1', port, timeoutMs: TIMEOUT })).message).toBe(`127.0.0.1:${port}: connection refused (nothing listens on that port)`);
  });

  it('plain HTTP on the port', async () => {
    const port = await tcpServer((s) => {
      s.once('data', () => s.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'));
    });
    expect((await failure({ host: '127.0.0.1', port, timeoutMs: TIMEOUT })).message).toBe(
      `127.0.0.1:${port}: does not speak TLS on this port (the answer to the ClientHello is not a TLS record)`,
    );
  });

  it('a server that closes mid-handshake', async () => {
    const port = await tcpServer((s) => s.once('data', () => s.destroy()));
    expect((await failure({ host: '127.0.0.1', port, timeoutMs: TIMEOUT })).message).toBe(
      `127.0.0.1:${port}: the server closed the connection during the TLS handshake`,
    );
  });

  it('a server that never answers: the deadline', async () => {
    const port = await tcpServer(() => {});
    expect((await failure({ host: '127.0.0.1', port, timeoutMs: 500 })).message).toBe(
      `127.0.0.1:${port}: no answer within 500 ms (deadline; during the TLS handshake)`,
    );
  });

  it('a name that does not resolve', async () => {
    expect((await failure({ host: 'no-such-host.invalid', port: 443, timeoutMs: TIMEOUT })).message).toBe(
      'no-such-host.invalid:443: the name no-such-host.invalid does not resolve',
    );
  });
});
