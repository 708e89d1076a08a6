/**
 * HAProxy in TCP mode with round robin over backends: the TLS handshake
 * passes through, so consecutive connections alternate backends, as a fleet
 * behind a load balancer does.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { findTool, freePort } from './env.js';
import { listening, stopByPidFile, waitFor } from './servers.js';

export interface TcpBalancer {
  port: number;
  stop(): Promise<void>;
}

export async function startTcpRoundRobin(dir: string, name: string, backendPorts: number[]): Promise<TcpBalancer> {
  const haproxy = findTool('haproxy') ?? 'haproxy';
  const port = await freePort();
  const conf = path.join(dir, `${name}.cfg`);
  const pidFile = path.join(dir, `${name}.pid`);
  writeFileSync(
    conf,
    `global
  pidfile ${pidFile}
  daemon
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:${port}
  default_backend be
backend be
  balance roundrobin
${backendPorts.map((p, i) => `  server s${i} 127.0.0.1:${p}`).join('\n')}
`,
  );
  execFileSync(haproxy, ['-f', conf], { stdio: 'pipe' });
  await waitFor(`haproxy on ${port}`, () => listening(port));
  return {
    port,
    stop: () => stopByPidFile(pidFile),
  };
}
