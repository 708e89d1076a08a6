/**
 * `sessctl serve --workers N`: N processes (node:cluster) answering on one
 * port over one backing store, for hosts with more cores than one Node
 * process can use. The cache file is made for this (SQLite WAL: many
 * processes at once), and so is Redis; `memory:` is not (each worker would
 * have its own).
 *
 * The primary reads the token and TLS files, checks the store opens, forks
 * the workers and hands them the configuration over IPC (never in argv or
 * the environment, where `ps` would show it). The primary listens and hands
 * each connection to the next worker in turn, and keeps its own copy of the
 * socket until the worker says it has it: a connection handed to a worker
 * that dies first goes to another one. (node:cluster's own round-robin loses
 * it instead: a handle queued for a worker that dies is neither closed nor
 * handed on, and its client waits for its timeout; measured under load,
 * about one connection for each worker killed.) Each worker keeps its own request figures;
 * a /metrics scrape asks the others through the primary and adds them up, so
 * Prometheus sees one daemon. A worker that dies is replaced. SIGTERM or
 * SIGINT to the primary stops every worker gracefully; a worker whose primary
 * is gone exits at once (node:cluster does that when the IPC channel closes).
 */
import cluster, { type Worker } from 'node:cluster';
import net, { type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { SessctlError, usageError } from '../errors.js';
import { openStore } from '../store/open.js';
import type { MetricsSnapshot } from './metrics.js';
import { runDaemon, type DaemonConfig } from './start.js';
import { listenOn, type LogEvent } from './server.js';

/** How long a scrape waits for the other workers' figures. */
const PEER_METRICS_TIMEOUT_MS = 1000;
/** Pause before replacing a worker that died, so a crash loop does not spin. */
const RESTART_DELAY_MS = 1000;
/** After the grace period, how long the primary waits before killing a worker. */
const STOP_MARGIN_MS = 5000;

type ToWorker =
  | { type: 'start'; config: WireConfig }
  | { type: 'connection'; id: number }
  | { type: 'metrics?'; id: number }
  | { type: 'peer-metrics'; id: number; snapshots: MetricsSnapshot[] };

type ToPrimary =
  | { type: 'ready' }
  | { type: 'listening'; url: string; store: string }
  | { type: 'took'; id: number }
  | { type: 'failed'; message: string }
  | { type: 'metrics'; id: number; snapshot: MetricsSnapshot }
  | { type: 'peer-metrics?'; id: number };

/** DaemonConfig with its Buffers as base64 (IPC messages are JSON). */
type WireConfig = Omit<DaemonConfig, 'tls'> & { tls?: { cert: string; key: string; ca?: string } };

/**
 * Run `workers` daemon processes until `stop` resolves; resolves once they
 * have all stopped. Rejects with a SessctlError when they cannot start.
 */
export async function serveWithWorkers(
  config: DaemonConfig,
  workers: number,
  log: (event: LogEvent) => void,
  stop: Promise<NodeJS.Signals>,
): Promise<{ url: string; store: string }> {
  if (config.store.backend === 'memory') throw usageError('--workers needs a store the workers can share (a cache file or redis://), not memory:');
  // Fail here, with one line, rather than in N workers.
  const probe = await openStore(config.store, { ...(config.ca === undefined ? {} : { ca: config.ca }), onWarning: (message) => log({ level: 'warn', event: 'store_warning', message }) });
  const kind = probe.kind;
  await probe.terminate();

  // The primary holds the port; connections wait (unread) until a worker takes them.
  const listener = net.createServer({ pauseOnConnect: true });
  await listenOn(listener, config.host, config.port);
  const { tls, ...plain } = config;
  const wire: WireConfig = {
    ...plain,
    port: (listener.address() as AddressInfo).port,
    ...(tls === undefined ? {} : { tls: { cert: tls.cert.toString('base64'), key: tls.key.toString('base64'), ...(tls.ca === undefined ? {} : { ca: tls.ca.toString('base64') }) } }),
  };
  cluster.setupPrimary({ exec: fileURLToPath(new URL('./worker.js', import.meta.url)), args: [], execArgv: workerExecArgv(process.execArgv) });

  let stopping = false;
  const live = new Set<Worker>();
  const listening = new Set<Worker>();

  // Handing connections over: to each listening worker in turn; held here
  // (the primary's copy of the socket open) until the worker says it took it.
  const unclaimed: Socket[] = [];
  const handedOver = new Map<number, { socket: Socket; worker: Worker }>();
  let nextConnection = 0;
  let turn = 0;
  const handOver = (socket: Socket): void => {
    if (stopping || socket.destroyed) return void socket.destroy();
    const ready = [...listening].filter((w) => w.isConnected());
    if (ready.length === 0) return void unclaimed.push(socket);
    const worker = ready[turn++ % ready.length]!;
    const id = nextConnection++;
    handedOver.set(id, { socket, worker });
    worker.send({ type: 'connection', id } satisfies ToWorker, socket, { keepOpen: true }, (err) => {
      // The worker is gone already: another one gets it.
      if (err && handedOver.delete(id)) handOver(socket);
    });
  };
  /** The connections handed to `worker` and not yet taken: to the others. */
  const handBack = (worker: Worker): void => {
    for (const [id, h] of handedOver) {
      if (h.worker !== worker) continue;
      handedOver.delete(id);
      handOver(h.socket);
    }
  };
  listener.on('connection', handOver);
  let address: { url: string; store: string } | undefined;
  let started: (value: { url: string; store: string }) => void = () => {};
  let failed: (err: Error) => void = () => {};
  const allListening = new Promise<{ url: string; store: string }>((resolve, reject) => {
    started = resolve;
    failed = reject;
  });
  // Scrapes in progress: the asking worker and the figures gathered so far.
  const scrapes = new Map<number, { from: Worker; id: number; waiting: number; snapshots: MetricsSnapshot[]; timer: NodeJS.Timeout }>();
  let nextScrape = 0;

  const answerScrape = (key: number): void => {
    const scrape = scrapes.get(key);
    if (scrape === undefined) return;
    scrapes.delete(key);
    clearTimeout(scrape.timer);
    if (scrape.from.isConnected()) send(scrape.from, { type: 'peer-metrics', id: scrape.id, snapshots: scrape.snapshots });
  };

  const fork = (): void => {
    const worker = cluster.fork();
    live.add(worker);
    worker.on('message', (message: ToPrimary) => {
      switch (message.type) {
        case 'ready':
          send(worker, { type: 'start', config: wire });
          break;
        case 'listening':
          listening.add(worker);
          address ??= { url: message.url, store: message.store };
          if (listening.size === workers) started(address);
          for (const socket of unclaimed.splice(0)) handOver(socket);
          break;
        case 'took': {
          // The worker has its own copy now; closing ours does not end the connection.
          const h = handedOver.get(message.id);
          handedOver.delete(message.id);
          h?.socket.destroy();
          break;
        }
        case 'failed':
          failed(new SessctlError(message.message));
          break;
        case 'peer-metrics?': {
          const others = [...listening].filter((w) => w !== worker && w.isConnected());
          const key = nextScrape++;
          scrapes.set(key, { from: worker, id: message.id, waiting: others.length, snapshots: [], timer: setTimeout(() => answerScrape(key), PEER_METRICS_TIMEOUT_MS) });
          for (const other of others) send(other, { type: 'metrics?', id: key });
          if (others.length === 0) answerScrape(key);
          break;
        }
        case 'metrics': {
          const scrape = scrapes.get(message.id);
          if (scrape === undefined) break;
          scrape.snapshots.push(message.snapshot);
          scrape.waiting -= 1;
          if (scrape.waiting === 0) answerScrape(message.id);
          break;
        }
      }
    });
    worker.on('exit', (code, signal) => {
      live.delete(worker);
      const wasListening = listening.delete(worker);
      handBack(worker);
      if (stopping) return;
      if (!wasListening && address === undefined) {
        failed(new SessctlError(`a worker exited while starting (${signal ?? `exit code ${code}`})`));
        return;
      }
      log({ level: 'error', event: 'worker_exited', worker: worker.id, code, signal, message: 'replacing it' });
      setTimeout(() => {
        if (!stopping) fork();
      }, RESTART_DELAY_MS).unref();
    });
  };

  const stopAll = async (): Promise<void> => {
    stopping = true;
    listener.close();
    for (const socket of unclaimed.splice(0)) socket.destroy();
    const exits = [...live].map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve()))));
    for (const w of live) w.process.kill('SIGTERM');
    const killer = setTimeout(() => {
      for (const w of live) w.process.kill('SIGKILL');
    }, (config.graceMs ?? 10_000) + STOP_MARGIN_MS);
    await Promise.all(exits);
    clearTimeout(killer);
    for (const h of handedOver.values()) h.socket.destroy();
    handedOver.clear();
  };

  for (let i = 0; i < workers; i++) fork();
  let served: { url: string; store: string };
  try {
    served = await Promise.race([allListening, stop.then(() => Promise.reject(new SessctlError('stopped while starting')))]);
  } catch (err) {
    await stopAll();
    throw err;
  }
  log({ level: 'info', event: 'listening', url: served.url, store: served.store, kind, workers, auth: config.token !== undefined, clientCerts: config.tls?.ca !== undefined });
  await stop;
  await stopAll();
  log({ level: 'info', event: 'stopped', workers });
  return served;
}

/** The worker side: wait for the configuration, serve, stop on SIGTERM. Run by worker.ts. */
export function runWorker(log: (event: LogEvent) => void): void {
  const id = cluster.worker?.id ?? 0;
  // Logs say which worker; the primary alone announces the daemon as listening.
  const workerLog = (event: LogEvent): void =>
    log(event.event === 'listening' ? { ...event, event: 'worker_listening', worker: id, pid: process.pid } : { ...event, worker: id });
  // Ctrl-C in a terminal signals the whole process group: the primary decides, and sends SIGTERM.
  process.on('SIGINT', () => {});
  const pending = new Map<number, (snapshots: MetricsSnapshot[]) => void>();
  let nextId = 0;
  let metricsSnapshot: (() => MetricsSnapshot) | undefined;

  let daemon: { adopt(socket: Socket): void } | undefined;
  process.on('message', (message: ToWorker, handle: unknown) => {
    switch (message.type) {
      case 'start':
        void start(message.config);
        break;
      case 'connection':
        // Say so first: from now on the connection is this worker's alone.
        send(process, { type: 'took', id: message.id });
        if (daemon === undefined) (handle as Socket | undefined)?.destroy();
        else if (handle !== undefined) daemon.adopt(handle as Socket);
        break;
      case 'metrics?':
        if (metricsSnapshot !== undefined) send(process, { type: 'metrics', id: message.id, snapshot: metricsSnapshot() });
        break;
      case 'peer-metrics':
        pending.get(message.id)?.(message.snapshots);
        pending.delete(message.id);
        break;
    }
  });

  // Messages that arrive before a listener are lost: say when it is there.
  send(process, { type: 'ready' });

  const peerMetrics = (): Promise<MetricsSnapshot[]> =>
    new Promise((resolve) => {
      const requestId = nextId++;
      pending.set(requestId, resolve);
      send(process, { type: 'peer-metrics?', id: requestId });
    });

  async function start(wire: WireConfig): Promise<void> {
    const { tls, ...plain } = wire;
    const config: DaemonConfig = {
      ...plain,
      ...(tls === undefined ? {} : { tls: { cert: Buffer.from(tls.cert, 'base64'), key: Buffer.from(tls.key, 'base64'), ...(tls.ca === undefined ? {} : { ca: Buffer.from(tls.ca, 'base64') }) } }),
    };
    let running: Awaited<ReturnType<typeof runDaemon>>;
    try {
      running = await runDaemon(config, workerLog, { peerMetrics, listen: false });
    } catch (err) {
      send(process, { type: 'failed', message: err instanceof SessctlError ? err.message : `a worker failed to start: ${(err as Error).message}` });
      process.exitCode = 1;
      process.disconnect?.();
      return;
    }
    metricsSnapshot = () => running.daemon.metricsSnapshot();
    daemon = running.daemon;
    process.once('SIGTERM', () => {
      void running.stop().then(() => process.disconnect?.());
    });
    send(process, { type: 'listening', url: running.daemon.url, store: running.storeUrl });
  }
}

function send(to: Worker | NodeJS.Process, message: ToWorker | ToPrimary): void {
  try {
    if (to === process) process.send?.(message);
    else (to as Worker).send(message);
  } catch {
    // The other side is gone: its exit is handled where it is noticed.
  }
}

/**
 * The Node flags of a worker: the primary's, and --single-threaded-gc. With
 * it, V8 frees the buffers of each request on the worker's own thread, rather
 * than on helper threads that compete with the other workers for the cores
 * and with the worker for the allocator's lock. Measured: a cache-file lookup
 * in process 3.3 µs instead of 5.8; a whole request up to a tenth less CPU
 * (docs/BENCHMARKS.md).
 */
export function workerExecArgv(primary: readonly string[]): string[] {
  return primary.includes('--single-threaded-gc') ? [...primary] : [...primary, '--single-threaded-gc'];
}
