/** openssl helpers shared by the real-server ticket tests. */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { decodeSession } from '../../src/lib/session/codec.js';
import { readSessionBlobs } from '../../src/lib/session/pem.js';
import type { Session } from '../../src/lib/session/types.js';
import { decodeRing, type KeyRing } from '../../src/lib/tickets/ring.js';
import { findTool, freePort, runCli } from '../helpers/env.js';

/** A self-signed P-256 certificate and key in `dir`: { cert, key, combined }. */
export function makeCertificate(dir: string): { cert: string; key: string; combined: string } {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-subj', '/CN=localhost', '-days', '2'], {
    stdio: 'ignore',
  });
  const combined = path.join(dir, 'combined.pem');
  execFileSync('sh', ['-c', `cat "${cert}" "${key}" > "${combined}"`]);
  return { cert, key, combined };
}

/**
 * One handshake with `openssl s_client` (TLS 1.2 unless `tls` says 1.3):
 * offers the session in `sessIn` if given, saves the new session to
 * `sessOut` if given. Returns 'Reused' or 'New'. (s_client writes nothing to
 * -sess_out on a resumed TLS 1.2 connection, docs/ARCHITECTURE.md,
 * "Ticket-key layouts".) A TLS 1.3 server sends its tickets after the
 * handshake: s_client sends an HTTP/1.0 request and reads until the server
 * closes, so the tickets have arrived before it ends (the server must speak HTTP).
 */
export function handshake(port: number, options: { sessIn?: string; sessOut?: string; tls?: '1.2' | '1.3' } = {}): 'Reused' | 'New' {
  const tls13 = options.tls === '1.3';
  const args = ['s_client', '-connect', `127.0.0.1:${port}`, tls13 ? '-tls1_3' : '-tls1_2', '-servername', 'localhost'];
  if (tls13) args.push('-ign_eof');
  if (options.sessIn) args.push('-sess_in', options.sessIn);
  if (options.sessOut) args.push('-sess_out', options.sessOut);
  const input = tls13 ? 'GET / HTTP/1.0\r\nHost: localhost\r\n\r\n' : '';
  const r = spawnSync('openssl', args, { input, encoding: 'utf8', timeout: 10_000 });
  const m = (tls13 ? /^(Reused|New), TLSv1\.3/m : /^(Reused|New), TLSv1\.2/m).exec(r.stdout);
  if (!m) throw new Error(`s_client to ${port} failed: ${r.stderr.trim().split('\n').slice(-2).join(' | ')}`);
  return m[1] as 'Reused' | 'New';
}

export function readSession(file: string): Session {
  const [der] = readSessionBlobs(readFileSync(file), file);
  return decodeSession(der!);
}

/** The 16-byte key name a saved session's ticket was issued under, hex. */
export function ticketKeyName(file: string): string {
  const ticket = readSession(file).ticket;
  if (!ticket) throw new Error(`${file} carries no ticket`);
  return ticket.subarray(0, 16).toString('hex');
}

/** Poll `check` until it is true (or throw after `timeoutMs`). */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Debian's nginx serving TLS 1.2 tickets from the key files of `rotate-keys --write nginx:DIR/tickets` (or nginx-include:). */
export interface NginxWithRing {
  port: number;
  /** The rotate-keys arguments that write this nginx's keys (ring, output, --keep). */
  rotateArgs: string[];
  /** nginx's own command line, for `-s reload` and a restart after stop(). */
  nginxArgs: string[];
  /** Start nginx again after stop(). */
  start(): Promise<void>;
  /** HUP nginx (it reads its key files again); resolves once the new workers run. */
  reload(): Promise<void>;
  /** The ring file rotate-keys keeps in the directory. */
  ring(): KeyRing;
  /** `rotate-keys` (decrypt window 1 s) with a HUP to nginx; resolves to its summary once the new workers run. */
  rotate(): Promise<string>;
  stop(): void;
}

/**
 * Create a ring (ring.json) and nginx's key slots in `dir`, then start nginx
 * on a free loopback port with its pid, logs and temp paths inside `dir`.
 */
export async function startNginxWithRing(
  dir: string,
  options: { layout?: 'nginx' | 'nginx-include'; keep?: string; extraWrites?: string[] } = {},
): Promise<NginxWithRing> {
  const layout = options.layout ?? 'nginx';
  const p = (name: string): string => path.join(dir, name);
  const pidFile = p('nginx.pid');
  const nginx = findTool('nginx') ?? 'nginx';
  const masterPid = (): number => Number(readFileSync(pidFile, 'utf8').trim());
  const workers = (): number[] =>
    spawnSync('ps', ['-o', 'pid=', '--ppid', String(masterPid())], { encoding: 'utf8' })
      .stdout.split('\n')
      .map((l) => Number(l.trim()))
      .filter((n) => n > 0);
  const rotateArgs = ['rotate-keys', '--ring', 'ring.json', '--write', `${layout}:tickets`, ...(options.extraWrites ?? []).flatMap((w) => ['--write', w]), '--keep', options.keep ?? '1s'];

  const port = await freePort();
  const { cert, key } = makeCertificate(dir);
  const created = await runCli(rotateArgs, { cwd: dir });
  if (created.code !== 0) throw new Error(`rotate-keys failed: ${created.stderr}`);
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${p(`${t}_temp`)};`).join('\n');
  writeFileSync(
    p('nginx.conf'),
    `worker_processes 1;
pid ${pidFile};
error_log ${p('error.log')} info;
events { worker_connections 64; }
http {
  access_log off;
${temp}
  server {
    listen 127.0.0.1:${port} ssl;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    ssl_protocols TLSv1.2;
    ssl_session_cache off;
    ssl_session_tickets on;
${
  layout === 'nginx'
    ? ['current.key', 'previous.key', 'next.key'].map((f) => `    ssl_session_ticket_key ${p(`tickets/${f}`)};`).join('\n')
    : `    include ${p('tickets/ticket-keys.conf')};`
}
    location / { return 200 "ok\\n"; }
  }
}
`,
  );
  const nginxArgs = [nginx, '-p', dir, '-c', p('nginx.conf'), '-e', p('error.log')];
  const start = async (): Promise<void> => {
    execFileSync(nginxArgs[0]!, nginxArgs.slice(1), { stdio: 'pipe' });
    await waitFor('nginx workers', () => {
      try {
        return workers().length > 0;
      } catch {
        return false;
      }
    });
  };
  await start();

  return {
    port,
    rotateArgs,
    nginxArgs,
    start,
    ring: () => decodeRing(readFileSync(p('ring.json')), 'ring.json'),
    async reload() {
      const before = workers();
      process.kill(masterPid(), 'SIGHUP');
      await waitFor('new nginx workers', () => {
        const now = workers();
        return now.length > 0 && now.every((w) => !before.includes(w));
      });
    },
    async rotate() {
      const before = workers();
      const r = await runCli([...rotateArgs, '--exec', `kill -HUP $(cat ${pidFile})`], { cwd: dir });
      if (r.code !== 0 || r.stderr !== '') throw new Error(`rotate-keys failed (exit ${r.code}): ${r.stderr}`);
      await waitFor('new nginx workers', () => {
        const now = workers();
        return now.length > 0 && now.every((w) => !before.includes(w));
      });
      return r.stdout;
    },
    stop() {
      let pid: number;
      try {
        pid = masterPid();
        process.kill(pid, 'SIGTERM');
      } catch {
        return; // not running
      }
      // Wait (bounded) until the master has gone, so a test can rely on nginx being stopped.
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline) {
        try {
          process.kill(pid, 0);
        } catch {
          return;
        }
        spawnSync('sleep', ['0.05']);
      }
    },
  };
}

/** Debian's HAProxy terminating TLS 1.2 with tls-ticket-keys `keysFile`, its admin socket in `dir`. */
export interface HaproxyWithKeys {
  port: number;
  socket: string;
  stop(): void;
}

export async function startHaproxy(dir: string, keysFile: string): Promise<HaproxyWithKeys> {
  const p = (name: string): string => path.join(dir, name);
  const port = await freePort();
  const socket = p('haproxy.sock');
  const { combined } = makeCertificate(dir);
  writeFileSync(
    p('haproxy.cfg'),
    `global
  stats socket ${socket} mode 600 level admin
defaults
  mode http
  timeout connect 2s
  timeout client 5s
  timeout server 5s
frontend tls
  bind 127.0.0.1:${port} ssl crt ${combined} tls-ticket-keys ${keysFile} ssl-min-ver TLSv1.2 ssl-max-ver TLSv1.2
  http-request return status 200 content-type text/plain string ok
`,
  );
  execFileSync(findTool('haproxy') ?? 'haproxy', ['-D', '-q', '-f', p('haproxy.cfg'), '-p', p('haproxy.pid')], { stdio: 'pipe' });
  await waitFor('HAProxy to listen', () => {
    try {
      return handshake(port) === 'New';
    } catch {
      return false;
    }
  });
  return {
    port,
    socket,
    stop() {
      try {
        process.kill(Number(readFileSync(p('haproxy.pid'), 'utf8').trim()), 'SIGTERM');
      } catch {
        // not running
      }
    },
  };
}
