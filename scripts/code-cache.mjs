#!/usr/bin/env node
/**
 * Writes dist/sessctl.cjs.cache, the V8 code cache bin/run.js compiles the
 * bundle with (bin/load-bundle.js). V8 caches the functions compiled so far,
 * so this runs, in this process, the commands whose start-up an operator
 * waits on (--version, get --in FILE, insert and list on a cache file) before
 * taking the cache. scripts/bundle.mjs runs this with its output discarded.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CODE_CACHE, loadBundle } from '../bin/load-bundle.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const session = path.join(root, 'examples/sessions/01-client-tls12-ecdhe-rsa-aes256gcm-sni-ticket.pem');
const dir = mkdtempSync(path.join(os.tmpdir(), 'sessctl-code-cache-'));
const store = path.join(dir, 'sessions.db');
const run = { loadOptions: { root } };

const { exports, script } = loadBundle();
try {
  for (const argv of [['--version'], ['get', '--in', session], ['insert', '--keep-expired', session, '--store', store], ['list', '--store', store], ['list', '--store', store, '--json']]) {
    await exports.execute({ ...run, args: argv });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
writeFileSync(CODE_CACHE, script.createCachedData());
