/**
 * A small client for HAProxy's stats socket (`stats socket PATH level admin`):
 * one command per connection, HAProxy answers and closes (management.txt,
 * "non-interactive mode").
 *
 *   show tls-keys            "# id (file)" then "<id> (<file>)" per ticket-key ref
 *   show tls-keys <file|#id> "<id>.<n> <base64>" per key, oldest first;
 *                            the penultimate encrypts
 *   set ssl tls-key <file|#id> <base64>
 *                            appends a key, drops the oldest; in memory only
 */
import net from 'node:net';
import path from 'node:path';
import { SessctlError } from '../errors.js';
import { describeIoError } from './atomic.js';

const TIMEOUT_MS = 5000;

export async function haproxyCommand(socketPath: string, command: string, timeoutMs = TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.createConnection({ path: socketPath });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new SessctlError(`HAProxy socket ${socketPath}: no answer within ${timeoutMs / 1000}s`));
    }, timeoutMs);
    socket.on('connect', () => socket.end(`${command}\n`));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(new SessctlError(`HAProxy socket ${socketPath}: ${describeIoError(err)}`, { cause: err }));
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
  });
}

export interface TlsKeyRef {
  id: string;
  file: string;
}

/** The ticket-key files HAProxy has loaded (`show tls-keys`). */
export async function listTlsKeyRefs(socketPath: string): Promise<TlsKeyRef[]> {
  const text = await haproxyCommand(socketPath, 'show tls-keys');
  return [...text.matchAll(/^(\d+) \((.*)\)$/gm)].map((m) => ({ id: m[1]!, file: m[2]! }));
}

/** The keys HAProxy holds in memory for `ref` (a file name or "#id"), oldest first. */
export async function showTlsKeys(socketPath: string, ref: string): Promise<Buffer[]> {
  const text = await haproxyCommand(socketPath, `show tls-keys ${ref}`);
  const keys = [...text.matchAll(/^\d+\.\d+ ([A-Za-z0-9+/=]+)$/gm)].map((m) => Buffer.from(m[1]!, 'base64'));
  if (keys.length === 0) throw new SessctlError(`HAProxy socket ${socketPath}: no ticket keys for ${ref}: ${firstLine(text)}`);
  return keys;
}

/** Append one key (HAProxy's base64 line) to `ref`'s ring in memory. */
export async function setTlsKey(socketPath: string, ref: string, base64Key: string): Promise<void> {
  const text = await haproxyCommand(socketPath, `set ssl tls-key ${ref} ${base64Key}`);
  if (!/TLS ticket key updated/.test(text)) throw new SessctlError(`HAProxy socket ${socketPath}: set ssl tls-key ${ref} failed: ${firstLine(text)}`);
}

/**
 * The ref naming `file` in HAProxy (same path once resolved); with no file,
 * the only ref HAProxy has.
 */
export async function findTlsKeyRef(socketPath: string, file: string | undefined): Promise<string> {
  const refs = await listTlsKeyRefs(socketPath);
  if (file !== undefined) {
    const wanted = path.resolve(file);
    const ref = refs.find((r) => path.resolve(r.file) === wanted);
    if (!ref) throw new SessctlError(`HAProxy (${socketPath}) has not loaded tls-ticket-keys ${file}; it has: ${refs.map((r) => r.file).join(', ') || 'none'}`);
    return ref.file;
  }
  if (refs.length !== 1) throw new SessctlError(`HAProxy (${socketPath}) has ${refs.length} tls-ticket-keys files: add --write haproxy:FILE to say which one`);
  return refs[0]!.file;
}

function firstLine(text: string): string {
  return text.trim().split('\n')[0] ?? '(empty answer)';
}
