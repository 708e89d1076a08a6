/**
 * `sessctl get --in FILE --json` against every real vector's ground truth,
 * and bad input through the CLI: one line, non-zero exit, no stack.
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { runCli, tempDir, VECTORS as VECTOR_DIR } from '../helpers/env.js';
import { VECTORS } from '../session/vectors.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe.each(VECTORS)('get --in $name --json', ({ name, truth }) => {
  for (const ext of ['pem', 'der']) {
    test(`${ext}: every field matches the ground truth`, async () => {
      const file = path.join('test/fixtures/vectors', `${name}.${ext}`);
      const r = await runCli(['get', '--in', file, '--json', '--show-secrets']);
      expect(r.code, r.stderr).toBe(0);
      const v = JSON.parse(r.stdout);
      expect(v.protocol).toBe(truth.protocol);
      expect(v.cipher.opensslName).toBe(truth.cipher.openssl_name);
      expect(v.cipher.ianaName).toBe(truth.cipher.iana_name);
      expect(v.cipher.idHex.toUpperCase()).toBe(truth.cipher.id_hex);
      expect(v.sessionId.toUpperCase()).toBe(truth.session_id_hex);
      expect((v.sessionIdContext?.hex ?? '').toUpperCase()).toBe(truth.session_id_ctx_hex);
      expect(v.masterKey.toUpperCase()).toBe(truth.master_key_hex);
      expect(v.time.unix).toBe(truth.time);
      expect(v.timeout).toBe(truth.timeout);
      expect(v.sni).toBe(truth.sni);
      expect(v.alpn).toBe(truth.alpn);
      expect(v.peer !== null).toBe(truth.has_peer_cert);
      expect(v.peer?.subject ?? null).toBe(truth.peer_subject);
      expect(v.ticketLifetimeHint).toBe(truth.ticket_lifetime_hint);
      expect(v.ticket !== null).toBe(truth.has_ticket);
      if (truth.max_early_data !== null) expect(v.maxEarlyData).toBe(truth.max_early_data);
      expect(v.verifyResult.code).toBe(truth.extra.verify_result.code);
      expect(v.flags.extendedMasterSecret).toBe(truth.extra.extended_master_secret);
      expect(v.der.length).toBe(truth.extra.der_length);
      expect(v.der.sha256).toBe(truth.extra.der_sha256);
    });
  }

  test('masks the master key without --show-secrets', async () => {
    const r = await runCli(['get', '--in', path.join('test/fixtures/vectors', `${name}.pem`)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.toUpperCase()).not.toContain(truth.master_key_hex);
    expect(r.stdout).toContain('hidden');
  });
});

describe('get --in with bad input', () => {
  const real = VECTORS[0]!.der;
  const cases: [string, Buffer | string][] = [
    ['truncated DER', real.subarray(0, real.length - 7)],
    ['one byte', Buffer.from([0x30])],
    ['absurd length', Buffer.concat([Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), real.subarray(2, 64)])],
    ['trailing garbage', Buffer.concat([real, Buffer.from('garbage')])],
    ['1 MiB of random bytes', randomBytes(1024 * 1024)],
    ['10,000 nested SEQUENCE headers', Buffer.concat(Array.from({ length: 10_000 }, () => Buffer.from([0x30, 0x80])))],
    ['PEM with a wrong header', `-----BEGIN CERTIFICATE-----\n${real.toString('base64')}\n-----END CERTIFICATE-----\n`],
    ['PEM with broken base64', `-----BEGIN SSL SESSION PARAMETERS-----\n${real.toString('base64').slice(0, 50)}!!!$$\n-----END SSL SESSION PARAMETERS-----\n`],
    ['an empty file', ''],
  ];
  test.each(cases)('%s: one line on stderr, exit 1, no stack', async (label, data) => {
    const file = path.join(tmp.dir, `${label.replace(/\W+/g, '-')}.bin`);
    writeFileSync(file, data);
    const r = await runCli(['get', '--in', file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^sessctl: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stderr).not.toContain('internal error');
  });

  test('a missing file and a directory', async () => {
    const missing = await runCli(['get', '--in', path.join(tmp.dir, 'nope.pem')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim()).toMatch(/^sessctl: cannot read .*nope\.pem: no such file$/);
    const dir = await runCli(['get', '--in', tmp.dir]);
    expect(dir.code).toBe(1);
    expect(dir.stderr.trim()).toMatch(/is a directory$/);
  });

  test('an endless device is refused after a bounded read; a named pipe is read like a file', async () => {
    const zero = await runCli(['get', '--in', '/dev/zero']);
    expect(zero.code).toBe(1);
    expect(zero.stderr.trim()).toMatch(/^sessctl: \/dev\/zero is more than \d+ bytes: too large to be a session file$/);
    const fifo = path.join(tmp.dir, 'session.fifo');
    execFileSync('mkfifo', [fifo]);
    const writer = spawn('sh', ['-c', `cat '${path.join(VECTOR_DIR, `${VECTORS[1]!.name}.pem`)}' > '${fifo}'`]);
    const r = await runCli(['get', '--in', fifo, '--json']);
    writer.kill();
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).sessionId.toUpperCase()).toBe(VECTORS[1]!.truth.session_id_hex);
  });

  test('several PEM blocks in one file give several sessions; stdin works', async () => {
    const both = Buffer.concat([VECTORS[0]!.pem, Buffer.from('some text between\n'), VECTORS[1]!.pem]);
    const r = await runCli(['get', '--in', '-', '--json'], { input: both });
    expect(r.code, r.stderr).toBe(0);
    const views = JSON.parse(r.stdout);
    expect(views.map((v: { sessionId: string }) => v.sessionId.toUpperCase())).toEqual([
      VECTORS[0]!.truth.session_id_hex,
      VECTORS[1]!.truth.session_id_hex,
    ]);
  });

  test('a wrong version is named as such', async () => {
    // version INTEGER is the first element: 30 82 LL LL 02 01 01
    const der = Buffer.from(real);
    const at = der.indexOf(Buffer.from([0x02, 0x01, 0x01]));
    der[at + 2] = 2;
    const file = path.join(tmp.dir, 'v2.der');
    writeFileSync(file, der);
    const r = await runCli(['get', '--in', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/version 2/);
  });
});
