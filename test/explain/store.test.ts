/**
 * `sessctl explain` against real session-ID resumption: Node TLS servers
 * (examples/tls-server.js) keep their sessions in one cache file, openssl
 * s_client -tls1_2 -no_ticket holds the client side. Every verdict is checked
 * against what the server then really does with the session (Reused / New).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireTool, runCli, tempDir } from '../helpers/env.js';
import { waitFor } from '../tickets/tls-probe.js';
import { sClient, startExampleServer, type ExampleServer } from '../tls/peers.js';

const hasOpenssl = requireTool('openssl', 'openssl');
const TLS12_IDS = ['-tls1_2', '-no_ticket'];

describe.skipIf(!hasOpenssl)('explain: sessions in a server cache', () => {
  const tmp = tempDir('sessctl-explain-store-');
  const p = (name: string): string => path.join(tmp.dir, name);
  const store = p('sessions.db');
  const servers: ExampleServer[] = [];
  let demo: ExampleServer; // context "demo"
  let other: ExampleServer; // the same cache, context "other"
  let short: ExampleServer; // context "demo", sessions live 1 s

  async function explain(args: string[]): Promise<{ code: number; json: any; stderr: string }> {
    const r = await runCli(['explain', ...args, '--json']);
    return { code: r.code, json: r.stdout ? JSON.parse(r.stdout) : undefined, stderr: r.stderr };
  }

  async function newSession(server: ExampleServer, file: string): Promise<string> {
    const r = await sClient(server.port, [...TLS12_IDS, '-sess_out', file]);
    expect(r.outcome, r.output).toBe('New');
    return r.sessionId!;
  }

  async function resume(server: ExampleServer, file: string): Promise<string | undefined> {
    return (await sClient(server.port, [...TLS12_IDS, '-sess_in', file])).outcome;
  }

  beforeAll(async () => {
    const common = ['--store', store, '--no-tickets', '--tls-max', '1.2'];
    [demo, other, short] = await Promise.all([
      startExampleServer([...common, '--session-id-context', 'demo']),
      startExampleServer([...common, '--session-id-context', 'other']),
      startExampleServer([...common, '--session-id-context', 'demo', '--session-timeout', '1']),
    ]);
    servers.push(demo, other, short);
  });

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()));
    tmp.cleanup();
  });

  it('resumable: a live server session under the server\'s context (and the server does resume it)', async () => {
    const id = await newSession(demo, p('live.pem'));
    const r = await explain(['--in', p('live.pem'), '--store', store, '--session-id-context', 'demo']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.verdict).toBe('resumes');
    expect(r.json.reasons.map((x: { code: string }) => x.code)).toEqual(['live-in-store']);
    expect(r.json.evidence.lookup).toMatchObject({ key: id, found: true, entry: { role: 'server', masterKeyMatches: true, sessionIdContext: { ascii: 'demo' } } });
    expect(await resume(demo, p('live.pem'))).toBe('Reused');

    const text = await runCli(['explain', '--in', p('live.pem'), '--store', store, '--session-id-context', 'demo']);
    expect(text.code).toBe(0);
    expect(text.stdout.split('\n')[0]).toMatch(/^resumes: /);
    expect(text.stdout).toContain('Evidence:');
  });

  it('context mismatch: a server with another session-id context will not resume it (and does not)', async () => {
    await newSession(demo, p('ctx.pem'));
    const r = await explain(['--in', p('ctx.pem'), '--store', store, '--session-id-context', 'other']);
    expect(r.code).toBe(4);
    expect(r.json.verdict).toBe('will-not-resume');
    expect(r.json.reasons.map((x: { code: string }) => x.code)).toEqual(['context-mismatch']);
    expect(r.json.reasons[0].message).toMatch(/"demo".*"other"/);
    expect(await resume(other, p('ctx.pem'))).toBe('New');
    // The same session, asked for the right context, still resumes on the first server.
    expect((await explain(['--in', p('ctx.pem'), '--store', store, '--session-id-context', 'demo'])).code).toBe(0);
    expect(await resume(demo, p('ctx.pem'))).toBe('Reused');
  });

  it('unknown id: removed from the store, so not resumed (by --in and by id)', async () => {
    const id = await newSession(demo, p('gone.pem'));
    const removed = await runCli(['remove', id, '--store', store]);
    expect(removed.code, removed.stderr).toBe(0);
    const r = await explain(['--in', p('gone.pem'), '--store', store, '--session-id-context', 'demo']);
    expect(r.code).toBe(4);
    expect(r.json.reasons.map((x: { code: string }) => x.code)).toEqual(['not-in-store']);
    expect(r.json.evidence.lookup).toEqual({ key: id, found: false, entry: null });
    const byId = await explain([id, '--store', store]);
    expect(byId.code).toBe(4);
    expect(byId.json.reasons[0].code).toBe('not-in-store');
    expect(byId.json.evidence.held).toBeNull();
    expect(await resume(demo, p('gone.pem'))).toBe('New');
  });

  it('expired: says since when; the server no longer resumes it', async () => {
    await newSession(short, p('short.pem'));
    const before = await explain(['--in', p('short.pem'), '--store', store, '--session-id-context', 'demo']);
    const expires = before.json.evidence.lookup.entry.expires.at as string;
    const expiresAt = Date.parse(expires) / 1000;
    await waitFor('the 1 s session to expire', () => Date.now() / 1000 >= expiresAt + 1, 5000);
    const r = await explain(['--in', p('short.pem'), '--store', store, '--session-id-context', 'demo']);
    expect(r.code).toBe(4);
    expect(r.json.reasons.map((x: { code: string }) => x.code)).toEqual(['expired']);
    expect(r.json.reasons[0].message).toContain(`expired at ${expires}`);
    expect(r.json.evidence.lookup.entry.expired).toBe(true);
    // Judged at a time before expiry (--now), the same session resumes.
    const then = await explain(['--in', p('short.pem'), '--store', store, '--session-id-context', 'demo', '--now', String(expiresAt - 1)]);
    expect(then.json.verdict).toBe('resumes');
    expect(await resume(short, p('short.pem'))).toBe('New');
    // The server dropped the expired session when the client offered it.
    expect((await explain(['--in', p('short.pem'), '--store', store])).json.reasons[0].code).toBe('not-in-store');
  });

  it('bad input is one line and a usage error', async () => {
    const neither = await runCli(['explain', '--store', store]);
    expect(neither.code).toBe(2);
    expect(neither.stderr.trim().split('\n')).toHaveLength(1);
    const longContext = await runCli(['explain', '--in', p('live.pem'), '--store', store, '--session-id-context', 'x'.repeat(40)]);
    expect(longContext.code).toBe(2);
    expect(longContext.stderr).toMatch(/at most 32/);
    const badNow = await runCli(['explain', '--in', p('live.pem'), '--store', store, '--now', 'yesterday']);
    expect(badNow.code).toBe(2);
    const notSession = await runCli(['explain', '--in', store, '--store', store]);
    expect(notSession.code).toBe(1);
    expect(notSession.stderr).not.toMatch(/\n\s+at /);
  });
});
