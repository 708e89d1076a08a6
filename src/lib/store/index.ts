export * from './types.js';
export { openStore, redactUrl } from './open.js';
export { resolveStoreUrl, defaultStorePath, type StoreUrlSource, type StoreUrlInputs } from './location.js';
export { MemoryStore } from './memory.js';
export { FileStore, type FileStoreOptions, SCHEMA_VERSION, BUSY_TIMEOUT_MS } from './file.js';
export { entryFromDer, entryFromSession, normaliseKey, DEFAULT_TIMEOUT_SECONDS, type EntryOptions } from './entry.js';
