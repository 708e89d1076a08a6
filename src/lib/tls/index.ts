export { SessionCache, sessionIdContextOf, DEFAULT_MAX_SIZE, AUTO_CLEAR_EVERY, type CacheMode, type CacheOptions, type OfferedSession } from './cache.js';
export { attachSessionCache, storeTicketKeys, nodeDefaultSessionIdContext, type AttachOptions, type AttachedSessionCache } from './server.js';
export { ClientSessionCache, partialKeyFor, type ClientCacheOptions, type ServerAddress } from './client.js';
