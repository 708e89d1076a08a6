#!/usr/bin/env node
// Start-up cost of the CLI against `node -e 0` (the floor) in the same run:
// `sessctl --version`, `get --in FILE` and `list` on a small cache file
// (8 sessions). Alternating runs; a ratio is each run's time over the
// `node -e 0` run just before it, and the figure is the median of those
// ratios. CPU time (user + system, from /proc/self/stat's children times, in
// 10 ms ticks) is the mean per run: steadier than wall time on a busy machine.
// Target (#17): get --in FILE and list within 1.5x of node -e 0.
// The floor rows (bench/startup-floor.cjs) write the same output as get --in
// and list after only the work that needs Node's heavier parts (node:crypto,
// better-sqlite3): what any implementation without oclif would still pay.
// Run after `npm run build`: node bench/startup.mjs [runs] [--before DIR]
// --before DIR: also runs the same commands from DIR, a copy of an earlier
// build (its bin/, dist/, package.json and oclif.manifest.json, with a
// node_modules link), in the same alternation: a change measured against the
// build before it in the same run, as docs/BENCHMARKS.md records each lever.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const beforeAt = argv.indexOf('--before');
const before = beforeAt >= 0 ? path.resolve(argv.splice(beforeAt, 2)[1]) : undefined;
const runs = Number(argv[0] ?? 21);
const sessions = path.join(root, 'examples/sessions');
const file = path.join(sessions, '01-client-tls12-ecdhe-rsa-aes256gcm-sni-ticket.pem');
const env = { ...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true', NO_COLOR: '1' };
const bin = path.join(root, 'bin/run.js');
const dir = mkdtempSync(path.join(os.tmpdir(), 'sessctl-bench-startup-'));
const store = path.join(dir, 'sessions.db');

function run(args) {
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
}
run([bin, 'insert', '--keep-expired', ...readdirSync(sessions).filter((f) => f.endsWith('.pem')).map((f) => path.join(sessions, f)), '--store', store]);
/** What a command writes, kept for the floor to write. */
function capture(args, name) {
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  writeFileSync(path.join(dir, name), r.stdout);
  return path.join(dir, name);
}
const floorScript = path.join(root, 'bench/startup-floor.cjs');
const getOutput = capture([bin, 'get', '--in', file], 'get.out');
const listOutput = capture([bin, 'list', '--store', store], 'list.out');

/** CPU time of this process's waited-for children so far, in ms (Linux). */
function childrenCpuMs() {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return ((Number(fields[13]) + Number(fields[14])) * 1000) / 100;
}

const commands = (bin, label) => [
  { name: `${label}--version`, args: [bin, '--version'] },
  { name: `${label}get --in FILE`, args: [bin, 'get', '--in', file], target: 1.5 },
  { name: `${label}list (8 sessions)`, args: [bin, 'list', '--store', store], target: 1.5 },
];
const after = commands(bin, 'sessctl ');
const earlier = before ? commands(path.join(before, 'bin/run.js'), 'before: ').map(({ target, ...c }) => c) : [];
// Each command from both builds one after the other, which goes first alternating by round.
const cases = [
  { name: 'node -e 0', args: ['-e', '0'] },
  { name: 'floor: get --in FILE', args: [floorScript, 'get', file, getOutput] },
  { name: 'floor: list', args: [floorScript, 'list', store, listOutput] },
  ...after.flatMap((c, i) => (before ? [c, earlier[i]] : [c])),
];
for (const c of cases) Object.assign(c, { wall: [], cpu: 0 });
/** The cases with each after/before pair in the other order (node -e 0 and the floors stay first). */
function swapPairs([floor, floorGet, floorList, ...rest]) {
  const out = [floor, floorGet, floorList];
  for (let i = 0; i < rest.length; i += 2) out.push(rest[i + 1], rest[i]);
  return out;
}
const load0 = os.loadavg()[0].toFixed(1);
for (let i = 0; i < runs; i++) {
  for (const c of i % 2 && before ? swapPairs(cases) : cases) {
    const cpu0 = childrenCpuMs();
    const t0 = process.hrtime.bigint();
    run(c.args);
    c.wall.push(Number(process.hrtime.bigint() - t0) / 1e6);
    c.cpu += childrenCpuMs() - cpu0;
  }
}
rmSync(dir, { recursive: true, force: true });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const floor = cases[0];
// Ratios grow with the machine's load (the CLI uses more threads than node -e 0): say what it was.
console.log(`load average ${load0} at start, ${os.loadavg()[0].toFixed(1)} at end (${os.cpus().length} CPUs), Node ${process.version}, ${runs} alternating runs`);
for (const c of cases) {
  const ratio = median(c.wall.map((w, i) => w / floor.wall[i]));
  const cpu = c.cpu / runs;
  const verdict = c.target === undefined ? '' : `  target <= ${c.target}x: ${ratio <= c.target ? 'met' : 'NOT met'}`;
  console.log(`${c.name.padEnd(26)} ${median(c.wall).toFixed(1).padStart(7)} ms  ${ratio.toFixed(2)}x   CPU ${cpu.toFixed(0).padStart(4)} ms  ${(cpu / (floor.cpu / runs)).toFixed(2)}x${verdict}`);
}
