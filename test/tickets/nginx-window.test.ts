/**
 * Debian's nginx across three rotations inside the decrypt window, with the
 * README's three-file nginx.conf (`nginx:DIR`) and with the include layout
 * (`nginx-include:DIR`): nginx decides which tickets resume, and
 * `sessctl explain --ring` must say the same for every one of them. Then
 * the reload that fails while nginx is stopped: retried by the next runs
 * until it succeeds.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { currentKey } from '../../src/lib/tickets/ring.js';
import { requireTool, runCli, tempDir } from '../helpers/env.js';
import { handshake, startNginxWithRing, ticketKeyName, type NginxWithRing } from './tls-probe.js';

const hasNginx = requireTool('nginx', 'nginx') && requireTool('openssl', 'openssl');

describe.skipIf(!hasNginx)('nginx: three rotations inside --keep', () => {
  const tmp = tempDir('sessctl-nginx-window-');
  const servers: NginxWithRing[] = [];
  afterAll(() => {
    for (const s of servers) s.stop();
    tmp.cleanup();
  });

  const cases = [
    // The three slots hold current, one previous and next: tickets of the two older keys get full handshakes.
    { layout: 'nginx' as const, resumes: [false, false, true, true] },
    { layout: 'nginx-include' as const, resumes: [true, true, true, true] },
  ];
  for (const { layout, resumes } of cases) {
    it(`${layout}:DIR: nginx resumes ${resumes.filter(Boolean).length} of 4 tickets, and explain --ring agrees on each`, async () => {
      const dir = path.join(tmp.dir, layout);
      await import('node:fs/promises').then((fs) => fs.mkdir(dir));
      const server = await startNginxWithRing(dir, { layout, keep: '1h' });
      servers.push(server);
      const p = (name: string): string => path.join(dir, name);
      const sessions: string[] = [];
      let lastSummary = '';
      for (let i = 0; i < 4; i++) {
        if (i > 0) {
          const before = server.ring();
          lastSummary = await server.rotate();
          expect(currentKey(server.ring()).name).not.toEqual(currentKey(before).name);
        }
        expect(handshake(server.port, { sessOut: p(`s${i}.pem`) })).toBe('New');
        expect(ticketKeyName(p(`s${i}.pem`))).toBe(currentKey(server.ring()).name.toString('hex'));
        sessions.push(p(`s${i}.pem`));
      }
      // Every key is still inside the one-hour window.
      expect(server.ring().keys.filter((k) => k.state === 'previous')).toHaveLength(3);
      const nginxSays: boolean[] = [];
      const explainSays: boolean[] = [];
      for (const s of sessions) {
        nginxSays.push(handshake(server.port, { sessIn: s }) === 'Reused');
        const e = await runCli(['explain', '--in', s, '--ring', 'ring.json', '--json'], { cwd: dir });
        const verdict = JSON.parse(e.stdout).verdict;
        expect(['resumes', 'will-not-resume'], e.stdout).toContain(verdict);
        expect(e.code).toBe(verdict === 'resumes' ? 0 : 4);
        explainSays.push(verdict === 'resumes');
      }
      expect(nginxSays).toEqual(resumes);
      expect(explainSays).toEqual(nginxSays);
      if (layout === 'nginx') {
        // The summary names the keys the three slots cannot hold.
        expect(lastSummary).toMatch(/nginx:tickets cannot hold [0-9a-f]{8} \(previous until [^)]+\), [0-9a-f]{8} \(previous until [^)]+\): its servers give those tickets full handshakes/);
        const get = await runCli(['get', '--in', sessions[0]!, '--ring', 'ring.json', '--json'], { cwd: dir });
        expect(JSON.parse(get.stdout).ticketInspection.ring).toMatchObject({ known: true, state: 'previous', notHeldBy: ['nginx:tickets'], resumes: false });
      } else {
        expect(existsSync(p('tickets/previous-3.key'))).toBe(true);
        expect(lastSummary).not.toMatch(/cannot hold/);
      }
    });
  }
});

describe.skipIf(!hasNginx)('nginx stopped: the failed reload is retried until it succeeds', () => {
  const tmp = tempDir('sessctl-nginx-retry-');
  let server: NginxWithRing | undefined;
  afterAll(() => {
    server?.stop();
    tmp.cleanup();
  });

  it('fails, is retried by the next (not due) runs and said so, succeeds once nginx runs, then "not due"', async () => {
    const dir = tmp.dir;
    server = await startNginxWithRing(dir, { keep: '1h' });
    const reload = ['--exec', `${server.nginxArgs.join(' ')} -s reload`];
    server.stop();

    const first = await runCli([...server.rotateArgs, '--if-older-than', '0s', ...reload], { cwd: dir });
    expect(first.code).toBe(1);
    expect(first.stdout).toMatch(/^rotated ring ring\.json: .*; exec failed: exited 1: .*; still pending since /);
    expect(first.stderr).toMatch(/^sessctl: --exec exited 1: /);
    const rotatedTo = currentKey(server.ring()).name.toString('hex');
    expect(server.ring().pending).toHaveLength(1);

    // Not due, but the reload is pending: redone, fails again, still exit 1.
    const second = await runCli([...server.rotateArgs, '--if-older-than', '1h', ...reload], { cwd: dir });
    expect(second.code).toBe(1);
    expect(second.stdout).toMatch(/^redid the steps pending since .*; not due: current [0-9a-f]{8} .*; exec failed: exited 1: .*; still pending since /);
    expect(currentKey(server.ring()).name.toString('hex')).toBe(rotatedTo);

    await server.start();
    const third = await runCli([...server.rotateArgs, '--if-older-than', '1h', ...reload], { cwd: dir });
    expect(third.stdout).toMatch(/^redid the steps pending since .*; exec ok$/m);
    expect(third.code).toBe(0);
    expect(server.ring().pending).toBeUndefined();
    // nginx runs with the ring's keys.
    expect(handshake(server.port, { sessOut: path.join(dir, 's.pem') })).toBe('New');
    expect(ticketKeyName(path.join(dir, 's.pem'))).toBe(rotatedTo);

    const fourth = await runCli([...server.rotateArgs, '--if-older-than', '1h', ...reload], { cwd: dir });
    expect(fourth.stdout).toMatch(/^not due: /);
    expect(fourth.code).toBe(10);
  });
});
