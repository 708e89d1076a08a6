#!/usr/bin/env node
// TLS 1.2 handshakes per second against one examples/tls-server.js process
// whose session cache is a cache file: full handshakes, session-ID
// resumptions (each one a lookup in the cache file) and ticket resumptions
// (no store involved: the reference). Target: session-ID resumption at
// >= 90% of the ticket-resumption rate.
//
//   npm run build && node bench/resumption.mjs [--seconds 3] [--rounds 3] [--concurrency 8] [--store URL]
//
// A Node load generator runs CONCURRENCY loops of connect -> handshake ->
// close for SECONDS per mode; modes are interleaved over ROUNDS so that
// background load on the machine hits all of them alike. Besides wall-clock
// handshakes/s it reports handshakes per second of the server's own CPU time
// (/proc/PID/stat), which other load on a shared machine disturbs far less:
// the ratio is taken from that.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { constants } from 'node:crypto';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '3' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '8' },
    store: { type: 'string' },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
const CONCURRENCY = Number(values.concurrency);

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = mkdtempSync(path.join(os.tmpdir(), 'sessctl-bench-'));
// Another store (--store memory:) shows what the cache file itself costs.
const store = values.store ?? path.join(dir, 'sessions.db');

const server = spawn(process.execPath, [
  path.join(ROOT, 'examples/tls-server.js'),
  '--port', '0', '--store', store, '--session-id-context', 'bench', '--tls-max', '1.2',
], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (d) => {
    out += d;
    const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
    if (m) resolve(Number(m[1]));
  });
  server.on('exit', (code) => reject(new Error(`server exited with ${code}`)));
});

const base = { host: '127.0.0.1', port, servername: 'localhost', rejectUnauthorized: false };
const MODES = {
  full: { secureOptions: constants.SSL_OP_NO_TICKET, resume: false },
  'session-id': { secureOptions: constants.SSL_OP_NO_TICKET, resume: true },
  ticket: { secureOptions: 0, resume: true },
};

function handshake(options) {
  return new Promise((resolve, reject) => {
    const socket = tls.connect(options);
    let session;
    socket.once('session', (s) => (session = s));
    socket.once('secureConnect', () => {
      const reused = socket.isSessionReused();
      // TLS 1.2 delivers the session with the handshake; keep the one we have.
      setImmediate(() => {
        socket.destroy();
        resolve({ reused, session: session ?? socket.getSession() });
      });
    });
    socket.once('error', reject);
  });
}

/** The server process's user + system CPU time in seconds (Linux). */
function serverCpuSeconds() {
  const fields = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** Run one mode for SECONDS with CONCURRENCY loops; returns handshakes/s and how many did not behave. */
async function run(name) {
  const mode = MODES[name];
  // One session per loop, obtained up front (not timed).
  const sessions = [];
  for (let i = 0; i < CONCURRENCY; i += 1) {
    sessions.push(mode.resume ? (await handshake({ ...base, secureOptions: mode.secureOptions })).session : undefined);
  }
  let done = 0;
  let wrong = 0;
  const cpu0 = serverCpuSeconds();
  const deadline = performance.now() + SECONDS * 1000;
  const started = performance.now();
  await Promise.all(
    sessions.map(async (session) => {
      while (performance.now() < deadline) {
        const { reused } = await handshake({ ...base, secureOptions: mode.secureOptions, ...(session ? { session } : {}) });
        done += 1;
        if (reused !== mode.resume) wrong += 1;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return { rate: done / seconds, done, wrong, cpu: serverCpuSeconds() - cpu0 };
}

function stats() {
  return new Promise((resolve, reject) => {
    https.get({ ...base, path: '/stats', agent: false }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(JSON.parse(body)));
    }).on('error', reject);
  });
}

try {
  const totals = Object.fromEntries(Object.keys(MODES).map((m) => [m, { done: 0, cpu: 0, wrong: 0, rates: [] }]));
  await run('full'); // warm-up: JIT, the server's first inserts
  const before = await stats();
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const name of Object.keys(MODES)) {
      const r = await run(name);
      totals[name].done += r.done;
      totals[name].cpu += r.cpu;
      totals[name].wrong += r.wrong;
      totals[name].rates.push(r.rate);
    }
  }
  const after = await stats();
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const perCpu = Object.fromEntries(Object.entries(totals).map(([m, t]) => [m, t.done / t.cpu]));
  console.log(`bench/resumption: TLS 1.2, ${CONCURRENCY} concurrent loops, ${ROUNDS} rounds x ${SECONDS} s per mode, Node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)}`);
  console.log('  mode        per server CPU-second   wall-clock handshakes/s (median; each round)');
  for (const [name, t] of Object.entries(totals)) {
    const wrong = t.wrong > 0 ? `; ${t.wrong} NOT resumed as expected` : '';
    console.log(`  ${name.padEnd(11)} ${perCpu[name].toFixed(0).padStart(8)}              ${median(t.rates).toFixed(0).padStart(6)} (${t.rates.map((r) => r.toFixed(0)).join(', ')}${wrong})`);
  }
  console.log(`  store ${values.store ?? 'cache file'}: ${after.counters.hits - before.counters.hits} hits, ${after.counters.misses - before.counters.misses} misses, ${after.counters.inserts - before.counters.inserts} inserts, ${after.storeErrors} store errors`);
  const ratio = perCpu['session-id'] / perCpu.ticket;
  console.log(`  session-id resumption through the cache file / ticket resumption: ${(ratio * 100).toFixed(1)}% per server CPU-second (target >= 90%: ${ratio >= 0.9 ? 'met' : 'NOT met'}); wall clock: ${((median(totals['session-id'].rates) / median(totals.ticket.rates)) * 100).toFixed(1)}%`);
  console.log(`  session-id resumption / full handshake: ${(perCpu['session-id'] / perCpu.full).toFixed(2)}x per server CPU-second`);
} finally {
  server.kill('SIGTERM');
  await new Promise((resolve) => server.once('exit', resolve));
  rmSync(dir, { recursive: true, force: true });
}
