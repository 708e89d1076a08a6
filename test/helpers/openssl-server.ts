/**
 * `openssl s_server` as a test server: a TLS server whose session cache and
 * tickets are switched on or off by flag (-no_ticket, -no_cache), on a free
 * loopback port, stopped by pid.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { freePort } from './env.js';
import { listening, waitFor } from './servers.js';

export interface OpensslServer {
  port: number;
  stop(): Promise<void>;
}

export async function startOpensslServer(options: { cert: string; key: string; tickets?: boolean; cache?: boolean; args?: string[] }): Promise<OpensslServer> {
  const port = await freePort();
  const args = ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', options.cert, '-key', options.key, '-quiet'];
  if (options.tickets === false) args.push('-no_ticket');
  if (options.cache === false) args.push('-no_cache');
  args.push(...(options.args ?? []));
  const child: ChildProcess = spawn('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitFor(`openssl s_server on ${port} (${stderr.trim()})`, async () => child.exitCode === null && (await listening(port)));
  return {
    port,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
