#!/usr/bin/env node
import { createRequire } from 'node:module';

process.env.OCLIF_SKIP_NEW_VERSION_CHECK ??= 'true';
// `sessctl list | head`: when the reader goes away, stop quietly as cat does (128 + SIGPIPE).
const EXIT_SIGPIPE = 141;
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(EXIT_SIGPIPE);
  throw err;
});
// @oclif/core is CommonJS: required, not imported, and only its execute module, not
// its whole index (help, ux, semver...): see src/lib/cli/oclif.ts and bench/startup.mjs.
const { execute } = createRequire(import.meta.url)('@oclif/core/execute');
await execute({ dir: import.meta.url });
