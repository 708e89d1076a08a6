/** Moved to test/helpers/entries.ts (shared by every test directory); kept for tests written against the old path. */
export * from '../helpers/entries.js';
