/**
 * A small HTTP/1.1 server for the daemon: requests with a Content-Length body
 * (or none), keep-alive and pipelining, over plain TCP or TLS sockets.
 *
 * Why not node:http: measured with `ab -k -c 50` on this machine, node:http
 * answers about 31k requests/s with an empty handler, a bare socket loop about
 * 60k/s; the daemon's target is half of Redis's GET rate (docs/BENCHMARKS.md).
 * What the daemon needs of HTTP is little: fixed routes, small bodies, no
 * chunked uploads, no upgrades.
 *
 * The wire contract (RFC 9112), kept strict because requests come from the network:
 * - the request line and every header line are checked (token names, no bare
 *   CR or LF, no control characters, no obsolete line folding): 400;
 * - the head at most `maxHeaderBytes`: 431; a body over `maxBodyBytes`: 413,
 *   answered before reading it; Transfer-Encoding: 411 (send Content-Length);
 * - deadlines: the head within `headersTimeoutMs` of its first byte (or of the
 *   connection), the whole request within `requestTimeoutMs`: 408 and close;
 *   an idle keep-alive connection is closed after `keepAliveTimeoutMs`;
 * - a client that stops reading its answers stops being read.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { CRLF2, HeadError, TOKEN_CHAR, hasConnectionOption, readHeadFields, type HeadFields } from '../store/http1-head.js';

export interface HttpRequest {
  readonly method: string;
  /** The request target as sent: path and query. */
  readonly target: string;
  /** Header values by lower-case name (duplicates joined with ", "). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly remoteAddress: string | undefined;
  /** The connection it came on: an identity for per-connection state (a WeakMap key), nothing more. */
  readonly connection: object;
}

export interface HttpReply {
  status: number;
  headers?: Record<string, string | number>;
  /** Not sent for HEAD; its length is the Content-Length either way. */
  body?: Buffer | string;
  /** Close the connection once this reply is written. */
  close?: boolean;
}

export type HttpHandler = (request: HttpRequest) => HttpReply | Promise<HttpReply>;

export interface Http1Limits {
  maxHeaderBytes: number;
  maxBodyBytes: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
}

export interface Http1Options {
  limits: Http1Limits;
  handler: HttpHandler;
  /** A request refused before it reached the handler (bad syntax, limits, deadlines). */
  onClientError: (code: string, status: number, remoteAddress: string | undefined) => void;
}

/** What the connection is waiting for. */
const HEAD = 0; // the request head (deadline: headersTimeoutMs)
const BODY = 1; // the rest of the body (deadline: requestTimeoutMs)
const BUSY = 2; // the handler's reply (no deadline: that time is ours)
const IDLE = 3; // the next request on a kept-alive connection (deadline: keepAliveTimeoutMs)
const DONE = 4; // closing
type State = typeof HEAD | typeof BODY | typeof BUSY | typeof IDLE | typeof DONE;

/** The first byte of a TLS record carrying a handshake: a TLS client speaking to a plain-HTTP port. */
const TLS_HANDSHAKE = 0x16;
/**
 * Method SP request-target SP HTTP-version (RFC 9112 §3). The target in
 * origin-form only (the daemon is no proxy): "/" then the characters of a
 * path and query (RFC 3986 pchar, "/" and "?"), nothing that needs encoding
 * and no fragment; a subset of what llhttp takes, as the differential test checks.
 */
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\/[A-Za-z0-9\-._~%!$&'()*+,;=:@/?]*) HTTP\/1\.([01])$/;
/** Headers that must come once: a second copy is how request smuggling starts. */
const SINGLE = new Set(['content-length', 'transfer-encoding', 'host', 'authorization', 'expect']);

/** A request refused before the handler: answered with `status` and the connection closed. */
export class Refusal extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** A request head as the daemon understood it. */
export interface RequestHead {
  method: string;
  /** The request target as sent. */
  target: string;
  /** Values by lower-case name; a repeated header joined with ", " (the SINGLE ones are refused instead). */
  headers: Record<string, string>;
  keepAlive: boolean;
  http10: boolean;
  /** The body's length: Content-Length, or 0 without one (a chunked body is refused). */
  length: number;
}

type Head = RequestHead;

let dateSecond = 0;
let dateText = '';
/** The Date header, formatted once a second. */
function httpDate(): string {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

const SLAB_BYTES = 256 * 1024;
let slab = Buffer.allocUnsafeSlow(0);
let slabUsed = 0;

/**
 * Room for one reply, every byte of which the caller writes (the memory is
 * not zeroed). Cut from 256 KiB slabs: Buffer.allocUnsafe's 8 KiB pool makes
 * a new ArrayBuffer every few replies, and each one costs an allocation and a
 * later sweep by the GC (measured on the lookup path: docs/BENCHMARKS.md).
 * A slab is freed once no reply cut from it is still being written.
 */
function replyBuffer(length: number): Buffer {
  if (length > SLAB_BYTES / 8) return Buffer.allocUnsafeSlow(length);
  if (slabUsed + length > slab.length) {
    slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + length);
  // Keep the next reply 8-byte aligned, as Buffer's pool does.
  slabUsed += (length + 7) & ~7;
  return out;
}

/** The connections of one server: the deadline sweep and a graceful close. */
export class Http1Connections {
  readonly #options: Http1Options;
  readonly #open = new Set<Connection>();
  readonly #sweep: NodeJS.Timeout;
  #closing = false;
  #onIdle: (() => void) | undefined;

  constructor(options: Http1Options, sweepMs: number) {
    this.#options = options;
    // One timer for all connections, as node:http does (connectionsCheckingInterval).
    this.#sweep = setInterval(() => {
      const now = Date.now();
      for (const c of this.#open) c.checkDeadline(now);
    }, sweepMs);
    this.#sweep.unref();
  }

  /** Serve HTTP/1.1 on a connected socket (plain, or TLS once its handshake is done). */
  accept(socket: Socket): void {
    const c = new Connection(socket, this.#options, () => this.#closing, (conn) => {
      this.#open.delete(conn);
      this.#settled();
    }, () => this.#settled());
    this.#open.add(c);
    if (this.#closing) c.closeIfIdle();
  }

  /** Requests received and not yet answered. */
  get inFlight(): number {
    let n = 0;
    for (const c of this.#open) if (c.inFlight) n += 1;
    return n;
  }

  /**
   * Close idle connections now, every other one after its current answer
   * (which says `connection: close`); resolves when no request is left in
   * flight, or after `graceMs`, when the rest are cut.
   */
  async close(graceMs: number): Promise<void> {
    this.#closing = true;
    clearInterval(this.#sweep);
    for (const c of this.#open) c.closeIfIdle();
    if (this.inFlight > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        this.#onIdle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    // Connections writing their last answer close themselves once it is out.
    for (const c of this.#open) if (!c.finishing) c.destroy();
  }

  #settled(): void {
    if (!this.#closing) return;
    for (const c of this.#open) c.closeIfIdle();
    if (this.inFlight === 0) this.#onIdle?.();
  }
}

class Connection {
  readonly #socket: Socket;
  readonly #options: Http1Options;
  readonly #closing: () => boolean;
  readonly #onClose: (c: Connection) => void;
  readonly #onAnswered: () => void;
  #state: State = HEAD;
  #deadline: number;
  /** Bytes received and not yet parsed. */
  #pending: Buffer | undefined;
  #head: Head | undefined;
  #bodyChunks: Buffer[] = [];
  #bodyLength = 0;
  #readEnded = false;
  /** Not reading: the client is not reading its answers (or has sent too far ahead). */
  #paused = false;
  /** Where partial input is gathered (see #append). */
  #room: Buffer | undefined;

  constructor(socket: Socket, options: Http1Options, closing: () => boolean, onClose: (c: Connection) => void, onAnswered: () => void) {
    this.#socket = socket;
    this.#options = options;
    this.#closing = closing;
    this.#onClose = onClose;
    this.#onAnswered = onAnswered;
    this.#deadline = Date.now() + options.limits.headersTimeoutMs;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#receive(chunk));
    socket.on('end', () => this.#ended());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.#state = DONE;
      this.#onClose(this);
    });
    socket.on('drain', () => {
      if (this.#state !== BUSY && this.#state !== DONE) this.#resume();
    });
  }

  /** Between the end of a request's head and its answer (what a graceful stop waits for). */
  get inFlight(): boolean {
    return this.#state === BODY || this.#state === BUSY;
  }

  /** Writing its last answer before it closes. */
  get finishing(): boolean {
    return this.#state === DONE && !this.#socket.destroyed;
  }

  checkDeadline(now: number): void {
    if (this.#state === DONE || now < this.#deadline) return;
    // Paused, the wait is for the client to read: no answer can reach it.
    if (this.#paused) return this.destroy();
    if (this.#state === BUSY) return;
    if (this.#state === IDLE && this.#pending === undefined) return this.destroy();
    this.#refuse(new Refusal(408, 'request_timeout', 'the request took too long to arrive'));
  }

  /** Close now if no request is under way (a graceful stop). */
  closeIfIdle(): void {
    if (this.#state === IDLE || (this.#state === HEAD && this.#pending === undefined)) this.destroy();
  }

  destroy(): void {
    this.#state = DONE;
    this.#socket.destroy();
  }

  #receive(chunk: Buffer): void {
    if (this.#state === DONE) return;
    this.#pending = this.#pending === undefined ? chunk : this.#append(this.#pending, chunk);
    if (this.#state === IDLE) this.#await(HEAD);
    if (this.#state === BUSY) {
      // Pipelined requests wait for the answer before; stop reading if they pile up.
      const { maxHeaderBytes, maxBodyBytes } = this.#options.limits;
      if (this.#pending.length > maxHeaderBytes + maxBodyBytes) this.#pause();
      return;
    }
    this.#advance();
  }

  /**
   * `pending` + `chunk`, in amortised linear time: a head sent a byte at a
   * time must not cost a copy of everything so far per byte. While `pending`
   * is a view of the start of #room, the chunk is copied in after it; else
   * (or when full) a room twice the size is made.
   */
  #append(pending: Buffer, chunk: Buffer): Buffer {
    const length = pending.length + chunk.length;
    let room = this.#room;
    if (room === undefined || room.length < length || pending.buffer !== room.buffer || pending.byteOffset !== room.byteOffset) {
      room = Buffer.allocUnsafeSlow(Math.max(2 * length, 4096));
      pending.copy(room, 0);
      this.#room = room;
    }
    chunk.copy(room, pending.length);
    return room.subarray(0, length);
  }

  /** Parse and answer what `#pending` holds, as far as it goes. */
  #advance(): void {
    try {
      while ((this.#state === HEAD && this.#pending !== undefined) || this.#state === BODY) {
        if (this.#state === HEAD) {
          if (!this.#readHead()) return;
        } else if (!this.#readBody()) return;
      }
    } catch (err) {
      if (err instanceof Refusal) return this.#refuse(err);
      throw err;
    }
    if (this.#readEnded && this.#state !== BUSY) this.#finish();
  }

  /** One request head from `#pending`; false when more bytes are needed. */
  #readHead(): boolean {
    const pending = this.#pending!;
    const read = readRequestHead(pending, this.#options.limits);
    if (read === undefined) return false;
    const head = read.head;
    this.#pending = read.bodyStart === pending.length ? undefined : pending.subarray(read.bodyStart);
    this.#head = head;
    if (head.headers['expect'] !== undefined && !head.http10 && this.#pending === undefined && head.length > 0) {
      this.#socket.write('HTTP/1.1 100 Continue\r\n\r\n');
    }
    this.#bodyChunks = [];
    this.#bodyLength = 0;
    this.#await(BODY);
    return true;
  }

  /** The body of the current request from `#pending`; answers once complete. */
  #readBody(): boolean {
    const head = this.#head!;
    const missing = head.length - this.#bodyLength;
    if (missing > 0) {
      const pending = this.#pending;
      if (pending === undefined) return false;
      const take = pending.length <= missing ? pending : pending.subarray(0, missing);
      this.#bodyChunks.push(take);
      this.#bodyLength += take.length;
      this.#pending = take === pending ? undefined : pending.subarray(missing);
      if (this.#bodyLength < head.length) return false;
    }
    this.#state = BUSY;
    const body = this.#bodyChunks.length === 1 ? this.#bodyChunks[0]! : Buffer.concat(this.#bodyChunks, this.#bodyLength);
    this.#bodyChunks = [];
    const request: HttpRequest = { method: head.method, target: head.target, headers: head.headers, body, remoteAddress: this.#socket.remoteAddress, connection: this };
    let reply: HttpReply | Promise<HttpReply>;
    try {
      reply = this.#options.handler(request);
    } catch {
      reply = { status: 500, close: true };
    }
    if (reply instanceof Promise) {
      reply.then(
        (r) => this.#answer(head, r, true),
        () => this.#answer(head, { status: 500, close: true }, true),
      );
      return false;
    }
    this.#answer(head, reply, false);
    return true;
  }

  /** Write the answer; `resume`: parse what was pipelined meanwhile (not when called from #advance itself). */
  #answer(head: Head, reply: HttpReply, resume: boolean): void {
    if (this.#state === DONE) return;
    const close = reply.close === true || !head.keepAlive || this.#closing() || (this.#readEnded && this.#pending === undefined);
    this.#write(reply, head.method === 'HEAD', close, head.http10);
    this.#head = undefined;
    if (close) {
      this.#finish();
    } else {
      this.#await(this.#pending === undefined ? IDLE : HEAD);
      if (this.#socket.writableNeedDrain) this.#pause();
      else this.#resume();
    }
    this.#onAnswered();
    if (resume && this.#state === HEAD) this.#advance();
  }

  /** Stop reading; a client that does not read its answers within requestTimeoutMs is cut. */
  #pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#socket.pause();
    this.#deadline = Date.now() + this.#options.limits.requestTimeoutMs;
  }

  #resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#socket.resume();
    if (this.#state === HEAD || this.#state === BODY || this.#state === IDLE) this.#await(this.#state);
  }

  /** Wait for the client: the state and its deadline (while paused, the pause's deadline holds). */
  #await(state: typeof HEAD | typeof BODY | typeof IDLE): void {
    this.#state = state;
    if (this.#paused) return;
    const { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs } = this.#options.limits;
    this.#deadline = Date.now() + (state === HEAD ? headersTimeoutMs : state === BODY ? requestTimeoutMs : keepAliveTimeoutMs);
  }

  #write(reply: HttpReply, headOnly: boolean, close: boolean, http10: boolean): void {
    const body = reply.body === undefined ? undefined : typeof reply.body === 'string' ? Buffer.from(reply.body) : reply.body;
    let text = `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? 'Unknown'}\r\ndate: ${httpDate()}\r\n`;
    if (reply.headers !== undefined) for (const name in reply.headers) text += `${name}: ${reply.headers[name]}\r\n`;
    if (reply.status !== 204 && reply.status !== 304) text += `content-length: ${body?.length ?? 0}\r\n`;
    if (close) text += 'connection: close\r\n';
    else {
      if (http10) text += 'connection: keep-alive\r\n';
      text += `keep-alive: timeout=${Math.floor(this.#options.limits.keepAliveTimeoutMs / 1000)}\r\n`;
    }
    text += '\r\n';
    const size = Buffer.byteLength(text, 'latin1');
    const withBody = body !== undefined && !headOnly ? body.length : 0;
    const out = replyBuffer(size + withBody);
    out.write(text, 0, 'latin1');
    if (withBody > 0) body!.copy(out, size);
    this.#socket.write(out);
  }

  #refuse(refusal: Refusal): void {
    if (this.#state === DONE) return;
    this.#options.onClientError(refusal.code, refusal.status, this.#socket.remoteAddress);
    if (!this.#socket.writable) return this.destroy();
    const body = JSON.stringify({ error: { message: refusal.message, code: refusal.code } });
    this.#write({ status: refusal.status, headers: { 'content-type': 'application/json' }, body }, false, true, false);
    this.#pending = undefined;
    this.#finish();
  }

  /** Half-closed by the client: answer what is under way, then close. */
  #ended(): void {
    this.#readEnded = true;
    if (this.#state !== BUSY && this.#state !== BODY) this.#finish();
    else if (this.#state === BODY) {
      // The rest of the body will not come.
      this.destroy();
    }
  }

  #finish(): void {
    if (this.#state === DONE) return;
    this.#state = DONE;
    this.#socket.end();
    // Do not wait for a client that never closes its side.
    this.#socket.destroySoon();
  }
}

/**
 * The request head at the start of `bytes` (blank lines before it allowed), as
 * the connection reads it: undefined while its end has not arrived, a
 * Refusal thrown when it is refused (also before its end, as soon as that is
 * certain). Pure: tested against llhttp (test/daemon/http1-differential.test.ts).
 */
export function readRequestHead(
  bytes: Buffer,
  limits: Pick<Http1Limits, 'maxHeaderBytes' | 'maxBodyBytes'>,
): { head: RequestHead; bodyStart: number } | undefined {
  const { maxHeaderBytes, maxBodyBytes } = limits;
  // Blank lines before a request are allowed (RFC 9112 §2.2).
  let start = 0;
  while (start + 1 < bytes.length && bytes[start] === 0x0d && bytes[start + 1] === 0x0a) start += 2;
  // A request line starts with a method, a token: anything else is refused at once, not after the head timeout.
  const first = bytes[start];
  if (first !== undefined && first !== 0x0d && (first >= 0x80 || TOKEN_CHAR[first] === 0)) {
    if (first === TLS_HANDSHAKE) throw new Refusal(400, 'tls_on_plain_http', 'a TLS handshake on a plain-HTTP port: use http://, or start the daemon with --tls-cert and --tls-key');
    throw new Refusal(400, 'bad_request', 'not an HTTP/1.x request');
  }
  const end = bytes.indexOf(CRLF2, start);
  // The blank lines count towards the limit: an endless stream of them is no request either.
  if (end < 0) {
    if (bytes.length > maxHeaderBytes) throw new Refusal(431, 'header_overflow', 'the request head is too large');
    return undefined;
  }
  if (end > maxHeaderBytes) throw new Refusal(431, 'header_overflow', 'the request head is too large');
  const head = parseHead(bytes, start, end);
  if (head.length > maxBodyBytes) throw new Refusal(413, 'too_large', `the body is larger than ${maxBodyBytes} bytes`);
  const expect = head.headers['expect'];
  if (expect !== undefined && expect.toLowerCase() !== '100-continue') throw new Refusal(417, 'expectation_failed', 'only "Expect: 100-continue" is understood');
  return { head, bodyStart: end + 4 };
}

/** The request head, bytes `from` to `to` of `bytes` (without the final blank line), or a Refusal. */
function parseHead(bytes: Buffer, from: number, to: number): Head {
  let fields: HeadFields;
  try {
    fields = readHeadFields(bytes, from, to, SINGLE);
  } catch (err) {
    if (err instanceof HeadError) throw new Refusal(400, 'bad_request', `${err.message} of the request`);
    throw err;
  }
  const line = REQUEST_LINE.exec(fields.startLine);
  if (line === null) throw new Refusal(400, 'bad_request', 'not an HTTP/1.x request line');
  const headers = fields.headers;
  if (headers['transfer-encoding'] !== undefined) {
    throw new Refusal(411, 'length_required', 'chunked request bodies are not accepted: send Content-Length');
  }
  // Digits only (readHeadFields).
  const declared = headers['content-length'];
  const length = declared === undefined ? 0 : Number(declared);
  const http10 = line[3] === '0';
  // RFC 9112 §3.2: a server MUST answer 400 to an HTTP/1.1 request without Host.
  if (!http10 && headers['host'] === undefined) throw new Refusal(400, 'bad_request', 'an HTTP/1.1 request without a Host header');
  const connection = headers['connection']?.toLowerCase();
  const keepAlive = http10 ? hasConnectionOption(connection, 'keep-alive') : !hasConnectionOption(connection, 'close');
  return { method: line[1]!, target: line[2]!, headers, keepAlive, http10, length };
}
