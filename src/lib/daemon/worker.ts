/**
 * The entry point of a `sessctl serve --workers N` worker process, forked by
 * cluster.ts: it waits for its configuration from the primary over IPC.
 */
import { runWorker } from './cluster.js';
import { defaultLog } from './log.js';

runWorker(defaultLog);
