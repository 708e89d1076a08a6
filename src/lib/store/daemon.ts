/**
 * The daemon backend: `--store https://HOST:PORT` (or `http://` on loopback)
 * speaks to `sessctl serve` (src/lib/daemon, wire format in daemon-protocol.ts).
 *
 * - A keep-alive pool (http1-client.ts, not node:http: about half the CPU per
 *   lookup, which TLS servers pay on the handshake path): connections are
 *   reused, and a pooled connection the daemon closed (a restart) is
 *   replaced on the next request without reopening the store.
 * - Every request is bounded by `timeoutMs` (default 5 s): a dead daemon is a
 *   SessctlError "... is not answering", never a hang.
 * - foldl pages through the daemon with a cursor: constant memory.
 */
import { readFileSync } from 'node:fs';
import { SessctlError, usageError } from '../errors.js';
import {
  DER_TYPE,
  ENTRY_HEADER,
  JSON_TYPE,
  KEYRING_CAS,
  SESSIONS_PATH,
  API_PREFIX,
  entryHeader,
  fromWire,
  isLoopback,
  isSessionKey,
  keySegment,
  parseMeta,
  ringTag,
  type ErrorBody,
  type InfoBody,
  type PageBody,
} from './daemon-protocol.js';
import type { FlushResult } from './flush.js';
import { Http1Client, type Http1Answer, type Http1Failure } from './http1-client.js';
import { Halt, type Counters, type Entry, type FoldFn, type OpenOptions, type SessionKey, type SessionStore, type StoreCapabilities } from './types.js';

/** Default bound on one request, connect included. */
export const DEFAULT_TIMEOUT_MS = 5000;

/** Entries fetched per page in foldl. */
const FOLD_PAGE = 500;

/** Idle pooled connections are closed after this; the daemon keeps them longer (server.ts). */
const IDLE_MS = 30_000;

/** Connections to the daemon at most; more requests at once wait their turn. */
const MAX_SOCKETS = 64;

/** Largest answer accepted (a page of big sessions is a few MB). */
const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/** Connection errors after which a request on a reused pooled connection is tried once more. */
const STALE_SOCKET = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);

const IDEMPOTENT = new Set(['GET', 'HEAD', 'PUT', 'DELETE']);

interface RequestOptions {
  body?: Buffer | string;
  headers?: Record<string, string>;
  /** On a new connection rather than a pooled one. */
  fresh?: boolean;
}

/** Open the daemon store at `url`; checks the daemon answers and takes the token before resolving. */
export async function open(url: string, options: OpenOptions): Promise<SessionStore> {
  const store = new DaemonStore(url, options);
  try {
    await store.connect();
  } catch (err) {
    await store.terminate();
    throw err;
  }
  return store;
}

export class DaemonStore implements SessionStore {
  readonly kind = 'daemon';
  readonly url: string;
  capabilities: StoreCapabilities = { persistent: true, sharedCounters: true, keyRing: false };
  readKeyRing?: () => Promise<Buffer | undefined>;
  writeKeyRing?: (data: Buffer, expected?: Buffer | null) => Promise<boolean>;

  readonly #base: URL;
  readonly #prefix: string;
  readonly #client: Http1Client;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;
  #closed = false;

  constructor(url: string, options: OpenOptions = {}) {
    let base: URL;
    try {
      base = new URL(url);
    } catch {
      throw usageError(`not a daemon URL: "${url}" (use https://HOST:PORT)`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw usageError(`not a daemon URL: "${url}" (use https://HOST:PORT)`);
    if (base.username !== '' || base.password !== '') throw usageError('give the daemon token with --token-file or SESSCTL_TOKEN, not in the URL');
    if (base.search !== '' || base.hash !== '') throw usageError(`a daemon URL has no query or fragment: "${url}"`);
    if (base.protocol === 'http:' && !isLoopback(base.hostname)) {
      throw usageError(`refusing plain http:// to ${base.host}: the token and the sessions would cross the network in clear; use https://`);
    }
    this.#base = base;
    this.#prefix = base.pathname.replace(/\/+$/, '');
    this.url = `${base.protocol}//${base.host}${this.#prefix}`;
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;

    let tls: { ca?: Buffer; cert?: Buffer; key?: Buffer } | undefined;
    if (base.protocol === 'http:' && (options.ca !== undefined || options.cert !== undefined || options.key !== undefined)) {
      // Plain http:// has no TLS to use them in: say so rather than drop them.
      throw usageError(`${options.ca !== undefined ? '--ca' : '--client-cert/--client-key'} applies to https:// daemon URLs only, not ${this.url}`);
    }
    if (base.protocol === 'https:') {
      const read = (file: string | undefined, what: string): Buffer | undefined => {
        if (file === undefined) return undefined;
        try {
          return readFileSync(file);
        } catch (err) {
          throw new SessctlError(`cannot read ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
        }
      };
      if ((options.cert === undefined) !== (options.key === undefined)) throw usageError('a client certificate needs its key, and a key its certificate');
      const ca = read(options.ca, 'CA file');
      const cert = read(options.cert, 'client certificate');
      const key = read(options.key, 'client key');
      tls = { ...(ca === undefined ? {} : { ca }), ...(cert === undefined || key === undefined ? {} : { cert, key }) };
    }
    this.#client = new Http1Client({
      host: base.hostname.replace(/^\[|\]$/g, ''),
      port: base.port === '' ? (base.protocol === 'https:' ? 443 : 80) : Number(base.port),
      ...(tls === undefined ? {} : { tls }),
      timeoutMs: this.#timeoutMs,
      idleMs: IDLE_MS,
      maxSockets: MAX_SOCKETS,
      maxAnswerBytes: MAX_ANSWER_BYTES,
    });
  }

  /** Ask the daemon what it serves: checks it answers and accepts the token. */
  async connect(): Promise<void> {
    const info = this.#json<InfoBody>(await this.#expect('GET', `${API_PREFIX}/info`, [200]));
    if (info?.protocol !== 1 || typeof info.capabilities !== 'object') throw this.#malformed('/v1/info');
    this.capabilities = { persistent: info.capabilities.persistent === true, sharedCounters: true, keyRing: info.capabilities.keyRing === true };
    if (this.capabilities.keyRing) {
      this.readKeyRing = async () => {
        const answer = await this.#expect('GET', `${API_PREFIX}/keyring`, [200, 404]);
        return answer.status === 404 ? undefined : answer.body;
      };
      // A daemon older than this client ignores the conditions of a ring
      // write: it would overwrite a concurrent rotation without a word.
      const conditional = Array.isArray(info.features) && info.features.includes(KEYRING_CAS);
      this.writeKeyRing = async (data: Buffer, expected?: Buffer | null) => {
        if (expected !== undefined && !conditional) {
          throw new SessctlError(`the daemon ${this.url} is older than this sessctl and cannot write the ticket-key ring only if it is unchanged (compare-and-swap): upgrade the daemon`);
        }
        const condition: Record<string, string> = expected === undefined ? {} : expected === null ? { 'if-none-match': '*' } : { 'if-match': ringTag(expected) };
        const answer = await this.#expect('PUT', `${API_PREFIX}/keyring`, [204, 412], { body: data, headers: { 'content-type': DER_TYPE, ...condition } });
        return answer.status === 204;
      };
    }
  }

  async lookup(key: SessionKey): Promise<Entry | undefined> {
    const answer = await this.#expect('GET', this.#sessionPath(key), [200, 404]);
    if (answer.status === 404) return undefined;
    const header = answer.headers[ENTRY_HEADER];
    try {
      return { ...parseMeta(JSON.parse(String(header)), key), der: answer.body, size: answer.body.length };
    } catch {
      throw this.#malformed('a lookup');
    }
  }

  async update(entry: Entry): Promise<void> {
    await this.#expect('PUT', this.#sessionPath(entry.key), [204], {
      body: entry.der,
      headers: { 'content-type': DER_TYPE, [ENTRY_HEADER]: entryHeader(entry) },
    });
  }

  async delete(key: SessionKey): Promise<boolean> {
    const body = this.#json<{ removed?: unknown }>(await this.#expect('DELETE', this.#sessionPath(key), [200]));
    if (typeof body?.removed !== 'boolean') throw this.#malformed('a delete');
    return body.removed;
  }

  async foldl<A>(fn: FoldFn<A>, acc0: A): Promise<A> {
    let acc = acc0;
    let cursor: string | null = null;
    do {
      const query: string = `?limit=${FOLD_PAGE}${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
      const page = this.#json<PageBody>(await this.#expect('GET', `${SESSIONS_PATH}${query}`, [200]));
      if (!Array.isArray(page?.entries) || !(page.cursor === null || typeof page.cursor === 'string')) throw this.#malformed('a page of sessions');
      for (const wire of page.entries) {
        const next = await fn(this.#entry(wire), acc);
        if (next instanceof Halt) return next.acc;
        acc = next;
      }
      cursor = page.cursor;
    } while (cursor !== null);
    return acc;
  }

  async selectSession(partialKey: string): Promise<Entry[]> {
    const body = this.#json<{ entries?: unknown }>(await this.#expect('GET', `${API_PREFIX}/select?partialKey=${encodeURIComponent(partialKey)}`, [200]));
    if (!Array.isArray(body?.entries)) throw this.#malformed('a select');
    return body.entries.map((wire) => this.#entry(wire));
  }

  async size(): Promise<number> {
    const body = this.#json<{ size?: unknown }>(await this.#expect('GET', `${API_PREFIX}/size`, [200]));
    if (!Number.isSafeInteger(body?.size)) throw this.#malformed('size');
    return body.size as number;
  }

  async counters(): Promise<Counters> {
    const body = this.#json<Counters>(await this.#expect('GET', `${API_PREFIX}/counters`, [200]));
    if (typeof body !== 'object' || body === null) throw this.#malformed('counters');
    return body;
  }

  async addCounters(delta: Partial<Counters>): Promise<void> {
    await this.#expect('POST', `${API_PREFIX}/counters`, [204], { body: JSON.stringify(delta), headers: { 'content-type': JSON_TYPE } });
  }

  /** SSL_CTX_flush_sessions run by the daemon, next to the store (no sessions cross the network). */
  async flush(options: { all?: boolean; olderThan?: number; dryRun?: boolean } = {}): Promise<FlushResult> {
    return this.#json<FlushResult>(await this.#expect('POST', `${API_PREFIX}/flush`, [200], { body: JSON.stringify(options), headers: { 'content-type': JSON_TYPE } }));
  }

  async terminate(): Promise<void> {
    this.#closed = true;
    this.#client.destroy();
  }

  #sessionPath(key: SessionKey): string {
    if (!isSessionKey(key)) throw usageError(`not a session id: "${key.slice(0, 80)}" (expected 0 to 64 lowercase hex digits, an even number)`);
    return `${SESSIONS_PATH}/${keySegment(key)}`;
  }

  #entry(wire: unknown): Entry {
    try {
      return fromWire(wire);
    } catch {
      throw this.#malformed('a list of sessions');
    }
  }

  #json<T>(answer: Http1Answer): T {
    try {
      return JSON.parse(answer.body.toString('utf8')) as T;
    } catch {
      throw this.#malformed('a request');
    }
  }

  #malformed(what: string): SessctlError {
    return new SessctlError(`sessctl daemon ${this.url} sent a malformed answer to ${what} (is it a sessctl daemon of the same version?)`);
  }

  /** Send a request; any status not in `ok` becomes the SessctlError an operator can act on. */
  async #expect(method: string, path: string, ok: number[], options: RequestOptions = {}): Promise<Http1Answer> {
    if (this.#closed) throw new SessctlError(`the session store ${this.url} has been closed`);
    const answer = await this.#send(method, path, options);
    if (ok.includes(answer.status)) return answer;
    if (answer.status === 401) {
      throw new SessctlError(
        this.#token === undefined
          ? `the daemon ${this.url} needs a token: give --token-file FILE or set SESSCTL_TOKEN`
          : `the daemon ${this.url} refused the token`,
      );
    }
    let message = `HTTP ${answer.status}`;
    try {
      const body = JSON.parse(answer.body.toString('utf8')) as ErrorBody;
      if (typeof body.error?.message === 'string') message = body.error.message;
    } catch {
      // Not a sessctl error body (a proxy's page, say): the status says enough.
    }
    throw new SessctlError(`sessctl daemon ${this.url}: ${message}`);
  }

  async #send(method: string, path: string, options: RequestOptions, retried = false): Promise<Http1Answer> {
    try {
      const headers: Record<string, string> = { ...options.headers };
      if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
      const body = typeof options.body === 'string' ? Buffer.from(options.body) : options.body;
      return await this.#client.request(method, `${this.#prefix}${path}`, headers, body, options.fresh === true);
    } catch (err) {
      const e = err as Http1Failure;
      // A pooled connection the daemon closed while idle (a restart, a worker
      // replaced), or a connection whose worker died before answering (serve
      // --workers replaces it): an idempotent request may be sent again (RFC
      // 9110 §9.2.2), once, on a new connection (the pool may hold more dead ones).
      if (!retried && (e.reusedSocket === true || e.beforeAnswer === true) && STALE_SOCKET.has(e.code ?? '') && IDEMPOTENT.has(method)) {
        return this.#send(method, path, { ...options, fresh: true }, true);
      }
      throw this.#unreachable(e);
    }
  }

  /** A connection-level failure as one line. */
  #unreachable(err: Http1Failure): SessctlError {
    if (err instanceof SessctlError) return err;
    const code = err.code ?? '';
    if (code === 'ESESSCTL_TOO_LARGE') return new SessctlError(`sessctl daemon ${this.url} sent an answer larger than ${MAX_ANSWER_BYTES} bytes`);
    if (code === 'ESESSCTL_MALFORMED') return new SessctlError(`sessctl daemon ${this.url} sent a malformed answer (${err.message}): is it a sessctl daemon?`);
    const reasons: Record<string, string> = {
      ETIMEDOUT_SESSCTL: `no answer within ${this.#timeoutMs} ms`,
      ECONNREFUSED: 'connection refused',
      ECONNRESET: 'connection reset',
      EPIPE: 'connection closed',
      EHOSTUNREACH: 'host unreachable',
      ENETUNREACH: 'network unreachable',
      ETIMEDOUT: 'connection timed out',
    };
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new SessctlError(`sessctl daemon ${this.url}: cannot resolve ${this.#base.hostname}`, { cause: err });
    if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(code)) {
      return new SessctlError(`sessctl daemon ${this.url}: its TLS certificate is not trusted (${code}): give the CA with --ca FILE`, { cause: err });
    }
    // A plain-HTTP answer where a TLS record was expected (OpenSSL's words for it; the code may be EPROTO).
    if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST/.test(code) || /wrong version number|packet length too long|http request/i.test(err.message)) {
      return new SessctlError(`sessctl daemon ${this.url} does not speak TLS on this port: is it http://?`, { cause: err });
    }
    if (code.startsWith('ERR_SSL') || /alert|handshake/i.test(err.message)) {
      return new SessctlError(`sessctl daemon ${this.url}: TLS handshake failed (${code || err.message}); does it require a client certificate?`, { cause: err });
    }
    // A TLS daemon drops a plain-HTTP request without a word: say what that may mean.
    const hint = code === 'ECONNRESET' && this.#base.protocol === 'http:' ? '; if the daemon serves TLS, use https://' : '';
    return new SessctlError(`sessctl daemon ${this.url} is not answering (${reasons[code] ?? (code || err.message)}${hint})`, { cause: err });
  }
}
