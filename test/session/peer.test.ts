import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { createHash } from 'node:crypto';
import { rfc2253, summarizePeer } from '../../src/lib/session/peer.js';
import { decodeSession, encodeSession } from '../../src/lib/session/codec.js';
import { sessionView } from '../../src/lib/session/view.js';
import { sessionText } from '../../src/lib/session/text.js';
import { requireTool, tempDir } from '../helpers/env.js';

const hasOpenssl = requireTool('openssl', 'openssl');
const tmp = tempDir('sessctl-peer-');
afterAll(() => tmp.cleanup());

/** A fresh self-signed certificate from the openssl CLI, as DER. */
function makeCertificate(name: string, keyArgs: string[], subject: string, extra: string[] = []): Buffer {
  const key = join(tmp.dir, `${name}.key`);
  const der = join(tmp.dir, `${name}.der`);
  execFileSync('openssl', ['genpkey', ...keyArgs, '-out', key], { stdio: 'ignore' });
  execFileSync('openssl', ['req', '-x509', '-new', '-utf8', '-key', key, '-days', '30', '-subj', subject, '-outform', 'DER', '-out', der, ...extra], { stdio: 'ignore' });
  return readFileSync(der);
}

function opensslSubject(der: Buffer, what: 'subject' | 'issuer'): string {
  const out = execFileSync('openssl', ['x509', '-inform', 'DER', '-noout', `-${what}`, '-nameopt', 'RFC2253,-esc_msb'], { input: der, encoding: 'utf8' });
  return out.trim().replace(new RegExp(`^${what}=`), '');
}

describe.skipIf(!hasOpenssl)('summarizePeer on certificates made by openssl', () => {
  test('subject in RFC 2253 order, with multi-valued RDNs and escaped values, as openssl prints it', () => {
    const der = makeCertificate('odd', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'], '/C=NL/ST=Noord+Holland/O=Acme, Inc./OU=R\\+D+UID=42/CN= lead "x"; é<y>#', ['-multivalue-rdn']);
    const summary = summarizePeer(der);
    expect(summary.error).toBeUndefined();
    expect(summary.subject).toBe(opensslSubject(der, 'subject'));
    expect(summary.issuer).toBe(opensslSubject(der, 'issuer'));
    expect(summary.subject).toContain('UID=42+OU=R\\+D');
    expect(summary.keyType).toBe('EC P-256');
    expect(summary.sha256).toBe(createHash('sha256').update(der).digest('hex').toUpperCase());
  });

  test('control characters in a peer name never reach the terminal raw', () => {
    const der = makeCertificate('ctrl', ['-algorithm', 'ED25519'], '/CN=evil\u009b31m\u001b[2Jx.test'.replace(/\\u(....)/g, (_, h) => String.fromCharCode(Number.parseInt(h, 16))));
    const session = decodeSession(encodeSession({ version: 1, sslVersion: 0x0303, cipherId: 0xc02f, sessionId: Buffer.alloc(32, 1), masterKey: Buffer.alloc(48, 2), peer: der }));
    const text = sessionText(sessionView(session, { showSecrets: false, now: 0 }));
    expect(text).toContain('CN=evil');
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  });

  test.each([
    ['rsa2048', ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'], 'RSA 2048'],
    ['p521', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-521'], 'EC P-521'],
    ['brainpool', ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:brainpoolP256r1'], 'EC brainpoolP256r1'],
    ['ed25519', ['-algorithm', 'ED25519'], 'ED25519'],
    ['ed448', ['-algorithm', 'ED448'], 'ED448'],
    ['rsapss', ['-algorithm', 'RSA-PSS', '-pkeyopt', 'rsa_keygen_bits:2048'], 'RSA-PSS 2048'],
  ])('key type %s', (name, keyArgs, expected) => {
    const der = makeCertificate(name, keyArgs, `/CN=${name}.test`);
    const summary = summarizePeer(der);
    expect(summary.keyType).toBe(expected);
    expect(summary.subject).toBe(`CN=${name}.test`);
    const notAfter = execFileSync('openssl', ['x509', '-inform', 'DER', '-noout', '-enddate'], { input: der, encoding: 'utf8' }).trim().replace('notAfter=', '');
    expect(summary.validTo).toBe(new Date(notAfter).toISOString());
  });
});

describe('summarizePeer on bad input', () => {
  test('a corrupt certificate gives an error note, not an exception', () => {
    for (const der of [Buffer.from('30820102', 'hex'), Buffer.alloc(0), Buffer.from('not a certificate')]) {
      const summary = summarizePeer(der);
      expect(summary.error).toMatch(/^unreadable certificate \(\d+ bytes\)$/);
      expect(summary.sha256).toBe(createHash('sha256').update(der).digest('hex').toUpperCase());
    }
  });
});

describe('rfc2253', () => {
  test('reverses Node\'s one-RDN-per-line form', () => {
    expect(rfc2253('C=NL\nO=Sample Lab\nCN=Sample Lab Issuing CA')).toBe('CN=Sample Lab Issuing CA,O=Sample Lab,C=NL');
    expect(rfc2253('O=A\\, B\nOU=x \\+ y + UID=1')).toBe('UID=1+OU=x \\+ y,O=A\\, B');
    expect(rfc2253('')).toBe('');
  });
});
