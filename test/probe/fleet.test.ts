/**
 * sessctl probe against Debian's nginx with ticket keys written by
 * rotate-keys, alone (TLS 1.2 and 1.3) and as a fleet of two behind HAProxy
 * in TCP mode with round robin: split keys (two key groups, exit 4) and
 * shared keys (one group, exit 0); then a backend that was not reloaded
 * after a rotation (its key is the ring's previous one).
 */
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeReport } from '../../src/lib/probe/types.js';
import { currentKey, decodeRing, type KeyRing } from '../../src/lib/tickets/ring.js';
import { requireTool, runCli, tempDir } from '../helpers/env.js';
import { startTcpRoundRobin, type TcpBalancer } from '../helpers/haproxy.js';
import { startNginx, type NginxServer } from '../helpers/nginx.js';
import { makeCertificate } from '../helpers/servers.js';

const has = requireTool('nginx', 'nginx') && requireTool('haproxy', 'haproxy') && requireTool('openssl', 'openssl');

describe.skipIf(!has)('probe: nginx fleets behind HAProxy', () => {
  const tmp = tempDir('sessctl-probe-fleet-');
  const dir = tmp.dir;
  const p = (...parts: string[]): string => path.join(dir, ...parts);
  const slots = (ring: string): string[] => ['current', 'previous', 'next'].map((s) => p(ring, 'tickets', `${s}.key`));
  const ring = (name: string): KeyRing => decodeRing(readFileSync(p(name, 'ring.json')), name);
  let a: NginxServer;
  let b: NginxServer;
  let c: NginxServer;
  let split: TcpBalancer;
  let shared: TcpBalancer;

  const probe = async (args: string[]): Promise<{ code: number; report: ProbeReport; stderr: string }> => {
    const r = await runCli(['probe', ...args, '--insecure', '--json', '--timeout', '5s'], { cwd: dir });
    return { code: r.code, report: JSON.parse(r.stdout) as ProbeReport, stderr: r.stderr };
  };

  beforeAll(async () => {
    const { cert, key } = makeCertificate(dir, ['localhost', '127.0.0.1']);
    for (const name of ['a', 'b']) {
      mkdirSync(p(name, 'tickets'), { recursive: true });
      const r = await runCli(['rotate-keys', '--ring', `${name}/ring.json`, '--write', `nginx:${name}/tickets`], { cwd: dir });
      if (r.code !== 0) throw new Error(`rotate-keys: ${r.stderr}`);
    }
    [a, b, c] = await Promise.all([
      startNginx(p('nginx-a'), { cert, key, ticketKeys: slots('a') }),
      startNginx(p('nginx-b'), { cert, key, ticketKeys: slots('b') }),
      startNginx(p('nginx-c'), { cert, key, ticketKeys: slots('a') }),
    ]);
    [split, shared] = await Promise.all([startTcpRoundRobin(dir, 'split', [a.port, b.port]), startTcpRoundRobin(dir, 'shared', [a.port, c.port])]);
  });

  afterAll(async () => {
    await Promise.all([split?.stop(), shared?.stop(), a?.stop(), b?.stop(), c?.stop()]);
    tmp.cleanup();
  });

  it('one nginx with rotate-keys keys: one key group, the ring\'s current key, tickets resumed under TLS 1.2 and 1.3', async () => {
    const { code, report } = await probe([`127.0.0.1:${a.port}`, '--tls', 'both', '--connections', '4', '--ring', 'a/ring.json']);
    expect(report.message).toMatch(/^clients resume on 127\.0\.0\.1:\d+: every ticket resumed/);
    expect(code).toBe(0);
    expect(report.verdict).toBe('resumes');
    expect(report.keyGroups).toHaveLength(1);
    expect(report.keyGroups[0]).toMatchObject({ keyName: currentKey(ring('a')).name.toString('hex'), ring: 'current', targets: [`127.0.0.1:${a.port}`] });
    for (const protocol of ['TLSv1.2', 'TLSv1.3']) {
      const offers = report.connections.filter((x) => x.protocol === protocol && x.offered?.kind === 'ticket');
      expect(offers.length).toBeGreaterThan(0);
      expect(offers.every((x) => x.resumed)).toBe(true);
    }
    // nginx sends no new ticket on a resumed TLS 1.2 connection, one on a resumed TLS 1.3 one (docs/ of this project: DESIGN facts, checked here).
    expect(report.connections.filter((x) => x.protocol === 'TLSv1.2' && x.resumed).every((x) => !x.ticketReissued)).toBe(true);
    expect(report.connections.filter((x) => x.protocol === 'TLSv1.3' && x.resumed).every((x) => x.ticketReissued)).toBe(true);
    // ssl_session_cache off: no session ID without a ticket, reported as a fact, not a failure.
    expect(report.findings.map((f) => f.code)).toContain('no-session-cache');
    expect(report.ticket.resumed).toBe(report.ticket.offered);
  });

  it('two backends with their own keys behind round robin: two key groups, broken, exit 4, the split named (text, JSON and Prometheus)', async () => {
    const { code, report } = await probe([`127.0.0.1:${split.port}`, '--prometheus', 'split.prom', '--ring', 'a/ring.json']);
    expect(code).toBe(4);
    expect(report.verdict).toBe('broken');
    const names = report.keyGroups.map((g) => g.keyName).sort();
    expect(names).toEqual([currentKey(ring('a')).name.toString('hex'), currentKey(ring('b')).name.toString('hex')].sort());
    expect(report.message).toMatch(new RegExp(`^the backends of 127\\.0\\.0\\.1:${split.port} encrypt tickets under 2 different keys`));
    // The offers crossed backends both ways: some resumed (same backend), some did not.
    expect(report.ticket.resumed).toBeGreaterThan(0);
    expect(report.ticket.resumed).toBeLessThan(report.ticket.offered);
    for (const x of report.connections) expect(x.ticketKeyNames.every((k) => names.includes(k))).toBe(true);
    // Each refused offer carries explain's reason against the ring: b's key is not in a's ring; a's ticket on b is one the ring would resume.
    const refused = report.connections.filter((x) => x.offered?.kind === 'ticket' && !x.resumed);
    expect(refused.length).toBeGreaterThan(0);
    for (const x of refused) {
      if (x.offered!.keyName === currentKey(ring('a')).name.toString('hex')) expect(x.why).toMatch(/^the ring would resume it \(the ticket is under the current key .*\), so this server does not use the ring's keys$/);
      else expect(x.why).toMatch(/^the ticket's key [0-9a-f]{32} is not in the ring a\/ring\.json/);
    }
    expect(report.keyGroups.map((g) => g.ring).sort()).toEqual(['current', 'unknown']);

    const prom = readFileSync(p('split.prom'), 'utf8');
    expect(prom).toContain(`sessctl_probe_ticket_key_groups{targets="127.0.0.1:${split.port}"} 2`);
    expect(prom).toContain(`sessctl_probe_verdict{targets="127.0.0.1:${split.port}",verdict="broken"} 1`);
    expect(statSync(p('split.prom')).mode & 0o777).toBe(0o644);

    const text = await runCli(['probe', `127.0.0.1:${split.port}`, '--insecure'], { cwd: dir });
    expect(text.code).toBe(4);
    expect(text.stdout.split('\n')[0]).toMatch(/^broken: the backends of .* encrypt tickets under 2 different keys \([0-9a-f]{8}… on \d+ connections, [0-9a-f]{8}… on \d+ connections\)/);
  });

  it('two backends with the same keys behind round robin: one key group, exit 0', async () => {
    const { code, report } = await probe([`127.0.0.1:${shared.port}`, '--ring', 'a/ring.json']);
    expect(report.keyGroups.map((g) => [g.keyName, g.ring])).toEqual([[currentKey(ring('a')).name.toString('hex'), 'current']]);
    expect(code).toBe(0);
    expect(report.ticket.resumed).toBe(report.ticket.offered);
    // Both backends answered (two peers would be one address; the round robin shows in nginx's two processes: checked by the split case).
  });

  it('a backend not reloaded after a rotation is named: it still encrypts under the ring\'s previous key; after a reload, current', async () => {
    const before = currentKey(ring('a')).name.toString('hex');
    const rotated = await runCli(['rotate-keys', '--ring', 'a/ring.json', '--write', 'nginx:a/tickets'], { cwd: dir });
    expect(rotated.code).toBe(0);
    const stale = await probe([`127.0.0.1:${a.port}`, '--ring', 'a/ring.json']);
    expect(stale.code).toBe(4);
    expect(stale.report.keyGroups.map((g) => [g.keyName, g.ring])).toEqual([[before, 'previous']]);
    expect(stale.report.message).toBe(
      `127.0.0.1:${a.port} still encrypts tickets under ${before.slice(0, 8)}…, the previous key of the ring a/ring.json: it was not reloaded after the last rotation`,
    );
    const unknown = await probe([`127.0.0.1:${b.port}`, '--ring', 'a/ring.json']);
    expect(unknown.code).toBe(4);
    expect(unknown.report.keyGroups[0]!.ring).toBe('unknown');
    expect(unknown.report.message).toMatch(/a key that is not in the ring a\/ring\.json/);
    // Offers under a key the ring does not hold are explained in explain's words when they fail: none fail here (b resumes its own).

    await a.reload();
    const fresh = await probe([`127.0.0.1:${a.port}`, '--ring', 'a/ring.json']);
    expect(fresh.code).toBe(0);
    expect(fresh.report.keyGroups.map((g) => g.ring)).toEqual(['current']);
  });
});
