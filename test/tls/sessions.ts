/**
 * Sessions for the TLS cache tests: the real OpenSSL/Node vectors, with the
 * fields a test varies (id, creation time, timeout, session-id context)
 * rewritten through the codec.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { decodeSession, encodeSession } from '../../src/lib/session/codec.js';
import type { Session } from '../../src/lib/session/types.js';
import { VECTORS } from '../helpers/env.js';

export const SERVER_TLS12 = '07-server-tls12-dhe-rsa-aes128gcm-alpn';
export const CLIENT_TLS12 = '01-client-tls12-ecdhe-rsa-aes256gcm-sni-ticket';
export const CLIENT_TLS13 = '04-client-tls13-aes128ccm-p384-sni';

/** The vector's master key in hex, to check that nothing logs it. */
export function masterKeyHex(vector: string): string {
  return decodeSession(readFileSync(path.join(VECTORS, `${vector}.der`))).masterKey.toString('hex');
}

const vectors = new Map<string, Session>();

function decoded(vector: string): Session {
  let session = vectors.get(vector);
  if (!session) {
    session = decodeSession(readFileSync(path.join(VECTORS, `${vector}.der`)));
    vectors.set(vector, session);
  }
  return session;
}

export interface Made {
  id: Buffer;
  der: Buffer;
}

/** Vector `vector` as session number `n`: a distinct 32-byte id, created at `time`, lasting `timeout` s. */
export function makeSession(
  vector: string,
  n: number,
  fields: { time: number; timeout?: number; sessionIdContext?: string },
): Made {
  const session = { ...decoded(vector) };
  const id = Buffer.alloc(32, 0xa5);
  id.writeUInt32BE(n, 0);
  session.sessionId = id;
  session.time = fields.time;
  if (fields.timeout !== undefined) session.timeout = fields.timeout;
  if (fields.sessionIdContext !== undefined) session.sessionIdContext = Buffer.from(fields.sessionIdContext);
  return { id, der: encodeSession(session) };
}
