// bench/probe: `sessctl probe` of 3 targets x 20 connections against the same
// number of `openssl s_client` handshakes to the same servers in the same run
// (half of them offering a saved session with -sess_in, as half the probe's
// connections do). Target: the probe takes no more than about the
// handshakes' own time.
//
// The targets are three `openssl s_server` processes (tickets and a session
// cache on), TLS 1.2 for both sides, so every handshake does the same work.
// The probe is timed twice: the library call (probe() from dist/, what the
// handshakes cost through Node) and the CLI (`node bin/run.js probe`, which
// adds Node's and oclif's start-up). Rounds alternate the three, and each
// ratio is the median of the rounds' ratios (the machine is shared).
//
//   npm run build && node bench/probe.mjs [--connections 20] [--rounds 3]
//
// Prints a Markdown section for docs/BENCHMARKS.md.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({ options: { connections: { type: 'string', default: '20' }, rounds: { type: 'string', default: '3' } } });
const CONNECTIONS = Number(args.connections);
const ROUNDS = Number(args.rounds);
const TARGETS = 3;

const { probe } = await import(path.join(ROOT, 'dist/lib/probe/run.js'));
const { parseTarget } = await import(path.join(ROOT, 'dist/lib/probe/connection.js'));

const dir = mkdtempSync(path.join(os.tmpdir(), 'sessctl-bench-probe-'));
const cert = path.join(dir, 'cert.pem');
const key = path.join(dir, 'key.pem');
spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });

const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
const listening = (port) =>
  new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

const servers = [];
const ports = [];
for (let i = 0; i < TARGETS; i++) {
  const port = await freePort();
  servers.push(spawn('openssl', ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', cert, '-key', key, '-quiet'], { stdio: 'ignore' }));
  ports.push(port);
}
for (const port of ports) while (!(await listening(port))) await new Promise((r) => setTimeout(r, 50));

const targets = ports.map((p) => `127.0.0.1:${p}`);
const now = () => performance.now();

async function libraryRun() {
  const t = now();
  const report = await probe({ targets: targets.map(parseTarget), snis: [], connections: CONNECTIONS, tls: '1.2', timeoutMs: 5000, insecure: true });
  return { ms: now() - t, handshakes: report.connections.length, verdict: report.verdict };
}

function cliRun() {
  const t = now();
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/run.js'), 'probe', ...targets, '--connections', String(CONNECTIONS), '--tls', '1.2', '--insecure', '--json'], {
    encoding: 'utf8',
    env: { ...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true' },
    maxBuffer: 64 << 20,
  });
  const ms = now() - t;
  return { ms, handshakes: JSON.parse(r.stdout).connections.length };
}

/** `handshakes` s_client runs over the targets in turn; every second one offers the session the previous one saved. */
function sClientRun(handshakes) {
  const t = now();
  let reused = 0;
  for (let i = 0; i < handshakes; i++) {
    const port = ports[Math.floor(i / 2) % TARGETS];
    const sess = path.join(dir, `s-${port}.pem`);
    const a = ['s_client', '-connect', `127.0.0.1:${port}`, '-tls1_2', ...(i % 2 === 0 ? ['-sess_out', sess] : ['-sess_in', sess])];
    const r = spawnSync('openssl', a, { input: '', encoding: 'utf8' });
    if (/^Reused,/m.test(r.stdout)) reused++;
  }
  return { ms: now() - t, reused };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const rows = [];
await libraryRun(); // warm-up: the first TLS context and the codec's first use
for (let round = 0; round < ROUNDS; round++) {
  const lib = await libraryRun();
  const cli = cliRun();
  const ref = sClientRun(lib.handshakes);
  rows.push({ lib, cli, ref });
}
for (const s of servers) s.kill('SIGTERM');
rmSync(dir, { recursive: true, force: true });

const f = (ms) => `${(ms / 1000).toFixed(2)} s`;
const handshakes = rows[0].lib.handshakes;
console.log(`## bench/probe (${new Date().toISOString().slice(0, 10)})\n`);
console.log(`${TARGETS} targets (openssl s_server, tickets and a session cache) x --connections ${CONNECTIONS}, TLS 1.2: the probe makes ${handshakes} handshakes`);
console.log(`(tickets, session IDs, the cross-target matrix); the reference is ${handshakes} \`openssl s_client\` runs, every second one with -sess_in.`);
console.log(`${os.cpus().length} CPUs, Node ${process.version}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} at the end.\n`);
console.log('| round | probe() (library) | sessctl probe (CLI) | s_client x N | library / s_client | CLI / s_client | per handshake (library) | verdict |');
console.log('|---|---|---|---|---|---|---|---|');
rows.forEach((r, i) =>
  console.log(
    `| ${i + 1} | ${f(r.lib.ms)} | ${f(r.cli.ms)} | ${f(r.ref.ms)} (${r.ref.reused} reused) | ${(r.lib.ms / r.ref.ms).toFixed(2)} | ${(r.cli.ms / r.ref.ms).toFixed(2)} | ${(r.lib.ms / r.lib.handshakes).toFixed(1)} ms | ${r.lib.verdict} |`,
  ),
);
console.log(`\nMedian ratios: library ${median(rows.map((r) => r.lib.ms / r.ref.ms)).toFixed(2)}x, CLI ${median(rows.map((r) => r.cli.ms / r.ref.ms)).toFixed(2)}x of the s_client runs.`);
