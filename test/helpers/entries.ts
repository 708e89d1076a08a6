/**
 * Store entries for backend tests, made from the real OpenSSL vectors in
 * test/fixtures/vectors. Each gets a distinct session id, written into the
 * DER in place of the vector's own (same length, so the DER stays valid), and
 * summary fields taken from the vector's JSON ground truth rather than from
 * our codec: a codec bug must not make every store test fail.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Entry, Role } from '../../src/lib/store/types.js';
import { VECTORS } from './env.js';

interface VectorFacts {
  name: string;
  role: Role;
  protocol: string;
  cipher: { openssl_name: string };
  session_id_hex: string;
  time: number;
  timeout: number;
  sni: string | null;
  alpn: string | null;
  has_ticket: boolean;
}

export interface Vector {
  facts: VectorFacts;
  der: Buffer;
  /** Where the 32 session-id bytes sit in `der`. */
  idOffset: number;
}

/** Vectors used by default: server and client, TLS 1.2 and 1.3, with and without SNI, ALPN, ticket. */
export const VECTOR_NAMES = [
  '07-server-tls12-dhe-rsa-aes128gcm-alpn',
  '01-client-tls12-ecdhe-rsa-aes256gcm-sni-ticket',
  '02-client-tls12-ecdhe-ecdsa-aes128gcm-sessionid-alpn',
  '04-client-tls13-aes128ccm-p384-sni',
  '08-server-tls12-ecdhe-ecdsa-aes128sha256-clientauth',
] as const;

const cache = new Map<string, Vector>();

export function loadVector(name: string): Vector {
  let vector = cache.get(name);
  if (vector === undefined) {
    const facts = JSON.parse(readFileSync(path.join(VECTORS, `${name}.json`), 'utf8')) as VectorFacts;
    const der = readFileSync(path.join(VECTORS, `${name}.der`));
    const id = Buffer.from(facts.session_id_hex, 'hex');
    const idOffset = der.indexOf(id);
    if (id.length !== 32 || idOffset < 0 || der.indexOf(id, idOffset + 1) >= 0) throw new Error(`${name}: session id not found exactly once`);
    vector = { facts, der, idOffset };
    cache.set(name, vector);
  }
  return vector;
}

/** A 32-byte session id derived from `n` (distinct for distinct n, prefix varied so keys do not sort by n). */
export function sessionId(n: number, salt = 0): Buffer {
  const id = Buffer.alloc(32, 0x5a);
  id.writeUInt32BE((Math.imul(n + 1, 2654435761) ^ salt) >>> 0, 0);
  id.writeUInt32BE(n >>> 0, 28);
  id.writeUInt32BE(salt >>> 0, 24);
  return id;
}

/** The vector's DER with its session id replaced by `id` (32 bytes). */
export function derWithSessionId(vector: Vector, id: Buffer): Buffer {
  if (id.length !== 32) throw new Error('session id must be 32 bytes');
  const der = Buffer.from(vector.der);
  id.copy(der, vector.idOffset);
  return der;
}

export interface EntryShape {
  vector?: string;
  /** Varies the session id, so two test files or processes never collide. */
  salt?: number;
  role?: Role;
  partialKey?: string;
  createdAt?: number;
  insertedAt?: number;
  /** Default: an hour after `now`. */
  expiresAt?: number;
  now?: number;
}

/** Entry number `n`: a real session with its own id, key = that id in hex. */
export function testEntry(n: number, shape: EntryShape = {}): Entry {
  const vector = loadVector(shape.vector ?? VECTOR_NAMES[n % VECTOR_NAMES.length]!);
  const { facts } = vector;
  const id = sessionId(n, shape.salt ?? 0);
  const now = shape.now ?? Math.floor(Date.now() / 1000);
  const der = derWithSessionId(vector, id);
  const entry: Entry = {
    key: id.toString('hex'),
    role: shape.role ?? facts.role,
    der,
    size: der.length,
    createdAt: shape.createdAt ?? facts.time,
    insertedAt: shape.insertedAt ?? now,
    expiresAt: shape.expiresAt ?? now + 3600,
    protocol: facts.protocol,
    cipher: facts.cipher.openssl_name,
    hasTicket: facts.has_ticket,
  };
  if (shape.partialKey !== undefined) entry.partialKey = shape.partialKey;
  if (facts.sni !== null) entry.sni = facts.sni;
  if (facts.alpn !== null) entry.alpn = facts.alpn;
  return entry;
}
