import { isoTime } from '../time.js';
import type { Entry } from './types.js';

/**
 * One store entry as `list --json` prints it (and `get --json` under "store").
 * Times are ISO 8601 (UTC); durations are seconds; no secrets.
 */
export interface EntryView {
  id: string;
  role: string;
  partialKey: string | null;
  protocol: string;
  cipher: string;
  sni: string | null;
  alpn: string | null;
  created: string;
  inserted: string;
  expires: string;
  /** Seconds until expiry; negative once expired. */
  expiresIn: number;
  expired: boolean;
  /** DER size in bytes. */
  size: number;
  hasTicket: boolean;
}

export function entryView(e: Entry, now: number): EntryView {
  return {
    id: e.key,
    role: e.role,
    partialKey: e.partialKey ?? null,
    protocol: e.protocol,
    cipher: e.cipher,
    sni: e.sni ?? null,
    alpn: e.alpn ?? null,
    created: isoTime(e.createdAt),
    inserted: isoTime(e.insertedAt),
    expires: isoTime(e.expiresAt),
    expiresIn: e.expiresAt - now,
    expired: e.expiresAt <= now,
    size: e.size,
    hasTicket: e.hasTicket,
  };
}

/** Strings JSON.stringify writes as they are: no quote, backslash, control character or surrogate. */
const PLAIN = /^[^"\\\u0000-\u001f\ud800-\udfff]*$/;
const jsonString = (s: string): string => (PLAIN.test(s) ? `"${s}"` : JSON.stringify(s));
const jsonStringOrNull = (s: string | undefined): string => (s === undefined || s === null ? 'null' : jsonString(s));
const jsonNumber = (n: number): string => (Number.isFinite(n) ? String(n) : 'null');

/**
 * `JSON.stringify(entryView(e, now))`, byte for byte, written without the
 * view object: `list --json` writes a million of them (docs/BENCHMARKS.md,
 * bench/redis 2026-12-02). test/store/view.test.ts holds it to JSON.stringify.
 */
export function entryViewJson(e: Entry, now: number): string {
  const created = jsonString(isoTime(e.createdAt));
  // Apache's sessions: inserted when created (store/apache.ts).
  const inserted = e.insertedAt === e.createdAt ? created : jsonString(isoTime(e.insertedAt));
  return (
    `{"id":${jsonString(e.key)},"role":${jsonString(e.role)},"partialKey":${jsonStringOrNull(e.partialKey)},` +
    `"protocol":${jsonString(e.protocol)},"cipher":${jsonString(e.cipher)},"sni":${jsonStringOrNull(e.sni)},"alpn":${jsonStringOrNull(e.alpn)},` +
    `"created":${created},"inserted":${inserted},"expires":${jsonString(isoTime(e.expiresAt))},` +
    `"expiresIn":${jsonNumber(e.expiresAt - now)},"expired":${e.expiresAt <= now},"size":${jsonNumber(e.size)},"hasTicket":${e.hasTicket}}`
  );
}
