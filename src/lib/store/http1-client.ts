/**
 * A small HTTP/1.1 client for the daemon backend: one request at a time per
 * connection, a keep-alive pool, plain TCP or TLS.
 *
 * Why not node:http: a TLS server looks sessions up on its handshake path,
 * in its own process. Through node:http's Agent a lookup cost the caller
 * 150-180 µs of CPU (measured: docs/BENCHMARKS.md), about what the
 * resumption it serves costs. The daemon speaks a narrow HTTP (fixed routes,
 * Content-Length bodies, no chunked answers), and so does this client.
 *
 * - Pool: idle connections are reused newest first, closed after `idleMs`;
 *   at most `maxSockets` open, further requests wait their turn.
 * - A request on a reused connection that fails before any answer arrives
 *   (the daemon closed it while idle: a restart, a worker replaced) fails
 *   with `reusedSocket` set, so the caller can send it once more on a new one.
 * - One deadline per request (`timeoutMs`): connect, TLS, sending, the whole
 *   answer. An answer larger than `maxAnswerBytes` fails.
 */
import net from 'node:net';
import tls from 'node:tls';
import { CRLF2, HeadError, hasConnectionOption, readHeadFields } from './http1-head.js';

export interface Http1ClientOptions {
  host: string;
  port: number;
  /** TLS to the daemon (https://): CA, client certificate and key. */
  tls?: Pick<tls.ConnectionOptions, 'ca' | 'cert' | 'key'>;
  timeoutMs: number;
  idleMs: number;
  maxSockets: number;
  maxAnswerBytes: number;
}

export interface Http1Answer {
  status: number;
  /** Header values by lower-case name (a repeated header: joined with ", "). */
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * A request failure; `reusedSocket`: it went out on a pooled connection that
 * had served requests before; `beforeAnswer`: no byte of an answer came.
 */
export type Http1Failure = Error & { code?: string; reusedSocket?: boolean; beforeAnswer?: boolean };

interface Pending {
  head: string;
  body: Buffer | undefined;
  headOnly: boolean;
  resolve: (answer: Http1Answer) => void;
  reject: (err: Http1Failure) => void;
  timer: NodeJS.Timeout | undefined;
  /** Set once a connection takes it. */
  connection: Connection | undefined;
}

/**
 * HTTP-version SP status-code SP [reason-phrase] (RFC 9112 §4). A reason of
 * visible characters, spaces and tabs; llhttp also takes the line without
 * the space before an empty reason.
 */
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: [\t\x20-\x7e\x80-\xff]*)?$/;
/** Headers an answer may hold once only: a second copy makes its length ambiguous. */
const SINGLE = new Set(['content-length', 'transfer-encoding']);

/** An answer's head as the client reads it. */
export interface AnswerHead {
  status: number;
  headers: Record<string, string>;
  keepAlive: boolean;
  /** The body's length, or -2: no Content-Length, the body ends when the daemon closes. */
  bodyLength: number;
}

/**
 * The answer head in bytes `from` to `to` of `bytes` (without its final blank
 * line), to a request that was a HEAD or not; throws HeadError when it is not
 * HTTP/1.1 as the daemon speaks it. Pure: tested against llhttp's answer
 * parser (test/daemon/http1-client-differential.test.ts).
 */
export function readAnswerHead(bytes: Buffer, from: number, to: number, headOnly: boolean): AnswerHead {
  const { startLine, headers } = readHeadFields(bytes, from, to, SINGLE);
  const line = STATUS_LINE.exec(startLine);
  if (line === null) throw new HeadError('not an HTTP/1.1 answer');
  const status = Number(line[2]);
  // The client never sends Expect or Upgrade: an interim answer is none it asked for.
  if (status < 200) throw new HeadError(`an interim answer (${status}) that was not asked for`);
  if (headers['transfer-encoding'] !== undefined) throw new HeadError('a chunked answer (the daemon sends Content-Length)');
  const connection = headers['connection']?.toLowerCase();
  let keepAlive = line[1] === '0' ? hasConnectionOption(connection, 'keep-alive') : !hasConnectionOption(connection, 'close');
  const declared = headers['content-length'];
  const bodiless = status === 204 || status === 304;
  // Without a length, even an answer to HEAD leaves the connection in doubt (llhttp closes it too).
  if (declared === undefined && !bodiless) keepAlive = false;
  let bodyLength: number;
  if (headOnly || bodiless) bodyLength = 0;
  else if (declared === undefined) bodyLength = -2;
  else bodyLength = Number(declared); // digits only (readHeadFields)
  return { status, headers, keepAlive, bodyLength };
}

export class Http1Client {
  readonly #options: Http1ClientOptions;
  readonly #idle: Connection[] = [];
  readonly #connections = new Set<Connection>();
  readonly #queue: Pending[] = [];
  #open = 0;
  #destroyed = false;

  /** The Host header: the same for every request. */
  readonly #host: string;

  constructor(options: Http1ClientOptions) {
    this.#options = options;
    this.#host = `${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
  }

  /** Send one request (`path` with its query); `headers` without Host and Content-Length, which are added. */
  request(method: string, path: string, headers: Record<string, string>, body?: Buffer, fresh = false): Promise<Http1Answer> {
    if (this.#destroyed) return Promise.reject(Object.assign(new Error('client closed'), { code: 'ECONNABORTED' }));
    let head = `${method} ${path} HTTP/1.1\r\nhost: ${this.#host}\r\n`;
    for (const name in headers) head += `${name}: ${headers[name]}\r\n`;
    if (body !== undefined) head += `content-length: ${body.length}\r\n`;
    head += '\r\n';
    return new Promise((resolve, reject) => {
      const pending: Pending = { head, body, headOnly: method === 'HEAD', resolve, reject, timer: undefined, connection: undefined };
      pending.timer = setTimeout(() => {
        const err: Http1Failure = Object.assign(new Error('timed out'), { code: 'ETIMEDOUT_SESSCTL' });
        if (pending.connection === undefined) {
          const at = this.#queue.indexOf(pending);
          if (at >= 0) this.#queue.splice(at, 1);
          reject(err);
        } else pending.connection.fail(err);
      }, this.#options.timeoutMs);
      if (fresh) this.#connect(pending, false);
      else this.#dispatch(pending);
    });
  }

  /** Close every connection; requests under way fail. */
  destroy(): void {
    this.#destroyed = true;
    const closed = () => Object.assign(new Error('client closed'), { code: 'ECONNABORTED' });
    for (const p of this.#queue.splice(0)) {
      clearTimeout(p.timer);
      p.reject(closed());
    }
    this.#idle.length = 0;
    for (const c of this.#connections) c.fail(closed());
  }

  #dispatch(pending: Pending): void {
    const idle = this.#idle.pop();
    if (idle !== undefined) idle.send(pending);
    else if (this.#open < this.#options.maxSockets) this.#connect(pending, true);
    else this.#queue.push(pending);
  }

  #connect(pending: Pending, pooled: boolean): void {
    this.#open += 1;
    const { host, port } = this.#options;
    const socket =
      this.#options.tls === undefined
        ? net.connect({ host, port, noDelay: true })
        : tls.connect({ host, port, ...this.#options.tls, ALPNProtocols: ['http/1.1'], ...(net.isIP(host) === 0 ? { servername: host } : {}) }).setNoDelay(true);
    const connection = new Connection(socket, this.#options, pooled ? (c) => this.#release(c) : (c) => c.close(), () => {
      this.#open -= 1;
      this.#connections.delete(connection);
      const at = this.#idle.indexOf(connection);
      if (at >= 0) this.#idle.splice(at, 1);
      // A slot is free: a waiting request gets a connection.
      const next = this.#queue.shift();
      if (next !== undefined) this.#dispatch(next);
    });
    this.#connections.add(connection);
    connection.send(pending);
  }

  /** A connection done with its request: the next waiting request, or the idle pool. */
  #release(connection: Connection): void {
    const next = this.#queue.shift();
    if (next !== undefined) connection.send(next);
    else if (this.#destroyed) connection.close();
    else this.#idle.push(connection);
  }
}

/** Longest answer head accepted. */
const MAX_HEAD_BYTES = 64 * 1024;

class Connection {
  readonly #socket: net.Socket;
  readonly #options: Http1ClientOptions;
  readonly #onDone: (c: Connection) => void;
  #pending: Pending | undefined;
  /** Requests answered on this connection so far. */
  #served = 0;
  /** Whether any byte of the current answer has arrived. */
  #receivedAny = false;
  /** The answer's head so far, until its blank line: #headBytes bytes of #headRoom (grown by doubling). */
  #headRoom: Buffer | undefined;
  #headBytes = 0;
  #status = 0;
  #headers: Record<string, string> = {};
  /** -1: head not read yet; -2: no Content-Length, the body ends when the daemon closes. */
  #bodyLength = -1;
  #bodyChunks: Buffer[] = [];
  #bodyReceived = 0;
  #keepAlive = true;
  #idleTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(socket: net.Socket, options: Http1ClientOptions, onDone: (c: Connection) => void, onClose: () => void) {
    this.#socket = socket;
    this.#options = options;
    this.#onDone = onDone;
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('error', (err: Http1Failure) => this.fail(err));
    socket.on('end', () => this.#ended());
    socket.on('close', () => {
      this.#closed = true;
      clearTimeout(this.#idleTimer);
      this.fail(Object.assign(new Error('connection closed'), { code: 'ECONNRESET' }));
      onClose();
    });
  }

  send(pending: Pending): void {
    clearTimeout(this.#idleTimer);
    pending.connection = this;
    this.#pending = pending;
    this.#receivedAny = false;
    this.#headBytes = 0;
    this.#bodyLength = -1;
    this.#bodyChunks = [];
    this.#bodyReceived = 0;
    if (this.#closed) return this.fail(Object.assign(new Error('connection closed'), { code: 'ECONNRESET' }));
    if (pending.body === undefined || pending.body.length === 0) this.#socket.write(pending.head, 'latin1');
    else {
      this.#socket.cork();
      this.#socket.write(pending.head, 'latin1');
      this.#socket.write(pending.body);
      this.#socket.uncork();
    }
  }

  /** Fail the request under way (if any) and drop the connection. */
  fail(err: Http1Failure): void {
    const pending = this.#pending;
    this.#pending = undefined;
    if (!this.#closed) this.#socket.destroy();
    if (pending === undefined) return;
    clearTimeout(pending.timer);
    // Nothing came back, on a connection that had served requests: it was closed while idle.
    if (this.#served > 0 && !this.#receivedAny) err.reusedSocket = true;
    if (!this.#receivedAny) err.beforeAnswer = true;
    pending.reject(err);
  }

  close(): void {
    this.#socket.destroy();
  }

  #ended(): void {
    // An answer without Content-Length ends when the daemon closes its side.
    if (this.#pending !== undefined && this.#bodyLength === -2) return this.#answer();
    this.fail(Object.assign(new Error('connection closed'), { code: 'ECONNRESET' }));
  }

  #receive(chunk: Buffer): void {
    const pending = this.#pending;
    if (pending === undefined) {
      // Nothing was asked: a server that talks out of turn is not one to trust.
      this.#socket.destroy();
      return;
    }
    this.#receivedAny = true;
    let rest = chunk;
    if (this.#bodyLength === -1) {
      const head = this.#gatherHead(chunk);
      if (head === undefined) return;
      if (!this.#parseHead(head.data, head.end, pending.headOnly)) return;
      rest = head.data.subarray(head.end + 4);
    }
    if (rest.length > 0) {
      this.#bodyChunks.push(rest);
      this.#bodyReceived += rest.length;
    }
    if (this.#bodyReceived > this.#options.maxAnswerBytes) return this.fail(Object.assign(new Error('answer too large'), { code: 'ESESSCTL_TOO_LARGE' }));
    if (this.#bodyLength === -2 || this.#bodyReceived < this.#bodyLength) return;
    if (this.#bodyReceived > this.#bodyLength) return this.fail(Object.assign(new Error('more bytes than the answer holds'), { code: 'ESESSCTL_MALFORMED' }));
    this.#answer();
  }

  /**
   * The head so far with `chunk`, and where its blank line starts; undefined
   * while it has not come. Linear in the head's length however it is cut up
   * (joining chunk by chunk was quadratic): a chunk is searched once, and
   * kept in a room that doubles as needed.
   */
  #gatherHead(chunk: Buffer): { data: Buffer; end: number } | undefined {
    const before = this.#headBytes;
    const room = this.#headRoom;
    let end = -1;
    if (before > 0) {
      // The blank line may straddle what came before and this chunk.
      const from = Math.max(0, before - (CRLF2.length - 1));
      const at = Buffer.concat([room!.subarray(from, before), chunk.subarray(0, CRLF2.length - 1)]).indexOf(CRLF2);
      if (at >= 0) end = from + at;
    }
    if (end < 0) {
      const at = chunk.indexOf(CRLF2);
      if (at >= 0) end = before + at;
    }
    if (end >= 0) return { data: before === 0 ? chunk : Buffer.concat([room!.subarray(0, before), chunk]), end };
    const length = before + chunk.length;
    if (length > MAX_HEAD_BYTES) {
      this.fail(Object.assign(new Error('answer head too large'), { code: 'ESESSCTL_MALFORMED' }));
      return undefined;
    }
    if (room === undefined || room.length < length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * length, 1024));
      room?.copy(grown, 0, 0, before);
      this.#headRoom = grown;
    }
    chunk.copy(this.#headRoom!, before);
    this.#headBytes = length;
    return undefined;
  }

  /** Status and headers; false (and the request failed) when they are not HTTP/1.1 as the daemon speaks it. */
  #parseHead(data: Buffer, end: number, headOnly: boolean): boolean {
    let head: AnswerHead;
    try {
      head = readAnswerHead(data, 0, end, headOnly);
    } catch (err) {
      if (!(err instanceof HeadError)) throw err;
      this.fail(Object.assign(new Error(err.message), { code: 'ESESSCTL_MALFORMED' }));
      return false;
    }
    this.#status = head.status;
    this.#headers = head.headers;
    this.#keepAlive = head.keepAlive;
    this.#bodyLength = head.bodyLength;
    if (this.#bodyLength > this.#options.maxAnswerBytes) {
      this.fail(Object.assign(new Error('answer too large'), { code: 'ESESSCTL_TOO_LARGE' }));
      return false;
    }
    return true;
  }

  #answer(): void {
    const pending = this.#pending!;
    this.#pending = undefined;
    this.#served += 1;
    clearTimeout(pending.timer);
    // Each read is a buffer of its own (Node allocates one per read): the body can keep it.
    const body = this.#bodyChunks.length === 1 ? this.#bodyChunks[0]! : Buffer.concat(this.#bodyChunks, this.#bodyReceived);
    this.#bodyChunks = [];
    pending.resolve({ status: this.#status, headers: this.#headers, body });
    if (!this.#keepAlive || this.#closed) return this.close();
    this.#idleTimer = setTimeout(() => this.close(), this.#options.idleMs);
    this.#idleTimer.unref();
    this.#onDone(this);
  }
}
