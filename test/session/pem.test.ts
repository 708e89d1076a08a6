import { describe, expect, test } from 'vitest';
import { SessctlError } from '../../src/lib/errors.js';
import { readSessionBlobs, toPem } from '../../src/lib/session/pem.js';
import { VECTORS } from './vectors.js';

const [first, second] = [VECTORS[0]!, VECTORS[6]!];

function rejected(data: string | Buffer, source = 'bad.pem'): string {
  try {
    readSessionBlobs(Buffer.isBuffer(data) ? data : Buffer.from(data, 'latin1'), source);
  } catch (error) {
    expect(error).toBeInstanceOf(SessctlError);
    expect((error as Error).message).not.toContain('\n');
    expect((error as Error).message).toContain(source);
    return (error as Error).message;
  }
  throw new Error('accepted');
}

describe('readSessionBlobs', () => {
  test('several blocks with text around them, as s_client output has', () => {
    const text = `Session log\n${first.pem.toString()}some words\n\n${second.pem.toString().replace(/\n/g, '\r\n')}trailer\n`;
    const blobs = readSessionBlobs(Buffer.from(text), 'two.pem');
    expect(blobs.map((b) => b.toString('hex'))).toEqual([first.der.toString('hex'), second.der.toString('hex')]);
  });

  test('skips other PEM blocks next to a session', () => {
    const cert = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    expect(readSessionBlobs(Buffer.from(cert + first.pem.toString()), 'mixed.pem')[0]!.equals(first.der)).toBe(true);
  });

  test('a wrong PEM header is named', () => {
    const cert = first.pem.toString().replace(/SSL SESSION PARAMETERS/g, 'CERTIFICATE');
    expect(rejected(cert, 'cert.pem')).toBe('cert.pem: expected an "SSL SESSION PARAMETERS" PEM block, found CERTIFICATE');
  });

  test('broken base64', () => {
    const lines = first.pem.toString().split('\n');
    lines[3] = `${lines[3]!.slice(0, 10)}*${lines[3]!.slice(11)}`;
    expect(rejected(lines.join('\n'))).toMatch(/PEM block at line 1 is not valid base64/);
    const short = first.pem.toString().replace(/\n-----END/, 'A\n-----END');
    expect(rejected(short)).toMatch(/not valid base64/);
  });

  test('missing END, mismatched END, empty block, headers, empty input, neither DER nor PEM', () => {
    expect(rejected(first.pem.toString().split('-----END')[0]!)).toMatch(/has no END line/);
    expect(rejected(first.pem.toString().replace('END SSL SESSION PARAMETERS', 'END CERTIFICATE'))).toMatch(/ends with "CERTIFICATE"/);
    expect(rejected('-----BEGIN SSL SESSION PARAMETERS-----\n-----END SSL SESSION PARAMETERS-----\n')).toMatch(/is empty/);
    expect(rejected('-----BEGIN SSL SESSION PARAMETERS-----\nProc-Type: 4,ENCRYPTED\nMIIB\n-----END SSL SESSION PARAMETERS-----\n')).toMatch(/headers/);
    expect(rejected(Buffer.alloc(0))).toMatch(/empty input/);
    expect(rejected('hello world\n')).toMatch(/neither DER nor PEM/);
  });

  test('DER passes through untouched (decodeSession judges it)', () => {
    expect(readSessionBlobs(first.der, 'x.der')).toEqual([first.der]);
  });
});

describe('toPem', () => {
  test('64-character lines, as openssl writes them', () => {
    for (const v of VECTORS) {
      const pem = toPem(v.der);
      expect(pem).toBe(v.pem.toString('latin1'));
      for (const line of pem.split('\n').slice(1, -3)) expect(line).toHaveLength(64);
    }
  });
});
