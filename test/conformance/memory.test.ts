import { openStore } from '../../src/lib/store/open.js';
import { describeConformance } from './suite.js';

describeConformance('memory:', async () => {
  const store = await openStore('memory:');
  return { store, cleanup: () => store.terminate() };
});
