// Sessions for the cache-file benchmarks (bench/store.mjs, bench/list.mjs): a
// real server-side vector (153 bytes of DER) copied with a distinct session id
// per number n, so the store holds real sessions and the ids are spread.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const VECTOR = '07-server-tls12-dhe-rsa-aes128gcm-alpn';
export const vectorDer = readFileSync(path.join(ROOT, 'test/fixtures/vectors', `${VECTOR}.der`));
const facts = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/vectors', `${VECTOR}.json`), 'utf8'));
const idOffset = vectorDer.indexOf(Buffer.from(facts.session_id_hex, 'hex'));
const now = Math.floor(Date.now() / 1000);

/** Session id n: a scrambled prefix (ids are random on the wire, so inserts hit the B-tree everywhere). */
export function sessionId(n) {
  const id = Buffer.alloc(32, 0x3c);
  id.writeUInt32BE(Math.imul(n + 1, 2654435761) >>> 0, 0);
  id.writeUInt32BE(n, 4);
  return id;
}
export const keyOf = (n) => sessionId(n).toString('hex');

/** Entry n; expiries spread over a day (some already expired) so stats has something to bucket. */
export function entry(n, { role = 'server', sni } = {}) {
  const id = sessionId(n);
  const der = Buffer.from(vectorDer);
  id.copy(der, idOffset);
  return {
    key: id.toString('hex'), role, der, createdAt: facts.time, insertedAt: now,
    expiresAt: now - 600 + (n % 86_400),
    protocol: facts.protocol, cipher: facts.cipher.openssl_name, alpn: facts.alpn,
    ...(sni === undefined ? {} : { sni }), hasTicket: false,
  };
}
