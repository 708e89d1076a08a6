/**
 * The daemon's request-head parser (readRequestHead, src/lib/daemon/http1.ts)
 * against llhttp, the maintained parser node:http uses: random and mutated
 * requests go to both. Whenever llhttp refuses a request the daemon must not
 * serve it; whenever both take it they must agree on what decides where it
 * goes and where its body ends: method, target, Host, Authorization,
 * Content-Length, Transfer-Encoding, Connection (and keep-alive), the body.
 * Bounded for CI: a few thousand cases over loopback, seeds printed on failure.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../src/lib/daemon/server.js';
import { readRequestHead, Refusal, type RequestHead } from '../../src/lib/daemon/http1.js';
import { RequestOracle, type LlhttpRequest } from '../helpers/llhttp.js';
import { mutated } from '../helpers/mutate.js';

/** The methods the daemon's router serves; it answers any other with 405 before the store (server.ts). */
const SERVED = new Set(['GET', 'HEAD', 'PUT', 'POST', 'DELETE']);

type Daemon = { accepted: false; why: string } | { accepted: true; head: RequestHead; body: Buffer };

/** What the daemon does with `bytes` as the first request on a connection that then ends. */
function daemonReads(bytes: Buffer): Daemon {
  let read: ReturnType<typeof readRequestHead>;
  try {
    read = readRequestHead(bytes, DEFAULT_LIMITS);
  } catch (err) {
    if (err instanceof Refusal) return { accepted: false, why: `${err.status} ${err.message}` };
    throw err;
  }
  // No end of head before the connection ends: never served (the head deadline closes it).
  if (read === undefined) return { accepted: false, why: 'incomplete' };
  if (!SERVED.has(read.head.method)) return { accepted: false, why: '405' };
  return { accepted: true, head: read.head, body: bytes.subarray(read.bodyStart, read.bodyStart + read.head.length) };
}

function agree(bytes: Buffer, daemon: Daemon, node: LlhttpRequest): void {
  const shown = JSON.stringify(bytes.toString('latin1'));
  if (!node.accepted) {
    expect(daemon.accepted, `llhttp refused (${node.code}) what the daemon serves: ${shown}`).toBe(false);
    return;
  }
  if (!daemon.accepted) return;
  const { head, body } = daemon;
  const context = `${shown}`;
  expect(head.method, context).toBe(node.method);
  expect(head.target, context).toBe(node.url);
  expect(head.http10 ? '1.0' : '1.1', context).toBe(node.httpVersion);
  for (const name of ['host', 'authorization', 'content-length', 'transfer-encoding', 'connection'] as const) {
    expect(head.headers[name], `${name} of ${context}`).toBe(node.headers[name]);
  }
  expect(head.keepAlive, `keep-alive of ${context}`).toBe(node.keepAlive);
  // The body: as many bytes as were there, up to its declared length.
  expect(body.toString('latin1'), `body of ${context}`).toBe(node.body.toString('latin1'));
  expect(body.length === head.length, `complete body of ${context}`).toBe(node.complete);
}

const pick = <T>(...values: T[]) => fc.constantFrom(...values);

const method = fc.oneof(
  { weight: 6, arbitrary: pick('GET', 'PUT', 'POST', 'DELETE', 'HEAD') },
  { weight: 2, arbitrary: pick('OPTIONS', 'PATCH', 'BREW', 'get', 'M-SEARCH', 'PRI', 'CONNECT', 'TRACE', 'SOURCE', 'G\u00c9T', '', 'GET\u0000') },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...'GETPOSU!#-x~'), maxLength: 6 }) },
);
const target = fc.oneof(
  { weight: 5, arbitrary: pick('/v1/size', '/v1/sessions/ab', '/v1/sessions?cursor=k00&limit=2', '/') },
  { weight: 2, arbitrary: pick('*', 'http://x/v1/size', 'x', '/a b', '/%00', '/\u00e9', '/a#b', '//', '/a\tb', '/\u007f', '/"<>', '/{|}') },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...'/a?=&%#"<>\\^`{|}~\u007f\u0080\u00ff\t '), minLength: 1, maxLength: 8 }) },
);
const version = fc.oneof({ weight: 8, arbitrary: pick('HTTP/1.1', 'HTTP/1.0') }, { weight: 1, arbitrary: pick('HTTP/1.2', 'HTTP/2.0', 'http/1.1', 'HTTP/1', 'HTTP/1.1 ', 'HTTP/0.9', 'HTTP/11', ' HTTP/1.1') });
const space = fc.oneof({ weight: 10, arbitrary: fc.constant(' ') }, { weight: 1, arbitrary: pick('  ', '\t', '') });
const lineEnd = fc.oneof({ weight: 20, arbitrary: fc.constant('\r\n') }, { weight: 1, arbitrary: pick('\n', '\r', '\r\r\n', '\n\r') });
const headerName = fc.oneof(
  { weight: 6, arbitrary: pick('Host', 'Content-Length', 'Transfer-Encoding', 'Connection', 'Authorization', 'Expect', 'X-A') },
  { weight: 2, arbitrary: pick('host', 'CONTENT-LENGTH', 'transfer-encoding', 'Content-Length ', ' Host', 'X A', 'X\u00e9', '', 'Keep-Alive', 'Upgrade', 'TE', 'Content-Length\t') },
);
const headerValue = fc.oneof(
  { weight: 6, arbitrary: pick('x', '3', '0', 'close', 'keep-alive', 'chunked', 'Bearer t', '100-continue', '127.0.0.1:7420') },
  {
    weight: 3,
    arbitrary: pick('', ' 3', '3 ', '+3', '-1', '0x3', '3,3', '3, 3', '03', '1e1', '99999999999999999999', 'gzip, chunked', 'chunked, gzip', 'Close', 'keep-alive, close', 'upgrade', 'x\u0000y', 'x\u007fy', '\u00e9', 'a\tb', 'a\rb', 'a\nb', ' \t'),
  },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom(...'03 ,\t;=ckx\u00ff\u0001'), maxLength: 6 }) },
);
const colon = fc.oneof({ weight: 10, arbitrary: pick(': ', ':') }, { weight: 1, arbitrary: pick(' : ', ':\t', ' :', '::', '') });
const header = fc.tuple(headerName, colon, headerValue, lineEnd).map(([n, c, v, e]) => `${n}${c}${v}${e}`);
const body = fc.string({ unit: fc.constantFrom(...'abcdefghij0\r\n'), maxLength: 12 });

/** Requests made of the parts a parser must get right, mostly well-formed, sometimes not. */
const randomRequest = fc
  .tuple(pick('', '', '', '\r\n', '\n'), method, space, target, space, version, lineEnd, fc.array(header, { maxLength: 6 }), lineEnd, body)
  .map((parts) => Buffer.from(parts.flat().join(''), 'latin1'));

/** Well-formed requests the daemon serves: the seeds of the mutations. */
const wellFormed = fc
  .tuple(
    pick('GET', 'PUT', 'POST', 'DELETE', 'HEAD'),
    pick('/v1/size', '/v1/sessions/ab', '/v1/counters'),
    pick('HTTP/1.1', 'HTTP/1.0'),
    fc.subarray(['Host: x', 'Authorization: Bearer t', 'Connection: keep-alive', 'Connection: close', 'X-A: b', 'Expect: 100-continue']),
    fc.string({ unit: fc.constantFrom(...'abc'), maxLength: 6 }),
  )
  .map(([m, t, v, hs, b]) => `${m} ${t} ${v}\r\nHost: x\r\n${hs.filter((h) => h !== 'Host: x').map((h) => `${h}\r\n`).join('')}Content-Length: ${b.length}\r\n\r\n${b}`);

const INTERESTING = ['\r', '\n', '\r\n', '\u0000', ' ', '\t', ':', ',', '\u007f', '\u0080', '\u00ff', '0', '9', 'a', 'G', '/', '\u0001'];
const mutatedRequest = mutated(wellFormed, INTERESTING);

/** Requests the differential runs found wrong once: kept so they stay right. */
const REGRESSIONS: string[] = [
  // A target not in origin-form (llhttp: HPE_INVALID_URL).
  'GET % HTTP/1.0\r\n\r\n',
  'HEAD \x80/v1/counters HTTP/1.1\r\nHost: x\r\n\r\n',
  // A tab after the Content-Length (llhttp: HPE_INVALID_CONTENT_LENGTH).
  'DELETE /v1/sessions/ab HTTP/1.1\r\nHost: x\r\nContent-Length: 1\t\r\n\r\na',
  // "close" and a tab: llhttp keeps the connection.
  'GET /v1/counters HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nConnection: close\t\r\n\r\n',
];

const oracle = new RequestOracle();
beforeAll(() => oracle.start());
afterAll(() => oracle.close());

const check = async (bytes: Buffer): Promise<void> => agree(bytes, daemonReads(bytes), await oracle.parse(bytes));

describe('the daemon parses request heads as llhttp does, or refuses them', () => {
  it('regressions found by the differential runs', async () => {
    for (const r of REGRESSIONS) await check(Buffer.from(r, 'latin1'));
  });

  it('random requests', async () => {
    await fc.assert(fc.asyncProperty(randomRequest, check), { numRuns: Number(process.env.DIFF_RUNS ?? 1500) });
  });

  it('mutated well-formed requests', async () => {
    await fc.assert(fc.asyncProperty(mutatedRequest, check), { numRuns: Number(process.env.DIFF_RUNS ?? 1500) });
  });

  it('the oracle can tell: llhttp takes a plain request and refuses a broken one, and the daemon reads the same', async () => {
    const good = Buffer.from('PUT /v1/size HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab', 'latin1');
    const node = await oracle.parse(good);
    expect(node).toMatchObject({ accepted: true, method: 'PUT', url: '/v1/size', complete: true });
    expect(daemonReads(good)).toMatchObject({ accepted: true, head: { method: 'PUT', length: 2 } });
    expect((await oracle.parse(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n'))).accepted).toBe(false);
  });
});
