/**
 * The HTTP server behind `sessctl serve`: the SessionStore API of a backing
 * store (the cache file, memory:, Redis...) over HTTP/1.1, for TLS servers on
 * many hosts and for the CLI. The wire format is in src/lib/store/daemon-protocol.ts.
 *
 * Built on a small HTTP/1.1 server of its own (http1.ts) rather than fastify
 * or node:http: measured, a routing framework buys nothing for a dozen fixed
 * routes, and node:http's per-request objects halve the lookup rate
 * (docs/BENCHMARKS.md).
 *
 * Security contract (docs/ARCHITECTURE.md, "Security contract"):
 * - Keys and bodies come from the network: every key, header and body is
 *   checked before it reaches the store; bad input is a 400 with a JSON error.
 * - Values are key material: DER, ticket keys and the token never reach a log
 *   line; routes are logged by name, never with the session id.
 * - A non-loopback address needs TLS; no token ("no auth") only on loopback.
 * - Bounded: body size (413), header and request time, idle keep-alive time,
 *   connection count.
 */
import { once } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';
import tls from 'node:tls';
import { SessctlError, usageError } from '../errors.js';
import { decodeSession } from '../session/codec.js';
import { flushSessions } from '../store/flush.js';
import { HEALTH_CHECK_MS, healthCheck } from '../store/health.js';
import type { Entry, SessionStore } from '../store/types.js';
import { TokenCheck } from './auth.js';
import { UpdateBatcher } from './batch.js';
import { Http1Connections, type HttpReply, type HttpRequest } from './http1.js';
import { Metrics, METRICS_TYPE, type MetricsSnapshot } from './metrics.js';
import { pageOf } from './paging.js';
import {
  API_PREFIX,
  DEFAULT_MAX_BODY_BYTES,
  DER_TYPE,
  ENTRY_HEADER,
  FEATURES,
  JSON_TYPE,
  ProtocolError,
  SESSIONS_PATH,
  entryHeader,
  isLoopback,
  parseCounterDelta,
  parseKeySegment,
  parseMeta,
  ringTag,
  toWire,
  type InfoBody,
} from '../store/daemon-protocol.js';

export const DEFAULT_PORT = 7420;
export const DEFAULT_HOST = '127.0.0.1';

export interface DaemonLimits {
  /** Largest request body; more is a 413. */
  maxBodyBytes: number;
  /** Largest request head (request line and headers); more is a 431. */
  maxHeaderBytes: number;
  /** Time a client has to send the request headers (slow-header attacks are cut off). */
  headersTimeoutMs: number;
  /** Time a client has to send the whole request. */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection stays open. */
  keepAliveTimeoutMs: number;
  /** Connections beyond this are closed as they arrive. */
  maxConnections: number;
}

export const DEFAULT_LIMITS: DaemonLimits = {
  maxBodyBytes: DEFAULT_MAX_BODY_BYTES,
  // node:http's default.
  maxHeaderBytes: 16 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  // Longer than the client pool's idle timeout (store/daemon.ts), so the
  // client, not the server, closes an idle connection: no request races a close.
  keepAliveTimeoutMs: 65_000,
  maxConnections: 4096,
};

/** How long close() waits for requests in flight before cutting connections. */
export const DEFAULT_GRACE_MS = 10_000;

export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
  /** When given, clients must present a certificate signed by it. */
  ca?: Buffer;
}

/** One structured log event; never holds a token, DER or key. */
export interface LogEvent {
  level: 'info' | 'warn' | 'error';
  event: string;
  [field: string]: unknown;
}

export interface DaemonOptions {
  /** The backing store. The daemon owns it from now on: close() terminates it. */
  store: SessionStore;
  host?: string;
  /** 0 picks a free port (see Daemon.port). */
  port?: number;
  /** Bearer token clients must send; undefined means no auth, allowed on loopback only. */
  token?: string;
  tls?: TlsFiles;
  limits?: Partial<DaemonLimits>;
  /** Default: one JSON line per event on stderr. */
  log?: (event: LogEvent) => void;
  /** Log every request, not only failures. */
  logRequests?: boolean;
  /** Clock in unix seconds (flush uses it). */
  now?: () => number;
  /** The request figures of the daemon's other worker processes, for /metrics (cluster.ts). */
  peerMetrics?: () => Promise<MetricsSnapshot[]>;
  /**
   * false: do not listen; connections come through Daemon.adopt (a worker of
   * `serve --workers`, whose primary listens on `host`:`port`). Default true.
   */
  listen?: boolean;
}

export interface Daemon {
  /** http(s)://host:port, for `--store`. */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  /**
   * Stop accepting, let requests in flight finish (at most `graceMs`), close
   * every connection, then terminate the store. Safe to call twice.
   */
  close(graceMs?: number): Promise<void>;
  /** This process's request figures (for another worker's /metrics). */
  metricsSnapshot(): MetricsSnapshot;
  /** Serve a connection accepted elsewhere (by the primary of `serve --workers`), within maxConnections. */
  adopt(socket: Socket): void;
}

export function defaultLog(event: LogEvent): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
}

/** A failure answered with a status and a JSON error. */
class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

/** Start the daemon; resolves once it listens. Refuses unsafe setups with a SessctlError. */
export async function startDaemon(options: DaemonOptions): Promise<Daemon> {
  const host = options.host ?? DEFAULT_HOST;
  const port = options.port ?? DEFAULT_PORT;
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const log = options.log ?? defaultLog;
  const now = options.now ?? (() => Math.floor(Date.now() / 1000));
  const store = options.store;
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;

  if (!isLoopback(host) && options.tls === undefined) {
    throw usageError(`refusing to listen on ${where} without TLS: give --tls-cert and --tls-key, or listen on 127.0.0.1`);
  }
  if (!isLoopback(host) && options.token === undefined) {
    throw usageError(`refusing to listen on ${where} without a token: give --token-file (no auth is for loopback only)`);
  }

  const tokenCheck = options.token === undefined ? undefined : new TokenCheck(options.token);
  /** The Authorization header each connection was last accepted with. */
  const acceptedOn = new WeakMap<object, string>();
  const metrics = new Metrics();
  const updates = new UpdateBatcher(store);
  let lastDropLog = 0;
  let dropped = 0;

  /** The store's health, logged once when it turns bad; checked by /healthz and every HEALTH_CHECK_MS. */
  const checkHealth = healthCheck(store, (problem) => log({ level: 'error', event: 'store_problem', message: problem }));
  let healthTimer: NodeJS.Timeout | undefined;

  const handle = async (request: HttpRequest): Promise<HttpReply> => {
    const started = process.hrtime.bigint();
    let route = 'unknown';
    let reply: HttpReply;
    try {
      reply = await dispatch(request, (name) => (route = name));
    } catch (err) {
      reply = failure(err, route);
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    metrics.observe(route, METHODS.has(request.method) ? request.method : 'other', reply.status, seconds);
    if (options.logRequests || reply.status >= 500) {
      log({ level: reply.status >= 500 ? 'error' : 'info', event: 'request', route, method: request.method, status: reply.status, ms: Math.round(seconds * 1e4) / 10 });
    }
    return reply;
  };

  function json(status: number, body: unknown): HttpReply {
    return { status, headers: { 'content-type': JSON_TYPE }, body: JSON.stringify(body) };
  }

  function failure(err: unknown, route: string): HttpReply {
    let status = 500;
    let code = 'internal';
    let message = 'internal error';
    let headers: Record<string, string> = {};
    if (err instanceof HttpError) ({ status, code, message, headers } = err);
    else if (err instanceof ProtocolError) [status, code, message] = [400, 'bad_request', err.message];
    else if (err instanceof SessctlError) [status, code, message] = [503, 'store', err.message];
    if (status >= 500) log({ level: 'error', event: 'failure', route, status, message: status === 500 ? String((err as Error)?.message ?? err) : message });
    return { ...json(status, { error: { message, code } }), headers: { 'content-type': JSON_TYPE, ...headers } };
  }

  async function dispatch(req: HttpRequest, named: (route: string) => void): Promise<HttpReply> {
    const raw = req.target;
    const q = raw.indexOf('?');
    const path = q < 0 ? raw : raw.slice(0, q);
    const method = req.method;

    if (path === '/healthz') {
      named('healthz');
      await store.size();
      // Unauthenticated: the problem is named, its details (paths) go to the log.
      if ((await checkHealth()) !== undefined) return json(503, { status: 'degraded', problem: 'the backing store needs attention: see the daemon\'s log' });
      return json(200, { status: 'ok' });
    }
    const authorization = req.headers.authorization;
    // A connection that has shown the right token and sends the same header
    // again is not hashed again: the comparison with its own earlier header
    // tells the client nothing it did not send. Any other header takes the
    // constant-time check.
    if (tokenCheck !== undefined && (authorization === undefined || acceptedOn.get(req.connection) !== authorization)) {
      if (!tokenCheck.accepts(authorization)) {
        named('unauthorized');
        log({ level: 'warn', event: 'unauthorized', remote: req.remoteAddress, reason: authorization === undefined ? 'no token' : 'wrong token' });
        throw new HttpError(401, 'unauthorized', 'missing or wrong bearer token', { 'www-authenticate': 'Bearer' });
      }
      acceptedOn.set(req.connection, authorization!);
    }

    if (path.startsWith(SESSION_PREFIX)) {
      const key = parseKeySegment(path.slice(SESSION_PREFIX.length));
      if (key === undefined) {
        named('session');
        throw new HttpError(400, 'bad_key', 'not a session id: expected lowercase hex, an even number of digits, at most 64 (or "-" for the empty id)');
      }
      if (method === 'GET' || method === 'HEAD') {
        named('lookup');
        const entry = await store.lookup(key);
        if (entry === undefined) throw new HttpError(404, 'not_found', 'no such session');
        return { status: 200, headers: { 'content-type': DER_TYPE, [ENTRY_HEADER]: entryHeader(entry) }, body: entry.der };
      }
      if (method === 'PUT') {
        named('update');
        const header = req.headers[ENTRY_HEADER];
        if (header === undefined) throw new ProtocolError(`missing the ${ENTRY_HEADER} header (the entry's metadata as JSON)`);
        let meta: unknown;
        try {
          meta = JSON.parse(header);
        } catch {
          throw new ProtocolError(`the ${ENTRY_HEADER} header is not JSON`);
        }
        const entry: Entry = { ...parseMeta(meta, key), der: req.body, size: req.body.length };
        try {
          decodeSession(req.body);
        } catch (err) {
          throw new ProtocolError(`the body is not an SSL_SESSION in DER: ${(err as Error).message}`);
        }
        await updates.update(entry);
        return { status: 204 };
      }
      if (method === 'DELETE') {
        named('delete');
        return json(200, { removed: await store.delete(key) });
      }
      named('session');
      throw methodNotAllowed('GET, HEAD, PUT, DELETE');
    }

    const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
    switch (path) {
      case SESSIONS_PATH:
        named('page');
        if (method !== 'GET') throw methodNotAllowed('GET');
        return json(200, await pageOf(store, query));
      case `${API_PREFIX}/select`: {
        named('select');
        if (method !== 'GET') throw methodNotAllowed('GET');
        const partialKey = query.get('partialKey');
        if (partialKey === null) throw new ProtocolError('missing the partialKey parameter');
        return json(200, { entries: (await store.selectSession(partialKey)).map(toWire) });
      }
      case `${API_PREFIX}/size`:
        named('size');
        if (method !== 'GET') throw methodNotAllowed('GET');
        return json(200, { size: await store.size() });
      case `${API_PREFIX}/counters`:
        named('counters');
        if (method === 'GET') return json(200, await store.counters());
        if (method === 'POST') {
          await store.addCounters(parseCounterDelta(parseJson(req.body)));
          return { status: 204 };
        }
        throw methodNotAllowed('GET, POST');
      case `${API_PREFIX}/flush`: {
        named('flush');
        if (method !== 'POST') throw methodNotAllowed('POST');
        const body = parseJson(req.body) as Record<string, unknown> | null;
        if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ProtocolError('flush options must be a JSON object');
        const { all, olderThan, dryRun } = body;
        if (all !== undefined && typeof all !== 'boolean') throw new ProtocolError('"all" must be a boolean');
        if (dryRun !== undefined && typeof dryRun !== 'boolean') throw new ProtocolError('"dryRun" must be a boolean');
        if (olderThan !== undefined && !(Number.isSafeInteger(olderThan) && (olderThan as number) >= 0)) throw new ProtocolError('"olderThan" must be a whole number of seconds');
        const result = await flushSessions(store, {
          now: now(),
          ...(all === undefined ? {} : { all }),
          ...(dryRun === undefined ? {} : { dryRun }),
          ...(olderThan === undefined ? {} : { olderThan: olderThan as number }),
        });
        return json(200, result);
      }
      case `${API_PREFIX}/keyring`: {
        named('keyring');
        if (store.readKeyRing === undefined || store.writeKeyRing === undefined) {
          throw new HttpError(501, 'no_keyring', `the backing store (${store.kind}) keeps no ticket keys`);
        }
        if (method === 'GET') {
          const ring = await store.readKeyRing();
          if (ring === undefined) throw new HttpError(404, 'not_found', 'no ticket-key ring stored');
          return { status: 200, headers: { 'content-type': DER_TYPE, etag: ringTag(ring) }, body: ring };
        }
        if (method === 'PUT') {
          const expected = await expectedRing(req, store.readKeyRing.bind(store));
          if (expected === false || !(await store.writeKeyRing(req.body, expected))) {
            throw new HttpError(412, 'ring_changed', 'the stored ticket-key ring is not the one this write was based on (another rotation?)');
          }
          return { status: 204 };
        }
        throw methodNotAllowed('GET, PUT');
      }
      case `${API_PREFIX}/info`: {
        named('info');
        const info: InfoBody = { protocol: 1, kind: store.kind, capabilities: { ...store.capabilities }, features: [...FEATURES] };
        return json(200, info);
      }
      case '/metrics': {
        named('metrics');
        const [sessions, counters, others] = await Promise.all([store.size(), store.counters(), options.peerMetrics?.() ?? []]);
        const text = metrics.render({ sessions, counters, droppedConnections: dropped }, others);
        return { status: 200, headers: { 'content-type': METRICS_TYPE }, body: text };
      }
      default:
        throw new HttpError(404, 'no_route', `no such endpoint: ${method} ${path.slice(0, 100)}`);
    }
  }

  const connections = new Http1Connections(
    {
      limits: {
        maxHeaderBytes: limits.maxHeaderBytes,
        maxBodyBytes: limits.maxBodyBytes,
        headersTimeoutMs: limits.headersTimeoutMs,
        requestTimeoutMs: Math.max(limits.requestTimeoutMs, limits.headersTimeoutMs),
        keepAliveTimeoutMs: limits.keepAliveTimeoutMs,
      },
      handler: handle,
      onClientError: (code, status, remote) => log({ level: 'warn', event: 'client_error', code, status, remote }),
    },
    // Deadlines are checked on a timer: often enough that a short headersTimeout is kept to within a fraction of itself.
    Math.max(50, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
  );
  const accept = (socket: Socket): void => connections.accept(socket);
  let server: net.Server;
  try {
    server = options.tls === undefined
      ? net.createServer({ allowHalfOpen: true, noDelay: true }, accept)
      : tls.createServer(
          {
            allowHalfOpen: true,
            cert: options.tls.cert,
            key: options.tls.key,
            ALPNProtocols: ['http/1.1'],
            handshakeTimeout: limits.headersTimeoutMs,
            ...(options.tls.ca === undefined ? {} : { ca: options.tls.ca, requestCert: true, rejectUnauthorized: true }),
          },
          accept,
        );
  } catch (err) {
    throw new SessctlError(`cannot use the TLS certificate, key or CA: ${(err as Error).message}`, { cause: err });
  }
  server.maxConnections = limits.maxConnections;

  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    log({ level: 'warn', event: 'tls_error', code: err.code ?? 'unknown', remote: socket.remoteAddress });
  });
  server.on('drop', (data?: { remoteAddress?: string }) => {
    dropped += 1;
    if (Date.now() - lastDropLog > 10_000) {
      lastDropLog = Date.now();
      log({ level: 'warn', event: 'connection_dropped', reason: `more than ${limits.maxConnections} connections`, remote: data?.remoteAddress, droppedSoFar: dropped });
    }
  });

  let adopted = 0;
  const adopt = (socket: Socket): void => {
    if (adopted >= limits.maxConnections) {
      socket.destroy();
      server.emit('drop', { remoteAddress: socket.remoteAddress });
      return;
    }
    adopted += 1;
    socket.once('close', () => (adopted -= 1));
    // As if accepted here: plain HTTP at once, or the TLS handshake first.
    server.emit('connection', socket);
  };

  let address: { address: string; port: number; family: string };
  if (options.listen === false) {
    address = { address: host, port, family: host.includes(':') ? 'IPv6' : 'IPv4' };
  } else {
    await listenOn(server, host, port);
    address = server.address() as AddressInfo;
  }
  const scheme = options.tls === undefined ? 'http' : 'https';
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${scheme}://${urlHost}:${address.port}`;
  log({ level: 'info', event: 'listening', url, store: store.url, kind: store.kind, auth: tokenCheck !== undefined, clientCerts: options.tls?.ca !== undefined });
  healthTimer = setInterval(() => void checkHealth().catch(() => {}), HEALTH_CHECK_MS);
  healthTimer.unref();

  let closed: Promise<void> | undefined;
  const close = (graceMs = DEFAULT_GRACE_MS): Promise<void> => {
    closed ??= (async () => {
      clearInterval(healthTimer);
      log({ level: 'info', event: 'stopping', inFlight: connections.inFlight });
      const stopped = options.listen === false ? Promise.resolve() : new Promise<void>((resolve) => server.close(() => resolve()));
      await connections.close(graceMs);
      await stopped;
      await store.terminate();
      log({ level: 'info', event: 'stopped' });
    })();
    return closed;
  };

  return { url, host: address.address, port: address.port, close, metricsSnapshot: () => metrics.snapshot(dropped), adopt };
}

/** Listen on `host`:`port`; a SessctlError that says why not. */
export async function listenOn(server: net.Server, host: string, port: number): Promise<void> {
  server.listen(port, host);
  try {
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err))]);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'EADDRINUSE' ? 'the address is in use' : code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)' : code === 'EADDRNOTAVAIL' ? 'no such local address' : (err as Error).message;
    const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    throw new SessctlError(`cannot listen on ${where}: ${reason}`, { cause: err });
  }
}

/** Methods counted by name in /metrics; any other is "other", so clients cannot add series without end. */
const METHODS = new Set(['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE']);

const SESSION_PREFIX = `${SESSIONS_PATH}/`;

function methodNotAllowed(allow: string): HttpError {
  return new HttpError(405, 'method_not_allowed', `method not allowed here (allowed: ${allow})`, { allow });
}

/**
 * The ring a conditional PUT of /v1/keyring expects: undefined without a
 * condition, null for `If-None-Match: *` (none stored yet), the stored ring
 * when `If-Match` names it, false when it names another.
 */
async function expectedRing(req: HttpRequest, read: () => Promise<Buffer | undefined>): Promise<Buffer | null | undefined | false> {
  const ifMatch = req.headers['if-match'];
  const ifNoneMatch = req.headers['if-none-match'];
  if (ifMatch !== undefined && ifNoneMatch !== undefined) throw new ProtocolError('give If-Match or If-None-Match, not both');
  if (ifNoneMatch !== undefined) {
    if (ifNoneMatch !== '*') throw new ProtocolError('If-None-Match: only "*" (no ring stored yet) is understood here');
    return null;
  }
  if (ifMatch === undefined) return undefined;
  if (!/^"[0-9a-f]{64}"$/.test(ifMatch)) throw new ProtocolError('If-Match must be the ring\'s ETag: a quoted SHA-256 in hex');
  const stored = await read();
  return stored !== undefined && ringTag(stored) === ifMatch ? stored : false;
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new ProtocolError('the body is not JSON');
  }
}
