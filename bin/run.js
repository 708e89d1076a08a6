#!/usr/bin/env node
process.env.OCLIF_SKIP_NEW_VERSION_CHECK ??= 'true';
// `sessctl list | head`: when the reader goes away, stop quietly as cat does (128 + SIGPIPE).
const EXIT_SIGPIPE = 141;
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(EXIT_SIGPIPE);
  throw err;
});
const { execute } = await import('@oclif/core/execute');
await execute({ dir: import.meta.url });
