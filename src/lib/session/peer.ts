/**
 * A summary of the peer certificate a session carries (field [3]), for
 * `sessctl get` and `list`: who, issued by whom, valid when, what key.
 */
import { X509Certificate, createHash } from 'node:crypto';
import type { PeerSummary } from './types.js';

/**
 * X509Certificate.subject is one RDN per line in DER order, values already
 * escaped as RFC 2253 asks (Node prints names with ASN1_STRFLGS_ESC_2253 |
 * ESC_CTRL, so a value never holds a raw newline), multi-valued RDNs joined by
 * " + ". `openssl x509 -nameopt RFC2253` prints every attribute in reverse
 * order, so we reverse the flattened attribute list and regroup it.
 */
export function rfc2253(nodeName: string): string {
  if (nodeName === '') return '';
  const rdns = nodeName.split('\n').map((line) => line.split(/(?<!\\) \+ /));
  return rdns
    .reverse()
    .map((attributes) => attributes.reverse().join('+'))
    .join(',');
}

/** Curve names as `openssl x509 -text` shows them ("NIST CURVE: P-384"). */
const NIST_CURVES: Record<string, string> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
  secp224r1: 'P-224',
  prime192v1: 'P-192',
};

function keyType(certificate: X509Certificate): string {
  const key = certificate.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return `RSA ${details.modulusLength ?? '?'}`;
    case 'rsa-pss':
      return `RSA-PSS ${details.modulusLength ?? '?'}`;
    case 'dsa':
      return `DSA ${details.modulusLength ?? '?'}`;
    case 'ec': {
      const curve = details.namedCurve ?? '?';
      return `EC ${NIST_CURVES[curve] ?? curve}`;
    }
    default:
      return (key.asymmetricKeyType ?? 'unknown').toUpperCase();
  }
}

/** "Nov 21 22:33:30 2026 GMT" (X509Certificate.validFrom) as ISO 8601; left alone if unparsable. */
function isoDate(text: string): string {
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? text : new Date(ms).toISOString();
}

/**
 * Summarise a DER certificate. Never throws: a certificate Node cannot parse
 * gives a summary whose `error` says so (the session may still be usable, and
 * `get` must still show the rest).
 */
export function summarizePeer(der: Uint8Array): PeerSummary {
  const sha256 = createHash('sha256').update(der).digest('hex').toUpperCase();
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(der);
  } catch {
    return { subject: '', issuer: '', validFrom: '', validTo: '', keyType: '', sha256, error: `unreadable certificate (${der.length} bytes)` };
  }
  let type: string;
  try {
    type = keyType(certificate);
  } catch {
    // Node cannot load every key type (e.g. GOST); the rest of the certificate is still readable.
    type = 'unsupported key type';
  }
  const summary: PeerSummary = {
    subject: rfc2253(certificate.subject),
    issuer: rfc2253(certificate.issuer),
    validFrom: isoDate(certificate.validFrom),
    validTo: isoDate(certificate.validTo),
    keyType: type,
    sha256,
    serialNumber: certificate.serialNumber.toUpperCase(),
  };
  if (certificate.subjectAltName !== undefined) summary.subjectAltName = certificate.subjectAltName;
  return summary;
}
