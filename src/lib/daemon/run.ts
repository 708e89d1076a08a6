/**
 * `sessctl serve` from start to stop: read the token and TLS files, open the
 * backing store, listen, and on SIGTERM/SIGINT shut down gracefully.
 */
import { readFileSync, statSync } from 'node:fs';
import { SessctlError, usageError } from '../errors.js';
import { readToken } from '../cli/token.js';
import { openStore } from '../store/open.js';
import { isLoopback } from './protocol.js';
import { defaultLog, startDaemon, type DaemonLimits, type LogEvent } from './server.js';

export interface ServeOptions {
  host: string;
  port: number;
  storeUrl: string;
  /** CA for a rediss:// backing store. */
  ca?: string;
  tokenFile?: string;
  noAuth?: boolean;
  tls?: { cert: string; key: string; ca?: string };
  limits?: Partial<DaemonLimits>;
  graceMs?: number;
  logRequests?: boolean;
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

  const store = await openStore(options.storeUrl, {
    ...(options.ca === undefined ? {} : { ca: options.ca }),
    onWarning: (message) => log({ level: 'warn', event: 'store_warning', message }),
  });

  // Signal handlers go in before the daemon says it is listening: a SIGTERM
  // right after that must stop it gracefully, not kill it.
  let stoppedBy: NodeJS.Signals | undefined;
  let signalled: (signal: NodeJS.Signals) => void = () => {};
  const stopRequested = new Promise<NodeJS.Signals>((resolve) => (signalled = resolve));
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

  let running;
  try {
    running = await startDaemon({
      store,
      host: options.host,
      port: options.port,
      ...(token === undefined ? {} : { token }),
      ...(tls === undefined ? {} : { tls }),
      ...(options.limits === undefined ? {} : { limits: options.limits }),
      log,
      logRequests: options.logRequests === true,
    });
  } catch (err) {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await store.terminate();
    throw err;
  }

  const signal = await stopRequested;
  try {
    await running.close(options.graceMs);
  } catch (err) {
    log({ level: 'error', event: 'stop_failed', message: (err as Error).message });
  }
  return { url: running.url, store: store.url, tls: tls !== undefined, auth: token === undefined ? 'none' : 'token', signal };
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
