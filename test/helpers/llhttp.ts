/**
 * llhttp, the parser node:http is built on, as an oracle for the daemon's
 * hand-written HTTP/1.1 code: raw bytes go to a node:http server (requests)
 * or come from a raw socket server to a node:http client (answers) on
 * loopback, and what Node made of them comes back. Node's defaults hold
 * (strict parsing, `requireHostHeader`), as for any node:http server.
 */
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';

/** What llhttp made of a request: refused, or the first request's parts. */
export type LlhttpRequest =
  | { accepted: false; code: string }
  | {
      accepted: true;
      method: string;
      url: string;
      /** Node's view: repeated headers joined or dropped as node:http does. */
      headers: http.IncomingHttpHeaders;
      rawHeaders: string[];
      httpVersion: string;
      keepAlive: boolean;
      /** Body bytes read before the connection ended. */
      body: Buffer;
      /** The whole body arrived (as its framing says). */
      complete: boolean;
    };

/** Waits that only end early: a case is over when Node closes or this passes. */
const CASE_DEADLINE_MS = 5000;

export class RequestOracle {
  readonly #server: http.Server;
  #port = 0;
  /** Results by the client port of the connection. */
  readonly #results = new Map<number, (r: LlhttpRequest) => void>();

  constructor() {
    this.#server = http.createServer({ keepAliveTimeout: 1000 });
    this.#server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const settle = this.#take(req.socket.remotePort);
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      const done = (complete: boolean) => {
        settle?.({
          accepted: true,
          method: req.method!,
          url: req.url!,
          headers: req.headers,
          rawHeaders: req.rawHeaders,
          httpVersion: req.httpVersion,
          keepAlive: (req as unknown as { shouldKeepAlive?: boolean }).shouldKeepAlive ?? res.shouldKeepAlive,
          body: Buffer.concat(chunks),
          complete,
        });
        res.destroy();
      };
      req.on('end', () => done(true));
      req.on('close', () => done(req.complete));
    });
    this.#server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
      this.#take(socket.remotePort)?.({ accepted: false, code: err.code ?? 'unknown' });
      socket.destroy();
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  /** Send `bytes` on a new connection, half-close, and say what node:http made of them. */
  async parse(bytes: Buffer): Promise<LlhttpRequest> {
    const socket = net.connect(this.#port, '127.0.0.1');
    socket.on('error', () => {});
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const result = new Promise<LlhttpRequest>((resolve) => this.#results.set(socket.localPort!, resolve));
    socket.on('data', () => {});
    socket.end(bytes);
    const closed = new Promise<LlhttpRequest>((resolve) => socket.once('close', () => setTimeout(() => resolve({ accepted: false, code: 'closed' }), 50)));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<LlhttpRequest>((resolve) => (timer = setTimeout(() => resolve({ accepted: false, code: 'deadline' }), CASE_DEADLINE_MS)));
    try {
      return await Promise.race([result, closed, late]);
    } finally {
      clearTimeout(timer);
      this.#results.delete(socket.localPort!);
      socket.destroy();
    }
  }

  #take(port: number | undefined): ((r: LlhttpRequest) => void) | undefined {
    if (port === undefined) return undefined;
    const settle = this.#results.get(port);
    this.#results.delete(port);
    return settle;
  }
}

/** What llhttp made of an answer: refused, or its parts. */
export type LlhttpAnswer =
  | { accepted: false; code: string }
  | { accepted: true; status: number; headers: http.IncomingHttpHeaders; keepAlive: boolean; body: Buffer; complete: boolean };

/** Answers `bytes` to the next request on a raw socket, and lets node:http's client read them. */
export class AnswerOracle {
  readonly #server: net.Server;
  #port = 0;
  #next = Buffer.alloc(0);

  constructor() {
    this.#server = net.createServer((socket) => {
      socket.on('error', () => {});
      const bytes = this.#next;
      socket.once('data', () => socket.end(bytes));
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.#port = (this.#server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  /** What node:http's client makes of `bytes` as the answer to a `method` request, the connection closed after them. */
  async parse(bytes: Buffer, method = 'GET'): Promise<LlhttpAnswer> {
    this.#next = bytes;
    return new Promise<LlhttpAnswer>((resolve) => {
      let settled = false;
      const settle = (r: LlhttpAnswer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.destroy();
        agent.destroy();
        resolve(r);
      };
      const timer = setTimeout(() => settle({ accepted: false, code: 'deadline' }), CASE_DEADLINE_MS);
      // A keep-alive agent: the request asks to keep the connection, so whether it
      // is kept after the answer is what llhttp read in the answer.
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const req = http.request({ host: '127.0.0.1', port: this.#port, method, path: '/', agent });
      req.on('close', () => agent.destroy());
      req.on('error', (err: NodeJS.ErrnoException) => settle({ accepted: false, code: err.code ?? 'unknown' }));
      req.on('response', (res: http.IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        const done = (complete: boolean) =>
          settle({
            accepted: true,
            status: res.statusCode!,
            headers: res.headers,
            keepAlive: (req as unknown as { shouldKeepAlive: boolean }).shouldKeepAlive,
            body: Buffer.concat(chunks),
            complete,
          });
        res.on('end', () => done(true));
        res.on('error', () => done(false));
        res.on('close', () => done(res.complete));
      });
      req.end();
    });
  }
}
