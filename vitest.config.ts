import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Real servers (redis, nginx, ...) are started per file on their own ports;
    // two cores in CI, so keep file parallelism modest.
    maxWorkers: 2,
    env: { OCLIF_SKIP_NEW_VERSION_CHECK: 'true', NO_COLOR: '1' },
  },
});
