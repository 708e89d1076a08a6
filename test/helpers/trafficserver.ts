/**
 * Debian's Apache Traffic Server (9.2) terminating TLS on a free loopback
 * port, its config, runtime and log directories in the test's temp
 * directory (a runroot.yaml there names them; binaries and plugins stay in
 * /usr), session tickets under `proxy.config.ssl.server.ticket_key.filename`.
 *
 * It runs as traffic_manager (a child of the test, in the foreground) with
 * traffic_server as its child: in 9.2 only traffic_manager answers
 * `traffic_ctl config reload`, and a reload is the only way a running
 * Traffic Server reads its ticket key file again (traffic_server alone
 * ignores SIGHUP; mgmt/FileManager.cc `rereadConfig` sends the ticket key
 * record to traffic_server, iocore/net/SSLConfig.cc `SSLTicketKeyConfig::reconfigure`).
 * As root with `proxy.config.admin.user_id #-1` it keeps root's user, so it
 * reads the test's 0700 temp directory.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { findTool, freePort } from './env.js';
import { alive, stopByPidFile, waitFor } from './servers.js';

export interface TrafficServer {
  port: number;
  /** The runroot.yaml: `traffic_ctl --run-root=FILE ...` talks to this Traffic Server. */
  runroot: string;
  /** The shell command that asks this Traffic Server to reload its configuration (for `rotate-keys --exec`). */
  reloadCommand: string;
  /**
   * `traffic_ctl config reload`: resolves once traffic_manager took the
   * request. traffic_server applies it a few seconds later (the records sync):
   * poll for its effect.
   */
  reload(): void;
  /** traffic_server's diags.log so far (errors, "ticket key" messages, for failure messages). */
  diags(): string;
  stop(): Promise<void>;
}

export interface TrafficServerOptions {
  cert: string;
  key: string;
  /** proxy.config.ssl.server.ticket_key.filename: absolute (9.2 stats the name as written to see whether it changed). */
  ticketKeyFile: string;
}

/** Start traffic_manager (and so traffic_server) with its directories under `dir`; resolves once TLS handshakes succeed. */
export async function startTrafficServer(dir: string, options: TrafficServerOptions): Promise<TrafficServer> {
  const p = (...names: string[]): string => path.join(dir, ...names);
  for (const d of ['etc', 'run', 'log', 'cache']) mkdirSync(p(d), { recursive: true });
  const port = await freePort();
  const runroot = p('runroot.yaml');
  writeFileSync(
    runroot,
    `prefix: ${dir}
exec_prefix: /usr
bindir: /usr/bin
sbindir: /usr/bin
sysconfdir: ${p('etc')}
datadir: ${p('cache')}
includedir: /usr/include
libdir: /usr/lib/trafficserver
libexecdir: /usr/lib/trafficserver/modules
localstatedir: ${p('run')}
runtimedir: ${p('run')}
logdir: ${p('log')}
cachedir: ${p('cache')}
`,
  );
  // The files this test needs; Traffic Server warns about the others (remap.config, plugin.config, ...) and runs without them.
  writeFileSync(
    p('etc', 'records.config'),
    `CONFIG proxy.config.http.server_ports STRING 127.0.0.1:${port}:ssl
CONFIG proxy.config.admin.user_id STRING #-1
CONFIG proxy.config.crash_log_helper STRING NULL
CONFIG proxy.config.ssl.server.ticket_key.filename STRING ${options.ticketKeyFile}
CONFIG proxy.config.ssl.session_cache INT 0
CONFIG proxy.config.http.cache.http INT 0
CONFIG proxy.config.exec_thread.autoconfig INT 0
CONFIG proxy.config.exec_thread.limit INT 1
CONFIG proxy.config.accept_threads INT 0
CONFIG proxy.config.task_threads INT 1
CONFIG proxy.config.cache.threads_per_disk INT 1
CONFIG proxy.config.net.connections_throttle INT 1000
CONFIG proxy.config.body_factory.template_sets_dir STRING /etc/trafficserver/body_factory
`,
  );
  // dest_ip=*: the default certificate; its tickets use the global key file (no session cache: a resumption is a ticket's).
  writeFileSync(p('etc', 'ssl_multicert.config'), `dest_ip=* ssl_cert_name=${options.cert} ssl_key_name=${options.key}\n`);
  writeFileSync(p('etc', 'ip_allow.yaml'), 'ip_allow:\n  - apply: in\n    ip_addrs: 127.0.0.1\n    action: allow\n');
  writeFileSync(p('etc', 'storage.config'), ''); // no cache disk: "Cache Disabled", as this test wants

  const manager: ChildProcess = spawn(findTool('traffic_manager') ?? 'traffic_manager', [`--run-root=${runroot}`], { stdio: 'ignore' });
  let exited = false;
  manager.on('exit', () => (exited = true));
  const diags = (): string => {
    try {
      return readFileSync(p('log', 'diags.log'), 'utf8') + readFileSync(p('log', 'manager.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const stop = async (): Promise<void> => {
    if (!exited && manager.pid !== undefined && alive(manager.pid)) {
      manager.kill('SIGTERM');
      try {
        await waitFor('traffic_manager to exit', () => exited, 10_000);
      } catch {
        manager.kill('SIGKILL');
      }
    }
    // traffic_manager stops its traffic_server; make sure (its pid is in server.lock).
    await stopByPidFile(p('run', 'server.lock'));
  };
  const trafficCtl = findTool('traffic_ctl') ?? 'traffic_ctl';
  try {
    await waitFor(
      `Traffic Server to answer TLS on ${port}`,
      () => {
        if (exited) return true;
        const r = spawnSync('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_2'], { input: '', encoding: 'utf8', timeout: 5_000 });
        return /^New, TLSv1\.2/m.test(r.stdout);
      },
      30_000,
    );
    if (exited) throw new Error('traffic_manager exited');
  } catch (err) {
    await stop();
    throw new Error(`Traffic Server did not start (${(err as Error).message}): ${diags().split('\n').filter((l) => /ERROR|FATAL|WARNING: .*ssl/i.test(l)).join(' | ')}`);
  }
  return {
    port,
    runroot,
    reloadCommand: `${trafficCtl} --run-root=${runroot} config reload`,
    reload() {
      const r = spawnSync(trafficCtl, [`--run-root=${runroot}`, 'config', 'reload'], { encoding: 'utf8', timeout: 15_000 });
      if (r.status !== 0) throw new Error(`traffic_ctl config reload failed (exit ${r.status}): ${r.stderr.trim()}`);
    },
    diags,
    stop,
  };
}
