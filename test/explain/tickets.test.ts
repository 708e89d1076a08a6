/**
 * `sessctl explain` on real nginx tickets: nginx takes its
 * ssl_session_ticket_key files from `rotate-keys --write nginx:DIR`; the
 * client's session comes from openssl s_client -sess_out. The verdicts
 * (current key, previous key, retired key, unknown key, context mismatch)
 * are checked against what nginx then does with the ticket where the two
 * can be compared.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { currentKey, type KeyRing } from '../../src/lib/tickets/ring.js';
import { requireTool, runCli, tempDir } from '../helpers/env.js';
import { handshake, startNginxWithRing, ticketKeyName, waitFor, type NginxWithRing } from '../tickets/tls-probe.js';

const hasNginx = requireTool('nginx', 'nginx') && requireTool('openssl', 'openssl');

describe.skipIf(!hasNginx)('explain: nginx session tickets and the ring', () => {
  const tmp = tempDir('sessctl-explain-nginx-');
  const dir = tmp.dir;
  const p = (name: string): string => path.join(dir, name);
  let server: NginxWithRing;
  let port = 0;
  const ring = (): KeyRing => server.ring();
  const rotate = (): Promise<void> => server.rotate();

  async function explain(args: string[]): Promise<{ code: number; json: any }> {
    const r = await runCli(['explain', ...args, '--ring', p('ring.json'), '--json'], { cwd: dir });
    expect(r.stderr).toBe('');
    return { code: r.code, json: JSON.parse(r.stdout) };
  }
  const reasonCodes = (json: { reasons: { code: string }[] }): string[] => json.reasons.map((r) => r.code);

  beforeAll(async () => {
    server = await startNginxWithRing(dir);
    port = server.port;
  });

  afterAll(() => {
    server?.stop();
    tmp.cleanup();
  });

  it('ticket under the current key: resumes (and nginx resumes it); the context inside is nginx\'s', async () => {
    expect(handshake(port, { sessOut: p('s0.pem') })).toBe('New');
    const r = await explain(['--in', p('s0.pem')]);
    expect(r.code).toBe(0);
    expect(r.json.verdict).toBe('resumes');
    expect(reasonCodes(r.json)).toEqual(['ticket-key-live']);
    expect(r.json.evidence.ticket).toMatchObject({
      keyName: currentKey(ring()).name.toString('hex'),
      format: 'openssl',
      key: { known: true, state: 'current' },
      mac: 'valid',
      inside: { protocol: 'TLSv1.2', masterKeyMatches: true },
    });
    expect(handshake(port, { sessIn: p('s0.pem') })).toBe('Reused');
    // The ring may come from $SESSCTL_RING (or the config file) instead of --ring.
    const viaEnv = await runCli(['explain', '--in', p('s0.pem'), '--json'], { cwd: dir, env: { SESSCTL_RING: p('ring.json') } });
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    expect(JSON.parse(viaEnv.stdout).evidence.server.ring).toBe(p('ring.json'));

    // nginx's own session-id context is inside the ticket: the same context passes, another does not.
    const inside = r.json.evidence.ticket.inside.sessionIdContext as { hex: string };
    expect((await explain(['--in', p('s0.pem'), '--session-id-context', `hex:${inside.hex}`])).json.verdict).toBe('resumes');
    const wrong = await explain(['--in', p('s0.pem'), '--session-id-context', 'another-server']);
    expect(wrong.code).toBe(4);
    expect(reasonCodes(wrong.json)).toEqual(['context-mismatch']);
  });

  it('after one rotation the ticket is under the previous key: resumes (and nginx resumes it)', async () => {
    await rotate();
    // The window is 1 s (so the next test need not wait long): judge at the rotation's moment.
    const demotedAt = ring().keys.find((k) => k.name.toString('hex') === ticketKeyName(p('s0.pem')))!.demotedAt!;
    const r = await explain(['--in', p('s0.pem'), '--now', String(demotedAt)]);
    expect(r.code).toBe(0);
    expect(r.json.evidence.ticket.key.state).toBe('previous');
    expect(r.json.notes.map((n: { code: string }) => n.code)).toContain('ticket-renewed');
    expect(handshake(port, { sessIn: p('s0.pem') })).toBe('Reused');
  });

  it('past the decrypt window the key is retired: will not resume; after the next rotation it is unknown, and nginx does not resume it', async () => {
    const demotedAt = ring().keys.find((k) => k.name.toString('hex') === ticketKeyName(p('s0.pem')))!.demotedAt!;
    await waitFor('the 1 s decrypt window to pass', () => Date.now() / 1000 >= demotedAt + 2, 5000);
    const retired = await explain(['--in', p('s0.pem')]);
    expect(retired.code).toBe(4);
    expect(retired.json.verdict).toBe('will-not-resume');
    expect(reasonCodes(retired.json)).toEqual(['ticket-key-retired']);
    expect(retired.json.evidence.ticket.key).toMatchObject({ known: true, state: 'retired' });

    await rotate();
    const unknown = await explain(['--in', p('s0.pem')]);
    expect(unknown.code).toBe(4);
    expect(reasonCodes(unknown.json)).toEqual(['ticket-key-unknown']);
    expect(handshake(port, { sessIn: p('s0.pem') })).toBe('New');

    const text = await runCli(['explain', '--in', p('s0.pem'), '--ring', p('ring.json')], { cwd: dir });
    expect(text.code).toBe(4);
    expect(text.stdout.split('\n')[0]).toMatch(/^will not resume: the ticket's key [0-9a-f]{32} is not in the ring/);
  });
});
