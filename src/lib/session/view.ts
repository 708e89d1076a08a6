/**
 * A plain, JSON-able view of every field of a session: what `sessctl get --json`
 * prints and what `sessionText` renders for people. Secrets are masked unless
 * the caller asks for them.
 */
import { createHash } from 'node:crypto';
import { asciiIfPrintable, escapeBytes } from './bytes.js';
import { encodeSession } from './codec.js';
import { cipherSuite, groupName, protocolName } from './names.js';
import { summarizePeer } from './peer.js';
import { guessRole, type RoleGuess } from './role.js';
import type { PeerSummary, Session } from './types.js';

/** What a masked secret shows instead of its value. */
export const HIDDEN_SECRET = '(hidden: use --show-secrets)';

/** SSL_SESS_FLAG_EXTMS (ssl/ssl_local.h). */
const FLAG_EXTENDED_MASTER_SECRET = 0x1;

/** TLS 1.3 keeps the resumption PSK in the master_key field. */
const TLS1_3_VERSION = 0x0304;

/**
 * OpenSSL tickets (ssl/t1_lib.c, nginx, Apache, HAProxy) are
 * key_name(16) | IV(16) | ciphertext(>= 16) | HMAC-SHA256(32).
 */
const TICKET_KEY_NAME_LENGTH = 16;
const MIN_OPENSSL_TICKET_LENGTH = 16 + 16 + 16 + 32;

/** A point in time, both ways. `iso` is null when the value is beyond what a Date holds. */
export interface Instant {
  unix: number;
  iso: string | null;
}

/**
 * `sessctl get --json` contract (one object per session). Conventions:
 * hex strings are lowercase without separators (except `peer.sha256` and
 * `peer.serialNumber`, uppercase like `openssl x509 -fingerprint`); times are {unix seconds, ISO 8601};
 * durations are seconds; a field the session does not carry is `null` (never
 * omitted), except where OpenSSL's own default is meant (noted below).
 */
export interface SessionView {
  /** "TLSv1.2", "TLSv1.3", ... or "0x0305" style. */
  protocol: string;
  /** ssl_version as 4 hex digits, e.g. "0303". */
  protocolHex: string;
  cipher: { id: number; idHex: string; opensslName: string; ianaName: string | null };
  /** Hex, "" when empty. */
  sessionId: string;
  /** The session-ID context servers match on resumption; `ascii` when every byte is printable. Null when absent. */
  sessionIdContext: { hex: string; ascii: string | null } | null;
  /** Hex when `secretsShown`, else HIDDEN_SECRET. TLS 1.3: the resumption PSK (same DER field). */
  masterKey: string;
  masterKeyLength: number;
  /** "master secret" (TLS <= 1.2) or "resumption PSK" (TLS 1.3). */
  masterKeyKind: 'master secret' | 'resumption PSK';
  /** True when this view contains secret values (showSecrets was set). */
  secretsShown: boolean;
  /** Creation time; null when the session has none. */
  time: Instant | null;
  /** Lifetime in seconds; null when absent. */
  timeout: number | null;
  /** time + timeout; null when either is absent. */
  expiresAt: Instant | null;
  /** expiresAt <= now; null when expiresAt is. */
  expired: boolean | null;
  /** Seconds from now until expiry (negative once expired); null when expiresAt is. */
  expiresIn: number | null;
  /** SNI host name stored in the session ([6]). */
  sni: string | null;
  /** Selected ALPN protocol ([16]); bytes outside printable ASCII as \xNN. */
  alpn: string | null;
  /** The peer certificate; on the client the server's, on the server the client's (client auth). */
  peer: PeerSummary | null;
  /** DER length of the peer certificate, null when absent. */
  peerCertificateLength: number | null;
  /** Absent in the DER means 0 (X509_V_OK), as OpenSSL reads it. */
  verifyResult: { code: number; name: string; text: string };
  pskIdentityHint: string | null;
  pskIdentity: string | null;
  srpUsername: string | null;
  /** Seconds. */
  ticketLifetimeHint: number | null;
  /**
   * The ticket the client holds. Not a secret by itself (it is sent in clear);
   * `keyName` is its first 16 bytes, the name of the server's ticket key, when
   * it is long enough to be an OpenSSL-format ticket, else null (e.g. a 32-byte
   * stateful TLS 1.3 ticket).
   */
  ticket: { length: number; keyName: string | null; hex: string } | null;
  /** [11] Compression method id. */
  compId: number | null;
  /** Absent in the DER means 0. */
  flags: { value: number; extendedMasterSecret: boolean };
  /** TLS 1.3 ticket_age_add. */
  ticketAgeAdd: number | null;
  /** Absent in the DER means 0. */
  maxEarlyData: number;
  maxFragmentLenMode: number | null;
  ticketAppdataLength: number | null;
  /** Key-exchange group (IANA id); id 0 = no named group (RSA key transport, DHE). */
  kexGroup: { id: number; name: string } | null;
  /** Raw public key of the peer (RFC 7250), length only. */
  peerRpkLength: number | null;
  /** Legacy SSLv2 key_arg, never written by current OpenSSL. */
  keyArgLength: number | null;
  /** Which side most likely wrote the session, and why. */
  role: RoleGuess;
  /** The session's canonical DER (i2d_SSL_SESSION). */
  der: { length: number; sha256: string };
}

/** X509_V_* codes (include/openssl/x509_vfy.h) with OpenSSL 3.0's texts (crypto/x509/x509_txt.c). */
const VERIFY_RESULTS: ReadonlyMap<number, readonly [string, string]> = new Map([
  [0, ['X509_V_OK', 'ok']],
  [1, ['X509_V_ERR_UNSPECIFIED', 'unspecified certificate verification error']],
  [2, ['X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT', 'unable to get issuer certificate']],
  [3, ['X509_V_ERR_UNABLE_TO_GET_CRL', 'unable to get certificate CRL']],
  [4, ['X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE', "unable to decrypt certificate's signature"]],
  [5, ['X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE', "unable to decrypt CRL's signature"]],
  [6, ['X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY', 'unable to decode issuer public key']],
  [7, ['X509_V_ERR_CERT_SIGNATURE_FAILURE', 'certificate signature failure']],
  [8, ['X509_V_ERR_CRL_SIGNATURE_FAILURE', 'CRL signature failure']],
  [9, ['X509_V_ERR_CERT_NOT_YET_VALID', 'certificate is not yet valid']],
  [10, ['X509_V_ERR_CERT_HAS_EXPIRED', 'certificate has expired']],
  [11, ['X509_V_ERR_CRL_NOT_YET_VALID', 'CRL is not yet valid']],
  [12, ['X509_V_ERR_CRL_HAS_EXPIRED', 'CRL has expired']],
  [13, ['X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD', "format error in certificate's notBefore field"]],
  [14, ['X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD', "format error in certificate's notAfter field"]],
  [15, ['X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD', "format error in CRL's lastUpdate field"]],
  [16, ['X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD', "format error in CRL's nextUpdate field"]],
  [17, ['X509_V_ERR_OUT_OF_MEM', 'out of memory']],
  [18, ['X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate']],
  [19, ['X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain']],
  [20, ['X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'unable to get local issuer certificate']],
  [21, ['X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate']],
  [22, ['X509_V_ERR_CERT_CHAIN_TOO_LONG', 'certificate chain too long']],
  [23, ['X509_V_ERR_CERT_REVOKED', 'certificate revoked']],
  [24, ['X509_V_ERR_INVALID_CA', 'invalid CA certificate']],
  [25, ['X509_V_ERR_PATH_LENGTH_EXCEEDED', 'path length constraint exceeded']],
  [26, ['X509_V_ERR_INVALID_PURPOSE', 'unsuitable certificate purpose']],
  [27, ['X509_V_ERR_CERT_UNTRUSTED', 'certificate not trusted']],
  [28, ['X509_V_ERR_CERT_REJECTED', 'certificate rejected']],
  [29, ['X509_V_ERR_SUBJECT_ISSUER_MISMATCH', 'subject issuer mismatch']],
  [30, ['X509_V_ERR_AKID_SKID_MISMATCH', 'authority and subject key identifier mismatch']],
  [31, ['X509_V_ERR_AKID_ISSUER_SERIAL_MISMATCH', 'authority and issuer serial number mismatch']],
  [32, ['X509_V_ERR_KEYUSAGE_NO_CERTSIGN', 'key usage does not include certificate signing']],
  [33, ['X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER', 'unable to get CRL issuer certificate']],
  [34, ['X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION', 'unhandled critical extension']],
  [35, ['X509_V_ERR_KEYUSAGE_NO_CRL_SIGN', 'key usage does not include CRL signing']],
  [36, ['X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION', 'unhandled critical CRL extension']],
  [37, ['X509_V_ERR_INVALID_NON_CA', 'invalid non-CA certificate (has CA markings)']],
  [38, ['X509_V_ERR_PROXY_PATH_LENGTH_EXCEEDED', 'proxy path length constraint exceeded']],
  [39, ['X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE', 'key usage does not include digital signature']],
  [40, ['X509_V_ERR_PROXY_CERTIFICATES_NOT_ALLOWED', 'proxy certificates not allowed, please set the appropriate flag']],
  [41, ['X509_V_ERR_INVALID_EXTENSION', 'invalid or inconsistent certificate extension']],
  [42, ['X509_V_ERR_INVALID_POLICY_EXTENSION', 'invalid or inconsistent certificate policy extension']],
  [43, ['X509_V_ERR_NO_EXPLICIT_POLICY', 'no explicit policy']],
  [44, ['X509_V_ERR_DIFFERENT_CRL_SCOPE', 'different CRL scope']],
  [45, ['X509_V_ERR_UNSUPPORTED_EXTENSION_FEATURE', 'unsupported extension feature']],
  [46, ['X509_V_ERR_UNNESTED_RESOURCE', 'RFC 3779 resource not subset of parent\'s resources']],
  [47, ['X509_V_ERR_PERMITTED_VIOLATION', 'permitted subtree violation']],
  [48, ['X509_V_ERR_EXCLUDED_VIOLATION', 'excluded subtree violation']],
  [49, ['X509_V_ERR_SUBTREE_MINMAX', 'name constraints minimum and maximum not supported']],
  [50, ['X509_V_ERR_APPLICATION_VERIFICATION', 'application verification failure']],
  [51, ['X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE', 'unsupported name constraint type']],
  [52, ['X509_V_ERR_UNSUPPORTED_CONSTRAINT_SYNTAX', 'unsupported or invalid name constraint syntax']],
  [53, ['X509_V_ERR_UNSUPPORTED_NAME_SYNTAX', 'unsupported or invalid name syntax']],
  [54, ['X509_V_ERR_CRL_PATH_VALIDATION_ERROR', 'CRL path validation error']],
  [55, ['X509_V_ERR_PATH_LOOP', 'path loop']],
  [56, ['X509_V_ERR_SUITE_B_INVALID_VERSION', 'Suite B: certificate version invalid']],
  [57, ['X509_V_ERR_SUITE_B_INVALID_ALGORITHM', 'Suite B: invalid public key algorithm']],
  [58, ['X509_V_ERR_SUITE_B_INVALID_CURVE', 'Suite B: invalid ECC curve']],
  [59, ['X509_V_ERR_SUITE_B_INVALID_SIGNATURE_ALGORITHM', 'Suite B: invalid signature algorithm']],
  [60, ['X509_V_ERR_SUITE_B_LOS_NOT_ALLOWED', 'Suite B: curve not allowed for this LOS']],
  [61, ['X509_V_ERR_SUITE_B_CANNOT_SIGN_P_384_WITH_P_256', 'Suite B: cannot sign P-384 with P-256']],
  [62, ['X509_V_ERR_HOSTNAME_MISMATCH', 'hostname mismatch']],
  [63, ['X509_V_ERR_EMAIL_MISMATCH', 'email address mismatch']],
  [64, ['X509_V_ERR_IP_ADDRESS_MISMATCH', 'IP address mismatch']],
  [65, ['X509_V_ERR_DANE_NO_MATCH', 'no matching DANE TLSA records']],
  [66, ['X509_V_ERR_EE_KEY_TOO_SMALL', 'EE certificate key too weak']],
  [67, ['X509_V_ERR_CA_KEY_TOO_SMALL', 'CA certificate key too weak']],
  [68, ['X509_V_ERR_CA_MD_TOO_WEAK', 'CA signature digest algorithm too weak']],
  [69, ['X509_V_ERR_INVALID_CALL', 'invalid certificate verification context']],
  [70, ['X509_V_ERR_STORE_LOOKUP', 'issuer certificate lookup error']],
  [71, ['X509_V_ERR_NO_VALID_SCTS', 'Certificate Transparency required, but no valid SCTs found']],
  [72, ['X509_V_ERR_PROXY_SUBJECT_NAME_VIOLATION', 'proxy subject name violation']],
  [73, ['X509_V_ERR_OCSP_VERIFY_NEEDED', 'OCSP verification needed']],
  [74, ['X509_V_ERR_OCSP_VERIFY_FAILED', 'OCSP verification failed']],
  [75, ['X509_V_ERR_OCSP_CERT_UNKNOWN', 'OCSP unknown cert']],
]);

export function verifyResult(code: number): { code: number; name: string; text: string } {
  const known = VERIFY_RESULTS.get(code);
  return known ? { code, name: known[0], text: known[1] } : { code, name: `X509_V_ERR_${code}`, text: `unknown verification result ${code}` };
}

/** Largest unix time a Date holds (ECMA-262: 8.64e15 ms). */
const MAX_DATE_SECONDS = 8.64e12;

function instant(unix: number): Instant {
  return { unix, iso: Math.abs(unix) <= MAX_DATE_SECONDS ? new Date(unix * 1000).toISOString() : null };
}

function roleGuess(session: Session): SessionView['role'] {
  return guessRole({ hasTicket: session.ticket !== undefined, sessionIdContext: session.sessionIdContext, hasPeer: session.peer !== undefined });
}

const orNull = <T>(value: T | undefined): T | null => (value === undefined ? null : value);

/**
 * Every field of `session`, ready for JSON or `sessionText`. `now` (unix
 * seconds, default the clock) decides `expired`. The master key / resumption
 * PSK appears only with `showSecrets`.
 */
export function sessionView(session: Session, options: { showSecrets: boolean; now?: number }): SessionView {
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const suite = cipherSuite(session.cipherId);
  const der = encodeSession(session);
  const expiresAt = session.time !== undefined && session.timeout !== undefined ? session.time + session.timeout : undefined;
  const flags = session.flags ?? 0;
  const ticket = session.ticket;

  return {
    protocol: protocolName(session.sslVersion),
    protocolHex: session.sslVersion.toString(16).padStart(4, '0'),
    cipher: { id: suite.id, idHex: suite.idHex.toLowerCase(), opensslName: suite.opensslName, ianaName: orNull(suite.ianaName) },
    sessionId: session.sessionId.toString('hex'),
    sessionIdContext:
      session.sessionIdContext === undefined
        ? null
        : { hex: session.sessionIdContext.toString('hex'), ascii: asciiIfPrintable(session.sessionIdContext) },
    masterKey: options.showSecrets ? session.masterKey.toString('hex') : HIDDEN_SECRET,
    masterKeyLength: session.masterKey.length,
    masterKeyKind: session.sslVersion === TLS1_3_VERSION ? 'resumption PSK' : 'master secret',
    secretsShown: options.showSecrets,
    time: session.time === undefined ? null : instant(session.time),
    timeout: orNull(session.timeout),
    expiresAt: expiresAt === undefined ? null : instant(expiresAt),
    expired: expiresAt === undefined ? null : expiresAt <= now,
    expiresIn: expiresAt === undefined ? null : expiresAt - now,
    sni: session.sni === undefined ? null : escapeBytes(Buffer.from(session.sni, 'latin1')),
    alpn: session.alpn === undefined ? null : escapeBytes(session.alpn),
    peer: session.peer === undefined ? null : summarizePeer(session.peer),
    peerCertificateLength: session.peer === undefined ? null : session.peer.length,
    verifyResult: verifyResult(session.verifyResult ?? 0),
    pskIdentityHint: session.pskIdentityHint === undefined ? null : escapeBytes(session.pskIdentityHint),
    pskIdentity: session.pskIdentity === undefined ? null : escapeBytes(session.pskIdentity),
    srpUsername: session.srpUsername === undefined ? null : escapeBytes(session.srpUsername),
    ticketLifetimeHint: orNull(session.ticketLifetimeHint),
    ticket:
      ticket === undefined
        ? null
        : {
            length: ticket.length,
            keyName: ticket.length >= MIN_OPENSSL_TICKET_LENGTH ? ticket.subarray(0, TICKET_KEY_NAME_LENGTH).toString('hex') : null,
            hex: ticket.toString('hex'),
          },
    compId: session.compId === undefined ? null : session.compId[0]!,
    flags: { value: flags, extendedMasterSecret: (flags & FLAG_EXTENDED_MASTER_SECRET) !== 0 },
    ticketAgeAdd: orNull(session.ticketAgeAdd),
    maxEarlyData: session.maxEarlyData ?? 0,
    maxFragmentLenMode: orNull(session.maxFragmentLenMode),
    ticketAppdataLength: session.ticketAppdata === undefined ? null : session.ticketAppdata.length,
    kexGroup: session.kexGroup === undefined ? null : { id: session.kexGroup, name: groupName(session.kexGroup) },
    peerRpkLength: session.peerRpk === undefined ? null : session.peerRpk.length,
    keyArgLength: session.keyArg === undefined ? null : session.keyArg.length,
    role: roleGuess(session),
    der: { length: der.length, sha256: createHash('sha256').update(der).digest('hex') },
  };
}

