#!/usr/bin/env node
// CommonJS (bin/package.json): an ES-module entry starts Node's ESM loader and
// makes each `import from 'node:fs'` a facade that loads every lazy part of fs
// (its streams): about 10 ms of `sessctl get` (docs/BENCHMARKS.md, bench/startup).
'use strict';
const path = require('node:path');
const { loadBundle } = require('./load-bundle.js');

process.env.OCLIF_SKIP_NEW_VERSION_CHECK ??= 'true';
// `sessctl list | head`: when the reader goes away, stop quietly as cat does (128 + SIGPIPE).
const EXIT_SIGPIPE = 141;
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(EXIT_SIGPIPE);
  throw err;
});
// The CLI and @oclif/core in one file with its code cache (scripts/bundle.mjs, bench/startup.mjs).
// The root is given: oclif would look for it from here and take bin/package.json.
void loadBundle().exports.execute({ loadOptions: { root: path.resolve(__dirname, '..') } });
