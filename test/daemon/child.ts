/** Moved to test/helpers/serve.ts (shared by every test directory); kept for tests written against the old path. */
export * from '../helpers/serve.js';
