import { describe, expect, it } from 'vitest';
import { apacheFile } from '../../src/lib/tickets/formats/apache.js';
import { atsFile } from '../../src/lib/tickets/formats/ats.js';
import { haproxyFile } from '../../src/lib/tickets/formats/haproxy.js';
import { checkSizes, FORMATS, parseOutput } from '../../src/lib/tickets/formats/index.js';
import { nginxDirectives, nginxFiles } from '../../src/lib/tickets/formats/nginx.js';
import { nodeTicketKeys } from '../../src/lib/tickets/formats/node.js';
import { rawFile } from '../../src/lib/tickets/formats/raw.js';
import { createRing, currentKey, nextKey, rotateRing, type KeyRing, type TicketKey } from '../../src/lib/tickets/ring.js';

const T0 = 1_800_000_000;
const H = 3600;

/** A ring with one previous key. */
function ring(size: 48 | 80): KeyRing {
  return rotateRing(createRing(T0, { size }), T0 + H);
}
const prev = (r: KeyRing): TicketKey => r.keys.find((k) => k.state === 'previous')!;

/** Field views of one key blob, in the named order. */
function fields(blob: Buffer, order: ('name' | 'aes' | 'hmac')[], half: number): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  let at = 0;
  for (const f of order) {
    const len = f === 'name' ? 16 : half;
    out[f] = blob.subarray(at, at + len);
    at += len;
  }
  expect(at).toBe(blob.length);
  return out;
}

function expectKey(blob: Buffer, key: TicketKey, order: ('name' | 'aes' | 'hmac')[]): void {
  const f = fields(blob, order, key.aesKey.length);
  expect(f.name).toEqual(key.name);
  expect(f.aes).toEqual(key.aesKey);
  expect(f.hmac).toEqual(key.hmacKey);
}

describe('nginx: one file per slot', () => {
  it('48 bytes: name16 aes16 hmac16; current, previous, next slots', () => {
    const r = ring(48);
    const files = nginxFiles(r, T0 + H);
    expect(files.map((f) => f.name)).toEqual(['current.key', 'previous.key', 'next.key']);
    for (const f of files) expect(f.data).toHaveLength(48);
    expectKey(files[0]!.data, currentKey(r), ['name', 'aes', 'hmac']);
    expectKey(files[1]!.data, prev(r), ['name', 'aes', 'hmac']);
    expectKey(files[2]!.data, nextKey(r), ['name', 'aes', 'hmac']);
  });

  it('80 bytes: name16 hmac32 aes32', () => {
    const r = ring(80);
    const files = nginxFiles(r, T0 + H);
    for (const f of files) expect(f.data).toHaveLength(80);
    expectKey(files[0]!.data, currentKey(r), ['name', 'hmac', 'aes']);
    expectKey(files[2]!.data, nextKey(r), ['name', 'hmac', 'aes']);
  });

  it('an empty slot gets a fresh key that is in no ring (never encrypts)', () => {
    const r = createRing(T0);
    const files = nginxFiles(r, T0, { previousSlots: 3 });
    expect(files.map((f) => f.name)).toEqual(['current.key', 'previous.key', 'previous-2.key', 'previous-3.key', 'next.key']);
    const names = r.keys.map((k) => k.name.toString('hex'));
    for (const f of files.slice(1, -1)) {
      expect(f.data).toHaveLength(48);
      expect(names).not.toContain(f.data.subarray(0, 16).toString('hex'));
    }
    expect(new Set(files.map((f) => f.data.toString('hex'))).size).toBe(files.length);
  });

  it('a longer decrypt window adds previous-2.key and so on, newest first', () => {
    let r = createRing(T0, { keep: 10 * H });
    const k0 = currentKey(r);
    r = rotateRing(r, T0 + H);
    const k1 = currentKey(r);
    r = rotateRing(r, T0 + 2 * H);
    const files = nginxFiles(r, T0 + 2 * H);
    expect(files.map((f) => f.name)).toEqual(['current.key', 'previous.key', 'previous-2.key', 'next.key']);
    expectKey(files[1]!.data, k1, ['name', 'aes', 'hmac']);
    expectKey(files[2]!.data, k0, ['name', 'aes', 'hmac']);
    expect(nginxDirectives('/etc/nginx/tickets/', 2)[0]).toBe('ssl_session_ticket_key /etc/nginx/tickets/current.key;');
  });
});

describe('haproxy: three base64 lines, the penultimate encrypts', () => {
  for (const size of [48, 80] as const) {
    it(`${size} bytes: name16 aes hmac per line; previous, current, next`, () => {
      const r = ring(size);
      const text = haproxyFile(r, T0 + H).toString('ascii');
      expect(text.endsWith('\n')).toBe(true);
      const lines = text.trimEnd().split('\n');
      expect(lines).toHaveLength(3);
      const blobs = lines.map((l) => Buffer.from(l, 'base64'));
      for (const [i, l] of lines.entries()) expect(blobs[i]!.toString('base64')).toBe(l);
      expectKey(blobs[0]!, prev(r), ['name', 'aes', 'hmac']);
      expectKey(blobs[1]!, currentKey(r), ['name', 'aes', 'hmac']);
      expectKey(blobs[2]!, nextKey(r), ['name', 'aes', 'hmac']);
    });
  }
  it('a ring without a previous key still gives three lines', () => {
    const r = createRing(T0);
    const lines = haproxyFile(r, T0).toString().trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expectKey(Buffer.from(lines[1]!, 'base64'), currentKey(r), ['name', 'aes', 'hmac']);
  });
});

describe('single-key and concatenated formats: name16 hmac16 aes16', () => {
  it('ats: N x 48, current first, then next and previous', () => {
    const r = ring(48);
    const data = atsFile(r, T0 + H);
    expect(data).toHaveLength(3 * 48);
    expectKey(data.subarray(0, 48), currentKey(r), ['name', 'hmac', 'aes']);
    expectKey(data.subarray(48, 96), nextKey(r), ['name', 'hmac', 'aes']);
    expectKey(data.subarray(96, 144), prev(r), ['name', 'hmac', 'aes']);
  });
  it('apache and node: the current key, 48 bytes', () => {
    const r = ring(48);
    expectKey(apacheFile(r), currentKey(r), ['name', 'hmac', 'aes']);
    expectKey(nodeTicketKeys(r), currentKey(r), ['name', 'hmac', 'aes']);
    expect(() => nodeTicketKeys(ring(80))).toThrow(/48-byte/);
  });
  it('raw: the current key, name hmac aes, 48 or 80 bytes', () => {
    const r48 = ring(48);
    expectKey(rawFile(r48), currentKey(r48), ['name', 'hmac', 'aes']);
    const r80 = ring(80);
    expect(rawFile(r80)).toHaveLength(80);
    expectKey(rawFile(r80), currentKey(r80), ['name', 'hmac', 'aes']);
  });
});

describe('--write FORMAT:PATH', () => {
  it('parses known formats and rejects others', () => {
    expect(parseOutput('nginx:/etc/nginx/tk').format).toBe(FORMATS.nginx);
    expect(parseOutput('haproxy:/a:b').path).toBe('/a:b');
    expect(() => parseOutput('caddy:/x')).toThrow(/FORMAT one of nginx, haproxy, ats, apache, node, raw/);
    expect(() => parseOutput('nginx')).toThrow(/FORMAT:PATH/);
    expect(() => parseOutput('nginx:')).toThrow(/empty/);
  });
  it('rejects a key size the format cannot take', () => {
    expect(() => checkSizes([parseOutput('apache:/x')], 80)).toThrow(/apache takes 48-byte keys/);
    expect(() => checkSizes([parseOutput('nginx:/x'), parseOutput('haproxy:/y')], 80)).not.toThrow();
  });
});
