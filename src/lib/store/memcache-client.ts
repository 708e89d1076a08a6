/**
 * A small memcached text-protocol client over node:net, for the memcached
 * backend (memcache.ts). It speaks only what that backend needs: meta get
 * (`mg KEY v t`: value and remaining TTL in one reply, memcached >= 1.6;
 * a batch of keys and their companions in one request), set/add, delete,
 * incr/decr, and `lru_crawler metadump all`, which the maintained npm
 * clients do not offer. Reference: memcached's doc/protocol.txt.
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

/**
 * Reads a reply from the front of `buf`: `consumed` bytes are done with;
 * `done` once the reply is complete. A long reply (a batch's values) may be
 * read a part at a time, so only what is left of a chunk is ever copied.
 */
type ReplyParser<T> = (buf: Buffer) => { done: true; value: T; consumed: number } | { done: false; consumed: number };

const MORE = { done: false, consumed: 0 } as const;

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

/**
 * Called for each key of a getPairs batch, in order: the key's value and
 * remaining TTL in seconds (-1: never expires), and its companion's value;
 * undefined for a miss. The Buffers are views into the socket's data, valid
 * during the call only: copy what is kept.
 */
export type PairFn = (index: number, value: Buffer | undefined, ttl: number, companion: Buffer | undefined) => void;

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
   * Each key's value and TTL and its companion's value (the key behind
   * `companionPrefix`), in one write: `mg KEY v t` and `mg COMPANION v` a
   * key, every reply in order (`EN` for a miss), read as it arrives and
   * handed to `each` (see PairFn) without a Buffer or object per reply. A
   * fold's batches (memcache.ts) come this way. `keys` are byte strings, one
   * character a byte, as `dump` gives them.
   */
  getPairs(keys: readonly string[], companionPrefix: string, each: PairFn): Promise<void> {
    if (keys.length === 0) return Promise.resolve();
    let text = '';
    for (const key of keys) text += `mg ${key} v t\r\nmg ${companionPrefix}${key} v\r\n`;
    // One latin1 write: the keys' bytes as the dump gave them.
    const request = Buffer.from(text, 'latin1');
    return this.#request(request, pairsParser(keys.length, each));
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
   * up to `batchSize`: each key URL-decoded into a byte string (one
   * character a byte, so it is sent back byte for byte: write it as latin1).
   * It streams over its own connection with backpressure: the crawler waits
   * while the caller works on a batch, so memory stays flat.
   */
  async *dump(batchSize = 500): AsyncGenerator<string[]> {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const socket = await this.#connect();
      // Bounded while waiting for the server, not while the caller works on a batch.
      const watch = (on: boolean) => socket.setTimeout(on ? this.timeoutMs : 0);
      socket.on('timeout', () => socket.destroy(this.#timeoutError()));
      watch(true);
      socket.write('lru_crawler metadump all\r\n');
      let rest: Buffer = Buffer.alloc(0);
      let batch: string[] = [];
      let busy = false;
      try {
        reading: for await (const chunk of socket as AsyncIterable<Buffer>) {
          const buf = rest.length === 0 ? chunk : Buffer.concat([rest, chunk]);
          let at = 0;
          let end: number;
          // Dump lines end in "\n" alone; only the final END has "\r\n".
          while ((end = buf.indexOf(10, at)) >= 0) {
            const start = at;
            at = end + 1;
            if (buf[start] === 0x6b /* k */) {
              const key = dumpedKey(buf, start, end);
              if (key !== undefined) batch.push(key);
              if (batch.length >= batchSize) {
                watch(false);
                yield batch;
                watch(true);
                batch = [];
              }
              continue;
            }
            const line = buf.toString('latin1', start, buf[end - 1] === 13 ? end - 1 : end);
            if (line === 'END') break reading;
            if (line.startsWith('BUSY')) {
              busy = true;
              break reading;
            }
            if (line.startsWith('ERROR') || line.startsWith('CLIENT_ERROR') || line.startsWith('SERVER_ERROR')) {
              throw this.#protocolError('lru_crawler metadump all', line);
            }
          }
          rest = buf.subarray(at);
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
      let reply: ReturnType<ReplyParser<unknown>>;
      try {
        reply = this.#queue[0]!.parse(this.#buffer);
      } catch (err) {
        this.#drop(err as Error);
        return;
      }
      this.#buffer = this.#buffer.subarray(reply.consumed);
      if (!reply.done) return;
      const pending = this.#queue.shift()!;
      clearTimeout(pending.timer);
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
  return end < 0 ? MORE : { done: true, value: buf.toString('latin1', 0, end), consumed: end + 2 };
};

/** `VA <size> t<ttl>\r\n<data>\r\n`, or `EN\r\n` for a miss. */
const parseMetaGet: ReplyParser<MetaValue | undefined> = (buf) => {
  const reply = metaReply(buf, 0);
  if (reply === undefined) return MORE;
  const value = reply.dataStart < 0 ? undefined : { value: Buffer.from(buf.subarray(reply.dataStart, reply.dataStart + reply.size)), ttl: reply.ttl };
  return { done: true, value, consumed: reply.next };
};

/**
 * The reply to getPairs: for each key, its `mg KEY v t` reply and its
 * companion's `mg COMPANION v` reply. A pair is handed over once both are
 * in; what is left of a pair waits for the next chunk.
 */
function pairsParser(count: number, each: PairFn): ReplyParser<void> {
  let index = 0;
  return (buf) => {
    let at = 0;
    while (index < count) {
      const value = metaReply(buf, at);
      if (value === undefined) break;
      const { dataStart: valueStart, size: valueSize, ttl } = value;
      const companion = metaReply(buf, value.next);
      if (companion === undefined) break;
      each(
        index,
        valueStart < 0 ? undefined : buf.subarray(valueStart, valueStart + valueSize),
        ttl,
        companion.dataStart < 0 ? undefined : buf.subarray(companion.dataStart, companion.dataStart + companion.size),
      );
      index += 1;
      at = companion.next;
    }
    return index === count ? { done: true, value: undefined, consumed: at } : { done: false, consumed: at };
  };
}

/** One meta get reply at `at`, if complete: where its data starts (-1: a miss, `EN`), its size and the `t` flag (-1 without one); `next` is where the reply after it starts. */
function metaReply(buf: Buffer, at: number): { dataStart: number; size: number; ttl: number; next: number } | undefined {
  const end = buf.indexOf(CRLF, at);
  if (end < 0) return undefined;
  // "EN": a miss.
  if (end === at + 2 && buf[at] === 0x45 && buf[at + 1] === 0x4e) return { dataStart: -1, size: 0, ttl: -1, next: end + 2 };
  // "VA <size>[ <flags>]", flags one letter and a value each, space-separated.
  let i = at + 3;
  let size = 0;
  while (i < end && buf[i]! >= 0x30 && buf[i]! <= 0x39) size = size * 10 + buf[i++]! - 0x30;
  if (buf[at] !== 0x56 || buf[at + 1] !== 0x41 || buf[at + 2] !== 0x20 || i === at + 3 || (i < end && buf[i] !== 0x20)) {
    throw new SessctlError(`memcached: unexpected reply to mg: ${buf.toString('latin1', at, Math.min(end, at + 200))}`);
  }
  let ttl = -1;
  while (i < end) {
    const flag = i + 1;
    i = buf.indexOf(0x20, flag);
    if (i < 0 || i > end) i = end;
    if (buf[flag] === 0x74 /* t */) ttl = Number(buf.toString('latin1', flag + 1, i));
  }
  const dataStart = end + 2;
  if (buf.length < dataStart + size + 2) return undefined;
  return { dataStart, size, ttl, next: dataStart + size + 2 };
}

const HEX_VALUE = new Int8Array(256).fill(-1);
for (let c = 0; c < 256; c++) {
  const digit = '0123456789abcdef'.indexOf(String.fromCharCode(c).toLowerCase());
  if (digit >= 0) HEX_VALUE[c] = digit;
}
const decoded = Buffer.alloc(1024);

/**
 * The key of one `lru_crawler metadump` line (`buf` from `start` to the
 * "\n" at `end`): `key=<urlencoded> exp=<unix|-1> la=... cas=... fetch=...
 * cls=... size=...`, URL-decoded into a byte string; undefined for any
 * other line or a bad escape.
 */
export function dumpedKey(buf: Buffer, start: number, end: number): string | undefined {
  if (buf[start] !== 0x6b || buf[start + 1] !== 0x65 || buf[start + 2] !== 0x79 || buf[start + 3] !== 0x3d) return undefined;
  let stop = buf.indexOf(0x20, start + 4);
  if (stop < 0 || stop > end) stop = buf[end - 1] === 13 ? end - 1 : end;
  // memcached escapes every byte but letters, digits and "-._~" (its uriencode), so a key holds at least a "%" or two.
  let length = 0;
  for (let i = start + 4; i < stop; i++) {
    let c = buf[i]!;
    if (c === 0x25 /* % */) {
      if (i + 2 >= stop) return undefined;
      const hi = HEX_VALUE[buf[i + 1]!]!;
      const lo = HEX_VALUE[buf[i + 2]!]!;
      if (hi < 0 || lo < 0) return undefined;
      c = (hi << 4) | lo;
      i += 2;
    }
    if (length === decoded.length) return undefined;
    decoded[length++] = c;
  }
  return length === 0 ? undefined : decoded.toString('latin1', 0, length);
}
