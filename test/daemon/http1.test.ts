/**
 * The daemon's HTTP/1.1 server (src/lib/daemon/http1.ts) on the wire: raw
 * bytes over a socket, against a daemon in this process over `memory:`.
 * What clients other than ours may send: pipelining, HTTP/1.0 keep-alive,
 * Expect: 100-continue, half-closes; and what an attacker may send.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDaemon, type Daemon } from '../../src/lib/daemon/server.js';
import { MemoryStore } from '../../src/lib/store/memory.js';
import { testEntry } from '../helpers/entries.js';

const TOKEN = 'http1-test-token-51c9';
const AUTH = `Authorization: Bearer ${TOKEN}\r\n`;
const entry = testEntry(3, { salt: 0x4e1 });

let daemon: Daemon;
let port: number;
const clientErrors: string[] = [];

beforeAll(async () => {
  const backing = new MemoryStore();
  await backing.update(entry);
  daemon = await startDaemon({
    store: backing,
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    limits: { headersTimeoutMs: 400, keepAliveTimeoutMs: 600 },
    log: (e) => {
      if (e.event === 'client_error') clientErrors.push(String(e.code));
    },
  });
  port = daemon.port;
});
afterAll(() => daemon?.close());

interface Exchange {
  /** Everything the server sent before it closed the connection (or `waitMs` passed). */
  text: string;
  closed: boolean;
}

/** Send `chunks` (with `gapMs` between them), collect the answer until the server closes or `waitMs`. */
async function exchange(chunks: (string | Buffer)[], options: { gapMs?: number; waitMs?: number; end?: boolean } = {}): Promise<Exchange> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  // Each write its own segment: what the server receives is what the test sends.
  socket.setNoDelay(true);
  const received: Buffer[] = [];
  socket.on('data', (d: Buffer) => received.push(d));
  socket.on('error', () => {});
  let closed = false;
  const gone = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closed = true;
      resolve();
    }),
  );
  for (const chunk of chunks) {
    socket.write(chunk);
    if (options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
  }
  if (options.end) socket.end();
  await Promise.race([gone, new Promise((r) => setTimeout(r, options.waitMs ?? 1500))]);
  socket.destroy();
  return { text: Buffer.concat(received).toString('latin1'), closed };
}

const statuses = (text: string): number[] => [...text.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => Number(m[1]));
const lookup = (extra = ''): string => `GET /v1/sessions/${entry.key} HTTP/1.1\r\nHost: x\r\n${AUTH}${extra}\r\n`;

describe('the daemon on the wire', () => {
  it('answers pipelined requests in order on one connection, with the DER as the body', async () => {
    const r = await exchange([lookup() + `GET /v1/size HTTP/1.1\r\nHost: x\r\n${AUTH}\r\n` + lookup('Connection: close\r\n')]);
    expect(statuses(r.text)).toEqual([200, 200, 200]);
    expect(r.closed).toBe(true);
    expect(r.text.split('\r\n\r\n')[1]!.startsWith(entry.der.toString('latin1'))).toBe(true);
    expect(r.text).toContain('{"size":1}');
    expect(r.text.toLowerCase()).toMatch(/connection: close\r\n\r\n[\s\S]*$/);
  });

  it('keeps an HTTP/1.0 connection open only when asked, and says so', async () => {
    const ten = `GET /v1/size HTTP/1.0\r\n${AUTH}`;
    const kept = await exchange([`${ten}Connection: keep-alive\r\n\r\n`, `${ten}\r\n`], { gapMs: 100 });
    expect(statuses(kept.text)).toEqual([200, 200]);
    expect(kept.text.toLowerCase()).toContain('connection: keep-alive');
    const once = await exchange([`${ten}\r\n`, `${ten}\r\n`], { gapMs: 100 });
    expect(statuses(once.text)).toEqual([200]);
    expect(once.closed).toBe(true);
  });

  it('checks the token of every request, also after an accepted one on the same connection', async () => {
    const wrong = `GET /v1/sessions/${entry.key} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}x\r\n\r\n`;
    const none = `GET /v1/sessions/${entry.key} HTTP/1.1\r\nHost: x\r\n\r\n`;
    const r = await exchange([lookup() + wrong + none + lookup('Connection: close\r\n')]);
    expect(statuses(r.text)).toEqual([200, 401, 401, 200]);
  });

  it('reads a request sent a byte at a time, body included', async () => {
    const body = JSON.stringify({ hits: 1 });
    const request = `POST /v1/counters HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Length: ${body.length}\r\n\r\n${body}` + lookup('Connection: close\r\n');
    const r = await exchange([...request].map((c) => Buffer.from(c, 'latin1')), { gapMs: 1, waitMs: 5000 });
    expect(statuses(r.text)).toEqual([204, 200]);
    expect(r.text.split('\r\n\r\n')[2]!.startsWith(entry.der.toString('latin1'))).toBe(true);
  });

  it('HEAD gives the headers of GET without the body', async () => {
    const r = await exchange([`HEAD /v1/sessions/${entry.key} HTTP/1.1\r\nHost: x\r\n${AUTH}Connection: close\r\n\r\n`]);
    expect(statuses(r.text)).toEqual([200]);
    expect(r.text.toLowerCase()).toContain(`content-length: ${entry.der.length}\r\n`);
    expect(r.text.endsWith('\r\n\r\n')).toBe(true);
  });

  it('answers Expect: 100-continue, then the request', async () => {
    const body = JSON.stringify({ hits: 2 });
    const head = `POST /v1/counters HTTP/1.1\r\nHost: x\r\n${AUTH}Expect: 100-continue\r\nContent-Length: ${body.length}\r\n\r\n`;
    const r = await exchange([head, body], { gapMs: 200, end: true });
    expect(r.text.startsWith('HTTP/1.1 100 Continue\r\n\r\n')).toBe(true);
    expect(statuses(r.text.slice(25))).toEqual([204]);
  });

  it('answers a request the client half-closed after sending', async () => {
    const r = await exchange([lookup()], { end: true });
    expect(statuses(r.text)).toEqual([200]);
    expect(r.closed).toBe(true);
  });

  it('refuses what could smuggle or confuse, with a JSON error, and closes', async () => {
    const cases: [string, number][] = [
      [`PUT /v1/keyring HTTP/1.1\r\nHost: x\r\n${AUTH}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n`, 411],
      [`PUT /v1/keyring HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd`, 400],
      [`GET /v1/size HTTP/1.1\r\nHost: x\r\n${AUTH}X-Bare: a\nb\r\n\r\n`, 400],
      [`GET /v1/size HTTP/1.1\r\nHost: x\r\n${AUTH}X-Folded: a\r\n b\r\n\r\n`, 400],
      [`GET /v1/size HTTP/1.1\r\nHost: x\r\n${AUTH}Bad Name: a\r\n\r\n`, 400],
      [`GET /v1/size HTTP/1.1\r\nHost: x\r\n${AUTH}X-Nul: a\0b\r\n\r\n`, 400],
      [`GET /v1/size HTTP/1.1\r\nHost: x\r\n${AUTH}X-Cr: a\rb\r\n\r\n`, 400],
      [`GET /v1/size HTTP/1.1\r\nHost: x\r\n${AUTH}X-Del: a\x7fb\r\n\r\n`, 400],
      [`GET /v1/size HTTP/1.1\r\nHost: x\r\n${AUTH}X-No-Colon\r\nX-Next: a\r\n\r\n`, 400],
      [`GET /v1/size HTTP/1.1\r\nHost: x\r\n${AUTH}: no name\r\n\r\n`, 400],
      [`GET /v1/size HTTP/1.1\r\nHost: x\r\n${AUTH}X-\xe9: latin1 in a name\r\n\r\n`, 400],
      [`GET /v1/size HTTP/1.1\r\nHost: x\r\n${AUTH}X-Cr-End: a\r\r\n\r\n`, 400],
      [`GET /v1/size HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Length: -1\r\n\r\n`, 400],
      [`GET /v1/size HTTP/2.0\r\nHost: x\r\n${AUTH}\r\n`, 400],
      ['NOT HTTP AT ALL\r\n\r\n', 400],
      [`GET /v1/size\x01x HTTP/1.1\r\nHost: x\r\n${AUTH}\r\n`, 400],
      [`GET /v1/size HTTP/1.1\r\nHost: x\r\n${AUTH}Expect: something-else\r\n\r\n`, 417],
      [`GET /v1/size HTTP/1.1\r\nHost: x\r\n${AUTH}X-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
      ['\r\n'.repeat(20_000), 431],
      [`PUT /v1/keyring HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Length: 100000000\r\n\r\n`, 413],
      // Found by the differential test against llhttp (http1-differential.test.ts):
      [`GET /v1/size HTTP/1.1\r\n${AUTH}\r\n`, 400],
      [`GET http://x/v1/size HTTP/1.1\r\nHost: x\r\n${AUTH}\r\n`, 400],
      [`GET /v1/size#f HTTP/1.1\r\nHost: x\r\n${AUTH}\r\n`, 400],
      [`PUT /v1/keyring HTTP/1.1\r\nHost: x\r\n${AUTH}Content-Length: 1\t\r\n\r\na`, 400],
      [`GET /v1/size HTTP/1.1\r\nHost: x\r\n${AUTH}Connection: close\t\r\n\r\n`, 400],
    ];
    for (const [request, status] of cases) {
      const r = await exchange([request]);
      expect(statuses(r.text), JSON.stringify(request.slice(0, 80))).toEqual([status]);
      expect(r.closed).toBe(true);
      const body = JSON.parse(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)) as { error: { message: string; code: string } };
      expect(body.error.message.length).toBeGreaterThan(0);
    }
    expect(clientErrors).toContain('length_required');
    expect(clientErrors).toContain('header_overflow');
  });

  it('refuses at once what cannot start a request line, a TLS handshake by name (not after the head timeout)', async () => {
    // The start of a TLS 1.2 ClientHello record: no line end will come.
    const clientHello = Buffer.from('16030100c4010000c00303', 'hex');
    const started = Date.now();
    const tlsAnswer = await exchange([clientHello]);
    expect(statuses(tlsAnswer.text)).toEqual([400]);
    expect(tlsAnswer.text).toContain('a TLS handshake on a plain-HTTP port');
    expect(tlsAnswer.closed).toBe(true);
    expect(clientErrors).toContain('tls_on_plain_http');
    const binary = await exchange([Buffer.from([0x00, 0x01, 0x02])]);
    expect(statuses(binary.text)).toEqual([400]);
    expect(binary.text).toContain('not an HTTP/1.x request');
    // Both before the 400 ms head timeout, which would have answered 408.
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('takes header names in any case, trims the whitespace around values, and keeps HTAB inside them', async () => {
    const request = `GET /v1/size HTTP/1.1\r\nHost: x\r\nAUTHORIZATION:\t Bearer ${TOKEN} \t\r\n__proto__: x\r\nX-Tab: a\tb\r\n\r\n`;
    const r = await exchange([request], { end: true });
    expect(statuses(r.text)).toEqual([200]);
    const wrong = await exchange([`GET /v1/size HTTP/1.1\r\nHost: x\r\nAUTHORIZATION: Bearer ${TOKEN}x\r\n\r\n`], { end: true });
    expect(statuses(wrong.text)).toEqual([401]);
  });

  it('closes an idle keep-alive connection after its timeout, and cuts a request whose head never ends', async () => {
    const idle = await exchange([lookup()], { waitMs: 3000 });
    expect(statuses(idle.text)).toEqual([200]);
    expect(idle.closed).toBe(true);
    const silent = await exchange([], { waitMs: 3000 });
    expect(silent.closed).toBe(true);
    expect(statuses(silent.text)).toEqual([408]);
  });

  it('a client that pipelines without reading is not read without bound', async () => {
    const answered = async (): Promise<number> => {
      const r = await exchange([`GET /metrics HTTP/1.1\r\nHost: x\r\n${AUTH}Connection: close\r\n\r\n`]);
      return Number(/sessctl_http_requests_total\{route="lookup",method="GET",code="200"\} (\d+)/.exec(r.text)?.[1] ?? 0);
    };
    const before = await answered();
    // 50,000 pipelined lookups, never reading an answer: once the answers back
    // up (socket buffers, a few MB), the server stops reading and answering.
    const socket = net.connect(port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.pause();
    const count = 50_000;
    socket.write(Buffer.from(lookup().repeat(count)));
    await new Promise((r) => setTimeout(r, 2500));
    const stalled = (await answered()) - before;
    expect(stalled).toBeGreaterThan(0);
    expect(stalled).toBeLessThan(count / 2);
    // Reading again lets it carry on to the end.
    let received = 0;
    socket.on('data', (d: Buffer) => (received += d.length));
    socket.resume();
    await new Promise((r) => setTimeout(r, 4000));
    expect((await answered()) - before).toBe(count);
    socket.destroy();
  });
});
