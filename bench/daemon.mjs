// bench/daemon: lookups through `sessctl serve` (over the cache file) with 50
// concurrent keep-alive connections, for sessions of 200 B to 2 KB, side by
// side with `redis-benchmark -t get -c 50 -d SIZE` against a redis-server
// started in the same run, and the ratio. Target: at least half of Redis's
// GET rate, p99 under 5 ms.
//
// The daemon runs twice: one process, and `--workers` one per CPU.
//
// A third server gives the floor for any Node.js server on this machine: a
// bare node:net loop that answers every request with the same bytes as the
// daemon's lookup reply, without parsing, checks or a store.
//
// Beside the rates, the CPU time each server and load generator spent per
// request (from /proc and /usr/bin/time): unlike the rates, those barely move
// with the machine's load.
//
// Two load generators for the daemon:
// - `ab -k -c 50` (C, like redis-benchmark; whole-millisecond percentiles);
// - the sessctl daemon backend itself (store.lookup from 50 concurrent
//   loops over random keys, a 50-socket keep-alive pool; exact percentiles),
//   which is what a TLS server using the daemon pays.
//
// Updates too (PUT, which checks the body is an SSL_SESSION), against
// `redis-benchmark -t set`: a TLS server stores every new session, so a fleet
// sends as many updates as full handshakes. One process, via `ab -k -u`.
//
// And the client side alone: CPU per lookup and lookups/s of the sessctl
// client against undici.Pool (the maintained HTTP/1.1 client it could be
// replaced by), same daemon, same lookups, rounds alternating.
//
//   npm run build && node bench/daemon.mjs [--sessions N] [--requests N] [--clients-only]
//
// Prints a Markdown section for docs/BENCHMARKS.md.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    sessions: { type: 'string', default: '10000' },
    requests: { type: 'string', default: '60000' },
    rounds: { type: 'string', default: '3' },
    // Only the client comparison (the sessctl client against undici.Pool): a short run.
    'clients-only': { type: 'boolean', default: false },
  },
});
const SESSIONS = Number(args.sessions);
const REQUESTS = Number(args.requests);
// Each row is measured in ROUNDS rounds of REQUESTS / ROUNDS requests, Redis
// and the Node servers in turn, and each ratio is the median of the rounds'
// ratios: on a shared VM whose speed drifts within a minute, a ratio of two
// figures taken a minute apart measures the drift.
const ROUNDS = Number(args.rounds);
const PER_ROUND = Math.floor(REQUESTS / ROUNDS);
const CONCURRENCY = 50;
const CPUS = os.cpus().length;
const SIZES = [200, 1024, 2048];
const TOKEN = randomBytes(24).toString('hex');

const { FileStore } = await import(path.join(ROOT, 'dist/lib/store/file.js'));
const { decodeSession, encodeSession } = await import(path.join(ROOT, 'dist/lib/session/codec.js'));
const { openStore } = await import(path.join(ROOT, 'dist/lib/store/open.js'));

const tmp = mkdtempSync(path.join(os.tmpdir(), 'sessctl-bench-daemon-'));
const children = [];
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** CPU seconds (user + system) a process and its children so far have used: /proc/PID/stat. */
function cpuSeconds(pid) {
  const pids = [pid, ...spawnSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).map(Number)];
  let ticks = 0;
  for (const p of pids) {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // gone meanwhile
    }
  }
  return ticks / 100;
}

/** Run a load generator under /usr/bin/time; its output, and its CPU seconds. */
function timed(command, argv) {
  const r = spawnSync('/usr/bin/time', ['-f', 'cpu %U %S', command, ...argv], { encoding: 'utf8' });
  const m = /cpu ([\d.]+) ([\d.]+)\s*$/.exec(r.stderr);
  return { stdout: r.stdout, stderr: r.stderr, cpu: m ? Number(m[1]) + Number(m[2]) : NaN };
}

/** µs of server and generator CPU per request, around `run` (which returns the generator's CPU seconds and the request count). */
function perRequest(serverPid, run) {
  const before = cpuSeconds(serverPid);
  const result = run();
  const server = cpuSeconds(serverPid) - before;
  return { ...result, serverUs: (server / result.requests) * 1e6, generatorUs: (result.generatorCpu / result.requests) * 1e6 };
}

const median = (xs) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const fmt = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

function keyOf(size, n) {
  return `${size.toString(16).padStart(4, '0')}${n.toString(16).padStart(60, '0')}`;
}

// --- The cache file: SESSIONS sessions of each size (the DER is random bytes: lookups do not decode it).
const dbFile = path.join(tmp, 'sessions.db');
{
  const file = await FileStore.open(dbFile);
  const now = Math.floor(Date.now() / 1000);
  for (const size of SIZES) {
    const entries = [];
    for (let n = 0; n < SESSIONS; n++) {
      entries.push({
        key: keyOf(size, n), role: 'server', der: randomBytes(size), createdAt: now, insertedAt: now, expiresAt: now + 7200,
        protocol: 'TLSv1.2', cipher: 'ECDHE-RSA-AES128-GCM-SHA256', sni: 'login.example.test', hasTicket: false,
      });
    }
    await file.updateMany(entries);
  }
  await file.terminate();
}

// --- The daemon, its own process(es), as deployed (deploy/sessctl.service:
// node --single-threaded-gc): one process, and one worker per CPU.
const tokenFile = path.join(tmp, 'token');
writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
async function startDaemon(workers) {
  const port = await freePort();
  const daemon = spawn(process.execPath, ['--single-threaded-gc', path.join(ROOT, 'bin/run.js'), 'serve', '--listen', `127.0.0.1:${port}`, '--store', dbFile, '--token-file', tokenFile, '--workers', String(workers)], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true' },
  });
  children.push(daemon);
  await new Promise((resolve, reject) => {
    let log = '';
    daemon.stderr.on('data', (d) => {
      log += d;
      if (log.includes('"event":"listening"')) resolve();
    });
    daemon.on('exit', (code) => reject(new Error(`daemon exited ${code}: ${log}`)));
  });
  return { process: daemon, url: `http://127.0.0.1:${port}`, workers };
}
// --- The floor: a bare node:net server in its own process answering with the daemon's lookup reply, byte for byte.
async function startBare() {
  const port = await freePort();
  const replies = {};
  for (const size of SIZES) {
    const r = await fetch(`${single.url}/v1/sessions/${keyOf(size, 1)}`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const head = `HTTP/1.1 200 OK\r\ndate: ${r.headers.get('date')}\r\ncontent-type: ${r.headers.get('content-type')}\r\nsessctl-entry: ${r.headers.get('sessctl-entry')}\r\ncontent-length: ${size}\r\nconnection: keep-alive\r\nkeep-alive: timeout=65\r\n\r\n`;
    replies[`/v1/sessions/${keyOf(size, 1)}`] = Buffer.concat([Buffer.from(head, 'latin1'), Buffer.from(await r.arrayBuffer())]).toString('base64');
  }
  const code = `
    const replies = Object.fromEntries(Object.entries(${JSON.stringify(replies)}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
    require('node:net').createServer({ noDelay: true }, (s) => {
      s.on('data', (d) => {
        if (d.indexOf('\\r\\n\\r\\n') < 0) return;
        const path = d.toString('latin1', d.indexOf(' ') + 1, d.indexOf(' ', d.indexOf(' ') + 1));
        s.write(replies[path]);
      });
    }).listen(${port}, '127.0.0.1', () => process.stderr.write('listening\\n'));`;
  const bare = spawn(process.execPath, ['--single-threaded-gc', '-e', code], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(bare);
  await new Promise((resolve, reject) => {
    bare.stderr.on('data', (d) => (String(d).includes('listening') ? resolve() : reject(new Error(String(d)))));
    bare.on('exit', (c) => reject(new Error(`bare server exited ${c}`)));
  });
  return { process: bare, url: `http://127.0.0.1:${port}` };
}

const single = await startDaemon(1);

// --- The clients: the sessctl daemon backend (its own HTTP/1.1 client) and
// undici.Pool doing the same work per lookup (the request with the token,
// the body, the Sessctl-Entry header checked and made an Entry), each from
// CONCURRENCY loops over CONCURRENCY keep-alive connections. CPU: this
// process's (process.cpuUsage), where nothing else runs meanwhile.
const { parseMeta } = await import(path.join(ROOT, 'dist/lib/store/daemon-protocol.js'));
async function clientRun(kind, daemonUrl, size, requests) {
  let lookup;
  let close;
  if (kind === 'sessctl') {
    const store = await openStore(daemonUrl, { token: TOKEN });
    lookup = (key) => store.lookup(key);
    close = () => store.terminate();
  } else {
    const { Pool } = await import('undici');
    const pool = new Pool(daemonUrl, { connections: CONCURRENCY, pipelining: 1, keepAliveTimeout: 30_000 });
    const authorization = `Bearer ${TOKEN}`;
    lookup = async (key) => {
      const { statusCode, headers, body } = await pool.request({ path: `/v1/sessions/${key}`, method: 'GET', headers: { authorization } });
      const der = Buffer.from(await body.arrayBuffer());
      if (statusCode !== 200) return undefined;
      return { ...parseMeta(JSON.parse(headers['sessctl-entry']), key), der, size: der.length };
    };
    close = () => pool.close();
  }
  // Warm: connections open, code compiled.
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, i) => lookup(keyOf(size, i))));
  let next = 0;
  const loop = async () => {
    for (;;) {
      const i = next++;
      if (i >= requests) return;
      const key = keyOf(size, (i * 7919) % SESSIONS);
      const e = await lookup(key);
      if (e?.der.length !== size) throw new Error(`${kind}: lookup of ${key} gave ${e?.der.length} bytes`);
    }
  };
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  await close();
  return { rps: requests / seconds, cpuUs: (cpu.user + cpu.system) / requests };
}
async function compareClients(daemonUrl) {
  const rows = [];
  for (const size of SIZES) {
    const rounds = [];
    for (let i = 0; i < ROUNDS; i++) {
      // Alternate which goes first: the machine's drift falls on both.
      const pair = i % 2 === 0 ? ['sessctl', 'undici'] : ['undici', 'sessctl'];
      const r = {};
      for (const kind of pair) r[kind] = await clientRun(kind, daemonUrl, size, PER_ROUND);
      rounds.push(r);
    }
    const med = (f) => median(rounds.map(f));
    rows.push({
      size,
      own: { rps: med((r) => r.sessctl.rps), cpuUs: med((r) => r.sessctl.cpuUs) },
      undici: { rps: med((r) => r.undici.rps), cpuUs: med((r) => r.undici.cpuUs) },
      cpuRatio: med((r) => r.undici.cpuUs / r.sessctl.cpuUs),
      rpsRatio: med((r) => r.undici.rps / r.sessctl.rps),
    });
  }
  const out = [`Client side: lookups through the daemon (1 process) from the sessctl client and from undici.Pool ${(await import('undici/package.json', { with: { type: 'json' } })).default.version}, ${CONCURRENCY} loops over ${CONCURRENCY} keep-alive connections, ${fmt(PER_ROUND)} lookups per round, ${ROUNDS} rounds alternating; medians, ratios per round:`, ''];
  out.push('| size | sessctl client: lookups/s, CPU µs per lookup | undici.Pool: lookups/s, CPU µs per lookup | undici / sessctl: CPU per lookup | undici / sessctl: lookups/s |');
  out.push('|---|---|---|---|---|');
  for (const r of rows) out.push(`| ${r.size} B | ${fmt(r.own.rps)}, ${fmt(r.own.cpuUs, 1)} | ${fmt(r.undici.rps)}, ${fmt(r.undici.cpuUs, 1)} | ${fmt(r.cpuRatio, 2)} | ${fmt(r.rpsRatio, 2)} |`);
  out.push('');
  return out;
}
if (args['clients-only']) {
  process.stdout.write(`${(await compareClients(single.url)).join('\n')}\n`);
  single.process.kill('SIGTERM');
  await new Promise((r) => single.process.once('exit', r));
  process.exit(0);
}

const multi = CPUS > 1 ? await startDaemon(CPUS) : undefined;
const bare = await startBare();

// --- redis-server, its own process.
const redisPort = await freePort();
spawnSync('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes', '--pidfile', path.join(tmp, 'redis.pid'), '--dir', tmp], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 500));
const redisPid = Number(readFileSync(path.join(tmp, 'redis.pid'), 'utf8'));

/** One redis-benchmark run of `test` ("get" or "set") at SIZE-byte values, with redis-server's CPU. */
function redisRun(test, size, requests = PER_ROUND) {
  return perRequest(redisPid, () => {
    const r = timed('redis-benchmark', ['-h', '127.0.0.1', '-p', String(redisPort), '-t', test, '-c', String(CONCURRENCY), '-d', String(size), '-n', String(requests), '--csv']);
    const line = r.stdout.split('\n').find((l) => l.startsWith(`"${test.toUpperCase()}"`));
    if (!line) throw new Error(`redis-benchmark: ${r.stderr || r.stdout}`);
    const cols = line.split(',').map((c) => Number(c.replace(/"/g, '')));
    // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    return { rps: cols[1], p50: cols[4], p99: cols[6], requests, generatorCpu: r.cpu };
  });
}

function redisGet(size) {
  // SET first writes the key at SIZE bytes, so GET returns SIZE bytes (GET of a missing key would be a nil).
  const set = spawnSync('redis-benchmark', ['-h', '127.0.0.1', '-p', String(redisPort), '-t', 'set', '-c', String(CONCURRENCY), '-d', String(size), '-n', '1000', '-q'], { encoding: 'utf8' });
  if (set.status !== 0) throw new Error(`redis-benchmark: ${set.stderr}`);
  return redisRun('get', size);
}

const redisSet = (size) => redisRun('set', size);

function abGet(server, size) {
  return perRequest(server.process.pid, () => abRun(server.url, size));
}

// A real session of about SIZE bytes for the PUT body (the daemon decodes it):
// the smallest vector, its ticket field padded out with random bytes.
const BASE_SESSION = decodeSession(readFileSync(path.join(ROOT, 'test/fixtures/vectors/07-server-tls12-dhe-rsa-aes128gcm-alpn.der')));
const updateBodies = {};
for (const size of SIZES) {
  let der = encodeSession(BASE_SESSION);
  // The ticket field's own header grows with it: adjust until the size is right.
  for (let padding = size - der.length; der.length !== size && padding > 0; padding -= der.length - size) {
    der = encodeSession({ ...BASE_SESSION, ticket: randomBytes(padding) });
  }
  const key = keyOf(size, SESSIONS + 1);
  const now = Math.floor(Date.now() / 1000);
  const meta = { key, role: 'server', createdAt: now, insertedAt: now, expiresAt: now + 7200, protocol: 'TLSv1.2', cipher: 'DHE-RSA-AES128-GCM-SHA256', hasTicket: true };
  writeFileSync(path.join(tmp, `put-${size}.der`), der);
  updateBodies[size] = { file: path.join(tmp, `put-${size}.der`), key, meta: JSON.stringify(meta), length: der.length };
}

function abPut(server, size, requests = PER_ROUND) {
  const body = updateBodies[size];
  return perRequest(server.process.pid, () =>
    ab(['-u', body.file, '-T', 'application/octet-stream', '-H', `sessctl-entry: ${body.meta}`, `${server.url}/v1/sessions/${body.key}`], requests),
  );
}

function abRun(daemonUrl, size, requests = PER_ROUND) {
  const result = ab([`${daemonUrl}/v1/sessions/${keyOf(size, 1)}`], requests);
  if (result.length !== size) throw new Error(`ab: got ${result.length}-byte answers, expected ${size}`);
  return result;
}

/** `ab -k -c 50` with the token and `args`: the rate, p50 and p99 (whole ms), the answers' length; fails on any failed request. */
function ab(args, requests) {
  const r = timed('ab', ['-q', '-k', '-c', String(CONCURRENCY), '-n', String(requests), '-H', `Authorization: Bearer ${TOKEN}`, ...args]);
  const num = (re) => Number(re.exec(r.stdout)?.[1]);
  const failed = num(/Failed requests:\s+(\d+)/) + (num(/Non-2xx responses:\s+(\d+)/) || 0);
  if (!(failed === 0)) throw new Error(`ab: ${failed} failed requests\n${r.stdout}${r.stderr}`);
  return { rps: num(/Requests per second:\s+([\d.]+)/), p50: num(/^\s+50%\s+(\d+)/m), p99: num(/^\s+99%\s+(\d+)/m), length: num(/Document Length:\s+(\d+) bytes/), requests, generatorCpu: r.cpu };
}

async function clientGet(daemonUrl, size) {
  const store = await openStore(daemonUrl, { token: TOKEN });
  const latencies = new Float64Array(REQUESTS);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= REQUESTS) return;
      const key = keyOf(size, (i * 7919) % SESSIONS);
      const t0 = process.hrtime.bigint();
      const e = await store.lookup(key);
      latencies[i] = Number(process.hrtime.bigint() - t0) / 1e6;
      if (e?.der.length !== size) throw new Error(`lookup of ${key} gave ${e?.der.length} bytes`);
    }
  };
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await store.terminate();
  latencies.sort();
  const pct = (p) => latencies[Math.min(REQUESTS - 1, Math.floor((p / 100) * REQUESTS))];
  return { rps: REQUESTS / seconds, p50: pct(50), p99: pct(99) };
}

// Warm up once.
redisGet(SIZES[0]);
for (const d of [single, multi, bare]) if (d) abRun(d.url, SIZES[0]);

/** One server's rounds as one figure: median rate, ratio (to Redis in the same round), p50 and CPU; the worst p99. */
function combine(rounds, redisRounds) {
  return {
    rps: median(rounds.map((r) => r.rps)),
    ratio: median(rounds.map((r, i) => r.rps / redisRounds[i].rps)),
    p50: median(rounds.map((r) => r.p50)),
    p99: Math.max(...rounds.map((r) => r.p99)),
    serverUs: median(rounds.map((r) => r.serverUs)),
    generatorUs: median(rounds.map((r) => r.generatorUs)),
  };
}

const rows = [];
for (const size of SIZES) {
  const rounds = { redis: [], floor: [], ab: [], abMulti: [] };
  for (let i = 0; i < ROUNDS; i++) {
    rounds.redis.push(redisGet(size));
    rounds.floor.push(abGet(bare, size));
    rounds.ab.push(abGet(single, size));
    if (multi) rounds.abMulti.push(abGet(multi, size));
  }
  const redis = combine(rounds.redis, rounds.redis);
  const client = await clientGet((multi ?? single).url, size);
  client.ratio = client.rps / redis.rps;
  rows.push({ size, redis, floor: combine(rounds.floor, rounds.redis), ab: combine(rounds.ab, rounds.redis), abMulti: multi && combine(rounds.abMulti, rounds.redis), client });
}

const updates = [];
for (const size of SIZES) {
  const rounds = { redis: [], ab: [] };
  for (let i = 0; i < ROUNDS; i++) {
    rounds.redis.push(redisSet(size));
    rounds.ab.push(abPut(single, size));
  }
  updates.push({ size, length: updateBodies[size].length, redis: combine(rounds.redis, rounds.redis), ab: combine(rounds.ab, rounds.redis) });
}

const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
const out = [];
out.push(`## bench/daemon (${new Date().toISOString().slice(0, 10)})`, '');
out.push(`Lookups of one session through \`sessctl serve\` (its own HTTP/1.1 server, backing store: the cache file with ${fmt(SESSIONS)} sessions of each size),`);
out.push(`${CONCURRENCY} concurrent keep-alive connections, ${fmt(REQUESTS)} requests per row in ${ROUNDS} rounds (Redis and each server in turn), against \`redis-benchmark -t get -c ${CONCURRENCY} -d SIZE\``);
out.push(`on a redis-server started in the same run. ${os.cpus().length} CPUs (${os.cpus()[0]?.model.trim()}), Node ${process.version}, load average during the run: ${load}.`);
out.push('Rates, p50 and CPU: the median of the rounds; p99: the worst round; a ratio: the median of the ratios to Redis in the same round.');
out.push('');
const n = multi ? `${CPUS} workers` : '1 process';
out.push(`| size | Redis GET/s (p50 / p99 ms) | bare Node loop, via ab -k (p50 / p99 ms) | ratio | daemon, 1 process, via ab -k (p50 / p99 ms) | ratio | daemon, ${n}, via ab -k (p50 / p99 ms) | ratio | daemon, ${n}, via the sessctl client (p50 / p99 ms) | ratio |`);
out.push('|---|---|---|---|---|---|---|---|---|---|');
for (const { size, redis, floor, ab, abMulti, client } of rows) {
  const m = abMulti ?? ab;
  const ratio = (r) => fmt(r.ratio, 2);
  out.push(
    `| ${size} B | ${fmt(redis.rps)} (${fmt(redis.p50, 2)} / ${fmt(redis.p99, 2)}) | ${fmt(floor.rps)} (${floor.p50} / ${floor.p99}) | ${ratio(floor)} | ` +
      `${fmt(ab.rps)} (${ab.p50} / ${ab.p99}) | ${ratio(ab)} | ${fmt(m.rps)} (${m.p50} / ${m.p99}) | ${ratio(m)} | ` +
      `${fmt(client.rps)} (${fmt(client.p50, 2)} / ${fmt(client.p99, 2)}) | ${ratio(client)} |`,
  );
}
out.push('');
out.push('CPU time per request, in µs (server / load generator; the daemon with its workers summed):');
out.push('');
out.push(`| size | redis-server / redis-benchmark | bare Node loop / ab | daemon, 1 process / ab | daemon, ${n} / ab |`);
out.push('|---|---|---|---|---|');
for (const { size, redis, floor, ab, abMulti } of rows) {
  const us = (r) => (r ? `${fmt(r.serverUs, 1)} / ${fmt(r.generatorUs, 1)}` : '-');
  out.push(`| ${size} B | ${us(redis)} | ${us(floor)} | ${us(ab)} | ${us(abMulti)} |`);
}
out.push('');
out.push(`Updates: PUT of one session (a real SSL_SESSION, checked by the daemon, then written to the cache file), ${CONCURRENCY} keep-alive connections, against \`redis-benchmark -t set\`:`);
out.push('');
out.push('| size | Redis SET/s (p50 / p99 ms) | daemon, 1 process, PUT/s via ab -k (p50 / p99 ms) | ratio | CPU µs per request: redis-server / daemon |');
out.push('|---|---|---|---|---|');
for (const { length, redis, ab } of updates) {
  out.push(`| ${length} B | ${fmt(redis.rps)} (${fmt(redis.p50, 2)} / ${fmt(redis.p99, 2)}) | ${fmt(ab.rps)} (${ab.p50} / ${ab.p99}) | ${fmt(ab.ratio, 2)} | ${fmt(redis.serverUs, 1)} / ${fmt(ab.serverUs, 1)} |`);
}
out.push('');
out.push(...(await compareClients(single.url)));
process.stdout.write(`${out.join('\n')}\n`);

for (const d of [single, multi, bare]) d?.process.kill('SIGTERM');
try {
  process.kill(redisPid, 'SIGTERM');
} catch {
  // already gone
}
await Promise.all([single, multi, bare].filter(Boolean).map((d) => new Promise((r) => d.process.once('exit', r))));
