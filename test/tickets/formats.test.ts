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

  it('previous.key holds the current key again while the ring has no previous key (no key outside the ring)', () => {
    const r = createRing(T0);
    const files = nginxFiles(r, T0);
    expect(files.map((f) => f.name)).toEqual(['current.key', 'previous.key', 'next.key']);
    expect(files[1]!.data).toEqual(files[0]!.data);
  });

  it('nginx:DIR stays three slots with a longer window: the older previous keys are not held, and named', () => {
    let r = createRing(T0, { keep: 10 * H });
    const k0 = currentKey(r);
    r = rotateRing(r, T0 + H);
    const k1 = currentKey(r);
    r = rotateRing(r, T0 + 2 * H);
    const files = nginxFiles(r, T0 + 2 * H);
    expect(files.map((f) => f.name)).toEqual(['current.key', 'previous.key', 'next.key']);
    expectKey(files[1]!.data, k1, ['name', 'aes', 'hmac']);
    expect(FORMATS.nginx.holds(r, T0 + 2 * H).map((k) => k.name)).not.toContainEqual(k0.name);
    expect(nginxDirectives('/etc/nginx/tickets/')).toEqual([
      'ssl_session_ticket_key /etc/nginx/tickets/current.key;',
      'ssl_session_ticket_key /etc/nginx/tickets/previous.key;',
      'ssl_session_ticket_key /etc/nginx/tickets/next.key;',
    ]);
  });

  it('nginx-include:DIR: a slot per key of the window and ticket-keys.conf naming them, current first', async () => {
    let r = createRing(T0, { keep: 10 * H });
    const k0 = currentKey(r);
    r = rotateRing(r, T0 + H);
    const k1 = currentKey(r);
    r = rotateRing(r, T0 + 2 * H);
    const files = FORMATS['nginx-include'].render(r, { now: T0 + 2 * H, path: '/etc/nginx/tickets' });
    expect(files.map((f) => f.name)).toEqual(['current.key', 'previous.key', 'previous-2.key', 'next.key', 'ticket-keys.conf']);
    expectKey(files[1]!.data, k1, ['name', 'aes', 'hmac']);
    expectKey(files[2]!.data, k0, ['name', 'aes', 'hmac']);
    expect(files[4]!.data.toString().split('\n').filter((l) => l.startsWith('ssl_'))).toEqual([
      'ssl_session_ticket_key /etc/nginx/tickets/current.key;',
      'ssl_session_ticket_key /etc/nginx/tickets/previous.key;',
      'ssl_session_ticket_key /etc/nginx/tickets/previous-2.key;',
      'ssl_session_ticket_key /etc/nginx/tickets/next.key;',
    ]);
    expect(FORMATS['nginx-include'].holds(r, T0 + 2 * H).map((k) => k.name)).toContainEqual(k0.name);
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
  it('a ring without a previous key still gives three lines: the current key twice', () => {
    const r = createRing(T0);
    const lines = haproxyFile(r, T0).toString().trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe(lines[1]);
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
    expect(() => parseOutput('caddy:/x')).toThrow(/FORMAT one of nginx, nginx-include, haproxy, ats, apache, node, raw, lighttpd, h2o/);
    expect(() => parseOutput('nginx')).toThrow(/FORMAT:PATH/);
    expect(() => parseOutput('nginx:')).toThrow(/empty/);
  });
  it('rejects a key size the format cannot take', () => {
    expect(() => checkSizes([parseOutput('apache:/x')], 80)).toThrow(/apache takes 48-byte keys/);
    expect(() => checkSizes([parseOutput('nginx:/x'), parseOutput('haproxy:/y')], 80)).not.toThrow();
  });
});

describe('lighttpd: 92 bytes, version 0, activation, expiry, name16 hmac32 aes32', () => {
  it('writes the current key active from its activation, expiring a rotation period plus the window later', () => {
    const r = ring(80);
    const data = FORMATS.lighttpd.render(r, { now: T0 + H, path: '/x', rotationPeriod: 6 * H })[0]!.data;
    expect(data).toHaveLength(92);
    expect(data.readInt32LE(0)).toBe(0);
    expect(data.readInt32LE(4)).toBe(currentKey(r).activatedAt);
    expect(data.readInt32LE(8)).toBe(currentKey(r).activatedAt! + 6 * H + r.keep);
    expectKey(data.subarray(12), currentKey(r), ['name', 'hmac', 'aes']);
    expect(() => checkSizes([parseOutput('lighttpd:/x')], 48)).toThrow(/lighttpd takes 80-byte keys/);
  });
});

describe('h2o: YAML, every key; the next one not valid before 2100', () => {
  it('writes name, cipher, hash, key (aes then the HMAC key padded to 64 bytes), not_before, not_after', () => {
    const r = ring(48);
    const text = FORMATS.h2o.render(r, { now: T0 + H, path: '/x' })[0]!.data.toString();
    const entries = text.split('\n- ').slice(1);
    expect(entries).toHaveLength(3);
    const cur = currentKey(r);
    const entry = text.slice(text.indexOf(`- name: ${cur.name.toString('hex')}`)).split('\n').slice(0, 6);
    expect(entry).toEqual([
      `- name: ${cur.name.toString('hex')}`,
      '  cipher: aes-128-cbc',
      '  hash: sha256',
      `  key: ${Buffer.concat([cur.aesKey, cur.hmacKey, Buffer.alloc(48)]).toString('hex')}`,
      `  not_before: ${cur.activatedAt}`,
      '  not_after: 4102444800',
    ]);
    expect(text).toContain(`- name: ${nextKey(r).name.toString('hex')}\n  cipher: aes-128-cbc\n  hash: sha256\n  key: `);
  });
});

describe('read back: every format loads its own files as its server would', () => {
  for (const name of Object.keys(FORMATS) as (keyof typeof FORMATS)[]) {
    it(`${name}: the current key encrypts; every key loaded is the ring's, byte for byte`, async () => {
      const format = FORMATS[name];
      const r = ring(format.sizes.includes(48) ? 48 : 80);
      const context = { now: T0 + H, path: '/srv/keys' };
      const files = format.render(r, context);
      const read = async (f: string): Promise<Buffer> => {
        const found = files.find((x) => x.name === f || `/srv/keys/${x.name}` === f);
        if (!found) throw new Error(`no ${f}`);
        return found.data;
      };
      const loaded = await format.load(read, context);
      expect(loaded.filter((k) => k.encrypts).map((k) => k.name)).toEqual([currentKey(r).name]);
      for (const k of loaded) {
        const key = r.keys.find((x) => x.name.equals(k.name))!;
        expect(key, k.where).toBeDefined();
        expect(k.aesKey).toEqual(key.aesKey);
        expect(k.hmacKey.subarray(0, key.hmacKey.length)).toEqual(key.hmacKey);
      }
      const held = format.holds(r, T0 + H).map((k) => k.name.toString('hex'));
      // lighttpd keeps in memory the keys of earlier files too: its file holds only the current one.
      if (name === 'lighttpd') expect(loaded.map((k) => k.name.toString('hex'))).toEqual([held[0]]);
      else expect(new Set(loaded.map((k) => k.name.toString('hex')))).toEqual(new Set(held));
    });
  }
});
