import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SessctlError } from '../../src/lib/errors.js';
import {
  createRing,
  currentKey,
  decodeRing,
  describeKeys,
  encodeRing,
  findKey,
  isDue,
  keyState,
  nextKey,
  previousKeys,
  rotateRing,
  withPending,
  type KeyRing,
} from '../../src/lib/tickets/ring.js';

const T0 = 1_800_000_000;
const H = 3600;

describe('key ring', () => {
  it('a new ring has a current key and a pre-distributed next key, from crypto.randomBytes', () => {
    const ring = createRing(T0);
    expect(ring.size).toBe(48);
    expect(ring.keys.map((k) => k.state)).toEqual(['next', 'current']);
    for (const k of ring.keys) {
      expect(k.name).toHaveLength(16);
      expect(k.aesKey).toHaveLength(16);
      expect(k.hmacKey).toHaveLength(16);
    }
    const all = ring.keys.flatMap((k) => [k.name, k.aesKey, k.hmacKey].map((b) => b.toString('hex')));
    expect(new Set(all).size).toBe(all.length);
    const big = createRing(T0, { size: 80 });
    expect(currentKey(big).aesKey).toHaveLength(32);
    expect(currentKey(big).hmacKey).toHaveLength(32);
  });

  it('rotation: next starts encrypting, current decrypts for the window, a fresh next appears', () => {
    const r0 = createRing(T0, { keep: 12 * H });
    const r1 = rotateRing(r0, T0 + 12 * H);
    expect(currentKey(r1).name).toEqual(nextKey(r0).name);
    expect(currentKey(r1).activatedAt).toBe(T0 + 12 * H);
    expect(previousKeys(r1, T0 + 12 * H).map((k) => k.name)).toEqual([currentKey(r0).name]);
    expect(nextKey(r1).name.equals(nextKey(r0).name)).toBe(false);
    expect(nextKey(r1).name.equals(currentKey(r0).name)).toBe(false);
    // r0 itself is untouched
    expect(r0.keys.map((k) => k.state)).toEqual(['next', 'current']);
  });

  it('keeps previous keys exactly for the decrypt window, then drops them', () => {
    let ring = createRing(T0, { keep: 10 * H });
    const k0 = currentKey(ring).name;
    ring = rotateRing(ring, T0 + 4 * H); // k0 demoted at +4h, window until +14h
    ring = rotateRing(ring, T0 + 8 * H);
    expect(ring.keys.map((k) => k.state)).toEqual(['next', 'current', 'previous', 'previous']);
    const k0Key = findKey(ring, k0)!;
    expect(keyState(ring, k0Key, T0 + 14 * H - 1)).toBe('previous');
    expect(keyState(ring, k0Key, T0 + 14 * H)).toBe('retired');
    ring = rotateRing(ring, T0 + 13 * H);
    expect(findKey(ring, k0)).toBeDefined();
    ring = rotateRing(ring, T0 + 14 * H);
    expect(findKey(ring, k0)).toBeUndefined();
  });

  it('property: after any sequence of rotations the ring is valid, round-trips, and previous keys are in their window', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 48 * H }), { maxLength: 12 }), fc.integer({ min: 1, max: 72 * H }), (gaps, keep) => {
        let now = T0;
        let ring: KeyRing = createRing(now, { keep });
        for (const gap of gaps) {
          now += gap;
          ring = rotateRing(ring, now);
        }
        const back = decodeRing(encodeRing(ring), 'test');
        expect(encodeRing(back).equals(encodeRing(ring))).toBe(true);
        expect(ring.keys.filter((k) => k.state === 'current')).toHaveLength(1);
        expect(ring.keys.filter((k) => k.state === 'next')).toHaveLength(1);
        for (const k of ring.keys.filter((k) => k.state === 'previous')) {
          expect(k.demotedAt! + keep).toBeGreaterThan(now);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('is due when the current key has encrypted for at least --if-older-than', () => {
    const ring = createRing(T0);
    expect(isDue(ring, T0 + 6 * H - 1, 6 * H)).toBe(false);
    expect(isDue(ring, T0 + 6 * H, 6 * H)).toBe(true);
  });

  it('lists names and states, secrets only when asked', () => {
    const ring = rotateRing(createRing(T0), T0 + H);
    const plain = describeKeys(ring, T0 + H);
    expect(plain.map((k) => k.state)).toEqual(['next', 'current', 'previous']);
    expect(JSON.stringify(plain)).not.toContain(currentKey(ring).aesKey.toString('base64'));
    const secret = describeKeys(ring, T0 + H, { showSecrets: true });
    expect(secret[1]!.aesKey).toBe(currentKey(ring).aesKey.toString('base64'));
  });

  describe('load rejects a corrupt ring with one clear error', () => {
    const good = JSON.parse(encodeRing(rotateRing(createRing(T0), T0 + H)).toString()) as Record<string, any>;
    const cases: [string, (d: any) => unknown][] = [
      ['not JSON', () => '{"format": '],
      ['wrong format', (d) => ({ ...d, format: 'other' })],
      ['wrong version', (d) => ({ ...d, version: 2 })],
      ['bad size', (d) => ({ ...d, size: 64 })],
      ['negative keep', (d) => ({ ...d, keep: -1 })],
      ['short aes key', (d) => ({ ...d, keys: d.keys.map((k: any, i: number) => (i === 1 ? { ...k, aesKey: Buffer.alloc(15).toString('base64') } : k)) })],
      ['80-byte key in a 48-byte ring', (d) => ({ ...d, keys: d.keys.map((k: any, i: number) => (i === 0 ? { ...k, hmacKey: Buffer.alloc(32).toString('base64') } : k)) })],
      ['bad name', (d) => ({ ...d, keys: d.keys.map((k: any, i: number) => (i === 0 ? { ...k, name: 'zz' } : k)) })],
      ['two current keys', (d) => ({ ...d, keys: d.keys.map((k: any) => ({ ...k, state: 'current', activatedAt: T0 })) })],
      ['no next key', (d) => ({ ...d, keys: d.keys.filter((k: any) => k.state !== 'next') })],
      ['duplicate names', (d) => ({ ...d, keys: d.keys.map((k: any) => ({ ...k, name: d.keys[0].name })) })],
      ['unknown state', (d) => ({ ...d, keys: d.keys.map((k: any, i: number) => (i === 2 ? { ...k, state: 'old' } : k)) })],
      ['previous without demotedAt', (d) => ({ ...d, keys: d.keys.map((k: any, i: number) => (i === 2 ? { ...k, demotedAt: undefined } : k)) })],
      ['keys not a list', (d) => ({ ...d, keys: {} })],
    ];
    it.each(cases)('%s', (_, mutate) => {
      const doc = mutate(structuredClone(good));
      const bytes = Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc));
      expect(() => decodeRing(bytes, '/etc/ring.json')).toThrow(SessctlError);
      expect(() => decodeRing(bytes, '/etc/ring.json')).toThrow(/^corrupt ticket-key ring \/etc\/ring.json: /);
    });
  });

  it('pending runs and keys not held by an output round-trip; withPending sets and clears one host', () => {
    let r = rotateRing(rotateRing(createRing(T0, { keep: 10 * H }), T0 + H), T0 + 2 * H);
    const oldest = previousKeys(r, T0 + 2 * H)[1]!;
    r = { ...r, keys: r.keys.map((k) => (k.name.equals(oldest.name) ? { ...k, notHeldBy: ['nginx:/etc/nginx/tickets'] } : k)) };
    r = withPending(withPending(r, 'web-1', { since: T0, reason: '--exec exited 1' }), 'web-2', { since: T0 + H, reason: 'HAProxy push: no socket' });
    const back = decodeRing(encodeRing(r), 'ring.json');
    expect(back.pending).toEqual([
      { host: 'web-1', since: T0, reason: '--exec exited 1' },
      { host: 'web-2', since: T0 + H, reason: 'HAProxy push: no socket' },
    ]);
    expect(findKey(back, oldest.name)?.notHeldBy).toEqual(['nginx:/etc/nginx/tickets']);
    expect(withPending(back, 'web-1', undefined).pending).toEqual([{ host: 'web-2', since: T0 + H, reason: 'HAProxy push: no socket' }]);
    expect(withPending(withPending(back, 'web-1', undefined), 'web-2', undefined).pending).toBeUndefined();
    // A rotation keeps the pending marks (only the steps' outcome clears them).
    expect(rotateRing(back, T0 + 3 * H).pending).toEqual(back.pending);
  });

  it('refuses malformed pending runs and notHeldBy lists', () => {
    const doc = JSON.parse(encodeRing(createRing(T0)).toString());
    expect(() => decodeRing(Buffer.from(JSON.stringify({ ...doc, pending: [{ host: 'a' }] })), 'r')).toThrow(/pending 1 must be \{host, since, reason\}/);
    expect(() => decodeRing(Buffer.from(JSON.stringify({ ...doc, pending: 'soon' })), 'r')).toThrow(/pending must be a list/);
    doc.keys[1].notHeldBy = 'nginx:x';
    expect(() => decodeRing(Buffer.from(JSON.stringify(doc)), 'r')).toThrow(/notHeldBy must be a list of outputs/);
  });
});
