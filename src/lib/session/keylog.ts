import { usageError } from '../errors.js';
import type { Session } from './types.js';

const TLS1_3_VERSION = 0x0304;

/**
 * The session as an NSS key-log line (SSLKEYLOGFILE) that Wireshark reads:
 * "RSA Session-ID:<hex> Master-Key:<hex>" maps a TLS <= 1.2 session id to its
 * master secret, so connections that resumed it can be decrypted (Wireshark's
 * ssl_keylog_parse, epan/dissectors/packet-tls-utils.c). Secret output.
 */
export function keylogLine(session: Session): string {
  if (session.sslVersion === TLS1_3_VERSION) {
    throw usageError('--keylog: a TLS 1.3 session holds only the resumption PSK; Wireshark needs the per-connection traffic secrets (set SSLKEYLOGFILE in the client)');
  }
  if (session.sessionId.length === 0) throw usageError('--keylog: the session has no session id to key the line by');
  return `RSA Session-ID:${session.sessionId.toString('hex')} Master-Key:${session.masterKey.toString('hex')}`;
}
