// Test worker: inserts sessions into a cache file through the built library
// (dist/), printing each key only after update() has resolved ("acknowledged").
// Usage: node writer.mjs FILE COUNT WORKER_ID
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { openStore } = await import(path.join(root, 'dist/lib/store/open.js'));

const [file, countArg, workerArg] = process.argv.slice(2);
const count = Number(countArg);
const worker = Number(workerArg);

const vector = '07-server-tls12-dhe-rsa-aes128gcm-alpn';
const der = readFileSync(path.join(root, 'test/fixtures/vectors', `${vector}.der`));
const facts = JSON.parse(readFileSync(path.join(root, 'test/fixtures/vectors', `${vector}.json`), 'utf8'));
const idOffset = der.indexOf(Buffer.from(facts.session_id_hex, 'hex'));

const store = await openStore(file, { onWarning: (m) => process.stderr.write(`warning: ${m}\n`) });
const now = Math.floor(Date.now() / 1000);
for (let i = 0; i < count; i++) {
  const id = Buffer.alloc(32);
  id.writeUInt32BE(worker, 0);
  id.writeUInt32BE(i, 4);
  id.fill(0xab, 8);
  const sessionDer = Buffer.from(der);
  id.copy(sessionDer, idOffset);
  const key = id.toString('hex');
  await store.update({
    key, role: 'server', der: sessionDer, createdAt: facts.time, insertedAt: now, expiresAt: now + 3600,
    protocol: facts.protocol, cipher: facts.cipher.openssl_name, alpn: facts.alpn, hasTicket: false,
  });
  process.stdout.write(`${key}\n`);
}
await store.terminate();
