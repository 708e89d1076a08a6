/**
 * One OpenSSL SSL_SESSION, as i2d_SSL_SESSION writes it (ssl/ssl_asn1.c):
 *
 *   SSLSession ::= SEQUENCE {
 *     version                  INTEGER,            -- always 1
 *     ssl_version              INTEGER,            -- 0x0301..0x0304, 0xFEFF, 0xFEFD
 *     cipher                   OCTET STRING,       -- 2 bytes, the IANA suite id
 *     session_id               OCTET STRING,       -- 0..32 bytes
 *     master_key               OCTET STRING,       -- TLS 1.3: the resumption PSK
 *     key_arg              [0] IMPLICIT OCTET STRING OPTIONAL,
 *     time                 [1] EXPLICIT INTEGER OPTIONAL,
 *     timeout              [2] EXPLICIT INTEGER OPTIONAL,
 *     peer                 [3] EXPLICIT Certificate OPTIONAL,
 *     session_id_context   [4] EXPLICIT OCTET STRING OPTIONAL,
 *     verify_result        [5] EXPLICIT INTEGER OPTIONAL,
 *     tlsext_hostname      [6] EXPLICIT OCTET STRING OPTIONAL,
 *     psk_identity_hint    [7] EXPLICIT OCTET STRING OPTIONAL,
 *     psk_identity         [8] EXPLICIT OCTET STRING OPTIONAL,
 *     tlsext_tick_lifetime [9] EXPLICIT INTEGER OPTIONAL,
 *     tlsext_tick         [10] EXPLICIT OCTET STRING OPTIONAL,
 *     comp_id             [11] EXPLICIT OCTET STRING OPTIONAL,
 *     srp_username        [12] EXPLICIT OCTET STRING OPTIONAL,
 *     flags               [13] EXPLICIT INTEGER OPTIONAL,
 *     tlsext_tick_age_add [14] EXPLICIT INTEGER OPTIONAL,
 *     max_early_data      [15] EXPLICIT INTEGER OPTIONAL,
 *     alpn_selected       [16] EXPLICIT OCTET STRING OPTIONAL,
 *     tlsext_max_fragment_len_mode [17] EXPLICIT INTEGER OPTIONAL,
 *     ticket_appdata      [18] EXPLICIT OCTET STRING OPTIONAL,
 *     kex_group           [19] EXPLICIT INTEGER OPTIONAL,
 *     peer_rpk            [20] EXPLICIT OCTET STRING OPTIONAL
 *   }
 *
 * An optional field is `undefined` exactly when it is absent from the DER, so
 * that encoding a decoded session gives back the same bytes.
 * Values are key material: `masterKey` (and the ticket) must never be printed
 * unless the user asked (`--show-secrets`).
 */
export interface Session {
  /** The ASN.1 structure version; always 1 (anything else is rejected). */
  version: 1;
  /** Protocol version, e.g. 0x0303 for TLS 1.2. */
  sslVersion: number;
  /** The 2-byte IANA cipher-suite id, e.g. 0xC030. */
  cipherId: number;
  sessionId: Buffer;
  masterKey: Buffer;
  keyArg?: Buffer;
  /** [1] Creation time, unix seconds. */
  time?: number;
  /** [2] Lifetime in seconds. */
  timeout?: number;
  /** [3] The peer's certificate, DER. */
  peer?: Buffer;
  /** [4] */
  sessionIdContext?: Buffer;
  /** [5] X509_V_* code. */
  verifyResult?: number;
  /** [6] SNI host name. */
  sni?: string;
  /** [7] */
  pskIdentityHint?: Buffer;
  /** [8] */
  pskIdentity?: Buffer;
  /** [9] Seconds. */
  ticketLifetimeHint?: number;
  /** [10] The ticket as the client holds it. */
  ticket?: Buffer;
  /** [11] One byte. */
  compId?: Buffer;
  /** [12] */
  srpUsername?: Buffer;
  /** [13] Bit 0: extended master secret (SSL_SESS_FLAG_EXTMS). */
  flags?: number;
  /** [14] TLS 1.3 ticket_age_add. */
  ticketAgeAdd?: number;
  /** [15] */
  maxEarlyData?: number;
  /** [16] The negotiated ALPN protocol, raw bytes. */
  alpn?: Buffer;
  /** [17] */
  maxFragmentLenMode?: number;
  /** [18] */
  ticketAppdata?: Buffer;
  /** [19] IANA named-group id (29 = x25519). */
  kexGroup?: number;
  /** [20] */
  peerRpk?: Buffer;
}

export interface CipherSuite {
  id: number;
  /** e.g. "C030" */
  idHex: string;
  /** e.g. "ECDHE-RSA-AES256-GCM-SHA384"; "0xC0FF" style when unknown. */
  opensslName: string;
  /** e.g. "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"; undefined when unknown. */
  ianaName?: string;
}

/** The peer certificate, summarised (crypto.X509Certificate). */
export interface PeerSummary {
  /** RFC 2253 order, e.g. "CN=login.corp.test,O=Sample Corp,L=Utrecht,C=NL". */
  subject: string;
  issuer: string;
  validFrom: string;
  validTo: string;
  /** e.g. "RSA 3072", "EC P-384", "ED448". */
  keyType: string;
  /** Uppercase hex, no colons. */
  sha256: string;
  /** Uppercase hex, as X509Certificate gives it. */
  serialNumber?: string;
  /** e.g. "DNS:login.corp.test"; absent when the certificate has none. */
  subjectAltName?: string;
  /** Set when the certificate could not be parsed; the other fields are then placeholders (sha256 is still the DER's). */
  error?: string;
}
