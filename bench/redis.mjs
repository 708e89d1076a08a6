#!/usr/bin/env node
/**
 * bench/redis: the Redis backend over a cache the size of a busy Apache fleet's.
 *
 *   npm run build && node bench/redis.mjs [--sessions 1000000] [--concurrency 50] [--seconds 5]
 *                                         [--backends redis,memcached,cluster] [--runs 1] [--also DIR]
 *
 * Starts its own redis-server on a free loopback port, fills it with N
 * sessions in Apache mod_ssl's layout (SETEX mod_ssl-sess:<hex> TTL DER, the
 * way mod_socache_redis writes them, through `redis-cli --pipe`), then prints
 * in one run, each next to its reference measured here:
 *
 *   sessctl stats --json, sessctl list --json   vs  redis-cli --scan | wc -l      (wall, peak RSS, Redis's CPU)
 *   the fold's page script, raw client (floor)  vs  redis-cli --scan | wc -l      (what the server alone needs)
 *   lookups/s through the backend (lookup())   vs  redis-benchmark -t get        (same concurrency, value size)
 *
 * --runs N alternates the reference and the rest N times and prints the
 * median of the per-run ratios; --also DIR measures another build (a checkout
 * with its dist/ built, e.g. the commit before a change) in the same runs.
 *
 * then the same sessions on two memcached servers in Apache's sharded layout
 * (apr-util's crc32 choice, `set KEY 0 TTL LEN` as mod_socache_memcache writes)
 * against both servers' `lru_crawler metadump all` read at once through bash's
 * /dev/tcp (and the floor of any client that reads the values,
 * bench/memcached-floor.mjs), and on a three-master Redis Cluster against
 * `redis-cli --scan` on every master at once; with the CPU time each command
 * costs the servers.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const SESSIONS = arg('sessions', 1_000_000);
const CONCURRENCY = arg('concurrency', 50);
const SECONDS = arg('seconds', 5);
const RUNS = arg('runs', 1);
const i1 = process.argv.indexOf('--also');
const ALSO = i1 >= 0 ? path.resolve(process.argv[i1 + 1]) : undefined;
const i0 = process.argv.indexOf('--backends');
const BACKENDS = new Set((i0 >= 0 ? process.argv[i0 + 1] : 'redis,memcached,cluster').split(','));
/** A real TLS 1.2 server session as Apache stores it (no client certificate), 153 bytes. */
const VECTOR = '07-server-tls12-dhe-rsa-aes128gcm-alpn';

const { openStore } = await import(path.join(ROOT, 'dist/lib/store/open.js'));
const { memcachedServerIndex } = await import(path.join(ROOT, 'dist/lib/store/apache.js'));
const { PAGE_SCRIPT } = await import(path.join(ROOT, 'dist/lib/store/redis.js'));

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Wall time and peak RSS (GNU time) of one command; its stdout is counted in lines, like `| wc -l`, and its first MiB kept. */
function measure(label, argv) {
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/time', ['-f', '%e %M', ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', OCLIF_SKIP_NEW_VERSION_CHECK: 'true' } });
    let lines = 0;
    let bytes = 0;
    const head = [];
    child.stdout.on('data', (chunk) => {
      if (bytes < 1 << 20) head.push(chunk);
      bytes += chunk.length;
      for (let i = chunk.indexOf(10); i >= 0; i = chunk.indexOf(10, i + 1)) lines += 1;
    });
    let err = '';
    child.stderr.on('data', (chunk) => (err += chunk));
    child.on('close', (code) => {
      const m = /([\d.]+) (\d+)\s*$/.exec(err.trim());
      if (code !== 0 || !m) return reject(new Error(`${label} failed (exit ${code}): ${err.slice(-2000)}`));
      resolve({ label, wall: Number(m[1]), rssMiB: Number(m[2]) / 1024, lines, bytes, head: Buffer.concat(head).toString() });
    });
  });
}

/** Fill Redis with `n` Apache-layout sessions through redis-cli --pipe (RESP on stdin). */
async function fill(port, der, idOffset, n, wanted = () => true) {
  const child = spawn('redis-cli', ['-p', String(port), '--pipe'], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const done = new Promise((resolve) => child.on('close', resolve));
  const id = Buffer.alloc(32, 0x5a);
  const chunks = [];
  let size = 0;
  for (let i = 0; i < n; i++) {
    id.writeUInt32BE(Math.imul(i + 1, 2654435761) >>> 0, 0);
    id.writeUInt32BE(i, 28);
    const value = Buffer.from(der);
    id.copy(value, idOffset);
    const key = `mod_ssl-sess:${id.toString('hex')}`;
    if (!wanted(key)) continue;
    const ttl = String(3600 + (i % 3600));
    const head = `*4\r\n$5\r\nSETEX\r\n$${key.length}\r\n${key}\r\n$${ttl.length}\r\n${ttl}\r\n$${value.length}\r\n`;
    chunks.push(Buffer.from(head), value, Buffer.from('\r\n'));
    size += head.length + value.length + 2;
    if (size > 4 << 20) {
      if (!child.stdin.write(Buffer.concat(chunks))) await new Promise((r) => child.stdin.once('drain', r));
      chunks.length = 0;
      size = 0;
    }
  }
  child.stdin.end(Buffer.concat(chunks));
  await done;
  if (!/errors: 0, replies: \d+/.test(out)) throw new Error(`redis-cli --pipe: ${out}`);
}

/** Lookups per second through the backend: `concurrency` callers, each awaiting one lookup at a time. */
async function backendLookups(url, keys, concurrency, seconds) {
  const store = await openStore(url);
  try {
    let done = 0;
    let misses = 0;
    const deadline = Date.now() + seconds * 1000;
    const start = process.hrtime.bigint();
    await Promise.all(
      Array.from({ length: concurrency }, async (_x, w) => {
        let i = w * 7919;
        while (Date.now() < deadline) {
          const entry = await store.lookup(keys[i++ % keys.length]);
          if (entry === undefined) misses += 1;
          done += 1;
        }
      }),
    );
    const elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    if (misses > 0) throw new Error(`${misses} lookups missed`);
    return done / elapsed;
  } finally {
    await store.terminate();
  }
}

function redisBenchmarkGets(port, valueSize, concurrency) {
  const csv = execFileSync('redis-benchmark', ['-p', String(port), '-t', 'set,get', '-n', '200000', '-r', '100000', '-d', String(valueSize), '-c', String(concurrency), '--csv'], { maxBuffer: 1 << 24 }).toString();
  const line = csv.split('\n').find((l) => l.startsWith('"GET"'));
  return Number(JSON.parse(`[${line}]`)[1]);
}

const facts = JSON.parse(readFileSync(path.join(ROOT, 'test/fixtures/vectors', `${VECTOR}.json`), 'utf8'));
const der = readFileSync(path.join(ROOT, 'test/fixtures/vectors', `${VECTOR}.der`));
const idOffset = der.indexOf(Buffer.from(facts.session_id_hex, 'hex'));
const bin = path.join(ROOT, 'bin/run.js');
const row = (r, ref) => `${r.label.padEnd(34)} ${r.wall.toFixed(2).padStart(7)} s  ${(r.rssMiB?.toFixed(0) ?? '-').padStart(5)} MiB peak RSS  ${(r.wall / ref.wall).toFixed(1).padStart(5)}x reference`;

/** CPU seconds the servers' processes (pids) have used so far, from /proc (utime + stime, in clock ticks of 1/100 s). */
function serversCpu(pids) {
  return pids.reduce((sum, pid) => {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return sum + (Number(fields[11]) + Number(fields[12])) / 100;
  }, 0);
}

/**
 * sessctl stats --json and list --json against `reference`, alternating, `runs` times each; counts checked.
 * `floor` (optional): a command measured in the same alternation, for what no client can go below.
 * `pids`: the servers' processes, whose CPU time each command costs them is printed too.
 * With --also, the other build's stats and list run in the same alternation.
 */
async function versus(url, reference, { runs = RUNS, floor, pids = [] } = {}) {
  const builds = [['', bin], ...(ALSO ? [[' (--also)', path.join(ALSO, 'bin/run.js')]] : [])];
  const results = [];
  const timed = async (label, argv) => {
    const before = serversCpu(pids);
    const r = await measure(label, argv);
    return { ...r, serverCpu: serversCpu(pids) - before };
  };
  const show = (r, ref) => console.log(`${row(r, ref)}  ${r.serverCpu.toFixed(2).padStart(5)} s server CPU`);
  for (let i = 0; i < runs; i++) {
    const ref = await timed(reference.label, reference.argv);
    const low = floor && (await timed(floor.label, floor.argv));
    const run = { ref, low };
    show(ref, ref);
    if (low) show(low, ref);
    for (const [tag, runJs] of builds) {
      const stats = await timed(`sessctl stats --json${tag}`, [process.execPath, runJs, 'stats', '--store', url, '--json']);
      const list = await timed(`sessctl list --json${tag}`, [process.execPath, runJs, 'list', '--store', url, '--json']);
      const { total } = JSON.parse(stats.head);
      if (ref.lines !== SESSIONS || total !== SESSIONS || list.lines !== SESSIONS + 2) {
        // memcached's LRU crawler is no snapshot: an item the LRU maintainer moves during the crawl can be missed (seen once in 100k).
        const off = Math.max(...[ref.lines, total, list.lines - 2].map((n) => Math.abs(n - SESSIONS)));
        if (!reference.approximate || off > SESSIONS / 1000) throw new Error(`counts disagree: reference ${ref.lines}, stats ${total}, list ${list.lines - 2}`);
        console.log(`(counts: reference ${ref.lines}, stats ${total}, list ${list.lines - 2} of ${SESSIONS})`);
      }
      show(stats, ref);
      show(list, ref);
      Object.assign(run, { [`stats${tag}`]: stats, [`list${tag}`]: list });
    }
    results.push(run);
  }
  const median = (xs) => (xs.sort((a, b) => a - b), (xs[Math.floor((xs.length - 1) / 2)] + xs[Math.ceil((xs.length - 1) / 2)]) / 2);
  const ratio = (name) => median(results.map((r) => r[name].wall / r.ref.wall)).toFixed(2);
  const perBuild = builds.map(([tag]) => `stats${tag} ${ratio(`stats${tag}`)}x, list --json${tag} ${ratio(`list${tag}`)}x`).join('; ');
  console.log(`median of ${runs} ratio(s): ${perBuild}${floor ? `, floor ${ratio('low')}x` : ''}; load average ${os.loadavg()[0].toFixed(1)}`);
  return results;
}

/** Redis's own CPU seconds so far (user + system, INFO cpu). */
function redisCpu(port) {
  const info = execFileSync('redis-cli', ['-p', String(port), 'info', 'cpu']).toString();
  return Number(/used_cpu_user:([\d.]+)/.exec(info)[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)[1]);
}

/**
 * The floor of a fold: the fold's own page script (PAGE_SCRIPT, the same
 * arguments) run page after page by a minimal client on a raw socket that only
 * walks each reply's RESP framing and drops it: no ioredis, no entries. What
 * the server needs to produce the data, plus one round trip a page.
 */
async function pageScriptFloor(port) {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const command = (...args) => args.reduce((text, a) => `${text}$${Buffer.byteLength(a)}\r\n${a}\r\n`, `*${args.length}\r\n`);
  let buffer = Buffer.alloc(0);
  let at = 0;
  let wake;
  socket.on('data', (chunk) => {
    buffer = at >= buffer.length ? chunk : Buffer.concat([buffer.subarray(at), chunk]);
    at = 0;
    wake?.();
  });
  const more = () => new Promise((resolve) => (wake = resolve));
  const line = async () => {
    for (;;) {
      const end = buffer.indexOf('\r\n', at);
      if (end >= 0) {
        const text = buffer.toString('latin1', at, end);
        at = end + 2;
        return text;
      }
      await more();
    }
  };
  /** One RESP value: bulk strings as Buffers (views), arrays as arrays. */
  const read = async () => {
    const head = await line();
    const n = Number(head.slice(1));
    if (head[0] === '$') {
      if (n < 0) return null;
      while (buffer.length - at < n + 2) await more();
      const value = buffer.subarray(at, at + n);
      at += n + 2;
      return value;
    }
    if (head[0] === '*') {
      const items = [];
      for (let i = 0; i < n; i++) items.push(await read());
      return items;
    }
    if (head[0] === ':') return n;
    throw new Error(`page script: ${head}`);
  };
  const cpu0 = redisCpu(port);
  const start = process.hrtime.bigint();
  let cursor = '0';
  try {
    do {
      socket.write(command('EVAL', PAGE_SCRIPT, '0', cursor, 'mod_ssl-sess:*', '1000', 'sessctl:meta:{', 'sessctl:mod_ssl-sess:counters'));
      cursor = (await read())[0].toString();
    } while (cursor !== '0');
  } finally {
    socket.destroy();
  }
  return { label: 'page script, raw client (floor)', wall: Number(process.hrtime.bigint() - start) / 1e9, serverCpu: redisCpu(port) - cpu0 };
}

/**
 * Standalone Redis: the reference, sessctl stats/list (this build, and the
 * --also build) and the floor, alternating RUNS times; counts checked; each
 * row with Redis's CPU; medians of the per-run ratios.
 */
async function standaloneRuns(port, url) {
  const builds = [['', bin], ...(ALSO ? [[' (--also)', path.join(ALSO, 'bin/run.js')]] : [])];
  const withCpu = async (run) => {
    const cpu0 = redisCpu(port);
    const result = await run();
    return { ...result, serverCpu: result.serverCpu ?? redisCpu(port) - cpu0 };
  };
  const rows = new Map();
  for (let i = 0; i < RUNS; i++) {
    const ref = await withCpu(() => measure('redis-cli --scan | wc -l', ['redis-cli', '-p', String(port), '--scan', '--pattern', 'mod_ssl-sess:*']));
    if (ref.lines !== SESSIONS) throw new Error(`redis-cli --scan listed ${ref.lines} keys`);
    const results = [ref];
    for (const [tag, runJs] of builds) {
      const stats = await withCpu(() => measure(`sessctl stats --json${tag}`, [process.execPath, runJs, 'stats', '--store', url, '--json']));
      const list = await withCpu(() => measure(`sessctl list --json${tag}`, [process.execPath, runJs, 'list', '--store', url, '--json']));
      const { total } = JSON.parse(stats.head);
      if (total !== SESSIONS || list.lines !== SESSIONS + 2) throw new Error(`counts disagree: scan ${ref.lines}, stats ${total}, list ${list.lines - 2}`);
      results.push(stats, list);
    }
    results.push(await pageScriptFloor(port));
    console.log(`run ${i + 1} of ${RUNS}, load average ${os.loadavg()[0].toFixed(1)}`);
    for (const r of results) {
      console.log(`${row(r, ref)}  ${r.serverCpu.toFixed(2).padStart(6)} s Redis CPU`);
      if (!rows.has(r.label)) rows.set(r.label, []);
      rows.get(r.label).push({ ratio: r.wall / ref.wall, cpuRatio: r.serverCpu / ref.serverCpu });
    }
  }
  const median = (xs) => (xs.sort((a, b) => a - b), (xs[Math.floor((xs.length - 1) / 2)] + xs[Math.ceil((xs.length - 1) / 2)]) / 2);
  console.log(`median of ${RUNS} run(s), wall ratio to the reference (Redis CPU ratio):`);
  for (const [label, xs] of rows) console.log(`  ${label.padEnd(34)} ${median(xs.map((x) => x.ratio)).toFixed(2)}x  (${median(xs.map((x) => x.cpuRatio)).toFixed(2)}x)`);
}

console.log(`bench/redis: ${SESSIONS} sessions of ${der.length} bytes (${VECTOR}); node ${process.version}; ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)} at start`);

if (BACKENDS.has('redis')) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sessctl-bench-redis-'));
  const port = await freePort();
  const pidFile = path.join(dir, 'redis.pid');
  execFileSync('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes', '--pidfile', pidFile, '--dir', dir, '--logfile', path.join(dir, 'redis.log')]);
  try {
    for (let i = 0; i < 100; i++) {
      try {
        if (execFileSync('redis-cli', ['-p', String(port), 'ping']).toString().trim() === 'PONG') break;
      } catch {}
      await sleep(50);
    }
    const url = `redis://127.0.0.1:${port}`;

    console.log(`\nRedis ${execFileSync('redis-server', ['--version']).toString().split(' ')[2]}, Apache's layout`);
    let t = Date.now();
    await fill(port, der, idOffset, SESSIONS);
    const dbsize = Number(execFileSync('redis-cli', ['-p', String(port), 'dbsize']).toString().trim());
    console.log(`\nfilled ${dbsize} keys with redis-cli --pipe in ${((Date.now() - t) / 1000).toFixed(1)} s`);

    await standaloneRuns(port, url);

    // Lookups: keys sampled from the cache (every 10th of the first 100k).
    const keys = [];
    const id = Buffer.alloc(32, 0x5a);
    for (let i = 0; i < Math.min(SESSIONS, 100_000); i += 10) {
      id.writeUInt32BE(Math.imul(i + 1, 2654435761) >>> 0, 0);
      id.writeUInt32BE(i, 28);
      keys.push(id.toString('hex'));
    }
    const ours = await backendLookups(url, keys, CONCURRENCY, SECONDS);
    const reference = redisBenchmarkGets(port, der.length, CONCURRENCY);
    console.log(`${'lookup() through the backend'.padEnd(28)} ${ours.toFixed(0).padStart(8)} lookups/s  (concurrency ${CONCURRENCY}, GET+PTTL+HGETALL pipelined, DER decoded)`);
    console.log(`${'redis-benchmark -t get'.padEnd(28)} ${reference.toFixed(0).padStart(8)} GETs/s     (-c ${CONCURRENCY} -d ${der.length})`);
    console.log(`ratio: backend lookups / redis-benchmark GETs = ${(ours / reference).toFixed(2)}`);
  } finally {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGTERM');
    } catch {}
    await sleep(300);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Two memcached servers, filled in Apache's sharded layout over one pipelined connection each (noreply). */
async function fillMemcached(ports, n) {
  const sockets = await Promise.all(ports.map((p) => new Promise((resolve, reject) => {
    const socket = net.connect({ host: '127.0.0.1', port: p }, () => resolve(socket));
    socket.once('error', reject);
  })));
  const id = Buffer.alloc(32, 0x5a);
  for (let i = 0; i < n; i++) {
    id.writeUInt32BE(Math.imul(i + 1, 2654435761) >>> 0, 0);
    id.writeUInt32BE(i, 28);
    const value = Buffer.from(der);
    id.copy(value, idOffset);
    const key = `mod_ssl-sess:${id.toString('hex')}`;
    const socket = sockets[memcachedServerIndex(key, ports.length)];
    if (!socket.write(Buffer.concat([Buffer.from(`set ${key} 0 ${3600 + (i % 3600)} ${value.length} noreply\r\n`), value, Buffer.from('\r\n')]))) {
      await new Promise((r) => socket.once('drain', r));
    }
  }
  // A last command with a reply: everything before it has been stored.
  await Promise.all(sockets.map((socket) => new Promise((resolve) => {
    socket.once('data', resolve);
    socket.write('mn\r\n');
  })));
  for (const socket of sockets) socket.destroy();
}

if (BACKENDS.has('memcached')) {
  const mdir = mkdtempSync(path.join(os.tmpdir(), 'sessctl-bench-memcached-'));
  const ports = [await freePort(), await freePort()];
  try {
    for (const p of ports) execFileSync('memcached', ['-d', '-l', '127.0.0.1', '-p', String(p), '-U', '0', '-u', 'root', '-m', '1024', '-P', path.join(mdir, `${p}.pid`)]);
    await sleep(300);
    const version = execFileSync('memcached', ['-V']).toString().trim();
    let t = Date.now();
    await fillMemcached(ports, SESSIONS);
    console.log(`\n${version}, two servers, Apache's sharded layout: filled ${SESSIONS} sessions in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    // Both servers' key dumps at once, as the reference lister; sed stops at END.
    const dumpBoth = ports.map((p) => `(exec 3<>/dev/tcp/127.0.0.1/${p}; printf 'lru_crawler metadump all\\r\\n' >&3; sed '/^END/q' <&3 | grep '^key=') &`).join(' ') + ' wait';
    await versus(`memcache://${ports.map((p) => `127.0.0.1:${p}`).join(',')}`, { label: 'lru_crawler metadump x2 (/dev/tcp)', argv: ['bash', '-c', dumpBoth], approximate: true }, {
      floor: { label: 'floor: dump + batched mg, unread', argv: [process.execPath, path.join(ROOT, 'bench/memcached-floor.mjs'), ...ports.map(String)] },
      pids: ports.map((p) => Number(readFileSync(path.join(mdir, `${p}.pid`), 'utf8'))),
    });
  } finally {
    for (const p of ports) {
      try {
        process.kill(Number(readFileSync(path.join(mdir, `${p}.pid`), 'utf8')), 'SIGTERM');
      } catch {}
    }
    await sleep(300);
    rmSync(mdir, { recursive: true, force: true });
  }
}

/** Redis Cluster's key slot: CRC16 (XMODEM) of the key, modulo 16384 (the keys here have no hash tag). */
function keySlot(key) {
  let crc = 0;
  for (let i = 0; i < key.length; i++) {
    crc ^= key.charCodeAt(i) << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

if (BACKENDS.has('cluster')) {
  const cdir = mkdtempSync(path.join(os.tmpdir(), 'sessctl-bench-cluster-'));
  const ports = [];
  while (ports.length < 3) {
    const p = await freePort();
    if (p + 10000 < 65536 && !ports.includes(p)) ports.push(p);
  }
  try {
    for (const p of ports) {
      execFileSync('redis-server', ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes', '--pidfile', path.join(cdir, `${p}.pid`), '--dir', cdir, '--logfile', path.join(cdir, `${p}.log`), '--cluster-enabled', 'yes', '--cluster-config-file', path.join(cdir, `nodes-${p}.conf`), '--cluster-node-timeout', '5000']);
    }
    for (const p of ports) {
      for (let i = 0; i < 100; i++) {
        try {
          if (execFileSync('redis-cli', ['-p', String(p), 'ping']).toString().trim() === 'PONG') break;
        } catch {}
        await sleep(50);
      }
    }
    execFileSync('redis-cli', ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'], { stdio: 'ignore' });
    for (const p of ports) {
      for (let i = 0; i < 400 && !execFileSync('redis-cli', ['-p', String(p), 'cluster', 'info']).toString().includes('cluster_state:ok'); i++) await sleep(50);
    }
    // Which master holds which slots, from CLUSTER NODES: "<id> <ip:port@bus> <flags> ... <from-to>...".
    const owner = new Int32Array(16384);
    for (const line of execFileSync('redis-cli', ['-p', String(ports[0]), 'cluster', 'nodes']).toString().trim().split('\n')) {
      const fields = line.split(' ');
      const p = Number(/:(\d+)@/.exec(fields[1])[1]);
      for (const range of fields.slice(8)) {
        const [from, to = from] = range.split('-').map(Number);
        for (let slot = from; slot <= to; slot++) owner[slot] = p;
      }
    }
    let t = Date.now();
    await Promise.all(ports.map((p) => fill(p, der, idOffset, SESSIONS, (key) => owner[keySlot(key)] === p)));
    const counts = ports.map((p) => Number(execFileSync('redis-cli', ['-p', String(p), 'dbsize']).toString().trim()));
    console.log(`\nRedis Cluster, three masters: filled ${counts.join(' + ')} keys in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const scanAll = ports.map((p) => `redis-cli -p ${p} --scan --pattern 'mod_ssl-sess:*' &`).join(' ') + ' wait';
    await versus(`redis://${ports.map((p) => `127.0.0.1:${p}`).join(',')}?cluster=1`, { label: 'redis-cli --scan x3 masters', argv: ['bash', '-c', scanAll] }, {
      pids: ports.map((p) => Number(readFileSync(path.join(cdir, `${p}.pid`), 'utf8'))),
    });
  } finally {
    for (const p of ports) {
      try {
        process.kill(Number(readFileSync(path.join(cdir, `${p}.pid`), 'utf8')), 'SIGTERM');
      } catch {}
    }
    await sleep(300);
    rmSync(cdir, { recursive: true, force: true });
  }
}
