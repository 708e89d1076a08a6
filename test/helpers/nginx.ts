/**
 * Debian's nginx as a TLS test server with the ticket-key files, protocols,
 * session cache and server names a test asks for; its pid, logs and temp
 * paths in its own directory, on a free loopback port, stopped by pid.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { findTool, freePort } from './env.js';
import { listening, stopByPidFile, waitFor } from './servers.js';

export interface NginxServer {
  port: number;
  dir: string;
  /** nginx -s reload (the new workers read the key files again). */
  reload(): Promise<void>;
  stop(): Promise<void>;
}

export interface NginxOptions {
  cert: string;
  key: string;
  /** ssl_session_ticket_key files, the first encrypts (nginx docs). None: nginx's own random key. */
  ticketKeys?: string[];
  /** ssl_protocols; default "TLSv1.2 TLSv1.3". */
  protocols?: string;
  /** ssl_session_cache; default "off". */
  sessionCache?: string;
  /** Server blocks on the same port, one per name (the first is the default), all with the same keys. */
  serverNames?: string[];
  /** More directives for each server block, e.g. "ssl_session_timeout 1s;". */
  directives?: string[];
}

export async function startNginx(dir: string, options: NginxOptions): Promise<NginxServer> {
  mkdirSync(dir, { recursive: true });
  const p = (name: string): string => path.join(dir, name);
  const nginx = findTool('nginx') ?? 'nginx';
  const port = await freePort();
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${p(`${t}_temp`)};`).join('\n');
  const keys = (options.ticketKeys ?? []).map((k) => `    ssl_session_ticket_key ${k};`).join('\n');
  const server = (name: string | undefined, first: boolean): string => `  server {
    listen 127.0.0.1:${port} ssl${first ? ' default_server' : ''};
${name ? `    server_name ${name};` : ''}
    ssl_certificate ${options.cert};
    ssl_certificate_key ${options.key};
    ssl_protocols ${options.protocols ?? 'TLSv1.2 TLSv1.3'};
    ssl_session_cache ${options.sessionCache ?? 'off'};
    ssl_session_tickets on;
${keys}
${(options.directives ?? []).map((d) => `    ${d}`).join('\n')}
    location / { return 200 "ok\\n"; }
  }`;
  const names = options.serverNames ?? [];
  const servers = names.length === 0 ? [server(undefined, true)] : names.map((n, i) => server(n, i === 0));
  writeFileSync(
    p('nginx.conf'),
    `worker_processes 1;
pid ${p('nginx.pid')};
error_log ${p('error.log')} info;
events { worker_connections 64; }
http {
  access_log off;
${temp}
${servers.join('\n')}
}
`,
  );
  execFileSync(nginx, ['-p', dir, '-c', p('nginx.conf'), '-e', p('error.log')], { stdio: 'pipe' });
  await waitFor(`nginx on ${port}`, () => listening(port));
  const masterPid = (): number | undefined => {
    try {
      return Number(execFileSync('cat', [p('nginx.pid')]).toString().trim()) || undefined;
    } catch {
      return undefined;
    }
  };
  return {
    port,
    dir,
    async reload() {
      // The old worker keeps serving until it exits; wait for the master to have replaced it.
      const pid = masterPid();
      const before = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)]).toString().split('\n').map((l) => l.trim()).filter(Boolean);
      execFileSync(nginx, ['-p', dir, '-c', p('nginx.conf'), '-e', p('error.log'), '-s', 'reload'], { stdio: 'pipe' });
      await waitFor('new nginx workers', () => {
        const now = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)]).toString().split('\n').map((l) => l.trim()).filter(Boolean);
        return now.length > 0 && now.every((w) => !before.includes(w));
      });
    },
    stop: () => stopByPidFile(p('nginx.pid')),
  };
}
