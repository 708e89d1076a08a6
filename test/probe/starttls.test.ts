/**
 * sessctl probe --starttls against Debian's dovecot: IMAP with one login
 * process (tickets resume) and POP3 in dovecot's default high-security mode,
 * a login process per connection, each with its own ticket key: split keys
 * on one server, found as such.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeReport } from '../../src/lib/probe/types.js';
import { requireTool, runCli, tempDir } from '../helpers/env.js';
import { startDovecot, type Dovecot } from '../helpers/mail.js';
import { makeCertificate } from '../helpers/servers.js';

const has = requireTool('dovecot', 'dovecot-imapd dovecot-pop3d') && requireTool('openssl', 'openssl');

describe.skipIf(!has)('probe --starttls against dovecot', () => {
  const tmp = tempDir('sessctl-probe-mail-');
  let server: Dovecot;

  beforeAll(async () => {
    const { cert, key } = makeCertificate(tmp.dir, ['localhost', '127.0.0.1']);
    server = await startDovecot(tmp.dir, cert, key);
  });
  afterAll(async () => {
    await server?.stop();
    tmp.cleanup();
  });

  it('IMAP STARTTLS, one login process: one key group, every ticket and session ID resumes, exit 0', async () => {
    const r = await runCli(['probe', `127.0.0.1:${server.imapPort}`, '--starttls', 'imap', '--insecure', '--connections', '4', '--json']);
    const report = JSON.parse(r.stdout) as ProbeReport;
    expect(report.verdict).toBe('resumes');
    expect(r.code).toBe(0);
    expect(report.keyGroups).toHaveLength(1);
    expect(report.ticket.resumed).toBe(report.ticket.offered);
    expect(report.sessionId.resumed).toBe(report.sessionId.offered);
  });

  it('POP3 STLS, a login process per connection: as many key groups as connections, broken, exit 4', async () => {
    const r = await runCli(['probe', `127.0.0.1:${server.pop3Port}`, '--starttls', 'pop3', '--insecure', '--connections', '4', '--tls', '1.3']);
    expect(r.code).toBe(4);
    expect(r.stdout.split('\n')[0]).toMatch(new RegExp(`^broken: the backends of 127\\.0\\.0\\.1:${server.pop3Port} encrypt tickets under [3-9] different keys`));
  });

  it('STARTTLS spoken to a server of another protocol: one line naming what it answered, exit 1', async () => {
    const r = await runCli(['probe', `127.0.0.1:${server.imapPort}`, '--starttls', 'smtp', '--insecure', '--timeout', '5s']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^sessctl: 127\\.0\\.0\\.1:${server.imapPort}: smtp STARTTLS failed: SMTP greeting: the server answered "\\* OK .*"\\n$`));
  });
});
