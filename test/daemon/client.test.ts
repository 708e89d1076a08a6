/**
 * The daemon backend's HTTP/1.1 client (src/lib/store/http1-client.ts) against
 * raw socket servers that answer exactly as each test needs.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startDaemon } from '../../src/lib/daemon/server.js';
import { Http1Client, type Http1ClientOptions, type Http1Failure } from '../../src/lib/store/http1-client.js';
import { MemoryStore } from '../../src/lib/store/memory.js';
import { openStore } from '../../src/lib/store/open.js';
import { tempDir } from '../helpers/env.js';
import { makeCertificate } from '../helpers/servers.js';

type Answerer = (request: string, socket: net.Socket) => void;

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A server on 127.0.0.1 calling `answer` with each request head (requests here have no bodies unless said). */
async function serve(answer: Answerer): Promise<{ port: number; connections: () => number; peak: () => number }> {
  let total = 0;
  let open = 0;
  let peak = 0;
  const server = net.createServer((socket) => {
    total += 1;
    open += 1;
    peak = Math.max(peak, open);
    socket.on('close', () => (open -= 1));
    let buffered = '';
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
        const head = buffered.slice(0, end);
        const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buffered.length < end + 4 + length) return;
        buffered = buffered.slice(end + 4 + length);
        answer(head, socket);
      }
    });
    socket.on('error', () => {});
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, connections: () => total, peak: () => peak };
}

function client(port: number, options: Partial<Http1ClientOptions> = {}): Http1Client {
  return new Http1Client({ host: '127.0.0.1', port, timeoutMs: 2000, idleMs: 30_000, maxSockets: 8, maxAnswerBytes: 1024 * 1024, ...options });
}

const ok = (body: string, extra = '') => `HTTP/1.1 200 OK\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${extra}\r\n${body}`;

async function failure(promise: Promise<unknown>): Promise<Http1Failure> {
  return promise.then(
    () => expect.fail('expected the request to fail'),
    (err: Http1Failure) => err,
  );
}

describe('Http1Client', () => {
  it('sends the request line, Host and the headers; reads status, headers (lower-case names) and body', async () => {
    let seen = '';
    const { port } = await serve((head, socket) => {
      seen = head;
      socket.write(ok('hello', 'Sessctl-Entry: {"a":1}\r\n'));
    });
    const c = client(port);
    const answer = await c.request('GET', '/v1/sessions/ab', { authorization: 'Bearer t' });
    expect(seen).toBe(`GET /v1/sessions/ab HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nauthorization: Bearer t`);
    expect(answer.status).toBe(200);
    expect(answer.headers['sessctl-entry']).toBe('{"a":1}');
    expect(answer.body.toString()).toBe('hello');
    c.destroy();
  });

  it('keeps connections alive: sequential requests use one connection', async () => {
    const server = await serve((_head, socket) => socket.write(ok('x')));
    const c = client(server.port);
    for (let i = 0; i < 20; i++) expect((await c.request('GET', '/', {})).body.toString()).toBe('x');
    expect(server.connections()).toBe(1);
    c.destroy();
  });

  it('at most maxSockets connections; further requests wait and are all answered', async () => {
    const server = await serve((head, socket) => setTimeout(() => socket.write(ok(head.split(' ')[1]!)), 5));
    const c = client(server.port, { maxSockets: 4 });
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => c.request('GET', `/${i}`, {})));
    expect(answers.map((a) => a.body.toString())).toEqual(Array.from({ length: 100 }, (_, i) => `/${i}`));
    expect(server.peak()).toBeLessThanOrEqual(4);
    c.destroy();
  });

  it('an answer that arrives a byte at a time', async () => {
    const { port } = await serve((_head, socket) => {
      const bytes = Buffer.from(ok('fragmented body', 'x-a: 1\r\n'));
      let i = 0;
      const tick = setInterval(() => {
        if (i >= bytes.length) return clearInterval(tick);
        socket.write(bytes.subarray(i, i + 1));
        i += 1;
      }, 1);
    });
    const c = client(port);
    const answer = await c.request('GET', '/', {});
    expect(answer.body.toString()).toBe('fragmented body');
    expect(answer.headers['x-a']).toBe('1');
    c.destroy();
  });

  it('a body sent with the request, with its Content-Length', async () => {
    let seen = '';
    const { port } = await serve((head, socket) => {
      seen = head;
      socket.write('HTTP/1.1 204 No Content\r\n\r\n');
    });
    const c = client(port);
    const answer = await c.request('PUT', '/v1/sessions/ab', { 'content-type': 'application/octet-stream' }, Buffer.from('0123456789'));
    expect(answer.status).toBe(204);
    expect(answer.body.length).toBe(0);
    expect(seen).toMatch(/\r\ncontent-length: 10$/);
    c.destroy();
  });

  it('"connection: close" answers: the connection is not reused', async () => {
    const server = await serve((_head, socket) => socket.end(ok('x', 'connection: close\r\n')));
    const c = client(server.port);
    for (let i = 0; i < 3; i++) await c.request('GET', '/', {});
    expect(server.connections()).toBe(3);
    c.destroy();
  });

  it('a pooled connection the server closed while idle: the next request fails with reusedSocket, so the caller may retry', async () => {
    const { port } = await serve((_head, socket) => {
      socket.write(ok('x'));
      setTimeout(() => socket.destroy(), 20);
    });
    const c = client(port);
    await c.request('GET', '/', {});
    await new Promise((r) => setTimeout(r, 100));
    // The close is seen before the request goes out (the connection leaves the pool), or the request fails on it.
    const second = await c.request('GET', '/', {}).then(
      (a) => a.body.toString(),
      (err: Http1Failure) => err,
    );
    if (typeof second !== 'string') {
      expect(second.code).toMatch(/ECONNRESET|EPIPE/);
      expect(second.reusedSocket).toBe(true);
    } else expect(second).toBe('x');
    c.destroy();
  });

  it('an answer cut off before its end: ECONNRESET, not reusedSocket (the request reached the server)', async () => {
    const { port } = await serve((_head, socket) => socket.end('HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly this'));
    const c = client(port);
    const err = await failure(c.request('GET', '/', {}));
    expect(err.code).toBe('ECONNRESET');
    expect(err.reusedSocket).toBeUndefined();
    c.destroy();
  });

  it.each([
    ['a chunked answer', 'ESESSCTL_MALFORMED', 'HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
    ['not HTTP', 'ESESSCTL_MALFORMED', 'SSH-2.0-OpenSSH_9.2\r\n\r\n'],
    ['a header line without a colon', 'ESESSCTL_MALFORMED', 'HTTP/1.1 200 OK\r\nbogus\r\ncontent-length: 0\r\n\r\n'],
    ['a bad Content-Length', 'ESESSCTL_MALFORMED', 'HTTP/1.1 200 OK\r\ncontent-length: -1\r\n\r\n'],
    ['more bytes than Content-Length', 'ESESSCTL_MALFORMED', 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nabc'],
    ['a Content-Length over the limit', 'ESESSCTL_TOO_LARGE', 'HTTP/1.1 200 OK\r\ncontent-length: 2000000\r\n\r\n'],
  ])('%s: fails with %s', async (_what, code, answer) => {
    const { port } = await serve((_head, socket) => socket.write(answer));
    const c = client(port);
    expect((await failure(c.request('GET', '/', {}))).code).toBe(code);
    c.destroy();
  });

  it('a head whose blank line is split across reads, and a long head in many pieces with a large body after it', async () => {
    const body = 'b'.repeat(200_000);
    const head = `HTTP/1.1 200 OK\r\nx-long: ${'h'.repeat(50_000)}\r\ncontent-length: ${body.length}\r\n\r\n`;
    const { port } = await serve((request, socket) => {
      if (request.startsWith('GET /split')) {
        const bytes = ok('split');
        const at = bytes.indexOf('\r\n\r\n') + 2;
        socket.write(bytes.slice(0, at));
        setTimeout(() => socket.write(bytes.slice(at)), 20);
        return;
      }
      // The head in 1000-byte pieces, its last piece with the whole body.
      const cut = head.length - 10;
      for (let i = 0; i < cut; i += 1000) socket.write(head.slice(i, Math.min(i + 1000, cut)));
      setTimeout(() => socket.write(head.slice(cut) + body), 20);
    });
    const c = client(port);
    expect((await c.request('GET', '/split', {})).body.toString()).toBe('split');
    const long = await c.request('GET', '/long', {});
    expect(long.headers['x-long']).toHaveLength(50_000);
    expect(long.body.toString()).toBe(body);
    c.destroy();
  });

  it('refuses answers llhttp refuses (found by http1-client-differential.test.ts), with ESESSCTL_MALFORMED', async () => {
    const answers = [
      'HTTP/1.1 200 OK\r\nX A: b\r\ncontent-length: 0\r\n\r\n',
      'HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab',
      'HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-folded: a\r\n b\r\n\r\nab',
      'HTTP/1.1 200 OK\ncontent-length: 0\n\r\n\r\n',
      'HTTP/1.1 100 Continue\r\n\r\n',
      'HTTP/1.1 200 OK\r\ncontent-length: 2\t\r\n\r\nab',
    ];
    let next = 0;
    const { port } = await serve((_head, socket) => socket.end(answers[next++]));
    const c = client(port);
    for (const answer of answers) {
      expect((await failure(c.request('GET', '/', {}))).code, JSON.stringify(answer)).toBe('ESESSCTL_MALFORMED');
    }
    c.destroy();
  });

  it('an answer without Content-Length ends when the server closes', async () => {
    const { port } = await serve((_head, socket) => socket.end('HTTP/1.1 200 OK\r\n\r\nuntil the end'));
    const c = client(port);
    expect((await c.request('GET', '/', {})).body.toString()).toBe('until the end');
    c.destroy();
  });

  it('a body larger than the limit without Content-Length fails as it arrives', async () => {
    const { port } = await serve((_head, socket) => {
      socket.write('HTTP/1.1 200 OK\r\n\r\n');
      socket.write(Buffer.alloc(64 * 1024));
    });
    const c = client(port, { maxAnswerBytes: 1000 });
    expect((await failure(c.request('GET', '/', {}))).code).toBe('ESESSCTL_TOO_LARGE');
    c.destroy();
  });

  it('no answer within timeoutMs: the request fails, the connection is dropped, the next request gets a new one', async () => {
    let calls = 0;
    const server = await serve((_head, socket) => {
      calls += 1;
      if (calls > 1) socket.write(ok('late but fine'));
    });
    const c = client(server.port, { timeoutMs: 200 });
    expect((await failure(c.request('GET', '/', {}))).code).toBe('ETIMEDOUT_SESSCTL');
    expect((await c.request('GET', '/', {})).body.toString()).toBe('late but fine');
    expect(server.connections()).toBe(2);
    c.destroy();
  });

  it('a request waiting for a connection times out too, and leaves the queue', async () => {
    const { port } = await serve(() => {});
    const c = client(port, { maxSockets: 1, timeoutMs: 200 });
    const results = await Promise.allSettled([c.request('GET', '/1', {}), c.request('GET', '/2', {})]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    c.destroy();
  });

  it('destroy(): requests under way and waiting fail, later ones too', async () => {
    const { port } = await serve(() => {});
    const c = client(port, { maxSockets: 1 });
    const underWay = failure(c.request('GET', '/1', {}));
    const waiting = failure(c.request('GET', '/2', {}));
    await new Promise((r) => setTimeout(r, 50));
    c.destroy();
    expect((await underWay).code).toBe('ECONNABORTED');
    expect((await waiting).code).toBe('ECONNABORTED');
    expect((await failure(c.request('GET', '/3', {}))).code).toBe('ECONNABORTED');
  });
});

describe('the daemon backend over it', () => {
  it('https:// to a plain-HTTP daemon: one line that says so, at once', async () => {
    const daemon = await startDaemon({ store: new MemoryStore(), host: '127.0.0.1', port: 0, token: 'tok', log: () => {} });
    try {
      const started = Date.now();
      await expect(openStore(`https://127.0.0.1:${daemon.port}`, { token: 'tok' })).rejects.toThrow(
        `sessctl daemon https://127.0.0.1:${daemon.port} does not speak TLS on this port: is it http://?`,
      );
      // Not the 5 s request deadline, nor the daemon's 10 s head timeout.
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await daemon.close();
    }
  });

  it('http:// to a TLS daemon: the reset comes with a hint', async () => {
    const tmp = tempDir('sessctl-client-tls-');
    const files = makeCertificate(tmp.dir, ['127.0.0.1']);
    const daemon = await startDaemon({
      store: new MemoryStore(),
      host: '127.0.0.1',
      port: 0,
      token: 'tok',
      tls: { cert: readFileSync(files.cert), key: readFileSync(files.key) },
      log: () => {},
    });
    try {
      await expect(openStore(`http://127.0.0.1:${daemon.port}`, { token: 'tok' })).rejects.toThrow(/is not answering \(connection (reset|closed).*; if the daemon serves TLS, use https:\/\/\)$/);
    } finally {
      await daemon.close();
      tmp.cleanup();
    }
  });

  it('a daemon without the keyring-cas feature (older than the client): conditional ring writes are refused, not sent', async () => {
    const seen: string[] = [];
    const { port } = await serve((head, socket) => {
      seen.push(head.split('\r\n')[0]!);
      if (head.startsWith('GET /v1/info ')) socket.write(ok(JSON.stringify({ protocol: 1, kind: 'file', capabilities: { persistent: true, sharedCounters: true, keyRing: true } })));
      else socket.write('HTTP/1.1 204 No Content\r\n\r\n');
    });
    const store = await openStore(`http://127.0.0.1:${port}`, { token: 'tok' });
    try {
      await expect(store.writeKeyRing!(Buffer.from('ring'), null)).rejects.toThrow(
        `the daemon http://127.0.0.1:${port} is older than this sessctl and cannot write the ticket-key ring only if it is unchanged (compare-and-swap): upgrade the daemon`,
      );
      expect(seen.filter((line) => line.startsWith('PUT'))).toEqual([]);
      // Unconditional writes (a single host, --push) still work.
      expect(await store.writeKeyRing!(Buffer.from('ring'))).toBe(true);
      expect(seen.filter((line) => line.startsWith('PUT'))).toEqual(['PUT /v1/keyring HTTP/1.1']);
    } finally {
      await store.terminate();
    }
  });

  it('this daemon says it has keyring-cas', async () => {
    const daemon = await startDaemon({ store: new MemoryStore(), host: '127.0.0.1', port: 0, token: 'tok', log: () => {} });
    try {
      const answer = await fetch(`http://127.0.0.1:${daemon.port}/v1/info`, { headers: { authorization: 'Bearer tok' } });
      expect(((await answer.json()) as { features: string[] }).features).toContain('keyring-cas');
    } finally {
      await daemon.close();
    }
  });
});
