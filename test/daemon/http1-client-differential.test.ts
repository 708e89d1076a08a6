/**
 * The daemon client's answer parser (readAnswerHead, src/lib/store/http1-client.ts)
 * against llhttp's, through node:http's client: random and mutated answers
 * go to both. Whenever llhttp refuses an answer the client must refuse it
 * too; whenever both take it they must agree on the status, the headers that
 * frame it (Content-Length, Transfer-Encoding, Connection), keep-alive and
 * the body. Bounded for CI: a few thousand cases over loopback.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAnswerHead, type AnswerHead } from '../../src/lib/store/http1-client.js';
import { CRLF2, HeadError } from '../../src/lib/store/http1-head.js';
import { AnswerOracle, type LlhttpAnswer } from '../helpers/llhttp.js';
import { mutated } from '../helpers/mutate.js';

type Client = { accepted: false; why: string } | { accepted: true; head: AnswerHead; body: Buffer; complete: boolean };

/** What the client makes of `bytes` as the whole answer to a `method` request, the connection closed after them. */
function clientReads(bytes: Buffer, method: string): Client {
  const end = bytes.indexOf(CRLF2);
  if (end < 0) return { accepted: false, why: 'no end of head before the close' };
  let head: AnswerHead;
  try {
    head = readAnswerHead(bytes, 0, end, method === 'HEAD');
  } catch (err) {
    if (err instanceof HeadError) return { accepted: false, why: err.message };
    throw err;
  }
  const rest = bytes.subarray(end + 4);
  if (head.bodyLength === -2) return { accepted: true, head, body: rest, complete: true };
  // One request at a time: bytes beyond the answer are a daemon talking out of turn, and fail it.
  if (rest.length > head.bodyLength) return { accepted: false, why: 'more bytes than the answer holds' };
  return { accepted: true, head, body: rest.subarray(0, head.bodyLength), complete: rest.length >= head.bodyLength };
}

function agree(bytes: Buffer, method: string, client: Client, node: LlhttpAnswer): void {
  const shown = `${method}: ${JSON.stringify(bytes.toString('latin1'))}`;
  if (!node.accepted) {
    expect(client.accepted, `llhttp refused (${node.code}) what the client takes: ${shown}`).toBe(false);
    return;
  }
  if (!client.accepted) return;
  expect(client.head.status, shown).toBe(node.status);
  for (const name of ['content-length', 'transfer-encoding', 'connection'] as const) {
    expect(client.head.headers[name], `${name} of ${shown}`).toBe(node.headers[name]);
  }
  expect(client.body.toString('latin1'), `body of ${shown}`).toBe(node.body.toString('latin1'));
  expect(client.complete, `complete body of ${shown}`).toBe(node.complete);
  // Kept alive only when llhttp would keep it too (closing is always safe).
  if (client.head.keepAlive && client.complete) expect(node.keepAlive, `keep-alive of ${shown}`).toBe(true);
}

const pick = <T>(...values: T[]) => fc.constantFrom(...values);
const method = fc.oneof({ weight: 5, arbitrary: pick('GET', 'PUT', 'POST', 'DELETE') }, { weight: 1, arbitrary: fc.constant('HEAD') });
const statusLine = fc.oneof(
  { weight: 6, arbitrary: pick('HTTP/1.1 200 OK', 'HTTP/1.1 204 No Content', 'HTTP/1.1 404 Not Found', 'HTTP/1.1 412 Precondition Failed', 'HTTP/1.1 304 Not Modified') },
  {
    weight: 3,
    arbitrary: pick('HTTP/1.0 200 OK', 'HTTP/1.1 200 ', 'HTTP/1.1 200', 'HTTP/1.1 100 Continue', 'HTTP/1.1 101 Switching', 'HTTP/1.1 099 X', 'HTTP/1.1 2000 OK', 'HTTP/2 200', 'HTTP/1.1 200 O\u0001K', 'http/1.1 200 OK', 'HTTP/1.1  200 OK', 'ICY 200 OK', 'HTTP/1.1 200 \u00e9t\u00e9', 'HTTP/1.1 200 a\tb', 'HTTP/1.2 200 OK', ' HTTP/1.1 200 OK', 'HTTP/1.1 20x OK'),
  },
);
const lineEnd = fc.oneof({ weight: 20, arbitrary: fc.constant('\r\n') }, { weight: 1, arbitrary: pick('\n', '\r', '\r\r\n') });
const headerName = fc.oneof(
  { weight: 6, arbitrary: pick('Content-Length', 'Transfer-Encoding', 'Connection', 'Content-Type', 'Sessctl-Entry', 'ETag', 'Keep-Alive') },
  { weight: 2, arbitrary: pick('content-length', 'CONNECTION', 'Content-Length ', ' X', 'X A', 'X\u00e9', '', 'Upgrade', 'Content-Length\t') },
);
const headerValue = fc.oneof(
  { weight: 6, arbitrary: pick('3', '0', '10', 'close', 'keep-alive', 'chunked', 'application/json', 'timeout=65') },
  { weight: 3, arbitrary: pick('', ' 3', '3 ', '+3', '-1', '0x3', '3,3', '03', '99999999999999999999', 'gzip, chunked', 'Close', 'keep-alive, close', 'x\u0000y', 'x\u007fy', '\u00e9', 'a\tb', '3\t', 'close\t', 'upgrade') },
);
const colon = fc.oneof({ weight: 10, arbitrary: pick(': ', ':') }, { weight: 1, arbitrary: pick(' : ', ':\t', ' :', '') });
const header = fc.tuple(headerName, colon, headerValue, lineEnd).map(([n, c, v, e]) => `${n}${c}${v}${e}`);
const body = fc.string({ unit: fc.constantFrom(...'abcdefghij0\r\n'), maxLength: 12 });

const randomAnswer = fc
  .tuple(statusLine, lineEnd, fc.array(header, { maxLength: 5 }), lineEnd, body)
  .map((parts) => Buffer.from(parts.flat().join(''), 'latin1'));

/** Answers as the daemon writes them (http1.ts #write): the seeds of the mutations. */
const wellFormed = fc
  .tuple(
    pick('200 OK', '204 No Content', '404 Not Found', '401 Unauthorized'),
    fc.subarray(['content-type: application/json', 'connection: close', 'keep-alive: timeout=65', 'sessctl-entry: {"key":"ab"}']),
    fc.string({ unit: fc.constantFrom(...'abc{}'), maxLength: 8 }),
  )
  .map(([status, hs, b]) => {
    const noBody = status.startsWith('204');
    return `HTTP/1.1 ${status}\r\ndate: Tue, 01 Dec 2026 00:00:00 GMT\r\n${hs.map((h) => `${h}\r\n`).join('')}${noBody ? '' : `content-length: ${b.length}\r\n`}\r\n${noBody ? '' : b}`;
  });
const INTERESTING = ['\r', '\n', '\r\n', '\u0000', ' ', '\t', ':', ',', '\u007f', '\u0080', '\u00ff', '0', '9', 'a', '/', '\u0001'];
const mutatedAnswer = mutated(wellFormed, INTERESTING);

/** Answers the differential runs found wrong once, with the request method: kept so they stay right. */
const REGRESSIONS: [string, string][] = [
  // No Content-Length in an answer to HEAD: llhttp does not keep the connection.
  ['HEAD', 'HTTP/1.1 200 \u00e9t\u00e9\r\n\r\n'],
];

const RUNS = Number(process.env.DIFF_RUNS ?? 1000);
const oracle = new AnswerOracle();
beforeAll(() => oracle.start());
afterAll(() => oracle.close());

const check = async (bytes: Buffer, m: string): Promise<void> => agree(bytes, m, clientReads(bytes, m), await oracle.parse(bytes, m));

describe('the daemon client parses answers as llhttp does, or refuses them', () => {
  it('regressions found by the differential runs', async () => {
    for (const [m, r] of REGRESSIONS) await check(Buffer.from(r, 'latin1'), m);
  });

  it('random answers', async () => {
    await fc.assert(fc.asyncProperty(randomAnswer, method, check), { numRuns: RUNS });
  });

  it('mutated answers as the daemon writes them', async () => {
    await fc.assert(fc.asyncProperty(mutatedAnswer, method, check), { numRuns: RUNS });
  });

  it('the oracle can tell: llhttp takes a plain answer and refuses a broken one, and the client reads the same', async () => {
    const good = Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nab', 'latin1');
    expect(await oracle.parse(good)).toMatchObject({ accepted: true, status: 200, complete: true });
    expect(clientReads(good, 'GET')).toMatchObject({ accepted: true, head: { status: 200, bodyLength: 2 }, complete: true });
    expect((await oracle.parse(Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab'))).accepted).toBe(false);
  });
});
