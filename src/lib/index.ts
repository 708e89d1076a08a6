/**
 * sessctl as a library: the SessionStore abstraction and its backends, the
 * SSL_SESSION codec, and the operations the CLI is built from.
 */
export * from './errors.js';
export * from './store/index.js';
export * from './session/index.js';
export { selectEntries, matchesQuery, normaliseProtocol, type SessionQuery, type SortKey } from './store/query.js';
export { computeStats, type StoreStats } from './store/stats.js';
export { flushSessions, type FlushOptions, type FlushResult } from './store/flush.js';
export { removeSessions, type RemoveOptions, type RemoveResult } from './store/remove.js';
export { prepareEntries, insertEntries, type SessionSource } from './store/insert.js';
export { entryView, type EntryView } from './store/view.js';
