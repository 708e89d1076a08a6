/**
 * `rotate-keys --check --probe` against a server whose tickets are not in
 * OpenSSL's format: openssl s_server -no_ticket, whose TLS 1.3 tickets are
 * 32-byte stateful handles into its session cache. Such a ticket names no
 * key; --check says so instead of reading its first 16 bytes as a key name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool, runCli, tempDir } from '../helpers/env.js';
import { startOpensslServer, type OpensslServer } from '../helpers/openssl-server.js';
import { makeCertificate } from '../helpers/servers.js';

const has = requireTool('openssl', 'openssl');

describe.skipIf(!has)('rotate-keys --check probing a server of stateful tickets', () => {
  const tmp = tempDir('sessctl-check-opaque-');
  let server: OpensslServer;

  beforeAll(async () => {
    const { cert, key } = makeCertificate(tmp.dir, ['localhost', '127.0.0.1']);
    server = await startOpensslServer({ cert, key, tickets: false });
  });
  afterAll(async () => {
    await server?.stop();
    tmp.cleanup();
  });

  it('drift, exit 4: the server issues 32-byte tickets that name no key of the ring', async () => {
    const made = await runCli(['rotate-keys', '--ring', 'ring.json', '--write', 'nginx:tickets'], { cwd: tmp.dir });
    expect(made.code, made.stderr).toBe(0);
    const r = await runCli(['rotate-keys', '--ring', 'ring.json', '--check', '--write', 'nginx:tickets', '--probe', `127.0.0.1:${server.port}`], {
      cwd: tmp.dir,
    });
    // Before: "encrypts under key xxxxxxxx, which is not in the ring: another ring's key?", a different "key" each time.
    expect(r.stdout).toContain(`127.0.0.1:${server.port}: issues 32-byte tickets not in OpenSSL's format: they name no key of the ring`);
    expect(r.stdout).not.toMatch(/not in the ring: another ring's key/);
    expect(r.code).toBe(4);
  });
});
