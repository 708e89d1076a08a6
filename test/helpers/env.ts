/**
 * What every test shares: finding the real servers the tests start, free
 * loopback ports, temporary directories, and running the built CLI.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const VECTORS = path.join(ROOT, 'test/fixtures/vectors');
export const CI = process.env.CI === 'true' || process.env.CI === '1';
/** A config file that does not exist: the default for every CLI run in tests. */
const NO_CONFIG = path.join(os.tmpdir(), 'sessctl-tests-have-no-config.json');

/** Absolute path of `binary` on PATH (or in /usr/sbin), or undefined. */
export function findTool(binary: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin', '/usr/bin']) {
    if (!dir) continue;
    const candidate = path.join(dir, binary);
    const r = spawnSync('test', ['-x', candidate]);
    if (r.status === 0) return candidate;
  }
  return undefined;
}

/**
 * For `describe.skipIf(!has)`: true when `binary` is installed. In CI a missing
 * tool is a failure, not a skip, so the suite cannot pass without the real server.
 */
export function requireTool(binary: string, debianPackage: string): boolean {
  if (findTool(binary)) return true;
  const message = `${binary} is not installed: apt-get install ${debianPackage}`;
  if (CI) throw new Error(`CI: ${message}`);
  console.warn(`skipping tests that need ${binary}: ${message}`);
  return false;
}

/** A port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function tempDir(prefix = 'sessctl-test-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Run the built CLI (`bin/run.js` over dist/, so `npm run build` first) as a
 * user would: its own process, its own environment, optional stdin.
 */
export function runCli(
  args: string[],
  options: { input?: string | Buffer; env?: Record<string, string | undefined>; cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bin/run.js'), ...args], {
      cwd: options.cwd ?? ROOT,
      // No config file of the person running the tests leaks in (tests that want one set SESSCTL_CONFIG or XDG_CONFIG_HOME).
      env: { ...process.env, NO_COLOR: '1', OCLIF_SKIP_NEW_VERSION_CHECK: 'true', SESSCTL_CONFIG: NO_CONFIG, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

let nobodyBin: string | undefined;

/**
 * bin/run.js where the user nobody (uid 65534) can run it: the checkout itself
 * when nobody can reach it, else a hard-linked copy of what the CLI needs in a
 * 0755 temp directory (a clone under a 0700 directory, as `mktemp -d` makes,
 * is out of nobody's reach). Removed when the test process exits.
 */
export function binForNobody(): string {
  if (nobodyBin !== undefined) return nobodyBin;
  const bin = path.join(ROOT, 'bin/run.js');
  if (spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'test', '-r', bin]).status === 0) return (nobodyBin = bin);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sessctl-nobody-root-'));
  chmodSync(dir, 0o755);
  for (const part of ['bin', 'dist', 'node_modules', 'package.json', 'oclif.manifest.json']) {
    if (spawnSync('cp', ['-al', path.join(ROOT, part), dir]).status !== 0) spawnSync('cp', ['-a', path.join(ROOT, part), dir]);
  }
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return (nobodyBin = path.join(dir, 'bin/run.js'));
}
