#!/usr/bin/env node
// An HTTPS server that keeps its TLS sessions in a sessctl store, so that
// several server processes sharing the store resume each other's sessions.
// Each request is answered with whether its TLS session was resumed.
//
//   npm run build
//   node examples/tls-server.js --port 8443 --store /tmp/sessions.db --session-id-context demo
//   openssl s_client -connect 127.0.0.1:8443 -tls1_2 -no_ticket -sess_out /tmp/s </dev/null   # New
//   node examples/tls-server.js --port 8444 --store /tmp/sessions.db --session-id-context demo
//   openssl s_client -connect 127.0.0.1:8444 -tls1_2 -no_ticket -sess_in /tmp/s </dev/null    # Reused
//   sessctl list --store /tmp/sessions.db
//
// Flags: --port N (default 8443; 0 picks one), --host ADDR (default 127.0.0.1),
// --store URL (default memory:; --token-file FILE and --ca FILE for a daemon
// at https://...), --session-id-context STR (the same on every
// server sharing the store), --cert FILE --key FILE (default: a self-signed
// certificate made with openssl in a temporary directory), --tls-max 1.2|1.3,
// --session-timeout SECONDS, --max-size N, --no-tickets (session IDs only),
// --store-ticket-keys (encrypt tickets under the current key of the store's
// key ring, `sessctl rotate-keys`, re-read every 10 s).
// GET /stats answers with the store's counters (after writing this process's
// own, which are batched for a second) and this process's store errors.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import crypto from 'node:crypto';
import { openStore } from '../dist/lib/store/open.js';
import { attachSessionCache, storeTicketKeys } from '../dist/lib/tls/server.js';

function fail(message) {
  process.stderr.write(`tls-server: ${message}\n`);
  process.exit(2);
}

function wholeNumber(value, flag) {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) fail(`${flag} must be a whole number, not "${value}"`);
  return n;
}

let flags;
try {
  ({ values: flags } = parseArgs({
    options: {
      port: { type: 'string', default: '8443' },
      host: { type: 'string', default: '127.0.0.1' },
      store: { type: 'string', default: 'memory:' },
      'token-file': { type: 'string' },
      ca: { type: 'string' },
      'session-id-context': { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      'tls-max': { type: 'string' },
      'session-timeout': { type: 'string' },
      'max-size': { type: 'string' },
      'no-tickets': { type: 'boolean', default: false },
      'store-ticket-keys': { type: 'boolean', default: false },
    },
    strict: true,
  }));
} catch (err) {
  fail(err.message);
}

const port = wholeNumber(flags.port, '--port');
const tlsMax = { undefined: undefined, '1.2': 'TLSv1.2', '1.3': 'TLSv1.3' }[flags['tls-max']];
if (flags['tls-max'] !== undefined && tlsMax === undefined) fail(`--tls-max must be 1.2 or 1.3, not "${flags['tls-max']}"`);
if ((flags.cert === undefined) !== (flags.key === undefined)) fail('give both --cert and --key, or neither');
const context = flags['session-id-context'];
if (context !== undefined && Buffer.byteLength(context) > 32) {
  fail(`--session-id-context is ${Buffer.byteLength(context)} bytes: OpenSSL allows at most 32`);
}

/** A throwaway self-signed certificate for localhost (P-256, one day). */
function selfSigned() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sessctl-example-'));
  try {
    const keyFile = path.join(dir, 'key.pem');
    const certFile = path.join(dir, 'cert.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    return { cert: readFileSync(certFile), key: readFileSync(keyFile) };
  } catch (err) {
    fail(`cannot make a self-signed certificate with openssl (give --cert and --key): ${err.message.split('\n')[0]}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let credentials;
try {
  credentials = flags.cert ? { cert: readFileSync(flags.cert), key: readFileSync(flags.key) } : selfSigned();
} catch (err) {
  fail(err.message);
}

let store;
try {
  // A daemon store (https://...) wants its bearer token: --token-file, else $SESSCTL_TOKEN.
  const token = flags['token-file'] ? readFileSync(flags['token-file'], 'utf8').trim() : process.env.SESSCTL_TOKEN?.trim() || undefined;
  store = await openStore(flags.store, { ...(token ? { token } : {}), ...(flags.ca ? { ca: flags.ca } : {}) });
} catch (err) {
  fail(err.message);
}

let server;
try {
  server = https.createServer({
    ...credentials,
    ...(tlsMax ? { maxVersion: tlsMax } : {}),
    ...(context === undefined ? {} : { sessionIdContext: context }),
    ...(flags['session-timeout'] === undefined ? {} : { sessionTimeout: wholeNumber(flags['session-timeout'], '--session-timeout') }),
    ...(flags['no-tickets'] ? { secureOptions: crypto.constants.SSL_OP_NO_TICKET } : {}),
  });
} catch (err) {
  fail(`cannot start the TLS server: ${err.message.split('\n')[0]}`);
}

let cache;
try {
  cache = attachSessionCache(server, store, {
    ...(context === undefined ? {} : { sessionIdContext: context }),
    ...(flags['max-size'] === undefined ? {} : { maxSize: wholeNumber(flags['max-size'], '--max-size') }),
    ...(flags['store-ticket-keys'] ? { ticketKeys: storeTicketKeys(store), ticketKeysRefreshMs: 10_000 } : {}),
  });
  await cache.ready;
} catch (err) {
  fail(err.message);
}

server.on('request', async (req, res) => {
  if (req.url === '/stats') {
    let counters;
    await cache.settled(); // write this process's counters first (they are batched)
    try {
      counters = await store.counters();
    } catch (err) {
      counters = { error: err.message };
    }
    res.setHeader('content-type', 'application/json');
    res.end(`${JSON.stringify({ storeErrors: cache.storeErrors, counters })}\n`);
    return;
  }
  const reused = req.socket.isSessionReused();
  res.setHeader('content-type', 'application/json');
  res.end(`${JSON.stringify({ reused, protocol: req.socket.getProtocol() })}\n`);
});

server.on('error', (err) => fail(err.message));
server.listen(port, flags.host, () => {
  const { address, port: bound } = server.address();
  process.stdout.write(`listening on ${address}:${bound}\n`);
});

async function shutdown() {
  server.close();
  server.closeAllConnections?.();
  await cache.settled();
  await store.terminate();
  process.exit(0);
}
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
