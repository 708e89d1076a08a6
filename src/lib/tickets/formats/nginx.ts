/**
 * nginx `ssl_session_ticket_key FILE;` (ngx_event_openssl.c,
 * ngx_ssl_session_ticket_keys): one raw file per key, 48 or 80 bytes.
 *
 *   48 bytes: name16 | aes16 | hmac16
 *   80 bytes: name16 | hmac32 | aes32
 *
 * The first directive's key encrypts; the others only decrypt. sessctl writes
 * fixed slot file names so nginx.conf never changes:
 *
 *   ssl_session_ticket_key DIR/current.key;     # first: encrypts
 *   ssl_session_ticket_key DIR/previous.key;
 *   ssl_session_ticket_key DIR/previous-2.key;  # ... with a longer decrypt window
 *   ssl_session_ticket_key DIR/next.key;
 *
 * A slot with no key in the ring (no previous key yet, or fewer previous keys
 * than slots) gets a fresh random key that is in no ring and so never encrypts.
 */
import { currentKey, freshKey, nextKey, previousKeys, type KeyRing, type RandomBytes, type TicketKey } from '../ring.js';
import { nameAesHmac, nameHmacAes } from './layout.js';
import type { OutputFile } from './index.js';

export function nginxKeyBytes(key: TicketKey): Buffer {
  return key.aesKey.length === 16 ? nameAesHmac(key) : nameHmacAes(key);
}

/** Slot file names in nginx.conf order: current, previous, previous-2..., next. */
export function nginxSlotNames(previousSlots: number): string[] {
  const previous = Array.from({ length: Math.max(1, previousSlots) }, (_, i) => (i === 0 ? 'previous.key' : `previous-${i + 1}.key`));
  return ['current.key', ...previous, 'next.key'];
}

/** The slot number of a previous-N.key file name (previous.key is 1), or undefined. */
export function previousSlotNumber(fileName: string): number | undefined {
  if (fileName === 'previous.key') return 1;
  const m = /^previous-([1-9][0-9]{0,2})\.key$/.exec(fileName);
  return m ? Number(m[1]) : undefined;
}

/**
 * The slot files for `ring` at `now`. `previousSlots` is how many previous
 * slots nginx.conf already names (so slots never disappear); more are added
 * when the ring holds more previous keys.
 */
export function nginxFiles(ring: KeyRing, now: number, options: { previousSlots?: number; random?: RandomBytes } = {}): OutputFile[] {
  const previous = previousKeys(ring, now);
  const slots = Math.max(1, options.previousSlots ?? 1, previous.length);
  const names = nginxSlotNames(slots);
  const keys: TicketKey[] = [
    currentKey(ring),
    ...names.slice(1, -1).map((_, i) => previous[i] ?? freshKey(ring.size, now, 'previous', options.random)),
    nextKey(ring),
  ];
  return names.map((name, i) => ({ name, data: nginxKeyBytes(keys[i]!) }));
}

/** The nginx.conf lines for a slot directory. */
export function nginxDirectives(dir: string, previousSlots = 1): string[] {
  return nginxSlotNames(previousSlots).map((name) => `ssl_session_ticket_key ${dir.replace(/\/$/, '')}/${name};`);
}
