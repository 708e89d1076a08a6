/**
 * One probe connection: a TLS handshake with Node's `tls` (OpenSSL), which
 * may offer a session from an earlier connection, and a record of what
 * happened: peer, protocol, cipher, whether the server resumed, and the
 * tickets it issued with their key names.
 *
 * Tickets reach the client in the `session` event, as the SSL_SESSION DER
 * (decoded by session/codec.ts): under TLS 1.2 during the handshake, under
 * TLS 1.3 after it, one per NewSessionTicket (nginx sends two on a full
 * handshake, one on a resumed one). To see every TLS 1.3 ticket the probe
 * closes its side (close_notify) and reads until the server closes: the
 * server wrote its tickets before its own close, so none is missed, and no
 * fixed sleep is needed.
 *
 * Every failure is a SessctlError (exit 1) with one line naming the target.
 */
import { constants as cryptoConstants } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { SessctlError, usageError } from '../errors.js';
import { decodeSession } from '../session/codec.js';
import { splitTicket } from '../tickets/inspect.js';
import { startTls, type StartTlsProtocol } from './starttls.js';
import { defaultSni, parseTarget, type ProbeTarget } from './target.js';

export { parseTarget, defaultSni, type ProbeTarget } from './target.js';
export { STARTTLS_PROTOCOLS, type StartTlsProtocol } from './starttls.js';

export type TlsVersion = '1.2' | '1.3';

/** Longest wait for the server's close after ours (and a TLS 1.3 server's tickets), within the deadline. */
const TICKET_WAIT_MS = 1000;

export interface ConnectOptions {
  host: string;
  port: number;
  /** The server name to send; default the host when it is a name (none for an address). */
  sni?: string;
  /** Only this version; default whatever the server picks. */
  tls?: TlsVersion;
  /** Deadline for the whole connection: DNS, TCP, STARTTLS, handshake and tickets. */
  timeoutMs: number;
  /** CA certificates (PEM) to verify the server with, instead of Node's bundled roots. */
  ca?: Buffer;
  /** Go on when the certificate does not verify (the result says so in `verified`). */
  insecure?: boolean;
  /** A session (SSL_SESSION DER, from an earlier connection's `sessions`) to offer. */
  offer?: Buffer;
  /**
   * false: the client sends no session-ticket extension (SSL_OP_NO_TICKET),
   * so the server can only resume by session ID; TLS 1.2 only, as TLS 1.3
   * has no session-ID resumption. Default true.
   */
  tickets?: boolean;
  /** The plain-text exchange before the handshake, for mail servers. */
  starttls?: StartTlsProtocol;
}

export interface IssuedTicket {
  /**
   * The key name of an OpenSSL-format ticket (its first 16 bytes, lowercase hex); null for any other
   * shape, whose first bytes name no key (a TLS 1.3 stateful ticket is a 32-byte cache handle: postfix
   * with tls_session_ticket_cipher empty, test/probe/smtp.test.ts).
   */
  keyName: string | null;
  /** 'openssl': key name | IV | AES-CBC | HMAC-SHA256; 'opaque': another shape (e.g. a TLS 1.3 stateful ticket, a Go ticket). */
  format: 'openssl' | 'opaque';
  /** Seconds (ticket_lifetime_hint). */
  lifetimeHint: number;
  /** Bytes. */
  length: number;
}

export interface ProbeConnection {
  /** The target as written: host:port. */
  target: string;
  /** The address connected to: ip:port, [v6]:port. */
  peer: string;
  sni: string | null;
  /** TLSv1.2, TLSv1.3. */
  protocol: string;
  /** OpenSSL's cipher name. */
  cipher: string;
  /** The server resumed the offered session (SSL_session_reused). */
  resumed: boolean;
  /** The certificate verified (chain and name); false only with insecure. */
  verified: boolean;
  /** Why it did not verify (an X509_V_ERR_* name or Node's code), or null. */
  verifyError: string | null;
  /** The tickets the server issued on this connection, in order. */
  tickets: IssuedTicket[];
  /** The session ID the server gave (hex, '' when none) on a connection without tickets. */
  sessionId: string;
  /** Every session received (SSL_SESSION DER), oldest first: what a later connection offers. */
  sessions: Buffer[];
  /** Milliseconds from the start to the end of the handshake. */
  handshakeMs: number;
}

/** Node error codes that mean "this is not TLS on the other side" (OpenSSL's record layer reasons). */
const NOT_TLS = /WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|UNKNOWN_PROTOCOL|HTTP_REQUEST|RECORD_LENGTH_MISMATCH|UNEXPECTED_RECORD/;

/** One line for a failed connection, naming the target and the reason. */
function describeFailure(target: string, host: string, stage: string, err: NodeJS.ErrnoException): SessctlError {
  const code = err.code ?? '';
  let reason: string;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NODATA' || code === 'EAI_NONAME') reason = `the name ${host} does not resolve`;
  else if (code === 'ECONNREFUSED') reason = 'connection refused (nothing listens on that port)';
  else if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH' || code === 'EADDRNOTAVAIL') reason = `unreachable (${code})`;
  else if (NOT_TLS.test(code)) reason = 'does not speak TLS on this port (the answer to the ClientHello is not a TLS record)';
  else if (code === 'ECONNRESET' || code === 'EPIPE' || /disconnected before secure TLS connection/.test(err.message)) reason = `the server closed the connection during the ${stage}`;
  else if (/alert/i.test(err.message) || code.startsWith('ERR_SSL_')) reason = `the ${stage} failed: ${(err as { reason?: string }).reason ?? code}${/protocol version/.test(err.message) ? ' (the server refuses this TLS version)' : ''}`;
  else reason = `${stage} failed: ${err.message.split('\n')[0]}`;
  return new SessctlError(`${target}: ${reason}`, { cause: err });
}

/** The ticket a received session carries (if any) and its session ID. Throws (SessctlError) on bytes the codec does not read. */
export function ticketOf(der: Buffer): { ticket?: IssuedTicket; sessionId: Buffer } {
  const session = decodeSession(der);
  const ticket = session.ticket;
  if (!ticket || ticket.length === 0) return { sessionId: session.sessionId };
  const openssl = splitTicket(ticket) !== undefined;
  return {
    sessionId: session.sessionId,
    ticket: {
      keyName: openssl ? ticket.subarray(0, 16).toString('hex') : null,
      format: openssl ? 'openssl' : 'opaque',
      lifetimeHint: session.ticketLifetimeHint ?? 0,
      length: ticket.length,
    },
  };
}

/**
 * Connect once, offer `offer` if given, and record what the server did.
 * Resolves after the server's tickets are in; rejects with a SessctlError
 * naming the target.
 */
export function connectOnce(options: ConnectOptions): Promise<ProbeConnection> {
  const target: ProbeTarget = { host: options.host, port: options.port, label: net.isIP(options.host) === 6 ? `[${options.host}]:${options.port}` : `${options.host}:${options.port}` };
  const tickets = options.tickets ?? true;
  if (!tickets && options.tls === '1.3') throw usageError('session-ID resumption needs TLS 1.2: TLS 1.3 resumes only with tickets (PSKs)');
  const sni = options.sni ?? defaultSni(target);
  const started = performance.now();

  return new Promise<ProbeConnection>((resolve, reject) => {
    let stage = 'connection';
    let raw: net.Socket | undefined;
    let socket: tls.TLSSocket | undefined;
    let settled = false;
    let peer = '';
    const finish = (outcome: { ok: ProbeConnection } | { err: SessctlError }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      socket?.destroy();
      raw?.destroy();
      if ('ok' in outcome) resolve(outcome.ok);
      else reject(outcome.err);
    };
    const fail = (err: NodeJS.ErrnoException): void => finish({ err: describeFailure(target.label, target.host, stage, err) });
    const deadline = setTimeout(() => {
      finish({ err: new SessctlError(`${target.label}: no answer within ${options.timeoutMs} ms (deadline; during the ${stage})`) });
    }, options.timeoutMs);

    const version = options.tls === undefined ? undefined : (`TLSv${options.tls}` as tls.SecureVersion);
    const handshake = (over?: net.Socket): void => {
      stage = 'TLS handshake';
      const tlsOptions: tls.ConnectionOptions = {
        // Verification is checked after the handshake (below), so an unverified server is reported, not silently accepted.
        rejectUnauthorized: false,
        ...(over ? { socket: over } : { host: target.host, port: target.port }),
        ...(sni === undefined ? {} : { servername: sni }),
        ...(options.ca === undefined ? {} : { ca: options.ca }),
        ...(options.offer === undefined ? {} : { session: options.offer }),
        ...(version === undefined ? {} : { minVersion: version, maxVersion: version }),
        ...(tickets ? {} : { maxVersion: 'TLSv1.2' as const, secureOptions: cryptoConstants.SSL_OP_NO_TICKET }),
      };
      const s = tls.connect(tlsOptions);
      socket = s;
      const issued: IssuedTicket[] = [];
      const sessions: Buffer[] = [];
      let sessionId = '';
      let result: ProbeConnection | undefined;
      s.on('session', (der: Buffer) => {
        sessions.push(der);
        try {
          const { ticket, sessionId: id } = ticketOf(der);
          if (ticket) issued.push(ticket);
          else sessionId = id.toString('hex');
        } catch {
          // A session sessctl's codec does not read still resumes; its ticket is just not listed.
        }
      });
      if (!over) s.once('connect', () => (peer = addressOf(s)));
      s.once('secureConnect', () => {
        if (over) peer = addressOf(over);
        const verifyError = s.authorized ? null : String(s.authorizationError ?? 'unknown');
        if (verifyError !== null && !options.insecure) {
          finish({ err: new SessctlError(`${target.label}: the certificate did not verify (${verifyError}); give --ca FILE, or --insecure to probe anyway`) });
          return;
        }
        result = {
          target: target.label,
          peer,
          sni: sni ?? null,
          protocol: s.getProtocol() ?? 'unknown',
          cipher: s.getCipher()?.name ?? 'unknown',
          resumed: s.isSessionReused(),
          verified: verifyError === null,
          verifyError,
          tickets: issued,
          sessionId,
          sessions,
          handshakeMs: performance.now() - started,
        };
        stage = 'wait for tickets';
        // Close cleanly (close_notify) and read until the server closes: TLS 1.3 tickets come
        // after the handshake, and an OpenSSL server drops from its cache the session of a
        // connection that was not shut down cleanly (ssl/ssl_sess.c, ssl_clear_bad_session),
        // so a torn-down connection would make the next offer of its session fail.
        s.end();
        setTimeout(() => done(), Math.min(TICKET_WAIT_MS, Math.max(0, options.timeoutMs - (performance.now() - started)))).unref();
      });
      const done = (): void => {
        if (result === undefined) return;
        result.sessionId = sessionId;
        finish({ ok: result });
      };
      s.on('close', () => (result === undefined ? fail(Object.assign(new Error('closed'), { code: 'ECONNRESET' })) : done()));
      s.on('error', (err) => (result === undefined ? fail(err) : done()));
    };

    if (options.starttls === undefined) {
      handshake();
      return;
    }
    raw = net.connect({ host: target.host, port: target.port });
    raw.once('error', fail);
    raw.once('connect', () => {
      stage = `${options.starttls!.toUpperCase()} STARTTLS exchange`;
      startTls(raw!, options.starttls!).then(
        () => {
          raw!.removeListener('error', fail);
          handshake(raw);
        },
        (err: Error) => {
          if ((err as NodeJS.ErrnoException).code) fail(err);
          else finish({ err: new SessctlError(`${target.label}: ${options.starttls} STARTTLS failed: ${err.message}`) });
        },
      );
    });
  });
}

function addressOf(s: net.Socket): string {
  const address = s.remoteAddress ?? '?';
  return `${net.isIP(address) === 6 ? `[${address}]` : address}:${s.remotePort ?? '?'}`;
}

/** parseTarget for a target list: each one parsed, duplicates kept (probing one target twice is allowed). */
export function parseTargets(texts: string[]): ProbeTarget[] {
  return texts.map(parseTarget);
}
