#!/usr/bin/env node
import { loadBundle } from './load-bundle.js';

process.env.OCLIF_SKIP_NEW_VERSION_CHECK ??= 'true';
// `sessctl list | head`: when the reader goes away, stop quietly as cat does (128 + SIGPIPE).
const EXIT_SIGPIPE = 141;
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(EXIT_SIGPIPE);
  throw err;
});
// The CLI and @oclif/core in one file with its code cache (scripts/bundle.mjs, bench/startup.mjs).
await loadBundle().exports.execute({ dir: import.meta.url });
