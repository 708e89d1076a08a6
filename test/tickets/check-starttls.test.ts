/**
 * rotate-keys --check --probe --starttls smtp against Debian's postfix. No
 * Debian mail server loads ticket keys from a file: postfix's tlsmgr(8)
 * makes its own in memory (postconf(5) has tls_session_ticket_cipher, no key
 * file), dovecot has no ticket-key setting (only ssl_options = no_ticket). So
 * what can be checked is that the probe gets through STARTTLS to the
 * ticket, and that the key name it reports is the one openssl s_client
 * -starttls smtp sees: tlsmgr's key, which the ring does not hold (drift).
 */
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CheckReport } from '../../src/lib/tickets/check.js';
import { requireTool, runCli, tempDir } from '../helpers/env.js';
import { startPostfix, type Postfix } from '../helpers/postfix.js';
import { makeCertificate, sClient } from '../helpers/servers.js';
import { ticketKeyName } from './tls-probe.js';

const has = requireTool('postfix', 'postfix') && requireTool('openssl', 'openssl');

describe.skipIf(!has)('rotate-keys --check --probe --starttls smtp against postfix', () => {
  const tmp = tempDir('sessctl-check-starttls-');
  const dir = tmp.dir;
  let server: Postfix;

  beforeAll(async () => {
    const { cert, key } = makeCertificate(dir, ['localhost', '127.0.0.1']);
    server = await startPostfix(dir, cert, key);
    const created = await runCli(['rotate-keys', '--ring', 'ring.json'], { cwd: dir });
    if (created.code !== 0) throw new Error(`rotate-keys: ${created.stderr}`);
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    tmp.cleanup();
  });

  it('reaches the ticket through STARTTLS and names the key s_client -starttls smtp sees: not the ring\'s, drift, exit 4', async () => {
    const target = `127.0.0.1:${server.port}`;
    const r = await runCli(['rotate-keys', '--ring', 'ring.json', '--check', '--probe', target, '--starttls', 'smtp', '--probe-timeout', '7.5s', '--json'], { cwd: dir });
    const report = JSON.parse(r.stdout) as CheckReport;
    expect(r.code, `${r.stderr}\n${server.log()}`).toBe(4);
    expect(report.checked).toEqual([target]);
    expect(report.drifts).toHaveLength(1);
    const drift = report.drifts[0]!;
    expect(drift.code).toBe('foreign-key');
    const seen = /^127\.0\.0\.1:\d+: encrypts under key ([0-9a-f]{8}), which is not in the ring: another ring's key\?$/.exec(drift.message);
    expect(seen, drift.message).not.toBeNull();

    const sess = path.join(dir, 'smtp.pem');
    expect((await sClient(server.port, { sessOut: sess, extra: ['-starttls', 'smtp'] })).kind).toBe('New');
    expect(ticketKeyName(sess).slice(0, 8)).toBe(seen![1]);

    // Without --starttls the probe speaks TLS to the SMTP greeting: unreachable, as before this flag.
    const plain = await runCli(['rotate-keys', '--ring', 'ring.json', '--check', '--probe', target, '--json'], { cwd: dir });
    expect((JSON.parse(plain.stdout) as CheckReport).drifts.map((d) => d.code)).toEqual(['unreachable']);
    expect(plain.code).toBe(4);
  });
});

describe('rotate-keys --check --probe: --probe-timeout and --starttls on bad input', () => {
  const tmp = tempDir('sessctl-check-probe-flags-');
  afterAll(() => tmp.cleanup());

  it('--probe-timeout 500ms is the deadline on a server that never answers', async () => {
    await runCli(['rotate-keys', '--ring', 'ring.json'], { cwd: tmp.dir });
    const silent = net.createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const r = await runCli(['rotate-keys', '--ring', 'ring.json', '--check', '--probe', `127.0.0.1:${port}`, '--probe-timeout', '500ms'], { cwd: tmp.dir });
      expect(r.stdout).toBe(`127.0.0.1:${port}: cannot probe: no answer within 500 ms (deadline; during the TLS handshake)\n`);
      expect(r.code).toBe(4);
    } finally {
      silent.close();
    }
  });

  it.each([
    [['--probe', '127.0.0.1:25', '--probe-timeout', 'soon'], /^sessctl: --probe-timeout: "soon" is not a duration \(examples: 500ms, 2\.5s, 30s, 1m\)\n$/],
    [['--probe', '127.0.0.1:25', '--probe-timeout', '0s'], /^sessctl: --probe-timeout must be more than 0\n$/],
    [['--probe', '127.0.0.1:25', '--probe-timeout', '2d'], /^sessctl: --probe-timeout 2d is more than a day\n$/],
    [['--probe', '127.0.0.1:25', '--starttls', 'ftp'], /^sessctl: --starttls: "ftp" is not one of smtp, imap, pop3\n/],
    [['--haproxy-socket', '/nonexistent', '--starttls', 'smtp'], /--probe/],
  ])('%j: exit 2, one line', async (args, stderr) => {
    const r = await runCli(['rotate-keys', '--ring', 'ring.json', '--check', ...args], { cwd: tmp.dir });
    expect(r.stderr).toMatch(stderr);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
  });
});
