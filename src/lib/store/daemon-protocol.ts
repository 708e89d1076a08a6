/**
 * The wire format between `sessctl serve` (src/lib/daemon) and the daemon store
 * backend (src/lib/store/daemon.ts). HTTP/1.1; JSON for metadata, raw bytes
 * for DER. Every request but /healthz carries `Authorization: Bearer TOKEN`.
 *
 *   GET    /v1/info                    → {protocol, kind, capabilities} of the backing store
 *   GET    /v1/sessions/KEY            → 200 DER body + Sessctl-Entry header | 404
 *   PUT    /v1/sessions/KEY            ← DER body + Sessctl-Entry header → 204
 *   DELETE /v1/sessions/KEY            → {removed: boolean}
 *   GET    /v1/sessions?cursor=C&limit=N → {entries: WireEntry[], cursor: C' | null}
 *   GET    /v1/select?partialKey=P     → {entries: WireEntry[]}  (newest first)
 *   GET    /v1/size                    → {size}
 *   GET    /v1/counters                → Counters
 *   POST   /v1/counters                ← Partial<Counters> → 204
 *   POST   /v1/flush                   ← {all?, olderThan?, dryRun?} → FlushResult
 *   GET    /v1/keyring                 → 200 ring bytes | 404
 *   PUT    /v1/keyring                 ← ring bytes → 204
 *   GET    /metrics                    → Prometheus text
 *   GET    /healthz                    → {status: "ok"} (no token needed)
 *
 * KEY is the session id in lowercase hex (an even number of digits, at most
 * 64); the empty key, which the store contract allows, is spelled "-".
 * Errors are `{"error": {"message": "...", "code": "..."}}` with a 4xx/5xx status.
 *
 * Paging is keyset pagination in key order, whatever order the backing store
 * keeps: a page is the `limit` smallest keys greater than the cursor's key.
 * An entry present for the whole iteration is visited exactly once, whatever
 * is inserted or deleted meanwhile, and a cursor survives a daemon restart.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import { COUNTER_NAMES, type Counters, type Entry, type Role } from './types.js';

export const API_PREFIX = '/v1';
export const SESSIONS_PATH = `${API_PREFIX}/sessions`;

/** Header carrying an entry's metadata (everything but the DER) as ASCII JSON. */
export const ENTRY_HEADER = 'sessctl-entry';

export const DER_TYPE = 'application/octet-stream';
export const JSON_TYPE = 'application/json';

/** Sessions are under 10 KB (mod_ssl's limit is 10240 bytes of DER); everything else is smaller. */
export const DEFAULT_MAX_BODY_BYTES = 16 * 1024;

/** Entries per page of paged iteration: default and most a client may ask for. */
export const DEFAULT_PAGE = 500;
export const MAX_PAGE = 2000;

const EMPTY_KEY = '-';
const KEY = /^(?:[0-9a-f]{2}){0,32}$/;
const CURSOR = /^k((?:[0-9a-f]{2}){0,32})$/;

/**
 * 127.0.0.0/8, ::1, ::ffff:127.x and "localhost": where plain http:// and a
 * daemon without a token are allowed.
 */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost') return true;
  if (net.isIPv4(h)) return h.startsWith('127.');
  if (net.isIPv6(h)) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

export function isSessionKey(key: string): boolean {
  return KEY.test(key);
}

/** The path segment for a session key. */
export function keySegment(key: string): string {
  return key === '' ? EMPTY_KEY : key;
}

/** The session key a path segment names, or undefined when it is not one. */
export function parseKeySegment(segment: string): string | undefined {
  if (segment === EMPTY_KEY) return '';
  return segment !== '' && KEY.test(segment) ? segment : undefined;
}

/** Opaque to clients: "k" + the last key of the previous page. */
export function encodeCursor(lastKey: string): string {
  return `k${lastKey}`;
}

export function decodeCursor(cursor: string): string | undefined {
  return CURSOR.exec(cursor)?.[1];
}

/** An entry without its DER; `size` is the DER's length, so it is never sent apart from it. */
export type EntryMeta = Omit<Entry, 'der' | 'size'>;

/** An entry in a JSON list: the metadata plus the DER in base64. */
export interface WireEntry extends EntryMeta {
  der: string;
}

export interface PageBody {
  entries: WireEntry[];
  cursor: string | null;
}

export interface InfoBody {
  /** The wire protocol's version (the /v1 prefix). */
  protocol: 1;
  /** The backing store's kind and capabilities. */
  kind: string;
  capabilities: { persistent: boolean; sharedCounters: boolean; keyRing: boolean };
  /**
   * What this daemon does beyond protocol 1 as first shipped, for clients
   * newer than the daemon they talk to: "keyring-cas" (PUT /v1/keyring
   * honours If-Match and If-None-Match). Absent from older daemons.
   */
  features?: string[];
}

/** The daemon feature of conditional ring writes (If-Match / If-None-Match on PUT /v1/keyring). */
export const KEYRING_CAS = 'keyring-cas';
/** The daemon features this build has (InfoBody.features). */
export const FEATURES = [KEYRING_CAS] as const;

export interface ErrorBody {
  error: { message: string; code: string };
}

export function metaOf(entry: Entry): EntryMeta {
  const { der: _der, size: _size, ...meta } = entry;
  return meta;
}

/**
 * The ENTRY_HEADER value for an entry: asciiJson(metaOf(entry)), written out
 * field by field (JSON.stringify of the object costs about a microsecond,
 * which shows on the lookup path).
 */
export function entryHeader(e: Entry): string {
  let json = `{"key":${jsonString(e.key)},"role":${jsonString(e.role)}`;
  if (e.partialKey !== undefined) json += `,"partialKey":${jsonString(e.partialKey)}`;
  json += `,"createdAt":${jsonNumber(e.createdAt)},"insertedAt":${jsonNumber(e.insertedAt)},"expiresAt":${jsonNumber(e.expiresAt)}`;
  json += `,"protocol":${jsonString(e.protocol)},"cipher":${jsonString(e.cipher)}`;
  if (e.sni !== undefined) json += `,"sni":${jsonString(e.sni)}`;
  if (e.alpn !== undefined) json += `,"alpn":${jsonString(e.alpn)}`;
  return `${json},"hasTicket":${e.hasTicket ? 'true' : 'false'}}`;
}

/** Printable ASCII but `"` and `\`: a JSON string that needs no escapes. */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function jsonString(s: string): string {
  return PLAIN.test(s) ? `"${s}"` : asciiJson(s);
}

function jsonNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}

export function toWire(entry: Entry): WireEntry {
  return { ...metaOf(entry), der: entry.der.toString('base64') };
}

/**
 * JSON with every character outside printable ASCII escaped, so it fits an
 * HTTP header value (an ALPN protocol id is arbitrary bytes, kept as latin1).
 */
export function asciiJson(value: unknown): string {
  const json = JSON.stringify(value);
  // Almost always plain ASCII already: test before replacing (the lookup path).
  return NOT_PRINTABLE.test(json) ? json.replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : json;
}

const NOT_PRINTABLE = /[^\x20-\x7e]/;

/**
 * The entity tag of a stored ticket-key ring: a quoted SHA-256 of its bytes.
 * A PUT of the ring with `If-Match: TAG` (or `If-None-Match: *` for none yet)
 * is written only if the stored ring is still that one (412 otherwise).
 */
export function ringTag(ring: Buffer): string {
  return `"${createHash('sha256').update(ring).digest('hex')}"`;
}

/** Thrown by the parsers below on malformed input; the server answers 400. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

const ROLES: readonly Role[] = ['server', 'client'];

function field(obj: Record<string, unknown>, name: string, type: 'string' | 'number' | 'boolean', optional = false): void {
  const value = obj[name];
  if (value === undefined && optional) return;
  if (typeof value !== type) throw new ProtocolError(`entry field "${name}" must be a ${type}`);
  if (type === 'number' && !Number.isSafeInteger(value)) throw new ProtocolError(`entry field "${name}" must be a whole number`);
}

/** Check untrusted JSON is an EntryMeta for `key`; returns it with only the known fields. */
export function parseMeta(value: unknown, key: string): EntryMeta {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ProtocolError('entry metadata must be a JSON object');
  const obj = value as Record<string, unknown>;
  if (obj.key !== key) throw new ProtocolError('entry metadata names a different key than the path');
  if (!ROLES.includes(obj.role as Role)) throw new ProtocolError('entry field "role" must be "server" or "client"');
  for (const name of ['createdAt', 'insertedAt', 'expiresAt'] as const) field(obj, name, 'number');
  for (const name of ['protocol', 'cipher'] as const) field(obj, name, 'string');
  for (const name of ['partialKey', 'sni', 'alpn'] as const) field(obj, name, 'string', true);
  field(obj, 'hasTicket', 'boolean');
  const meta: EntryMeta = {
    key,
    role: obj.role as Role,
    createdAt: obj.createdAt as number,
    insertedAt: obj.insertedAt as number,
    expiresAt: obj.expiresAt as number,
    protocol: obj.protocol as string,
    cipher: obj.cipher as string,
    hasTicket: obj.hasTicket as boolean,
  };
  if (obj.partialKey !== undefined) meta.partialKey = obj.partialKey as string;
  if (obj.sni !== undefined) meta.sni = obj.sni as string;
  if (obj.alpn !== undefined) meta.alpn = obj.alpn as string;
  return meta;
}

/** An entry from a JSON list (client side: the daemon's answer is checked like any input). */
export function fromWire(value: unknown): Entry {
  const obj = value as Record<string, unknown>;
  if (typeof obj?.key !== 'string' || !isSessionKey(obj.key)) throw new ProtocolError('entry without a valid key');
  if (typeof obj.der !== 'string') throw new ProtocolError('entry without DER');
  const meta = parseMeta(obj, obj.key);
  const der = Buffer.from(obj.der, 'base64');
  return { ...meta, der, size: der.length };
}

/** A counters delta from untrusted JSON: only known names, whole numbers. */
export function parseCounterDelta(value: unknown): Partial<Counters> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ProtocolError('counters must be a JSON object');
  const delta: Partial<Counters> = {};
  for (const [name, n] of Object.entries(value)) {
    if (!COUNTER_NAMES.includes(name as keyof Counters)) {
      throw new ProtocolError(`unknown counter "${name}" (known: ${COUNTER_NAMES.join(', ')})`);
    }
    if (!Number.isSafeInteger(n)) throw new ProtocolError(`counter ${name}: ${String(n)} is not a whole number`);
    delta[name as keyof Counters] = n as number;
  }
  return delta;
}
