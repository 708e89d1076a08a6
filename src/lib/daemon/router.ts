/**
 * The daemon's routes: one parsed request in, one answer out (the SessionStore
 * API of the backing store, /healthz, /metrics). Knows nothing of sockets,
 * TLS or the listener's lifecycle (server.ts); the wire format is in
 * src/lib/store/daemon-protocol.ts.
 *
 * Security contract (docs/ARCHITECTURE.md, "Security contract"):
 * - Keys and bodies come from the network: every key, header and body is
 *   checked before it reaches the store; bad input is a 400 with a JSON error.
 * - Values are key material: DER, ticket keys and the token never reach a log
 *   line; routes are logged by name, never with the session id.
 */
import { SessctlError } from '../errors.js';
import { decodeSession } from '../session/codec.js';
import { flushSessions } from '../store/flush.js';
import { healthCheck } from '../store/health.js';
import type { Entry, SessionStore } from '../store/types.js';
import { TokenCheck } from './auth.js';
import { UpdateBatcher } from './batch.js';
import type { HttpReply, HttpRequest } from './http1.js';
import type { LogEvent } from './log.js';
import { Metrics, METRICS_TYPE, type MetricsSnapshot } from './metrics.js';
import { pageOf } from './paging.js';
import {
  API_PREFIX,
  DER_TYPE,
  ENTRY_HEADER,
  FEATURES,
  JSON_TYPE,
  ProtocolError,
  SESSIONS_PATH,
  entryHeader,
  parseCounterDelta,
  parseKeySegment,
  parseMeta,
  ringTag,
  toWire,
  type InfoBody,
} from '../store/daemon-protocol.js';

export interface RouterOptions {
  /** The backing store. */
  store: SessionStore;
  /** Bearer token clients must send; undefined means no auth. */
  token?: string;
  log: (event: LogEvent) => void;
  /** Log every request, not only failures. */
  logRequests?: boolean;
  /** Clock in unix seconds (flush uses it). */
  now: () => number;
  /** The request figures of the daemon's other worker processes, for /metrics (cluster.ts). */
  peerMetrics?: () => Promise<MetricsSnapshot[]>;
  /** Connections the listener has dropped so far (over maxConnections), for /metrics. */
  droppedConnections: () => number;
}

export interface Router {
  /** Answer one request; never rejects (a failure is an answer with a JSON error). */
  handle(request: HttpRequest): Promise<HttpReply>;
  /** This process's request figures. */
  readonly metrics: Metrics;
  /** The store's health: undefined when fine, else the problem (logged once when it turns bad). */
  checkHealth(): Promise<string | undefined>;
}

/** A failure answered with a status and a JSON error. */
class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}

/** The routes over `options.store`. */
export function createRouter(options: RouterOptions): Router {
  const { store, log, now } = options;
  const tokenCheck = options.token === undefined ? undefined : new TokenCheck(options.token);
  /** The Authorization header each connection was last accepted with. */
  const acceptedOn = new WeakMap<object, string>();
  const metrics = new Metrics();
  const updates = new UpdateBatcher(store);

  /** The store's health, logged once when it turns bad; checked by /healthz and, on a timer, by server.ts. */
  const checkHealth = healthCheck(store, (problem) => log({ level: 'error', event: 'store_problem', message: problem }));

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
        const text = metrics.render({ sessions, counters, droppedConnections: options.droppedConnections() }, others);
        return { status: 200, headers: { 'content-type': METRICS_TYPE }, body: text };
      }
      default:
        throw new HttpError(404, 'no_route', `no such endpoint: ${method} ${path.slice(0, 100)}`);
    }
  }

  return { handle, metrics, checkHealth };
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
