#!/usr/bin/env node
// Start-up cost of the CLI: `sessctl get --in FILE` against `node -e 0` (the
// floor) in the same run, alternating, median of N runs each. Target: <= 3x.
// Run after `npm run build`: node bench/startup.mjs [runs]
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(process.argv[2] ?? 21);
const file = path.join(root, 'test/fixtures/vectors/01-client-tls12-ecdhe-rsa-aes256gcm-sni-ticket.pem');
const env = { ...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true', NO_COLOR: '1' };

function time(args) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${args.join(' ')} failed: ${r.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const floor = [];
const get = [];
const help = [];
for (let i = 0; i < runs; i++) {
  floor.push(time(['-e', '0']));
  get.push(time([path.join(root, 'bin/run.js'), 'get', '--in', file]));
  help.push(time([path.join(root, 'bin/run.js'), '--version']));
}
const load = os.loadavg().map((l) => l.toFixed(1)).join(' ');
const f = median(floor);
const g = median(get);
const h = median(help);
// Ratios grow with the machine's load (the CLI uses more threads than node -e 0): say what it was.
console.log(`load average ${load} (${os.cpus().length} CPUs), Node ${process.version}`);
console.log(`node -e 0                 ${f.toFixed(1)} ms (median of ${runs})`);
console.log(`sessctl --version         ${h.toFixed(1)} ms  ${(h / f).toFixed(2)}x`);
console.log(`sessctl get --in FILE     ${g.toFixed(1)} ms  ${(g / f).toFixed(2)}x  (target <= 3x)`);
