/**
 * probe --ring judges a key by what the servers were given, as explain and
 * get do: two Debian nginx read the three files of one `nginx:DIR` output;
 * after two rotations inside --keep, only one is reloaded. The other still
 * encrypts under the oldest key, which the ring keeps for its window but
 * nginx:DIR no longer holds (recorded in the ring's notHeldBy). nginx is the
 * judge: the reloaded one gives that ticket a full handshake. rotate-keys
 * --check --probe names the same cause.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Explanation } from '../../src/lib/explain/types.js';
import type { ProbeReport } from '../../src/lib/probe/types.js';
import { currentKey, decodeRing, findKey, type KeyRing } from '../../src/lib/tickets/ring.js';
import { requireTool, runCli, tempDir } from '../helpers/env.js';
import { startNginx, type NginxServer } from '../helpers/nginx.js';
import { makeCertificate } from '../helpers/servers.js';
import { handshake, ticketKeyName } from '../tickets/tls-probe.js';

const has = requireTool('nginx', 'nginx') && requireTool('openssl', 'openssl');

describe.skipIf(!has)('probe --ring: a key the ring keeps but nginx:DIR no longer gives its servers', () => {
  const tmp = tempDir('sessctl-probe-not-held-');
  const dir = tmp.dir;
  const p = (...parts: string[]): string => path.join(dir, ...parts);
  const ring = (): KeyRing => decodeRing(readFileSync(p('ring.json')), 'ring.json');
  const rotate = ['rotate-keys', '--ring', 'ring.json', '--write', 'nginx:tickets', '--keep', '1h'];
  let stale: NginxServer;
  let reloaded: NginxServer;
  let oldest: string;

  beforeAll(async () => {
    mkdirSync(p('tickets'));
    const created = await runCli(rotate, { cwd: dir });
    if (created.code !== 0) throw new Error(`rotate-keys: ${created.stderr}`);
    oldest = currentKey(ring()).name.toString('hex');
    const { cert, key } = makeCertificate(dir, ['localhost', '127.0.0.1']);
    const ticketKeys = ['current', 'previous', 'next'].map((s) => p('tickets', `${s}.key`));
    [stale, reloaded] = await Promise.all([
      startNginx(p('nginx-stale'), { cert, key, ticketKeys, protocols: 'TLSv1.2' }),
      startNginx(p('nginx-reloaded'), { cert, key, ticketKeys, protocols: 'TLSv1.2' }),
    ]);
    for (let i = 0; i < 2; i++) {
      const r = await runCli(rotate, { cwd: dir });
      if (r.code !== 0) throw new Error(`rotate-keys: ${r.stderr}`);
      await reloaded.reload();
    }
  }, 60_000);

  afterAll(async () => {
    await Promise.all([stale?.stop(), reloaded?.stop()]);
    tmp.cleanup();
  });

  it('the ring keeps the oldest key as previous, and records that nginx:tickets does not hold it', () => {
    const key = findKey(ring(), Buffer.from(oldest, 'hex'));
    expect(key?.state).toBe('previous');
    expect(key?.notHeldBy).toEqual(['nginx:tickets']);
  });

  it('names the stale server\'s key as not given to nginx:tickets, and explains its refused ticket in explain\'s words', async () => {
    const staleLabel = `127.0.0.1:${stale.port}`;
    const reloadedLabel = `127.0.0.1:${reloaded.port}`;
    const r = await runCli(['probe', staleLabel, reloadedLabel, '--insecure', '--connections', '2', '--ring', 'ring.json', '--json'], { cwd: dir });
    const report = JSON.parse(r.stdout) as ProbeReport;
    expect(r.code, r.stderr).toBe(4);
    const groups = Object.fromEntries(report.keyGroups.map((g) => [g.keyName, g]));
    expect(groups[oldest]).toMatchObject({ targets: [staleLabel], ring: 'previous', notHeldBy: ['nginx:tickets'] });
    expect(groups[currentKey(ring()).name.toString('hex')]).toMatchObject({ targets: [reloadedLabel], ring: 'current', notHeldBy: null });
    const finding = report.findings.find((f) => f.code === 'ring-not-held');
    expect(finding?.message).toBe(
      `${staleLabel} still encrypts tickets under ${oldest.slice(0, 8)}…, the previous key of the ring ring.json, which the servers of nginx:tickets were not given (fewer key slots than the decrypt window): it was not reloaded after the last rotations, and servers that were give its tickets full handshakes`,
    );
    expect(finding?.breaks).toBe(true);
    expect(report.findings.map((f) => f.code)).not.toContain('ring-previous');

    // The stale server's ticket offered to the reloaded one: nginx gives it a full handshake, and probe says why as explain does.
    const cell = report.matrix.find((m) => m.from === staleLabel && m.to === reloadedLabel);
    expect(cell?.ticket).toBe(false);
    const offer = report.connections.find((c) => c.phase === 'matrix' && c.target === reloadedLabel && c.offered?.kind === 'ticket');
    expect(offer?.offered?.keyName).toBe(oldest);
    expect(offer?.resumed).toBe(false);
    const why = `the ticket's key ${oldest} is the ring's previous key, but the servers of nginx:tickets were not given it (fewer key slots than the decrypt window): they give the ticket a full handshake`;
    expect(offer?.why).toBe(why);

    // explain --ring, on a session s_client got from the stale server, gives the same reason; the reloaded nginx agrees.
    expect(handshake(stale.port, { sessOut: p('stale.pem') })).toBe('New');
    expect(ticketKeyName(p('stale.pem'))).toBe(oldest);
    expect(handshake(reloaded.port, { sessIn: p('stale.pem') })).toBe('New');
    expect(handshake(stale.port, { sessIn: p('stale.pem') })).toBe('Reused');
    const e = await runCli(['explain', '--in', 'stale.pem', '--ring', 'ring.json', '--json'], { cwd: dir });
    const explanation = JSON.parse(e.stdout) as Explanation;
    expect(e.code).toBe(4);
    expect(explanation.reasons).toEqual([{ code: 'ticket-key-not-held', message: why }]);
    expect(explanation.evidence.ticket?.key).toMatchObject({ known: true, state: 'previous' });
  });

  it('rotate-keys --check --probe says the same of the stale server: not reloaded, and its key no longer given to nginx:tickets', async () => {
    const staleLabel = `127.0.0.1:${stale.port}`;
    const r = await runCli(['rotate-keys', '--ring', 'ring.json', '--write', 'nginx:tickets', '--check', '--probe', staleLabel, '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(4);
    const report = JSON.parse(r.stdout) as { drifts: { target: string; code: string; message: string }[] };
    const drift = report.drifts.find((d) => d.target === staleLabel);
    expect(drift?.code).toBe('stale-encrypting-key');
    expect(drift?.message).toMatch(
      new RegExp(`^${staleLabel.replace(/\./g, '\\.')}: encrypts under the ring's previous key ${oldest.slice(0, 8)}: not reloaded since the rotation at \\S+, which the servers of nginx:tickets are no longer given \\(fewer key slots than the decrypt window\\): servers that were reloaded give its tickets full handshakes$`),
    );
    // The reloaded server is consistent with the ring: no drift named after it.
    const fine = await runCli(['rotate-keys', '--ring', 'ring.json', '--write', 'nginx:tickets', '--check', '--probe', `127.0.0.1:${reloaded.port}`, '--json'], { cwd: dir });
    expect(fine.code, fine.stdout).toBe(0);
  });
});
