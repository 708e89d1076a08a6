/**
 * A Node.js tls.Server (or https.Server) using a SessionStore as its external
 * session cache: Node's 'newSession' / 'resumeSession' events are OpenSSL's
 * new_session_cb / get_session_cb (docs/ARCHITECTURE.md, "Node.js TLS hooks"). They serve session-ID
 * resumption; a client offering a ticket resumes from the ticket and never
 * reaches the store (Node emits no 'resumeSession' then).
 *
 * Session-id context: OpenSSL resumes a session only under the context it was
 * made in, and Node's default context is a hash of the process's argv, so two
 * servers that share a store must be created with the same `sessionIdContext`.
 * attachSessionCache reads it back from `server.sessionIdContext` (set by
 * Node's Server#setSecureContext, lib/_tls_wrap.js; not documented) and warns,
 * or refuses with `requireSessionIdContext`, when it is Node's default.
 * Give the same value as the `sessionIdContext` option to have it cross-checked.
 */
import { createHash } from 'node:crypto';
import type tls from 'node:tls';
import { SessctlError, usageError } from '../errors.js';
import type { SessionStore } from '../store/types.js';
import { nodeTicketKeys } from '../tickets/formats/node.js';
import { decodeRing } from '../tickets/ring.js';
import { SessionCache, type CacheOptions } from './cache.js';

/** How often `ticketKeys` is asked for the current key, by default. */
export const DEFAULT_TICKET_KEYS_REFRESH_MS = 60_000;

/** Node.js takes exactly one 48-byte key: name16 hmac16 aes16 (docs/ARCHITECTURE.md, "Ticket-key layouts"). */
const NODE_TICKET_KEYS_BYTES = 48;

/** SSL_MAX_SID_CTX_LENGTH (include/openssl/ssl.h). */
const MAX_SESSION_ID_CONTEXT_BYTES = 32;

export interface AttachOptions extends Omit<CacheOptions, 'mode'> {
  /** "server" (default), "both" (the same cache also serves a ClientSessionCache), or "off". */
  mode?: CacheOptions['mode'];
  /** Throw instead of warning when the server uses Node's per-process default session-id context. */
  requireSessionIdContext?: boolean;
  /**
   * Where the server's 48-byte ticket key comes from (for example
   * `() => nodeTicketKeys(ring)` over the store's key ring). Asked at once and
   * every `ticketKeysRefreshMs`; a new value is applied with
   * server.setTicketKeys. Undefined keeps the current key.
   */
  ticketKeys?: () => Promise<Buffer | undefined>;
  ticketKeysRefreshMs?: number;
}

export interface AttachedSessionCache {
  readonly cache: SessionCache;
  /** Store operations that failed in this process (the handshakes went on as full handshakes). */
  readonly storeErrors: number;
  /** Failures to get or apply ticket keys. */
  readonly ticketKeyErrors: number;
  /** Resolves once the first ticket key has been applied (at once without `ticketKeys`). */
  readonly ready: Promise<void>;
  /** Resolves when the cache's background writes (counters, removals) are done. */
  settled(): Promise<void>;
  /** Stop using the cache: remove the listeners and the ticket-key timer. */
  detach(): void;
}

type NewSessionListener = (id: Buffer, der: Buffer, done: () => void) => void;
type ResumeSessionListener = (id: Buffer, done: (err: Error | null, der?: Buffer | null) => void) => void;

/**
 * A `ticketKeys` source reading the store's key ring (kept by
 * `sessctl rotate-keys`): every server sharing the store then encrypts
 * tickets under the same current key. Node takes one key only, so tickets
 * made under the previous key end in a full handshake after a rotation.
 */
export function storeTicketKeys(store: SessionStore): () => Promise<Buffer | undefined> {
  return async () => {
    if (!store.readKeyRing) throw new SessctlError(`the ${store.kind} store cannot hold ticket keys`);
    const data = await store.readKeyRing();
    return data === undefined ? undefined : nodeTicketKeys(decodeRing(data, store.url));
  };
}

/** Node's default session-id context (lib/_tls_wrap.js: SHA-1 of process.argv, 32 hex digits). */
export function nodeDefaultSessionIdContext(): string {
  return createHash('sha1').update(process.argv.join(' ')).digest('hex').slice(0, 32);
}

/**
 * Make `server` save new sessions to, and resume sessions from, `store` (or
 * an existing SessionCache). Call it before the server accepts connections.
 */
export function attachSessionCache(server: tls.Server, store: SessionStore | SessionCache, options: AttachOptions = {}): AttachedSessionCache {
  const log = options.logger ?? ((line: string) => process.stderr.write(`sessctl: ${line}\n`));
  const sessionIdContext = checkSessionIdContext(server, options, log);
  const cache =
    store instanceof SessionCache
      ? store
      : new SessionCache(store, { ...options, mode: options.mode ?? 'server', logger: log, ...(sessionIdContext === undefined ? {} : { sessionIdContext }) });

  const onNewSession: NewSessionListener = (id, der, done) => {
    // done() must be called whatever happens, or the handshake stalls.
    cache.saveServerSession(id, der).then(done, done);
  };
  const onResumeSession: ResumeSessionListener = (id, done) => {
    // Never done(err): that would destroy the socket. No session = a full handshake.
    cache.findServerSession(id).then(
      (der) => done(null, der ?? null),
      () => done(null, null),
    );
  };
  if (cache.serves('server')) {
    server.on('newSession', onNewSession);
    server.on('resumeSession', onResumeSession);
  }

  let ticketKeyErrors = 0;
  let timer: NodeJS.Timeout | undefined;
  let ready = Promise.resolve();
  if (options.ticketKeys) {
    const source = options.ticketKeys;
    let current: Buffer | undefined;
    const refresh = async (): Promise<void> => {
      try {
        const keys = await source();
        if (keys === undefined || (current !== undefined && keys.equals(current))) return;
        if (keys.length !== NODE_TICKET_KEYS_BYTES) throw new Error(`expected ${NODE_TICKET_KEYS_BYTES} bytes, got ${keys.length}`);
        server.setTicketKeys(keys);
        current = Buffer.from(keys);
      } catch (err) {
        ticketKeyErrors += 1;
        log(`ticket keys not updated, keeping the current ones: ${((err as Error)?.message ?? String(err)).split('\n')[0]}`);
      }
    };
    ready = refresh();
    timer = setInterval(() => void refresh(), options.ticketKeysRefreshMs ?? DEFAULT_TICKET_KEYS_REFRESH_MS);
    timer.unref();
    server.once('close', () => clearInterval(timer));
  }

  return {
    cache,
    get storeErrors() {
      return cache.storeErrors;
    },
    get ticketKeyErrors() {
      return ticketKeyErrors;
    },
    ready,
    settled: () => cache.settled(),
    detach() {
      server.off('newSession', onNewSession);
      server.off('resumeSession', onResumeSession);
      clearInterval(timer);
    },
  };
}

/** The server's session-id context when it was set explicitly; warns (or throws) otherwise. */
function checkSessionIdContext(server: tls.Server, options: AttachOptions, log: (line: string) => void): string | undefined {
  const given = options.sessionIdContext === undefined ? undefined : Buffer.from(options.sessionIdContext).toString('utf8');
  if (given !== undefined && Buffer.byteLength(given) > MAX_SESSION_ID_CONTEXT_BYTES) {
    throw usageError(`sessionIdContext is ${Buffer.byteLength(given)} bytes: OpenSSL allows at most ${MAX_SESSION_ID_CONTEXT_BYTES}`);
  }
  const onServer = (server as tls.Server & { sessionIdContext?: unknown }).sessionIdContext;
  const serverContext = typeof onServer === 'string' ? onServer : undefined;
  if (given !== undefined && serverContext !== undefined && given !== serverContext) {
    throw usageError('sessionIdContext differs from the one the server was created with: pass the same value to tls.createServer / https.createServer');
  }
  const effective = given ?? serverContext;
  if (effective !== undefined && effective !== nodeDefaultSessionIdContext()) return effective;
  const problem =
    "the server uses Node's default sessionIdContext, which differs per process: servers sharing this store will not resume each other's sessions; create the server with sessionIdContext set to the same string everywhere";
  if (options.requireSessionIdContext) throw usageError(problem);
  log(problem);
  return undefined;
}
