/**
 * The session-ticket key ring: pure logic over time passed in (rustls'
 * `encrypt_at(now)` style), so tests control the clock. I/O lives in rotate.ts.
 *
 * A ring holds exactly one `next` key (distributed to every server before it
 * encrypts, as HAProxy's ring does), exactly one `current` key (encrypts new
 * tickets), and the `previous` keys still inside the decrypt window. A previous
 * key whose window has passed is `retired`: it no longer resumes anything and
 * is dropped at the next rotation.
 *
 * Key material is secret: `aesKey` and `hmacKey` are never printed unless the
 * user asks (`--show-secrets`). The key name is not secret: every ticket
 * carries it in the clear.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { SessctlError } from '../errors.js';

export type KeySize = 48 | 80;
export const KEY_SIZES: readonly KeySize[] = [48, 80];

/**
 * Default ring key size: 48 bytes (AES-128-CBC, 16-byte HMAC-SHA256 key), the
 * one size every supported server accepts (Apache, Traffic Server and Node's
 * setTicketKeys take nothing else).
 */
export const DEFAULT_KEY_SIZE: KeySize = 48;

/**
 * Default decrypt window, 12 h. A previous key must outlive the tickets issued
 * under it: OpenSSL's default ticket lifetime is 7200 s and nginx's
 * ssl_session_timeout defaults to 5 min, so 12 h covers both with a wide
 * margin; it matches Caddy's 12 h rotation period, and with a 12 h rotation it
 * keeps exactly one previous key (nginx's three slots: current, previous, next).
 * Servers configured with longer ticket lifetimes need a longer --keep.
 */
export const DEFAULT_KEEP_SECONDS = 12 * 3600;

export const KEY_NAME_BYTES = 16;

export type StoredKeyState = 'next' | 'current' | 'previous';
export type KeyState = StoredKeyState | 'retired';

export interface TicketKey {
  /** The 16-byte key name every ticket carries in the clear. */
  name: Buffer;
  /** AES-CBC key: 16 bytes (48-byte keys) or 32 bytes (80-byte keys). Secret. */
  aesKey: Buffer;
  /** HMAC-SHA256 key: 16 or 32 bytes. Secret. */
  hmacKey: Buffer;
  /** Unix seconds. */
  createdAt: number;
  state: StoredKeyState;
  /** When the key started encrypting (current and previous keys). */
  activatedAt?: number;
  /** When the key stopped encrypting (previous keys): the decrypt window starts here. */
  demotedAt?: number;
  /**
   * Outputs (`nginx:/etc/nginx/tickets`) whose servers do not hold this key
   * although it is inside the decrypt window: a layout with fewer slots than
   * the window has keys. Set at each write of the outputs; tickets under the
   * key get a full handshake from those servers.
   */
  notHeldBy?: string[];
}

/**
 * A run whose steps after the commit (--push, --haproxy-socket, --exec) have
 * not all succeeded: the next run on that host redoes them, due or not.
 * Recorded per host, since hosts sharing a ring in a store reload their own
 * servers.
 */
export interface PendingRun {
  host: string;
  /** When the first failed run committed, unix seconds. */
  since: number;
  /** What failed, in words. */
  reason: string;
}

export interface KeyRing {
  /** Key size in bytes of every key in the ring. */
  size: KeySize;
  /** Decrypt window in seconds: how long a previous key is kept after it stops encrypting. */
  keep: number;
  /** Ordered: next, current, then previous keys newest first. */
  keys: TicketKey[];
  /** Hosts whose last run left steps to redo. */
  pending?: PendingRun[];
}

export type RandomBytes = (n: number) => Buffer;

/** A fresh key from crypto.randomBytes (or `random`, for tests that need determinism). */
export function freshKey(size: KeySize, now: number, state: StoredKeyState, random: RandomBytes = randomBytes): TicketKey {
  const half = (size - KEY_NAME_BYTES) / 2;
  return { name: random(KEY_NAME_BYTES), aesKey: random(half), hmacKey: random(half), createdAt: now, state };
}

/** A new ring: a current key that encrypts from `now` and the next key, pre-distributed. */
export function createRing(now: number, options: { size?: KeySize; keep?: number; random?: RandomBytes } = {}): KeyRing {
  const size = options.size ?? DEFAULT_KEY_SIZE;
  const current = { ...freshKey(size, now, 'current', options.random), activatedAt: now };
  const next = freshKey(size, now, 'next', options.random);
  return { size, keep: options.keep ?? DEFAULT_KEEP_SECONDS, keys: [next, current] };
}

/**
 * One rotation at `now`: the next key (which every server already holds)
 * starts encrypting, the current key becomes previous and decrypts for `keep`
 * seconds more, previous keys whose window has passed are dropped, and a fresh
 * next key is made. Returns a new ring; `ring` is not changed.
 */
export function rotateRing(ring: KeyRing, now: number, options: { keep?: number; random?: RandomBytes } = {}): KeyRing {
  const keep = options.keep ?? ring.keep;
  const next = nextKey(ring);
  const current = currentKey(ring);
  const kept = ring.keys.filter((k) => k.state === 'previous' && (k.demotedAt ?? 0) + keep > now);
  const fresh = freshKey(ring.size, now, 'next', options.random);
  return {
    size: ring.size,
    keep,
    keys: [
      fresh,
      { ...next, state: 'current', activatedAt: now },
      { ...current, state: 'previous', demotedAt: now },
      ...kept,
    ],
    ...(ring.pending === undefined ? {} : { pending: ring.pending }),
  };
}

/** The ring with `host`'s pending run set (or, with `pending` undefined, cleared). */
export function withPending(ring: KeyRing, host: string, pending: Omit<PendingRun, 'host'> | undefined): KeyRing {
  const others = (ring.pending ?? []).filter((p) => p.host !== host);
  const all = pending === undefined ? others : [...others, { host, ...pending }];
  const { pending: _, ...rest } = ring;
  return all.length === 0 ? rest : { ...rest, pending: all };
}

export function currentKey(ring: KeyRing): TicketKey {
  return ring.keys.find((k) => k.state === 'current')!;
}

export function nextKey(ring: KeyRing): TicketKey {
  return ring.keys.find((k) => k.state === 'next')!;
}

/** The previous keys still inside the decrypt window at `now`, newest first. */
export function previousKeys(ring: KeyRing, now: number): TicketKey[] {
  return ring.keys.filter((k) => keyState(ring, k, now) === 'previous');
}

/** The state of `key` at `now`: a previous key past its decrypt window is retired. */
export function keyState(ring: KeyRing, key: TicketKey, now: number): KeyState {
  if (key.state === 'previous' && (key.demotedAt ?? 0) + ring.keep <= now) return 'retired';
  return key.state;
}

/** When the decrypt window of `key` ends (previous keys), unix seconds. */
export function decryptsUntil(ring: KeyRing, key: TicketKey): number | undefined {
  return key.state === 'previous' ? (key.demotedAt ?? 0) + ring.keep : undefined;
}

/** How long the current key has been encrypting, in seconds. */
export function currentAge(ring: KeyRing, now: number): number {
  const current = currentKey(ring);
  return now - (current.activatedAt ?? current.createdAt);
}

/** True when a rotation is due: the current key has encrypted for at least `olderThan` seconds. */
export function isDue(ring: KeyRing, now: number, olderThan: number): boolean {
  return currentAge(ring, now) >= olderThan;
}

/** The key in the ring named `name`, if any (constant-time comparison of names). */
export function findKey(ring: KeyRing, name: Buffer): TicketKey | undefined {
  if (name.length !== KEY_NAME_BYTES) return undefined;
  return ring.keys.find((k) => timingSafeEqual(k.name, name));
}

// ---------------------------------------------------------------------------
// Serialisation: a JSON document, secrets as base64, names as hex.

const RING_FORMAT = 'sessctl-ticket-key-ring';
const RING_VERSION = 1;

interface StoredKey {
  name: string;
  state: StoredKeyState;
  createdAt: number;
  activatedAt?: number;
  demotedAt?: number;
  aesKey: string;
  hmacKey: string;
  notHeldBy?: string[];
}

/** The ring as bytes for a 0600 file or a store's writeKeyRing. Holds secrets. */
export function encodeRing(ring: KeyRing): Buffer {
  const doc = {
    format: RING_FORMAT,
    version: RING_VERSION,
    size: ring.size,
    keep: ring.keep,
    keys: ring.keys.map(
      (k): StoredKey => ({
        name: k.name.toString('hex'),
        state: k.state,
        createdAt: k.createdAt,
        ...(k.activatedAt === undefined ? {} : { activatedAt: k.activatedAt }),
        ...(k.demotedAt === undefined ? {} : { demotedAt: k.demotedAt }),
        aesKey: k.aesKey.toString('base64'),
        hmacKey: k.hmacKey.toString('base64'),
        ...(k.notHeldBy?.length ? { notHeldBy: k.notHeldBy } : {}),
      }),
    ),
    ...(ring.pending?.length ? { pending: ring.pending } : {}),
  };
  return Buffer.from(`${JSON.stringify(doc, null, 2)}\n`);
}

/**
 * Parse and validate a ring (`source` names it in errors). Anything not
 * exactly right is a SessctlError: a corrupt ring must never be rotated or
 * written out as keys.
 */
export function decodeRing(data: Buffer, source: string): KeyRing {
  const fail = (why: string): SessctlError =>
    new SessctlError(`corrupt ticket-key ring ${source}: ${why}`, { suggestions: ['restore it from a backup, or start a new ring with a new --ring file'] });
  let doc: unknown;
  try {
    doc = JSON.parse(data.toString('utf8'));
  } catch {
    throw fail('not JSON');
  }
  if (!isObject(doc) || doc.format !== RING_FORMAT) throw fail(`not a sessctl ticket-key ring (format is not "${RING_FORMAT}")`);
  if (doc.version !== RING_VERSION) throw fail(`unsupported version ${JSON.stringify(doc.version)}`);
  if (doc.size !== 48 && doc.size !== 80) throw fail('size must be 48 or 80');
  const size: KeySize = doc.size;
  if (!isTime(doc.keep)) throw fail('keep must be a whole number of seconds');
  if (!Array.isArray(doc.keys)) throw fail('keys must be a list');
  const half = (size - KEY_NAME_BYTES) / 2;
  const keys = doc.keys.map((raw, i): TicketKey => {
    const where = `key ${i + 1}`;
    if (!isObject(raw)) throw fail(`${where} is not an object`);
    if (typeof raw.name !== 'string' || !/^[0-9a-f]{32}$/.test(raw.name)) throw fail(`${where}: name must be 32 lowercase hex digits`);
    if (raw.state !== 'next' && raw.state !== 'current' && raw.state !== 'previous') throw fail(`${where}: unknown state ${JSON.stringify(raw.state)}`);
    if (!isTime(raw.createdAt)) throw fail(`${where}: createdAt must be unix seconds`);
    for (const field of ['activatedAt', 'demotedAt'] as const) {
      if (raw[field] !== undefined && !isTime(raw[field])) throw fail(`${where}: ${field} must be unix seconds`);
    }
    if (raw.state !== 'next' && raw.activatedAt === undefined) throw fail(`${where}: a ${raw.state} key needs activatedAt`);
    if (raw.state === 'previous' && raw.demotedAt === undefined) throw fail(`${where}: a previous key needs demotedAt`);
    if (raw.notHeldBy !== undefined && !(Array.isArray(raw.notHeldBy) && raw.notHeldBy.every((o) => typeof o === 'string'))) {
      throw fail(`${where}: notHeldBy must be a list of outputs`);
    }
    const aesKey = secret(raw.aesKey, half, `${where}: aesKey`, fail);
    const hmacKey = secret(raw.hmacKey, half, `${where}: hmacKey`, fail);
    return {
      name: Buffer.from(raw.name, 'hex'),
      aesKey,
      hmacKey,
      createdAt: raw.createdAt as number,
      state: raw.state,
      ...(raw.activatedAt === undefined ? {} : { activatedAt: raw.activatedAt as number }),
      ...(raw.demotedAt === undefined ? {} : { demotedAt: raw.demotedAt as number }),
      ...(Array.isArray(raw.notHeldBy) && raw.notHeldBy.length > 0 ? { notHeldBy: raw.notHeldBy as string[] } : {}),
    };
  });
  const pending = doc.pending === undefined ? undefined : decodePending(doc.pending, fail);
  const count = (state: StoredKeyState): number => keys.filter((k) => k.state === state).length;
  if (count('next') !== 1) throw fail(`needs exactly one next key, has ${count('next')}`);
  if (count('current') !== 1) throw fail(`needs exactly one current key, has ${count('current')}`);
  const names = new Set(keys.map((k) => k.name.toString('hex')));
  if (names.size !== keys.length) throw fail('two keys share a name');
  const order: StoredKeyState[] = ['next', 'current', 'previous'];
  keys.sort((a, b) => order.indexOf(a.state) - order.indexOf(b.state) || (b.demotedAt ?? 0) - (a.demotedAt ?? 0));
  return { size, keep: doc.keep as number, keys, ...(pending?.length ? { pending } : {}) };
}

function decodePending(value: unknown, fail: (why: string) => SessctlError): PendingRun[] {
  if (!Array.isArray(value)) throw fail('pending must be a list');
  return value.map((p, i) => {
    if (!isObject(p) || typeof p.host !== 'string' || !isTime(p.since) || typeof p.reason !== 'string') {
      throw fail(`pending ${i + 1} must be {host, since, reason}`);
    }
    return { host: p.host, since: p.since, reason: p.reason };
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isTime(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function secret(value: unknown, length: number, what: string, fail: (why: string) => SessctlError): Buffer {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) throw fail(`${what} must be base64`);
  const bytes = Buffer.from(value, 'base64');
  if (bytes.length !== length) throw fail(`${what} must be ${length} bytes, is ${bytes.length}`);
  return bytes;
}

// ---------------------------------------------------------------------------
// A view for people and --json: never secrets unless asked.

export interface KeyView {
  name: string;
  state: KeyState;
  createdAt: number;
  activatedAt?: number;
  demotedAt?: number;
  /** Previous keys: when their decrypt window ends. */
  decryptsUntil?: number;
  /** Outputs whose servers do not hold the key although it is inside the decrypt window. */
  notHeldBy?: string[];
  /** Only with showSecrets. */
  aesKey?: string;
  hmacKey?: string;
}

export function describeKeys(ring: KeyRing, now: number, options: { showSecrets?: boolean } = {}): KeyView[] {
  return ring.keys.map((k) => {
    const until = decryptsUntil(ring, k);
    return {
      name: k.name.toString('hex'),
      state: keyState(ring, k, now),
      createdAt: k.createdAt,
      ...(k.activatedAt === undefined ? {} : { activatedAt: k.activatedAt }),
      ...(k.demotedAt === undefined ? {} : { demotedAt: k.demotedAt }),
      ...(until === undefined ? {} : { decryptsUntil: until }),
      ...(k.notHeldBy?.length ? { notHeldBy: k.notHeldBy } : {}),
      ...(options.showSecrets ? { aesKey: k.aesKey.toString('base64'), hmacKey: k.hmacKey.toString('base64') } : {}),
    };
  });
}
