/**
 * One daemon process: open the backing store and listen, with everything it
 * needs already read (token, TLS files). Used by `sessctl serve` (run.ts) and
 * by each worker of `serve --workers N` (cluster.ts), so neither imports the other.
 */
import { openStore } from '../store/open.js';
import type { StoreLocation } from '../store/url.js';
import { startDaemon, type Daemon, type DaemonLimits, type DaemonOptions, type LogEvent, type TlsFiles } from './server.js';

/** Everything a daemon process needs, files read: what the primary hands each worker. */
export interface DaemonConfig {
  host: string;
  port: number;
  /** The backing store, parsed once (store/url.ts); plain data, so it travels to workers as JSON. */
  store: StoreLocation;
  ca?: string;
  token?: string;
  tls?: TlsFiles;
  limits?: Partial<DaemonLimits>;
  graceMs?: number;
  logRequests: boolean;
}

/** Open the store and listen; `stop()` closes both. Errors (store, address) are SessctlErrors. */
export async function runDaemon(
  config: DaemonConfig,
  log: (event: LogEvent) => void,
  extra: Pick<DaemonOptions, 'peerMetrics' | 'listen'> = {},
): Promise<{ daemon: Daemon; storeUrl: string; stop(): Promise<void> }> {
  const store = await openStore(config.store, {
    ...(config.ca === undefined ? {} : { ca: config.ca }),
    onWarning: (message) => log({ level: 'warn', event: 'store_warning', message }),
  });
  let daemon: Daemon;
  try {
    daemon = await startDaemon({
      store,
      host: config.host,
      port: config.port,
      ...(config.token === undefined ? {} : { token: config.token }),
      ...(config.tls === undefined ? {} : { tls: config.tls }),
      ...(config.limits === undefined ? {} : { limits: config.limits }),
      log,
      logRequests: config.logRequests,
      ...extra,
    });
  } catch (err) {
    await store.terminate();
    throw err;
  }
  return {
    daemon,
    storeUrl: store.url,
    stop: async () => {
      try {
        await daemon.close(config.graceMs);
      } catch (err) {
        log({ level: 'error', event: 'stop_failed', message: (err as Error).message });
      }
    },
  };
}
