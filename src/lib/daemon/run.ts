/**
 * `sessctl serve` from start to stop: read the token and TLS files, open the
 * backing store, listen, and on SIGTERM/SIGINT shut down gracefully.
 */
import { readFileSync, statSync } from 'node:fs';
import { SessctlError, usageError } from '../errors.js';
import { readToken } from '../token.js';
import { isLoopback } from '../store/daemon-protocol.js';
import type { StoreLocation } from '../store/url.js';
import { defaultLog, type LogEvent } from './log.js';
import type { DaemonLimits } from './server.js';
import { runDaemon, type DaemonConfig } from './start.js';

export interface ServeOptions {
  host: string;
  port: number;
  /** The backing store, parsed (store/url.ts). */
  store: StoreLocation;
  /** CA for a rediss:// backing store. */
  ca?: string;
  tokenFile?: string;
  noAuth?: boolean;
  tls?: { cert: string; key: string; ca?: string };
  limits?: Partial<DaemonLimits>;
  graceMs?: number;
  logRequests?: boolean;
  /** Processes serving the same port and store (node:cluster); default 1. */
  workers?: number;
  log?: (event: LogEvent) => void;
}

/** What `sessctl serve --json` prints once the daemon has stopped. */
export interface ServeResult {
  /** The daemon's URL, for clients' --store. */
  url: string;
  /** The backing store (credentials removed). */
  store: string;
  tls: boolean;
  auth: 'token' | 'none';
  workers: number;
  /** The signal that stopped it. */
  signal: NodeJS.Signals;
}

/** Serve until SIGTERM or SIGINT, then stop gracefully; resolves once stopped. */
export async function serveUntilSignalled(options: ServeOptions): Promise<ServeResult> {
  const log = options.log ?? defaultLog;
  const token = options.noAuth ? undefined : await readToken(options.tokenFile);
  if (token === undefined && !options.noAuth) {
    throw usageError('the daemon needs a token: give --token-file FILE (or SESSCTL_TOKEN); --no-auth is allowed on loopback only');
  }
  if (options.noAuth && !isLoopback(options.host)) throw usageError(`--no-auth is allowed on loopback addresses only, not ${options.host}`);
  if (options.tokenFile !== undefined) warnIfShared(options.tokenFile, log);
  const tls = options.tls && {
    cert: readPem(options.tls.cert, '--tls-cert'),
    key: readPem(options.tls.key, '--tls-key'),
    ...(options.tls.ca === undefined ? {} : { ca: readPem(options.tls.ca, '--tls-ca') }),
  };
  const config: DaemonConfig = {
    host: options.host,
    port: options.port,
    store: options.store,
    ...(options.ca === undefined ? {} : { ca: options.ca }),
    ...(token === undefined ? {} : { token }),
    ...(tls === undefined ? {} : { tls }),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
    ...(options.graceMs === undefined ? {} : { graceMs: options.graceMs }),
    logRequests: options.logRequests === true,
  };
  const result = { tls: tls !== undefined, auth: token === undefined ? ('none' as const) : ('token' as const) };

  // Signal handlers go in before the daemon says it is listening: a SIGTERM
  // right after that must stop it gracefully, not kill it.
  const stop = stopSignals(log);
  try {
    if ((options.workers ?? 1) > 1) {
      const { serveWithWorkers } = await import('./cluster.js');
      const served = await serveWithWorkers(config, options.workers!, log, stop.requested);
      return { ...served, ...result, workers: options.workers!, signal: await stop.requested };
    }
    const running = await runDaemon(config, log);
    const signal = await stop.requested;
    await running.stop();
    return { url: running.daemon.url, store: running.storeUrl, ...result, workers: 1, signal };
  } finally {
    stop.dispose();
  }
}

/** SIGTERM or SIGINT asks for a graceful stop; a second one exits at once. */
function stopSignals(log: (event: LogEvent) => void): { requested: Promise<NodeJS.Signals>; dispose(): void } {
  let stoppedBy: NodeJS.Signals | undefined;
  let signalled: (signal: NodeJS.Signals) => void = () => {};
  const requested = new Promise<NodeJS.Signals>((resolve) => (signalled = resolve));
  const onSignal = (signal: NodeJS.Signals) => {
    if (stoppedBy !== undefined) {
      log({ level: 'warn', event: 'forced_exit', signal });
      process.exit(1);
    }
    stoppedBy = signal;
    log({ level: 'info', event: 'signal', signal });
    signalled(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  return {
    requested,
    dispose: () => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    },
  };
}

function readPem(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new SessctlError(`cannot read ${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** The token is a password: say so when others can read its file, as ssh does for keys. */
function warnIfShared(file: string, log: (event: LogEvent) => void): void {
  const mode = statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    log({ level: 'warn', event: 'token_file_shared', message: `${file} is accessible by others (mode ${mode.toString(8).padStart(4, '0')}): chmod 600 ${file}` });
  }
}
