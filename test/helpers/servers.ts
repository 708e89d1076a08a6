/**
 * Real servers for tests: redis-server (standalone and a cluster), memcached
 * and Apache httpd with mod_ssl, each on free loopback ports with its config,
 * pid file and log in its own temp directory (docs/ARCHITECTURE.md, "Real servers in tests"). Every handle has
 * stop() (by pid, waiting for the process to go) and tests call it in afterAll.
 */
import { execFile, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort, tempDir } from './env.js';

const execFileAsync = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Poll `check` every 50 ms until it returns true; throw `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** SIGTERM the process in `pidFile` and wait until it is gone (SIGKILL after 5 s). */
export async function stopByPidFile(pidFile: string): Promise<void> {
  const pid = readPid(pidFile);
  if (pid === undefined || !alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  try {
    await waitFor(`pid ${pid} to exit`, () => !alive(pid), 5_000);
  } catch {
    if (alive(pid)) process.kill(pid, 'SIGKILL');
    await waitFor(`pid ${pid} to exit after SIGKILL`, () => !alive(pid), 5_000);
  }
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

// ---------------------------------------------------------------- Redis

export interface RedisServer {
  host: '127.0.0.1';
  port: number;
  dir: string;
  url: string;
  /** Run redis-cli against this server; resolves with stdout. */
  cli(...args: string[]): Promise<string>;
  /** Stop the server (data is lost: no persistence). */
  stop(): Promise<void>;
  /** Start it again on the same port (after stop()). */
  start(): Promise<void>;
  /** SIGSTOP / SIGCONT: a server that accepts connections but never answers. */
  pause(): void;
  resume(): void;
  pid(): number | undefined;
  cleanup(): Promise<void>;
}

export interface RedisOptions {
  /** Extra redis-server arguments, e.g. ['--requirepass', 'pw']. */
  args?: string[];
  /** Password for redis-cli (AUTH). */
  password?: string;
  user?: string;
}

async function startRedisProcess(port: number, dir: string, args: string[], password?: string, user?: string): Promise<void> {
  const pidFile = path.join(dir, `redis-${port}.pid`);
  await execFileAsync('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--daemonize', 'yes', '--pidfile', pidFile, '--dir', dir, '--logfile', path.join(dir, `redis-${port}.log`),
    ...args,
  ]);
  await waitFor(`redis-server on port ${port}`, async () => {
    const auth = [...(user ? ['--user', user] : []), ...(password ? ['--pass', password, '--no-auth-warning'] : [])];
    const { stdout } = await execFileAsync('redis-cli', ['-p', String(port), ...auth, 'ping']);
    return stdout.trim() === 'PONG' && readPid(pidFile) !== undefined;
  });
}

export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  const { dir, cleanup } = tempDir('sessctl-redis-');
  const port = await freePort();
  const args = options.args ?? [];
  const pidFile = path.join(dir, `redis-${port}.pid`);
  const auth = [...(options.user ? ['--user', options.user] : []), ...(options.password ? ['--pass', options.password, '--no-auth-warning'] : [])];
  await startRedisProcess(port, dir, args, options.password, options.user);
  const server: RedisServer = {
    host: '127.0.0.1',
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    cli: async (...cliArgs) => (await execFileAsync('redis-cli', ['-p', String(port), ...auth, ...cliArgs], { maxBuffer: 64 << 20 })).stdout,
    stop: () => stopByPidFile(pidFile),
    start: () => startRedisProcess(port, dir, args, options.password, options.user),
    pause: () => {
      const pid = readPid(pidFile);
      if (pid !== undefined) process.kill(pid, 'SIGSTOP');
    },
    resume: () => {
      const pid = readPid(pidFile);
      if (pid !== undefined) process.kill(pid, 'SIGCONT');
    },
    pid: () => readPid(pidFile),
    cleanup: async () => {
      server.resume();
      await server.stop();
      cleanup();
    },
  };
  return server;
}

export interface RedisCluster {
  ports: number[];
  /** A seed URL naming every master, in sessctl's cluster form. */
  url: string;
  dir: string;
  cli(port: number, ...args: string[]): Promise<string>;
  cleanup(): Promise<void>;
}

/** A Redis Cluster of `masters` masters and no replicas on loopback, cluster_state:ok. */
export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const { dir, cleanup } = tempDir('sessctl-redis-cluster-');
  const ports: number[] = [];
  // Cluster nodes also listen on port + 10000 (the bus): pick ports whose bus port is free too.
  while (ports.length < masters) {
    const port = await freePort();
    if (port + 10000 < 65536 && !ports.includes(port) && !(await listening(port + 10000))) ports.push(port);
  }
  for (const port of ports) {
    await startRedisProcess(port, dir, ['--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, `nodes-${port}.conf`), '--cluster-node-timeout', '5000']);
  }
  await execFileAsync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
  const cli = async (port: number, ...args: string[]) => (await execFileAsync('redis-cli', ['-p', String(port), ...args])).stdout;
  for (const port of ports) {
    await waitFor(`cluster_state:ok on ${port}`, async () => (await cli(port, 'cluster', 'info')).includes('cluster_state:ok'), 20_000);
  }
  return {
    ports,
    url: `redis://${ports.map((p) => `127.0.0.1:${p}`).join(',')}?cluster=1`,
    dir,
    cli,
    cleanup: async () => {
      for (const port of ports) await stopByPidFile(path.join(dir, `redis-${port}.pid`));
      cleanup();
    },
  };
}

// ---------------------------------------------------------------- memcached

export interface MemcachedServer {
  port: number;
  /** Send raw text-protocol lines; resolves with the reply up to and including a line matching `until`. */
  raw(command: string | Buffer, until?: RegExp): Promise<string>;
  stop(): Promise<void>;
  /** Start it again on the same port (after stop()); it comes back empty. */
  start(): Promise<void>;
  /** SIGSTOP / SIGCONT: a server that accepts connections but never answers. */
  pause(): void;
  resume(): void;
  cleanup(): Promise<void>;
}

export async function startMemcached(): Promise<MemcachedServer> {
  const { dir, cleanup } = tempDir('sessctl-memcached-');
  const port = await freePort();
  const pidFile = path.join(dir, 'memcached.pid');
  const start = async () => {
    await execFileAsync('memcached', ['-d', '-l', '127.0.0.1', '-p', String(port), '-U', '0', '-u', 'root', '-P', pidFile, '-m', '64']);
    await waitFor(`memcached on port ${port}`, async () => (await listening(port)) && readPid(pidFile) !== undefined);
  };
  await start();
  return {
    port,
    start,
    raw: (command, until = /^(END|STORED|NOT_STORED|DELETED|NOT_FOUND|OK|ERROR.*|CLIENT_ERROR.*|SERVER_ERROR.*|\d+)\r\n/m) =>
      memcachedRaw(port, command, until),
    stop: () => stopByPidFile(pidFile),
    pause: () => signal(pidFile, 'SIGSTOP'),
    resume: () => signal(pidFile, 'SIGCONT'),
    cleanup: async () => {
      signal(pidFile, 'SIGCONT');
      await stopByPidFile(pidFile);
      cleanup();
    },
  };
}

function signal(pidFile: string, name: NodeJS.Signals): void {
  const pid = readPid(pidFile);
  if (pid !== undefined && alive(pid)) process.kill(pid, name);
}

function memcachedRaw(port: number, command: string | Buffer, until: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let reply = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`memcached ${port}: no complete reply to ${JSON.stringify(command)}: ${JSON.stringify(reply)}`));
    }, 5_000);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (until.test(reply)) {
        clearTimeout(timer);
        socket.end();
        resolve(reply);
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.write(Buffer.isBuffer(command) ? command : `${command.replace(/\r\n$/, '')}\r\n`);
  });
}

// ---------------------------------------------------------------- Apache httpd

export interface ApacheServer {
  port: number;
  dir: string;
  /** The error log so far (for failure messages). */
  log(): string;
  cleanup(): Promise<void>;
}

const APACHE_MODULES = '/usr/lib/apache2/modules';

/** A self-signed certificate for `names` (host names or IP addresses) in `dir` (cert.pem, key.pem). */
export function makeCertificate(dir: string, names: string[] = ['localhost']): { cert: string; key: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  const r = spawnSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', `/CN=${names[0]}`, '-addext', `subjectAltName=${names.map((n) => (net.isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(',')}`,
    '-keyout', key, '-out', cert,
  ]);
  if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr.toString()}`);
  return { cert, key };
}

/**
 * Apache httpd with mod_ssl on a loopback port, sharing sessions through
 * `sessionCache` (e.g. "redis:127.0.0.1:6379" or "memcache:127.0.0.1:P1,127.0.0.1:P2").
 * Session tickets are off, so Apache uses its session-ID cache.
 */
export async function startApache(sessionCache: string, options: { timeoutSeconds?: number } = {}): Promise<ApacheServer> {
  const { dir, cleanup } = tempDir('sessctl-apache-');
  chmodSync(dir, 0o711); // the www-data children must reach files under it
  const port = await freePort();
  const { cert, key } = makeCertificate(dir, ['localhost', 'www.example.test']);
  const provider = sessionCache.startsWith('redis:') ? 'redis' : sessionCache.startsWith('memcache:') ? 'memcache' : 'shmcb';
  const conf = path.join(dir, 'httpd.conf');
  const pidFile = path.join(dir, 'httpd.pid');
  const errorLog = path.join(dir, 'error.log');
  writeFileSync(
    conf,
    [
      `ServerRoot ${dir}`,
      `DefaultRuntimeDir ${dir}`,
      `PidFile ${pidFile}`,
      `ErrorLog ${errorLog}`,
      'LogLevel warn ssl:info',
      `Mutex file:${dir} default`,
      `LoadModule mpm_event_module ${APACHE_MODULES}/mod_mpm_event.so`,
      `LoadModule authz_core_module ${APACHE_MODULES}/mod_authz_core.so`,
      `LoadModule socache_${provider}_module ${APACHE_MODULES}/mod_socache_${provider}.so`,
      `LoadModule ssl_module ${APACHE_MODULES}/mod_ssl.so`,
      'User www-data',
      'Group www-data',
      'ServerName localhost',
      `Listen 127.0.0.1:${port}`,
      `DocumentRoot ${dir}`,
      'StartServers 1',
      'ServerLimit 1',
      'ThreadsPerChild 4',
      'MaxRequestWorkers 4',
      `SSLSessionCache ${sessionCache}`,
      `SSLSessionCacheTimeout ${options.timeoutSeconds ?? 300}`,
      'SSLSessionTickets off',
      // A name-based virtual host: mod_ssl accepts the client's SNI (and OpenSSL
      // records it in the session) only when it names a virtual host.
      `<VirtualHost 127.0.0.1:${port}>`,
      '  ServerName localhost',
      '  ServerAlias www.example.test',
      '  SSLEngine on',
      `  SSLCertificateFile ${cert}`,
      `  SSLCertificateKeyFile ${key}`,
      '</VirtualHost>',
      '',
    ].join('\n'),
  );
  const log = () => (existsSync(errorLog) ? readFileSync(errorLog, 'utf8') : '');
  const start = spawnSync('apache2', ['-f', conf, '-k', 'start'], { env: { ...process.env, APACHE_CONFDIR: dir } });
  if (start.status !== 0) throw new Error(`apache2 failed to start: ${start.stderr.toString()}${log()}`);
  try {
    await waitFor(`apache2 on port ${port}`, async () => readPid(pidFile) !== undefined && (await listening(port)));
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${log()}`);
  }
  return {
    port,
    dir,
    log,
    cleanup: async () => {
      await stopByPidFile(pidFile);
      cleanup();
    },
  };
}

// ---------------------------------------------------------------- openssl s_client

export interface HandshakeResult {
  /** "New" (full handshake) or "Reused" (resumed). */
  kind: 'New' | 'Reused';
  protocol: string;
  cipher: string;
  /** Session-ID as lowercase hex ('' when none). */
  sessionId: string;
  /** Master-Key as lowercase hex (a secret: for comparisons in tests only). */
  masterKey: string;
  output: string;
}

/**
 * One `openssl s_client` handshake to 127.0.0.1:port that ends at once.
 * `sessOut` saves the session, `sessIn` offers a saved one.
 */
export async function sClient(
  port: number,
  options: { sni?: string; tls?: '-tls1_2' | '-tls1_3'; sessOut?: string; sessIn?: string; extra?: string[] } = {},
): Promise<HandshakeResult> {
  const args = ['s_client', '-connect', `127.0.0.1:${port}`, options.tls ?? '-tls1_2'];
  if (options.sni) args.push('-servername', options.sni);
  else args.push('-noservername');
  if (options.sessOut) args.push('-sess_out', options.sessOut);
  if (options.sessIn) args.push('-sess_in', options.sessIn);
  args.push(...(options.extra ?? []));
  // Asynchronous, so that a TLS server in this same process keeps running.
  const r = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
    child.stdin.end();
  });
  const output = r.stdout;
  const line = /^(New|Reused), (\S+), Cipher is (\S+)/m.exec(output);
  if (!line) throw new Error(`openssl s_client made no handshake (exit ${r.status}): ${output}\n${r.stderr}`);
  const field = (name: string) => new RegExp(`^\\s*${name}\\s*:\\s*(\\S*)`, 'm').exec(output)?.[1] ?? '';
  return {
    kind: line[1] as 'New' | 'Reused',
    protocol: field('Protocol') || line[2]!,
    cipher: line[3]!,
    sessionId: field('Session-ID').toLowerCase(),
    masterKey: field('Master-Key').toLowerCase(),
    output,
  };
}
