/**
 * sessctl probe --starttls smtp against Debian's postfix (smtpd, STARTTLS
 * with smtpd_tls_security_level = may). Postfix's tlsmgr(8) holds the ticket
 * keys (tls_session_ticket_cipher, default aes-256-cbc) and the session
 * cache (smtpd_tls_session_cache_database) for every smtpd process, so
 * concurrent connections, served by several smtpd processes, share one key
 * and one cache. openssl s_client -starttls smtp is the judge.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeReport } from '../../src/lib/probe/types.js';
import { requireTool, runCli, tempDir } from '../helpers/env.js';
import { startPostfix, type Postfix } from '../helpers/postfix.js';
import { makeCertificate, sClient } from '../helpers/servers.js';

const has = requireTool('postfix', 'postfix') && requireTool('openssl', 'openssl');

describe.skipIf(!has)('probe --starttls smtp against postfix', () => {
  const tmp = tempDir('sessctl-probe-smtp-');
  let server: Postfix;

  beforeAll(async () => {
    const { cert, key } = makeCertificate(tmp.dir, ['localhost', '127.0.0.1']);
    server = await startPostfix(tmp.dir, cert, key, {
      main: [
        `smtpd_tls_session_cache_database = btree:${path.join(tmp.dir, 'data/smtpd_scache')}`,
        // Postfix 3.7 hints a ticket lifetime of twice this (seen: 1200 s here, 7200 s for the default 3600 s).
        'smtpd_tls_session_cache_timeout = 600s',
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    tmp.cleanup();
  });

  it('tickets (TLS 1.3) and session IDs (TLS 1.2, through tlsmgr) both resume across smtpd processes: one key, exit 0', async () => {
    const r = await runCli(['probe', `127.0.0.1:${server.port}`, '--starttls', 'smtp', '--insecure', '--connections', '4', '--json']);
    const report = JSON.parse(r.stdout) as ProbeReport;
    expect(report.verdict, server.log()).toBe('resumes');
    expect(r.code).toBe(0);
    expect(report.keyGroups).toHaveLength(1);
    expect(report.ticket.offered).toBeGreaterThan(0);
    expect(report.ticket.resumed).toBe(report.ticket.offered);
    expect(report.sessionId.offered).toBeGreaterThan(0);
    expect(report.sessionId.resumed).toBe(report.sessionId.offered);
    const issued = report.connections.flatMap((c) => c.tickets);
    expect(issued.length).toBeGreaterThan(0);
    for (const t of issued) expect(t.lifetimeHint).toBe(1200);
  });

  it('the judge agrees: openssl s_client -starttls smtp resumes a TLS 1.2 session ID without a ticket', async () => {
    const sess = path.join(tmp.dir, 'smtp-session.pem');
    const extra = ['-starttls', 'smtp', '-no_ticket'];
    const first = await sClient(server.port, { sessOut: sess, extra });
    expect(first.kind).toBe('New');
    const second = await sClient(server.port, { sessIn: sess, extra });
    expect(second.kind).toBe('Reused');
    expect(second.sessionId).toBe(first.sessionId);
  });
});

describe.skipIf(!has)('probe --starttls smtp against postfix with session tickets off', () => {
  const tmp = tempDir('sessctl-probe-smtp-noticket-');
  let server: Postfix;

  beforeAll(async () => {
    const { cert, key } = makeCertificate(tmp.dir, ['localhost', '127.0.0.1']);
    server = await startPostfix(tmp.dir, cert, key, {
      // An empty cipher turns tickets off (postconf(5), tls_session_ticket_cipher); the session cache stays.
      main: ['tls_session_ticket_cipher =', `smtpd_tls_session_cache_database = btree:${path.join(tmp.dir, 'data/smtpd_scache')}`],
    });
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    tmp.cleanup();
  });

  it('TLS 1.3 gets 32-byte stateful tickets (handles into the tlsmgr cache): opaque, no key name, no key group; they resume, exit 0', async () => {
    const r = await runCli(['probe', `127.0.0.1:${server.port}`, '--starttls', 'smtp', '--insecure', '--connections', '4', '--json']);
    const report = JSON.parse(r.stdout) as ProbeReport;
    expect(report.verdict, server.log()).toBe('resumes');
    expect(r.code).toBe(0);
    const issued = report.connections.flatMap((c) => c.tickets);
    expect(issued.length).toBeGreaterThan(0);
    // Before: the first 16 bytes of each handle were reported as a key name, a different "key" per ticket.
    for (const t of issued) expect(t).toMatchObject({ format: 'opaque', length: 32, keyName: null });
    for (const c of report.connections) expect(c.ticketKeyNames).toEqual([]);
    expect(report.keyGroups).toEqual([]);
    expect(report.ticket.offered).toBeGreaterThan(0);
    expect(report.ticket.resumed).toBe(report.ticket.offered);
    expect(report.sessionId.resumed).toBe(report.sessionId.offered);
  });
});
