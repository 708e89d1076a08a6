/**
 * A small memcached text-protocol client over node:net, for the memcached
 * backend (memcache.ts). It speaks only what that backend needs: meta get
 * (`mg KEY v t`: value and remaining TTL in one reply, memcached >= 1.6;
 * many keys in one request with quiet mode and a closing `mn`),
 * set/add, delete, incr/decr, and `lru_crawler metadump all`, which the
 * maintained npm clients do not offer. Reference: memcached's doc/protocol.txt.
 *
 * One connection per server; requests are pipelined and their replies
 * arrive in order. Every request is bounded by `timeoutMs`: a server that is
 * down or stalls rejects with a SessctlError naming it, and the connection is
 * dropped (its reply stream can no longer be trusted) and made again on the
 * next request.
 */
import net from 'node:net';
import { SessctlError } from '../errors.js';

const CRLF = Buffer.from('\r\n');

/** Consumes one complete reply from the front of `buf`, or returns undefined to wait for more. */
type ReplyParser<T> = (buf: Buffer) => { value: T; consumed: number } | undefined;

interface Pending {
  parse: ReplyParser<unknown>;
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

/** A value read with meta get. */
export interface MetaValue {
  value: Buffer;
  /** Seconds the item still lives; -1 when it never expires. */
  ttl: number;
}

/** One line of `lru_crawler metadump`: the key (URL-decoded) and its absolute expiry (-1: never). */
export interface DumpedKey {
  key: string;
  exp: number;
}

export class MemcacheServer {
  readonly name: string;
  #socket: net.Socket | undefined;
  #connecting: Promise<net.Socket> | undefined;
  #buffer: Buffer = Buffer.alloc(0);
  readonly #queue: Pending[] = [];
  #closed = false;

  constructor(
    readonly host: string,
    readonly port: number,
    readonly timeoutMs: number,
  ) {
    this.name = `memcached ${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  /** Meta get: the value and its remaining TTL, or undefined when absent. */
  get(key: string): Promise<MetaValue | undefined> {
    return this.#request(`mg ${key} v t\r\n`, parseMetaGet);
  }

  /**
   * Meta get of many keys as one request: `mg KEY v t k q` for each (quiet:
   * a miss sends nothing; k: the hit names its key) and `mn`, whose `MN`
   * closes the reply (protocol.txt, "Meta No-Op"). One pending reply and
   * one write for the batch instead of one of each per key: a fold's values
   * (memcache.ts) come this way. Keys absent from the map were misses.
   */
  getMany(keys: readonly string[]): Promise<Map<string, MetaValue>> {
    if (keys.length === 0) return Promise.resolve(new Map());
    return this.#request(`${keys.map((key) => `mg ${key} v t k q\r\n`).join('')}mn\r\n`, metaGetManyParser());
  }

  /** set (replace or create); exptime as memcached reads it (relative up to 30 days). */
  async set(key: string, value: Buffer, exptime: number): Promise<void> {
    const reply = await this.#request(Buffer.concat([Buffer.from(`set ${key} 0 ${exptime} ${value.length}\r\n`), value, CRLF]), parseLine);
    if (reply !== 'STORED') throw this.#protocolError(`set ${key}`, reply);
  }

  /** add: store only when absent; false when the key exists. */
  async add(key: string, value: Buffer, exptime: number): Promise<boolean> {
    const reply = await this.#request(Buffer.concat([Buffer.from(`add ${key} 0 ${exptime} ${value.length}\r\n`), value, CRLF]), parseLine);
    if (reply === 'STORED' || reply === 'NOT_STORED') return reply === 'STORED';
    throw this.#protocolError(`add ${key}`, reply);
  }

  /** delete; true when something was deleted. */
  async delete(key: string): Promise<boolean> {
    const reply = await this.#request(`delete ${key}\r\n`, parseLine);
    if (reply === 'DELETED' || reply === 'NOT_FOUND') return reply === 'DELETED';
    throw this.#protocolError(`delete ${key}`, reply);
  }

  /** incr / decr by a positive amount; the new value, or undefined when the key is absent. */
  async incr(key: string, delta: number): Promise<number | undefined> {
    const reply = await this.#request(`${delta < 0 ? 'decr' : 'incr'} ${key} ${Math.abs(delta)}\r\n`, parseLine);
    if (reply === 'NOT_FOUND') return undefined;
    if (/^\d+$/.test(reply)) return Number(reply);
    throw this.#protocolError(`incr ${key}`, reply);
  }

  /**
   * Every key on this server, from `lru_crawler metadump all`, in batches of
   * up to `batchSize`. It streams over its own connection with backpressure:
   * the crawler waits while the caller works on a batch, so memory stays flat.
   */
  async *dump(batchSize = 500): AsyncGenerator<DumpedKey[]> {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const socket = await this.#connect();
      // Bounded while waiting for the server, not while the caller works on a batch.
      const watch = (on: boolean) => socket.setTimeout(on ? this.timeoutMs : 0);
      socket.on('timeout', () => socket.destroy(this.#timeoutError()));
      watch(true);
      socket.write('lru_crawler metadump all\r\n');
      let rest = '';
      let batch: DumpedKey[] = [];
      let busy = false;
      try {
        reading: for await (const chunk of socket as AsyncIterable<Buffer>) {
          rest += chunk.toString('latin1');
          let end: number;
          // Dump lines end in "\n" alone; only the final END has "\r\n".
          while ((end = rest.indexOf('\n')) >= 0) {
            const line = rest.slice(0, end).replace(/\r$/, '');
            rest = rest.slice(end + 1);
            if (line === 'END') break reading;
            if (line.startsWith('BUSY')) {
              busy = true;
              break reading;
            }
            if (line.startsWith('ERROR') || line.startsWith('CLIENT_ERROR') || line.startsWith('SERVER_ERROR')) {
              throw this.#protocolError('lru_crawler metadump all', line);
            }
            const dumped = parseDumpLine(line);
            if (dumped !== undefined) batch.push(dumped);
            if (batch.length >= batchSize) {
              watch(false);
              yield batch;
              watch(true);
              batch = [];
            }
          }
        }
        if (!busy) {
          watch(false);
          if (batch.length > 0) yield batch;
          return;
        }
      } catch (err) {
        throw err instanceof SessctlError ? err : this.#connectionError(err as Error);
      } finally {
        socket.destroy();
      }
      // Another crawl (a concurrent fold) is running on this server: try again shortly.
      if (Date.now() > deadline) throw new SessctlError(`${this.name} is busy with another key dump (lru_crawler): try again`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  close(): void {
    this.#closed = true;
    this.#drop(new SessctlError(`${this.name}: connection closed`));
  }

  // ------------------------------------------------------------ internals

  async #request<T>(command: string | Buffer, parse: ReplyParser<T>): Promise<T> {
    if (this.#closed) throw new SessctlError(`${this.name}: the store has been closed`);
    const socket = await this.#shared();
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => this.#drop(this.#timeoutError()), this.timeoutMs);
      this.#queue.push({ parse, resolve: resolve as (v: unknown) => void, reject, timer });
      socket.write(command);
    });
  }

  /** The pipelined connection, made on first use and again after a failure. */
  async #shared(): Promise<net.Socket> {
    if (this.#socket !== undefined) return this.#socket;
    this.#connecting ??= this.#connect().then(
      (socket) => {
        this.#connecting = undefined;
        this.#socket = socket;
        this.#buffer = Buffer.alloc(0);
        socket.on('data', (chunk: Buffer) => this.#onData(chunk));
        socket.on('error', (err) => this.#drop(this.#connectionError(err)));
        socket.on('close', () => this.#drop(new SessctlError(`${this.name} closed the connection`)));
        return socket;
      },
      (err: unknown) => {
        this.#connecting = undefined;
        throw err;
      },
    );
    return this.#connecting;
  }

  #connect(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: this.host, port: this.port });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(this.#timeoutError());
      }, this.timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(socket);
      });
      socket.once('error', (err) => {
        clearTimeout(timer);
        reject(this.#connectionError(err));
      });
    });
  }

  #onData(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    while (this.#queue.length > 0) {
      let reply: { value: unknown; consumed: number } | undefined;
      try {
        reply = this.#queue[0]!.parse(this.#buffer);
      } catch (err) {
        this.#drop(err as Error);
        return;
      }
      if (reply === undefined) return;
      const pending = this.#queue.shift()!;
      clearTimeout(pending.timer);
      this.#buffer = this.#buffer.subarray(reply.consumed);
      pending.resolve(reply.value);
    }
  }

  /** Fail everything in flight and forget the connection. */
  #drop(err: Error): void {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#buffer = Buffer.alloc(0);
    socket?.removeAllListeners();
    socket?.on('error', () => {});
    socket?.destroy();
    for (const pending of this.#queue.splice(0)) {
      clearTimeout(pending.timer);
      pending.reject(err);
    }
  }

  #timeoutError(): SessctlError {
    return new SessctlError(`${this.name} is not answering (timed out after ${this.timeoutMs / 1000} s)`);
  }

  #connectionError(err: NodeJS.ErrnoException): SessctlError {
    const reason = err.code === 'ECONNREFUSED' ? 'connection refused' : err.code === 'ECONNRESET' ? 'connection reset' : err.message;
    return new SessctlError(`${this.name} is not reachable (${reason})`, { cause: err, suggestions: ['check that memcached is running and the URL is right'] });
  }

  #protocolError(command: string, reply: string): SessctlError {
    return new SessctlError(`${this.name} refused ${command.split(' ')[0]}: ${reply.slice(0, 200)}`);
  }
}

/** One CRLF-terminated line. */
const parseLine: ReplyParser<string> = (buf) => {
  const end = buf.indexOf(CRLF);
  return end < 0 ? undefined : { value: buf.toString('latin1', 0, end), consumed: end + 2 };
};

/** `VA <size> t<ttl>\r\n<data>\r\n`, or `EN\r\n` for a miss. */
const parseMetaGet: ReplyParser<MetaValue | undefined> = (buf) => {
  const head = parseLine(buf);
  if (head === undefined) return undefined;
  if (head.value === 'EN') return { value: undefined, consumed: head.consumed };
  const m = /^VA (\d+)(?: (.*))?$/.exec(head.value);
  if (!m) throw new SessctlError(`memcached: unexpected reply to mg: ${head.value.slice(0, 200)}`);
  const size = Number(m[1]);
  if (buf.length < head.consumed + size + 2) return undefined;
  const ttlFlag = (m[2] ?? '').split(' ').find((f) => f.startsWith('t'));
  return {
    value: { value: Buffer.from(buf.subarray(head.consumed, head.consumed + size)), ttl: ttlFlag === undefined ? -1 : Number(ttlFlag.slice(1)) },
    consumed: head.consumed + size + 2,
  };
};

/**
 * The reply to getMany: `VA <size> t<ttl> k<key>\r\n<data>\r\n` per hit, then
 * `MN\r\n`. The parser keeps its place between calls (the buffer only grows
 * until the reply is complete), so a large batch is read once, not again per chunk.
 */
function metaGetManyParser(): ReplyParser<Map<string, MetaValue>> {
  const found = new Map<string, MetaValue>();
  let at = 0;
  return (buf) => {
    for (;;) {
      const end = buf.indexOf(CRLF, at);
      if (end < 0) return undefined;
      const head = buf.toString('latin1', at, end);
      if (head === 'MN') return { value: found, consumed: end + 2 };
      const m = /^VA (\d+) (.*)$/.exec(head);
      if (!m) throw new SessctlError(`memcached: unexpected reply to mg: ${head.slice(0, 200)}`);
      const size = Number(m[1]);
      if (buf.length < end + 2 + size + 2) return undefined;
      let key: string | undefined;
      let ttl = -1;
      for (const flag of m[2]!.split(' ')) {
        if (flag.startsWith('k')) key = flag.slice(1);
        else if (flag.startsWith('t')) ttl = Number(flag.slice(1));
      }
      if (key === undefined) throw new SessctlError(`memcached: mg reply without its key: ${head.slice(0, 200)}`);
      found.set(key, { value: Buffer.from(buf.subarray(end + 2, end + 2 + size)), ttl });
      at = end + 2 + size + 2;
    }
  };
}

/** `key=<urlencoded> exp=<unix|-1> la=... cas=... fetch=... cls=... size=...` */
export function parseDumpLine(line: string): DumpedKey | undefined {
  const m = /^key=(\S+) exp=(-?\d+)/.exec(line);
  if (!m) return undefined;
  try {
    return { key: decodeURIComponent(m[1]!), exp: Number(m[2]) };
  } catch {
    return undefined;
  }
}
