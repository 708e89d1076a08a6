/**
 * A fleet sharing one daemon: two Node TLS servers (examples/tls-server.js,
 * separate processes) with `--store http://127.0.0.1:PORT`, driven by
 * `openssl s_client` with TLS 1.2 session-ID resumption. The daemon restarts
 * under them; the servers are never restarted.
 *
 * The daemon requires a token, which the servers read from --token-file.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, requireTool, tempDir } from '../helpers/env.js';
import { sClient, startExampleServer, type ExampleServer } from '../tls/peers.js';
import { startServe, type ServeChild } from '../helpers/serve.js';

const sessionIdOnly = ['-tls1_2', '-no_ticket'];

describe.skipIf(!requireTool('openssl', 'openssl'))('two TLS servers sharing one daemon', () => {
  const temp = tempDir('sessctl-daemon-fleet-');
  let daemonArgs: string[];
  let daemon: ServeChild | undefined;
  let a: ExampleServer;
  let b: ExampleServer;

  beforeAll(async () => {
    const tokenFile = path.join(temp.dir, 'token');
    writeFileSync(tokenFile, 'fleet-token-0123456789abcdef\n', { mode: 0o600 });
    daemonArgs = ['--listen', `127.0.0.1:${await freePort()}`, '--store', path.join(temp.dir, 'sessions.db'), '--token-file', tokenFile];
    daemon = await startServe(daemonArgs);
    const server = ['--store', daemon.url, '--token-file', tokenFile, '--session-id-context', 'fleet', '--tls-max', '1.2'];
    [a, b] = await Promise.all([startExampleServer(server), startExampleServer(server)]);
  });

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop(), daemon?.stop()]);
    temp.cleanup();
  });

  it('a session created on A resumes on B', async () => {
    const sess = path.join(temp.dir, 'a.pem');
    const first = await sClient(a.port, [...sessionIdOnly, '-sess_out', sess]);
    expect(first.outcome).toBe('New');
    expect((await sClient(b.port, [...sessionIdOnly, '-sess_in', sess])).outcome).toBe('Reused');
  });

  it('handshakes keep completing, as full ones, while the daemon is down; resumption works again after its restart', async () => {
    const sess = path.join(temp.dir, 'before-restart.pem');
    expect((await sClient(a.port, [...sessionIdOnly, '-sess_out', sess])).outcome).toBe('New');
    expect((await sClient(b.port, [...sessionIdOnly, '-sess_in', sess])).outcome).toBe('Reused');

    expect(await daemon!.stop()).toBe(0);
    daemon = undefined;
    // Down: both servers still complete handshakes, full ones.
    expect((await sClient(b.port, [...sessionIdOnly, '-sess_in', sess])).outcome).toBe('New');
    expect((await sClient(a.port, sessionIdOnly)).outcome).toBe('New');

    daemon = await startServe(daemonArgs);
    // The session made before the restart is still in the daemon's cache file.
    expect((await sClient(b.port, [...sessionIdOnly, '-sess_in', sess])).outcome).toBe('Reused');
    // And new sessions are shared again.
    const after = path.join(temp.dir, 'after-restart.pem');
    expect((await sClient(b.port, [...sessionIdOnly, '-sess_out', after])).outcome).toBe('New');
    expect((await sClient(a.port, [...sessionIdOnly, '-sess_in', after])).outcome).toBe('Reused');
    expect(a.stderr() + b.stderr()).not.toMatch(/Error:|at .*\.js:\d+/);
  });
});
