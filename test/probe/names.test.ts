/**
 * sessctl probe --sni a --sni b against nginx serving two names from one
 * ticket key (a session made for one virtual host resumes on the other: a
 * finding), and --reuse-after against nginx whose sessions live 1 s.
 */
import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeReport } from '../../src/lib/probe/types.js';
import { requireTool, runCli, tempDir } from '../helpers/env.js';
import { startNginx, type NginxServer } from '../helpers/nginx.js';
import { makeCertificate } from '../helpers/servers.js';

const has = requireTool('nginx', 'nginx') && requireTool('openssl', 'openssl');

describe.skipIf(!has)('probe: server names and lifetimes (nginx)', () => {
  const tmp = tempDir('sessctl-probe-names-');
  let named: NginxServer;
  let shortLived: NginxServer;

  beforeAll(async () => {
    const { cert, key } = makeCertificate(tmp.dir, ['a.test', 'b.test', '127.0.0.1']);
    const ticketKey = path.join(tmp.dir, 'ticket.key');
    writeFileSync(ticketKey, randomBytes(48), { mode: 0o600 });
    [named, shortLived] = await Promise.all([
      startNginx(path.join(tmp.dir, 'named'), { cert, key, ticketKeys: [ticketKey], serverNames: ['a.test', 'b.test'], sessionCache: 'shared:names:1m' }),
      startNginx(path.join(tmp.dir, 'short'), { cert, key, directives: ['ssl_session_timeout 1s;'] }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([named?.stop(), shortLived?.stop()]);
    tmp.cleanup();
  });

  it('two names sharing a ticket key and a cache: each name resumes the other\'s sessions, named as a finding, exit 4', async () => {
    const r = await runCli(['probe', `127.0.0.1:${named.port}`, '--sni', 'a.test', '--sni', 'b.test', '--insecure', '--connections', '2', '--tls', '1.2', '--json']);
    const report = JSON.parse(r.stdout) as ProbeReport;
    expect(r.code).toBe(4);
    expect(report.crossName).toEqual([
      { target: `127.0.0.1:${named.port}`, from: 'a.test', to: 'b.test', kind: 'ticket', resumed: true },
      { target: `127.0.0.1:${named.port}`, from: 'b.test', to: 'a.test', kind: 'ticket', resumed: true },
      { target: `127.0.0.1:${named.port}`, from: 'a.test', to: 'b.test', kind: 'session-id', resumed: true },
      { target: `127.0.0.1:${named.port}`, from: 'b.test', to: 'a.test', kind: 'session-id', resumed: true },
    ]);
    expect(report.message).toBe(
      `127.0.0.1:${named.port} resumed a session made for a.test under the name b.test (by ticket): sessions meant for one virtual host resume on another`,
    );
    const crossed = report.connections.filter((c) => c.phase === 'cross-name' && c.offered !== null);
    expect(crossed.map((c) => [c.offered!.madeFor, c.sni])).toContainEqual(['a.test', 'b.test']);
    // Cross-name offers are not counted as the fleet's resumption.
    expect(report.ticket.offered).toBe(1);
  });

  it('--reuse-after past the session lifetime: the tickets offered again are refused, exit 4, and the wait is announced', async () => {
    const r = await runCli(['probe', `127.0.0.1:${shortLived.port}`, '--insecure', '--connections', '2', '--tls', '1.2', '--reuse-after', '3s', '--json']);
    const report = JSON.parse(r.stdout) as ProbeReport;
    expect(r.stderr).toBe('sessctl: waiting 3 s before offering the sessions again (--reuse-after)\n');
    expect(report.keyGroups[0]!.lifetimeHints).toEqual([1]);
    const later = report.connections.filter((c) => c.phase === 'later');
    expect(later.length).toBeGreaterThan(0);
    expect(later.some((c) => c.offered?.kind === 'ticket' && !c.resumed)).toBe(true);
    expect(r.code).toBe(4);
    expect(report.message).toMatch(/^after 3 s, \d of \d sessions offered again did not resume \(ticket [0-9a-f]{8}… on 127\.0\.0\.1:\d+/);
  });

  it('--reuse-after within the lifetime: still resumed, exit 0', async () => {
    const r = await runCli(['probe', `127.0.0.1:${named.port}`, '--insecure', '--connections', '2', '--tls', '1.2', '--reuse-after', '1', '--json']);
    const report = JSON.parse(r.stdout) as ProbeReport;
    expect(report.connections.filter((c) => c.phase === 'later').every((c) => c.resumed)).toBe(true);
    expect(r.code).toBe(0);
  });
});
