/**
 * The listener behind `sessctl serve`: listen (plain or TLS), accept and
 * adopt connections within maxConnections, hand each request to the routes
 * (router.ts), and shut down gracefully. The wire format is in
 * src/lib/store/daemon-protocol.ts.
 *
 * Built on a small HTTP/1.1 server of its own (http1.ts) rather than fastify
 * or node:http: measured, a routing framework buys nothing for a dozen fixed
 * routes, and node:http's per-request objects halve the lookup rate
 * (docs/BENCHMARKS.md).
 *
 * Security contract (docs/ARCHITECTURE.md, "Security contract"), the
 * listener's part (the routes' part is in router.ts):
 * - A non-loopback address needs TLS; no token ("no auth") only on loopback.
 * - Bounded: body size (413), header and request time, idle keep-alive time,
 *   connection count.
 */
import { once } from 'node:events';
import net, { type AddressInfo, type Socket } from 'node:net';
import tls from 'node:tls';
import { SessctlError, usageError } from '../errors.js';
import { HEALTH_CHECK_MS } from '../store/health.js';
import type { SessionStore } from '../store/types.js';
import { DEFAULT_MAX_BODY_BYTES, isLoopback } from '../store/daemon-protocol.js';
import { Http1Connections } from './http1.js';
import { defaultLog, type LogEvent } from './log.js';
import type { MetricsSnapshot } from './metrics.js';
import { createRouter } from './router.js';

export { defaultLog, type LogEvent } from './log.js';

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

  let lastDropLog = 0;
  let dropped = 0;
  const router = createRouter({
    store,
    ...(options.token === undefined ? {} : { token: options.token }),
    log,
    logRequests: options.logRequests === true,
    now,
    ...(options.peerMetrics === undefined ? {} : { peerMetrics: options.peerMetrics }),
    droppedConnections: () => dropped,
  });
  let healthTimer: NodeJS.Timeout | undefined;

  const connections = new Http1Connections(
    {
      limits: {
        maxHeaderBytes: limits.maxHeaderBytes,
        maxBodyBytes: limits.maxBodyBytes,
        headersTimeoutMs: limits.headersTimeoutMs,
        requestTimeoutMs: Math.max(limits.requestTimeoutMs, limits.headersTimeoutMs),
        keepAliveTimeoutMs: limits.keepAliveTimeoutMs,
      },
      handler: router.handle,
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
  log({ level: 'info', event: 'listening', url, store: store.url, kind: store.kind, auth: options.token !== undefined, clientCerts: options.tls?.ca !== undefined });
  healthTimer = setInterval(() => void router.checkHealth().catch(() => {}), HEALTH_CHECK_MS);
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

  return { url, host: address.address, port: address.port, close, metricsSnapshot: () => router.metrics.snapshot(dropped), adopt };
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
