// bench/store: the cache file (SQLite) holding 1,000,000 sessions, against an
// in-process Map (the ceiling) and Redis through ioredis (the network
// alternative), plus wall time and peak RSS of `list --json` and `stats` over
// that file. Runs over the built library: `npm run build && node bench/store.mjs`.
//
//   node bench/store.mjs [--sessions N] [--lookups N] [--inserts N]
//
// Prints a Markdown section for docs/BENCHMARKS.md.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { entry, keyOf, vectorDer, VECTOR } from './sessions.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    sessions: { type: 'string', default: '1000000' },
    lookups: { type: 'string', default: '200000' },
    inserts: { type: 'string', default: '20000' },
  },
});
const SESSIONS = Number(args.sessions);
const LOOKUPS = Number(args.lookups);
const INSERTS = Number(args.inserts);

const { FileStore } = await import(path.join(ROOT, 'dist/lib/store/file.js'));

const now = Math.floor(Date.now() / 1000);

function* entries(from, to) {
  for (let n = from; n < to; n++) yield entry(n);
}

/** A fixed pseudo-random sample of existing session numbers (xorshift, seeded). */
function sample(count, max) {
  let x = 0x9e3779b9;
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    out[i] = x % max;
  }
  return out;
}

const rate = (count, ms) => Math.round((count / ms) * 1000);
const fmt = (n) => n.toLocaleString('en-US');
const seconds = (ms) => `${(ms / 1000).toFixed(2)} s`;
/** Wall time, and this process's CPU time (the machine may be shared: CPU time is the steadier measure). */
async function timed(fn) {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await fn();
  const cpu = process.cpuUsage(c0);
  return { ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, result };
}

const results = { sessions: SESSIONS, loadBefore: os.loadavg()[0] };
const lookupKeys = Array.from(sample(LOOKUPS, SESSIONS), keyOf);

// --- 1. The cache file.
const dir = path.join(ROOT, '.bench', 'store');
mkdirSync(dir, { recursive: true, mode: 0o700 });
const file = path.join(dir, 'sessions-1m.db');
for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
const store = await FileStore.open(file);
const load = await timed(async () => {
  // One transaction per 100k rows: the raw batch insert, with bounded memory for the generator.
  for (let from = 0; from < SESSIONS; from += 100_000) await store.updateMany(entries(from, Math.min(SESSIONS, from + 100_000)));
});
results.fileLoad = { ms: load.ms, rate: rate(SESSIONS, load.ms) };
process.stderr.write(`loaded ${fmt(SESSIONS)} sessions in ${seconds(load.ms)}\n`);

// One pass first, as a running TLS server would have made: the pages the lookups touch are mapped (mmap is on by default).
for (const key of lookupKeys) await store.lookup(key);
const fileLookups = await timed(async () => {
  let found = 0;
  for (const key of lookupKeys) if ((await store.lookup(key)) !== undefined) found += 1;
  if (found !== LOOKUPS) throw new Error(`only ${found} of ${LOOKUPS} lookups hit`);
});
results.fileLookup = rate(LOOKUPS, fileLookups.ms);
results.fileLookupCpu = rate(LOOKUPS, fileLookups.cpuMs);

const fileInserts = await timed(async () => {
  for (const e of entries(SESSIONS, SESSIONS + INSERTS)) await store.update(e);
});
results.fileInsert = rate(INSERTS, fileInserts.ms);
results.fileInsertCpu = rate(INSERTS, fileInserts.cpuMs);
for (let n = SESSIONS; n < SESSIONS + INSERTS; n++) await store.delete(keyOf(n));
const size = await store.size();
if (size !== SESSIONS) throw new Error(`expected ${SESSIONS} sessions, found ${size}`);
await store.terminate();
// Fold the WAL into the main file, as it would be after a quiet period.
{
  const Database = (await import('better-sqlite3')).default;
  const db = new Database(file);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}
results.fileBytes = statSync(file).size;
process.stderr.write(`file: ${fmt(results.fileLookup)} lookups/s, ${fmt(results.fileInsert)} inserts/s\n`);

// The same lookups without mmap (`file:PATH?mmap=0`: pread for every page; see FileStoreOptions.mmapBytes).
{
  const unmapped = await FileStore.open(file, { mmapBytes: 0 });
  for (const key of lookupKeys) await unmapped.lookup(key);
  const t = await timed(async () => {
    for (const key of lookupKeys) if ((await unmapped.lookup(key)) === undefined) throw new Error('lookup without mmap missed');
  });
  results.preadLookup = rate(LOOKUPS, t.ms);
  results.preadLookupCpu = rate(LOOKUPS, t.cpuMs);
  await unmapped.terminate();
}
process.stderr.write(`file without mmap: ${fmt(results.preadLookup)} lookups/s\n`);

// --- 2. The ceiling: a Map in this process (same keys, same DER sizes).
{
  const map = new Map();
  for (let n = 0; n < SESSIONS; n++) map.set(keyOf(n), { der: vectorDer, expiresAt: now + 3600 });
  const lookups = await timed(async () => {
    let found = 0;
    for (const key of lookupKeys) if (map.get(key) !== undefined) found += 1;
    if (found !== LOOKUPS) throw new Error('map lookups missed');
  });
  const newKeys = Array.from({ length: INSERTS }, (_, i) => keyOf(SESSIONS + i));
  const inserts = await timed(async () => {
    for (const key of newKeys) map.set(key, { der: Buffer.from(vectorDer), expiresAt: now + 3600 });
  });
  results.mapLookup = rate(LOOKUPS, lookups.ms);
  results.mapInsert = rate(INSERTS, inserts.ms);
  results.mapLookupCpu = rate(LOOKUPS, lookups.cpuMs);
  results.mapInsertCpu = rate(INSERTS, inserts.cpuMs);
  map.clear();
}
process.stderr.write(`map: ${fmt(results.mapLookup)} lookups/s, ${fmt(results.mapInsert)} inserts/s\n`);

// --- 3. Redis through ioredis: one awaited GET / SETEX per operation, as a TLS server would.
const redisServer = ['/usr/bin/redis-server', '/usr/sbin/redis-server'].find((p) => existsSync(p));
if (redisServer) {
  const port = await new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'sessctl-bench-redis-'));
  const child = spawn(redisServer, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmp], { stdio: 'ignore' });
  try {
    const { Redis } = await import('ioredis');
    const redis = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
    for (let i = 0; ; i++) {
      try {
        await redis.connect();
        break;
      } catch (err) {
        if (i > 50) throw err;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    // Apache mod_ssl's layout: mod_ssl-sess:<hex id> -> DER, with a TTL.
    const redisKey = (key) => `mod_ssl-sess:${key}`;
    for (let from = 0; from < SESSIONS; from += 10_000) {
      const pipe = redis.pipeline();
      for (let n = from; n < Math.min(SESSIONS, from + 10_000); n++) pipe.setex(redisKey(keyOf(n)), 3600, vectorDer);
      await pipe.exec();
    }
    const redisLookups = Math.min(LOOKUPS, 50_000);
    const lookups = await timed(async () => {
      let found = 0;
      for (let i = 0; i < redisLookups; i++) if ((await redis.getBuffer(redisKey(lookupKeys[i]))) !== null) found += 1;
      if (found !== redisLookups) throw new Error('redis lookups missed');
    });
    const inserts = await timed(async () => {
      for (let n = SESSIONS; n < SESSIONS + INSERTS; n++) await redis.setex(redisKey(keyOf(n)), 3600, vectorDer);
    });
    results.redisLookup = rate(redisLookups, lookups.ms);
    results.redisInsert = rate(INSERTS, inserts.ms);
    results.redisVersion = (await redis.info('server')).match(/redis_version:(\S+)/)?.[1];
    redis.disconnect();
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(tmp, { recursive: true, force: true });
  }
  process.stderr.write(`redis: ${fmt(results.redisLookup)} lookups/s, ${fmt(results.redisInsert)} inserts/s\n`);
}

// --- 4. The CLI over the 1M-session file: wall time and peak RSS (GNU time).
function measureCli(argv) {
  const bin = path.join(ROOT, 'bin/run.js');
  if (!existsSync(bin) || !existsSync(path.join(ROOT, 'dist/commands', `${argv[0]}.js`))) return { missing: true };
  const r = spawnSync('/usr/bin/time', ['-v', process.execPath, bin, ...argv, '--store', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', OCLIF_SKIP_NEW_VERSION_CHECK: 'true' },
    maxBuffer: 64 * 1024 * 1024,
  });
  const err = r.stderr.toString();
  const rssKb = Number(err.match(/Maximum resident set size \(kbytes\): (\d+)/)?.[1]);
  const wall = err.match(/Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)/)?.[1] ?? '';
  const wallSeconds = wall.split(':').reduce((acc, part) => acc * 60 + Number(part), 0);
  const exit = Number(err.match(/Exit status: (\d+)/)?.[1] ?? r.status);
  const cpuSeconds = Number(err.match(/User time \(seconds\): (\S+)/)?.[1]) + Number(err.match(/System time \(seconds\): (\S+)/)?.[1]);
  return { rssMb: rssKb / 1024, wallSeconds, cpuSeconds, exit, error: exit === 0 ? undefined : err.split('\n').find((l) => l.trim() !== '') };
}
if (existsSync('/usr/bin/time')) {
  results.list = measureCli(['list', '--json']);
  results.stats = measureCli(['stats']);
}

// --- Report.
const lines = [];
const ratio = (a, b) => (b ? `${(a / b).toFixed(2)}x` : '-');
lines.push(`### ${new Date().toISOString().slice(0, 10)} — ${fmt(SESSIONS)} sessions (${VECTOR}, ${vectorDer.length} B of DER each), ${os.cpus().length} CPUs, Node ${process.version}`);
lines.push('');
lines.push(`Cache file: ${(results.fileBytes / 1024 / 1024).toFixed(0)} MiB, bulk-loaded at ${fmt(results.fileLoad.rate)} sessions/s (${seconds(results.fileLoad.ms)}, transactions of 100k).`);
lines.push('');
lines.push(`Load average ${results.loadBefore.toFixed(1)} before, ${os.loadavg()[0].toFixed(1)} after. Rates are per wall-clock second; "per CPU s" divides by this process's CPU time instead (steadier on a shared machine; not meaningful for Redis, whose work is in the server).`);
lines.push('');
lines.push('| store | lookups/s | per CPU s | vs Map | inserts/s (one commit each) | per CPU s | vs Map |');
lines.push('|---|---:|---:|---:|---:|---:|---:|');
lines.push(`| Map in process (ceiling) | ${fmt(results.mapLookup)} | ${fmt(results.mapLookupCpu)} | 1.00x | ${fmt(results.mapInsert)} | ${fmt(results.mapInsertCpu)} | 1.00x |`);
lines.push(`| cache file (FileStore, SQLite WAL, mmap: the default) | ${fmt(results.fileLookup)} | ${fmt(results.fileLookupCpu)} | ${ratio(results.fileLookup, results.mapLookup)} | ${fmt(results.fileInsert)} | ${fmt(results.fileInsertCpu)} | ${ratio(results.fileInsert, results.mapInsert)} |`);
lines.push(`| cache file with \`?mmap=0\` (pread) | ${fmt(results.preadLookup)} | ${fmt(results.preadLookupCpu)} | ${ratio(results.preadLookup, results.mapLookup)} | - | - | - |`);
if (results.redisLookup) {
  lines.push(`| Redis ${results.redisVersion ?? ''} via ioredis, loopback, awaited GET/SETEX | ${fmt(results.redisLookup)} | - | ${ratio(results.redisLookup, results.mapLookup)} | ${fmt(results.redisInsert)} | - | ${ratio(results.redisInsert, results.mapInsert)} |`);
}
lines.push('');
if (results.redisLookup) lines.push(`Cache file vs Redis: ${ratio(results.fileLookup, results.redisLookup)} the lookups, ${ratio(results.fileInsert, results.redisInsert)} the inserts.`);
lines.push(`Target >= 100,000 lookups/s: ${results.fileLookup >= 100_000 ? 'met' : 'NOT met'} (${fmt(results.fileLookup)}/s by default).`);
lines.push('');
for (const [name, m] of [['list --json', results.list], ['stats', results.stats]]) {
  if (m === undefined) lines.push(`- \`sessctl ${name}\`: not measured (/usr/bin/time missing)`);
  else if (m.missing) lines.push(`- \`sessctl ${name}\`: not measured (the command is not built)`);
  else if (m.exit !== 0) lines.push(`- \`sessctl ${name} --store FILE\`: FAILED (exit ${m.exit}): ${m.error}`);
  else lines.push(`- \`sessctl ${name} --store FILE\`: ${m.wallSeconds.toFixed(2)} s wall (${m.cpuSeconds.toFixed(2)} s CPU), peak RSS ${m.rssMb.toFixed(0)} MB`);
}
if (results.stats && !results.stats.missing && results.stats.exit === 0) {
  lines.push(`- stats target (a few seconds, < 300 MB RSS): ${results.stats.wallSeconds <= 5 && results.stats.rssMb < 300 ? 'met' : 'NOT met'}`);
}
process.stdout.write(`${lines.join('\n')}\n`);
