#!/usr/bin/env node
process.env.OCLIF_SKIP_NEW_VERSION_CHECK ??= 'true';
const { execute } = await import('@oclif/core');
await execute({ dir: import.meta.url });
