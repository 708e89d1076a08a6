/**
 * The conformance suite through the daemon: each test gets a fresh daemon
 * (in this process, on a free loopback port) over a fresh cache file, and
 * talks to it through the daemon backend, as `--store http://...` does.
 */
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startDaemon } from '../../src/lib/daemon/server.js';
import { openStore } from '../../src/lib/store/open.js';
import { tempDir } from '../helpers/env.js';
import { describeConformance } from './suite.js';

const TOKEN = 'conformance-token-0123456789abcdef';

let tmp: ReturnType<typeof tempDir>;
let n = 0;

beforeAll(() => {
  tmp = tempDir('sessctl-conformance-daemon-');
});

afterAll(() => tmp.cleanup());

describeConformance('daemon over the cache file', async () => {
  n += 1;
  const backing = await openStore(`file:${path.join(tmp.dir, `c${n}`, 'sessions.db')}`);
  const daemon = await startDaemon({ store: backing, host: '127.0.0.1', port: 0, token: TOKEN, log: () => {} });
  const store = await openStore(daemon.url, { token: TOKEN });
  return {
    store,
    cleanup: async () => {
      await store.terminate();
      await daemon.close();
    },
  };
});
