/**
 * The client side: Erlang's client session cache over a SessionStore. Sessions
 * a client receives (Node's 'session' event, several per connection in TLS
 * 1.3) are stored under a partial key naming the server; the next connection
 * to that server offers the newest live one (`tls.connect({ session })`).
 *
 * Partial key: "host:port", plus ";sni=NAME" when the SNI is not the host
 * and ";alpn=P1,P2" when ALPN protocols are offered, because a session is only
 * good for the server name and protocol it was made for.
 */
import https from 'node:https';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { SessionStore } from '../store/types.js';
import { SessionCache, type CacheOptions, type OfferedSession } from './cache.js';

export interface ClientCacheOptions extends Omit<CacheOptions, 'mode' | 'sessionIdContext'> {
  /** "client" (default), "both" (shared with attachSessionCache), or "off". */
  mode?: CacheOptions['mode'];
}

/** The parts of tls.connect options that name the server. */
export interface ServerAddress {
  host?: string | null;
  port?: number | string | null;
  servername?: string | null;
  ALPNProtocols?: tls.ConnectionOptions['ALPNProtocols'];
}

/** The partial key sessions for this server are stored under. */
export function partialKeyFor(address: ServerAddress): string {
  const host = (address.host ?? 'localhost').toLowerCase();
  const port = Number(address.port ?? 443);
  let key = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
  // Node sends the host as SNI unless it is an IP address (lib/_tls_wrap.js).
  const sni = address.servername ?? (isIP(host) === 0 ? host : undefined);
  if (sni && sni.toLowerCase() !== host) key += `;sni=${sni.toLowerCase()}`;
  const alpn = alpnList(address.ALPNProtocols);
  if (alpn.length > 0) key += `;alpn=${alpn.join(',')}`;
  return key;
}

/** ALPN protocols as names, from Node's forms: string[], Buffer[], or one wire-format buffer. */
function alpnList(protocols: ServerAddress['ALPNProtocols']): string[] {
  if (protocols === undefined) return [];
  if (Array.isArray(protocols)) return protocols.map((p) => Buffer.from(p as string | Uint8Array).toString('latin1'));
  const wire = Buffer.from(protocols as Uint8Array);
  const names: string[] = [];
  for (let i = 0; i < wire.length; i += 1 + wire[i]!) names.push(wire.subarray(i + 1, i + 1 + wire[i]!).toString('latin1'));
  return names;
}

export class ClientSessionCache {
  readonly cache: SessionCache;
  readonly #pending = new Set<Promise<void>>();

  constructor(store: SessionStore | SessionCache, options: ClientCacheOptions = {}) {
    this.cache = store instanceof SessionCache ? store : new SessionCache(store, { ...options, mode: options.mode ?? 'client' });
  }

  /** Store operations that failed in this process (those connections went on without a session). */
  get storeErrors(): number {
    return this.cache.storeErrors;
  }

  /** The session to offer to this server, if one is stored and live (selectSession). */
  async sessionFor(address: ServerAddress): Promise<OfferedSession | undefined> {
    return this.cache.offerClientSession(partialKeyFor(address));
  }

  /**
   * Keep the sessions `socket` receives, and forget `offered` if the server
   * did not resume it. Call right after tls.connect.
   */
  track(socket: tls.TLSSocket, address: ServerAddress, offered?: OfferedSession): void {
    const partialKey = partialKeyFor(address);
    socket.on('session', (der: Buffer) => {
      const saving = this.cache.saveClientSession(partialKey, der);
      this.#pending.add(saving);
      void saving.finally(() => this.#pending.delete(saving));
    });
    if (offered) {
      socket.once('secureConnect', () => {
        if (!socket.isSessionReused()) this.cache.forgetSession(offered.key);
      });
    }
  }

  /**
   * tls.connect with a stored session for this server, keeping the new ones.
   * Resolves with the socket as soon as it is created (before the handshake).
   */
  async connect(options: tls.ConnectionOptions): Promise<tls.TLSSocket> {
    const offered = options.session === undefined ? await this.sessionFor(options) : undefined;
    const socket = tls.connect(offered ? { ...options, session: offered.der } : options);
    this.track(socket, options, offered);
    return socket;
  }

  /**
   * An https.Agent whose connections take sessions from, and give them to,
   * this cache (its own in-memory session cache is switched off).
   */
  agent(options: https.AgentOptions = {}): https.Agent {
    return new StoreSessionAgent(this, { ...options, maxCachedSessions: 0 });
  }

  /** Resolves when the sessions received so far are stored and background writes are done. */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
    await this.cache.settled();
  }
}

type ConnectionCallback = (err: Error | null, stream: Duplex) => void;

/**
 * Node's http Agent accepts an asynchronous createConnection: return nothing
 * and call back with the socket (lib/_http_agent.js, createSocket).
 */
class StoreSessionAgent extends https.Agent {
  readonly #sessions: ClientSessionCache;

  constructor(sessions: ClientSessionCache, options: https.AgentOptions) {
    super(options);
    this.#sessions = sessions;
  }

  override createConnection(requestOptions: https.RequestOptions, callback?: ConnectionCallback): undefined {
    // The agent passes its merged options, tls.connect options included (servername set).
    const options = requestOptions as tls.ConnectionOptions;
    this.#sessions.sessionFor(options).then(
      (offered) => {
        let socket: tls.TLSSocket;
        try {
          const create = (https.Agent.prototype as unknown as { createConnection(o: tls.ConnectionOptions): tls.TLSSocket }).createConnection;
          socket = create.call(this, offered ? { ...options, session: offered.der } : options);
        } catch (err) {
          callback?.(err as Error, undefined as unknown as Duplex);
          return;
        }
        this.#sessions.track(socket, options, offered);
        callback?.(null, socket);
      },
      (err: Error) => callback?.(err, undefined as unknown as Duplex),
    );
    return undefined;
  }
}
