/**
 * Real TLS peers for the integration tests: examples/tls-server.js as a child
 * process, `openssl s_client` and `openssl s_server`.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import https from 'node:https';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT, freePort } from '../helpers/env.js';

const execFileAsync = promisify(execFile);

export interface ExampleServer {
  port: number;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  stop(): Promise<void>;
}

/** Start examples/tls-server.js (over dist/) and wait for "listening on". */
export async function startExampleServer(args: string[]): Promise<ExampleServer> {
  const child = spawn(process.execPath, [path.join(ROOT, 'examples/tls-server.js'), '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`example server did not start: ${err}`)), 15_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`example server exited with ${code}: ${err}`));
    });
  });
  return { port, stderr: () => err, stop: () => stopChild(child) };
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export interface SClientResult {
  /** "New" or "Reused" (the line s_client prints), or undefined when no handshake completed. */
  outcome: 'New' | 'Reused' | undefined;
  /** The Session-ID s_client printed, lowercase hex. */
  sessionId: string | undefined;
  output: string;
}

/**
 * One `openssl s_client` connection. With `waitMs`, stdin stays open that
 * long so TLS 1.3 tickets arrive before it quits (docs/ARCHITECTURE.md, "Real servers in tests").
 */
export async function sClient(port: number, args: string[], waitMs = 0): Promise<SClientResult> {
  const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  if (waitMs > 0) setTimeout(() => child.stdin.end(), waitMs);
  else child.stdin.end();
  await new Promise((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  const outcome = /^(New|Reused), /m.exec(output)?.[1] as SClientResult['outcome'];
  const sessionId = /Session-ID: ([0-9A-F]+)/.exec(output)?.[1]?.toLowerCase();
  return { outcome, sessionId, output };
}

/** GET a path from the example server (self-signed, so unverified). */
export async function httpsGet(port: number, urlPath: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path: urlPath, rejectUnauthorized: false, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(JSON.parse(body)));
    });
    req.on('error', reject);
  });
}

/** A self-signed P-256 certificate for localhost in `dir`. */
export async function selfSigned(dir: string): Promise<{ cert: string; key: string }> {
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  await execFileAsync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ]);
  return { cert, key };
}

export interface SServer {
  port: number;
  stop(): Promise<void>;
}

/** `openssl s_server` answering in -www mode on a free port, with extra `args`. */
export async function startSServer(cert: { cert: string; key: string }, args: string[]): Promise<SServer> {
  const port = await freePort();
  const child = spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', cert.cert, '-key', cert.key, '-www', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`s_server did not start: ${out}`)), 10_000);
    const check = setInterval(() => {
      if (out.includes('ACCEPT')) {
        clearInterval(check);
        clearTimeout(timer);
        resolve();
      }
    }, 20);
    child.on('exit', (code) => {
      clearInterval(check);
      clearTimeout(timer);
      reject(new Error(`s_server exited with ${code}: ${out}`));
    });
  });
  return { port, stop: () => stopChild(child) };
}
