import { execFileSync } from 'node:child_process';
import { describe, expect, test } from 'vitest';
import { cipherSuite, cipherSuites, findCipher, groupName, protocolName } from '../../src/lib/session/names.js';
import { requireTool } from '../helpers/env.js';

const TLS13_SUITES = 'TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256';

describe.skipIf(!requireTool('openssl', 'openssl'))('cipher table against this machine\'s openssl', () => {
  test('every suite `openssl ciphers -V -stdname ALL:COMPLEMENTOFALL` prints, plus the TLS 1.3 suites, has both names', () => {
    const output = execFileSync('openssl', ['ciphers', '-V', '-stdname', '-ciphersuites', TLS13_SUITES, 'ALL:COMPLEMENTOFALL'], { encoding: 'utf8' });
    const lines = output.trim().split('\n');
    expect(lines.length).toBeGreaterThan(150);
    for (const line of lines) {
      const m = /^\s*0x([0-9A-F]{2}),0x([0-9A-F]{2}) - (\S+)\s+- (\S+)/.exec(line);
      expect(m, line).not.toBeNull();
      const [, hi, lo, iana, openssl] = m!;
      expect(cipherSuite(Number.parseInt(hi! + lo!, 16)), line).toEqual({ id: Number.parseInt(hi! + lo!, 16), idHex: hi! + lo!, opensslName: openssl, ianaName: iana });
    }
    expect(cipherSuites()).toHaveLength(lines.length);
  });
});

describe('names', () => {
  test('protocol versions', () => {
    expect([0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0xfeff, 0xfefd].map(protocolName)).toEqual(['SSLv3', 'TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3', 'DTLSv1', 'DTLSv1.2']);
    expect(protocolName(0x0305)).toBe('0x0305');
  });

  test('unknown cipher ids keep their number', () => {
    expect(cipherSuite(0xc0ff)).toEqual({ id: 0xc0ff, idHex: 'C0FF', opensslName: '0xC0FF' });
    expect(cipherSuite(0x0a).ianaName).toBeUndefined();
  });

  test('findCipher takes OpenSSL names, IANA names and hex ids', () => {
    const suite = cipherSuite(0xc030);
    for (const name of ['ECDHE-RSA-AES256-GCM-SHA384', 'ecdhe-rsa-aes256-gcm-sha384', 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384', 'C030', '0xc030', '0xC0,0x30', ' c030 ']) {
      expect(findCipher(name), name).toEqual(suite);
    }
    expect(findCipher('TLS_AES_128_CCM_8_SHA256')?.id).toBe(0x1305);
    expect(findCipher('0xFAFA')).toEqual(cipherSuite(0xfafa));
    expect(findCipher('NO-SUCH-CIPHER')).toBeUndefined();
    expect(findCipher('12345')).toBeUndefined();
  });

  test('groups', () => {
    expect([29, 30, 23, 24, 25, 256, 260, 0].map(groupName)).toEqual(['x25519', 'x448', 'secp256r1', 'secp384r1', 'secp521r1', 'ffdhe2048', 'ffdhe8192', 'none']);
    expect(groupName(0x1234)).toBe('0x1234');
  });
});
