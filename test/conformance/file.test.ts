import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { openStore } from '../../src/lib/store/open.js';
import { tempDir } from '../helpers/env.js';
import { describeConformance } from './suite.js';

let tmp: ReturnType<typeof tempDir>;
let n = 0;

beforeAll(() => {
  tmp = tempDir('sessctl-conformance-file-');
});

afterAll(() => tmp.cleanup());

describeConformance('cache file', async () => {
  n += 1;
  const store = await openStore(`file:${path.join(tmp.dir, `c${n}`, 'sessions.db')}`);
  return { store, cleanup: () => store.terminate() };
});
