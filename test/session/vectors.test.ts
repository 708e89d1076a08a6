import { describe, expect, test } from 'vitest';
import { createHash } from 'node:crypto';
import { decodeSession, encodeSession } from '../../src/lib/session/codec.js';
import { readSessionBlobs, toPem } from '../../src/lib/session/pem.js';
import { sessionView, HIDDEN_SECRET } from '../../src/lib/session/view.js';
import { sessionText } from '../../src/lib/session/text.js';
import { VECTORS } from './vectors.js';

/** Key types as `openssl x509 -text` names them in the .json ("rsaEncryption 3072 bit") → ours ("RSA 3072"). */
function expectedKeyType(openssl: string): string {
  const rsa = /^rsaEncryption (\d+) bit$/.exec(openssl);
  if (rsa) return `RSA ${rsa[1]}`;
  const ec = /^id-ecPublicKey \d+ bit (\S+)$/.exec(openssl);
  if (ec) return `EC ${ec[1]}`;
  return openssl;
}

/** Decoded field [n] is present exactly when the DER had context tag [n]. */
const CONTEXT_TAG_KEYS: Record<number, string> = {
  0: 'keyArg', 1: 'time', 2: 'timeout', 3: 'peer', 4: 'sessionIdContext', 5: 'verifyResult', 6: 'sni',
  7: 'pskIdentityHint', 8: 'pskIdentity', 9: 'ticketLifetimeHint', 10: 'ticket', 11: 'compId', 12: 'srpUsername',
  13: 'flags', 14: 'ticketAgeAdd', 15: 'maxEarlyData', 16: 'alpn', 17: 'maxFragmentLenMode', 18: 'ticketAppdata',
  19: 'kexGroup', 20: 'peerRpk',
};

describe.each(VECTORS)('vector $name', ({ truth, der, pem, txt }) => {
  const session = decodeSession(der);
  const view = sessionView(session, { showSecrets: true, now: truth.time });
  const masked = sessionView(session, { showSecrets: false, now: truth.time });

  test('decodes to the ground truth', () => {
    expect(view.protocol).toBe(truth.protocol);
    expect(view.protocolHex).toBe(truth.extra.ssl_version_hex);
    expect(view.cipher.opensslName).toBe(truth.cipher.openssl_name);
    expect(view.cipher.ianaName).toBe(truth.cipher.iana_name);
    expect(view.cipher.idHex).toBe(truth.cipher.id_hex.toLowerCase());
    expect(view.cipher.id).toBe(Number.parseInt(truth.cipher.id_hex, 16));
    expect(view.sessionId).toBe(truth.session_id_hex.toLowerCase());
    expect(view.sessionIdContext?.hex).toBe(truth.session_id_ctx_hex.toLowerCase());
    expect(view.sessionIdContext?.ascii).toBe(truth.extra.session_id_ctx_ascii);
    expect(view.masterKey).toBe(truth.master_key_hex.toLowerCase());
    expect(view.masterKeyLength).toBe(truth.extra.master_key_length);
    expect(view.masterKeyKind === 'resumption PSK').toBe(truth.extra.master_key_is_tls13_resumption_psk);
    expect(view.time?.unix).toBe(truth.time);
    expect(view.timeout).toBe(truth.timeout);
    expect(view.expiresAt?.unix).toBe(truth.time + truth.timeout);
    expect(view.sni).toBe(truth.sni);
    expect(view.alpn).toBe(truth.alpn);
    expect(view.ticketLifetimeHint).toBe(truth.ticket_lifetime_hint);
    expect(view.ticket !== null).toBe(truth.has_ticket);
    expect(view.ticket?.length ?? null).toBe(truth.extra.ticket_length);
    // `sess_id -text` prints Max Early Data for TLS 1.3 only; absent in the DER means 0.
    expect(view.maxEarlyData).toBe(truth.max_early_data ?? 0);
    expect(view.ticketAgeAdd).toBe(truth.extra.tls13_ticket_age_add ?? null);
    expect(view.verifyResult.code).toBe(truth.extra.verify_result.code);
    expect(view.verifyResult.text).toBe(truth.extra.verify_result.text);
    expect(view.flags.extendedMasterSecret).toBe(truth.extra.extended_master_secret);
    expect(view.kexGroup?.id).toBe(truth.extra.kex_group_id);
    expect(view.der.length).toBe(truth.extra.der_length);
    expect(view.der.sha256).toBe(truth.extra.der_sha256);
  });

  test('has exactly the context-tagged fields the DER has', () => {
    const present = Object.entries(CONTEXT_TAG_KEYS)
      .filter(([, key]) => (session as unknown as Record<string, unknown>)[key] !== undefined)
      .map(([tag]) => Number(tag));
    expect(present).toEqual(truth.extra.asn1_context_tags_present);
  });

  test('summarises the peer certificate', () => {
    expect(view.peer !== null).toBe(truth.has_peer_cert);
    if (!truth.has_peer_cert) return;
    expect(view.peer?.error).toBeUndefined();
    expect(view.peer?.subject).toBe(truth.peer_subject);
    expect(view.peer?.issuer).toBe(truth.extra.peer_issuer);
    expect(view.peer?.keyType).toBe(expectedKeyType(truth.extra.peer_public_key!));
    expect(view.peer?.sha256).toBe(truth.extra.peer_cert_sha256);
  });

  test('guesses the role that wrote it', () => {
    expect(['unknown', truth.role]).toContain(view.role.guess);
    if (truth.has_ticket || truth.role === 'server') expect(view.role.guess).toBe(truth.role);
  });

  test('encodes back to the same bytes', () => {
    expect(encodeSession(session).equals(der)).toBe(true);
  });

  test('PEM and DER give the same session; toPem writes what openssl wrote', () => {
    const fromPem = readSessionBlobs(pem, 'x.pem');
    expect(fromPem).toHaveLength(1);
    expect(fromPem[0]!.equals(der)).toBe(true);
    expect(decodeSession(fromPem[0]!)).toEqual(session);
    expect(readSessionBlobs(der, 'x.der')[0]!.equals(der)).toBe(true);
    expect(toPem(der)).toBe(pem.toString('latin1'));
  });

  test('masks the master key unless asked', () => {
    const key = truth.master_key_hex.toLowerCase();
    expect(masked.masterKey).toBe(HIDDEN_SECRET);
    expect(masked.secretsShown).toBe(false);
    for (const text of [JSON.stringify(masked), sessionText(masked)]) {
      expect(text.toLowerCase()).not.toContain(key);
    }
    expect(sessionText(view).toLowerCase()).toContain(key);
  });

  test('text rendering carries what sess_id -text prints, and more', () => {
    const text = sessionText(masked);
    expect(text).toContain(`Protocol  : ${truth.protocol}`);
    expect(text).toContain(`Cipher    : ${truth.cipher.openssl_name}`);
    expect(text).toContain(`Session-ID: ${truth.session_id_hex.toLowerCase()}`);
    expect(text).toContain(`Start Time: ${truth.time}`);
    expect(text).toContain(`Timeout   : ${truth.timeout} (sec)`);
    // The verify and EMS lines are the same as openssl's own.
    for (const line of txt.split('\n').filter((l) => /Verify return code|Extended master secret|Max Early Data/.test(l))) {
      expect(text).toContain(line);
    }
    // The ticket dump is openssl's BIO_dump layout (bytes in lowercase, as openssl prints them).
    for (const line of txt.split('\n').filter((l) => /^ {4}[0-9a-f]{4} - /.test(l))) expect(text).toContain(line);
    if (truth.sni) expect(text).toContain(`SNI       : ${truth.sni}`);
    if (truth.alpn) expect(text).toContain(`ALPN      : ${truth.alpn}`);
    if (truth.peer_subject) expect(text).toContain(truth.peer_subject);
    expect(text).toContain(createHash('sha256').update(der).digest('hex'));
  });

  test('expiry is judged against the given clock', () => {
    expect(sessionView(session, { showSecrets: false, now: truth.time + truth.timeout - 1 }).expired).toBe(false);
    expect(sessionView(session, { showSecrets: false, now: truth.time + truth.timeout }).expired).toBe(true);
  });
});
