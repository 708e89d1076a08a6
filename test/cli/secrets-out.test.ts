/**
 * Secrets leaving sessctl: `get --out pem` (and --keylog, --show-secrets)
 * says so on stderr wherever stdout goes, and says more when stdout is a
 * file that others can read (the shell made it under umask 022).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir, VECTORS } from '../helpers/env.js';
import { shellQuote } from '../helpers/terminal.js';

const pem = path.join(VECTORS, '01-client-tls12-ecdhe-rsa-aes256gcm-sni-ticket.pem');
const tmp = tempDir('sessctl-secrets-');
afterAll(() => tmp.cleanup());

/** `sessctl ARGS > file` in a shell with `umask`. */
function redirected(args: string[], umask: string, file: string): { status: number | null; stderr: string } {
  const command = `umask ${umask}; exec ${shellQuote(process.execPath)} bin/run.js ${args.map(shellQuote).join(' ')} > ${shellQuote(file)}`;
  const r = spawnSync('sh', ['-c', command], { cwd: ROOT, encoding: 'utf8', timeout: 30_000, env: { ...process.env, NO_COLOR: '1', OCLIF_SKIP_NEW_VERSION_CHECK: 'true' } });
  return { status: r.status, stderr: r.stderr };
}

describe('secrets written to standard output', () => {
  it('into a file others can read: the warning, and a second line naming the file and what to do', () => {
    const file = path.join(tmp.dir, 'open.pem');
    const r = redirected(['get', '--in', pem, '--out', 'pem'], '022', file);
    expect(r.status, r.stderr).toBe(0);
    expect(statSync(file).mode & 0o777).toBe(0o644);
    expect(readFileSync(file, 'utf8')).toBe(readFileSync(pem, 'utf8'));
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('sessctl: warning: the exported session holds its master key: keep it private');
    expect(lines[1]).toBe(`sessctl: warning: ${file} is readable by others (mode 0644) and now holds secrets: chmod 600 it (or write it under umask 077)`);
  });

  it('into a private file or a pipe: the warning alone', async () => {
    const file = path.join(tmp.dir, 'private.pem');
    const r = redirected(['get', '--in', pem, '--out', 'pem'], '077', file);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('sessctl: warning: the exported session holds its master key: keep it private\n');
    const piped = await runCli(['get', '--in', pem, '--out', 'pem']);
    expect(piped.stderr).toBe('sessctl: warning: the exported session holds its master key: keep it private\n');
  });

  it('--keylog and --show-secrets into a readable file say so too', () => {
    for (const flag of ['--keylog', '--show-secrets']) {
      const file = path.join(tmp.dir, `out${flag}`);
      const r = redirected(['get', '--in', pem, flag], '022', file);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain(`${file} is readable by others (mode 0644)`);
    }
  });
});
