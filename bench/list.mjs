#!/usr/bin/env node
// `sessctl list` as a table against `sessctl list --json` (the reference) on
// the same cache file of N sessions, in the same run: alternating runs, the
// median of the per-pair ratios table/json. Output goes to a pipe that is
// read and dropped (as `| less` would). Target: table within 1.5x of --json.
// Run after `npm run build`: node bench/list.mjs [--sessions 100000] [--runs 5]
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { entry } from './sessions.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({ options: { sessions: { type: 'string', default: '100000' }, runs: { type: 'string', default: '5' } } });
const SESSIONS = Number(args.sessions);
const RUNS = Number(args.runs);

const { FileStore } = await import(path.join(ROOT, 'dist/lib/store/file.js'));
const SNIS = ['shop.example.com', 'login.corp.test', 'cdn.shared-demo.test', undefined];
const entryOf = (n) => entry(n, { role: n % 7 === 0 ? 'client' : 'server', sni: SNIS[n % SNIS.length] });
function* entries(from, to) {
  for (let n = from; n < to; n++) yield entryOf(n);
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'sessctl-bench-list-'));
const file = path.join(dir, 'sessions.db');
try {
  const store = await FileStore.open(file);
  for (let from = 0; from < SESSIONS; from += 50_000) await store.updateMany(entries(from, Math.min(SESSIONS, from + 50_000)));
  await store.terminate();

  const env = { ...process.env, OCLIF_SKIP_NEW_VERSION_CHECK: 'true', NO_COLOR: '1', SESSCTL_CONFIG: path.join(dir, 'none.json') };
  /** Milliseconds for one run; stdout read and dropped, and counted to check the run printed every session. */
  function time(extra) {
    return new Promise((resolve, reject) => {
      const t0 = process.hrtime.bigint();
      const child = spawn(process.execPath, [path.join(ROOT, 'bin/run.js'), 'list', '--store', file, ...extra], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let lines = 0;
      let err = '';
      child.stdout.on('data', (d) => {
        for (let i = d.indexOf(10); i !== -1; i = d.indexOf(10, i + 1)) lines += 1;
      });
      child.stderr.on('data', (d) => (err += d));
      child.on('close', (code) => {
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (code !== 0) return reject(new Error(`list ${extra.join(' ')} failed: ${err}`));
        // A table: a header and a line per session; JSON: "[", a line per session, "]".
        if (lines < SESSIONS + 1) return reject(new Error(`list ${extra.join(' ')} printed ${lines} lines for ${SESSIONS} sessions`));
        resolve(ms);
      });
    });
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const json = [];
  const table = [];
  const wide = [];
  const ratios = [];
  const wideRatios = [];
  for (let i = 0; i < RUNS; i++) {
    const j = await time(['--json']);
    const t = await time([]);
    const w = await time(['--wide']);
    json.push(j);
    table.push(t);
    wide.push(w);
    ratios.push(t / j);
    wideRatios.push(w / j);
  }
  console.log(`list, ${SESSIONS} sessions in a cache file, ${RUNS} alternating runs, ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(2)}`);
  console.log(`  --json (reference): median ${median(json).toFixed(0)} ms`);
  console.log(`  table             : median ${median(table).toFixed(0)} ms, median ratio to --json ${median(ratios).toFixed(2)}x (target <= 1.5x)`);
  console.log(`  table --wide      : median ${median(wide).toFixed(0)} ms, median ratio to --json ${median(wideRatios).toFixed(2)}x (reads and decodes every DER)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
