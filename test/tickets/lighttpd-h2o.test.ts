/**
 * lighttpd (`ssl.stek-file`) and h2o (`ticket-store: file`) from Debian's
 * packages, given their keys by `rotate-keys --write lighttpd:FILE` and
 * `--write h2o:FILE`: each server re-reads its file by itself (lighttpd
 * every 64 s when the mtime changed, h2o every 10 s); a ticket issued
 * before a rotation still resumes after it, new tickets are under the new
 * current key, and `--check` reads the file back and probes the server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { currentKey, decodeRing } from '../../src/lib/tickets/ring.js';
import { findTool, freePort, requireTool, runCli, tempDir } from '../helpers/env.js';
import { handshake, makeCertificate, ticketKeyName, waitFor } from './tls-probe.js';

const hasLighttpd = requireTool('lighttpd', 'lighttpd lighttpd-mod-openssl') && requireTool('openssl', 'openssl');
const hasH2o = requireTool('h2o', 'h2o') && requireTool('openssl', 'openssl');

const tmp = tempDir('sessctl-lighttpd-h2o-');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGTERM');
  tmp.cleanup();
});

/** Run a server in the foreground under our own control (h2o writes no pid file when it daemonizes here). */
function run(binary: string, args: string[]): ChildProcess {
  const child = spawn(findTool(binary) ?? binary, args, { stdio: 'ignore' });
  children.push(child);
  return child;
}

/** The key name of a fresh ticket, or undefined while the server is not answering. */
function freshTicketKey(port: number, file: string): string | undefined {
  try {
    handshake(port, { sessOut: file });
    return ticketKeyName(file);
  } catch {
    return undefined;
  }
}

/**
 * The shared scenario: a ticket under the first key; one rotation; the
 * server picks the new file up by itself (within `pickUpMs`); the old
 * ticket resumes, a new one is under the new current key; --check agrees.
 */
async function rotationScenario(dir: string, port: number, output: string, pickUpMs: number): Promise<void> {
  const p = (name: string): string => path.join(dir, name);
  const ring = () => decodeRing(readFileSync(p('ring.json')), 'ring.json');
  const first = currentKey(ring()).name.toString('hex');
  await waitFor('the server to issue a ticket under the ring\'s current key', () => freshTicketKey(port, p('s0.pem')) === first, 20_000);

  // Both servers notice a change by the file's mtime in whole seconds: let a second pass.
  await new Promise((r) => setTimeout(r, 1100));
  const rotated = await runCli(['rotate-keys', '--ring', 'ring.json', '--write', output], { cwd: dir });
  expect(rotated.stderr).toBe('');
  expect(rotated.code).toBe(0);
  const second = currentKey(ring()).name.toString('hex');
  expect(second).not.toBe(first);
  // Not yet re-read: --check's probe says the server still encrypts under the ring's previous key.
  const early = await runCli(['rotate-keys', '--ring', 'ring.json', '--check', '--write', output, '--probe', `127.0.0.1:${port}`], { cwd: dir });
  if (early.code === 4) expect(early.stdout).toMatch(new RegExp(`^127\\.0\\.0\\.1:${port}: encrypts under the ring's previous key ${first.slice(0, 8)}: not reloaded since`));
  else expect(early.code).toBe(0);

  await waitFor('the server to re-read its key file', () => freshTicketKey(port, p('s1.pem')) === second, pickUpMs);
  expect(handshake(port, { sessIn: p('s0.pem') })).toBe('Reused');
  expect(ticketKeyName(p('s1.pem'))).toBe(second);

  const check = await runCli(['rotate-keys', '--ring', 'ring.json', '--check', '--write', output, '--probe', `127.0.0.1:${port}`], { cwd: dir });
  expect(check.stdout).toMatch(new RegExp(`^consistent: ${output.replace('.', '\\.')}, 127\\.0\\.0\\.1:${port} hold the ring ring\\.json\\n$`));
  expect(check.code).toBe(0);
}

describe.skipIf(!hasLighttpd)('lighttpd ssl.stek-file', () => {
  it('a ticket from before a rotation resumes once lighttpd re-reads the file; new tickets under the new key; --check agrees', async () => {
    const dir = path.join(tmp.dir, 'lighttpd');
    mkdirSync(dir);
    const p = (name: string): string => path.join(dir, name);
    const port = await freePort();
    const { combined } = makeCertificate(dir);
    // lighttpd uses AES-256: an 80-byte ring.
    const created = await runCli(['rotate-keys', '--ring', 'ring.json', '--size', '80', '--keep', '1h', '--write', 'lighttpd:stek'], { cwd: dir });
    expect(created.code, created.stderr).toBe(0);
    writeFileSync(
      p('lighttpd.conf'),
      `server.document-root = "${dir}"
server.bind = "127.0.0.1"
server.port = ${port}
server.errorlog = "${p('error.log')}"
server.modules = ("mod_openssl")
ssl.engine = "enable"
ssl.pemfile = "${combined}"
ssl.stek-file = "${p('stek')}"
ssl.openssl.ssl-conf-cmd = ("MinProtocol" => "TLSv1.2", "MaxProtocol" => "TLSv1.2")
`,
    );
    run('lighttpd', ['-D', '-f', p('lighttpd.conf')]);
    // lighttpd looks at the file when the clock is a multiple of 64 s (mod_openssl_handle_trigger,
    // `if (cur_ts & 0x3f) return`), from a once-a-second trigger that a busy machine can make it
    // miss: then the next look is 64 s later. Wait for two windows (CI failed once at 80 s).
    await rotationScenario(dir, port, 'lighttpd:stek', 140_000);
  }, 240_000);
});

describe.skipIf(!hasH2o)('h2o ticket-file', () => {
  it('a ticket from before a rotation resumes once h2o re-reads the file; new tickets under the new key; --check agrees', async () => {
    const dir = path.join(tmp.dir, 'h2o');
    mkdirSync(dir);
    const p = (name: string): string => path.join(dir, name);
    const port = await freePort();
    const { cert, key } = makeCertificate(dir);
    const created = await runCli(['rotate-keys', '--ring', 'ring.json', '--keep', '1h', '--write', 'h2o:tickets.yaml'], { cwd: dir });
    expect(created.code, created.stderr).toBe(0);
    writeFileSync(
      p('h2o.conf'),
      `user: root
error-log: ${p('error.log')}
ssl-session-resumption:
  mode: ticket
  ticket-store: file
  ticket-file: ${p('tickets.yaml')}
listen:
  host: 127.0.0.1
  port: ${port}
  ssl:
    certificate-file: ${cert}
    key-file: ${key}
    minimum-version: TLSv1.2
    ocsp-update-interval: 0
hosts:
  default:
    paths:
      /:
        file.dir: ${dir}
`,
    );
    run('h2o', ['-c', p('h2o.conf')]);
    await rotationScenario(dir, port, 'h2o:tickets.yaml', 30_000);
  }, 120_000);
});
